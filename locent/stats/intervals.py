"""Multiplicity and intervals: Holm, Clopper–Pearson and the exact binomial test, the percentile
bootstrap (rows or whole clusters).

- Holm step-down: p̃₍ᵢ₎ = max_{j≤i} min(1, (m − j + 1) p₍ⱼ₎) over the sorted p-values of a family.
- Clopper–Pearson: [Beta⁻¹(α/2; k, n − k + 1), Beta⁻¹(1 − α/2; k + 1, n − k)], α = 1 − level
  (``scipy.stats.binomtest(k, n).proportion_ci(method="exact")``).
- Percentile bootstrap: the (1 − level)/2 and (1 + level)/2 quantiles of the statistic over B
  resamples with replacement (of rows, or of whole clusters when rows are not independent).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats as sps

from .base import Interval, TestResult, check_alternative, finite_vector, make_rng, unit_labels


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values over the last axis (one family); same shape."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size == 0:
        return p
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"p-values must lie in [0, 1] (no NaN); got {p.ravel()[:8]}")
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * np.take_along_axis(p, order, -1))
    out = np.empty_like(p)
    np.put_along_axis(out, order, np.maximum.accumulate(scaled, axis=-1), -1)
    return out


def _counts(k, n) -> tuple[int, int]:
    if int(n) < 1:
        raise ValueError(f"n (the number of trials) must be ≥ 1; got {n}")
    if not 0 <= int(k) <= int(n):
        raise ValueError(f"k (the number of events) must lie in [0, n = {n}]; got {k}")
    return int(k), int(n)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> Interval:
    """Exact (Clopper–Pearson) interval of the binomial proportion k/n, n ≥ 1."""
    k, n = _counts(k, n)
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return Interval(float(ci.low), float(ci.high))


def binomial_test(
    k: int, n: int, rate: float, *, alternative: str = "greater", level: float = 0.95
) -> TestResult:
    """Exact binomial test of H₀ P(event) = ``rate`` from k events in n trials (``greater``: H₁
    the event rate exceeds ``rate``); effect k/n with its Clopper–Pearson interval."""
    check_alternative(alternative)
    k, n = _counts(k, n)
    p = float(sps.binomtest(k, n, float(rate), alternative=alternative).pvalue)
    ci = clopper_pearson(k, n, level)
    return TestResult("exact binomial", alternative, float(k), p, k / n, ci, n, level)


def percentile_interval(replicates, level: float, *, drop_undefined: bool = False) -> Interval:
    """The percentile interval of bootstrap ``replicates: (B,)``.

    A replicate where the statistic is undefined (NaN/inf) is an error unless ``drop_undefined``
    (the caller then documents why, e.g. ρ of a resample whose values are all tied).
    """
    r = np.asarray(replicates, dtype=np.float64).ravel()
    bad = ~np.isfinite(r)
    if bad.any() and not drop_undefined:
        raise ValueError(
            f"the statistic is undefined (NaN/inf) on bootstrap replicate {np.flatnonzero(bad)[0]}"
        )
    r = r[~bad]
    if r.size == 0:
        raise ValueError("the statistic is undefined on every bootstrap replicate")
    tail = round((1.0 - level) / 2, 12)  # 0.025, not 0.025000000000000022
    lo, hi = np.quantile(r, [tail, 1.0 - tail])
    return Interval(float(lo), float(hi))


def bootstrap_replicates(
    statistic: Callable[..., np.ndarray],
    *samples,
    n_resamples: int = 2000,
    seed: int | np.random.Generator = 0,
    clusters=None,
) -> np.ndarray:
    """The statistic on ``n_resamples`` bootstrap resamples: ``(n_resamples,)``. See
    :func:`bootstrap_ci` for the arguments."""
    arrays = [finite_vector(s, f"samples[{i}]") for i, s in enumerate(samples)]
    if not arrays:
        raise ValueError("the bootstrap needs at least one sample")
    n = arrays[0].size
    if n < 2 or any(s.size != n for s in arrays):
        raise ValueError(f"samples must share one length ≥ 2; got {[s.size for s in arrays]}")
    rng = make_rng(seed)
    if clusters is None:
        idx = rng.integers(0, n, size=(n_resamples, n))
        return np.asarray(statistic(*(s[idx] for s in arrays)), dtype=np.float64)
    codes = unit_labels(clusters, n, "clusters")
    members = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
    if len(members) < 2:
        raise ValueError("the cluster bootstrap needs at least 2 clusters; got 1")
    picks = rng.integers(0, len(members), size=(n_resamples, len(members)))
    if len({m.size for m in members}) == 1:  # equal sizes: one rectangular index, one call
        idx = np.stack(members)[picks].reshape(n_resamples, -1)
        return np.asarray(statistic(*(s[idx] for s in arrays)), dtype=np.float64)
    replicates = np.empty(n_resamples)
    for r, pick in enumerate(picks):  # unequal sizes: replicates differ in length
        rows = np.concatenate([members[c] for c in pick])
        replicates[r] = statistic(*(s[rows] for s in arrays))
    return replicates


def bootstrap_ci(
    statistic: Callable[..., np.ndarray],
    *samples,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int | np.random.Generator = 0,
    clusters=None,
) -> Interval:
    """Percentile bootstrap interval of ``statistic(*samples)``.

    ``samples``: 1-D arrays of one length n whose rows are paired (resampled with the same
    indices). ``statistic`` reduces the last axis and is vectorised over leading ones: it gets
    ``(n_resamples, n)`` arrays and returns ``(n_resamples,)``.

    ``clusters``: an (n,) label per row. Then the m clusters are resampled with replacement and
    every row of a drawn cluster is kept (the cluster bootstrap, for rows that share a unit such as
    a sampler × seed). With clusters of unequal sizes the replicates differ in length and
    ``statistic`` is called once per replicate on 1-D arrays.

    ``seed``: an int, or a Generator whose stream continues (several intervals from one stream).
    Rows: ``rng.integers(0, n, (n_resamples, n))``; clusters: ``rng.integers(0, m, (B, m))``.
    """
    replicates = bootstrap_replicates(
        statistic, *samples, n_resamples=n_resamples, seed=seed, clusters=clusters
    )
    return percentile_interval(replicates, level)
