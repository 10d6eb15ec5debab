"""Round trip: prepare's bm25 groups written in the authors' layout, diagnosed, give measure's
Δ̂ and H (same encoder, same cache, same functions: equal to float rounding)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.realdata.samplers import SamplerConfig

from locent import results

CFG = SamplerConfig(
    k=4, depth=20, universe=20, rerank_depth=5, dense_depth=5, dense_source="bm25", seed=3
)


@pytest.mark.slow
def test_bm25_groups_round_trip_through_the_authors_layout(irds, tmp_path, capsys):
    from locent.realdata.formats.authors import scores_of, write_jsonl, write_score_file
    from locent.realdata.measure import measure
    from locent.realdata.prepare import prepare
    from locent.realdata.store import read_groups

    from locent.cli import main

    out = tmp_path / "out"
    prepare(
        out,
        plans=("cranfield",),
        samplers=("bm25",),
        cfg=CFG,
        n_queries=3,
        n_test_queries=2,
        n_run_queries=0,
    )
    table = measure(out, plans=("cranfield",), samplers=("bm25",), print_table=False)
    groups = read_groups(out / "realdata" / "groups" / "cranfield" / "bm25.parquet")
    jsonl = write_jsonl(groups, tmp_path / "bm25.jsonl")
    scores = write_score_file(scores_of(groups), tmp_path / "bm25.scores.json")
    code = main(
        [
            "diagnose",
            str(jsonl),
            "--scores",
            str(scores),
            "--dataset",
            "cranfield",
            "--out",
            str(out),
            "--references",
            "none",
        ]
    )
    assert code == 0, capsys.readouterr().err
    diag = pd.read_csv(out / "diagnose" / "diagnose.csv").iloc[0]
    row = table.iloc[0]
    for col in (
        results.DIAMETER_Q_99,
        results.DIAMETER_Q_100,
        results.DIAMETER_MEAN_99,
        results.PAIRWISE_ENTROPY,
        results.LISTWISE_ENTROPY,
    ):
        # measure averages the float32 per-query diameters in float32, diagnose in float64:
        # equal to float32 rounding (the per-query values below are identical)
        assert diag[col] == pytest.approx(row[col], rel=1e-6, abs=1e-9), col
    per_m = pd.read_parquet(out / "realdata" / "measure" / "per_query.parquet")
    per_m = per_m[per_m["role"] == "train"].set_index("query_id")
    per_d = pd.read_csv(out / "diagnose" / "per_query.csv", dtype={"query_id": str})
    per_d = per_d.set_index("query_id").loc[per_m.index]
    for col in (results.DIAMETER_99, results.PAIRWISE_ENTROPY, results.LISTWISE_ENTROPY):
        np.testing.assert_allclose(per_d[col], per_m[col], rtol=1e-12, atol=1e-12)
