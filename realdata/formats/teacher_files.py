"""Teachers given as files — full, ranked or partial — and the coverage check to run first.

:func:`read_teacher_file` reads a teacher g(q, x) from

| format | recognised by (content, never the file name) |
|---|---|
| ``trec_run`` | 6-field lines ``qid Q0 docid rank score tag`` (a ``*.txt`` run is a run) |
| ``score_json`` | one JSON object ``{qid: {docid: score}}`` (the authors' score file) |
| ``pyterrier`` | a DataFrame, or a table file, with ``qid``, ``docno``, ``score``/``rank`` |

with an explicit ``mode``: ``"score"`` keeps the scores; ``"rank"`` makes g = −rank (ranks of a
score file are its score order, ties sharing the smaller rank; equal ranks stay tied). The mode
goes into :attr:`TeacherTable.provenance`.

A teacher file may cover only some candidates (a re-ranker's top-100). :func:`teacher_coverage`
takes the teacher and the (query, doc) pairs a step is about to use and reports every uncovered
pair, so a caller runs it **before** encoding or training and fails fast with
:meth:`CoverageReport.raise_if_incomplete`, which names the first few pairs (``diagnose``, the
grid's test sets). :func:`covered_mask` marks the scored pairs of a candidate matrix: ``prepare``
restricts its BM25 universe with it (:mod:`locent.realdata.teacher_cover`) instead of failing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from locent.realdata.formats.ranked import (
    check_mode,
    is_pyterrier,
    pyterrier_table,
    read_run_table,
    table_scores,
)
from locent.realdata.formats.sniff import load_table, sniff

TEACHER_FORMATS = ("trec_run", "score_json", "pyterrier")
_LISTING = (
    "teacher formats: trec_run (qid Q0 docid rank score tag), score_json ({qid: {docid: "
    "score}}), pyterrier (table with qid, docno, score and/or rank)"
)


class ScoreLookup:
    """A teacher whose scores are a table ``self.scores`` ``{query_id: {doc_id: g}}`` (texts are
    ignored): :meth:`score` ``(n, k)`` and :meth:`score_pairs` ``(m,)`` look them up; an absent
    pair is a ``ValueError`` naming query and doc. Shared by :class:`TeacherTable` and
    :class:`locent.realdata.teachers.RunTeacher`."""

    scores: dict[str, dict[str, float]]
    name: str

    def score_pairs(self, query_ids, query_texts, doc_ids, doc_texts) -> np.ndarray:
        out = np.empty(len(doc_ids), dtype=np.float64)
        for i, (q, d) in enumerate(zip(query_ids, doc_ids, strict=True)):
            try:
                out[i] = self.scores[str(q)][str(d)]
            except KeyError:
                raise ValueError(
                    f"teacher {self.name!r} has no score for query {q!r}, doc {d!r} "
                    "(run teacher_coverage first to list every uncovered pair)"
                ) from None
        return out

    def score(self, query_ids, query_texts, doc_ids, doc_texts) -> np.ndarray:
        doc_ids = np.asarray(doc_ids, dtype=object)
        if doc_ids.ndim != 2 or doc_ids.shape[0] != len(query_ids):
            raise ValueError(
                f"doc_ids must have shape (n={len(query_ids)}, k); got {doc_ids.shape}"
            )
        n, k = doc_ids.shape
        q = np.repeat(np.asarray(query_ids, dtype=object), k)
        return self.score_pairs(q, None, doc_ids.reshape(-1), None).reshape(n, k)


@dataclass
class TeacherTable(ScoreLookup):
    """Teacher scores ``{query_id: {doc_id: g}}`` read from a file, with how they were made.

    Works as a locent teacher: :meth:`score` ``(n, k)`` and :meth:`score_pairs` ``(m,)`` look the
    scores up (texts ignored); an absent pair is a ``ValueError`` naming query and doc — run
    :func:`teacher_coverage` first to list them all.
    """

    scores: dict[str, dict[str, float]]
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.provenance.get("path", "teacher-table"))

    def __repr__(self) -> str:
        return (
            f"TeacherTable({self.name!r}, mode={self.provenance.get('mode')!r}, "
            f"queries={len(self.scores)})"
        )


def _from_table(table, mode: str, prov: dict) -> TeacherTable:
    values, mode_prov = table_scores(table, mode, prov["path"])
    scores: dict[str, dict[str, float]] = {}
    for q, d, g in zip(table["query_id"], table["doc_id"], values, strict=True):
        scores.setdefault(str(q), {})[str(d)] = float(g)
    return TeacherTable(
        scores, {**prov, **mode_prov, "n_queries": len(scores), "n_pairs": len(table)}
    )


def _score_json_table(path: Path):
    """The authors' score file as a ranked table (ranks = score order, ties share a rank)."""
    import pandas as pd
    from locent.realdata.formats.authors import read_score_file

    data = read_score_file(path)
    rows = [(q, d, s) for q, docs in data.items() for d, s in docs.items()]
    if not rows:
        raise ValueError(f"{path}: empty score file")
    df = pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])
    bad = ~np.isfinite(df["score"].to_numpy())
    if bad.any():
        first = df[bad].iloc[0]
        raise ValueError(
            f"{path}: score of query {first.query_id!r} doc {first.doc_id!r} is not finite"
        )
    df["rank"] = df.groupby("query_id", sort=False)["score"].rank(method="min", ascending=False)
    # rows in rank order within each query, as a run's are (the score-order check reads them so)
    return df.sort_values("rank", kind="stable").reset_index(drop=True)


def read_teacher_file(source, mode: str = "score", format: str = "auto") -> TeacherTable:
    """A teacher from a file path (or a PyTerrier DataFrame); see the module docstring."""
    check_mode(mode)
    if format not in ("auto", *TEACHER_FORMATS):
        raise ValueError(f"format must be 'auto' or one of {TEACHER_FORMATS}; got {format!r}")
    if not isinstance(source, (str, os.PathLike)):
        if format not in ("auto", "pyterrier"):
            raise ValueError(f"a DataFrame teacher is a PyTerrier frame, not {format!r}")
        table = pyterrier_table(source)
        return _from_table(table, mode, {"path": "<DataFrame>", "format": "pyterrier"})
    from locent.provenance import file_sha256

    path = Path(source)
    try:
        sniffed = sniff(path)
    except ValueError as err:
        raise ValueError(f"{err}; {_LISTING}") from None
    found = {
        "trec_run": "trec_run",
        "json": "score_json",
    }.get(sniffed.container)
    if found is None and sniffed.container in ("parquet", "jsonl", "tsv", "csv"):
        found = "pyterrier" if is_pyterrier(sniffed.columns) else None
    if found is None or (format != "auto" and format != found):
        raise ValueError(
            f"{path}: not a teacher file of format {format!r} (content looks like "
            f"{sniffed.container!r} with columns {list(sniffed.columns)}); {_LISTING}"
        )
    if found == "trec_run":
        table = read_run_table(path)
    elif found == "score_json":
        table = _score_json_table(path)
    else:
        table = pyterrier_table(load_table(sniffed), str(path))
    prov = {"path": str(path), "format": found, "sha256": file_sha256(path)}
    return _from_table(table, mode, prov)


@dataclass
class CoverageReport:
    """Which candidate (query, doc) pairs a teacher scores.

    ``uncovered``: DataFrame ``(query_id, doc_id)`` of every uncovered pair, in candidate order;
    ``per_query``: DataFrame ``(query_id, n_candidates, n_uncovered, query_in_teacher)`` for the
    queries with at least one uncovered pair, most uncovered first.
    """

    n_pairs: int
    n_uncovered: int
    n_queries: int
    uncovered: Any
    per_query: Any
    teacher: str = ""

    @property
    def coverage(self) -> float:
        return 1.0 - self.n_uncovered / self.n_pairs if self.n_pairs else 1.0

    @property
    def complete(self) -> bool:
        return self.n_uncovered == 0

    def message(self, first: int = 5) -> str:
        pairs = ", ".join(
            f"({q!r}, {d!r})" for q, d in self.uncovered.head(first).itertuples(index=False)
        )
        absent = int((~self.per_query["query_in_teacher"]).sum()) if len(self.per_query) else 0
        return (
            f"teacher {self.teacher!r} leaves {self.n_uncovered} of {self.n_pairs} candidate "
            f"pairs unscored ({len(self.per_query)} of {self.n_queries} queries; {absent} "
            f"queries absent from it), first {pairs}"
        )

    def raise_if_incomplete(self, first: int = 5) -> None:
        if not self.complete:
            raise ValueError(self.message(first))


def _pairs_frame(candidate_pairs):
    import pandas as pd

    if hasattr(candidate_pairs, "query_ids") and hasattr(candidate_pairs, "doc_ids"):
        doc_ids = np.asarray(candidate_pairs.doc_ids, dtype=object)
        k = doc_ids.shape[1]
        return pd.DataFrame(
            {
                "query_id": np.repeat(np.asarray(candidate_pairs.query_ids).astype(str), k),
                "doc_id": doc_ids.astype(str).reshape(-1),
            }
        )
    if isinstance(candidate_pairs, pd.DataFrame):
        missing = [c for c in ("query_id", "doc_id") if c not in candidate_pairs.columns]
        if missing:
            raise ValueError(f"candidate pairs lack column(s) {missing}")
        return candidate_pairs[["query_id", "doc_id"]].astype(str)
    return pd.DataFrame(
        [(str(q), str(d)) for q, d in candidate_pairs], columns=["query_id", "doc_id"]
    )


def teacher_coverage(teacher_table, candidate_pairs) -> CoverageReport:
    """Coverage of ``candidate_pairs`` by ``teacher_table``.

    ``teacher_table``: a :class:`TeacherTable`, anything with a ``scores`` dict, or the dict
    ``{qid: {docid: score}}`` itself. ``candidate_pairs``: a DataFrame with ``query_id`` and
    ``doc_id``, an object with ``query_ids (n,)`` and ``doc_ids (n, k)`` (``Groups``,
    ``TrainingFile``), or an iterable of ``(query_id, doc_id)``.
    """
    import pandas as pd

    scores = getattr(teacher_table, "scores", teacher_table)
    if not isinstance(scores, dict):
        raise ValueError(f"teacher_table must be a TeacherTable or a dict; got {type(scores)}")
    pairs = _pairs_frame(candidate_pairs)
    known = np.fromiter(
        (d in scores.get(q, ()) for q, d in zip(pairs["query_id"], pairs["doc_id"], strict=True)),
        dtype=bool,
        count=len(pairs),
    )
    uncovered = pairs[~known].reset_index(drop=True)
    per_query = (
        pairs.assign(uncov=~known).groupby("query_id", sort=False)["uncov"].agg(["size", "sum"])
    )
    per_query = per_query[per_query["sum"] > 0].rename(
        columns={"size": "n_candidates", "sum": "n_uncovered"}
    )
    per_query = per_query.reset_index()
    per_query["query_in_teacher"] = per_query["query_id"].map(lambda q: q in scores).astype(bool)
    per_query = per_query.sort_values("n_uncovered", ascending=False, kind="stable")
    return CoverageReport(
        n_pairs=len(pairs),
        n_uncovered=int((~known).sum()),
        n_queries=int(pairs["query_id"].nunique()),
        uncovered=uncovered,
        per_query=pd.DataFrame(per_query).reset_index(drop=True),
        teacher=getattr(teacher_table, "name", "teacher"),
    )


def covered_mask(teacher_table, query_ids, doc_ids) -> np.ndarray:
    """``(n, u)`` bool: whether ``teacher_table`` scores ``(query_ids[i], doc_ids[i, j])``.

    ``doc_ids (n, u)``: a candidate matrix (``""`` padding is never covered). ``teacher_table``: as
    for :func:`teacher_coverage`. The mask a teacher file restricts a universe with."""
    scores = getattr(teacher_table, "scores", teacher_table)
    doc_ids = np.asarray(doc_ids, dtype=object)
    if doc_ids.ndim != 2 or doc_ids.shape[0] != len(query_ids):
        raise ValueError(f"doc_ids must have shape (n={len(query_ids)}, u); got {doc_ids.shape}")
    mask = np.zeros(doc_ids.shape, dtype=bool)
    for i, (q, row) in enumerate(zip(query_ids, doc_ids, strict=True)):
        known = scores.get(str(q), {})
        mask[i] = [d != "" and str(d) in known for d in row]
    return mask
