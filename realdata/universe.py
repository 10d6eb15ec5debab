"""The labelled universe of a query set, and what prepare, run sources and measure share.

- :class:`Resources`: the teacher, the locality encoder, BM25 indexes and corpus embeddings of one
  run, loaded lazily (each at most once).
- :func:`build_universe`: per query the BM25 top-``universe`` over the corpus (∪ the MiniLM corpus
  top-``dense_depth`` when ``dense_source="corpus"``; with a teacher file, only the BM25 docs it
  scores), every item scored by the teacher g and by MiniLM cosine; :func:`labelled_universe`
  adds the labels (positive: the best judged passage in the corpus, seeded choice among ties,
  else the teacher's top item; judged-relevant ∪ {positive} excluded from the negatives).
- :func:`target_support`: the support of the test-time measure μ_q (shipped BM25 top-100
  ``scoreddocs``, else the bm25s top-100 over the whole corpus), uniform.
- :func:`scored_groups`, :func:`pool_frame`: sampled groups with teacher scores and provenance;
  a sampler's candidate pools ν_q as a frame.
- :func:`inputs_key` / :func:`is_current`: the reuse rule (a file is reused when its provenance
  carries the same key of dataset hashes, parameters, models and query ids).

:mod:`locent.realdata.prepare`, :mod:`locent.realdata.run_sources` and
:mod:`locent.realdata.measure` import this module; it imports none of them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata import datasets
from locent.realdata.encoders import (
    DEFAULT_ENCODER,
    EmbeddingTables,
    corpus_embeddings,
    load_encoder,
)
from locent.realdata.indexes import BM25Index, dense_search
from locent.realdata.samplers import NOT_BM25, SamplerConfig, Universe
from locent.realdata.store import Groups
from locent.realdata.teachers import DEFAULT_TEACHER, load_teacher

from locent.provenance import provenance_path, provenance_record


class Resources:
    """Lazily loaded models and indexes shared by the plans of one run."""

    def __init__(
        self, out, teacher=DEFAULT_TEACHER, encoder=DEFAULT_ENCODER, device="cpu", precision="auto"
    ):
        self.out = Path(out)
        self.cache = self.out / "cache"
        self.teacher_name = teacher
        self.encoder_name = encoder
        self.device = device
        self.precision = precision
        self._teacher = None
        self._encoder = None
        self._tables = None
        self._indexes: dict = {}
        self._corpus_emb: dict = {}

    @property
    def teacher(self):
        if self._teacher is None:
            self._teacher = load_teacher(
                self.teacher_name, device=self.device, cache_dir=self.cache
            )
        return self._teacher

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = load_encoder(self.encoder_name, self.device, self.precision)
        return self._encoder

    def table(self, dataset_id):
        """The embedding look-up of ``dataset_id``'s corpus (one per corpus)."""
        if self._tables is None:
            self._tables = EmbeddingTables(self.encoder, self.cache)
        return self._tables(dataset_id)

    def corpus_embeddings(self, dataset_id) -> np.ndarray:
        """``(N, D)`` embeddings of the whole corpus in index row order (cached on disk); later
        :meth:`table` look-ups of this corpus are served from them."""
        corpus = datasets.corpus_id(dataset_id)
        if corpus not in self._corpus_emb:
            ids, emb = corpus_embeddings(corpus, self.encoder, self.cache / "embeddings")
            if list(ids) != list(self.index(corpus).doc_ids):
                raise ValueError(f"{corpus}: corpus embeddings and BM25 index differ in doc order")
            self._corpus_emb[corpus] = emb
            if self._tables is not None:  # re-open: now backed by the corpus file
                self._tables.reopen(corpus)
        return self._corpus_emb[corpus]

    def index(self, dataset_id):
        corpus = datasets.corpus_id(dataset_id)
        if corpus not in self._indexes:
            self._indexes[corpus] = BM25Index.build(corpus, self.cache)
        return self._indexes[corpus]


def select_queries(dataset_id: str, n: int | None, seed: int, need_qrels: bool = True) -> list[str]:
    """``n`` query ids drawn without replacement (seeded) from the queries (with qrels)."""
    queries = datasets.queries(dataset_id)
    ids = sorted(queries)
    if need_qrels:
        judged = set(datasets.qrels(dataset_id).query_id)
        ids = [q for q in ids if q in judged]
    if n is None or n >= len(ids):
        return ids
    if n < 1:
        raise ValueError(f"number of queries must be >= 1; got {n}")
    rng = np.random.default_rng([seed, 7])
    return sorted(rng.choice(np.array(ids, dtype=object), size=n, replace=False).tolist())


def qrels_labels(dataset_id: str, qids, corpus_set: set, seed: int):
    """``(judged, positive)``: per query the judged-relevant set and the qrels positive, the
    best-graded judged passage in the corpus (seeded choice among ties; None when none is)."""
    q = datasets.qrels(dataset_id)
    q = q[q.query_id.isin(set(qids)) & (q.relevance >= 1)]
    judged = {qid: set(g) for qid, g in q.groupby("query_id")["doc_id"]}
    q = q[q.doc_id.isin(corpus_set)]
    rng = np.random.default_rng([seed, 11])
    q = q.assign(tiebreak=rng.random(len(q))).sort_values(
        ["query_id", "relevance", "tiebreak"], ascending=[True, False, True]
    )
    first = q.drop_duplicates("query_id").set_index("query_id")["doc_id"].to_dict()
    return [judged.get(qid, set()) for qid in qids], [first.get(qid) for qid in qids]


def labelled_universe(
    dataset_id: str,
    qids,
    qtexts,
    ids,
    teacher,
    dense,
    corpus_ids,
    res,
    seed: int,
    unscored_positives=frozenset(),
    **masks,
) -> Universe:
    """The :class:`Universe` of ``ids`` ``(n, u)`` with teacher scores ``teacher`` and MiniLM
    scores ``dense`` (both ``-inf`` on padding) and its labels: per query the positive is the
    best judged passage in the corpus (seeded choice among ties, source ``"qrels"``), else the
    teacher's top item of ``ids`` (``"teacher_top"``); judged-relevant ∪ {positive} is excluded
    from the negatives. ``unscored_positives``: query ids whose qrels positive a teacher file
    does not score (:class:`~locent.realdata.teacher_cover.TeacherCover`); they take the teacher's
    top item too, their judged set still excluded. ``masks``: ``bm25_rank`` and ``valid``."""
    judged, qrels_pos = qrels_labels(dataset_id, qids, set(corpus_ids), seed)
    qrels_pos = [
        None if q in unscored_positives else p for q, p in zip(qids, qrels_pos, strict=True)
    ]
    top = ids[np.arange(len(qids)), teacher.argmax(axis=1)]
    positive = np.array(
        [p if p is not None else t for p, t in zip(qrels_pos, top, strict=True)], object
    )
    pos_text = np.array(datasets.doc_texts(datasets.corpus_id(dataset_id), positive), object)
    return Universe(
        np.asarray(qids, object),
        ids,
        teacher,
        dense,
        corpus_ids,
        [set(j) | {p} for j, p in zip(judged, positive, strict=True)],
        positive,
        res.teacher.score(list(qids), qtexts, positive[:, None], pos_text[:, None])[:, 0],
        np.array(["qrels" if p is not None else "teacher_top" for p in qrels_pos], object),
        **masks,
    )


def build_universe(
    dataset_id: str, qids, cfg: SamplerConfig, res: Resources, labels: bool = True, cover=None
):
    """The :class:`Universe` of ``qids``: BM25 top-``universe`` ∪ (``dense_source="corpus"``) the
    MiniLM corpus top-``dense_depth`` (faiss), every item scored by the teacher and by MiniLM.

    ``cover``: with a teacher file, its :class:`~locent.realdata.teacher_cover.TeacherCover` of
    ``qids`` (from :func:`~locent.realdata.teacher_cover.check_teacher_covers`): the universe is
    then the BM25 top-``universe`` of that same search restricted to the docs the file scores
    (BM25 order and ranks kept, ``""`` padding), never extended by whole-corpus neighbours, and
    a qrels positive the file does not score gives way to the teacher's top item."""
    corpus = datasets.corpus_id(dataset_id)
    qtext_all = datasets.queries(dataset_id)
    qtexts = [qtext_all[q] for q in qids]
    index = res.index(dataset_id)
    if cover is None:
        bm25_ids, _ = index.search(qtexts, cfg.universe)
        n, u = bm25_ids.shape
        ids, rank = bm25_ids, np.broadcast_to(np.arange(u, dtype=np.int64), (n, u))
    else:  # the search the coverage check already ran, restricted to what the file scores
        if list(cover.query_ids) != list(qids):
            raise ValueError(f"{dataset_id}: the teacher cover was checked for other queries")
        bm25_ids, rank = cover.universe_ids()
        ids = bm25_ids
        n, u = bm25_ids.shape
    q_emb = res.encoder.encode(qtexts)
    if cfg.dense_source == "corpus" and cover is None:
        rows, _ = dense_search(q_emb, res.corpus_embeddings(dataset_id), cfg.dense_depth)
        dense_ids = np.asarray(index.doc_ids, dtype=object)[rows]
        # dense-only items go after the BM25 items; duplicates become padding ("")
        extra = []
        for row, bm25_row in zip(dense_ids, bm25_ids, strict=True):
            seen = set(bm25_row)
            extra.append([d for d in row if d not in seen])
        width = max([len(e) for e in extra] + [0])
        pad = np.full((n, width), "", dtype=object)
        for i, e in enumerate(extra):
            pad[i, : len(e)] = e
        ids = np.concatenate([bm25_ids, pad], axis=1)
        rank = np.concatenate([rank, np.full((n, width), NOT_BM25, np.int64)], axis=1)
    valid = ids != ""
    filled = np.where(valid, ids, ids[:, :1])  # padding scored as a copy of item 0, then masked
    texts = datasets.doc_text_matrix(corpus, filled)
    teacher = res.teacher.score(list(qids), qtexts, filled, texts)
    teacher = np.where(valid, teacher, -np.inf)
    d_emb = res.table(dataset_id)(filled)
    dense = np.where(valid, np.einsum("nd,nud->nu", q_emb, d_emb), -np.inf)
    corpus_ids = np.asarray(index.doc_ids, dtype=object)
    shared = dict(bm25_rank=rank.copy(), valid=valid)
    if not labels:
        return Universe(
            np.asarray(qids, object), ids, teacher, dense, corpus_ids, [set()] * n, **shared
        )
    unscored = cover.unscored_positives if cover is not None else frozenset()
    return labelled_universe(
        dataset_id, qids, qtexts, ids, teacher, dense, corpus_ids, res, cfg.seed, unscored, **shared
    )


def scored_groups(dataset_id: str, sampler: str, uni: Universe, sg, res, **provenance) -> Groups:
    """:class:`Groups` of sampled ``sg`` (over ``uni``'s queries) with their teacher scores and a
    provenance record (``provenance`` plus the counts of padding, exclusions, qrels positives)."""
    qids = list(uni.query_ids)
    qtext = datasets.queries(dataset_id)
    texts = datasets.doc_text_matrix(datasets.corpus_id(dataset_id), sg.doc_ids)
    scores = res.teacher.score(qids, [qtext[q] for q in qids], sg.doc_ids, texts)
    prov = provenance_record(
        sampler=sampler,
        positive_from_qrels=int((uni.positive_source == "qrels").sum()),
        n_padded_total=int(sg.n_padded.sum()),
        n_excluded_total=int(sg.n_excluded.sum()),
        **provenance,
    )
    return Groups(
        sampler=sampler,
        query_ids=np.asarray(qids, object),
        doc_ids=sg.doc_ids,
        teacher_scores=scores,
        inclusion_probs=sg.inclusion_probs,
        positive_source=uni.positive_source,
        n_padded=sg.n_padded,
        n_excluded=sg.n_excluded,
        provenance=prov,
    )


def target_support(test: str, qids, uni: Universe, bm25_ids=None):
    """Support of μ_q per test query: shipped BM25 top-100 scoreddocs, else bm25s top-100.

    ``bm25_ids (n, u)``: the BM25 search of ``qids`` when ``uni`` is restricted to what a teacher
    file scores (:attr:`~locent.realdata.teacher_cover.TeacherCover.bm25_ids`): μ_q is where the
    student is used at test time, whatever the teacher scores, so it stays the whole top-100 (κ
    and coverage then show what the restricted pools cannot reach)."""
    ds = datasets.load(test)
    if ds.has_scoreddocs():
        try:
            sd = datasets.scoreddocs(test)
        except FileNotFoundError:
            sd = None
        if sd is not None:
            sd = sd[sd.query_id.isin(set(qids))].sort_values(
                ["query_id", "score"], ascending=[True, False]
            )
            top = sd.groupby("query_id").head(100).groupby("query_id")["doc_id"].apply(list)
            missing = [q for q in qids if q not in top.index]
            if missing:
                raise ValueError(f"{test}: no scoreddocs for query {missing[0]!r}")
            frame = pd.DataFrame({"doc_ids": [top[q] for q in qids]}, index=list(qids))
            frame.attrs["measure"] = f"{test} scoreddocs top-100, uniform"
            return frame
    if bm25_ids is not None:
        rows = [[d for d in row[:100] if d != ""] for row in bm25_ids]
    else:
        bm25_top = (uni.bm25_rank < 100) & uni.valid  # BM25 items only, never dense-only ones
        rows = [list(r[m]) for r, m in zip(uni.doc_ids, bm25_top, strict=True)]
    frame = pd.DataFrame({"doc_ids": rows}, index=list(qids))
    frame.attrs["measure"] = f"{test} bm25s top-100 over the whole corpus, uniform"
    return frame


def pool_frame(qids, pools, corpus_size: int):
    rows = []
    for qid, pool in zip(qids, pools, strict=True):
        if pool is None:
            rows.append((qid, [], [], "corpus", corpus_size))
        else:
            m = max(len(pool), 1)
            rows.append((qid, list(map(str, pool)), [1.0 / m] * len(pool), "listed", corpus_size))
    return pd.DataFrame(rows, columns=["query_id", "doc_ids", "probs", "support", "corpus_size"])


def inputs_key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def is_current(path: Path, key: str) -> bool:
    prov = provenance_path(path)
    if not (path.exists() and prov.exists()):
        return False
    try:
        return json.loads(prov.read_text()).get("inputs_key") == key
    except json.JSONDecodeError:
        return False
