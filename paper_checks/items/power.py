"""Power of the checks' tests: the smallest effect each detects with 80% power at its α.

Every number here is found **by simulation from the observed variance** (or exactly, for the
binomial), so a verdict can say whether "no significant effect" means "no effect" or "too few
units". The three tests the checks use:

- :func:`detectable_mean_shift` — one-sided paired t-test on ``d`` of shape ``(n,)``:
  ``locent.stats.detectable_effect`` (normal noise with the observed sd, common random numbers,
  bisection).
- :func:`detectable_correlation` — one-sided Spearman test over ``n`` independent units: the
  smallest |ρ| (bivariate normal, Pearson ρ) whose rank test rejects at α in ``power`` of B
  simulated samples (one seeded noise draw reused for every ρ on the grid, so power is monotone).
- :func:`detectable_rate` — exact one-sided binomial test of H1: rate > p0 with ``n`` trials: the
  smallest rate detected with the given power (exact, by bisection on the binomial tail).

The correlation and binomial forms are not in ``locent.stats``; the checks call all three only
through this module.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from locent import stats as st

#: the power every check states its detectable effect at
POWER = 0.8


def detectable_mean_shift(
    d, alpha: float = 0.05, power: float = POWER, resamples: int = 2000, seed: int = 0
) -> float:
    """Smallest mean shift δ ≥ 0 a one-sided paired t-test on ``d`` (n,) detects with ``power``
    (``locent.stats.detectable_effect``: normal noise with the observed sd, ``resamples``
    simulations). 0 when every difference is equal (every shift is detected); NaN when fewer
    than 2 finite values."""
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return math.nan
    return float(
        st.detectable_effect(d, alpha=alpha, power=power, n_sim=resamples, seed=seed).effect
    )


def _rank(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis (continuous data: no ties)."""
    return np.argsort(np.argsort(x, axis=-1), axis=-1).astype(float)


def detectable_correlation(
    n: int, alpha: float = 0.05, power: float = POWER, resamples: int = 1000, seed: int = 0
) -> float:
    """Smallest ρ > 0 a one-sided Spearman test over ``n`` units detects with ``power``.

    NaN for n < 3; ``inf`` when even ρ = 0.99 is not detected with that power (too few units).
    """
    n = int(n)
    if n < 3:
        return math.nan
    rng = np.random.default_rng(seed)
    z1 = rng.standard_normal((resamples, n))
    z2 = rng.standard_normal((resamples, n))
    # the rank test's critical value from its null distribution (same simulation, ρ = 0)
    null = _spearman_rows(z1, z2)
    crit = np.quantile(null, 1.0 - alpha)
    for rho in np.arange(0.01, 1.0, 0.01):
        y = rho * z1 + math.sqrt(1.0 - rho**2) * z2
        if np.mean(_spearman_rows(z1, y) > crit) >= power:
            return float(round(rho, 2))
    return math.inf


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    rx, ry = _rank(x), _rank(y)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    return (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))


def detectable_rate(n: int, p0: float, alpha: float = 0.05, power: float = POWER) -> float:
    """Smallest true rate p1 > p0 the exact binomial test (H1: rate > p0, ``n`` trials) detects
    with ``power``. NaN for n = 0; ``inf`` when no rate is (even a rate of 1 is not significant
    with ``n`` trials)."""
    n = int(n)
    if n <= 0:
        return math.nan
    # critical count: smallest k with P(X ≥ k | p0) ≤ α
    k = int(stats.binom.isf(alpha, n, p0)) + 1
    while k > 0 and stats.binom.sf(k - 2, n, p0) <= alpha:
        k -= 1
    if k > n:
        return math.inf
    lo, hi = p0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if stats.binom.sf(k - 1, n, mid) >= power:
            hi = mid
        else:
            lo = mid
    return float(hi)
