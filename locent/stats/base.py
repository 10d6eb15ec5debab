"""What every test returns (:class:`TestResult`, :class:`EquivalenceResult`, :class:`Interval`)
and the input checks every test runs first (the error policy of :mod:`locent.stats`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

ALTERNATIVES = ("two-sided", "greater", "less")
# a spread or a distance below this × the data's scale is rounding, not data
RELATIVE_ZERO = 1e-12


class Interval(NamedTuple):
    """A confidence interval; unpacks as ``lo, hi`` and serialises to JSON as a list."""

    low: float
    high: float


NO_INTERVAL = Interval(math.nan, math.nan)


@dataclass(frozen=True, repr=False)
class TestResult:
    """One test.

    ``statistic``: the test statistic (t, mean(ε ⊙ d), ρ, an event count); ``p``: its p-value under
    ``alternative``; ``effect``: the estimate (mean difference, ρ, rate) with its two-sided
    ``level`` confidence interval ``ci`` (:data:`NO_INTERVAL` when the test computes none);
    ``n``: the number of independent units the test used (pairs, units, trials).
    """

    __test__ = False  # tell pytest this is not a test class

    method: str
    alternative: str
    statistic: float
    p: float
    effect: float
    ci: Interval
    n: int
    level: float = 0.95

    def __repr__(self) -> str:
        ci = ""
        if not (math.isnan(self.ci.low) and math.isnan(self.ci.high)):
            ci = f" {self.level:.0%} CI [{self.ci.low:+.4g}, {self.ci.high:+.4g}]"
        return (
            f"TestResult({self.method}, {self.alternative}: effect={self.effect:+.4g}{ci}, "
            f"statistic={self.statistic:.4g}, p={self.p:.4g}, n={self.n})"
        )


@dataclass(frozen=True, repr=False)
class EquivalenceResult:
    """TOST within ±``margin``: ``p`` = max(``p_lower``, ``p_upper``), ``p_lower`` testing H₀
    mean(d) ≤ −margin and ``p_upper`` H₀ mean(d) ≥ margin. ``ci`` is the ``level`` = 1 − 2α
    interval of the mean difference: equivalence at α ⇔ that interval lies inside ±margin."""

    p: float
    p_lower: float
    p_upper: float
    effect: float
    ci: Interval
    n: int
    margin: float
    level: float = 0.90

    def __repr__(self) -> str:
        return (
            f"EquivalenceResult(TOST ±{self.margin:g}: effect={self.effect:+.4g} "
            f"{self.level:.0%} CI [{self.ci.low:+.4g}, {self.ci.high:+.4g}], p={self.p:.4g} "
            f"(lower {self.p_lower:.4g}, upper {self.p_upper:.4g}), n={self.n})"
        )


def check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}; got {alternative!r}")


def finite_vector(values, name: str) -> np.ndarray:
    """``values`` as a float64 (n,) array; ValueError naming ``name`` and the first NaN/inf."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {v.shape}")
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] is {v[bad[0]]} (NaN/inf not allowed)")
    return v


def paired_differences(a, b, minimum: int = 2) -> np.ndarray:
    """d = a − b for paired samples ``a, b: (n,)`` with n ≥ ``minimum``."""
    a, b = finite_vector(a, "a"), finite_vector(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"paired samples a and b must have the same shape; {a.shape} ≠ {b.shape}")
    if a.size < minimum:
        raise ValueError(f"paired samples a and b need at least {minimum} pairs; got {a.size}")
    return a - b


def unit_labels(labels, n: int, name: str) -> np.ndarray:
    """Integer codes 0..m−1 of one label per row (``labels: (n,)``, any sortable values)."""
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"{name} must hold one label per row, shape ({n},); got {labels.shape}")
    return np.unique(labels, return_inverse=True)[1].reshape(n)


def make_rng(seed) -> np.random.Generator:
    """A Generator from an int seed, or the Generator itself (to continue its stream)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
