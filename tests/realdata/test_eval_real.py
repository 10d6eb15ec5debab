"""The evaluation path on real data: shipped DL19/DL20 runs reproduce published nDCG@10."""

from __future__ import annotations

import pytest
from locent.realdata import evaluation as ev


@pytest.mark.parametrize(
    "year,system,expected",
    [(2019, "bm25", 0.5058), (2020, "bm25", 0.4796), (2019, "tas-b", 0.7210)],
)
def test_shipped_runs_reproduce_published_ndcg(irds_home, shared_data, year, system, expected):
    from locent.realdata import datasets

    run = ev.read_run(
        shared_data / "runs" / "msmarco-passage" / f"trec-dl-{year}.{system}.top100.run"
    )
    qrels = datasets.qrels(f"msmarco-passage/trec-dl-{year}/judged")
    per_query, missed = ev.evaluate_run(run, qrels)
    assert missed == 0
    ndcg = per_query[per_query["measure"] == "nDCG@10"]["value"]
    assert len(ndcg) == {2019: 43, 2020: 54}[year]
    assert ndcg.mean() == pytest.approx(expected, abs=5e-4)
