"""Item 8: Theorem 2.1 (i) is vacuous at BERT scale; (iii) is not for linear students.

Part (iii) reads the simulation's ``theorem_iii_vacuity_by_loss``: the bound with an a-priori
class radius W (fixed by the preset, enforced by projection), stated Lipschitz upper bounds (L_g,
Λ) and the sampler's population Δ_Q, at the n actually used. Per loss, at its largest n, the
share of runs whose bound is below the loss range B is tested against ½ (exact binomial over
runs): PASS when significantly above, FAIL when significantly below or when the test was powered
for a share of 1 and did not show it; the smallest non-vacuous n (a priori, R̂ = 0) is reported.
The real-data grid's ``bound_iii`` uses the fitted student's norm (W chosen after training), so
it is reported but never judged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.figures.tables import require_columns
from locent.paper_checks.items.decision import TestOutcome
from locent.paper_checks.items.power import detectable_rate
from locent.paper_checks.verdicts import CheckParams, MissingEvidence, Verdict, combine, part
from locent.theory import (
    generalisation_bound,
    is_vacuous,
    smallest_non_vacuous_n,
    vc_dim_network,
)
from scipy import stats

from locent import results as R
from locent import stats as st

BERT_WEIGHTS = 1.1e8
BERT_LAYERS = 12
MSMARCO_TRAIN_QUERIES = 5e5


def form_iii_flags_grid(results: pd.DataFrame) -> np.ndarray:
    """Per-run vacuity of the (iii) bound in the real-data grid's results.csv
    (``bound_iii_vacuous``, written by the grid; rows without it are left out)."""
    require_columns(results, (R.BOUND_III_VACUOUS,), "grid results.csv")
    return results[R.BOUND_III_VACUOUS].dropna().astype(bool).to_numpy()


VACUITY_PARAMS = CheckParams(alpha=0.05, resamples=0, seed=0, min_effect=0.5)


def judge_vacuity_by_loss(
    by_loss: dict, params: CheckParams = VACUITY_PARAMS, source: str = "sim"
) -> tuple[list[TestOutcome], dict]:
    """Part (iii) per loss at its largest n (module docstring) → outcomes and numbers."""
    if not by_loss:
        raise MissingEvidence("simulation summary has an empty 'theorem_iii_vacuity_by_loss'")
    outcomes, numbers = [], {}
    for loss, d in sorted(by_loss.items()):
        by_n = d.get("by_n") or {}
        if not by_n:
            continue
        n_used = max(by_n, key=int)
        cell = by_n[n_used]
        runs = int(cell["runs"])
        k = int(round(float(cell["non_vacuous_fraction"]) * runs))
        lo, hi = st.clopper_pearson(k, runs)
        outcomes.append(
            TestOutcome(
                label=f"(iii) non-vacuous share − ½ [{source} {loss}, n = {n_used}]",
                effect=k / runs - 0.5,
                ci=(lo - 0.5, hi - 0.5),
                p_support=float(stats.binomtest(k, runs, 0.5, alternative="greater").pvalue),
                p_against=float(stats.binomtest(k, runs, 0.5, alternative="less").pvalue),
                detectable=detectable_rate(runs, 0.5, params.alpha, params.power) - 0.5,
                needed=float(params.min_effect),
                alpha=params.alpha,
                units=runs,
                unit_name="runs",
            )
        )
        key = f"{source}/{loss}"
        numbers[f"n_used[{key}]"] = int(n_used)
        numbers[f"bound_over_range_median[{key}]"] = float(cell["bound_over_range_median"])
        numbers[f"smallest_non_vacuous_n_a_priori[{key}]"] = d.get(
            "smallest_non_vacuous_n_a_priori_max"
        )
    if not outcomes:
        raise MissingEvidence("theorem_iii_vacuity_by_loss has no per-n evidence")
    return outcomes, numbers


def judge_vacuity(
    by_loss: dict,
    grid_flags=None,
    params: CheckParams = VACUITY_PARAMS,
    source: str = "simulation",
    weights: float = BERT_WEIGHTS,
    layers: int = BERT_LAYERS,
    n: float = MSMARCO_TRAIN_QUERIES,
    delta: float = 0.05,
):
    """Item 8: (i) at BERT scale must be vacuous; (iii) with a-priori constants must not be
    (per loss, :func:`judge_vacuity_by_loss`). → (verdict, text, numbers, power)."""
    vc_dim = vc_dim_network(weights, layers)
    bound_i = float(generalisation_bound(1.0, vc_dim, n, delta))
    vacuous_i = bool(is_vacuous(bound_i, 1.0))
    n_needed = smallest_non_vacuous_n("i", loss_range=1.0, delta=delta, vc_dim=vc_dim)
    outcomes, numbers = judge_vacuity_by_loss(by_loss, params, source)
    numbers.update(vc_dim_bert=vc_dim, bound_i_bert=bound_i, bound_i_vacuous=vacuous_i)
    power = {o.label: o.detectable for o in outcomes}
    for i, o in enumerate(outcomes):
        numbers.update(o.numbers(f"iii_{i}"))
    text = (
        f"(i) at d ≈ {vc_dim:.2g}, n = {n:.0f}: gap bound {bound_i:.3g} "
        f"({'vacuous' if vacuous_i else 'NOT vacuous'}; non-vacuous from n = {n_needed:.3g}); "
        + "; ".join(o.text() for o in outcomes)
        + "; smallest non-vacuous n a priori: "
        + ", ".join(
            f"{k.split('[')[1][:-1]} {v:g}" if v is not None else f"{k} never"
            for k, v in numbers.items()
            if k.startswith("smallest_non_vacuous_n_a_priori")
        )
    )
    if grid_flags is not None and len(grid_flags):
        share = float(1.0 - np.mean(grid_flags))
        numbers["grid_post_hoc_non_vacuous_share"] = share
        text += (
            f"; real-data grid (W = fitted norm, post hoc: reported, not judged): non-vacuous "
            f"in {100 * share:.1f}% of {len(grid_flags)} runs"
        )
    verdict_i = Verdict.PASS if vacuous_i else Verdict.FAIL
    note_i = f"gap bound {bound_i:.3g} at d ≈ {vc_dim:.2g}, n = {n:.0f} (from n = {n_needed:.3g})"
    judged = [part("(i) vacuous at BERT scale", verdict_i, note_i)]
    judged += [o.part() for o in outcomes]
    return combine([verdict_i, *(o.verdict for o in outcomes)]), text, numbers, power, judged
