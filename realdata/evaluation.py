"""Evaluation: re-rank candidate lists, write/read TREC files, ir_measures, teacher agreement.

- :class:`Candidates`: per query the first-stage top-``depth`` list, padded to a rectangle
  ``doc_ids (nq, k)`` with a ``valid (nq, k)`` mask (valid items first, in first-stage order).
- :func:`score_candidates`: student scores ``(nq, k)`` (NaN where not valid), batched over queries.
- :func:`write_trec_run` / :func:`read_run` / :func:`read_qrels`: TREC files; a malformed line
  raises ``ValueError("<file>:<line>: ...")``.
- :func:`evaluate_run`: ir_measures nDCG@10, AP(rel=2), RR(rel=2)@10 per query. A judged query
  with no retrieved document scores 0 (trec_eval ``-c``); their number is returned.
- :func:`teacher_agreement`: per query the misordering rate of the student against the teacher on
  the candidates (Definition 2.1, teacher ties never count) and the soft-RankNet (pairwise KL,
  Bregman D_sp) risk at label temperature τ, both from ``locent.theory``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from locent.provenance import atomic_write_text

MEASURES = ("nDCG@10", "AP(rel=2)", "RR(rel=2)@10")


@dataclass
class Candidates:
    """Candidate lists of one test dataset. Shapes: ``query_ids (nq,)``, the rest ``(nq, k)``."""

    dataset: str
    query_ids: np.ndarray
    doc_ids: np.ndarray
    first_stage: np.ndarray
    valid: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, dataset: str, depth: int = 100) -> Candidates:
        """From a ``(query_id, doc_id, score)`` table: per query the top-``depth`` by score."""
        missing = [c for c in ("query_id", "doc_id", "score") if c not in frame.columns]
        if missing:
            raise ValueError(f"candidates of {dataset!r} lack columns {missing}")
        if frame.empty:
            raise ValueError(f"no candidates for {dataset!r}")
        df = frame[["query_id", "doc_id", "score"]].astype({"query_id": str, "doc_id": str})
        dup = df.duplicated(["query_id", "doc_id"])
        if dup.any():
            first = df[dup].iloc[0]
            raise ValueError(
                f"{dataset!r}: {int(dup.sum())} duplicate (query, doc) candidates, first "
                f"query {first.query_id!r} doc {first.doc_id!r}"
            )
        df = df.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, True])
        df["rank"] = df.groupby("query_id", sort=False).cumcount()
        df = df[df["rank"] < depth]
        query_ids = df["query_id"].unique()
        row = pd.Series(np.arange(len(query_ids)), index=query_ids)[df["query_id"]].to_numpy()
        k = int(df["rank"].max()) + 1
        doc_ids = np.full((len(query_ids), k), "", dtype=object)
        scores = np.full((len(query_ids), k), np.nan)
        valid = np.zeros((len(query_ids), k), dtype=bool)
        col = df["rank"].to_numpy()
        doc_ids[row, col] = df["doc_id"].to_numpy()
        scores[row, col] = df["score"].to_numpy(dtype=np.float64)
        valid[row, col] = True
        return cls(dataset, np.asarray(query_ids, dtype=object), doc_ids, scores, valid)

    @property
    def n(self) -> int:
        return len(self.query_ids)

    def fill_padding(self) -> np.ndarray:
        """doc_ids with padded slots filled by the query's first candidate (so lookups succeed)."""
        return np.where(self.valid, self.doc_ids, self.doc_ids[:, :1])


@torch.no_grad()
def score_candidates(student, data, batch_size: int = 32, device="cpu") -> np.ndarray:
    """Student scores of every candidate, ``(nq, k)`` float64; NaN where ``data.valid`` is False."""
    student.eval()
    out = np.empty((data.n, data.k))
    for start in range(0, data.n, batch_size):
        rows = np.arange(start, min(start + batch_size, data.n))
        out[rows] = student.score(data.batch(rows).to(device)).double().cpu().numpy()
    if data.valid is not None:
        out[~data.valid] = np.nan
    return out


def run_frame(query_ids, doc_ids, scores, valid=None) -> pd.DataFrame:
    """Tidy ``(query_id, doc_id, score)`` of the valid cells of a score matrix."""
    scores = np.asarray(scores, dtype=np.float64)
    valid = np.isfinite(scores) if valid is None else np.asarray(valid) & np.isfinite(scores)
    q = np.repeat(np.asarray(query_ids, dtype=object)[:, None], scores.shape[1], 1)
    return pd.DataFrame(
        {
            "query_id": q[valid].astype(str),
            "doc_id": doc_ids[valid].astype(str),
            "score": scores[valid],
        }
    )


def write_trec_run(path: str | os.PathLike, run: pd.DataFrame, tag: str) -> Path:
    """TREC run (``qid Q0 docid rank score tag``): per query by score desc, ties by doc id asc."""
    if any(ch.isspace() for ch in tag) or not tag:
        raise ValueError(f"run tag must be a non-empty word; got {tag!r}")
    df = run.sort_values(["query_id", "score", "doc_id"], ascending=[True, False, True])
    rank = df.groupby("query_id", sort=False).cumcount() + 1
    lines = [
        f"{q} Q0 {d} {r} {s:.6f} {tag}"
        for q, d, r, s in zip(df["query_id"], df["doc_id"], rank, df["score"])
    ]
    return atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def _read_table(path, n_fields: int, kind: str, parse) -> list:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {kind} file at {path}")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != n_fields:
                raise ValueError(
                    f"{path}:{lineno}: malformed {kind} line: expected {n_fields} fields, got "
                    f"{len(fields)}: {line.rstrip()!r}"
                )
            try:
                rows.append(parse(fields))
            except ValueError as err:
                raise ValueError(
                    f"{path}:{lineno}: malformed {kind} line ({err}): {line.rstrip()!r}"
                ) from None
    if not rows:
        raise ValueError(f"{path}: empty {kind} file")
    return rows


def _parse_run(fields):
    score = float(fields[4])
    if not math.isfinite(score):
        raise ValueError(f"score {fields[4]!r} is not finite")
    return fields[0], fields[2], int(fields[3]), score


def read_run(path: str | os.PathLike) -> pd.DataFrame:
    """A TREC run as ``(query_id, doc_id, rank, score)``; malformed lines raise with file:line."""
    df = pd.DataFrame(
        _read_table(path, 6, "run", _parse_run), columns=["query_id", "doc_id", "rank", "score"]
    )
    dup = df.duplicated(["query_id", "doc_id"])
    if dup.any():
        first = df[dup].iloc[0]
        raise ValueError(
            f"{path}: {int(dup.sum())} duplicate (query, doc) lines, first query "
            f"{first.query_id!r} doc {first.doc_id!r}"
        )
    return df


def read_qrels(path: str | os.PathLike) -> pd.DataFrame:
    """A TREC qrels file as ``(query_id, doc_id, relevance)``; bad lines raise with file:line."""
    return pd.DataFrame(
        _read_table(path, 4, "qrels", lambda f: (f[0], f[2], int(f[3]))),
        columns=["query_id", "doc_id", "relevance"],
    )


def evaluate_run(
    run: pd.DataFrame, qrels: pd.DataFrame, measures=MEASURES
) -> tuple[pd.DataFrame, int]:
    """Per-query values ``(query_id, measure, value)`` and the number of judged queries the run
    missed (each scored 0)."""
    import ir_measures

    parsed = [ir_measures.parse_measure(m) if isinstance(m, str) else m for m in measures]
    qrels = qrels.astype({"query_id": str, "doc_id": str, "relevance": int})
    run = run[["query_id", "doc_id", "score"]].astype({"query_id": str, "doc_id": str})
    rows = [
        (r.query_id, str(r.measure), float(r.value))
        for r in ir_measures.iter_calc(parsed, qrels, run)
    ]
    per_query = pd.DataFrame(rows, columns=["query_id", "measure", "value"])
    judged = set(qrels["query_id"])
    missed = sorted(judged - set(run["query_id"]))
    # ir_measures already scores some measures 0 for judged queries without results; add the
    # remaining (query, measure) cells so every judged query counts (trec_eval -c).
    have = set(zip(per_query["query_id"], per_query["measure"]))
    zeros = [(q, str(m), 0.0) for q in missed for m in parsed if (q, str(m)) not in have]
    if zeros:
        per_query = pd.concat(
            [per_query, pd.DataFrame(zeros, columns=["query_id", "measure", "value"])],
            ignore_index=True,
        )
    return per_query.sort_values(["measure", "query_id"], ignore_index=True), len(missed)


def _by_valid_count(valid: np.ndarray):
    """Row sets sharing a number c of valid items (valid items occupy the first c columns)."""
    counts = valid.sum(1)
    if not np.array_equal(valid, np.arange(valid.shape[1])[None, :] < counts[:, None]):
        raise ValueError("valid candidates must come first in every row")
    for c in np.unique(counts):
        yield int(c), np.flatnonzero(counts == c)


def teacher_agreement(student_scores, teacher_scores, valid, tau: float = 1.0) -> pd.DataFrame:
    """Per query: ``misordered, comparable, student_ties, misordering, bregman_risk``.

    misordering = misordered / comparable (NaN when no comparable pair: counted, not dropped);
    bregman_risk = mean over pairs of D_sp(m_f/τ, m_g/τ) (soft RankNet).
    """
    from locent.theory import misordering_counts, soft_ranknet

    s = np.asarray(student_scores, dtype=np.float64)
    t = np.asarray(teacher_scores, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    n = s.shape[0]
    out = {name: np.full(n, np.nan) for name in ("misordered", "comparable", "student_ties")}
    risk = np.full(n, np.nan)
    for c, rows in _by_valid_count(valid):
        if c < 2:
            continue
        mis, comp, ties = misordering_counts(s[rows, :c], t[rows, :c])
        out["misordered"][rows], out["comparable"][rows], out["student_ties"][rows] = (
            mis,
            comp,
            ties,
        )
        risk[rows] = np.asarray(soft_ranknet(s[rows, :c], t[rows, :c], tau=tau))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = out["misordered"] / out["comparable"]
    return pd.DataFrame({**out, "misordering": rate, "bregman_risk": risk})


def score_at_rank(query_ids, scores, valid) -> pd.DataFrame:
    """``(query_id, rank, score)``: each query's scores sorted descending (rank 1 = top)."""
    s = np.where(valid, scores, -np.inf)
    ordered = -np.sort(-s, axis=1)
    ranks = np.broadcast_to(np.arange(1, s.shape[1] + 1), s.shape)
    keep = np.isfinite(ordered)
    q = np.repeat(np.asarray(query_ids, dtype=object)[:, None], s.shape[1], 1)
    return pd.DataFrame(
        {"query_id": q[keep].astype(str), "rank": ranks[keep], "score": ordered[keep]}
    )
