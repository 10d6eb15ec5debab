"""Shipped first-stage runs as candidate sources on the DL queries (issue 4, "Data").

The five real systems in ``../shared/data/runs/msmarco-passage`` (BM25, BM25+RM3, TAS-B,
SPLADE++ ED, OpenAI ada-2; top-100 per DL19/DL20 query) are real multi-system candidate sets.
Each run is used as a sampler on the DL test queries: ν_q uniform over the run's top-``depth``
(the judged-relevant passages excluded), groups of 1 positive + k − 1 negatives drawn from it,
and the same measurements as the samplers (Δ̂_q, H(g), κ_q against the test-time target μ = the
shipped BM25 top-100 ``scoreddocs``, coverage). That measures, on real systems rather than our
re-implementations, whether elaborate first stages produce more local candidate sets
(THEORY.md §7 item 6).

Mechanics: a run becomes a :class:`locent.realdata.samplers.Universe` whose ``bm25_rank`` is the
run's rank, so the ``bm25`` pool of depth ``depth`` *is* the run's top-``depth``; sampling,
exclusions, padding and inclusion probabilities are the samplers' own code. Run documents missing
from the corpus are counted (``n_missing_docs``), never silently dropped; a query absent from a
run is an error naming both.

Files: ``<groups>/runs/<test-slug>/<system>.parquet`` (groups, sampler ``run:<system>``) and
``<system>.pool.parquet`` beside them; :func:`locent.realdata.measure.measure_run_sources`
writes ``realdata/measure/first_stage_runs.csv``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata import datasets
from locent.realdata.encoders import slug
from locent.realdata.samplers import (
    NOT_BM25,
    SamplerConfig,
    Universe,
    candidate_pools,
    sample_groups,
)
from locent.realdata.store import write_groups
from locent.realdata.universe import (
    inputs_key,
    is_current,
    labelled_universe,
    pool_frame,
    scored_groups,
    select_queries,
)

from locent.provenance import write_with_provenance

#: Default number of DL queries per test set used as run-source queries (of 43 / 54 judged).
DEFAULT_RUN_QUERIES = 20


def run_matrix(run: pd.DataFrame, qids, depth: int, corpus_set: set) -> tuple[np.ndarray, int]:
    """``(doc_ids (n, w) object, n_missing)``: each query's run top-``depth`` by score (ties by
    rank), documents outside the corpus removed and counted; short rows padded with ``""``."""
    run = run.sort_values(["query_id", "score", "rank"], ascending=[True, False, True])
    top = run.groupby("query_id").head(depth)
    absent = [q for q in qids if q not in set(top.query_id)]
    if absent:
        raise ValueError(f"run has no candidates for query {absent[0]!r} ({len(absent)} queries)")
    in_corpus = top.doc_id.isin(corpus_set)
    n_missing = int((~in_corpus).sum())
    lists = top[in_corpus].groupby("query_id")["doc_id"].apply(list)
    width = max(len(lists.get(q, [])) for q in qids)
    ids = np.full((len(qids), width), "", dtype=object)
    for i, q in enumerate(qids):
        row = lists.get(q, [])
        ids[i, : len(row)] = row
    return ids, n_missing


def run_universe(test: str, qids, ids: np.ndarray, res, seed: int) -> Universe:
    """The :class:`Universe` of a run's top-k ``ids`` ``(n, w)`` (rank order, ``""`` padding; see
    :func:`run_matrix`) with teacher and MiniLM scores and the test qrels as labels (positive: the
    best judged passage in the corpus, else the teacher's top item of the run)."""
    corpus_ids = np.asarray(res.index(test).doc_ids, dtype=object)
    valid = ids != ""
    filled = np.where(valid, ids, ids[:, :1])
    texts = datasets.doc_text_matrix(datasets.corpus_id(test), filled)
    qtext_all = datasets.queries(test)
    qtexts = [qtext_all[q] for q in qids]
    teacher = np.where(valid, res.teacher.score(list(qids), qtexts, filled, texts), -np.inf)
    q_emb = res.encoder.encode(qtexts)
    dense = np.where(valid, np.einsum("nd,nud->nu", q_emb, res.table(test)(filled)), -np.inf)
    rank = np.where(valid, np.arange(ids.shape[1])[None, :], NOT_BM25)
    return labelled_universe(
        test, qids, qtexts, ids, teacher, dense, corpus_ids, res, seed, bm25_rank=rank, valid=valid
    )


def prescore_runs(test: str, qids, matrices, res) -> int:
    """Score the union of the runs' candidate pairs (``matrices``: one ``(n, w)`` doc-id matrix
    per run, rows = ``qids``, from :func:`run_matrix`) in one teacher call, so each passage runs
    through the teacher once however many runs retrieve it (the teacher's score cache then serves
    :func:`run_universe`). Returns the number of distinct pairs scored (0 for a teacher read
    from a file, which has nothing to cache)."""
    if getattr(res.teacher, "cache", None) is None:
        return 0
    pairs = sorted(
        {(q, d) for ids in matrices for q, row in zip(qids, ids, strict=True) for d in row if d}
    )
    if not pairs:
        return 0
    qtext = datasets.queries(test)
    doc_ids = np.array([d for _, d in pairs], dtype=object)
    res.teacher.score_pairs(
        [q for q, _ in pairs],
        [qtext[q] for q, _ in pairs],
        doc_ids,
        datasets.doc_text_matrix(datasets.corpus_id(test), doc_ids),
    )
    return len(pairs)


def prepare_run_sources(
    folder: Path, tests, cfg: SamplerConfig, res, n_queries: int | None, common: dict
) -> dict:
    """Groups and pools of every shipped run on the DL test queries; returns a summary."""
    summary: dict = {}
    for test in tests:
        runs = datasets.shipped_runs(test)
        if not runs:
            continue
        qids = select_queries(test, n_queries, cfg.seed)
        fingerprint = datasets.dataset_fingerprint(test)
        tdir = folder / "runs" / slug(test)
        depth = min(cfg.depth, 100)
        run_cfg = SamplerConfig(
            k=cfg.k,
            depth=depth,
            universe=depth,
            rerank_depth=depth,
            dense_depth=depth,
            dense_source="bm25",
            seed=cfg.seed,
        )
        corpus = set(res.index(test).doc_ids)
        pending = []
        for system, path in runs.items():
            key = inputs_key(
                system=system,
                run_sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                test_fingerprint=fingerprint,
                query_ids=qids,
                run_config=run_cfg.as_dict(),
                **common,
            )
            target = tdir / f"{system}.parquet"
            if is_current(target, key):
                summary[f"{test}:{system}"] = "reused"
            else:
                run = datasets.read_trec_run(path)
                pending.append((system, path, key, target, *run_matrix(run, qids, depth, corpus)))
        prescore_runs(test, qids, [p[4] for p in pending], res)
        for system, path, key, target, ids, n_missing in pending:
            uni = run_universe(test, qids, ids, res, cfg.seed)
            sg = sample_groups(uni, "bm25", run_cfg)
            groups = scored_groups(
                test,
                f"run:{system}",
                uni,
                sg,
                res,
                run_file=str(path),
                inputs_key=key,
                seed=cfg.seed,
                test_dataset=test,
                n_missing_docs=n_missing,
                **common,
            )
            prov = groups.provenance
            pools = candidate_pools(uni, "bm25", run_cfg)
            write_with_provenance(
                pool_frame(qids, pools, len(uni.corpus_ids)),
                tdir / f"{system}.pool.parquet",
                **{**prov, "artefact_of": f"run:{system}"},
            )
            write_groups(groups, target)
            summary[f"{test}:{system}"] = {
                "queries": len(qids),
                "missing_docs": n_missing,
                "padded": int(sg.n_padded.sum()),
            }
    return summary
