"""End to end on Cranfield (small): prepare with the knobs → knob groups and pools on disk →
measure → knobs.csv (locality levels; entropy rows at one fixed sampler)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.realdata.knobs.build import ENTROPY_BASE
from locent.realdata.samplers import SamplerConfig

from locent import results

CFG = SamplerConfig(k=4, depth=20, universe=20, rerank_depth=5, dense_depth=5, margin=0.5, seed=3)


@pytest.fixture(scope="module")
def measured(irds, tmp_path_factory):
    from locent.realdata.measure import measure
    from locent.realdata.prepare import prepare

    out = tmp_path_factory.mktemp("out")
    kw = dict(plans=("cranfield",), samplers=("random", "ball@1.05"), cfg=CFG, n_queries=3)
    summary = prepare(out, n_test_queries=2, n_run_queries=0, **kw)
    measure(out, plans=("cranfield",), samplers=("random",), print_table=False)
    again = prepare(out, n_test_queries=2, n_run_queries=0, **kw)
    return out, summary, again


@pytest.mark.slow
def test_knob_groups_written_and_reused(measured):
    from locent.realdata.store import read_groups

    out, summary, again = measured
    knobs = summary["cranfield"]["knobs"]
    assert "dense@1024" in knobs["written"] and "ball@1.05" in knobs["written"]
    assert "entropy/tau=4" in knobs["written"]
    assert again["cranfield"]["knobs"]["written"] == []  # all current: reused
    folder = out / "realdata" / "groups" / "cranfield"
    g = read_groups(folder / "bm25@64.parquet")
    assert g.sampler == "bm25@64" and g.provenance["knob_value"] == 64
    pool = pd.read_parquet(folder / "bm25@64.pool.parquet").set_index("query_id")
    for q, row, probs in zip(g.query_ids, g.doc_ids, g.inclusion_probs, strict=True):
        listed = dict(zip(pool.loc[q, "doc_ids"], pool.loc[q, "probs"], strict=True))
        assert len(listed) == 64 and abs(sum(listed.values()) - 1) < 1e-9
        assert [listed[d] for d in row[1:]] == list(probs[1:])
    assert (folder / "pools" / "cranfield" / "ball@1.05.pool.parquet").exists()


@pytest.mark.slow
def test_knob_table(measured):
    out, _, _ = measured
    df = pd.read_csv(out / "realdata" / "measure" / "knobs.csv")
    for col in (results.KNOB_NAME, results.KNOB_VALUE, results.TEACHER_VARIANT,
                results.TEACHER_TAU, results.DIAMETER_Q_99, results.PAIRWISE_ENTROPY,
                results.KAPPA_Q, results.COVERAGE, "n_queries"):  # fmt: skip
        assert col in df.columns
    dense = df[df[results.KNOB_NAME] == "dense_depth"]
    assert list(dense[results.SAMPLER])[-1] == "random" and len(dense) == 8
    ent = df[df[results.SAMPLER] == ENTROPY_BASE].set_index(results.TEACHER_VARIANT)
    assert {"teacher", "tau=0.25", "tau=4", "mix-bm25=0.5"} <= set(ent.index)
    # entropy rows: the same groups (Δ̂_Q, κ) and a teacher H moved at least twofold
    assert ent[results.DIAMETER_Q_99].nunique() == 1 and ent[results.KAPPA_Q].nunique() == 1
    h = ent[results.PAIRWISE_ENTROPY]
    assert h["tau=4"] >= 2 * h["tau=0.25"]
    assert np.isfinite(df[results.DIAMETER_Q_99]).all()
