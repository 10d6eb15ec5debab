"""Every statistical test locent uses, once. Import it as ``from locent import stats as st``.

=======================  =====================================================================
paired tests             :func:`paired_t` (two- or one-sided), :func:`noninferiority`,
                         :func:`tost`, :func:`randomisation_test` (sign-flip) — ``paired``
multiplicity, intervals  :func:`holm`, :func:`clopper_pearson`, :func:`binomial_test`,
                         :func:`bootstrap_ci` (rows or whole ``clusters``) — ``intervals``
correlation              :func:`spearman` (permutation p, one point per ``units``),
                         :func:`stratified_spearman` (the simulation summary's) — ``correlation``
power                    :func:`detectable_effect` (smallest effect with 80% power) — ``power``
shorthands               the p-value-only names the checks call (below)
=======================  =====================================================================

Tests return frozen dataclasses with readable reprs: :class:`TestResult` (method, alternative,
statistic, p, effect, ci, n, level), :class:`EquivalenceResult` for TOST, :class:`Interval`
(a ``(low, high)`` NamedTuple) for intervals, :class:`DetectableEffect` for power. Each is tested
against scipy.stats / statsmodels in ``tests/test_stats.py``.

**Degenerate cases, one policy** (every function follows it; callers decide beforehand what too
little evidence means for them, e.g. a check makes it INCONCLUSIVE):

- *too little data* — empty input, fewer than 2 pairs, fewer than 3 points (units) for ρ,
  n = 0 trials, a single cluster — and *bad data* — NaN/inf, mismatched shapes, a margin ≤ 0:
  ``ValueError`` naming the argument (and the position of the first NaN/inf). Never a silent NaN.
- *all paired differences equal* (zero variance, d ≡ c against H₀ mean = s): t = (c − s)/0 is
  undefined, so p is its limit as the spread → 0: c ≠ s gives t = ±∞ and p = 0 for the
  alternative on c's side, 1 against it; c = s (identical systems) gives t = 0/0 and p = 1 for
  every alternative, the only value that claims no evidence (the sign-flip null is a point mass,
  p = 1 too). Spreads ≤ 1e-12 × max|d| count as zero (rounding).
- *a constant variable in a correlation*: ρ undefined, ``ValueError`` naming it.
"""

from __future__ import annotations

from .base import (
    ALTERNATIVES,
    NO_INTERVAL,
    EquivalenceResult,
    Interval,
    TestResult,
)
from .correlation import rank_correlation, spearman, stratified_spearman
from .intervals import (
    binomial_test,
    bootstrap_ci,
    bootstrap_replicates,
    clopper_pearson,
    holm,
    percentile_interval,
)
from .paired import mean_ci, noninferiority, paired_t, randomisation_test, tost
from .power import DetectableEffect, detectable_effect

__all__ = [
    "ALTERNATIVES",
    "NO_INTERVAL",
    "DetectableEffect",
    "EquivalenceResult",
    "Interval",
    "TestResult",
    "binomial_exceeds_p",
    "binomial_test",
    "bootstrap_ci",
    "bootstrap_replicates",
    "clopper_pearson",
    "detectable_effect",
    "holm",
    "mean_ci",
    "noninferiority",
    "paired_gain_p",
    "paired_loss_p",
    "paired_noninferiority_p",
    "paired_t",
    "percentile_interval",
    "randomisation_test",
    "rank_correlation",
    "spearman",
    "spearman_exact",
    "stratified_spearman",
    "tost",
    "tost_p",
]

# ------------------------------------------------------------------------------------------------
# shorthands: the p-values the checks read, under the names they have always called


def paired_gain_p(a, b) -> float:
    """p of the paired t-test of H₁ mean(a − b) > 0."""
    return paired_t(a, b, alternative="greater").p


def paired_loss_p(a, b) -> float:
    """p of the paired t-test of H₁ mean(a − b) < 0."""
    return paired_t(a, b, alternative="less").p


def paired_noninferiority_p(a, b, margin: float) -> float:
    """p of H₁ mean(a − b) > −margin (:func:`noninferiority`)."""
    return noninferiority(a, b, margin).p


def tost_p(a, b, margin: float) -> tuple[float, float]:
    """``(p_equivalence, p_upper)`` of :func:`tost`: the TOST p and that of its upper test,
    H₁ mean(a − b) < margin (non-superiority: no gain as large as the margin)."""
    res = tost(a, b, margin)
    return res.p, res.p_upper


def spearman_exact(x, y, alternative: str) -> tuple[float, float]:
    """``(ρ, p)`` of :func:`spearman` with every ordering enumerated up to n = 8 (8! = 40 320),
    a 40 320-permutation Monte-Carlo p beyond."""
    res = spearman(x, y, alternative=alternative, n_resamples=40_320)
    return res.effect, res.p


def binomial_exceeds_p(violations: int, n: int, delta: float) -> float:
    """p of the exact binomial test of H₁ violation rate > δ (n ≥ 1 runs)."""
    return binomial_test(violations, n, delta, alternative="greater").p
