"""Items 1–4 of THEORY.md §7: the exact statements and the simulation's predictions (item 3
also across the MS MARCO samplers)."""

from __future__ import annotations

import math

import pandas as pd
from locent.figures.tables import training_rows
from locent.paper_checks.items.common import (
    ALPHA,
    Judgement,
    spearman_part,
)
from locent.paper_checks.verdicts import MissingEvidence, Verdict, combine

from locent import results as R
from locent import stats as st


def judge_exact_statements(theory_results: list | None, summary: dict | None) -> Judgement:
    parts, notes, numbers = [], [], {}
    if theory_results is None:
        parts.append(Verdict.INCONCLUSIVE)
        notes.append("theory/results.json missing")
    else:
        failed = [r.get("statement", "?") for r in theory_results if r.get("result") != "PASS"]
        numbers["theory_checks"] = len(theory_results)
        numbers["theory_failed"] = len(failed)
        if not theory_results:
            parts.append(Verdict.INCONCLUSIVE)
            notes.append("theory/results.json is empty")
        else:
            parts.append(Verdict.FAIL if failed else Verdict.PASS)
            notes.append(
                f"theory: {len(theory_results) - len(failed)}/{len(theory_results)} PASS"
                + (f" (failed: {', '.join(map(str, failed[:3]))})" if failed else "")
            )
    if summary is None:
        parts.append(Verdict.INCONCLUSIVE)
        notes.append("simulation summary missing")
    else:
        exact = int(summary["exact_violations"])
        # (iii) is evaluated on the runs it applies to (linear students, Bregman losses)
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
        notes.append(f"{exact} exact violations in {int(summary['n_runs'])} runs")
        if rate <= delta:
            parts.append(Verdict.PASS)
        elif p < ALPHA:
            parts.append(Verdict.FAIL)
        else:
            parts.append(Verdict.INCONCLUSIVE)
        notes.append(
            f"Thm (iii) violated in {rate:.3f} of runs (95% CI {lo:.3f}–{hi:.3f}, δ = {delta:g})"
        )
    return combine(parts), "; ".join(notes), numbers


def judge_gap_and_floor(summary: dict) -> Judgement:
    v1, n1, d1 = spearman_part(
        summary, "spearman_gap_vs_diameter", "greater", "estimation gap vs Δ̂_Q at fixed teacher"
    )
    v2, n2, d2 = spearman_part(
        summary,
        "spearman_floor_vs_entropy",
        "greater",
        "misordering floor vs H(g) at fixed sampler",
    )
    return combine([v1, v2]), f"{n1}; {n2}", {**d1, **d2}


def judge_coupling(summary: dict | None, samplers: pd.DataFrame | None) -> Judgement:
    parts, notes, numbers = [], [], {}
    if summary is None:
        parts.append(Verdict.INCONCLUSIVE)
        notes.append("simulation summary missing")
    else:
        v, n, d = spearman_part(
            summary, "spearman_entropy_vs_diameter", "less", "simulation H(g) vs Δ̂_Q"
        )
        parts.append(v)
        notes.append(n)
        numbers.update(d)
    if samplers is None:
        parts.append(Verdict.INCONCLUSIVE)
        notes.append("realdata/measure/samplers.csv missing")
    else:
        rows = training_rows(samplers)
        rows = rows.dropna(subset=[R.DIAMETER_Q_99, R.PAIRWISE_ENTROPY])
        if len(rows) < 3:
            parts.append(Verdict.INCONCLUSIVE)
            notes.append(f"MS MARCO: only {len(rows)} samplers measured (need ≥ 3)")
        else:
            rho, p = st.spearman_exact(rows[R.DIAMETER_Q_99], rows[R.PAIRWISE_ENTROPY], "less")
            parts.append(Verdict.PASS if rho < 0 and p < ALPHA else Verdict.FAIL)
            notes.append(
                f"MS MARCO across {len(rows)} samplers: ρ(Δ̂_Q, H) = {rho:.3f}, exact "
                f"one-sided p = {p:.3g}"
            )
            numbers.update(msmarco_spearman=rho, msmarco_p_one_sided=p, msmarco_samplers=len(rows))
            for r in rows.itertuples():
                numbers[f"diameter_Q_99[{r.sampler}]"] = float(r.diameter_Q_99)
                numbers[f"pairwise_entropy[{r.sampler}]"] = float(r.pairwise_entropy)
    return combine(parts), "; ".join(notes), numbers


def judge_intermediate_optimum(summary: dict) -> Judgement:
    if "intermediate_locality_optimum" not in summary:
        raise MissingEvidence("simulation summary has no 'intermediate_locality_optimum'")
    ok = bool(summary["intermediate_locality_optimum"])
    detail = summary.get("intermediate_locality_detail") or {}
    cells = detail.get("cells") or []
    numbers = {"intermediate_locality_optimum": ok, "cells": len(cells)}
    for key in ("cells_interior", "cells_significant"):
        if key in detail:
            numbers[key] = int(detail[key])
    if "knobs" in detail:
        numbers["knobs"] = ", ".join(map(str, detail["knobs"]))
    counts = ""
    if cells and "cells_significant" in detail:
        counts = (
            f" ({detail.get('cells_interior', '?')}/{len(cells)} cells have an interior "
            f"minimum, {detail['cells_significant']} significantly below both ends)"
        )
    text = (
        "test misordering is minimised at an intermediate locality"
        if ok
        else "test misordering is not significantly minimised at an intermediate locality"
    ) + counts
    return (Verdict.PASS if ok else Verdict.FAIL), text, numbers
