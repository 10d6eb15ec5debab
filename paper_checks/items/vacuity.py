"""Item 8: Theorem 2.1 (i) is vacuous at BERT scale; (iii) is not for linear students."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from locent.figures.tables import require_columns
from locent.paper_checks.items.common import (
    Judgement,
)
from locent.paper_checks.verdicts import MissingEvidence, Verdict, combine
from locent.theory import (
    generalisation_bound,
    is_vacuous,
    smallest_non_vacuous_n,
    vc_dim_network,
)

from locent import results as R

BERT_WEIGHTS = 1.1e8
BERT_LAYERS = 12
MSMARCO_TRAIN_QUERIES = 5e5


def judge_vacuity(
    form_iii_vacuous: Sequence[bool],
    weights: float = BERT_WEIGHTS,
    layers: int = BERT_LAYERS,
    n: float = MSMARCO_TRAIN_QUERIES,
    delta: float = 0.05,
    source: str = "simulation",
) -> Judgement:
    """(i) at BERT scale with d = W·layers·ln W (Bartlett et al. 2019) for a [0, 1] misordering
    risk: must be vacuous. (iii) for linear students: non-vacuous in most runs."""
    vc_dim = vc_dim_network(weights, layers)
    bound_i = float(generalisation_bound(1.0, vc_dim, n, delta))
    vacuous_i = bool(is_vacuous(bound_i, 1.0))
    n_needed = smallest_non_vacuous_n("i", loss_range=1.0, delta=delta, vc_dim=vc_dim)
    flags = np.asarray(form_iii_vacuous, dtype=bool)
    if flags.size == 0:
        raise MissingEvidence("no Theorem 2.1 (iii) bound values to judge")
    share = float(1.0 - flags.mean())
    numbers = {
        "vc_dim_bert": vc_dim,
        "n": n,
        "delta": delta,
        "bound_i_bert": bound_i,
        "bound_i_vacuous": vacuous_i,
        "form_iii_runs": int(flags.size),
        "form_iii_non_vacuous_share": share,
    }
    part_i = Verdict.PASS if vacuous_i else Verdict.FAIL
    part_iii = Verdict.PASS if share > 0.5 else Verdict.FAIL
    text = (
        f"(i) at d ≈ {vc_dim:.2g}, n = {n:.0f}: gap bound {bound_i:.3g} "
        f"({'vacuous' if vacuous_i else 'NOT vacuous'}; non-vacuous from n = {n_needed:.3g}); "
        f"(iii) non-vacuous in "
        f"{100 * share:.1f}% of {flags.size} {source} runs"
    )
    return combine([part_i, part_iii]), text, numbers


def form_iii_flags_simulation(table: pd.DataFrame) -> np.ndarray:
    """Per-run vacuity of the (iii) bound in the simulation table: ``bound_iii`` ≥
    ``loss_range_Q`` (runs where either is not finite, e.g. (iii) does not apply, are left out)."""
    require_columns(table, (R.BOUND_III, R.LOSS_RANGE_Q), "simulation table")
    bound, rng = table[R.BOUND_III].astype(float), table[R.LOSS_RANGE_Q].astype(float)
    rows = table[np.isfinite(bound) & np.isfinite(rng)]
    return np.asarray(
        is_vacuous(rows[R.BOUND_III].to_numpy(float), rows[R.LOSS_RANGE_Q].to_numpy(float)), bool
    )


def form_iii_flags_grid(results: pd.DataFrame) -> np.ndarray:
    """Per-run vacuity of the (iii) bound in the real-data grid's results.csv
    (``bound_iii_vacuous``, written by the grid; rows without it are left out)."""
    require_columns(results, (R.BOUND_III_VACUOUS,), "grid results.csv")
    return results[R.BOUND_III_VACUOUS].dropna().astype(bool).to_numpy()
