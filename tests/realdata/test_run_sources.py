"""Shipped first-stage runs as samplers on DL queries: groups, labels, pools, κ and the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def test_run_matrix_orders_counts_missing_and_names_absent_queries():
    from locent.realdata.run_sources import run_matrix

    run = pd.DataFrame(
        {
            "query_id": ["a", "a", "a", "b"],
            "doc_id": ["d2", "d1", "zz", "d3"],
            "score": [1.0, 2.0, 3.0, 5.0],
            "rank": [2, 1, 0, 1],
        }
    )
    ids, missing = run_matrix(run, ["a", "b"], depth=3, corpus_set={"d1", "d2", "d3"})
    assert missing == 1  # "zz" is not in the corpus: counted, not kept
    assert ids.tolist() == [["d1", "d2"], ["d3", ""]]
    with pytest.raises(ValueError, match="query 'c'"):
        run_matrix(run, ["a", "c"], depth=3, corpus_set={"d1"})


def test_prescore_runs_scores_the_union_of_all_runs_in_one_teacher_call(irds):
    """Two runs that share a passage: one teacher call with each (query, passage) pair once and
    the corpus texts; a teacher read from a file (no cache) is not called."""
    from types import SimpleNamespace

    from locent.realdata.run_sources import prescore_runs, run_matrix

    qids = sorted(irds.queries(irds.DL19))[:2]
    docs = list(irds.read_trec_run(irds.shipped_runs(irds.DL19)["bm25"]).doc_id.unique()[:3])

    def run(rows):
        return pd.DataFrame(rows, columns=["query_id", "doc_id", "score", "rank"])

    runs = [
        run([(qids[0], docs[0], 2.0, 1), (qids[0], docs[1], 1.0, 2), (qids[1], docs[2], 1.0, 1)]),
        run([(qids[0], docs[1], 3.0, 1), (qids[1], docs[2], 2.0, 1), (qids[1], "absent", 1, 2)]),
    ]
    calls = []

    class Recorder:
        cache = object()

        def score_pairs(self, query_ids, query_texts, doc_ids, doc_texts):
            calls.append((list(query_ids), list(query_texts), list(doc_ids), list(doc_texts)))

    corpus = irds.corpus_id(irds.DL19)
    matrices = [run_matrix(r, qids, 100, set(docs))[0] for r in runs]  # "absent" is dropped
    res = SimpleNamespace(teacher=Recorder())
    assert prescore_runs(irds.DL19, qids, matrices, res) == 3
    ((q_ids, q_texts, d_ids, d_texts),) = calls
    expected = sorted({(qids[0], docs[0]), (qids[0], docs[1]), (qids[1], docs[2])})
    assert list(zip(q_ids, d_ids, strict=True)) == expected
    assert q_texts == [irds.queries(irds.DL19)[q] for q in q_ids]
    assert d_texts == irds.doc_texts(corpus, d_ids)
    assert prescore_runs(irds.DL19, qids, [], res) == 0 and len(calls) == 1
    res.teacher = SimpleNamespace(score_pairs=lambda *a: calls.append(a))
    assert prescore_runs(irds.DL19, qids, matrices, res) == 0 and len(calls) == 1


@pytest.mark.slow
def test_shipped_runs_become_groups_pools_and_a_measured_table(irds, tmp_path):
    """Three DL19 queries: every shipped run gives groups whose negatives come from that run's
    top-100 and are never judged relevant; its pool is the run's top-100; measure writes one row
    per run with Δ̂, H, κ and coverage (the bm25 run is the target μ itself: κ = 1)."""
    from locent.realdata.measure import measure_run_sources
    from locent.realdata.prepare import PLANS
    from locent.realdata.run_sources import prepare_run_sources
    from locent.realdata.samplers import SamplerConfig
    from locent.realdata.store import read_groups
    from locent.realdata.universe import Resources

    cfg = SamplerConfig(k=6, dense_source="bm25", seed=1)
    res = Resources(tmp_path, precision="fp32")
    plan = PLANS["msmarco"]
    folder = plan.groups_dir(tmp_path)
    summary = prepare_run_sources(folder, (irds.DL19,), cfg, res, 3, {"plan": "msmarco"})
    assert set(summary) == {f"{irds.DL19}:{s}" for s in irds.shipped_runs(irds.DL19)}
    qrels = irds.qrels(irds.DL19)
    judged = qrels[qrels.relevance >= 1].groupby("query_id")["doc_id"].apply(set)
    for system, path in irds.shipped_runs(irds.DL19).items():
        g = read_groups(
            folder / "runs" / "msmarco-passage_trec-dl-2019_judged" / f"{system}.parquet"
        )
        assert g.sampler == f"run:{system}" and g.n == 3 and g.k == 6
        run = irds.read_trec_run(path)
        for q, row, probs in zip(g.query_ids, g.doc_ids, g.inclusion_probs, strict=True):
            top = set(run[run.query_id == q].sort_values("score", ascending=False).doc_id[:100])
            assert not set(row[1:]) & judged.get(q, set())
            in_run = np.isin(row[1:], list(top))
            assert (probs[1:][in_run] > 0).all() and (probs[1:][~in_run] == 0).all()
    again = prepare_run_sources(folder, (irds.DL19,), cfg, res, 3, {"plan": "msmarco"})
    assert set(again.values()) == {"reused"}
    table = measure_run_sources(folder, lambda test, ids: res.table(test)(ids))
    assert sorted(table.source) == sorted(f"run:{s}" for s in irds.shipped_runs(irds.DL19))
    assert table[["diameter_Q_99", "pairwise_entropy", "coverage"]].notna().all().all()
    bm25 = table.set_index("source").loc["run:bm25"]
    assert bm25.kappa_Q == pytest.approx(1.0) and bm25.coverage == pytest.approx(1.0)
