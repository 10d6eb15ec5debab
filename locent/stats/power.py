"""Power: the smallest effect a paired test detects, by simulation from the observed variance.

A check that finds no significant effect has shown nothing unless its test could have found the
effect THEORY.md predicts. :func:`detectable_effect` answers "how large must the true mean
difference be for this test, on this many units with this much noise, to reject H₀ at ``alpha``
in a fraction ``power`` of replications?":

    power(δ) = P(p(D) < α),  D_i = δ + s·Z_i,  Z_i ~ N(0, 1) i.i.d., i = 1..n,

with n and s the size and sample sd (ddof 1) of the observed differences; the answer is the
smallest δ ≥ 0 with power(δ) ≥ ``power``, found by doubling then bisection. The same ``n_sim``
noise draws Z serve every δ (common random numbers), so power(δ) is a monotone step function for
the t-test and the bisection is exact up to ``rtol``; the Monte-Carlo error of one power value is
about √(0.8·0.2/n_sim) (0.009 at 2000 simulations).

The effect is a distance from the null value, so one call serves every shift: for
non-inferiority with margin m it is how far above −m the true difference must be; for
``alternative="less"`` it is the size of a negative difference. Zero observed variance: every
shift is detected (t = ±∞, see :mod:`locent.stats.paired`), effect 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .base import RELATIVE_ZERO, check_alternative, finite_vector, make_rng
from .paired import sign_flip_hits, t_pvalue

TESTS = ("paired t", "sign-flip")


@dataclass(frozen=True, repr=False)
class DetectableEffect:
    """The smallest true effect ``effect`` that ``test`` detects with probability ``power`` at
    ``alpha`` on ``n`` units with noise sd ``sd`` (estimated over ``n_sim`` simulations;
    ``achieved`` is the simulated power at ``effect``)."""

    test: str
    alternative: str
    effect: float
    achieved: float
    power: float
    alpha: float
    n: int
    sd: float
    n_sim: int

    def __repr__(self) -> str:
        return (
            f"DetectableEffect({self.test}, {self.alternative}: effect {self.effect:.4g} with "
            f"power {self.achieved:.2f} ≥ {self.power:.2f} at α={self.alpha:g}, n={self.n}, "
            f"sd={self.sd:.4g}, {self.n_sim} simulations)"
        )


def detectable_effect(
    differences,
    *,
    test: str = "paired t",
    alternative: str = "greater",
    alpha: float = 0.05,
    power: float = 0.8,
    n_sim: int = 2000,
    n_resamples: int = 999,
    seed: int | np.random.Generator = 0,
    rtol: float = 1e-3,
) -> DetectableEffect:
    """Smallest effect ``test`` detects with probability ``power`` at ``alpha`` (module docstring).

    ``differences``: the observed paired differences a − b, ``(n,)``, n ≥ 2 (only n and their sd
    are used). ``test``: ``"paired t"`` or ``"sign-flip"`` (the latter with ``n_resamples`` sign
    vectors per simulated sample, all 2ⁿ when 2ⁿ ≤ ``n_resamples``).
    """
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}; got {test!r}")
    check_alternative(alternative)
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError(f"alpha and power must lie in (0, 1); got {alpha}, {power}")
    d = finite_vector(differences, "differences")
    if d.size < 2:
        raise ValueError(f"differences need at least 2 values; got {d.size}")
    n, sd = d.size, float(d.std(ddof=1))
    if sd <= RELATIVE_ZERO * float(np.abs(d).max()):
        return DetectableEffect(test, alternative, 0.0, 1.0, power, alpha, n, sd, n_sim)
    rng = make_rng(seed)
    noise = sd * rng.standard_normal((n_sim, n))
    direction = -1.0 if alternative == "less" else 1.0
    if test == "sign-flip":
        if 2**n <= n_resamples:
            signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        else:
            signs = rng.choice((-1.0, 1.0), size=(n_resamples, n))

    def power_at(delta: float) -> float:
        sample = direction * delta + noise  # (n_sim, n)
        if test == "paired t":
            p = t_pvalue(sample, 0.0, alternative)[1]
        elif 2**n <= n_resamples:
            p = sign_flip_hits(sample, signs, alternative) / signs.shape[0]
        else:
            p = (1.0 + sign_flip_hits(sample, signs, alternative)) / (1.0 + signs.shape[0])
        return float(np.mean(p < alpha))

    hi = sd / np.sqrt(n)  # one standard error: below the effect any useful test needs
    for _ in range(60):
        if power_at(hi) >= power:
            break
        hi *= 2.0
    else:
        raise ValueError(f"{test} never reaches power {power} at α={alpha} with n={n}")
    lo = 0.0
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if power_at(mid) >= power else (mid, hi)
    return DetectableEffect(test, alternative, hi, power_at(hi), power, alpha, n, sd, n_sim)
