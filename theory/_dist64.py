"""The float64 pair distance of the exact diameter's CPU kernel, with fixed lanes (internal).

d(x_i, x_j) = ‖s·x_i − x_j‖ / ‖x_j‖ with s = ‖x_j‖ / ‖x_i‖, every norm the square root of a lane
sum: lane l accumulates the squares of the components d ≡ l (mod 8) in order, then
((s₀+s₁)+(s₂+s₃))+((s₄+s₅)+(s₆+s₇)). Identical rows give exactly 0. The lanes are vector IR
(``theory/_llvm_ir.py``), so the bits are the same on every CPU; ``tests/theory/
test_diameter_cpu.py`` checks them against a numpy emulation of the formula.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._llvm_ir import lane_sums, lane_sums2


@njit(cache=True)
def _finish(s0, s1, s2, s3, s4, s5, s6, s7, x, i, scale, y, j, d8):
    """Add the tail components d ≥ d8 to their lanes (d mod 8), then the fixed tree."""
    for d in range(d8, x.shape[1]):
        v = np.float64(x[i, d]) * scale - np.float64(y[j, d])
        lane = d - d8
        if lane == 0:
            s0 += v * v
        elif lane == 1:
            s1 += v * v
        elif lane == 2:
            s2 += v * v
        elif lane == 3:
            s3 += v * v
        elif lane == 4:
            s4 += v * v
        elif lane == 5:
            s5 += v * v
        else:
            s6 += v * v
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(cache=True)
def sumsq8(x, i, scale, y, j):
    """Σ_d (scale·x_id − y_jd)² in float64: lane l sums the components d ≡ l (mod 8) in order,
    then ((s₀+s₁)+(s₂+s₃))+((s₄+s₅)+(s₆+s₇)). ``x``, ``y`` C-contiguous ``(·, D)``."""
    n_blocks = x.shape[1] // 8
    s = lane_sums(x[i], y[j], scale, n_blocks)
    return _finish(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], x, i, scale, y, j, 8 * n_blocks)


@njit(cache=True)
def sumsq8_2(x, i, scale_i, y, j, u, scale_u, z, v):
    """(:func:`sumsq8` (x, i, scale_i, y, j), :func:`sumsq8` (x, u, scale_u, z, v)), one loop."""
    n_blocks = x.shape[1] // 8
    d8 = 8 * n_blocks
    s = lane_sums2(x[i], y[j], scale_i, x[u], z[v], scale_u, n_blocks)
    first = _finish(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], x, i, scale_i, y, j, d8)
    second = _finish(s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15], x, u, scale_u, z, v, d8)
    return first, second


@njit(cache=True)
def norm64(x, i, zero_row):
    """‖x_i‖₂ in float64 (``zero_row`` a ``(1, D)`` zero array, so the lane sum is Σ x_id²)."""
    return np.sqrt(sumsq8(x, i, 1.0, zero_row, 0))


@njit(cache=True)
def dist64(x, i, j, norm_i, norm_j):
    """‖x_i/‖x_i‖ − x_j/‖x_j‖‖₂ as ‖(‖x_j‖/‖x_i‖)·x_i − x_j‖ / ‖x_j‖, in float64."""
    return np.sqrt(sumsq8(x, i, norm_j / norm_i, x, j)) / norm_j


@njit(cache=True)
def recompute(xg, ci, cj, n_cand, norms, rows, zero_row, dist):
    """:func:`dist64` of the candidate pairs (ci[c], cj[c]) into ``dist[:n_cand]``.

    The norms of the rows involved, then the distances, two at a time (:func:`sumsq8_2`):
    the same bits as one at a time, at a little over half the latency.
    """
    k = xg.shape[0]
    for a in range(k):
        norms[a] = -1.0
    n_rows = 0
    for c in range(n_cand):
        for a in (ci[c], cj[c]):
            if norms[a] == -1.0:
                norms[a] = 0.0  # wanted
                rows[n_rows] = a
                n_rows += 1
    for t in range(0, n_rows - 1, 2):
        a, b = rows[t], rows[t + 1]
        sa, sb = sumsq8_2(xg, a, 1.0, zero_row, 0, b, 1.0, zero_row, 0)
        norms[a], norms[b] = np.sqrt(sa), np.sqrt(sb)
    if n_rows % 2:
        norms[rows[n_rows - 1]] = norm64(xg, rows[n_rows - 1], zero_row)
    for c in range(0, n_cand - 1, 2):
        i, j, u, v = ci[c], cj[c], ci[c + 1], cj[c + 1]
        si, su = norms[j] / norms[i], norms[v] / norms[u]
        a, b = sumsq8_2(xg, i, si, xg, j, u, su, xg, v)
        dist[c], dist[c + 1] = np.sqrt(a) / norms[j], np.sqrt(b) / norms[v]
    if n_cand % 2:
        c = n_cand - 1
        dist[c] = dist64(xg, ci[c], cj[c], norms[ci[c]], norms[cj[c]])
