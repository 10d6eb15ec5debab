"""Reading result tables for figures and checks: required columns, conditions, dataset labels.

Results come from other parts through the files and column names of :mod:`locent.results`; a
table is read by exactly those names (no alternative spellings), and an absent column gives one
clear error naming the file, the missing columns and the columns that are there. A trained
condition is read from its columns (student, arch, loss, sampler, subset, seed), never parsed
from a string.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from locent.theory import LOSSES

from locent import results as R

#: The Bregman distillation losses (THEORY.md Def 2.2), from the loss registry; the others in
#: ``LOSSES`` (LCE, hard RankNet) are the contrastive baselines.
DISTILLATION_LOSSES = tuple(name for name, spec in LOSSES.items() if spec.distillation)
#: The columns that name a trained condition without its seed.
CONDITION_FIELDS = tuple(c for c in R.CONDITION_COLUMNS if c != R.SEED)


def require_columns(df: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    """``ValueError`` naming ``where`` when one of ``columns`` is absent from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{where}: missing column(s) {missing} (columns: {sorted(map(str, df.columns))})"
        )


def trained_rows(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """The rows of trained conditions (not the baselines' ``system`` rows) of a grid table.

    Requires the condition columns; a row whose ``system`` is set is a baseline and is left out.
    """
    require_columns(df, R.CONDITION_COLUMNS, where)
    if R.SYSTEM in df.columns:
        df = df[df[R.SYSTEM].isna()]
    return df


def baseline_rows(df: pd.DataFrame, system: str | None = None) -> pd.DataFrame:
    """The rows of untrained systems (``system`` set), or of one ``system``; empty when the
    table has no ``system`` column."""
    if R.SYSTEM not in df.columns:
        return df.iloc[0:0]
    rows = df[df[R.SYSTEM].notna()]
    return rows if system is None else rows[rows[R.SYSTEM].astype(str) == system]


def conditions(df: pd.DataFrame) -> pd.DataFrame:
    """The distinct trained conditions of ``df`` (columns :data:`CONDITION_FIELDS`), sorted."""
    return (
        df[list(CONDITION_FIELDS)]
        .drop_duplicates()
        .sort_values(list(CONDITION_FIELDS))
        .reset_index(drop=True)
    )


def dataset_label(dataset: str) -> str:
    """Short label of an ir_datasets ID (``msmarco-passage/trec-dl-2019/judged`` → ``DL19``)."""
    text = str(dataset)
    for year in ("2019", "2020"):
        if f"trec-dl-{year}" in text or text in (f"dl{year[2:]}", f"DL{year[2:]}"):
            return f"DL{year[2:]}"
    if text.startswith("msmarco-passage/"):
        return text.removeprefix("msmarco-passage/")
    return text


def is_dataset(dataset: str, label: str) -> bool:
    return dataset_label(dataset) == label


def training_rows(df: pd.DataFrame, prefix: str = "msmarco-passage") -> pd.DataFrame:
    """Rows of a measurement table on the MS MARCO **training** queries.

    ``dataset`` values starting with ``prefix`` that are not the DL19/DL20 test sets (e.g.
    ``msmarco-passage/dev/small`` or ``msmarco-passage/train/judged``); when only test-set rows
    exist, those are returned.
    """
    require_columns(df, (R.DATASET,), "measurement table")
    datasets = df[R.DATASET].astype(str)
    ours = datasets.str.startswith(prefix)
    train = ours & ~datasets.str.contains("trec-dl-")
    return df[train] if train.any() else df[ours]
