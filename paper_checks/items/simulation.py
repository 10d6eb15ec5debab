"""Items 2–4 of THEORY.md §7 on the simulation (item 3 also across the MS MARCO samplers).

Every test here is over **independent units** — (sampler, seed) pairs of the simulation, whose τ
strata and losses reuse the same samples (``simulate/analysis.py`` reduces the rows to units
first, so ``spearman_*_n`` counts units) — or over the MS MARCO samplers. Each part is a
:class:`~locent.paper_checks.items.decision.TestOutcome`: effect, CI, one-sided p, power.

- item 2, gap: the standardised slope of the estimation gap on Δ̂_Q at fixed (n, τ, loss) with a
  cluster-bootstrap CI over units (``gap_vs_diameter_regression``), or the unit-level Spearman ρ
  when no regression is stored; floor: the within-unit Spearman ρ(H, misordering floor);
- item 3: the unit-level Spearman ρ(Δ̂_Q, H) (predicted < 0), and the exact permutation test
  across MS MARCO samplers;
- item 4: the split-half form (optimum chosen on half the seeds, tested on the others).

The power of a between-unit ρ is simulated for the number of units (:mod:`.power`); that of a
statistic with a bootstrap CI (a slope, a mean within-unit ρ) comes from the CI's standard error.
For a permutation p-value of a continuous statistic, the opposite one-sided p is 1 − p.
"""

from __future__ import annotations

import math

import pandas as pd
from locent.figures.tables import training_rows
from locent.paper_checks.items.decision import TestOutcome
from locent.paper_checks.items.power import detectable_correlation, detectable_rate
from locent.paper_checks.verdicts import CheckParams, MissingEvidence, Verdict, combine, part
from scipy import stats

from locent import results as R
from locent import stats as st

#: defaults: a standardised effect of 0.3 (a "medium" correlation) is what items 2–3 predict
SIMULATION_PARAMS = CheckParams(alpha=0.05, resamples=1000, seed=0, min_effect=0.3)


def detectable_from_ci(ci, alpha: float, power: float = 0.8) -> float:
    """Smallest effect a one-sided z-test detects with ``power``, SE from a 95% bootstrap CI."""
    lo, hi = (float(c) for c in ci)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return math.nan
    se = (hi - lo) / (2 * stats.norm.ppf(0.975))
    return float((stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)) * se)


def _ci(value) -> tuple[float, float]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(float(v) if v is not None else math.nan for v in value)
    return (math.nan, math.nan)


def spearman_outcome(
    summary: dict, key: str, direction: str, label: str, params: CheckParams, within=False
) -> TestOutcome:
    """The summary's unit-level Spearman ``key`` as a test outcome (effect signed so that the
    prediction is positive: ρ for ``greater``, −ρ for ``less``)."""
    rho, p = summary.get(key), summary.get(f"{key}_p")
    if rho is None or p is None or not (math.isfinite(rho) and math.isfinite(p)):
        raise MissingEvidence(f"simulation summary has no finite {key!r} with {key + '_p'!r}")
    n = int(summary.get(f"{key}_n", 0))
    sign = 1.0 if direction == "greater" else -1.0
    lo, hi = _ci(summary.get(f"{key}_ci"))
    ci = tuple(sorted((sign * lo, sign * hi)))
    if within:
        detectable = detectable_from_ci(ci, params.alpha, params.power)
    else:
        detectable = detectable_correlation(n, params.alpha, params.power, params.resamples)
    return TestOutcome(
        label=f"{label} ({'ρ' if sign > 0 else '−ρ'}, predicted > 0)",
        effect=sign * float(rho),
        ci=ci,
        p_support=float(p),
        p_against=1.0 - float(p),
        detectable=detectable,
        needed=float(params.min_effect),
        alpha=params.alpha,
        units=n,
        unit_name="(sampler, seed) units",
    )


def regression_outcome(reg: dict, label: str, params: CheckParams) -> TestOutcome:
    slope, p = reg.get("slope_std"), reg.get("p")
    if slope is None or p is None or not (math.isfinite(slope) and math.isfinite(p)):
        raise MissingEvidence("gap_vs_diameter_regression has no finite slope_std and p")
    ci = _ci(reg.get("ci"))
    return TestOutcome(
        label=label,
        effect=float(slope),
        ci=ci,
        p_support=float(p),
        p_against=1.0 - float(p),
        detectable=detectable_from_ci(ci, params.alpha, params.power),
        needed=float(params.min_effect),
        alpha=params.alpha,
        units=int(reg.get("n", 0)),
        unit_name=f"(sampler, seed) units in {int(reg.get('strata', 0))} (n, τ, loss) strata",
    )


def _judge(outcomes: dict[str, TestOutcome], source: str):
    """(verdict, explanation, numbers, power, parts) of the outcomes (keyed for numbers)."""
    numbers, power = {"source": source}, {}
    for key, o in outcomes.items():
        numbers.update(o.numbers(key))
        power[key] = o.detectable
    prefix = f"[{source}] " if source else ""
    text = prefix + "; ".join(o.text() for o in outcomes.values())
    parts = [o.part(prefix + o.label) for o in outcomes.values()]
    return combine([o.verdict for o in outcomes.values()]), text, numbers, power, parts


def judge_gap_and_floor(
    summary: dict, params: CheckParams = SIMULATION_PARAMS, source="sim", real=None
):
    """Item 2: the estimation gap grows with Δ̂_Q (regression at fixed n, τ, loss); the floor
    grows with H(g) (within-unit ρ). ``real``: the real-data outcomes of the dependence sweep
    (:func:`locent.paper_checks.items.dependence.fit_outcomes`), judged beside the simulation's
    when present."""
    reg = summary.get("gap_vs_diameter_regression")
    if isinstance(reg, dict) and "slope_std" in reg:
        gap = regression_outcome(reg, "estimation gap on Δ̂_Q (standardised slope)", params)
    else:
        gap = spearman_outcome(
            summary, "spearman_gap_vs_diameter", "greater", "estimation gap vs Δ̂_Q", params
        )
    floor = spearman_outcome(
        summary,
        "spearman_floor_vs_entropy",
        "greater",
        "misordering floor vs H(g) at fixed sampler (within-unit)",
        params,
        within=True,
    )
    verdict, text, numbers, power, parts = _judge(
        {"gap_vs_diameter": gap, "floor_vs_entropy": floor}, source
    )
    if real:  # the real-data parts carry their own label, not the simulation's source
        v_real, t_real, n_real, p_real, parts_real = _judge(real, "")
        verdict = combine([verdict, v_real])
        text += "; " + t_real
        numbers.update(n_real | {"source": source})
        power.update(p_real)
        parts += parts_real
    else:
        text += "; real data: no dependence sweep in this run (its fit.csv is absent)"
    # context, reported: the slope per n, and whether the gap stands above the risk noise
    for n, r in sorted((summary.get("gap_vs_diameter_regression_by_n") or {}).items(), key=_n):
        numbers[f"gap_slope_std[n={n}]"] = r.get("slope_std")
        numbers[f"gap_slope_p[n={n}]"] = r.get("p")
    for n, r in sorted((summary.get("estimation_gap_signal_to_noise") or {}).items(), key=_n):
        numbers[f"gap_over_risk_se_median[n={n}]"] = r.get("gap_over_se_median")
    return verdict, text, numbers, power, parts


def _n(item) -> int:
    return int(item[0])


def judge_coupling(
    summary: dict | None, samplers: pd.DataFrame | None, params: CheckParams = SIMULATION_PARAMS
):
    """Item 3: ρ(Δ̂_Q, H) < 0 over simulation units and across MS MARCO samplers."""
    outcomes, notes, parts = {}, [], []
    if summary is None:
        notes.append("simulation summary missing")
        parts.append(Verdict.INCONCLUSIVE)
    else:
        outcomes["sim_entropy_vs_diameter"] = spearman_outcome(
            summary, "spearman_entropy_vs_diameter", "less", "simulation H(g) vs Δ̂_Q", params
        )
    extra = {}
    if samplers is None:
        notes.append("realdata/measure/samplers.csv missing")
        parts.append(Verdict.INCONCLUSIVE)
    else:
        rows = training_rows(samplers).dropna(subset=[R.DIAMETER_Q_99, R.PAIRWISE_ENTROPY])
        if len(rows) < 3:
            notes.append(f"MS MARCO: only {len(rows)} samplers measured (need ≥ 3)")
            parts.append(Verdict.INCONCLUSIVE)
        else:
            rho, p = st.spearman_exact(rows[R.DIAMETER_Q_99], rows[R.PAIRWISE_ENTROPY], "less")
            _, p_against = st.spearman_exact(
                rows[R.DIAMETER_Q_99], rows[R.PAIRWISE_ENTROPY], "greater"
            )
            outcomes["msmarco_entropy_vs_diameter"] = TestOutcome(
                label="MS MARCO samplers H vs Δ̂_Q (−ρ, exact permutation)",
                effect=-rho,
                ci=(math.nan, math.nan),
                p_support=p,
                p_against=p_against,
                detectable=detectable_correlation(len(rows), params.alpha, params.power),
                needed=float(params.min_effect),
                alpha=params.alpha,
                units=len(rows),
                unit_name="samplers",
            )
            extra.update(msmarco_spearman=rho, msmarco_p_one_sided=p, msmarco_samplers=len(rows))
            for r in rows.itertuples():
                extra[f"diameter_Q_99[{r.sampler}]"] = float(r.diameter_Q_99)
                extra[f"pairwise_entropy[{r.sampler}]"] = float(r.pairwise_entropy)
    verdict, text, numbers, power, judged = _judge(outcomes, "")
    verdict = combine([verdict, *parts]) if outcomes else Verdict.INCONCLUSIVE
    judged += [part(n, Verdict.INCONCLUSIVE, "no evidence") for n in notes]
    if notes:
        text = "; ".join([*notes, text]) if outcomes else "; ".join(notes)
    return verdict, text, {**numbers, **extra}, power, judged


def judge_intermediate_optimum(
    summary: dict, params: CheckParams = SIMULATION_PARAMS, source: str = "sim"
):
    """Item 4, split-half: optimum chosen on half the seeds, tested on the others. PASS: more
    than half of the (τ, loss, n) cells are significantly interior on the held-out seeds; FAIL:
    significantly more than half of the cells have their optimum at an end of the locality range
    (exact binomial over cells vs ½); INCONCLUSIVE otherwise (the power says how many cells)."""
    detail = summary.get("intermediate_locality_split_detail")
    if not isinstance(detail, dict) or "intermediate_locality_split_optimum" not in summary:
        raise MissingEvidence(
            "simulation summary has no split-half 'intermediate_locality_split_optimum' "
            "(selection-free form of item 4)"
        )
    cells = detail.get("cells") or []
    if not cells:
        raise MissingEvidence(f"item 4 split-half: no cells ({detail.get('reason', '?')})")
    m = len(cells)
    significant = int(sum(bool(c.get("significant_intermediate")) for c in cells))
    at_end = int(sum(not c.get("interior") for c in cells))
    p_support = float(stats.binomtest(significant, m, 0.5, alternative="greater").pvalue)
    p_against = float(stats.binomtest(at_end, m, 0.5, alternative="greater").pvalue)
    outcome = TestOutcome(
        label=(
            f"share of cells − ½ with a significant interior optimum on held-out seeds "
            f"{detail.get('test_seeds')} (chosen on {detail.get('select_seeds')}); "
            f"{at_end}/{m} cells have their optimum at an end"
        ),
        effect=significant / m - 0.5,
        ci=tuple(c - 0.5 for c in st.clopper_pearson(significant, m)),
        p_support=p_support if bool(summary["intermediate_locality_split_optimum"]) else 1.0,
        p_against=p_against,
        detectable=detectable_rate(m, 0.5, params.alpha, params.power) - 0.5,
        needed=0.5,
        alpha=params.alpha,
        units=m,
        unit_name="(τ, loss, n) cells",
    )
    verdict, text, numbers, power, parts = _judge({"split_half_interior": outcome}, source)
    numbers.update(cells=m, cells_significant=significant, cells_at_end=at_end)
    if "knobs" in detail:
        numbers["knobs"] = ", ".join(map(str, detail["knobs"]))
    return verdict, text, numbers, power, parts
