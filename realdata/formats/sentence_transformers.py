"""sentence-transformers training tables → :class:`TrainingFile`.

Two layouts (from Parquet, JSONL, CSV or TSV; recognised by their columns):

- **hard negatives** (``st_hard_negatives``): one row per group, columns ``query`` (or
  ``anchor``), ``positive``, and ``negative`` or ``negative_1 .. negative_n``. Optional
  ``query_id``/``qid`` column. Item 0 is the positive; negatives keep their column order.
- **labelled pairs** (``st_pairs``): one row per (query, passage), columns ``query`` (or
  ``anchor``), ``passage`` (or ``document``, ``text``), and ``label`` or ``score``. Rows are
  grouped by query in file order. An integer-valued ``label`` is relevance: one group per
  positive (label > 0) holding the query's label-0 passages as negatives (a query with several
  positives gives several groups, counted in ``duplicate_queries``, never merged). A ``score``
  column, or a ``label`` with fractional values, is a teacher score: the group is all the
  query's rows, best score first (``positive_source="teacher_top"``).

**Ids or texts.** ``values="auto"`` takes a column as ids when every value is an integer or a
string of digits (the ``*-ids`` subsets of the sentence-transformers hard-negative sets), and as
texts otherwise; texts get :func:`~locent.realdata.formats.training_file.text_id` ids and are
kept in ``query_texts``/``doc_texts``. Force it with ``values="ids"`` or ``values="texts"``.
"""

from __future__ import annotations

import re

import numpy as np
from locent.realdata.formats.training_file import (
    TEXT_ID_SCHEME,
    TextTable,
    TrainingFile,
    fixed_k,
)

QUERY_COLUMNS = ("query", "anchor")
QUERY_ID_COLUMNS = ("query_id", "qid")
PASSAGE_COLUMNS = ("passage", "document", "text")
_NEG = re.compile(r"^negative(_\d+)?$")


def _first(columns, names) -> str | None:
    return next((c for c in names if c in columns), None)


def negative_columns(columns) -> list[str]:
    """``negative`` or ``negative_1..n`` in numeric order (``negative_10`` after ``negative_9``)."""
    cols = [c for c in columns if _NEG.match(str(c))]
    return sorted(cols, key=lambda c: int(c.split("_")[1]) if "_" in c else 0)


def is_hard_negatives(columns) -> bool:
    return (
        bool(_first(columns, QUERY_COLUMNS))
        and "positive" in columns
        and bool(negative_columns(columns))
    )


def is_pairs(columns) -> bool:
    return (
        bool(_first(columns, QUERY_COLUMNS))
        and bool(_first(columns, PASSAGE_COLUMNS))
        and bool(_first(columns, ("label", "score")))
    )


def _are_ids(values) -> bool:
    return all(
        isinstance(v, (int, np.integer)) or (isinstance(v, str) and v.isdigit()) for v in values
    )


def _kind(df, cols, values: str) -> str:
    if values not in ("auto", "ids", "texts"):
        raise ValueError(f"values must be 'auto', 'ids' or 'texts'; got {values!r}")
    if values != "auto":
        return values
    return "ids" if all(_are_ids(df[c].tolist()) for c in cols) else "texts"


def _cell(value, source: str, row: int, col: str):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        raise ValueError(f"{source}: row {row} has no value in column {col!r}")
    return value


def read_hard_negatives(df, source: str, values: str = "auto", k: int | None = None):
    cols = list(df.columns)
    qcol = _first(cols, QUERY_COLUMNS)
    negs = negative_columns(cols)
    if not (qcol and "positive" in cols and negs):
        raise ValueError(
            f"{source}: sentence-transformers hard negatives need columns query|anchor, positive, "
            f"negative[_1..n]; found {cols}"
        )
    qid_col = _first(cols, QUERY_ID_COLUMNS)
    qkind = "ids" if qid_col else _kind(df, [qcol], values)
    dkind = _kind(df, ["positive", *negs], values)
    queries, docs = TextTable("query", source), TextTable("doc", source)
    qids, items = [], []
    names = [c for c in (qid_col, qcol) if c] + ["positive", *negs]
    for row, values_of_row in enumerate(df[names].itertuples(index=False), 1):
        rec = dict(zip(names, values_of_row, strict=True))
        where = f" row {row}"
        qtext = _cell(rec[qcol], source, row, qcol)
        if qid_col:
            qids.append(
                queries.id_for(_cell(rec[qid_col], source, row, qid_col), str(qtext), where)
            )
        elif qkind == "ids":
            qids.append(str(qtext))
        else:
            qids.append(queries.id_for(None, str(qtext), where))
        group = []
        for c in ["positive", *negs]:
            v = _cell(rec[c], source, row, c)
            group.append(str(v) if dkind == "ids" else docs.id_for(None, str(v), where))
        items.append(group)
    labels = [[1.0] + [0.0] * (len(g) - 1) for g in items]
    qids_a, doc_ids, arrays, counts = fixed_k(source, qids, items, {"labels": labels}, k=k)
    return TrainingFile(
        format="st_hard_negatives",
        query_ids=qids_a,
        doc_ids=doc_ids,
        teacher_scores=None,
        labels=arrays["labels"],
        positive_source=np.full(len(qids_a), "file", dtype=object),
        query_texts=queries.texts,
        doc_texts=docs.texts,
        provenance={
            "format": "st_hard_negatives",
            "path": source,
            "query_id_scheme": "file" if qkind == "ids" else TEXT_ID_SCHEME,
            "doc_id_scheme": "file" if dkind == "ids" else TEXT_ID_SCHEME,
            "negative_columns": negs,
            **counts,
        },
    )


def _numbers(series, source: str, col: str) -> np.ndarray:
    import pandas as pd

    out = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise ValueError(
            f"{source}: column {col!r} row {bad[0] + 1} is not a finite number: "
            f"{series.iloc[bad[0]]!r}"
        )
    return out


def read_pairs(df, source: str, values: str = "auto", k: int | None = None, drop_short=False):
    cols = list(df.columns)
    qcol, pcol = _first(cols, QUERY_COLUMNS), _first(cols, PASSAGE_COLUMNS)
    lcol = _first(cols, ("score", "label"))
    if not (qcol and pcol and lcol):
        raise ValueError(
            f"{source}: sentence-transformers pairs need columns query|anchor, "
            f"passage|document|text, label|score; found {cols}"
        )
    qid_col = _first(cols, QUERY_ID_COLUMNS)
    qkind = "ids" if qid_col else _kind(df, [qcol], values)
    dkind = _kind(df, [pcol], values)
    y = _numbers(df[lcol], source, lcol)
    as_score = lcol == "score" or not np.array_equal(y, np.round(y))
    queries, docs = TextTable("query", source), TextTable("doc", source)
    by_query: dict[str, list[tuple[str, float]]] = {}
    for row in range(len(df)):
        where = f" row {row + 1}"
        qtext = str(_cell(df[qcol].iloc[row], source, row + 1, qcol))
        if qid_col:
            q = queries.id_for(_cell(df[qid_col].iloc[row], source, row + 1, qid_col), qtext, where)
        else:
            q = qtext if qkind == "ids" else queries.id_for(None, qtext, where)
        p = str(_cell(df[pcol].iloc[row], source, row + 1, pcol))
        d = p if dkind == "ids" else docs.id_for(None, p, where)
        by_query.setdefault(q, []).append((d, float(y[row])))
    qids, items, vals = [], [], []
    for q, rows in by_query.items():
        if as_score:
            # best first; a stable sort keeps the file order among equal scores
            rows = sorted(rows, key=lambda r: -r[1])
            qids.append(q)
            items.append([d for d, _ in rows])
            vals.append([s for _, s in rows])
            continue
        pos = [d for d, s in rows if s > 0]
        neg = [d for d, s in rows if s <= 0]
        if not pos:
            raise ValueError(f"{source}: query {q!r} has no row with label > 0 (no positive)")
        for d in pos:
            qids.append(q)
            items.append([d, *neg])
            vals.append([1.0] + [0.0] * len(neg))
    name = "teacher_scores" if as_score else "labels"
    qids_a, doc_ids, arrays, counts = fixed_k(
        source, qids, items, {name: vals}, k=k, drop_short=drop_short
    )
    return TrainingFile(
        format="st_pairs",
        query_ids=qids_a,
        doc_ids=doc_ids,
        teacher_scores=arrays.get("teacher_scores"),
        labels=arrays.get("labels"),
        positive_source=np.full(len(qids_a), "teacher_top" if as_score else "file", dtype=object),
        query_texts=queries.texts,
        doc_texts=docs.texts,
        provenance={
            "format": "st_pairs",
            "path": source,
            "value_column": lcol,
            "value_kind": "teacher_score" if as_score else "relevance",
            "query_id_scheme": "file" if qkind == "ids" else TEXT_ID_SCHEME,
            "doc_id_scheme": "file" if dkind == "ids" else TEXT_ID_SCHEME,
            **counts,
        },
    )
