"""Spearman ρ: a permutation test over independent units, and the stratified form of the
simulation summary.

ρ is the Pearson correlation of average ranks (ties share their mean rank). A constant variable
has no ranks to correlate: ValueError naming it.

- :func:`spearman`: p by permuting y against x, exact over all n! orderings when
  n! ≤ ``n_resamples``, else (1 + #hits)/(1 + R) over R seeded permutations. With ``units`` the
  rows are first averaged to one point per unit, so rows that repeat a unit (the same sampler ×
  seed at several τ or losses) do not count as evidence: duplicating rows leaves ρ and p unchanged.
- :func:`stratified_spearman`: "at fixed stratum" by ranking x and y *within* each stratum
  (percentile ranks) and correlating the pooled ranks; p from ``scipy.stats.spearmanr`` (Student-t
  approximation, rows taken as independent); CI by resampling rows within strata.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats as sps

from .base import (
    NO_INTERVAL,
    TestResult,
    check_alternative,
    finite_vector,
    make_rng,
    unit_labels,
)
from .intervals import bootstrap_replicates, percentile_interval

_TIE = 1e-12  # orderings whose ρ equals the observed one up to rounding count as hits


def rank_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman ρ over the last axis of ``x, y: (..., n)``; NaN where a row is all ties."""
    rx = sps.rankdata(x, axis=-1)
    ry = sps.rankdata(y, axis=-1)
    rx -= rx.mean(-1, keepdims=True)
    ry -= ry.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(-1) / np.sqrt((rx**2).sum(-1) * (ry**2).sum(-1))


def _permutation_null(rx: np.ndarray, ry: np.ndarray, n_resamples: int, rng) -> np.ndarray:
    """ρ of ranks ``rx`` against orderings of ``ry``: every one of the n! when n! ≤
    ``n_resamples``, else ``n_resamples`` random ones."""
    rx, ry = rx - rx.mean(), ry - ry.mean()
    norm = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if math.factorial(rx.size) <= n_resamples:
        return ry[np.array(list(itertools.permutations(range(rx.size))))] @ rx / norm
    chunks = []
    for start in range(0, n_resamples, 2048):  # chunks bound memory at 2048 × n
        block = np.tile(ry, (min(2048, n_resamples - start), 1))
        chunks.append(rng.permuted(block, axis=1) @ rx / norm)
    return np.concatenate(chunks)


def unit_means(x: np.ndarray, y: np.ndarray, units) -> tuple[np.ndarray, np.ndarray]:
    """One point (mean x, mean y) per unit label, units in sorted label order."""
    codes = unit_labels(units, x.size, "units")
    size = np.bincount(codes)
    return np.bincount(codes, x) / size, np.bincount(codes, y) / size


def spearman(
    x,
    y,
    *,
    alternative: str = "two-sided",
    units=None,
    n_resamples: int = 10_000,
    seed: int | np.random.Generator = 0,
    n_boot: int = 0,
    level: float = 0.95,
) -> TestResult:
    """Spearman ρ of ``x, y: (n,)`` with a permutation p-value; n counts points after ``units``.

    ``units``: one label per row; rows are averaged to one point per unit before anything else.
    ``n_boot`` > 0 adds a percentile bootstrap CI over the points (units): resamples in which x
    or y is all ties have no ρ and are left out (their share is small unless n is tiny).
    ``seed`` drives the permutations, then the bootstrap.
    """
    check_alternative(alternative)
    x, y = finite_vector(x, "x"), finite_vector(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape; {x.shape} ≠ {y.shape}")
    if units is not None:
        x, y = unit_means(x, y, units)
    if x.size < 3:
        raise ValueError(f"Spearman ρ needs at least 3 points (units); got {x.size}")
    for name, v in (("x", x), ("y", y)):
        if np.ptp(v) == 0:
            raise ValueError(f"{name} is constant over its {v.size} points; ρ is undefined")
    rho = float(sps.spearmanr(x, y).statistic)
    rng = make_rng(seed)
    null = _permutation_null(sps.rankdata(x), sps.rankdata(y), n_resamples, rng)
    if alternative == "less":
        hits = null <= rho + _TIE
    elif alternative == "greater":
        hits = null >= rho - _TIE
    else:
        hits = np.abs(null) >= abs(rho) - _TIE
    exact = math.factorial(x.size) <= n_resamples
    p = float(hits.mean()) if exact else float((1.0 + hits.sum()) / (1.0 + null.size))
    ci = NO_INTERVAL
    if n_boot > 0:
        boots = bootstrap_replicates(rank_correlation, x, y, n_resamples=n_boot, seed=rng)
        ci = percentile_interval(boots, level, drop_undefined=True)
    return TestResult("Spearman", alternative, rho, p, rho, ci, int(x.size), level)


def stratified_spearman(
    x,
    y,
    strata,
    *,
    alternative: str,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> TestResult:
    """Spearman ρ of within-stratum percentile ranks (``x, y, strata: (n,)``), scipy's p.

    Percentile rank = average rank within the stratum / stratum size. CI: percentile bootstrap
    over ``n_boot`` resamples of rows within each stratum (strata in sorted label order, each row
    keeping its within-stratum ranks, which are re-ranked globally); resamples whose ranks are all
    tied have no ρ and are left out, and if every one is, the CI is (nan, nan).
    """
    check_alternative(alternative)
    x, y = finite_vector(x, "x"), finite_vector(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape; {x.shape} ≠ {y.shape}")
    if x.size < 3:
        raise ValueError(f"Spearman ρ needs at least 3 rows; got {x.size}")
    codes = unit_labels(strata, x.size, "strata")
    groups = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
    rx, ry = np.empty_like(x), np.empty_like(y)
    for g in groups:
        rx[g] = sps.rankdata(x[g]) / g.size
        ry[g] = sps.rankdata(y[g]) / g.size
    for name, v in (("x", rx), ("y", ry)):
        if np.ptp(v) == 0:
            raise ValueError(f"{name} has the same within-stratum rank everywhere; ρ is undefined")
    res = sps.spearmanr(rx, ry, alternative=alternative)
    rng = np.random.default_rng(seed)
    # every replicate at once: resample rows within each stratum, rank, correlate
    idx = np.concatenate([g[rng.integers(0, g.size, (n_boot, g.size))] for g in groups], axis=1)
    boots = rank_correlation(rx[idx], ry[idx])
    ci = NO_INTERVAL
    if np.isfinite(boots).any():
        ci = percentile_interval(boots, level, drop_undefined=True)
    rho = float(res.statistic)
    return TestResult(
        "stratified Spearman", alternative, rho, float(res.pvalue), rho, ci, int(x.size), level
    )
