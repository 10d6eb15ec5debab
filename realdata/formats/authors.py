"""The paper authors' file layouts, read and written so results can be compared with theirs.

- Training groups as JSONL, one line per group: ``{"query_id": str, "doc_id_a": str,
  "doc_id_b": [str, ...]}`` (``doc_id_a`` the positive, ``doc_id_b`` the negatives).
- Teacher scores as (gzipped) JSON ``{query_id: {doc_id: score}}``.

A line whose query id repeats an earlier line is kept as its **own** group (never concatenated
with the earlier one: concatenating before an entropy is one of the pitfalls of THEORY.md §8) and
counted in ``duplicate_queries``. Inclusion probabilities are not part of the authors' layout, so
groups read from it carry NaN there.

:func:`read_authors` gives the common :class:`~locent.realdata.formats.training_file.TrainingFile`
(the score file optional: without it the groups take a teacher later); :func:`groups_from_authors`
is the older one-call form (JSONL + score file → ``Groups``). Round trip: :func:`write_jsonl` and
:func:`write_score_file` (with :func:`scores_of`) write any ``Groups`` in this layout.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
from locent.realdata.formats.training_file import TrainingFile, fixed_k
from locent.realdata.store import Groups

from locent.provenance import atomic_write_bytes

#: the keys of one line of the authors' JSONL
AUTHORS_KEYS = ("query_id", "doc_id_a", "doc_id_b")


def _open_text(path: Path):
    # gzip recognised by its magic bytes, not the name
    with open(path, "rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rt") if magic == b"\x1f\x8b" else open(path)


def write_jsonl(groups: Groups, path: str | os.PathLike) -> Path:
    """Write ``groups`` in the authors' JSONL layout (gzipped when the name ends in .gz)."""
    lines = [
        json.dumps(
            {"query_id": str(q), "doc_id_a": str(row[0]), "doc_id_b": [str(d) for d in row[1:]]}
        )
        for q, row in zip(groups.query_ids, groups.doc_ids, strict=True)
    ]
    data = ("\n".join(lines) + "\n").encode()
    path = Path(path)
    return atomic_write_bytes(path, gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)


def read_jsonl(path: str | os.PathLike):
    """DataFrame ``(query_id, doc_id_a, doc_id_b)`` of an authors' JSONL file, in file order."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no JSONL file at {path}")
    rows = []
    with _open_text(path) as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            missing = [f for f in ("query_id", "doc_id_a", "doc_id_b") if f not in rec]
            if missing:
                raise ValueError(f"{path} line {n}: missing field(s) {missing}")
            if not isinstance(rec["doc_id_b"], list):
                raise ValueError(f"{path} line {n}: doc_id_b must be a list")
            rows.append(
                (str(rec["query_id"]), str(rec["doc_id_a"]), [str(d) for d in rec["doc_id_b"]])
            )
    return pd.DataFrame(rows, columns=["query_id", "doc_id_a", "doc_id_b"])


def write_score_file(scores: dict, path: str | os.PathLike) -> Path:
    """Write ``{qid: {docid: score}}`` as JSON (gzipped when the name ends in .gz)."""
    data = json.dumps(
        {str(q): {str(d): float(s) for d, s in docs.items()} for q, docs in scores.items()},
        sort_keys=True,
    ).encode()
    path = Path(path)
    return atomic_write_bytes(path, gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)


def read_score_file(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no teacher score file at {path}")
    with _open_text(path) as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}: expected {{query_id: {{doc_id: score}}}}")
    return {str(q): {str(d): float(s) for d, s in docs.items()} for q, docs in data.items()}


def scores_of(groups: Groups) -> dict[str, dict[str, float]]:
    """``{qid: {docid: score}}`` from groups (the teacher scores they hold)."""
    out: dict[str, dict[str, float]] = {}
    for q, ids, sc in zip(groups.query_ids, groups.doc_ids, groups.teacher_scores, strict=True):
        out.setdefault(str(q), {}).update({str(d): float(s) for d, s in zip(ids, sc, strict=True)})
    return out


def groups_from_authors(jsonl_path, score_path, sampler: str) -> tuple[Groups, dict]:
    """Groups from the authors' JSONL + score file; returns ``(groups, counts)``.

    Every group must have the same number of negatives; a (query, doc) pair without a teacher
    score is a ``ValueError`` naming both. ``counts``: ``lines``, ``duplicate_queries``.
    """
    df = read_jsonl(jsonl_path)
    scores = read_score_file(score_path)
    if df.empty:
        raise ValueError(f"{jsonl_path}: no groups")
    sizes = df["doc_id_b"].map(len)
    if (sizes != sizes.iloc[0]).any():
        bad = df["query_id"].iloc[int(np.flatnonzero((sizes != sizes.iloc[0]).to_numpy())[0])]
        raise ValueError(f"{jsonl_path}: query {bad!r} has a different number of negatives")
    doc_ids = np.array(
        [[a, *b] for a, b in zip(df["doc_id_a"], df["doc_id_b"], strict=True)], object
    )
    teacher = np.empty(doc_ids.shape, dtype=np.float64)
    for i, (q, row) in enumerate(zip(df["query_id"], doc_ids, strict=True)):
        for j, d in enumerate(row):
            try:
                teacher[i, j] = scores[q][d]
            except KeyError:
                raise ValueError(
                    f"{score_path}: no teacher score for query {q!r}, doc {d!r}"
                ) from None
    n = len(df)
    counts = {"lines": n, "duplicate_queries": int(df["query_id"].duplicated().sum())}
    groups = Groups(
        sampler=sampler,
        query_ids=df["query_id"].to_numpy(dtype=object),
        doc_ids=doc_ids,
        teacher_scores=teacher,
        inclusion_probs=np.full(doc_ids.shape, np.nan),
        positive_source=np.full(n, "authors", dtype=object),
        n_padded=np.zeros(n, dtype=np.int64),
        n_excluded=np.zeros(n, dtype=np.int64),
        provenance={
            "source": "authors_format",
            "jsonl": str(jsonl_path),
            "scores": str(score_path),
            **counts,
        },
    )
    return groups, counts


def authors_training_file(
    df,
    scores: dict | None,
    source: str,
    score_source: str | None = None,
    k: int | None = None,
    drop_short: bool = False,
) -> TrainingFile:
    """:class:`TrainingFile` from a ``(query_id, doc_id_a, doc_id_b)`` frame (+ optional scores)."""
    missing = [c for c in AUTHORS_KEYS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: authors' layout lacks column(s) {missing}")
    qids = [str(q) for q in df["query_id"]]
    items = [[str(a), *map(str, b)] for a, b in zip(df["doc_id_a"], df["doc_id_b"], strict=True)]
    values = {}
    if scores is not None:
        rows = []
        for q, row in zip(qids, items, strict=True):
            try:
                rows.append([scores[q][d] for d in row])
            except KeyError:
                d = next(d for d in row if d not in scores.get(q, {}))
                raise ValueError(
                    f"{score_source}: no teacher score for query {q!r}, doc {d!r}"
                ) from None
        values["teacher_scores"] = rows
    labels = [[1.0] + [0.0] * (len(row) - 1) for row in items]
    values["labels"] = labels
    qids_a, doc_ids, arrays, counts = fixed_k(
        source, qids, items, values, k=k, drop_short=drop_short
    )
    return TrainingFile(
        format="authors",
        query_ids=qids_a,
        doc_ids=doc_ids,
        teacher_scores=arrays.get("teacher_scores"),
        labels=arrays["labels"],
        positive_source=np.full(len(qids_a), "file", dtype=object),
        provenance={
            "format": "authors",
            "path": source,
            "scores": score_source,
            "query_id_scheme": "file",
            "doc_id_scheme": "file",
            **counts,
        },
    )


def read_authors(path, scores=None, k: int | None = None, drop_short=False) -> TrainingFile:
    """The authors' JSONL (and, optionally, their score file) as a :class:`TrainingFile`."""
    score_table = None if scores is None else read_score_file(scores)
    return authors_training_file(
        read_jsonl(path),
        score_table,
        str(path),
        None if scores is None else str(scores),
        k,
        drop_short,
    )
