"""The "did not learn" filter of the effectiveness checks (items 5 and 7).

A grid cell (condition × seed) whose held-out teacher-agreement misordering fell by less than its
preset's ``learned_threshold`` of the untrained value is flagged ``learned`` False
(:mod:`locent.realdata.grid.cells`): a student that did not move cannot show a sampler or subset
effect, so its per-query rows are dropped **before** the tests pivot and average over seeds. The
number of dropped cells is carried in ``wide.attrs["not_learned_cells"]`` for the explanation.
If trained cells exist and none learned, the check has no evidence: "no student learned".
A ``per_query.parquet`` without the ``learned`` column (older grids) is used whole, and says so.
"""

from __future__ import annotations

import pandas as pd
from locent.figures.tables import trained_rows
from locent.paper_checks.items.common import per_query_effectiveness
from locent.paper_checks.verdicts import MissingEvidence

from locent import results as R

#: ``wide.attrs`` keys: cells dropped as "did not learn", and whether the flag was present
NOT_LEARNED_CELLS = "not_learned_cells"
LEARNED_FLAG_PRESENT = "learned_flag_present"


def drop_not_learned(per_query: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``per_query`` without the rows of trained cells flagged ``learned`` False; and how many
    cells (condition record × seed) were dropped. Baseline rows (``learned`` empty) are kept.

    Raises MissingEvidence("no student learned ...") when trained cells exist and none learned.
    """
    if R.LEARNED not in per_query.columns:
        return per_query, 0
    flag = per_query[R.LEARNED]
    dropped = flag.notna() & (flag.astype("boolean") == False)  # noqa: E712 (NA-aware)
    trained = trained_rows(per_query, "grid per_query.parquet")
    cells = trained[list(R.CONDITION_COLUMNS)].drop_duplicates()
    gone = per_query.loc[dropped, list(R.CONDITION_COLUMNS)].drop_duplicates()
    if len(cells) and len(gone) == len(cells):
        raise MissingEvidence(
            f"no student learned: all {len(cells)} trained cells (condition × seed) are flagged "
            "'did not learn' (held-out misordering fell less than the preset's learned_threshold)"
        )
    return per_query[~dropped.to_numpy(bool)], len(gone)


def learned_effectiveness(per_query: pd.DataFrame, measure: str = R.NDCG_10) -> pd.DataFrame:
    """:func:`per_query_effectiveness` over the cells that learned; ``attrs`` also carry
    ``not_learned_cells`` (dropped cells) and ``learned_flag_present``."""
    kept, n_dropped = drop_not_learned(per_query)
    wide = per_query_effectiveness(kept, measure)
    wide.attrs[NOT_LEARNED_CELLS] = n_dropped
    wide.attrs[LEARNED_FLAG_PRESENT] = R.LEARNED in per_query.columns
    return wide


def learned_note(wide: pd.DataFrame) -> str:
    """The explanation's sentence on the filter (empty when ``wide`` did not pass through it)."""
    if LEARNED_FLAG_PRESENT not in wide.attrs:
        return ""
    if not wide.attrs[LEARNED_FLAG_PRESENT]:
        return "no 'learned' flag in the grid (all cells used)"
    n = int(wide.attrs.get(NOT_LEARNED_CELLS, 0))
    return f"{n} cell(s) (condition × seed) did not learn and were left out"
