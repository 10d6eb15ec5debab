"""``read_training_file``: any training file → :class:`TrainingFile`, the format found by content.

The container is recognised by :func:`~locent.realdata.formats.sniff.sniff` (bytes, never the
file name), then the layout by the fields/columns it holds, in this order:

| format | what it holds |
|---|---|
| ``trec_run`` | lines ``qid Q0 docid rank score tag`` |
| ``authors`` | JSONL ``{query_id, doc_id_a, doc_id_b}`` (+ ``scores=`` their score file) |
| ``tevatron`` | JSONL ``{query_id, query, positive_passages, negative_passages}`` |
| ``pyterrier`` | a table or DataFrame with ``qid``, ``docno``, ``score`` and/or ``rank`` |
| ``st_hard_negatives`` | a table with ``query``/``anchor``, ``positive``, ``negative[_1..n]`` |
| ``st_pairs`` | a table with ``query``/``anchor``, ``passage``/``document``/``text``, |
| | ``label``/``score`` |

Tables are Parquet, JSONL, CSV or TSV (gzipped or not). Nothing matching is a ``ValueError``
listing every format and what it needs, and what the file holds.
"""

from __future__ import annotations

import os
from pathlib import Path

from locent.realdata.formats import ranked
from locent.realdata.formats import sentence_transformers as st
from locent.realdata.formats.authors import AUTHORS_KEYS, authors_training_file, read_score_file
from locent.realdata.formats.sniff import load_table, sniff
from locent.realdata.formats.tevatron import is_tevatron, read_tevatron
from locent.realdata.formats.training_file import TrainingFile

#: format name → what it needs (the error message lists these)
TRAINING_FORMATS = {
    "trec_run": "lines 'qid Q0 docid rank score tag'",
    "authors": "JSONL with query_id, doc_id_a, doc_id_b (+ scores=score file)",
    "tevatron": "JSONL with query_id, query, positive_passages, negative_passages",
    "pyterrier": "table/DataFrame with qid, docno and score and/or rank",
    "st_hard_negatives": "table with query|anchor, positive, negative[_1..n]",
    "st_pairs": "table with query|anchor, passage|document|text, label|score",
}


def detect_layout(columns) -> str | None:
    """The training format of a table with these columns, or ``None``."""
    columns = list(columns)
    if all(c in columns for c in AUTHORS_KEYS):
        return "authors"
    if is_tevatron(columns):
        return "tevatron"
    if ranked.is_pyterrier(columns):
        return "pyterrier"
    if st.is_hard_negatives(columns):
        return "st_hard_negatives"
    if st.is_pairs(columns):
        return "st_pairs"
    return None


def _no_match(source: str, found: str) -> ValueError:
    listing = "; ".join(f"{name}: {need}" for name, need in TRAINING_FORMATS.items())
    return ValueError(f"{source}: no training-file format matches ({found}). Formats: {listing}")


def read_training_file(
    source,
    format: str = "auto",
    *,
    scores=None,
    mode: str = "score",
    k: int | None = None,
    drop_short: bool = False,
    values: str = "auto",
) -> TrainingFile:
    """Read a training file (path, or a DataFrame) as a :class:`TrainingFile`.

    ``scores``: the authors' score file for their JSONL (optional). ``mode``: ``score``/``rank``
    for ranked lists (runs, PyTerrier frames; see :mod:`~locent.realdata.formats.ranked`).
    ``k``/``drop_short``: group size rules of
    :func:`~locent.realdata.formats.training_file.fixed_k`. ``values``: ids or texts in
    sentence-transformers tables. The provenance gets the file's sha256. ``format`` other than
    ``"auto"`` skips the column-based recognition (for a table that fits two layouts); the
    reader then names any column the stated format needs and the table lacks.
    """
    if format not in ("auto", *TRAINING_FORMATS):
        raise ValueError(
            f"format must be 'auto' or one of {list(TRAINING_FORMATS)}; got {format!r}"
        )
    ranked.check_mode(mode)
    extra: dict = {}
    if isinstance(source, (str, os.PathLike)):
        from locent.provenance import file_sha256

        path = Path(source)
        name = str(path)
        try:
            sniffed = sniff(path)
        except ValueError as err:
            raise _no_match(name, str(err).removeprefix(f"{name}: ")) from None
        extra["sha256"] = file_sha256(path)
        if sniffed.container not in ("trec_run", "parquet", "jsonl", "tsv", "csv"):
            raise _no_match(name, f"content looks like {sniffed.container!r}")
        is_run = sniffed.container == "trec_run"
        table = None if is_run else load_table(sniffed)
        found = "trec_run" if is_run else detect_layout(sniffed.columns)
        holds = f"a {sniffed.container} with columns {list(sniffed.columns)}"
    else:
        table, name, is_run = source, "<DataFrame>", False
        found = detect_layout(table.columns)
        holds = f"a DataFrame with columns {list(table.columns)}"
    if format != "auto" and is_run != (format == "trec_run"):
        what = "a TREC run" if is_run else "a table, not a TREC run"
        raise ValueError(f"{name}: asked for format {format!r} but its content is {what}")
    # a stated format is used as it is (its reader names any column it lacks)
    layout = found if format == "auto" else format
    if layout is None:
        raise _no_match(name, holds)
    if scores is not None and layout != "authors":
        raise ValueError(f"{name}: scores= is for the authors' JSONL; this file is {layout!r}")
    if layout == "trec_run":
        out = ranked.ranked_training_file(
            ranked.read_run_table(path), name, "trec_run", mode, k, drop_short
        )
    elif layout == "pyterrier":
        out = ranked.ranked_training_file(
            ranked.pyterrier_table(table, name), name, "pyterrier", mode, k, drop_short
        )
    elif layout == "authors":
        _check_authors(table, name)
        score_table = None if scores is None else read_score_file(scores)
        out = authors_training_file(
            table, score_table, name, None if scores is None else str(scores), k, drop_short
        )
    elif layout == "tevatron":
        out = read_tevatron(table, name, k=k, drop_short=drop_short)
    elif layout == "st_hard_negatives":
        out = st.read_hard_negatives(table, name, values=values, k=k)
    else:
        out = st.read_pairs(table, name, values=values, k=k, drop_short=drop_short)
    out.provenance.update(extra)
    return out


def _check_authors(table, name: str) -> None:
    """Every record of the authors' JSONL has its three fields, ``doc_id_b`` a list."""
    for n, rec in enumerate(table[list(AUTHORS_KEYS)].itertuples(index=False), 1):
        for field, value in zip(AUTHORS_KEYS, rec, strict=True):
            if value is None or (isinstance(value, float) and value != value):
                raise ValueError(f"{name} record {n}: missing field {field!r}")
        if not isinstance(rec[2], list):
            raise ValueError(f"{name} record {n}: doc_id_b must be a list")
