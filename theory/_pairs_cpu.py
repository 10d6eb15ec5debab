"""Compiled CPU kernels of the float64 pair estimators: pairwise entropy, hard and soft RankNet
(internal; dispatched from ``_pair_kernels``).

Why compiled (issue 15: ≥ 0.5 GB/s of input scores per core on any CPU). The numpy kernels of
``_pair_kernels`` make one pass per operation over ``(pairs, c)`` buffers and take numpy's
``exp``, whose speed follows the CPU: with AVX2 code only (``benchmarks/isa_avx2.sh``) they ran
at 0.25 (entropy), 0.24 (hard RankNet) and 0.45 GB/s (soft RankNet) on 100,000 groups of 16.
Here one loop per pair does the whole formula in registers, with ``_libm64.exp64`` (vectorised,
the same bits on every CPU) for the exponential.

Layout. A chunk of ``_CHUNK`` groups is transposed to ``(k, c)``; for each pair (i < j, row
order) an inner loop runs over the chunk's groups. That loop has no cross-iteration dependency
(each group has its own accumulators), so LLVM vectorises it at the CPU's width without
fast-math, and each group's sum is the sequential sum over its pairs in a fixed order: the
result does not depend on the CPU, the chunk or the batch (no fast-math, no FMA contraction).
``error_model="numpy"``: numba's default checks every division for a zero divisor (Python's
ZeroDivisionError), and that branch alone stops the vectorisation (measured: 66 → 488 µs per
chunk of 512 groups of 16); IEEE division is what the formulas want anyway.

No logarithm per pair: Σ_p log1p(e_p) is taken as log Π_p (1 + e_p), in blocks of ``_BLOCK``
pairs (a product of factors in [1, 2] stays finite), one ``math.log`` per block and group
(libm's; x86-64 glibc runs the same FMA build of it on every AVX2 or AVX-512 CPU).
That differs from the per-pair log1p by float rounding, bounded per group:
:func:`log_product_bound` (the numpy kernel's bound, ``_pair_kernels._log_product_bound``, plus
one u per pair for the ≤ 1-ulp error of ``exp64`` inside log1p: |Δlog1p(e)| ≤ e/(1 + e)·2u ≤ u).
A group whose bound is not within ``_ULPS_OF_SUM`` ulps of its sum (an almost deterministic
teacher or an almost perfect student: a tiny sum) is recomputed with ``_libm64.log1p64`` per
pair (:func:`entropy_sums_log1p`, :func:`hard_sums_log1p`). Soft RankNet, whose sum is a
difference of two such logs, has its own full bound (:func:`soft_sums`); the groups it does not
keep take :func:`soft_sums_per_pair` (log1p64 per pair, the series for small δ).

Measured, 100,000 groups of 16, float64, one core, process CPU time, AMD EPYC (AVX-512), and
with AVX2 code only (``benchmarks/isa_avx2.sh``), both while another job ran on the second
core: pairwise entropy 13.6 / 23.2 ms (0.94 / 0.55 GB/s), hard RankNet 15.5 / 24.8 ms (1.65 /
1.03 GB/s), soft RankNet 24.7 / 40.7 ms (1.04 / 0.63 GB/s); its per-pair kernel (a student
close to the teacher) 54 / 108 ms, against 89 / 237 ms for the numpy one. The benchmark
(``benchmarks/bench_theory_estimators.py``, ``docs/BENCHMARKS.md``) has the numbers of record.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._libm64 import exp64, exp64_flush, log1p64

# Groups per transposed chunk: k × c float64 per input stays in the L1/L2 cache (k = 16: 64 KiB).
_CHUNK = 512
# Pairs per product of (1 + e) ∈ [1, 2] factors: 2¹⁰⁰⁰ < 1.8e308.
_BLOCK = 1000
# A group's sum is kept when its bound is within this many u (2⁻⁵³) of it: 2.8e-14 relative,
# as the numpy kernel (``_pair_kernels._ULPS_OF_SUM`` for float64).
_ULPS_OF_SUM = 256.0
# Soft RankNet keeps a group when its full error bound is within 2⁻⁴⁰ of its KL sum (the
# acceptance of the numpy fast path this kernel replaced), below the ~1e-12 accuracy of the
# per-pair closed form.
_SOFT_ACCEPT = 2.0**-40
_U = 2.0**-53
# What exp64_flush's flush can drop from one pair's entropy (a > 708: h ≤ e^{−a}·(1 + a)
# < 2.4e-305), in units of u: a group is kept only if m times this is within its bound too.
_FLUSHED_PAIR_U = 2.4e-305 / 2.0**-53
# e^{−708} (> every value exp64_flush flushes to 0) in units of u
_FLUSHED_EXP_U = 3.4e-308 / 2.0**-53
# |logit| at which σ has saturated (``_special._SATURATED``): no finite result changes.
_SATURATED = 1e4
# below this |δ| the soft RankNet per-pair kernel takes the Taylor series (``_special``)
_SERIES_BELOW = 0.02
# the series' 1/j! as products (a division per term would cost more than the rest of the pair)
_1_6, _1_24, _1_120, _1_720 = 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0


@njit(cache=True, inline="always", error_model="numpy")
def log_product_bound(m, blocks, log_p):
    """|log Π fl(1 + exp64(−a_p)) − Σ log1p(e^{−a_p})| in units of u, for m pairs in ``blocks``
    products with log P = ``log_p`` ≥ 0: (2m − 1)·1.001 (the factors' and products' roundings,
    first order while 2m·u ≤ 1e-3) + m (exp64's ≤ 1 ulp inside log1p) + (4 + blocks)·log P (a
    4-ulp log per block and the additions of the block logs)."""
    return (2.0 * m - 1.0) * 1.001 + m + (4.0 + blocks) * log_p


@njit(cache=True, error_model="numpy")
def _transpose(x, g0, c, out):
    """out[:, :c] = x[g0 : g0 + c].T."""
    k = x.shape[1]
    for g in range(c):
        for i in range(k):
            out[i, g] = x[g0 + g, i]


@njit(cache=True, error_model="numpy")
def _take_logs(c, prod, logs):
    """The end of a block of pairs: logs[:c] += log(prod[:c]), prod[:c] = 1."""
    for g in range(c):
        logs[g] += math.log(prod[g])
        prod[g] = 1.0


@njit(cache=True, error_model="numpy")
def entropy_sums(t, taus, divide):
    """Per group Σ_{i<j} h(σ((t_i − t_j)/τ)) (nats) and whether it is kept; ``t`` float64 (n, k).

    h(σ(z)) = log1p(e) + a·e/(1 + e), a = min(|z|, ``_SATURATED``), e = e^{−a} by
    ``exp64_flush`` (a pair with a > 708 counts 0, < 2.4e-305 from its h, within the bound).
    ``taus`` (n,) float64, used when ``divide`` (τ = 1 skips the division: same bits).
    Returns ``(sums (n,), kept (n,) bool)``.
    """
    n, k = t.shape
    m = k * (k - 1) // 2
    sums = np.zeros(n)
    kept = np.zeros(n, dtype=np.bool_)
    items = np.empty((k, _CHUNK))
    lin = np.empty(_CHUNK)
    prod = np.empty(_CHUNK)
    logs = np.empty(_CHUNK)
    tau_c = np.empty(_CHUNK)
    for g0 in range(0, n, _CHUNK):
        c = min(_CHUNK, n - g0)
        _transpose(t, g0, c, items)
        for g in range(c):
            lin[g] = 0.0
            prod[g] = 1.0
            logs[g] = 0.0
            tau_c[g] = taus[g0 + g]
        p = 0
        for i in range(k - 1):
            for j in range(i + 1, k):
                for g in range(c):
                    a = abs(items[i, g] - items[j, g])
                    if divide:
                        a = a / tau_c[g]
                    a = min(a, _SATURATED)
                    e = exp64_flush(-a)
                    w = 1.0 + e
                    prod[g] *= w
                    lin[g] += a * (e / w)
                p += 1
                if p % _BLOCK == 0 or p == m:
                    _take_logs(c, prod, logs)
        blocks = (m + _BLOCK - 1) // _BLOCK
        for g in range(c):
            total = logs[g] + lin[g]
            sums[g0 + g] = total
            bound = log_product_bound(m, blocks, max(logs[g], 0.0)) + m * _FLUSHED_PAIR_U
            kept[g0 + g] = total * _ULPS_OF_SUM >= bound
    return sums, kept


@njit(cache=True, error_model="numpy")
def entropy_sums_log1p(t, taus, divide, rows):
    """:func:`entropy_sums` of the groups ``rows``, ``log1p64`` per pair; ``(len(rows),)``."""
    k = t.shape[1]
    out = np.zeros(rows.shape[0])
    for r in range(rows.shape[0]):
        g = rows[r]
        total = 0.0
        for i in range(k - 1):
            for j in range(i + 1, k):
                a = abs(t[g, i] - t[g, j])
                if divide:
                    a = a / taus[g]
                a = min(a, _SATURATED)
                e = exp64(-a)
                total += log1p64(e) + a * (e / (1.0 + e))
        out[r] = total
    return out


@njit(cache=True, error_model="numpy")
def hard_sums(s, t):
    """Per group (Σ over pairs with t_i ≠ t_j of −ln σ(x), their count, kept); float64 (n, k).

    x = sign(t_i − t_j)·(s_i − s_j); −ln σ(x) = log1p(e^{−|x|}) + max(−x, 0). A teacher tie
    contributes nothing (a select, so an infinite student margin there gives no inf·0).
    """
    n, k = s.shape
    m = k * (k - 1) // 2
    sums = np.zeros(n)
    counts = np.zeros(n, dtype=np.int64)
    kept = np.zeros(n, dtype=np.bool_)
    si = np.empty((k, _CHUNK))
    ti = np.empty((k, _CHUNK))
    lin = np.empty(_CHUNK)
    prod = np.empty(_CHUNK)
    logs = np.empty(_CHUNK)
    cnt = np.empty(_CHUNK)  # exact integers (≤ 2⁵³)
    for g0 in range(0, n, _CHUNK):
        c = min(_CHUNK, n - g0)
        _transpose(s, g0, c, si)
        _transpose(t, g0, c, ti)
        for g in range(c):
            lin[g] = 0.0
            prod[g] = 1.0
            logs[g] = 0.0
            cnt[g] = 0.0
        p = 0
        for i in range(k - 1):
            for j in range(i + 1, k):
                for g in range(c):
                    ds = si[i, g] - si[j, g]
                    dt = ti[i, g] - ti[j, g]
                    x = ds if dt > 0.0 else -ds
                    e = exp64(-abs(x))
                    hinge = max(-x, 0.0)
                    w = 1.0 + e
                    # selects of plain values, a float count: a boolean variable or an int64
                    # count here stops LLVM from vectorising the loop (measured, 65 → 520 µs)
                    prod[g] *= w if dt != 0.0 else 1.0
                    lin[g] += hinge if dt != 0.0 else 0.0
                    cnt[g] += 1.0 if dt != 0.0 else 0.0
                p += 1
                if p % _BLOCK == 0 or p == m:
                    _take_logs(c, prod, logs)
        blocks = (m + _BLOCK - 1) // _BLOCK
        for g in range(c):
            total = logs[g] + lin[g]
            sums[g0 + g] = total
            counts[g0 + g] = np.int64(cnt[g])
            kept[g0 + g] = total * _ULPS_OF_SUM >= log_product_bound(m, blocks, max(logs[g], 0.0))
    return sums, counts, kept


@njit(cache=True, error_model="numpy")
def hard_sums_log1p(s, t, rows):
    """:func:`hard_sums` of the groups ``rows`` with ``log1p64`` per pair, ``(len(rows),)``."""
    k = s.shape[1]
    out = np.zeros(rows.shape[0])
    for r in range(rows.shape[0]):
        g = rows[r]
        total = 0.0
        for i in range(k - 1):
            for j in range(i + 1, k):
                dt = t[g, i] - t[g, j]
                if dt != 0.0:
                    ds = s[g, i] - s[g, j]
                    x = ds if dt > 0.0 else -ds
                    total += log1p64(exp64(-abs(x))) + max(-x, 0.0)
        out[r] = total
    return out


@njit(cache=True, error_model="numpy")
def soft_sums(s, t, taus, divide):
    """Per group Σ_p KL(Ber(σ(a)) ‖ Ber(σ(b))) and whether it is kept; float64 (n, k).

    a = (t_i − t_j)/τ, b = (s_i − s_j)/τ; flipped to af = |a|, bf = b·sign(a) (a < 0 flips):
    KL = log1p(e_b) + max(−bf, 0) − log1p(e_a) + σ(−af)·(bf − af), e_a = e^{−af}, e_b = e^{−|bf|},
    σ(−af) = e_a/(1 + e_a) (``_special.kl_bernoulli_logits``' closed form). The two log1p sums are
    log-products (log P_b − log P_a), which cancel when the student is close to the teacher; so a
    group is kept only when this bound on |computed − exact| (exact: the KL sum of the same float
    logits a, b, as every path computes them) is within ``_SOFT_ACCEPT`` of its sum, in units of u:

    - each log-product: :func:`log_product_bound` (exp64 and roundings per pair, 4-ulp logs);
    - the linear terms L_p = σ·(bf − af) + max(−bf, 0): σ within 4u (exp64 2u, 1 + e_a and the
      division u each), bf − af and the product u each, the addition u: ≤ 7u·A_p with
      A_p = |σ·(bf − af)| + max(−bf, 0); their sequential sum ≤ (m − 1)u·Σ A_p;
    - the final two additions: ≤ 2u·(|Σ L| + log P_a + log P_b);
    - ``exp64_flush`` sets e_a, e_b < 2⁻¹⁰²² to 0: per pair at most e^{−708}·(2 + |bf − af|)
      (two log1p terms and σ·(bf − af)), taken with the group's largest |bf − af|.

    Not kept: that bound fails (a student close to the teacher), or the sum is not finite (an
    overflowed logit). Returns ``(sums (n,), kept (n,) bool)``.
    """
    n, k = s.shape
    m = k * (k - 1) // 2
    sums = np.zeros(n)
    kept = np.zeros(n, dtype=np.bool_)
    si = np.empty((k, _CHUNK))
    ti = np.empty((k, _CHUNK))
    lin = np.empty(_CHUNK)
    mag = np.empty(_CHUNK)
    spread = np.empty(_CHUNK)
    prod_a = np.empty(_CHUNK)
    prod_b = np.empty(_CHUNK)
    log_a = np.empty(_CHUNK)
    log_b = np.empty(_CHUNK)
    tau_c = np.empty(_CHUNK)
    for g0 in range(0, n, _CHUNK):
        c = min(_CHUNK, n - g0)
        _transpose(s, g0, c, si)
        _transpose(t, g0, c, ti)
        for g in range(c):
            lin[g] = 0.0
            mag[g] = 0.0
            spread[g] = 0.0
            prod_a[g] = 1.0
            prod_b[g] = 1.0
            log_a[g] = 0.0
            log_b[g] = 0.0
            tau_c[g] = taus[g0 + g]
        p = 0
        for i in range(k - 1):
            for j in range(i + 1, k):
                for g in range(c):
                    a = ti[i, g] - ti[j, g]
                    b = si[i, g] - si[j, g]
                    if divide:
                        a = a / tau_c[g]
                        b = b / tau_c[g]
                    bf = -b if a < 0.0 else b
                    af = abs(a)
                    ea = exp64_flush(-af)
                    eb = exp64_flush(-abs(bf))
                    wa = 1.0 + ea
                    prod_a[g] *= wa
                    prod_b[g] *= 1.0 + eb
                    sd = (ea / wa) * (bf - af)
                    hinge = max(-bf, 0.0)
                    lin[g] += sd + hinge
                    mag[g] += abs(sd) + hinge
                    spread[g] = max(spread[g], abs(bf - af))
                p += 1
                if p % _BLOCK == 0 or p == m:
                    _take_logs(c, prod_a, log_a)
                    _take_logs(c, prod_b, log_b)
        blocks = (m + _BLOCK - 1) // _BLOCK
        for g in range(c):
            total = lin[g] + log_b[g] - log_a[g]
            sums[g0 + g] = total
            la, lb = max(log_a[g], 0.0), max(log_b[g], 0.0)
            bound = (
                log_product_bound(m, blocks, la)
                + log_product_bound(m, blocks, lb)
                + (m + 6.0) * mag[g]
                + 2.0 * (abs(lin[g]) + la + lb)
                + m * (2.0 + spread[g]) * _FLUSHED_EXP_U
            )
            kept[g0 + g] = math.isfinite(total) and bound * _U <= _SOFT_ACCEPT * total
    return sums, kept


@njit(cache=True, error_model="numpy")
def soft_sums_per_pair(s, t, taus, divide, saturate):
    """Per group Σ_p KL(Ber(σ(a)) ‖ Ber(σ(b))) pair by pair, float64 (n, k) → (n,): the groups
    :func:`soft_sums` does not keep (a student close to the teacher, an overflowed logit).

    The formula of ``_special.kl_bernoulli_logits`` per pair, no log-products: the closed form
    log1p(e_b) + max(−bf, 0) − log1p(e_a) + σ(−af)·(bf − af) with ``log1p64``, and where
    |δ| = |b − a| < 0.02 its Taylor series in δ (s = σ(a), v = s(1 − s), w = 1 − 2s):
    v·δ²·(½ + δ·(w/6 + δ·((1 − 6v)/24 + δ·(w(1 − 12v)/120 + δ(1 − 30v + 120v²)/720)))).
    σ(±a) come from e_a: σ(|a|) = 1/(1 + e_a), σ(−|a|) = e_a·σ(|a|). Both forms are
    evaluated for every pair and one is selected (no branch: the loop vectorises).
    ``saturate``: af clamped at ``_SATURATED``, and bf = +inf beside a saturated af becomes af
    (KL = 0), as ``kl_bernoulli_logits(..., saturate=True)``.
    """
    n, k = s.shape
    sums = np.zeros(n)
    si = np.empty((k, _CHUNK))
    ti = np.empty((k, _CHUNK))
    acc = np.empty(_CHUNK)
    tau_c = np.empty(_CHUNK)
    for g0 in range(0, n, _CHUNK):
        c = min(_CHUNK, n - g0)
        _transpose(s, g0, c, si)
        _transpose(t, g0, c, ti)
        for g in range(c):
            acc[g] = 0.0
            tau_c[g] = taus[g0 + g]
        for i in range(k - 1):
            for j in range(i + 1, k):
                for g in range(c):
                    a = ti[i, g] - ti[j, g]
                    b = si[i, g] - si[j, g]
                    if divide:
                        a = a / tau_c[g]
                        b = b / tau_c[g]
                    d = b - a
                    bf = -b if a < 0.0 else b
                    af = abs(a)
                    if saturate:
                        af = min(af, _SATURATED)
                        bf = af if (bf == np.inf and af >= _SATURATED) else bf
                    ea = exp64(-af)
                    eb = exp64(-abs(bf))
                    high = 1.0 / (1.0 + ea)  # σ(|a|); one division per pair, the rest multiply
                    low = ea * high  # σ(−|a|)
                    closed = log1p64(eb) + max(-bf, 0.0) - log1p64(ea) + low * (bf - af)
                    s_pos = high if a >= 0.0 else low
                    s_neg = low if a >= 0.0 else high
                    v = s_pos * s_neg
                    w = s_neg - s_pos
                    inner = (1.0 - 6.0 * v) * _1_24 + d * (
                        w * (1.0 - 12.0 * v) * _1_120
                        + d * (1.0 - 30.0 * v + 120.0 * v * v) * _1_720
                    )
                    series = v * d * d * (0.5 + d * (w * _1_6 + d * inner))
                    acc[g] += series if abs(d) < _SERIES_BELOW else closed
        for g in range(c):
            sums[g0 + g] = acc[g]
    return sums


# --------------------------------------------------------------------------- entry points
# The kernel, then the groups it does not keep recomputed per pair: one place for both callers
# (``_pair_kernels`` without a gradient, ``_pairs_autograd`` with one).


def tau_array(tau, n: int) -> tuple[np.ndarray, bool]:
    """τ as a float64 array ``(n,)`` and whether to divide by it (a float τ = 1 skips the
    division: the same bits). ``tau``: a float, or ``n`` values (array or CPU tensor)."""
    if isinstance(tau, float):
        return np.full(n, tau), tau != 1.0
    return np.ascontiguousarray(np.asarray(tau, dtype=np.float64)).reshape(n), True


def entropy_means(t: np.ndarray, taus: np.ndarray, divide: bool) -> np.ndarray:
    """Mean pair entropy per group (nats), ``(n, k)`` → ``(n,)``: :func:`entropy_sums`, the groups
    outside its bound by :func:`entropy_sums_log1p`."""
    sums, kept = entropy_sums(t, taus, divide)
    redo = np.flatnonzero(~kept)
    if redo.size:
        sums[redo] = entropy_sums_log1p(t, taus, divide, redo)
    return sums / (t.shape[1] * (t.shape[1] - 1) // 2)


def hard_totals(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group (hard RankNet sum over the comparable pairs, their int64 count): :func:`hard_sums`,
    the groups outside its bound by :func:`hard_sums_log1p`."""
    total, counts, kept = hard_sums(s, t)
    redo = np.flatnonzero(~kept)
    if redo.size:
        total[redo] = hard_sums_log1p(s, t, redo)
    return total, counts


def soft_means(s, t, taus: np.ndarray, divide: bool, saturate: bool) -> np.ndarray:
    """Mean soft RankNet KL per group, ``(n, k)`` → ``(n,)``: :func:`soft_sums`, the groups it does
    not keep (outside 2⁻⁴⁰, or an overflowed logit) by :func:`soft_sums_per_pair`."""
    sums, kept = soft_sums(s, t, taus, divide)
    redo = np.flatnonzero(~kept)
    if redo.size == len(sums):
        sums = soft_sums_per_pair(s, t, taus, divide, saturate)
    elif redo.size:
        sums[redo] = soft_sums_per_pair(s[redo], t[redo], taus[redo], divide, saturate)
    return sums / (s.shape[1] * (s.shape[1] - 1) // 2)
