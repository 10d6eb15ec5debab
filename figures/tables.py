"""Reading result tables for figures and checks: column lookup and condition names.

Results come from other parts through the files of docs/CONTRACTS.md. Column names are looked up
through :func:`pick_column` so that an absent column gives one clear error naming the file, the
accepted names and the columns that are there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

#: The distillation losses and the contrastive baselines (THEORY.md Def 2.2).
LOSS_NAMES = ("margin_mse", "soft_ranknet", "listwise_kl", "lce", "hard_ranknet")
DISTILLATION_LOSSES = ("margin_mse", "soft_ranknet", "listwise_kl")
SAMPLER_NAMES = ("random", "bm25", "dense", "teacher", "ensemble")


def pick_column(df: pd.DataFrame, candidates: Sequence[str], where: str) -> str:
    """The first of ``candidates`` that is a column of ``df``; ``ValueError`` naming ``where``."""
    for name in candidates:
        if name in df.columns:
            return name
    raise ValueError(
        f"{where}: none of the columns {list(candidates)} is present "
        f"(columns: {sorted(map(str, df.columns))})"
    )


def require_columns(df: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing} (columns: {sorted(df.columns)})")


def _token_match(text: str, vocabulary: Iterable[str]) -> str | None:
    """The longest vocabulary word found in ``text`` between non-alphanumeric boundaries."""
    found = [
        word
        for word in vocabulary
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(str(word))}(?![A-Za-z0-9])", text)
    ]
    return max(found, key=len) if found else None


def condition_fields(
    conditions: Iterable[str], results: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per condition name with the ``loss``, ``sampler``, ``arch``, ``subset`` it encodes.

    When ``results`` (the grid's results.csv) has a ``condition`` column the fields are read from
    it; otherwise each name is matched against the values of those columns in ``results`` (or the
    known losses and samplers): a condition name such as ``frozen-cross-soft_ranknet-bm25-full``
    yields loss ``soft_ranknet`` and sampler ``bm25``. Unmatched fields are ``None``.
    """
    conditions = sorted({str(c) for c in conditions})
    fields = ("loss", "sampler", "arch", "student", "subset")
    if results is not None and "condition" in results.columns:
        have = [f for f in fields if f in results.columns]
        table = results[["condition", *have]].drop_duplicates("condition").astype(str)
        table = table.set_index("condition").reindex(conditions)
        table = table.reset_index().rename(columns={"index": "condition"})
        for f in fields:
            if f not in table.columns:
                table[f] = None
        return table[["condition", *fields]]
    vocab: dict[str, list[str]] = {"loss": list(LOSS_NAMES), "sampler": list(SAMPLER_NAMES)}
    if results is not None:
        for f in fields:
            if f in results.columns:
                vocab[f] = sorted(set(vocab.get(f, [])) | set(results[f].dropna().astype(str)))
    rows = []
    for c in conditions:
        row = {"condition": c}
        for f in fields:
            row[f] = _token_match(c, vocab.get(f, []))
        rows.append(row)
    return pd.DataFrame(rows, columns=["condition", *fields])


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
    require_columns(df, ("dataset",), "measurement table")
    datasets = df["dataset"].astype(str)
    ours = datasets.str.startswith(prefix)
    train = ours & ~datasets.str.contains("trec-dl-")
    return df[train] if train.any() else df[ours]
