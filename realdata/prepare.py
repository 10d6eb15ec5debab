"""``locent realdata prepare``: training groups per sampler, and sampler pools on test queries.

For each *plan* (a training dataset and the test datasets whose target measure μ the samplers are
compared with):

- ``msmarco``: training queries ``msmarco-passage/dev/small``; test queries DL19 + DL20 judged;
  μ_q uniform over the shipped BM25 top-100 ``scoreddocs``; files in ``realdata/groups/``.
- ``vaswani`` / ``cranfield``: training and test queries of the dataset itself; μ_q uniform over
  the bm25s top-100 of the whole corpus; files in ``realdata/groups/<name>/``.

Per query the *universe* is the bm25s top-``universe`` over the corpus, scored by the teacher
(g) and by MiniLM (cosine). Only the passages that occur in universes and groups are encoded
(cached), never a whole 8.8M corpus. Positive: the judged-relevant passage of highest grade that
is in the corpus (seeded choice among ties; ``positive_source="qrels"``), else the teacher's top
universe item (``"teacher_top"``); dev/small positives are mostly outside the 28,606-passage
subset, so most msmarco groups are ``teacher_top``.

κ and coverage need ν_q on the **test** queries: every sampler is run on the test queries too
(pool without label exclusions) and the pools go to ``<groups>/pools/<test>/<sampler>.pool.parquet``
beside ``target.parquet`` (the support of μ_q, uniform).

Files are skipped when they exist with the same ``inputs_key`` (dataset hashes, parameters,
models, query ids) in their provenance, so a re-run reuses them.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from locent.realdata import datasets
from locent.realdata.encoders import DEFAULT_ENCODER, resolve_precision, slug
from locent.realdata.indexes import stemming
from locent.realdata.run_sources import DEFAULT_RUN_QUERIES
from locent.realdata.samplers import (
    SAMPLERS,
    SamplerConfig,
    Universe,
    candidate_pools,
    sample_groups,
)
from locent.realdata.store import Groups, write_groups
from locent.realdata.teachers import DEFAULT_TEACHER

from locent.progress import progress
from locent.provenance import (
    atomic_write_json,
    provenance_path,
    provenance_record,
    write_with_provenance,
)

#: Default number of training queries per plan (dev/small has 6,980; Vaswani all 93; Cranfield
#: 100 of 225). Cost on the 2-core CPU, cold (whole default prepare 500–512 s): the teacher scores
#: ≈ 280 universe items per query, each distinct passage once (MS MARCO ≈ 0.3 s per query,
#: Cranfield ≈ 0.1 s: 1,397 passages serve 20,000 pairs); the MiniLM encoding of the corpora for
#: the whole-corpus dense sampler is a fixed ≈ 400 s (28,606 + 11,429 + 1,400 passages at
#: 50–170 passages/s, bf16), cached afterwards.
DEFAULT_TRAIN_QUERIES = 100
#: Default number of test queries per test dataset used for κ and coverage.
DEFAULT_TEST_QUERIES = 6


@dataclass(frozen=True)
class Plan:
    name: str
    train: str
    tests: tuple[str, ...]
    subdir: str

    def groups_dir(self, out) -> Path:
        base = Path(out) / "realdata" / "groups"
        return base / self.subdir if self.subdir else base


PLANS = {
    "msmarco": Plan("msmarco", datasets.DEV_SMALL, datasets.TEST_DATASETS, ""),
    "vaswani": Plan("vaswani", "vaswani", ("vaswani",), "vaswani"),
    "cranfield": Plan("cranfield", "cranfield", ("cranfield",), "cranfield"),
}


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
            from locent.realdata.teachers import load_teacher

            self._teacher = load_teacher(
                self.teacher_name, device=self.device, cache_dir=self.cache
            )
        return self._teacher

    @property
    def encoder(self):
        if self._encoder is None:
            from locent.realdata.encoders import load_encoder

            self._encoder = load_encoder(self.encoder_name, self.device, self.precision)
        return self._encoder

    def table(self, dataset_id):
        """The embedding look-up of ``dataset_id``'s corpus (one per corpus)."""
        if self._tables is None:
            from locent.realdata.encoders import EmbeddingTables

            self._tables = EmbeddingTables(self.encoder, self.cache)
        return self._tables(dataset_id)

    def corpus_embeddings(self, dataset_id) -> np.ndarray:
        """``(N, D)`` embeddings of the whole corpus in index row order (cached on disk); later
        :meth:`table` look-ups of this corpus are served from them."""
        from locent.realdata.encoders import corpus_embeddings

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
        from locent.realdata.indexes import BM25Index

        corpus = datasets.corpus_id(dataset_id)
        if corpus not in self._indexes:
            self._indexes[corpus] = BM25Index.build(corpus, self.cache)
        return self._indexes[corpus]


def _labels(dataset_id: str, qids, corpus_set: set, seed: int):
    """Judged-relevant sets and the qrels positive (None when none is in the corpus)."""
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
    dataset_id: str, qids, qtexts, ids, teacher, dense, corpus_ids, res, seed: int, **masks
) -> Universe:
    """The :class:`Universe` of ``ids`` ``(n, u)`` with teacher scores ``teacher`` and MiniLM
    scores ``dense`` (both ``-inf`` on padding) and its labels: per query the positive is the
    best judged passage in the corpus (seeded choice among ties, source ``"qrels"``), else the
    teacher's top item of ``ids`` (``"teacher_top"``); judged-relevant ∪ {positive} is excluded
    from the negatives. ``masks``: ``bm25_rank`` and ``valid``, passed on."""
    judged, qrels_pos = _labels(dataset_id, qids, set(corpus_ids), seed)
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


def build_universe(dataset_id: str, qids, cfg: SamplerConfig, res: Resources, labels: bool = True):
    """The :class:`Universe` of ``qids``: BM25 top-``universe`` ∪ (``dense_source="corpus"``) the
    MiniLM corpus top-``dense_depth`` (faiss), every item scored by the teacher and by MiniLM."""
    from locent.realdata.indexes import dense_search
    from locent.realdata.samplers import NOT_BM25

    corpus = datasets.corpus_id(dataset_id)
    qtext_all = datasets.queries(dataset_id)
    qtexts = [qtext_all[q] for q in qids]
    index = res.index(dataset_id)
    bm25_ids, _ = index.search(qtexts, cfg.universe)
    n, u = bm25_ids.shape
    q_emb = res.encoder.encode(qtexts)
    ids, rank = bm25_ids, np.broadcast_to(np.arange(u, dtype=np.int64), (n, u))
    if cfg.dense_source == "corpus":
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
    return labelled_universe(
        dataset_id, qids, qtexts, ids, teacher, dense, corpus_ids, res, cfg.seed, **shared
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


def _inputs_key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _is_current(path: Path, key: str) -> bool:
    prov = provenance_path(path)
    if not (path.exists() and prov.exists()):
        return False
    try:
        return json.loads(prov.read_text()).get("inputs_key") == key
    except json.JSONDecodeError:
        return False


def _pool_frame(qids, pools, corpus_size: int):
    import pandas as pd

    rows = []
    for qid, pool in zip(qids, pools, strict=True):
        if pool is None:
            rows.append((qid, [], [], "corpus", corpus_size))
        else:
            m = max(len(pool), 1)
            rows.append((qid, list(map(str, pool)), [1.0 / m] * len(pool), "listed", corpus_size))
    return pd.DataFrame(rows, columns=["query_id", "doc_ids", "probs", "support", "corpus_size"])


def prepare_plan(
    plan: Plan,
    cfg: SamplerConfig,
    res: Resources,
    samplers=SAMPLERS,
    n_queries: int | None = DEFAULT_TRAIN_QUERIES,
    n_test_queries: int | None = DEFAULT_TEST_QUERIES,
    n_run_queries: int | None = DEFAULT_RUN_QUERIES,
) -> dict:
    """Build and write the groups and pools of one plan; returns a summary (counts, timings).

    ``n_run_queries``: test queries per DL test set on which the shipped first-stage runs are
    turned into groups (:mod:`locent.realdata.run_sources`; ``None`` = all, 0 = none)."""
    import pandas as pd

    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        raise ValueError(f"unknown sampler {unknown[0]!r}; choose from {SAMPLERS}")
    folder = plan.groups_dir(res.out)
    summary: dict = {"plan": plan.name, "samplers": {}, "tests": {}}
    t0 = time.perf_counter()
    qids = select_queries(plan.train, n_queries, cfg.seed)
    fingerprint = datasets.dataset_fingerprint(plan.train)
    common = dict(
        plan=plan.name,
        train_dataset=plan.train,
        dataset_fingerprint=fingerprint,
        teacher=res.teacher_name,
        encoder=res.encoder_name,
        sampler_config=cfg.as_dict(),
        bm25_stemming=stemming(),
        encoder_precision=resolve_precision(res.precision, res.device),
        query_ids_sha256=hashlib.sha256("\n".join(qids).encode()).hexdigest(),
        n_queries=len(qids),
    )
    todo = []
    for sampler in samplers:
        key = _inputs_key(sampler=sampler, **common)
        if not _is_current(folder / f"{sampler}.parquet", key):
            todo.append((sampler, key))
        else:
            summary["samplers"][sampler] = "reused"
    if todo:
        uni = build_universe(plan.train, qids, cfg, res, labels=True)
        for sampler, key in progress(todo, desc=f"{plan.name} groups", unit="sampler"):
            sg = sample_groups(uni, sampler, cfg)
            groups = scored_groups(
                plan.train, sampler, uni, sg, res, inputs_key=key, seed=cfg.seed, **common
            )
            prov = groups.provenance
            write_groups(groups, folder / f"{sampler}.parquet")
            pool = _pool_frame(qids, sg.pool_ids or [None] * len(qids), sg.corpus_size)
            write_with_provenance(
                pool, folder / f"{sampler}.pool.parquet", **{**prov, "artefact_of": sampler}
            )
            summary["samplers"][sampler] = {
                "groups": len(qids),
                "padded": int(sg.n_padded.sum()),
                "excluded": int(sg.n_excluded.sum()),
                "positive_from_qrels": int((uni.positive_source == "qrels").sum()),
            }
    for test in plan.tests:
        tdir = folder / "pools" / slug(test)
        if test == plan.train:  # same queries: the first test queries are training queries
            tq = qids[: n_test_queries or len(qids)]
        else:
            tq = select_queries(test, n_test_queries, cfg.seed)
        tcommon = dict(
            common,
            test_dataset=test,
            test_fingerprint=datasets.dataset_fingerprint(test),
            test_query_ids_sha256=hashlib.sha256("\n".join(tq).encode()).hexdigest(),
        )
        tkey = _inputs_key(samplers=list(samplers), **tcommon)
        if all(_is_current(tdir / f"{s}.pool.parquet", tkey) for s in samplers) and _is_current(
            tdir / "target.parquet", tkey
        ):
            summary["tests"][test] = "reused"
            continue
        uni = build_universe(test, tq, cfg, res, labels=False)
        target = _target_support(test, tq, uni)
        prov = dict(inputs_key=tkey, target_measure=target.attrs["measure"], **tcommon)
        write_with_provenance(
            pd.DataFrame({"query_id": tq, "doc_ids": target["doc_ids"].tolist()}),
            tdir / "target.parquet",
            **prov,
        )
        for sampler in samplers:
            pools = candidate_pools(uni, sampler, cfg)
            frame = _pool_frame(tq, pools or [None] * len(tq), len(uni.corpus_ids))
            write_with_provenance(frame, tdir / f"{sampler}.pool.parquet", sampler=sampler, **prov)
        summary["tests"][test] = {"queries": len(tq)}
    if n_run_queries != 0:
        from locent.realdata.run_sources import prepare_run_sources

        summary["runs"] = prepare_run_sources(
            folder, plan.tests, cfg, res, n_run_queries or None, common
        )
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    atomic_write_json(folder / "prepare_summary.json", summary)
    return summary


def _target_support(test: str, qids, uni: Universe):
    """Support of μ_q per test query: shipped BM25 top-100 scoreddocs, else bm25s top-100."""
    import pandas as pd

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
    bm25_top = (uni.bm25_rank < 100) & uni.valid  # BM25 items only, never dense-only ones
    frame = pd.DataFrame(
        {"doc_ids": [list(r[m]) for r, m in zip(uni.doc_ids, bm25_top, strict=True)]},
        index=list(qids),
    )
    frame.attrs["measure"] = f"{test} bm25s top-100 over the whole corpus, uniform"
    return frame


def prepare(
    out,
    plans=("msmarco", "vaswani", "cranfield"),
    samplers=SAMPLERS,
    cfg: SamplerConfig | None = None,
    n_queries: int | None = DEFAULT_TRAIN_QUERIES,
    n_test_queries: int | None = DEFAULT_TEST_QUERIES,
    teacher=DEFAULT_TEACHER,
    encoder=DEFAULT_ENCODER,
    device="cpu",
    precision="auto",
    n_run_queries: int | None = DEFAULT_RUN_QUERIES,
) -> dict:
    """Run :func:`prepare_plan` for each plan; returns ``{plan: summary}``."""
    datasets.ensure_irds_home(out)
    cfg = cfg or SamplerConfig()
    res = Resources(out, teacher, encoder, device, precision)
    unknown = [p for p in plans if p not in PLANS]
    if unknown:
        raise ValueError(f"unknown plan {unknown[0]!r}; choose from {tuple(PLANS)}")
    return {
        p: prepare_plan(PLANS[p], cfg, res, samplers, n_queries, n_test_queries, n_run_queries)
        for p in plans
    }
