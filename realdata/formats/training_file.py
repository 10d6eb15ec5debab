"""The record every training-file reader returns, and how it becomes sampler :class:`Groups`.

A training file (the authors' JSONL, a sentence-transformers table, a Tevatron JSONL, a TREC run,
a PyTerrier frame) lists, per query, a positive and its negatives, or a ranked list. Readers
turn each into a :class:`TrainingFile`: the same arrays as :class:`~locent.realdata.store.Groups`
(``query_ids (n,)``, ``doc_ids (n, k)``, item 0 the positive) plus what a file may or may not
carry:

- ``teacher_scores (n, k)`` float64 when the file carries scores (a run, a score file, a score
  column), else ``None``; :meth:`TrainingFile.to_groups` then takes them from a teacher.
- ``labels (n, k)`` relevance labels when the file states them (positive 1, negatives 0), else
  ``None``.
- ``query_texts`` / ``doc_texts`` ``{id: text}``: kept so encoders can embed them; empty when the
  file carries ids only (the caller then looks texts up in a collection).

**Inclusion probabilities** ν_q(x) of a file's sampler are unknown: ``to_groups`` writes NaN and
the provenance says ``"inclusion_probs": "unknown"`` (κ cannot be computed from such groups).

**Ids for texts.** When a format carries texts but no ids, the id is :func:`text_id` — ``"t"``
followed by the 16 hex digits of blake2b-64 of the UTF-8 text, exact (no normalisation), so the
same text gets the same id in every file and run. The provenance names the scheme per side
(``query_id_scheme``, ``doc_id_scheme``: ``"file"`` or ``TEXT_ID_SCHEME``). Two different texts
under one id (in the file, or a hash collision) raise.

**Group sizes.** ``Groups`` needs one k. :func:`fixed_k` builds the arrays from ragged per-query
lists: with ``k=None`` all groups must have the same size (else a ``ValueError`` with the size
histogram); with ``k`` given, longer groups keep their first k items (file or rank order) and
are counted in ``n_truncated``; shorter ones raise unless ``drop_short=True`` (then counted in
``n_short_dropped`` with the first query ids named, and a warning). A group of one item (a query
with no candidates besides its positive) always raises.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from locent.realdata.store import Groups

#: how :func:`text_id` makes an id out of a text (stated in provenance)
TEXT_ID_SCHEME = "blake2b64-of-text"


def text_id(text: str) -> str:
    """Stable id of a text: ``"t" + blake2b(text, 8 bytes).hexdigest()`` (17 characters)."""
    if not isinstance(text, str):
        raise ValueError(f"a text must be a string to derive its id; got {type(text).__name__}")
    return "t" + hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


class TextTable:
    """``{id: text}`` that refuses two different texts under one id (names both)."""

    def __init__(self, what: str, source: str):
        self.what = what
        self.source = source
        self.texts: dict[str, str] = {}

    def add(self, item_id: str, text: str, where: str = "") -> None:
        if not isinstance(text, str):
            raise ValueError(f"{self.source}{where}: {self.what} {item_id!r} has no text")
        old = self.texts.setdefault(item_id, text)
        if old != text:
            raise ValueError(
                f"{self.source}{where}: duplicate {self.what} id {item_id!r} with two different "
                f"texts ({old[:40]!r}... vs {text[:40]!r}...)"
            )

    def id_for(self, item_id, text: str | None, where: str = "") -> str:
        """The file's id when given (text recorded if any), else :func:`text_id` of the text."""
        if item_id is None or (isinstance(item_id, float) and np.isnan(item_id)):
            if text is None:
                raise ValueError(f"{self.source}{where}: a {self.what} has neither id nor text")
            item_id = text_id(text)
        item_id = str(item_id)
        if text is not None:
            self.add(item_id, text, where)
        return item_id


@dataclass
class TrainingFile:
    """What one training file holds; shapes as in :class:`~locent.realdata.store.Groups`.

    ``query_ids (n,)`` object, ``doc_ids (n, k)`` object (item 0 the positive, or the top of a
    ranked list), ``teacher_scores (n, k)`` float64 or ``None``, ``labels (n, k)`` float64 or
    ``None``, ``positive_source (n,)`` (``file``: stated positive; ``run_top``: rank 1 of a run;
    ``teacher_top``: highest score of a score column).
    """

    format: str
    query_ids: np.ndarray
    doc_ids: np.ndarray
    teacher_scores: np.ndarray | None
    labels: np.ndarray | None
    positive_source: np.ndarray
    query_texts: dict[str, str] = field(default_factory=dict)
    doc_texts: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.query_ids)

    @property
    def k(self) -> int:
        return self.doc_ids.shape[1]

    def pairs(self):
        """DataFrame ``(query_id, doc_id)`` of every candidate, for :func:`teacher_coverage`."""
        import pandas as pd

        return pd.DataFrame(
            {
                "query_id": np.repeat(self.query_ids.astype(str), self.k),
                "doc_id": self.doc_ids.astype(str).reshape(-1),
            }
        )

    def texts(self, dataset_id: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(query_texts (n,), doc_texts (n, k))`` object arrays, for encoders and teachers.

        The file's own texts first; ids it carries without text are looked up in the ir_datasets
        collection ``dataset_id`` (any ID, ``local/<name>`` included). An id found in neither is
        a ``ValueError`` naming it, its query and how many are missing.
        """
        from locent.realdata import datasets

        source = self.provenance.get("path", self.format)
        qtext = dict(self.query_texts)
        need_q = sorted({str(q) for q in self.query_ids} - set(qtext))
        need_d = sorted({str(d) for d in self.doc_ids.ravel()} - set(self.doc_texts))
        if (need_q or need_d) and dataset_id is None:
            what = f"doc {need_d[0]!r}" if need_d else f"query {need_q[0]!r}"
            raise ValueError(
                f"{source}: {len(need_q)} queries and {len(need_d)} docs have ids but no text "
                f"in the file (first {what}); pass dataset_id= the collection they come from"
            )
        if need_q:
            known = datasets.queries(dataset_id)
            missing = [q for q in need_q if q not in known]
            if missing:
                raise ValueError(
                    f"{source}: {len(missing)} query ids are not in {dataset_id!r}, first "
                    f"{missing[0]!r}"
                )
            qtext.update({q: known[q] for q in need_q})
        dtext = dict(self.doc_texts)
        if need_d:
            found, n_missing = datasets.doc_texts(dataset_id, need_d, missing="count")
            if n_missing:
                first = next(d for d, t in zip(need_d, found, strict=True) if t is None)
                row = int(np.flatnonzero((self.doc_ids == first).any(axis=1))[0])
                raise ValueError(
                    f"{source}: {n_missing} doc ids are not in the {dataset_id!r} corpus, first "
                    f"{first!r} (query {self.query_ids[row]!r})"
                )
            dtext.update(zip(need_d, found, strict=True))
        queries = np.array([qtext[str(q)] for q in self.query_ids], dtype=object)
        docs = np.vectorize(lambda d: dtext[str(d)], otypes=[object])(self.doc_ids)
        return queries, docs

    def to_groups(self, sampler: str | None = None, teacher=None) -> Groups:
        """The :class:`Groups` record samplers produce (inclusion probabilities NaN = unknown).

        Teacher scores: the file's own, unless ``teacher`` is given — an object with
        ``score(query_ids, query_texts, doc_ids, doc_texts) -> (n, k)`` (any locent teacher,
        or a :class:`~locent.realdata.formats.teacher_files.TeacherTable`). Texts passed to it
        are the file's (``None`` where the file has ids only). No scores at all → ``ValueError``.
        """
        sampler = sampler or self.provenance.get("sampler") or self.format
        prov = dict(self.provenance)
        if teacher is not None:
            qtexts = [self.query_texts.get(str(q)) for q in self.query_ids]
            dtexts = np.vectorize(lambda d: self.doc_texts.get(str(d)), otypes=[object])(
                self.doc_ids
            )
            scores = np.asarray(teacher.score(self.query_ids, qtexts, self.doc_ids, dtexts))
            prov["teacher"] = repr(teacher)
            prov["teacher_provenance"] = dict(getattr(teacher, "provenance", {}) or {})
        elif self.teacher_scores is not None:
            scores = self.teacher_scores
            prov["teacher"] = f"file:{prov.get('path', self.format)}"
        else:
            raise ValueError(
                f"{prov.get('path', self.format)} ({self.format}) carries no teacher scores; "
                "pass teacher= (a TeacherTable from read_teacher_file, or a locent teacher)"
            )
        prov["inclusion_probs"] = "unknown"
        return Groups(
            sampler=sampler,
            query_ids=self.query_ids.astype(object),
            doc_ids=self.doc_ids.astype(object),
            teacher_scores=np.asarray(scores, dtype=np.float64),
            inclusion_probs=np.full(self.doc_ids.shape, np.nan),
            positive_source=self.positive_source.astype(object),
            n_padded=np.zeros(self.n, dtype=np.int64),
            n_excluded=np.zeros(self.n, dtype=np.int64),
            provenance=prov,
        )


def fixed_k(
    source: str,
    query_ids: list[str],
    items: list[list[str]],
    values: dict[str, list[list[float]]],
    k: int | None = None,
    drop_short: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """Ragged per-group lists → ``(query_ids (n,), doc_ids (n, k), {name: (n, k)}, counts)``.

    ``items[i]`` are the ids of group i in order (positive or rank 1 first); ``values[name][i]``
    runs parallel to it (scores, labels). Rules in the module docstring.
    """
    if not items:
        raise ValueError(f"{source}: no groups")
    sizes = np.array([len(x) for x in items])
    one = np.flatnonzero(sizes < 2)
    if one.size:
        q = query_ids[one[0]]
        raise ValueError(
            f"{source}: query {q!r} has no candidates besides its first item "
            f"({one.size} such groups); a group needs k >= 2"
        )
    counts: dict[str, Any] = {"n_groups_in_file": len(items)}
    if k is None:
        if (sizes != sizes[0]).any():
            hist = dict(sorted(Counter(sizes.tolist()).items()))
            q = query_ids[int(np.flatnonzero(sizes != sizes[0])[0])]
            raise ValueError(
                f"{source}: groups differ in size {hist} (size: groups), first differing query "
                f"{q!r}; pass k= to keep the first k items of each group"
            )
        k = int(sizes[0])
    if k < 2:
        raise ValueError(f"k must be >= 2; got {k}")
    keep = sizes >= k
    counts["n_truncated"] = int((sizes > k).sum())
    counts["n_short_dropped"] = int((~keep).sum())
    if counts["n_short_dropped"]:
        short = [query_ids[i] for i in np.flatnonzero(~keep)[:5]]
        if not drop_short:
            raise ValueError(
                f"{source}: {counts['n_short_dropped']} groups have fewer than k={k} items, "
                f"first queries {short}; pass drop_short=True to drop them (counted)"
            )
        counts["short_queries_first"] = short
        warnings.warn(
            f"{source}: dropped {counts['n_short_dropped']} groups with fewer than k={k} items "
            f"(first queries {short})",
            stacklevel=3,
        )
    idx = np.flatnonzero(keep)
    if not idx.size:
        raise ValueError(f"{source}: no group has k={k} items")
    qids = np.array([str(query_ids[i]) for i in idx], dtype=object)
    doc_ids = np.array([[str(d) for d in items[i][:k]] for i in idx], dtype=object).reshape(-1, k)
    arrays = {
        name: np.array([list(vals[i][:k]) for i in idx], dtype=np.float64).reshape(-1, k)
        for name, vals in values.items()
    }
    dup = [d for row in doc_ids for d, c in Counter(row).items() if c > 1]
    if dup:
        q = next(q for q, row in zip(qids, doc_ids, strict=True) if len(set(row)) < k)
        raise ValueError(f"{source}: query {q!r} lists doc {dup[0]!r} twice in one group")
    counts["duplicate_queries"] = int(len(qids) - len(set(qids)))
    return qids, doc_ids, arrays, counts
