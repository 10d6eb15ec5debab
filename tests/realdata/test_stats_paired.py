"""realdata.stats: seed summaries and the paired-comparison table (its tests are locent.stats',
compared with scipy/statsmodels in tests/test_stats.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.realdata import stats
from scipy import stats as sps


def test_seed_summary_and_comparisons():
    rng = np.random.default_rng(0)
    rows = []
    for sampler, shift in (("bm25", 0.0), ("random", 0.0), ("teacher", 0.15)):
        for seed in range(3):
            for q in range(25):
                base = 0.3 + 0.02 * q
                rows.append(("lce", sampler, seed, f"q{q}", base + shift + rng.normal(0, 0.01)))
    df = pd.DataFrame(rows, columns=["loss", "sampler", "seed", "query_id", "value"])
    summary = stats.seed_summary(
        df.groupby(["loss", "sampler", "seed"], as_index=False)["value"].mean(),
        ["loss", "sampler"],
        "value",
    )
    assert list(summary["n_seeds"]) == [3, 3, 3]
    assert (summary["std"] > 0).all()
    per_query = df.groupby(["loss", "sampler", "query_id"], as_index=False)["value"].mean()
    comp = stats.paired_comparisons(per_query, "bm25", ["loss"], "sampler", margin=0.02)
    by = comp.set_index("system")
    assert by.loc["teacher", "significant"] and not by.loc["teacher", "equivalent"]
    assert by.loc["random", "equivalent"] and not by.loc["random", "significant"]
    assert (by["p_t_holm"] >= by["p_t"]).all()
    # the table's numbers are the paired tests over queries of teacher − bm25
    wide = per_query[per_query.loss == "lce"].pivot(index="query_id", columns="sampler")["value"]
    ref = sps.ttest_rel(wide["teacher"], wide["bm25"])
    assert by.loc["teacher", "t"] == pytest.approx(ref.statistic, rel=1e-12)
    assert by.loc["teacher", "p_t"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    assert by.loc["teacher", "n_queries"] == 25
    with pytest.raises(ValueError, match="fewer than 2 paired queries"):
        stats.paired_comparisons(
            per_query[per_query.query_id == "q0"], "bm25", ["loss"], "sampler", 0.02
        )
