"""The compiled CPU kernels of the exact essential diameter (``theory/_diameter_cpu.py``).

- the float64 pair distance is the documented lane formula, bit for bit (a numpy emulation of
  the eight sequential lanes and the fixed tree), for float32 and float64 rows, any D (tails);
- the order-statistic selection agrees with a full sort in all three branches (few smallest, few
  largest, middle ranks), ties included;
- groups the float32 screen cannot take (tiny, huge norms) go to the all-pairs kernel and stay
  exact; bad rows raise naming the right group even when it is not the first one;
- the compiled path and the tensor path (CUDA's, run on CPU) agree to float64 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from locent.theory import _diameter as D
from locent.theory import _diameter_cpu as K
from locent.theory import essential_diameter
from locent.theory.pairs import pair_index


def lane_sumsq(v: np.ndarray) -> float:
    """Σ v_d² as the kernel documents it: lane l sums d ≡ l (mod 8) in order, then the tree."""
    pad = np.concatenate([v, np.zeros((-len(v)) % 8)]).reshape(-1, 8)
    s = np.zeros(8)
    for row in pad:  # row by row: every lane a sequential sum (no pairwise summation)
        s = s + row * row
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))


def emulated_distance(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    na, nb = np.sqrt(lane_sumsq(a)), np.sqrt(lane_sumsq(b))
    return np.sqrt(lane_sumsq(a * (nb / na) - b)) / nb


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [1, 5, 8, 13, 384])
def test_pair_distance_is_the_documented_lane_formula_bit_for_bit(dtype, dim):
    rng = np.random.default_rng(dim)
    x = (rng.standard_normal((3, 5, dim)) * rng.uniform(0.01, 50, (3, 5, 1))).astype(dtype)
    x[1, 3] = x[1, 0]  # identical rows: exactly 0
    out = np.empty((3, 10))
    K.all_pair_distances(x, out)
    i, j = pair_index(5)
    want = np.array([[emulated_distance(g[a], g[b]) for a, b in zip(i, j)] for g in x])
    np.testing.assert_array_equal(out, want)
    assert out[1, list(zip(i, j)).index((0, 3))] == 0.0


@pytest.mark.parametrize("m", [1, 2, 7, 40, 120])
def test_two_order_stats_match_a_sort_in_every_branch(m):
    rng = np.random.default_rng(m)
    buf = np.empty(m)
    for trial in range(30):
        v = rng.integers(0, 6, m).astype(np.float64) if trial % 2 else rng.standard_normal(m)
        s = np.sort(v)
        for r1 in sorted({r for r in (0, 1, m // 2, m - 3, m - 1) if 0 <= r < m}):
            for r2 in {r1, min(r1 + 1, m - 1)}:
                assert K._two_order_stats(v, m, r1, r2, buf) == (s[r1], s[r2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unscreenable_groups_take_the_all_pairs_kernel(dtype):
    rng = np.random.default_rng(31)
    emb = rng.standard_normal((9, 12, 40))
    emb[2] *= 1e-25  # squared norms below 2⁻⁶⁰
    emb[6] *= 1e20  # above 2⁶⁰ (and past float32's range once squared)
    emb[7, 3] *= 1e-25  # one tiny row among ordinary ones
    emb = emb.astype(dtype)
    x = D.cpu_array(torch.as_tensor(emb))
    lo, hi, frac = D.quantile_ranks(66, 0.99)
    out, unscreened = np.empty(9), np.empty(9, dtype=np.int64)
    margin = np.float32(D.screen_margin(D.screen_bound(40, dtype == np.float32)))
    n_bad = K.screened_quantiles(x, lo, hi, frac, margin, out, unscreened, K.WIDE_TILES)
    assert sorted(unscreened[:n_bad]) == [2, 6, 7]
    got = essential_diameter(emb)
    exact = D.all_pairs_quantile(torch.as_tensor(emb), 0.99).numpy().astype(dtype)
    np.testing.assert_array_equal(got, exact)


@pytest.mark.parametrize("bad", ["nan", "zero"])
def test_bad_rows_name_their_group_when_not_first(bad):
    emb = np.random.default_rng(32).standard_normal((3, 5, 6, 8))
    emb[2, 1, 4] = np.nan if bad == "nan" else 0.0
    emb[0, 0, 0, 0] = 1e-30  # an unscreenable but valid group before it
    with pytest.raises(ValueError, match=r"\(2, 1\)") as err:
        essential_diameter(emb)
    assert ("non-finite" if bad == "nan" else "item 4") in str(err.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.5, 0.99, 1.0])
def test_compiled_and_tensor_paths_agree(monkeypatch, dtype, alpha):
    rng = np.random.default_rng(33)
    emb = (rng.standard_normal((50, 1, 96)) + 0.5 * rng.standard_normal((50, 16, 96))).astype(dtype)
    compiled = essential_diameter(emb, alpha=alpha)
    fast = essential_diameter(emb, alpha=alpha, precision="float32")
    monkeypatch.setattr(D, "CPU_KERNEL", False)
    tensor = essential_diameter(emb, alpha=alpha)
    np.testing.assert_allclose(compiled, tensor, rtol=4e-15, atol=0)
    # float32 option: float32 Gram summation orders differ between the paths, and it is approximate
    np.testing.assert_allclose(
        fast, essential_diameter(emb, alpha=alpha, precision="float32"), atol=1e-6
    )
    np.testing.assert_allclose(fast, compiled, atol=2e-5)


@pytest.mark.parametrize("k", [4, 9, 16, 20])
def test_both_tile_shapes_give_the_exact_result(k):
    """4 × 4 tiles (AVX-512) and 4 × 2 tiles (AVX2) sum the Gram in different orders; the screen
    absorbs that, so both give the all-pairs quantile bit for bit."""
    rng = np.random.default_rng(k)
    emb = (rng.standard_normal((40, 1, 72)) + 0.3 * rng.standard_normal((40, k, 72))).astype(
        np.float32
    )
    m = k * (k - 1) // 2
    lo, hi, frac = D.quantile_ranks(m, 0.99)
    margin = np.float32(D.screen_margin(D.screen_bound(72, True)))
    exact = D.all_pairs_quantile(torch.as_tensor(emb), 0.99).numpy()
    for wide in (True, False):
        out, unscreened = np.empty(40), np.empty(40, dtype=np.int64)
        assert K.screened_quantiles(emb, lo, hi, frac, margin, out, unscreened, wide) == 0
        np.testing.assert_array_equal(out, exact)
