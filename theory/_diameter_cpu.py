"""CPU kernel of the exact essential diameter: one compiled pass per group (internal).

Same algorithm and proof as ``theory/_diameter.py`` (float32 Gram screen within ε_c, float64
recompute of the pairs that can still decide the quantile), fused per group so that a group's
k × D rows are read from memory once and every later step works in the L1 cache.

Why compiled code (numba) instead of ``torch.bmm`` plus tensor bookkeeping (issue 15 asks for
≥ 20× the per-group ``pdist`` loop). Measured on 100,000 groups × 16 × 384 float32, one core,
process CPU time, a 2-core AMD EPYC (AVX-512):
- the float32 Gram matrices by ``torch.bmm`` (MKL's batched GEMM) take 0.34–0.40 s: at k = 16 a
  GEMM is bound by its per-block work, and it computes all k² entries where k(k+1)/2 are needed;
  the register tiles of ``_gram32.gram_upper`` take 0.068 s on data in cache, 0.17 s streamed from
  memory and 0.13 s with the next groups prefetched (``_llvm_ir.prefetch_group``; one plain read of
  the 2.46 GB input takes 0.11 s);
- the tensor path's masks, gathers and sorts over a whole chunk cost another 0.25 s; here the
  same steps are a few hundred operations per group on data already in cache;
- the whole exact estimator: 0.57 s → 0.21 s, 8.7× → 23–27× the pdist loop measured in the same
  benchmark run (``benchmarks/bench_theory_estimators.py``).
The float64 recompute is LLVM vector code without fast-math (``_llvm_ir.lane_sums``): eight lanes,
each an IEEE sequential sum, combined in a fixed tree, so a distance has the same bits whatever
the CPU's vector width. Only the float32 Gram uses fast-math (reassociation, FMA contraction):
the screen bound ε_c holds for any summation order, with or without FMA (proof step 1a), so the
result does not depend on it.

Modules: ``_gram32`` (the float32 Gram tiles), ``_dist64`` (the float64 pair distance with fixed
lanes), ``_llvm_ir`` (prefetch and vector lane sums in LLVM IR); this one the per-group kernels.
:func:`all_pairs_quantiles` evaluates ``_dist64.dist64`` on every pair: the exactness reference
the screened kernel must match bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._dist64 import dist64, norm64, recompute
from ._gram32 import WIDE_TILES, gram_upper
from ._llvm_ir import prefetch_group

__all__ = [
    "WIDE_TILES",
    "all_pair_distances",
    "all_pairs_quantiles",
    "screened_float32_quantiles",
    "screened_quantiles",
]

_SCREEN_MIN, _SCREEN_MAX = 2.0**-60, 2.0**60
# beyond this many ranks from either end, the two order statistics come from a full sort
_SMALL_RANK = 16
# groups fetched ahead of the one being computed (see _llvm_ir.prefetch_group)
_PREFETCH_AHEAD = 2


@njit(cache=True)
def _two_order_stats(v, m, r1, r2, buf):
    """The r1-th and r2-th smallest (0-based, r1 ≤ r2) of ``v[:m]``, ties with multiplicity.

    Extreme ranks (the usual α near 0 or 1) keep the few smallest or largest values in ``buf``
    by insertion, O(m·r); other ranks sort a copy.
    """
    if r2 < _SMALL_RANK:
        t = r2 + 1
        n = 0
        for p in range(m):
            x = v[p]
            if n == t:
                if x >= buf[t - 1]:
                    continue
                n -= 1
            q = n
            while q > 0 and buf[q - 1] > x:
                buf[q] = buf[q - 1]
                q -= 1
            buf[q] = x
            n += 1
        return buf[r1], buf[r2]
    if m - 1 - r1 < _SMALL_RANK:
        t = m - r1  # the t largest, kept in descending order
        n = 0
        for p in range(m):
            x = v[p]
            if n == t:
                if x <= buf[t - 1]:
                    continue
                n -= 1
            q = n
            while q > 0 and buf[q - 1] < x:
                buf[q] = buf[q - 1]
                q -= 1
            buf[q] = x
            n += 1
        return buf[m - 1 - r1], buf[m - 1 - r2]
    s = np.sort(v[:m])
    return s[r1], s[r2]


@njit(cache=True)
def _lerp(a, b, frac, w_upper, w_lower):
    """numpy's two-sided linear interpolation (from the upper point when frac ≥ ½).

    ``w_upper = 1 − frac`` and ``w_lower = frac`` in the arithmetic's dtype: float64 for the
    exact quantile, float32 for ``precision="float32"`` (as torch rounds a scalar weight).
    """
    if frac == 0.0:
        return a
    diff = b - a
    if frac >= 0.5:
        return b - diff * w_upper
    return a + diff * w_lower


@njit(cache=True)
def _insertion_sort(v, n):
    for p in range(1, n):
        x = v[p]
        q = p
        while q > 0 and v[q - 1] > x:
            v[q] = v[q - 1]
            q -= 1
        v[q] = x


@njit(cache=True)
def _screened_cosines(xg, gram, r, cos, wide):
    """c̃_p = G̃_ij·r_i·r_j, r_i = 1/√G̃_ii, in float32 for the pairs i<j of one group into ``cos``.

    False (nothing computed) when a squared norm G̃_ii leaves [2⁻⁶⁰, 2⁶⁰], the range where the
    screen bound is proven (zero, tiny, huge or non-finite rows: NaN fails both comparisons).
    """
    k = xg.shape[0]
    gram_upper(xg, gram, wide)
    one = np.float32(1.0)
    for a in range(k):
        gd = gram[a, a]
        if not (gd >= _SCREEN_MIN and gd <= _SCREEN_MAX):
            return False
        r[a] = one / np.sqrt(gd)
    p = 0
    for i in range(k):
        for j in range(i + 1, k):
            cos[p] = gram[i, j] * r[i] * r[j]
            p += 1
    return True


@njit(cache=True)
def screened_quantiles(x, lo, hi, frac, margin, out, unscreened, wide):
    """Exact float64 distance quantile of every group of ``x`` ``(n, k, D)`` into ``out`` ``(n,)``.

    ``lo, hi, frac``: :func:`locent.theory._diameter.quantile_ranks` of m = k(k−1)/2; ``margin``
    a float32, 2ε_c rounded up (``_diameter.screen_margin``). Groups whose float32 squared norms
    leave [2⁻⁶⁰, 2⁶⁰] (zero, tiny, huge or non-finite rows) are not computed: their indices go to
    ``unscreened`` and the count is returned, for the caller's validation and all-pairs path.
    ``wide``: :data:`WIDE_TILES` (the Gram's tile shape; the result does not depend on it).
    """
    n, k, dim = x.shape
    m = k * (k - 1) // 2
    gram = np.empty((k, k), np.float32)
    cos = np.empty(m, np.float32)
    cos_buf = np.empty(m, np.float32)
    r = np.empty(k, np.float32)
    dist = np.empty(m, np.float64)
    norms = np.empty(k, np.float64)
    ci, cj, rows = np.empty(m, np.int64), np.empty(m, np.int64), np.empty(k, np.int64)
    zero_row = np.zeros((1, dim), x.dtype)
    rank_far, rank_near = m - 1 - hi, m - 1 - lo  # cosine ranks of d_(hi) and d_(lo)
    n_bad = 0
    for g in range(n):
        if g + _PREFETCH_AHEAD < n:
            prefetch_group(x, g + _PREFETCH_AHEAD)
        xg = x[g]
        if not _screened_cosines(xg, gram, r, cos, wide):
            unscreened[n_bad] = g
            n_bad += 1
            out[g] = np.nan
            continue
        c_far, c_near = _two_order_stats(cos, m, rank_far, rank_near, cos_buf)
        near_above = c_near + margin  # float32, as in the proof's rounding argument
        far_below = c_far - margin
        n_near = 0
        n_cand = 0
        p = 0
        for i in range(k):
            for j in range(i + 1, k):
                c = cos[p]
                p += 1
                if c > near_above:
                    n_near += 1
                elif c >= far_below:
                    ci[n_cand], cj[n_cand] = i, j
                    n_cand += 1
        recompute(xg, ci, cj, n_cand, norms, rows, zero_row, dist)
        _insertion_sort(dist, n_cand)
        out[g] = _lerp(dist[lo - n_near], dist[hi - n_near], frac, 1.0 - frac, frac)
    return n_bad


@njit(cache=True)
def screened_float32_quantiles(x, lo, hi, frac, out, unscreened, wide):
    """``precision="float32"``: the quantile of the screened distances √(2 − 2c̃), no recompute.

    Every step in float32 as the tensor path (distances, order statistics, the lerp), written
    to ``out`` (float64) ``(n,)``; unscreenable groups as in :func:`screened_quantiles`.
    """
    n, k, _ = x.shape
    m = k * (k - 1) // 2
    gram = np.empty((k, k), np.float32)
    cos = np.empty(m, np.float32)
    r = np.empty(k, np.float32)
    dist = np.empty(m, np.float32)
    buf = np.empty(m, np.float32)
    two, zero = np.float32(2.0), np.float32(0.0)
    n_bad = 0
    for g in range(n):
        if g + _PREFETCH_AHEAD < n:
            prefetch_group(x, g + _PREFETCH_AHEAD)
        if not _screened_cosines(x[g], gram, r, cos, wide):
            unscreened[n_bad] = g
            n_bad += 1
            out[g] = np.nan
            continue
        for p in range(m):
            dist[p] = np.sqrt(max(two - two * cos[p], zero))
        a, b = _two_order_stats(dist, m, lo, hi, buf)
        out[g] = _lerp(a, b, frac, np.float32(1.0 - frac), np.float32(frac))
    return n_bad


@njit(cache=True)
def all_pair_distances(x, out):
    """``_dist64.dist64`` of every pair i<j of every group into ``out`` ``(n, m)``."""
    n, k, dim = x.shape
    norms = np.empty(k, np.float64)
    zero_row = np.zeros((1, dim), x.dtype)
    for g in range(n):
        xg = x[g]
        for a in range(k):
            norms[a] = norm64(xg, a, zero_row)
        p = 0
        for i in range(k):
            for j in range(i + 1, k):
                out[g, p] = dist64(xg, i, j, norms[i], norms[j])
                p += 1


@njit(cache=True)
def all_pairs_quantiles(x, lo, hi, frac, out):
    """The same quantile from every pair's float64 distance (the exactness reference)."""
    n, k, _ = x.shape
    m = k * (k - 1) // 2
    dist = np.empty((1, m), np.float64)
    buf = np.empty(m, np.float64)
    for g in range(n):
        all_pair_distances(x[g : g + 1], dist)
        a, b = _two_order_stats(dist[0], m, lo, hi, buf)
        out[g] = _lerp(a, b, frac, 1.0 - frac, frac)
