"""Float32 Gram matrix of one group, upper triangle, in register tiles (internal).

Used by the exact diameter's CPU kernel (``theory/_diameter_cpu.py``) as its screen. Compiled
with fast-math (reassociation, FMA contraction): the screen bound ε_c of ``theory/_diameter.py``
holds for any summation order, with or without FMA (its proof, step 1a), so the diameter does
not depend on the order the compiler picks.
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding as llvm
from numba import njit
from numba.core import config


def _has_avx512() -> bool:
    """Whether numba compiles for AVX-512 (32 vector registers): its target features."""
    if config.CPU_FEATURES:  # NUMBA_CPU_FEATURES overrides the host's
        return "+avx512f" in config.CPU_FEATURES.split(",")
    return bool(llvm.get_host_cpu_features().get("avx512f", False))


# the Gram's tile shape (see gram_upper); any value gives the same diameter
WIDE_TILES = _has_avx512()


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _dot32(x, i, j):
    """Σ_d fl32(x_id)·fl32(x_jd) in float32, any summation order (bound of proof step 1a)."""
    s = np.float32(0.0)
    for d in range(x.shape[1]):
        s += np.float32(x[i, d]) * np.float32(x[j, d])
    return s


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _tile(x, i0, j0, gram):
    """G_ij for i ∈ [i0, i0+4), j ∈ [j0, j0+4): 16 accumulators, each loaded vector feeds 4 FMAs."""
    a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = np.float32(0.0)
    a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = np.float32(0.0)
    for d in range(x.shape[1]):
        p0 = np.float32(x[i0, d])
        p1 = np.float32(x[i0 + 1, d])
        p2 = np.float32(x[i0 + 2, d])
        p3 = np.float32(x[i0 + 3, d])
        q0 = np.float32(x[j0, d])
        q1 = np.float32(x[j0 + 1, d])
        q2 = np.float32(x[j0 + 2, d])
        q3 = np.float32(x[j0 + 3, d])
        a00 += p0 * q0
        a01 += p0 * q1
        a02 += p0 * q2
        a03 += p0 * q3
        a10 += p1 * q0
        a11 += p1 * q1
        a12 += p1 * q2
        a13 += p1 * q3
        a20 += p2 * q0
        a21 += p2 * q1
        a22 += p2 * q2
        a23 += p2 * q3
        a30 += p3 * q0
        a31 += p3 * q1
        a32 += p3 * q2
        a33 += p3 * q3
    gram[i0, j0], gram[i0, j0 + 1], gram[i0, j0 + 2], gram[i0, j0 + 3] = a00, a01, a02, a03
    gram[i0 + 1, j0], gram[i0 + 1, j0 + 1], gram[i0 + 1, j0 + 2] = a10, a11, a12
    gram[i0 + 1, j0 + 3], gram[i0 + 2, j0], gram[i0 + 2, j0 + 1] = a13, a20, a21
    gram[i0 + 2, j0 + 2], gram[i0 + 2, j0 + 3], gram[i0 + 3, j0] = a22, a23, a30
    gram[i0 + 3, j0 + 1], gram[i0 + 3, j0 + 2], gram[i0 + 3, j0 + 3] = a31, a32, a33


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _tile_4x2(x, i0, j0, gram):
    """G_ij for i ∈ [i0, i0+4), j ∈ {j0, j0+1}: 8 accumulators, for 16 vector registers."""
    a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = np.float32(0.0)
    for d in range(x.shape[1]):
        p0 = np.float32(x[i0, d])
        p1 = np.float32(x[i0 + 1, d])
        p2 = np.float32(x[i0 + 2, d])
        p3 = np.float32(x[i0 + 3, d])
        q0 = np.float32(x[j0, d])
        q1 = np.float32(x[j0 + 1, d])
        a00 += p0 * q0
        a01 += p0 * q1
        a10 += p1 * q0
        a11 += p1 * q1
        a20 += p2 * q0
        a21 += p2 * q1
        a30 += p3 * q0
        a31 += p3 * q1
    gram[i0, j0], gram[i0, j0 + 1], gram[i0 + 1, j0], gram[i0 + 1, j0 + 1] = a00, a01, a10, a11
    gram[i0 + 2, j0], gram[i0 + 2, j0 + 1], gram[i0 + 3, j0], gram[i0 + 3, j0 + 1] = (
        a20,
        a21,
        a30,
        a31,
    )


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _diagonal_tile(x, i0, gram):
    """G_ij for i0 ≤ i ≤ j < i0+4: the 10 entries on and above the diagonal of a 4 × 4 tile."""
    a00 = a01 = a02 = a03 = a11 = a12 = a13 = a22 = a23 = a33 = np.float32(0.0)
    for d in range(x.shape[1]):
        p0 = np.float32(x[i0, d])
        p1 = np.float32(x[i0 + 1, d])
        p2 = np.float32(x[i0 + 2, d])
        p3 = np.float32(x[i0 + 3, d])
        a00 += p0 * p0
        a01 += p0 * p1
        a02 += p0 * p2
        a03 += p0 * p3
        a11 += p1 * p1
        a12 += p1 * p2
        a13 += p1 * p3
        a22 += p2 * p2
        a23 += p2 * p3
        a33 += p3 * p3
    gram[i0, i0], gram[i0, i0 + 1], gram[i0, i0 + 2], gram[i0, i0 + 3] = a00, a01, a02, a03
    gram[i0 + 1, i0 + 1], gram[i0 + 1, i0 + 2], gram[i0 + 1, i0 + 3] = a11, a12, a13
    gram[i0 + 2, i0 + 2], gram[i0 + 2, i0 + 3], gram[i0 + 3, i0 + 3] = a22, a23, a33


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def gram_upper(x, gram, wide):
    """Float32 Gram entries G_ij, i ≤ j, of one group ``x`` ``(k, D)`` into ``gram`` ``(k, k)``.

    4 × 4 tiles of rows keep their products in registers: each loaded vector of a row feeds four
    FMAs instead of one, and the tiles on the diagonal compute only their 10 upper entries, so
    the FMAs are exactly the k(k+1)/2·D needed when 4 divides k (136·D for k = 16, against 160·D
    with full diagonal tiles). Off the diagonal, ``wide`` (:data:`WIDE_TILES`, 32 vector
    registers: AVX-512) takes 4 × 4 tiles, else two 4 × 2 tiles: 16 accumulators and 8 loaded
    rows overflow AVX2's 16 registers. Measured on the Gram pass alone, data in cache, AVX2 code
    (numba targeting haswell on the AVX-512 machine): 4 × 4 0.129 s, 4 × 2 0.102 s; AVX-512
    code: 4 × 4 0.066 s, 4 × 2 0.080 s. Rows beyond the last full tile take :func:`_dot32`.
    """
    k, dim = x.shape
    k4 = k - k % 4
    for i0 in range(0, k4, 4):
        _diagonal_tile(x, i0, gram)
        for j0 in range(i0 + 4, k4, 4):
            if wide:
                _tile(x, i0, j0, gram)
            else:
                _tile_4x2(x, i0, j0, gram)
                _tile_4x2(x, i0, j0 + 2, gram)
    for i in range(k):
        for j in range(max(i, k4), k):
            gram[i, j] = _dot32(x, i, j)
