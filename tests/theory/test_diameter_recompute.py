"""The exact diameter's float64 recompute in reused buffers, and the screen's float32 window.

- ``_diameter.RowBuffers`` (the candidate pairs' rows gathered into buffers kept for a whole
  call) must give the very bits of the allocating path, for float32 and float64 rows, when the
  buffers grow between chunks and when a chunk needs every pair (all-tied groups);
- ``screen_margin`` is 2ε_c rounded up to a float32 (the proof's window, never an ulp narrower);
- near-ties at the two deciding order statistics, with chunks small enough that consecutive
  chunks need very different numbers of candidates, stay bit-identical to the all-pairs quantile.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from locent.theory import _diameter as D
from locent.theory import essential_diameter
from locent.theory.pairs import pair_index_torch


def pairs_of(c: int, k: int):
    i, j = pair_index_torch(k, torch.device("cpu"))
    g = torch.arange(c).repeat_interleave(i.numel())
    return g, i.repeat(c), j.repeat(c)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_row_buffers_give_the_allocating_paths_bits(dtype):
    rng = np.random.default_rng(21)
    rows = D.RowBuffers(48, torch.device("cpu"))
    for c, k in ((3, 4), (20, 16), (2, 5)):  # grows, then a smaller call reuses the buffers
        x = torch.as_tensor(rng.standard_normal((c, k, 48)) * rng.uniform(0.1, 9, (c, k, 1)))
        x = x.to(dtype)
        g, i, j = pairs_of(c, k)
        want = D.pair_distances64(x, g, i, j)
        got = D.pair_distances64(x, g, i, j, rows)
        assert torch.equal(got, want)
        assert rows.capacity >= g.numel()
    # the input stays untouched (the recompute works in the buffers only)
    x = torch.as_tensor(rng.standard_normal((4, 6, 48))).to(dtype)
    before = x.clone()
    D.pair_distances64(x, *pairs_of(4, 6), rows)
    assert torch.equal(x, before)


def test_row_buffers_switch_input_dtype():
    rng = np.random.default_rng(22)
    rows = D.RowBuffers(16, torch.device("cpu"))
    x = torch.as_tensor(rng.standard_normal((5, 6, 16)))
    for dtype in (torch.float64, torch.float32, torch.float64):
        xd = x.to(dtype)
        g, i, j = pairs_of(5, 6)
        assert torch.equal(D.pair_distances64(xd, g, i, j, rows), D.pair_distances64(xd, g, i, j))


@pytest.mark.parametrize("dim", [1, 3, 384, 4096])
@pytest.mark.parametrize("input_is_float32", [True, False])
def test_screen_margin_is_twice_the_bound_rounded_up_to_float32(dim, input_is_float32):
    eps = D.screen_bound(dim, input_is_float32)
    margin = D.screen_margin(eps)
    assert margin >= 2 * eps
    assert float(np.float32(margin)) == margin  # exactly a float32: no second rounding
    below = float(np.nextafter(np.float32(margin), np.float32(0)))
    assert below < 2 * eps  # the smallest such float32


def near_tie_groups(rng, n: int, k: int, dim: int) -> np.ndarray:
    """Groups whose largest distances (the α = 0.99 order statistics) are tied or nearly tied:
    an orthonormal frame (all distances √2) with one or two items pushed out by tiny amounts, so
    the deciding pairs differ by 0, ~1e-12 or ~1e-8 (all far below the float32 screen's ε)."""
    out = []
    for g in range(n):
        e = np.eye(k, dim)
        kind = g % 4
        if kind == 1:  # two pairs tied exactly at the top, the rest tied below them
            e[0] = -e[1]
        elif kind == 2:  # near-ties at the top
            e[0] = -e[1] + 1e-12 * rng.standard_normal(dim)
            e[2] = -e[3] + 1e-8 * rng.standard_normal(dim)
        elif kind == 3:  # near-ties everywhere
            e = e + 1e-9 * rng.standard_normal((k, dim))
        out.append(e * rng.uniform(0.5, 2.0, size=(k, 1)))
    return np.stack(out)


@pytest.mark.parametrize("alpha", [0.97, 0.99, 1.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_near_ties_at_the_quantile_across_small_chunks(monkeypatch, alpha, dtype):
    import locent.theory.geometry as geometry

    rng = np.random.default_rng(23)
    k, dim = 16, 32
    emb = near_tie_groups(rng, 24, k, dim).astype(dtype)
    # 3 groups per chunk: the candidate count changes from chunk to chunk (all 120 pairs of an
    # exactly tied frame, a few for the others), so the buffers grow and are reused
    monkeypatch.setattr(geometry, "_CHUNK_BYTES", 3 * k * dim * 4)
    monkeypatch.setattr(D, "CPU_KERNEL", False)  # the tensor path: its chunks and buffers
    got = essential_diameter(emb, alpha=alpha)
    exact = D.all_pairs_quantile(torch.as_tensor(emb), alpha).numpy().astype(emb.dtype)
    np.testing.assert_array_equal(got, exact)
