"""Ranked lists — TREC runs and PyTerrier result frames — as one table, and as training groups.

Both become a **ranked table**: DataFrame ``(query_id, doc_id, rank, score)`` (+ ``query_text``,
``doc_text`` when a frame carries them), one row per (query, doc), sorted by query (first-seen
order), rank, then score (descending).

- TREC run (``qid Q0 docid rank score tag``): parsed by the project's one run parser,
  :func:`locent.realdata.evaluation.read_run` (malformed lines named by file:line).
- PyTerrier frame: columns ``qid``, ``docno`` and ``score`` and/or ``rank`` (PyTerrier's ranks
  start at 0; only their order matters here); optional ``query`` and ``text``/``body``. Without
  ``rank``, ranks are the score order with ties sharing the smaller rank.

**Score or rank** (``mode``): ``"score"`` keeps the file's scores; ``"rank"`` uses
g = −rank, a monotone score in which equal ranks stay tied. A listwise re-ranker's permutation
has a meaningless score column, so H(g) must come from ``mode="rank"``. In score mode the number
of queries whose scores are not non-increasing in rank is counted (``score_rank_disagreements``)
and warned about: it is the sign of such a file.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from locent.realdata.formats.training_file import TextTable, TrainingFile, fixed_k

MODES = ("score", "rank")
PYTERRIER_ID_COLUMNS = ("qid", "docno")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    return mode


def is_pyterrier(columns) -> bool:
    return all(c in columns for c in PYTERRIER_ID_COLUMNS) and (
        "score" in columns or "rank" in columns
    )


def read_run_table(path: str | os.PathLike):
    """A TREC run (plain or gzipped, any file name) as a ranked table."""
    from locent.realdata.evaluation import read_run

    path = Path(path)
    with open(path, "rb") as handle:
        gz = handle.read(2) == b"\x1f\x8b"
    if not gz:
        return _sorted(read_run(path))
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / path.name
        plain.write_bytes(gzip.decompress(path.read_bytes()))
        try:
            return _sorted(read_run(plain))
        except ValueError as err:
            raise ValueError(f"{path} (gunzipped): {err}") from None


def pyterrier_table(frame, source: str = "PyTerrier frame"):
    """A PyTerrier result frame as a ranked table (errors name the missing columns / rows)."""
    import pandas as pd

    cols = list(frame.columns)
    missing = [c for c in PYTERRIER_ID_COLUMNS if c not in cols]
    if missing or not ("score" in cols or "rank" in cols):
        raise ValueError(
            f"{source}: a PyTerrier frame needs columns qid, docno and score and/or rank; "
            f"missing {missing or ['score|rank']}; found {cols}"
        )
    df = pd.DataFrame({"query_id": frame["qid"].astype(str), "doc_id": frame["docno"].astype(str)})
    for col in ("score", "rank"):
        if col in cols:
            values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                raise ValueError(
                    f"{source}: column {col!r} row {bad[0]} is not a finite number "
                    f"(query {df['query_id'].iloc[bad[0]]!r})"
                )
            df[col] = values
    if "rank" not in df:
        df["rank"] = df.groupby("query_id", sort=False)["score"].rank(method="min", ascending=False)
    if "score" not in df:
        df["score"] = np.nan  # no score column: only mode="rank" can give a teacher
    if "query" in cols:
        df["query_text"] = frame["query"].astype(str).to_numpy()
    text_col = next((c for c in ("text", "body") if c in cols), None)
    if text_col:
        df["doc_text"] = frame[text_col].astype(str).to_numpy()
    dup = df.duplicated(["query_id", "doc_id"])
    if dup.any():
        first = df[dup].iloc[0]
        raise ValueError(
            f"{source}: {int(dup.sum())} duplicate (qid, docno) rows, first query "
            f"{first.query_id!r} doc {first.doc_id!r}"
        )
    return _sorted(df)


def _sorted(df):
    order = {q: i for i, q in enumerate(dict.fromkeys(df["query_id"]))}
    df = df.assign(_q=df["query_id"].map(order), _s=-df["score"].fillna(0.0))
    df = df.sort_values(["_q", "rank", "_s"], kind="stable").drop(columns=["_q", "_s"])
    return df.reset_index(drop=True)


def table_scores(table, mode: str, source: str) -> tuple[np.ndarray, dict]:
    """The teacher value per row (``score`` or ``−rank``) and provenance about how it was made."""
    check_mode(mode)
    prov = {"mode": mode}
    if mode == "rank":
        prov["rank_rule"] = "g = -rank (equal ranks stay tied)"
        return -table["rank"].to_numpy(dtype=np.float64), prov
    scores = table["score"].to_numpy(dtype=np.float64)
    if np.isnan(scores).any():
        raise ValueError(f"{source}: has ranks but no scores; read it with mode='rank'")
    # scores must not increase down a query's ranking (rows are sorted by rank)
    rises = table.assign(_d=table.groupby("query_id", sort=False)["score"].diff() > 0)
    bad = rises.groupby("query_id", sort=False)["_d"].any()
    prov["score_rank_disagreements"] = int(bad.sum())
    if bad.any():
        warnings.warn(
            f"{source}: in {int(bad.sum())} queries (first {bad[bad].index[0]!r}) the scores rise "
            "down the ranking; if the file is a permutation (a listwise re-ranker), its score "
            "column is meaningless: use mode='rank'",
            stacklevel=3,
        )
    return scores, prov


def ranked_training_file(
    table, source: str, fmt: str, mode: str = "score", k: int | None = None, drop_short=False
) -> TrainingFile:
    """Training groups from a ranked table: one group per query, its ranked list in rank order.

    Item 0 is the query's rank-1 document (``positive_source="run_top"``); the teacher scores are
    the file's (``mode="score"``) or −rank (``mode="rank"``).
    """
    values, mode_prov = table_scores(table, mode, source)
    table = table.assign(_g=values)
    qids, items, vals = [], [], []
    for q, rows in table.groupby("query_id", sort=False):
        qids.append(str(q))
        items.append(rows["doc_id"].astype(str).tolist())
        vals.append(rows["_g"].tolist())
    qids_a, doc_ids, arrays, counts = fixed_k(
        source, qids, items, {"teacher_scores": vals}, k=k, drop_short=drop_short
    )
    queries, docs = TextTable("query", source), TextTable("doc", source)
    for col, ids, texts in (("query_text", "query_id", queries), ("doc_text", "doc_id", docs)):
        if col in table:
            for item_id, text in zip(table[ids], table[col], strict=True):
                texts.add(str(item_id), str(text))
    return TrainingFile(
        format=fmt,
        query_ids=qids_a,
        doc_ids=doc_ids,
        teacher_scores=arrays["teacher_scores"],
        labels=None,
        positive_source=np.full(len(qids_a), "run_top", dtype=object),
        query_texts=queries.texts,
        doc_texts=docs.texts,
        provenance={
            "format": fmt,
            "path": source,
            "query_id_scheme": "file",
            "doc_id_scheme": "file",
            **mode_prov,
            **counts,
        },
    )
