"""What every check shares: loading evidence, the simulation's Spearman tests, and the grid's
per-query effectiveness as one column per trained condition.

A loader turns result files (:class:`locent.results.ResultPaths`) into plain data; a missing file
raises :class:`MissingEvidence`, which the check turns into INCONCLUSIVE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.figures.tables import (
    CONDITION_FIELDS,
    dataset_label,
    require_columns,
    trained_rows,
)
from locent.paper_checks.verdicts import MissingEvidence, Verdict

from locent import results as R
from locent.results import read_json, read_table

ALPHA = 0.05
Judgement = tuple[Verdict, str, dict]
#: the test collections of the effectiveness items (5 and 7)
TEST_SETS = ("DL19", "DL20")


# --------------------------------------------------------------------------------------------
# loaders


def need(path) -> None:
    if not path.is_file():
        raise MissingEvidence(f"missing {path}")


def load_json(path):
    need(path)
    return read_json(path)


def load_table(path):
    need(path)
    return read_table(path)


def maybe(loader, path):
    try:
        return loader(path)
    except MissingEvidence:
        return None


# --------------------------------------------------------------------------------------------
# real-data effectiveness (items 5 and 7)


def per_query_effectiveness(per_query: pd.DataFrame, measure: str = R.NDCG_10) -> pd.DataFrame:
    """Per-query ``measure`` averaged over seeds, one column per trained condition.

    Index: (dataset label, query_id), DL19/DL20 only; columns: condition numbers 0..m-1 whose
    fields (student, arch, loss, sampler, subset) are the rows of ``.attrs["fields"]`` (its
    ``condition`` column holds the number). Baseline rows (``system`` set) are left out.
    """
    pq = trained_rows(per_query, "grid per_query.parquet")
    require_columns(pq, (R.DATASET, R.QUERY_ID, R.MEASURE, R.VALUE), "grid per_query.parquet")
    pq = pq[pq[R.MEASURE].astype(str) == measure]
    pq = pq.assign(label=pq[R.DATASET].astype(str).map(dataset_label))
    pq = pq[pq["label"].isin(TEST_SETS)]
    if pq.empty:
        raise MissingEvidence(f"grid per_query.parquet has no {measure} rows on DL19/DL20")
    wide = pq.pivot_table(
        index=["label", R.QUERY_ID], columns=list(CONDITION_FIELDS), values=R.VALUE, aggfunc="mean"
    )
    fields = wide.columns.to_frame(index=False).astype(str)
    fields["condition"] = range(len(fields))
    wide.columns = list(fields["condition"])
    wide.attrs["fields"] = fields
    return wide


def pair(wide: pd.DataFrame, a, b) -> tuple[np.ndarray, np.ndarray]:
    """The per-query values of conditions ``a`` and ``b`` on the queries both have."""
    both = wide[[a, b]].dropna()
    return both[a].to_numpy(float), both[b].to_numpy(float)


def full_subset(fields: pd.DataFrame) -> pd.DataFrame:
    """The conditions trained on the full training set."""
    return fields[fields[R.SUBSET] == R.FULL_SUBSET]


def keys_label(keys) -> str:
    """``frozen/bi/soft_ranknet``: a readable label of a groupby key (for numbers and notes)."""
    return "/".join(map(str, np.atleast_1d(keys)))
