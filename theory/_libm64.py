"""A float64 exponential (and log1p on [0, 1]) that vectorise in compiled loops and have the same
bits on every CPU
(internal; used by the compiled pair kernels of ``_pairs_cpu``).

Why not ``math.exp`` or numpy's (measured, 12M values, one core, AMD EPYC):
- in a numba loop ``math.exp`` is a scalar libm call per value: LLVM vectorises it only with
  Intel's SVML, which the PyPI llvmlite is not built with (``numba -s``: "SVML Operational:
  False"), so a pair kernel would pay one call per pair;
- numpy's ``np.exp`` is a separate pass whose speed follows the CPU: 10.9 ms with its AVX-512
  kernel, 32.7 ms with AVX2 only (``benchmarks/isa_avx2.sh``), more than the 25.6 ms that
  0.5 GB/s allows for a pairwise entropy of 100,000 groups of 16 (issue 15) — and its last bit
  differs between the two kernels.

:func:`exp64` is written in IEEE operations only, each rounded as written (explicit fused
multiply-adds; no fast-math, so the compiler neither contracts nor reassociates): LLVM vectorises
a loop of it at the CPU's width while every value keeps the bits of the scalar formula, on
every CPU.

Formula (Cody–Waite reduction, as in fdlibm): n = x·log₂e rounded to the nearest integer,
r = (x − n·ln2_hi) − n·ln2_lo with ln2_hi carrying 32 trailing zero bits (n·ln2_hi exact for
|n| < 2²⁰), |r| ≤ ½ln2 + 1e-16; e^r by its Taylor polynomial of degree 13 (truncation ≤
(½ln2)¹⁴/14! < 5e-18, 0.05 ulp), Horner steps as fused multiply-adds (``_llvm_ir.fma64``: one
rounding each, the same on every CPU), e^r − 1 = r + r²·q before adding 1; e^x = e^r·2^{n₁}·2^{n₂}
with n₁ = n clamped to [−1022, 1023], n₂ = n − n₁ ∈ [−54, 1]: the first product is exact, the
second rounds once (into the subnormal range, or to inf). 2ⁿ is built from its exponent bits:
the bits of n + 1023 + 2⁵² (exact) shifted left by 52 drop the 2⁵² exponent and leave
n + 1023 in the exponent field. Domain: any float64; x ≤ −746 gives 0 (e^x < 2⁻¹⁰⁷⁵ rounds to
0), x ≥ 710 gives inf, NaN gives NaN. Accuracy, measured against the 80-bit ``np.longdouble``
exponential on 10⁷ values of [−745, 709] (``tests/theory/test_pairs_cpu.py``): ≤ 1 ulp.
"""

from __future__ import annotations

from numba import njit

from ._llvm_ir import float64_bits, float64_from_bits, fma64

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # 0x3FE62E42FEE00000: 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
_BIAS_SHIFT = 1023.0 + 4503599627370496.0  # 1023 + 2⁵²
# adding and subtracting 1.5·2⁵² rounds |y| < 2⁵¹ to an integer: no call to floor (numba calls
# libm's floor, which stops LLVM from vectorising the loop)
_ROUND = 6755399441055744.0

# 1/j!, j = 13 … 2 (Horner order; then e^r = 1 + (r + r²·p))
_C13 = 1.0 / 6227020800.0
_C12 = 1.0 / 479001600.0
_C11 = 1.0 / 39916800.0
_C10 = 1.0 / 3628800.0
_C9 = 1.0 / 362880.0
_C8 = 1.0 / 40320.0
_C7 = 1.0 / 5040.0
_C6 = 1.0 / 720.0
_C5 = 1.0 / 120.0
_C4 = 1.0 / 24.0
_C3 = 1.0 / 6.0
_C2 = 0.5


@njit(inline="always")
def _pow2(n):
    """2ⁿ for an integral float64 n ∈ [−1022, 1023], from its exponent bits."""
    return float64_from_bits(float64_bits(n + _BIAS_SHIFT) << 52)


@njit(inline="always")
def _exp_reduced(x):
    """e^r and n with e^x = e^r·2ⁿ (x already clamped to [−746, 710]); see the module."""
    n = (x * _LOG2E + _ROUND) - _ROUND  # nearest integer (ties to even), in IEEE arithmetic
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = fma64(_C13, r, _C12)
    p = fma64(p, r, _C11)
    p = fma64(p, r, _C10)
    p = fma64(p, r, _C9)
    p = fma64(p, r, _C8)
    p = fma64(p, r, _C7)
    p = fma64(p, r, _C6)
    p = fma64(p, r, _C5)
    p = fma64(p, r, _C4)
    p = fma64(p, r, _C3)
    p = fma64(p, r, _C2)
    return 1.0 + fma64(r * r, p, r), n  # e^r − 1 first: its rounding is scaled by ≤ 0.42


@njit(inline="always")
def exp64_flush(x):
    """e^x for x ≤ 0 with the results below 2⁻¹⁰²² (x < −708) flushed to 0: one scaling
    instead of two (measured, the pairwise-entropy loop with AVX2 code: 19.6 → 16.8 ms per
    100,000 groups of 16). Equal to :func:`exp64` for x ≥ −708; a caller states what the flush
    costs it (e^x·(1 + |x|) < 2.4e-305 per value, ``_pairs_cpu.entropy_sums``)."""
    p, n = _exp_reduced(-708.0 if x < -708.0 else x)
    return 0.0 if x < -708.0 else p * _pow2(n)


@njit(inline="always")
def exp64(x):
    """e^x (float64 → float64), within 1 ulp, the same bits on every CPU; see the module."""
    x = -746.0 if x < -746.0 else (710.0 if x > 710.0 else x)  # NaN passes unchanged
    p, n = _exp_reduced(x)
    n1 = -1022.0 if n < -1022.0 else (1023.0 if n > 1023.0 else n)
    return (p * _pow2(n1)) * _pow2(n - n1)


_SQRT2 = 1.4142135623730951
# 2/(2n + 1), n = 10 … 1: log(1 + f) = 2·atanh(s) = 2s + s·R(s²), R(z) = Σₙ 2zⁿ/(2n + 1)
_L10, _L9, _L8, _L7, _L6 = 2 / 21, 2 / 19, 2 / 17, 2 / 15, 2 / 13
_L5, _L4, _L3, _L2, _L1 = 2 / 11, 2 / 9, 2 / 7, 2 / 5, 2 / 3


@njit(inline="always")
def log1p64(y):
    """log(1 + y) for y ∈ [0, 1] (float64 → float64), within 1 ulp, the same bits on every CPU.

    The domain of the pair kernels: y = e^{−|x|}. Formula: u = fl(1 + y), whose rounding error
    y − (u − 1) is exact (Fast2Sum, 1 ≥ y) and enters as c = (y − (u − 1))/u; u = 2^k·(1 + f),
    k = 1 if u > √2 (u/2 exact), f ∈ [−0.293, 0.415) exact (Sterbenz); with s = f/(2 + f),
    |s| ≤ 0.1716, log(1 + f) = 2s + s·R(s²) and 2s = f − s·f, so

        log1p(y) = k·ln2_hi + (f − (s·(f − R) − (k·ln2_lo + c))),

    f exact, the small terms carrying the roundings. R(z) = Σ_{n=1}^{10} 2zⁿ/(2n + 1), Horner in
    fused multiply-adds; the truncated tail is below z¹¹/23 ≤ 6e-19 of the result. y < 2⁻⁵³
    gives u = 1, f = 0 and the result c = y. Measured against the 80-bit ``np.longdouble``
    log1p (``tests/theory/test_pairs_cpu.py``): ≤ 1 ulp.
    """
    u = 1.0 + y
    c = (y - (u - 1.0)) / u
    k = 1.0 if u > _SQRT2 else 0.0
    f = (u * 0.5 if u > _SQRT2 else u) - 1.0
    s = f / (2.0 + f)
    z = s * s
    r = fma64(_L10, z, _L9)
    r = fma64(r, z, _L8)
    r = fma64(r, z, _L7)
    r = fma64(r, z, _L6)
    r = fma64(r, z, _L5)
    r = fma64(r, z, _L4)
    r = fma64(r, z, _L3)
    r = fma64(r, z, _L2)
    r = fma64(r, z, _L1)
    r = r * z
    return k * _LN2_HI + (f - (s * (f - r) - (k * _LN2_LO + c)))
