"""One decision rule for every sub-check: PASS, FAIL or INCONCLUSIVE from a test and its power.

A sub-check tests a prediction with a one-sided test (``p_support``: H1 is the prediction) and
knows the test against it (``p_against``: H1 is the opposite, or "worse than the margin"). Its
power is the smallest effect the test detects with 80% power at α (``detectable``, found by
simulation in :mod:`.power`), and the check declares the effect the prediction implies
(``needed``: the minimal effect of interest, or the margin of a non-inferiority test).

- PASS — ``p_support`` < α;
- FAIL — ``p_against`` < α (a significant effect in the opposite direction), or the test was
  powered for the predicted effect (``detectable`` ≤ ``needed``) and still did not support it;
- INCONCLUSIVE — otherwise: not significant either way and too few units to tell, with the power
  in the explanation.

Every explanation states the effect, its CI, p, and the power (:meth:`TestOutcome.text`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from locent.paper_checks.verdicts import Verdict, part


def _fmt(x: float) -> str:
    return "nan" if x is None else f"{float(x):.3g}"


@dataclass(frozen=True)
class TestOutcome:
    """What one sub-check's test found (all numbers in the units of ``effect``)."""

    __test__ = False  # not a pytest class despite its name

    label: str
    effect: float
    ci: tuple[float, float]
    p_support: float
    p_against: float
    detectable: float
    needed: float
    alpha: float
    units: int
    #: how the units are counted ("queries", "(sampler, seed) units", "runs")
    unit_name: str = "units"

    @property
    def verdict(self) -> Verdict:
        if _finite(self.p_support) and self.p_support < self.alpha:
            return Verdict.PASS
        if _finite(self.p_against) and self.p_against < self.alpha:
            return Verdict.FAIL
        if _finite(self.detectable) and self.detectable <= self.needed:
            return Verdict.FAIL
        return Verdict.INCONCLUSIVE

    @property
    def powered(self) -> bool:
        return _finite(self.detectable) and self.detectable <= self.needed

    def reason(self) -> str:
        v = self.verdict
        if v is Verdict.PASS:
            return "supported"
        if _finite(self.p_against) and self.p_against < self.alpha:
            return "significant effect against the prediction"
        if v is Verdict.FAIL:
            return "not supported although powered for the predicted effect"
        return "not significant and underpowered for the predicted effect"

    def text(self) -> str:
        """One line: label, effect (95% CI), p (and against), units, the 80%-power effect →
        verdict."""
        return f"{self.label}: {self.note()}"

    def part(self, label: str | None = None) -> dict:
        """This outcome as a sub-criterion of :attr:`CheckResult.parts`."""
        return part(label or self.label, self.verdict, self.note())

    def note(self) -> str:
        """:meth:`text` without the label."""
        lo, hi = self.ci
        ci = f"95% CI {_fmt(lo)}…{_fmt(hi)}" if _finite(lo) or _finite(hi) else "no CI"
        return (
            f"effect {_fmt(self.effect)} ({ci}), "
            f"p = {_fmt(self.p_support)} (against {_fmt(self.p_against)}), "
            f"n = {self.units} {self.unit_name}, 80% power at α = {self.alpha:g} for "
            f"≥ {_fmt(self.detectable)} (predicted {_fmt(self.needed)}) → {self.verdict} "
            f"({self.reason()})"
        )

    def numbers(self, key: str) -> dict:
        return {
            f"effect[{key}]": float(self.effect),
            f"ci_low[{key}]": float(self.ci[0]),
            f"ci_high[{key}]": float(self.ci[1]),
            f"p[{key}]": float(self.p_support),
            f"p_against[{key}]": float(self.p_against),
            f"detectable_effect_80[{key}]": float(self.detectable),
            f"effect_of_interest[{key}]": float(self.needed),
            f"units[{key}]": int(self.units),
        }


def _finite(x) -> bool:
    return x is not None and math.isfinite(float(x))


def bootstrap_p(replicates, threshold: float, side: str) -> float:
    """One-sided bootstrap p of H1 "the statistic is above (``side="above"``) / below
    ``threshold``": (1 + #replicates on the null side) / (1 + B), never 0."""
    r = np.asarray(replicates, dtype=float)
    hits = np.sum(r <= threshold) if side == "above" else np.sum(r >= threshold)
    return float((1 + hits) / (1 + r.size))


def summarise(outcomes: list[TestOutcome], show: int = 2) -> str:
    """The outcomes as text: all of them when few; otherwise the verdict counts and the
    decisive one in full (the first FAIL, else the first INCONCLUSIVE, else the weakest PASS:
    largest p). Every outcome's numbers stay in the check's ``numbers``."""
    if len(outcomes) <= show:
        return "; ".join(o.text() for o in outcomes)
    counts = {v: sum(o.verdict is v for o in outcomes) for v in Verdict}
    decisive = next((o for o in outcomes if o.verdict is Verdict.FAIL), None) or next(
        (o for o in outcomes if o.verdict is Verdict.INCONCLUSIVE), None
    )
    which = "decisive"
    if decisive is None:
        decisive, which = max(outcomes, key=lambda o: o.p_support), "weakest"
    tally = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return f"{len(outcomes)} comparisons ({tally}); {which}: {decisive.text()}"
