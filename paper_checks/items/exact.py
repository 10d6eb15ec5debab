"""Item 1 of THEORY.md §7: Lemmas A, B, C and Corollary 2.1 hold exactly on every sample;
Theorem 2.1 (iii) is violated in at most a δ fraction of seeds — with teeth.

Four parts:

- **theory**: every statement of ``theory/results.json`` PASSes;
- **exact**: 0 exact violations in the simulation;
- **violation rate**: FAIL when an exact binomial test shows a (iii) violation rate > δ; the
  power is the smallest rate the test detects with 80% power over the runs;
- **Rademacher level** (the teeth): the bound's complexity term 2ρWΛΔ_Q/√n must not fall below
  the Monte-Carlo empirical Rademacher complexity of the class on the run's own sample
  (``theorem_iii_rademacher_check_violations``; a false alarm has probability
  P(Z > ``MC_Z``) per run from Monte-Carlo error, so FAIL is an exact binomial test of the
  violation count against that rate). Its power is read from the mutation evidence
  (``theorem_iii_mutations``: ρ, W, Λ or Δ_Q halved): the part is judged only when every halved
  constant would itself FAIL this test; otherwise it is INCONCLUSIVE (the check could not tell a
  wrong constant). The tightness ratio (term / measured complexity, median over runs) is
  reported.

The Rademacher evidence comes from the ``regime`` simulation (small n, where the estimation gap
is a visible fraction of the bound) when that ran, else from the main simulation.
"""

from __future__ import annotations

import math

from locent.paper_checks.items.decision import TestOutcome
from locent.paper_checks.items.power import detectable_rate
from locent.paper_checks.verdicts import CheckParams, Verdict, combine, part
from scipy import stats

from locent import stats as st

#: Monte-Carlo margin (standard errors) of simulate.tabulate.MC_Z: per-run false-alarm rate
MC_Z = 3.0
MUTATED = ("rho", "W", "Lambda", "Delta")
EXACT_PARAMS = CheckParams(alpha=0.05, resamples=0, seed=0, min_effect=None)


def _false_alarm_rate() -> float:
    return float(stats.norm.sf(MC_Z))


def rademacher_fails(violations: int, runs: int, alpha: float) -> tuple[bool, float]:
    """(FAIL?, p) of the Rademacher-level test: binomial p of ``violations`` in ``runs`` against
    the Monte-Carlo false-alarm rate."""
    if runs <= 0:
        return False, math.nan
    p = st.binomial_exceeds_p(int(violations), int(runs), _false_alarm_rate())
    return bool(p < alpha), p


def judge_rademacher_level(summary: dict, params: CheckParams = EXACT_PARAMS, source="sim"):
    """The Rademacher-level part of item 1 → (verdict, note, numbers, power)."""
    runs = int(summary.get("theorem_iii_runs", summary.get("n_runs", 0)))
    if "theorem_iii_rademacher_check_violations" not in summary or runs <= 0:
        return Verdict.INCONCLUSIVE, f"Rademacher-level evidence missing [{source}]", {}, {}
    k = int(summary["theorem_iii_rademacher_check_violations"])
    fails, p = rademacher_fails(k, runs, params.alpha)
    tight = summary.get("theorem_iii_rademacher_tightness") or {}
    numbers = {
        f"rademacher_violations[{source}]": k,
        f"rademacher_runs[{source}]": runs,
        f"rademacher_p[{source}]": p,
        f"rademacher_tightness_median[{source}]": float(tight.get("median", math.nan)),
    }
    mutations = summary.get("theorem_iii_mutations") or {}
    caught, missed = [], []
    for symbol in MUTATED:
        m = mutations.get(symbol)
        if not m:
            missed.append(f"{symbol} (no evidence)")
            continue
        would_fail, _ = rademacher_fails(m["rademacher_violations"], m["runs"], params.alpha)
        numbers[f"mutation_{symbol}_x{m['factor']:g}_caught_rate[{source}]"] = float(
            m["rademacher_violation_rate"]
        )
        (caught if would_fail else missed).append(f"{symbol}×{m['factor']:g}")
    detectable = detectable_rate(runs, _false_alarm_rate(), params.alpha, params.power)
    power = {f"rademacher_level[{source}]": detectable}
    text = (
        f"Rademacher level [{source}]: term below the measured complexity in {k}/{runs} runs "
        f"(false-alarm rate {_false_alarm_rate():.2g}, binomial p = {p:.3g}); tightness median "
        f"{numbers[f'rademacher_tightness_median[{source}]']:.3g}; 80% power for a violation "
        f"rate ≥ {detectable:.3g}; halved constants caught: {', '.join(caught) or 'none'}"
        + (f"; NOT caught: {', '.join(missed)}" if missed else "")
    )
    if fails:
        return Verdict.FAIL, text, numbers, power
    if missed:
        return Verdict.INCONCLUSIVE, text + " (no power against those)", numbers, power
    return Verdict.PASS, text, numbers, power


def judge_exact_statements(
    theory_results: list | None,
    summary: dict | None,
    params: CheckParams = EXACT_PARAMS,
    regime: dict | None = None,
):
    """Item 1 (module docstring) → (verdict, explanation, numbers, power, parts)."""
    parts, notes, numbers, power, labels = [], [], {}, {}, []
    if theory_results is None:
        parts.append(Verdict.INCONCLUSIVE)
        labels.append("theory statements PASS")
        notes.append("theory/results.json missing")
    else:
        failed = [r.get("statement", "?") for r in theory_results if r.get("result") != "PASS"]
        numbers["theory_checks"] = len(theory_results)
        numbers["theory_failed"] = len(failed)
        if not theory_results:
            parts.append(Verdict.INCONCLUSIVE)
            labels.append("theory statements PASS")
            notes.append("theory/results.json is empty")
        else:
            parts.append(Verdict.FAIL if failed else Verdict.PASS)
            labels.append("theory statements PASS")
            notes.append(
                f"theory: {len(theory_results) - len(failed)}/{len(theory_results)} PASS"
                + (f" (failed: {', '.join(map(str, failed[:3]))})" if failed else "")
            )
    if summary is None:
        parts.append(Verdict.INCONCLUSIVE)
        labels.append("simulation: exact statements and (iii) rate")
        notes.append("simulation summary missing")
    else:
        exact = int(summary["exact_violations"])
        n = int(summary.get("theorem_iii_runs", summary["n_runs"]))
        rate = float(summary["theorem_iii_violation_rate"])
        delta = float(summary["delta"])
        k = int(summary.get("theorem_iii_violations", round(rate * n)))
        p = st.binomial_exceeds_p(k, n, delta) if n > 0 else math.nan
        lo, hi = st.clopper_pearson(k, n) if n > 0 else (math.nan, math.nan)
        numbers.update(
            exact_violations=exact,
            n_runs=int(summary["n_runs"]),
            theorem_iii_runs=n,
            theorem_iii_violations=k,
            theorem_iii_violation_rate=rate,
            delta=delta,
            theorem_iii_rate_ci_low=lo,
            theorem_iii_rate_ci_high=hi,
            theorem_iii_exceeds_delta_p=p,
        )
        parts.append(Verdict.PASS if exact == 0 else Verdict.FAIL)
        labels.append("0 exact violations in the simulation")
        notes.append(f"{exact} exact violations in {int(summary['n_runs'])} runs")
        rate_test = TestOutcome(
            label=f"Thm (iii) violation rate − δ (δ = {delta:g})",
            effect=delta - rate,
            ci=(delta - hi, delta - lo),
            # the prediction "rate ≤ δ" is taken as supported when the observed rate is ≤ δ;
            # it fails only on a significant excess (the binomial test)
            p_support=0.0 if rate <= delta else 1.0,
            p_against=p,
            detectable=detectable_rate(n, delta, params.alpha, params.power) - delta,
            needed=0.0,  # no excess is predicted: a non-significant excess stays open
            alpha=params.alpha,
            units=n,
            unit_name="runs",
        )
        parts.append(rate_test.verdict)
        labels.append("(iii) violation rate ≤ δ")
        numbers.update(rate_test.numbers("theorem_iii_rate"))
        power["theorem_iii_rate"] = rate_test.detectable
        notes.append(
            f"Thm (iii) violated in {rate:.3f} of runs (95% CI {lo:.3f}–{hi:.3f}, δ = {delta:g}, "
            f"binomial p = {p:.3g}; 80% power for a rate ≥ δ + {rate_test.detectable:.3g})"
        )
    teeth = regime if regime is not None else summary
    if teeth is None:
        parts.append(Verdict.INCONCLUSIVE)
        labels.append("Rademacher level")
        notes.append("no simulation for the Rademacher-level check")
    else:
        v, note, nums, pw = judge_rademacher_level(
            teeth, params, "regime" if regime is not None else "sim"
        )
        parts.append(v)
        labels.append("Rademacher level (complexity term ≥ measured complexity)")
        notes.append(note)
        numbers.update(nums)
        power.update(pw)
    judged = [part(lab, v, note) for lab, v, note in zip(labels, parts, notes)]
    return combine(parts), "; ".join(notes), numbers, power, judged
