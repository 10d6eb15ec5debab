"""Statistical tests the checks use: :mod:`locent.realdata.stats` (Holm, paired TOST) and scipy.

All tests over real-data effectiveness are **paired over queries** (THEORY.md §8: unpaired tests on
per-query data are a pitfall): the unit is the query, a per-query value is the mean over seeds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from locent.realdata import stats as realdata_stats
from scipy import stats


def holm(pvalues) -> np.ndarray:
    """Holm-adjusted p-values over one family (``locent.realdata.stats.holm``)."""
    return realdata_stats.holm(np.asarray(pvalues, dtype=float))


def paired_gain_p(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided paired t-test p-value of H1: mean(a − b) > 0 (``scipy.stats.ttest_rel``).
    Identical samples give p = 1 (no evidence of a gain)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = a - b
    if np.allclose(diff, diff[0]):
        return 0.0 if diff[0] > 0 else 1.0
    return float(stats.ttest_rel(a, b, alternative="greater").pvalue)


def paired_loss_p(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided paired t-test p-value of H1: mean(a − b) < 0."""
    return paired_gain_p(b, a)


def paired_noninferiority_p(a: np.ndarray, b: np.ndarray, margin: float) -> float:
    """p-value of H1: mean(a − b) > −margin (a is not worse than b by more than ``margin``)."""
    return paired_gain_p(np.asarray(a, float) + margin, b)


def tost_p(a: np.ndarray, b: np.ndarray, margin: float) -> tuple[float, float]:
    """TOST equivalence of paired samples within ±margin (``locent.realdata.stats.tost_paired``).

    Returns ``(p_equivalence, p_upper)``: the TOST p-value (max of the two one-sided tests) and the
    p-value of the upper one-sided test H1: mean(a − b) < margin (non-superiority: no gain as large
    as ``margin``).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = a - b
    if np.allclose(diff, diff[0]):
        inside = abs(diff[0]) < margin
        return (0.0 if inside else 1.0), (0.0 if diff[0] < margin else 1.0)
    p, _lower, upper = realdata_stats.tost_paired(a, b, margin)
    return float(p), float(upper)


def spearman_exact(x, y, alternative: str) -> tuple[float, float]:
    """Spearman ρ and an exact permutation p-value (all n! pairings; n ≤ 8) or scipy's for n > 8."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3:
        raise ValueError(f"Spearman test needs at least 3 points, got {x.size}")
    rho = float(stats.spearmanr(x, y).statistic)
    if x.size > 8:
        return rho, float(stats.spearmanr(x, y, alternative=alternative).pvalue)
    null = np.array(
        [stats.spearmanr(x, np.asarray(p)).statistic for p in itertools.permutations(y)]
    )
    if alternative == "less":
        p = float(np.mean(null <= rho + 1e-12))
    elif alternative == "greater":
        p = float(np.mean(null >= rho - 1e-12))
    else:
        p = float(np.mean(np.abs(null) >= abs(rho) - 1e-12))
    return rho, p


def binomial_exceeds_p(violations: int, n: int, delta: float) -> float:
    """One-sided exact binomial p-value of H1: violation rate > δ."""
    if n <= 0:
        return math.nan
    return float(
        stats.binomtest(int(violations), int(n), float(delta), alternative="greater").pvalue
    )


def clopper_pearson(violations: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    ci = stats.binomtest(int(violations), int(n)).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)
