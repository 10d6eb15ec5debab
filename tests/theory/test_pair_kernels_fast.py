"""The fast paths of the numpy pair kernels against their per-pair formulas (the kernels of
float32 input, and of float64 with ``_pair_kernels.COMPILED`` off, as here; the compiled float64
kernels are tested in ``test_pairs_cpu.py``).

- ``pairwise_entropy``: Σ_p log1p(e_p) is taken as log Π_p (1 + e_p); the result must stay within
  the proven bound (``_log_product_bound``, ``_ULPS_OF_SUM`` ulps of the sum) of the per-pair
  log1p formula,
  with row blocks when a group has more pairs than one product may hold (k = 50: 1,225 pairs in
  float64; k = 16: 120 pairs in float32), and groups whose entropy is too small for the bound
  must take the per-pair formula bit for bit;
- ``hard_ranknet``: chunks without a teacher tie skip the tie mask; chunks with ties keep it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from locent.theory import _np_chunks as nc
from locent.theory import _pair_kernels as pk


@pytest.fixture(autouse=True)
def numpy_kernels(monkeypatch):
    monkeypatch.setattr(pk, "COMPILED", False)


def teacher(n: int, k: int, scale: float, dtype, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.as_tensor((rng.standard_normal((n, k)) * scale).astype(dtype))


def peaked(n: int, k: int, dtype, seed: int = 5) -> torch.Tensor:
    """Almost deterministic teachers: scores 30 apart (every margin ≥ ~25, e ≤ ~1e-11), whose
    entropies are far below the product bound's threshold yet not zero."""
    rng = np.random.default_rng(seed)
    t = 30.0 * np.arange(k) + rng.standard_normal((n, k))
    return torch.as_tensor(rng.permuted(t, axis=1).astype(dtype))


def per_pair_log1p(t: torch.Tensor, tau) -> np.ndarray:
    """The former kernel's formula, written out: per pair h = log1p(e) − (−a·e)/(1 + e) with
    −a = −|t_i − t_j|/τ, the pairs in the kernels' diagonal order (offset r = j − i), summed in
    that order, then divided by the number of pairs."""
    x = t.numpy()
    k = x.shape[1]
    pairs = [(i, i + r) for r in range(1, k) for i in range(k - r)]
    i, j = (np.array(v) for v in zip(*pairs))
    m = (x[:, i] - x[:, j]).T.copy()  # (pairs, n)
    if isinstance(tau, float):
        m = m / tau if tau != 1.0 else m
    else:
        m = m / tau.numpy()[None, :]
    m = -np.abs(m)
    e = np.exp(m)
    h = np.log1p(e)
    h = h - (m * e) / (e + 1.0)
    return np.add.reduce(h, axis=0) / len(pairs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [2, 3, 16, 50])
@pytest.mark.parametrize("scale", [0.05, 3.0, 40.0])
def test_entropy_log_product_within_its_bound(dtype, k, scale):
    t = teacher(300, k, scale, dtype, seed=k)
    tau = torch.as_tensor(np.random.default_rng(1).uniform(0.3, 3, 300).astype(dtype))
    for tau_v in (1.0, tau):
        got = pk.pairwise_entropy_mean(t, tau_v).numpy()
        ref = per_pair_log1p(t, tau_v)
        m = k * (k - 1) // 2
        u = np.finfo(dtype).eps / 2
        # the product's bound is _ULPS_OF_SUM ulps of the sum; the two summations of the
        # a·σ(−a) terms and the per-pair formula's own rounding add a few ulps per pair on top
        tol = (pk._ULPS_OF_SUM[dtype] + 4 * m) * u
        np.testing.assert_allclose(got, ref, rtol=tol, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_entropy_small_groups_take_the_per_pair_formula_bit_for_bit(dtype):
    k = 16
    m = k * (k - 1) // 2
    t = torch.cat([peaked(40, k, dtype), teacher(40, k, 2.0, dtype, seed=1)])
    got = pk.pairwise_entropy_mean(t, 1.0).numpy()
    ref = per_pair_log1p(t, 1.0)
    sums = ref.astype(np.float64) * m
    small = sums * pk._ULPS_OF_SUM[dtype] < pk._log_product_bound(
        m, 1 if dtype == np.float64 else 2, sums
    )
    assert small[:40].all() and not small[40:].any()
    np.testing.assert_array_equal(got[small], ref[small])
    assert np.isfinite(got).all() and (got > 0).all()


def test_entropy_saturated_and_chunked_groups(monkeypatch):
    # 3 groups per chunk: the per-pair recompute of small-entropy groups inside a chunk that
    # also holds ordinary groups, and a per-group τ sliced to those groups
    monkeypatch.setattr(nc, "BUFFER_ELEMENTS", 3 * 120)
    t = torch.cat([peaked(7, 16, np.float64), teacher(7, 16, 2.0, np.float64, seed=2)])
    t = t[torch.randperm(14, generator=torch.Generator().manual_seed(0))]
    tau = torch.as_tensor(np.random.default_rng(3).uniform(0.5, 2, 14))
    got = pk.pairwise_entropy_mean(t, tau).numpy()
    ref = pk.pairwise_entropy_mean(t.clone().requires_grad_(True), tau).detach().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)
    huge = torch.tensor([[1e308, -1e308, 0.0, 1.0]], dtype=torch.float64)
    sat = pk.pairwise_entropy_mean(huge, 0.5, saturate=True).numpy()
    want = pk.pairwise_entropy_mean(huge.clone().requires_grad_(True), 0.5, saturate=True)
    np.testing.assert_allclose(sat, want.detach().numpy(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("ties", [False, True])
def test_hard_ranknet_with_and_without_teacher_ties(ties, monkeypatch):
    monkeypatch.setattr(nc, "BUFFER_ELEMENTS", 4 * 28)  # 4 groups of 8 per chunk
    rng = np.random.default_rng(4)
    t = rng.standard_normal((30, 8)) * 2
    s = t + rng.standard_normal((30, 8))
    if ties:
        t[5, :3] = 1.0  # one chunk with teacher ties, the others without
    s_t, t_t = torch.as_tensor(s), torch.as_tensor(t)
    total, comparable = pk.hard_ranknet_sums(s_t, t_t)
    want_total, want_comparable = pk._torch_hard(s_t, t_t)
    np.testing.assert_allclose(total.numpy(), want_total.numpy(), rtol=1e-13, atol=0)
    assert torch.equal(comparable, want_comparable)
    assert int(comparable[5]) == (28 - 3 if ties else 28)
