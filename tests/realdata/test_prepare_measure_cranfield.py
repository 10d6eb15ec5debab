"""End to end on Cranfield (small): prepare → groups/pools on disk → measure → sampler table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from locent.realdata.samplers import SAMPLERS, SamplerConfig

CFG = SamplerConfig(k=4, depth=20, universe=20, rerank_depth=5, dense_depth=5, margin=0.5, seed=3)


@pytest.fixture(scope="module")
def prepared(irds, tmp_path_factory):
    from locent.realdata.prepare import prepare

    out = tmp_path_factory.mktemp("out")
    summary = prepare(out, plans=("cranfield",), cfg=CFG, n_queries=3, n_test_queries=2)
    return out, summary


@pytest.mark.slow
def test_groups_written_with_labels_respected(prepared, irds):
    from locent.realdata.store import read_groups

    out, summary = prepared
    folder = out / "realdata" / "groups" / "cranfield"
    qrels = irds.qrels("cranfield")
    relevant = qrels[qrels.relevance >= 1].groupby("query_id")["doc_id"].apply(set)
    for sampler in SAMPLERS:
        g = read_groups(folder / f"{sampler}.parquet")
        assert g.n == 3 and g.k == CFG.k
        assert g.provenance["train_dataset"] == "cranfield"
        assert g.provenance["teacher"] == "rasyosef/splade-tiny"
        assert g.provenance["sampler_config"]["seed"] == 3
        assert (g.positive_source == "qrels").all()
        for q, row in zip(g.query_ids, g.doc_ids, strict=True):
            assert row[0] in relevant[q]
            assert not set(row[1:]) & relevant[q]
        pool = pd.read_parquet(folder / f"{sampler}.pool.parquet").set_index("query_id")
        for q, row, probs in zip(g.query_ids, g.doc_ids, g.inclusion_probs, strict=True):
            if pool.loc[q, "support"] == "listed":
                listed = dict(zip(pool.loc[q, "doc_ids"], pool.loc[q, "probs"], strict=True))
                for d, p in zip(row[1:], probs[1:], strict=True):
                    assert p == (listed[d] if d in listed else 0.0)
            else:
                np.testing.assert_allclose(probs[1:], 1 / (1400 - len(relevant[q])))
    assert (folder / "pools" / "cranfield" / "target.parquet").exists()


@pytest.mark.slow
def test_rerun_reuses_and_measure_writes_table(prepared, capsys):
    from locent.realdata.prepare import prepare

    from locent.cli import main

    out, _ = prepared
    again = prepare(out, plans=("cranfield",), cfg=CFG, n_queries=3, n_test_queries=2)
    assert set(again["cranfield"]["samplers"].values()) == {"reused"}
    assert again["cranfield"]["tests"]["cranfield"] == "reused"
    assert main(["realdata", "measure", "--out", str(out), "--datasets", "cranfield"]) == 0
    printed = capsys.readouterr().out
    assert "ensemble" in printed and "kappa_Q" in printed
    table = pd.read_csv(out / "realdata" / "measure" / "samplers.csv")
    assert list(table.sampler) == list(SAMPLERS)
    for col in (
        "diameter_Q_99",
        "diameter_Q_100",
        "diameter_mean_99",
        "pairwise_entropy",
        "listwise_entropy",
        "kappa_Q",
        "coverage",
    ):
        assert table[col].notna().all(), col
    assert (table.diameter_Q_99 <= table.diameter_Q_100 + 1e-12).all()
    assert table.set_index("sampler").loc["random", "coverage"] == 1.0
    assert table.set_index("sampler").loc["random", "kappa_Q"] == pytest.approx(1400 / 20)
    assert table.set_index("sampler").loc["bm25", "kappa_Q"] == pytest.approx(1.0)
    pq = pd.read_parquet(out / "realdata" / "measure" / "per_query.parquet")
    assert (pq.role == "train").sum() == 3 * len(SAMPLERS)
    assert (pq.role == "test").sum() == 2 * len(SAMPLERS)
    assert pq[pq.role == "test"].kappa.notna().all()
    assert {"dataset", "sampler", "query_id", "diameter_99", "pairwise_entropy", "kappa"} <= set(pq)
    prov = json.loads((out / "realdata" / "measure" / "samplers.provenance.json").read_text())
    assert prov["missing"] == []


@pytest.mark.slow
def test_dense_pool_is_the_exact_corpus_top_d(prepared, irds):
    """dense_source='corpus': the dense pool is the MiniLM top-d over the whole corpus (faiss over
    the cached corpus embeddings), checked against a brute-force cosine ranking; it reaches
    passages outside the BM25 top-u."""
    from locent.realdata.encoders import EmbeddingTable, load_encoder

    out, _ = prepared
    folder = out / "realdata" / "groups" / "cranfield"
    pool = pd.read_parquet(folder / "dense.pool.parquet").set_index("query_id")
    enc = load_encoder()
    table = EmbeddingTable("cranfield", enc, out / "cache")
    assert table.whole_corpus  # prepare embedded the corpus once; look-ups come from it
    ids, _ = irds.corpus("cranfield")
    corpus = table(np.array(ids, dtype=object))
    queries = irds.queries("cranfield")
    qrels = irds.qrels("cranfield")
    from locent.realdata.universe import select_queries

    outside_bm25 = 0
    for q in select_queries("cranfield", 3, CFG.seed):
        cos = corpus @ enc.encode([queries[q]])[0]
        top = [ids[i] for i in np.argsort(-cos, kind="stable")[: CFG.dense_depth]]
        relevant = set(qrels[(qrels.query_id == q) & (qrels.relevance >= 1)].doc_id)
        assert set(pool.loc[q, "doc_ids"]) == set(top) - relevant
        bm25 = pd.read_parquet(folder / "bm25.pool.parquet").set_index("query_id")
        outside_bm25 += len(set(top) - set(bm25.loc[q, "doc_ids"]) - relevant)
    assert outside_bm25 > 0
