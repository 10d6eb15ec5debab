"""The group store: training groups of 1 positive + (k-1) negatives per query, on disk as Parquet.

One file per (dataset, sampler): ``<out>/realdata/groups/<sampler>.parquet`` with a provenance
JSON beside it (``<sampler>.provenance.json``). Columns (one row per training query):

| column | type | meaning |
|---|---|---|
| ``query_id`` | str | the ir_datasets query id |
| ``sampler`` | str | sampler name (``random``, ``bm25``, ``teacher``, ``dense``, ``ensemble``) |
| ``doc_ids`` | list<str>, length k | item ids; index 0 is the positive |
| ``teacher_scores`` | list<float64>, length k | g(q, x) for each item (never missing) |
| ``inclusion_probs`` | list<float64>, length k | ν_q(x), see below |
| ``positive_source`` | str | ``qrels`` (judged relevant, in the corpus) or ``teacher_top`` |
| ``n_padded`` | int | negatives that had to be drawn from outside the pool (pool too small) |
| ``n_excluded`` | int | pool items removed as the positive / judged relevant / de-noised |

``inclusion_probs``: ν_q(x), the sampler's per-draw probability of x (uniform pools: 1/m, m the
pool size after exclusions; x is in the group with probability (k − 1)·ν_q(x)). Index 0 is NaN
(the positive is not sampled); padded negatives carry 0 (outside the sampler's support).

The sampler's whole pool (support of ν_q with its probabilities), needed for κ_q, is stored in
``<sampler>.pool.parquet`` by :mod:`locent.realdata.prepare`: ``query_id``, ``doc_ids``, ``probs``,
``support`` (``listed``, or ``corpus`` = uniform over the whole corpus with ``doc_ids`` empty) and
``corpus_size``. Pools of the test queries (for κ against μ) are in ``pools/<test>/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from locent.errors import UserError
from locent.freshness import verify_artifact
from locent.provenance import atomic_write_json, atomic_write_parquet, provenance_path

GROUP_COLUMNS = (
    "query_id",
    "sampler",
    "doc_ids",
    "teacher_scores",
    "inclusion_probs",
    "positive_source",
    "n_padded",
    "n_excluded",
)


@dataclass
class Groups:
    """Training groups of one sampler, as arrays.

    Shapes: ``query_ids (n,)``, ``doc_ids (n, k)`` (object, str), ``teacher_scores (n, k)``
    float64, ``inclusion_probs (n, k)`` float64, ``positive_source (n,)``, ``n_padded (n,)``,
    ``n_excluded (n,)``. Item 0 of every group is the positive.
    """

    sampler: str
    query_ids: np.ndarray
    doc_ids: np.ndarray
    teacher_scores: np.ndarray
    inclusion_probs: np.ndarray
    positive_source: np.ndarray
    n_padded: np.ndarray
    n_excluded: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.query_ids)
        if self.doc_ids.ndim != 2 or self.doc_ids.shape[0] != n:
            raise ValueError(f"doc_ids must have shape (n={n}, k); got {self.doc_ids.shape}")
        k = self.doc_ids.shape[1]
        if k < 2:
            raise ValueError(f"groups need k >= 2 items; sampler {self.sampler!r} has k={k}")
        for name in ("teacher_scores", "inclusion_probs"):
            arr = getattr(self, name)
            if arr.shape != (n, k):
                raise ValueError(f"{name} must have shape {(n, k)}; got {arr.shape}")
        bad = ~np.isfinite(self.teacher_scores).all(axis=1)
        if bad.any():
            qid = self.query_ids[np.flatnonzero(bad)[0]]
            raise ValueError(
                f"teacher_scores of sampler {self.sampler!r} are NaN/inf for {int(bad.sum())} "
                f"groups, first query {qid!r}"
            )

    @property
    def n(self) -> int:
        return len(self.query_ids)

    @property
    def k(self) -> int:
        return self.doc_ids.shape[1]

    def subset(self, mask_or_index) -> Groups:
        """Groups restricted to a boolean mask or an index array (provenance kept)."""
        idx = np.asarray(mask_or_index)
        return Groups(
            sampler=self.sampler,
            query_ids=self.query_ids[idx],
            doc_ids=self.doc_ids[idx],
            teacher_scores=self.teacher_scores[idx],
            inclusion_probs=self.inclusion_probs[idx],
            positive_source=self.positive_source[idx],
            n_padded=self.n_padded[idx],
            n_excluded=self.n_excluded[idx],
            provenance=dict(self.provenance),
        )

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            {
                "query_id": self.query_ids.astype(str),
                "sampler": self.sampler,
                "doc_ids": [list(map(str, row)) for row in self.doc_ids],
                "teacher_scores": list(self.teacher_scores.astype(np.float64)),
                "inclusion_probs": list(self.inclusion_probs.astype(np.float64)),
                "positive_source": self.positive_source.astype(str),
                "n_padded": self.n_padded.astype(np.int64),
                "n_excluded": self.n_excluded.astype(np.int64),
            }
        )

    @classmethod
    def from_frame(cls, df, provenance: dict[str, Any] | None = None) -> Groups:
        missing = [c for c in GROUP_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"group table lacks columns {missing}")
        samplers = df["sampler"].unique()
        if len(samplers) != 1:
            raise ValueError(f"a group table holds one sampler; found {list(samplers)}")
        lengths = df["doc_ids"].map(len).to_numpy()
        if len(lengths) and (lengths != lengths[0]).any():
            bad = df["query_id"].iloc[int(np.flatnonzero(lengths != lengths[0])[0])]
            raise ValueError(f"groups must all have the same k; query {bad!r} differs")
        return cls(
            sampler=str(samplers[0]),
            query_ids=df["query_id"].to_numpy(dtype=object),
            doc_ids=np.array([list(x) for x in df["doc_ids"]], dtype=object),
            teacher_scores=np.array(
                [np.asarray(x, dtype=np.float64) for x in df["teacher_scores"]]
            ),
            inclusion_probs=np.array(
                [np.asarray(x, dtype=np.float64) for x in df["inclusion_probs"]]
            ),
            positive_source=df["positive_source"].to_numpy(dtype=object),
            n_padded=df["n_padded"].to_numpy(dtype=np.int64),
            n_excluded=df["n_excluded"].to_numpy(dtype=np.int64),
            provenance=dict(provenance or {}),
        )


def write_groups(groups: Groups, path: str | os.PathLike) -> Path:
    """Write groups as Parquet plus ``<stem>.provenance.json``, both atomically."""
    path = Path(path)
    atomic_write_parquet(groups.to_frame(), path)
    atomic_write_json(provenance_path(path), groups.provenance)
    return path


def read_groups(path: str | os.PathLike) -> Groups:
    """The groups at ``path``: ``FileNotFoundError`` when there is no file, :class:`UserError`
    naming the file, the reason and the command that rebuilds it when the file does not verify
    (:func:`locent.freshness.verify_artifact`: truncated or unreadable Parquet, a row count other
    than its provenance record's), so a damaged cache never passes silently into the measures."""
    import json

    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no group file at {path}; run `locent realdata prepare` first")
    problem = verify_artifact(path)
    if problem:
        raise UserError(
            f"group file {path} is corrupt ({problem}); rebuild it with `locent realdata prepare` "
            "(it rebuilds the files that do not verify)"
        )
    prov_file = provenance_path(path)
    provenance = json.loads(prov_file.read_text()) if prov_file.exists() else {}
    return Groups.from_frame(pd.read_parquet(path), provenance)
