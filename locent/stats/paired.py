"""Paired tests over units (queries, seeds): t, non-inferiority, TOST, sign-flip randomisation.

Differences d_i = a_i − b_i (i = 1..n, n ≥ 2); H₀ mean(d) = s, the *shift* (0, or −margin for
non-inferiority, ±margin for TOST).

- Paired t: t = (d̄ − s)/(s_d/√n), s_d the sample sd (ddof 1); p from Student's t with n − 1
  degrees of freedom. ``greater``: H₁ mean(d) > s; ``less``: H₁ mean(d) < s.
- TOST: p_lower of H₀ mean(d) ≤ −m, p_upper of H₀ mean(d) ≥ m; p = max(p_lower, p_upper).
- Sign-flip: statistic mean(ε ⊙ d) over ε ∈ {±1}ⁿ; exact over all 2ⁿ when 2ⁿ ≤ ``n_resamples``,
  else (1 + #hits)/(1 + R) over R seeded random sign vectors.

**All differences equal** (zero variance, d_i ≡ c): t = (c − s)/0 is undefined; p is its limit as
the spread → 0. c ≠ s: t = ±∞, p = 0 for the alternative on c's side and 1 against it (two-sided
0). c = s (identical systems, s = 0): t = 0/0, p = 1 whatever the alternative, the only value that
claims no evidence (the sign-flip null is then a point mass at 0, whose p is 1 as well). "Equal"
and "c = s" allow rounding: a spread or |c − s| ≤ 1e-12 × max(|d|, |s|).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from scipy import stats as sps

from .base import (
    NO_INTERVAL,
    RELATIVE_ZERO,
    EquivalenceResult,
    Interval,
    TestResult,
    check_alternative,
    finite_vector,
    make_rng,
    paired_differences,
)


def t_pvalue(d: np.ndarray, shift: float, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    """(t, p) of H₀ mean(d) = ``shift`` over the last axis of ``d: (..., n)``; both ``(...)``.

    ``scipy.stats.ttest_1samp`` on every sample with a spread (so the numbers are scipy's to the
    last bit); samples without one (all values equal up to rounding) per the module docstring.
    Vectorised: the power simulation tests thousands of samples in one call.
    """
    rows = d.reshape(-1, d.shape[-1])
    excess = rows.mean(-1) - shift
    scale = np.maximum(np.abs(rows).max(-1), abs(shift))
    flat = rows.std(-1, ddof=1) <= RELATIVE_ZERO * scale
    at_null = flat & (np.abs(excess) <= RELATIVE_ZERO * scale)
    # no spread: t = ±∞ (p 0 on excess's side, 1 against it), or 0/0 at the null (p = 1)
    t = np.where(at_null, 0.0, np.copysign(np.inf, excess))
    side = {"greater": excess > 0, "less": excess < 0}.get(alternative, excess != 0)
    p = np.where(side & ~at_null, 0.0, 1.0)
    if not flat.all():
        res = sps.ttest_1samp(rows[~flat], shift, axis=-1, alternative=alternative)
        t[~flat], p[~flat] = res.statistic, res.pvalue
    return t.reshape(d.shape[:-1]), p.reshape(d.shape[:-1])


def mean_ci(d: np.ndarray, level: float) -> Interval:
    """Two-sided t interval of the mean of ``d: (n,)``, n ≥ 2: d̄ ± t_{(1+level)/2, n−1}·s_d/√n
    (``scipy.stats.t.interval``; zero width when the values are equal)."""
    d = finite_vector(d, "d")
    if d.size < 2:
        raise ValueError(f"a t interval needs at least 2 values in d; got {d.size}")
    scale = d.std(ddof=1) / math.sqrt(d.size)
    if scale == 0:  # scipy would answer (nan, nan) for a zero scale
        return Interval(float(d.mean()), float(d.mean()))
    lo, hi = sps.t.interval(level, d.size - 1, loc=float(d.mean()), scale=scale)
    return Interval(float(lo), float(hi))


def paired_t(
    a, b, *, alternative: str = "two-sided", shift: float = 0.0, level: float = 0.95
) -> TestResult:
    """Paired t-test of H₀ mean(a − b) = ``shift`` (``a, b: (n,)``, n ≥ 2); effect mean(a − b)."""
    check_alternative(alternative)
    d = paired_differences(a, b)
    # (a − shift) − b against 0, not d against shift: the rounding the callers always had
    shifted = np.asarray(a, dtype=np.float64) - float(shift) - np.asarray(b, dtype=np.float64)
    t, p = t_pvalue(shifted, 0.0, alternative)
    return TestResult(
        "paired t", alternative, float(t), float(p), float(d.mean()), mean_ci(d, level), d.size,
        level,
    )  # fmt: skip


def noninferiority(a, b, margin: float, *, level: float = 0.95) -> TestResult:
    """One-sided paired t-test of H₁ mean(a − b) > −``margin`` (a not worse than b by more than
    the margin); H₀ mean(a − b) ≤ −margin."""
    if not margin > 0:
        raise ValueError(f"the non-inferiority margin must be > 0; got {margin}")
    res = paired_t(a, b, alternative="greater", shift=-float(margin), level=level)
    return dataclasses.replace(res, method="non-inferiority")


def tost(a, b, margin: float, *, level: float = 0.90) -> EquivalenceResult:
    """TOST equivalence of paired samples within ±``margin`` (two one-sided paired t-tests)."""
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be > 0; got {margin}")
    d = paired_differences(a, b)
    _, p_lower = t_pvalue(d, -float(margin), "greater")
    _, p_upper = t_pvalue(d, float(margin), "less")
    return EquivalenceResult(
        float(max(p_lower, p_upper)), float(p_lower), float(p_upper), float(d.mean()),
        mean_ci(d, level), d.size, float(margin), level,
    )  # fmt: skip


def randomisation_test(
    a,
    b,
    *,
    alternative: str = "two-sided",
    n_resamples: int = 10_000,
    seed: int | np.random.Generator = 0,
) -> TestResult:
    """Paired sign-flip test of H₀: a − b is symmetric about 0; statistic mean(ε ⊙ d). Exact when
    2ⁿ ≤ ``n_resamples``, else Monte-Carlo over ``n_resamples`` sign vectors drawn from ``seed``."""
    check_alternative(alternative)
    d = paired_differences(a, b)
    n, observed = d.size, float(d.mean())
    if 2**n <= n_resamples:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))  # (2ⁿ, n)
        p = float(sign_flip_hits(d, signs, alternative)) / signs.shape[0]
    else:
        rng = make_rng(seed)
        count = 0
        for start in range(0, n_resamples, 2048):  # chunks bound memory at 2048 × n
            signs = rng.choice((-1.0, 1.0), size=(min(2048, n_resamples - start), n))
            count += int(sign_flip_hits(d, signs, alternative))
        p = (1.0 + count) / (1.0 + n_resamples)
    return TestResult("sign-flip", alternative, observed, p, observed, NO_INTERVAL, n)


def sign_flip_hits(d: np.ndarray, signs: np.ndarray, alternative: str) -> np.ndarray:
    """How many sign vectors ``signs: (m, n)`` give a mean(ε ⊙ d) at least as extreme as d̄, for
    each sample of ``d: (..., n)``; ``(...)`` counts. Means equal to d̄ up to rounding count."""
    observed = d.mean(-1)
    tol = 1e-12 * np.maximum(1.0, np.abs(observed))
    null = d @ signs.T / d.shape[-1]  # (..., m)
    if alternative == "greater":
        hit = null >= (observed - tol)[..., None]
    elif alternative == "less":
        hit = null <= (observed + tol)[..., None]
    else:
        hit = np.abs(null) >= (np.abs(observed) - tol)[..., None]
    return hit.sum(-1)
