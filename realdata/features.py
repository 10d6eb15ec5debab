"""Feature sources and batches: item ids resolved once to rows of a source, batches by index.

A :class:`GroupData` holds n groups of k items (training groups from the store, or test
candidate lists padded to k with a ``valid`` mask) and a feature source:

- :class:`FrozenFeatures`: query and item embedding matrices (unit-norm rows, from the encoder
  cache) and their ids; a batch gathers ``q_emb (B, D)`` and ``x_emb (B, k, D)``.
- :class:`TextFeatures`: query and passage texts; a batch gathers ``q_text`` and ``x_text``.

:func:`training_texts` reads the texts of training groups from ir_datasets (the training dataset
named by :func:`train_dataset_of`, the group file's provenance). Unknown ids raise ``ValueError``
naming the first missing id and how many are missing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from locent.realdata import datasets
from locent.realdata.students import Batch

from locent.provenance import atomic_write_bytes, atomic_write_parquet


def _lookup(table_ids: np.ndarray, wanted: np.ndarray, what: str) -> np.ndarray:
    """Row of each ``wanted`` id in ``table_ids`` (vectorised via a sorted search)."""
    table_ids = np.asarray(table_ids).astype(str)
    flat = np.asarray(wanted).astype(str).ravel()
    if len(table_ids) == 0:
        raise ValueError(f"no {what} features at all ({len(flat)} {what} ids asked for)")
    order = np.argsort(table_ids, kind="stable")
    sorted_ids = table_ids[order]
    pos = np.searchsorted(sorted_ids, flat)
    pos_clip = np.minimum(pos, len(sorted_ids) - 1)
    found = sorted_ids[pos_clip] == flat
    if not np.all(found):
        missing = flat[~found]
        raise ValueError(
            f"{len(missing)} {what} ids have no features; "
            f"first missing {what} id {str(missing[0])!r}"
        )
    return order[pos_clip].reshape(np.shape(wanted))


@dataclass
class FrozenFeatures:
    """Embeddings: ``query_vecs (Nq, D)`` of ``query_ids``, ``doc_vecs (Nd, D)`` of ``doc_ids``."""

    query_ids: np.ndarray
    query_vecs: np.ndarray
    doc_ids: np.ndarray
    doc_vecs: np.ndarray

    def __post_init__(self) -> None:
        self.query_ids = np.asarray(self.query_ids).astype(str)
        self.doc_ids = np.asarray(self.doc_ids).astype(str)
        for name, ids, vecs in (
            ("query", self.query_ids, self.query_vecs),
            ("doc", self.doc_ids, self.doc_vecs),
        ):
            if vecs.ndim != 2 or vecs.shape[0] != len(ids):
                raise ValueError(f"{name}_vecs must be ({len(ids)}, D); got {vecs.shape}")
        if self.query_vecs.shape[1] != self.doc_vecs.shape[1]:
            raise ValueError("query and doc embeddings must have the same dimension")
        self._q = torch.from_numpy(np.ascontiguousarray(self.query_vecs, dtype=np.float32))
        self._x = torch.from_numpy(np.ascontiguousarray(self.doc_vecs, dtype=np.float32))

    @property
    def dim(self) -> int:
        return int(self.query_vecs.shape[1])

    def resolve(self, query_ids: np.ndarray, doc_ids: np.ndarray) -> dict:
        return {
            "q": torch.from_numpy(_lookup(self.query_ids, query_ids, "query")),
            "x": torch.from_numpy(_lookup(self.doc_ids, doc_ids, "doc")),
        }

    def gather(self, resolved: dict, rows: torch.Tensor) -> dict:
        return {"q_emb": self._q[resolved["q"][rows]], "x_emb": self._x[resolved["x"][rows]]}

    def cosine(self, resolved: dict) -> np.ndarray:
        """cos(q, x) = ⟨q, x⟩ / (‖q‖ ‖x‖) of every item of every group: ``(n, k)`` float64.

        With unit-norm rows this is the score of the untrained ``frozen-bi`` student (its
        projections start equal and orthogonal, so AᵀB = I): the encoder's own ranking.
        """
        q = self.query_vecs[resolved["q"].numpy()].astype(np.float64)  # (n, D)
        x = self.doc_vecs[resolved["x"].numpy()].astype(np.float64)  # (n, k, D)
        dots = np.einsum("nd,nkd->nk", q, x)
        norms = np.linalg.norm(q, axis=-1)[:, None] * np.linalg.norm(x, axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return dots / norms

    def item_embeddings(self, resolved: dict) -> np.ndarray:
        """All item embeddings of the groups, (n, k, D) float32."""
        return self.doc_vecs[resolved["x"].numpy()]

    @classmethod
    def from_npz(cls, path) -> FrozenFeatures:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["query_ids"], z["query_vecs"], z["doc_ids"], z["doc_vecs"])

    def to_npz(self, path) -> None:
        buf = io.BytesIO()
        np.savez(
            buf,
            query_ids=self.query_ids,
            query_vecs=self.query_vecs,
            doc_ids=self.doc_ids,
            doc_vecs=self.doc_vecs,
        )
        atomic_write_bytes(path, buf.getvalue())


@dataclass
class TextFeatures:
    """Texts: ``queries`` maps query id → text, ``docs`` maps doc id → passage text."""

    queries: dict
    docs: dict

    def resolve(self, query_ids: np.ndarray, doc_ids: np.ndarray) -> dict:
        for what, table, ids in (("query", self.queries, query_ids), ("doc", self.docs, doc_ids)):
            missing = [i for i in np.unique(np.asarray(ids).astype(str)) if i not in table]
            if missing:
                raise ValueError(
                    f"{len(missing)} {what} ids have no text; first missing {what} id "
                    f"{missing[0]!r}"
                )
        q = np.array([self.queries[str(i)] for i in query_ids], dtype=object)
        x = np.array([[self.docs[str(d)] for d in row] for row in doc_ids], dtype=object)
        return {"q_text": q, "x_text": x}

    def gather(self, resolved: dict, rows: torch.Tensor) -> dict:
        idx = rows.numpy()
        return {
            "q_text": [str(t) for t in resolved["q_text"][idx]],
            "x_text": [[str(t) for t in row] for row in resolved["x_text"][idx]],
        }

    def to_parquet(self, path) -> None:
        """One row per text: ``kind`` (``query`` or ``doc``), ``id``, ``text`` (atomic write)."""
        frame = pd.DataFrame(
            [("query", i, t) for i, t in self.queries.items()]
            + [("doc", i, t) for i, t in self.docs.items()],
            columns=["kind", "id", "text"],
        )
        atomic_write_parquet(frame, path)

    @classmethod
    def from_parquet(cls, path) -> TextFeatures:
        """Read :meth:`to_parquet`'s file; an unknown ``kind`` raises, naming it."""
        frame = pd.read_parquet(path, columns=["kind", "id", "text"])
        unknown = sorted(set(frame["kind"]) - {"query", "doc"})
        if unknown:
            raise ValueError(f"{path}: kind must be 'query' or 'doc'; found {unknown}")
        table = {
            kind: dict(zip(part["id"].astype(str), part["text"].astype(str)))
            for kind, part in frame.groupby("kind")
        }
        return cls(table.get("query", {}), table.get("doc", {}))


class GroupData:
    """n groups of k items with teacher scores ``(n, k)`` and their resolved features."""

    def __init__(
        self,
        query_ids: np.ndarray,
        doc_ids: np.ndarray,
        teacher_scores: np.ndarray,
        features: FrozenFeatures | TextFeatures,
        valid: np.ndarray | None = None,
    ):
        self.query_ids = np.asarray(query_ids).astype(str)
        self.doc_ids = np.asarray(doc_ids, dtype=object)
        teacher = np.asarray(teacher_scores, dtype=np.float64)
        n = len(self.query_ids)
        if (
            self.doc_ids.ndim != 2
            or self.doc_ids.shape[0] != n
            or teacher.shape != self.doc_ids.shape
        ):
            raise ValueError(
                f"doc_ids and teacher_scores must both be (n={n}, k); got {self.doc_ids.shape} "
                f"and {teacher.shape}"
            )
        self.valid = None if valid is None else np.asarray(valid, dtype=bool)
        check = teacher if self.valid is None else np.where(self.valid, teacher, 0.0)
        bad = ~np.isfinite(check).all(axis=1)
        if bad.any():
            raise ValueError(
                f"teacher scores are NaN/inf for {int(bad.sum())} groups, first query "
                f"{str(self.query_ids[np.flatnonzero(bad)[0]])!r}"
            )
        self.teacher_scores = teacher
        self.features = features
        self.resolved = features.resolve(self.query_ids, self.doc_ids)
        self._teacher = torch.from_numpy(np.where(np.isfinite(teacher), teacher, 0.0)).float()
        self._valid = None if self.valid is None else torch.from_numpy(self.valid)

    @property
    def n(self) -> int:
        return len(self.query_ids)

    @property
    def k(self) -> int:
        return int(self.doc_ids.shape[1])

    def batch(self, rows) -> Batch:
        rows = torch.as_tensor(np.asarray(rows), dtype=torch.long)
        return Batch(
            teacher=self._teacher[rows],
            valid=None if self._valid is None else self._valid[rows],
            **self.features.gather(self.resolved, rows),
        )

    def subset(self, rows) -> GroupData:
        rows = np.asarray(rows)
        return GroupData(
            self.query_ids[rows],
            self.doc_ids[rows],
            self.teacher_scores[rows],
            self.features,
            None if self.valid is None else self.valid[rows],
        )

    @classmethod
    def from_groups(cls, groups, features) -> GroupData:
        """From a :class:`locent.realdata.store.Groups` (item 0 of each group is the positive)."""
        return cls(groups.query_ids, groups.doc_ids, groups.teacher_scores, features)


# ---------------------------------------------------------------- texts of training groups


def provenance_value(groups, keys, default):
    for key in keys:
        value = groups.provenance.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            for sub in ("name", "id", "dataset_id"):
                if isinstance(value.get(sub), str):
                    return value[sub]
    return default


def train_dataset_of(groups) -> str:
    """The training-query dataset named by a group file's provenance (default dev/small)."""
    return provenance_value(groups, ("train_dataset", "dataset_id", "dataset"), datasets.DEV_SMALL)


def training_texts(groups, train_dataset: str) -> tuple[dict, dict]:
    """Texts of training groups from ir_datasets: (query id → text, doc id → passage text).

    ``groups``: iterable of :class:`locent.realdata.store.Groups`. A query id without text in
    ``train_dataset`` raises, naming it and the count; passages follow ``datasets.doc_texts``.
    """
    q_text, d_text = {}, {}
    q_train = datasets.queries(train_dataset)
    for g in groups:
        missing = [q for q in g.query_ids if q not in q_train]
        if missing:
            raise ValueError(
                f"{train_dataset}: {len(missing)} training queries of sampler {g.sampler!r} have "
                f"no text, first {missing[0]!r}"
            )
        q_text.update({q: q_train[q] for q in g.query_ids})
        ids = sorted(set(g.doc_ids.ravel()))
        d_text.update(zip(ids, datasets.doc_texts(datasets.corpus_id(train_dataset), ids)))
    return q_text, d_text
