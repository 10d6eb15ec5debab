"""Stable verdicts (issue 12 item 9): query-bootstrap / leave-one-seed-out re-judgement."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from locent.paper_checks.checks import CHECKS
from locent.paper_checks.items.diameter import DIAMETER_PARAMS, judge_diameter_comparable
from locent.paper_checks.report import verdict_frame
from locent.paper_checks.stability import StabilityParams, bootstrap_queries, stability
from locent.paper_checks.verdicts import CheckResult, MissingEvidence, Verdict

from locent import results as R
from locent.results import ResultPaths

FAST = StabilityParams(resamples=40, seed=3, inner_resamples=200)
PARAMS = dataclasses.replace(DIAMETER_PARAMS, resamples=200)


def _diameters(mean_diff: float, sd: float, n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A measure per-query table: bm25 and teacher Δ̂_q on ``n`` MS MARCO training queries,
    teacher − bm25 = ``mean_diff`` exactly on average, spread ``sd``."""
    rng = np.random.default_rng(seed)
    bm25 = rng.uniform(0.8, 1.2, n)
    noise = rng.normal(0, sd, n)
    diff = mean_diff + (noise - noise.mean())
    ids = [f"q{i}" for i in range(n)]
    rows = [(q, "bm25", b) for q, b in zip(ids, bm25)]
    rows += [(q, "teacher", b + d) for q, b, d in zip(ids, bm25, diff)]
    frame = pd.DataFrame(rows, columns=[R.QUERY_ID, R.SAMPLER, R.DIAMETER_99])
    return frame.assign(**{R.DATASET: "msmarco-passage/train/judged"})


def _judge(table):
    return judge_diameter_comparable(table, PARAMS)[0]


def test_bootstrap_keeps_a_query_s_rows_together_and_repeats_as_new_queries():
    table = _diameters(0.0, 0.05, n=10)
    rep = bootstrap_queries(table, (R.DATASET, R.QUERY_ID), np.random.default_rng(0))
    assert len(rep) == len(table)  # every query has 2 rows, 10 draws
    per_query = rep.groupby(R.QUERY_ID)[R.SAMPLER].apply(sorted)
    assert len(per_query) == 10 and all(v == ["bm25", "teacher"] for v in per_query)
    base = rep[R.QUERY_ID].str.split("#").str[0]
    assert base.nunique() < 10  # with replacement: some query drawn twice (seed 0)
    # each copy carries its original rows' values
    orig = table.set_index([R.QUERY_ID, R.SAMPLER])[R.DIAMETER_99]
    got = rep.assign(q=base).set_index(["q", R.SAMPLER])[R.DIAMETER_99]
    np.testing.assert_allclose(got.to_numpy(), orig.loc[got.index].to_numpy())


def test_bootstrap_on_index_levels_keeps_attrs():
    wide = pd.DataFrame(
        {0: [1.0, 2.0, 3.0], 1: [0.5, 0.5, 0.5]},
        index=pd.MultiIndex.from_tuples(
            [("DL19", "a"), ("DL19", "b"), ("DL20", "a")], names=["label", R.QUERY_ID]
        ),
    )
    wide.attrs["fields"] = "kept"
    rep = bootstrap_queries(wide, ("label", R.QUERY_ID), np.random.default_rng(1))
    assert rep.attrs["fields"] == "kept" and rep.index.names == ["label", R.QUERY_ID]
    assert rep.index.is_unique and len(rep) == 3
    with pytest.raises(KeyError, match=r"\['nope'\]"):
        bootstrap_queries(wide, ("nope",), np.random.default_rng(1))


def test_verdict_at_the_margin_edge_is_fragile_a_clear_one_is_not():
    # clear: teacher − bm25 = 0 ± small; margin 0.05 → non-inferior on every resample
    clear = _diameters(0.0, 0.02)
    verdict = _judge(clear)
    assert verdict is Verdict.PASS
    s = stability(_judge, clear, verdict, (R.DATASET, R.QUERY_ID), FAST)
    assert s.fraction == 1.0 and not s.fragile
    # edge: the mean difference sits on −margin + one-sided half-width: resamples split
    sd, n = 0.2, 60
    edge = _diameters(-DIAMETER_PARAMS.margin + 1.645 * sd / np.sqrt(n), sd, n)
    verdict = _judge(edge)
    s = stability(_judge, edge, verdict, (R.DATASET, R.QUERY_ID), FAST)
    assert s.fragile and s.fraction < 0.9
    assert 0 < s.counts[str(verdict)] < FAST.resamples  # both verdicts occur
    assert s.numbers()["stability"] == s.fraction and np.isnan(s.seed_fraction)


def test_stability_is_reproducible_with_its_seed():
    sd, n = 0.2, 60
    edge = _diameters(-DIAMETER_PARAMS.margin + 1.645 * sd / np.sqrt(n), sd, n)
    verdict = _judge(edge)
    a = stability(_judge, edge, verdict, (R.DATASET, R.QUERY_ID), FAST)
    b = stability(_judge, edge, verdict, (R.DATASET, R.QUERY_ID), FAST)
    assert (a.fraction, a.counts) == (b.fraction, b.counts) and 0 < a.fraction < 1
    other = [
        stability(_judge, edge, verdict, (R.DATASET, R.QUERY_ID), dataclasses.replace(FAST, seed=s))
        for s in (4, 5, 6)
    ]
    assert any(o.counts != a.counts for o in other)  # the seed is what fixes it


def test_leave_one_seed_out_and_unjudgeable_replicates_count():
    table = _diameters(0.0, 0.02)

    def judge(t):
        if len(t) < len(table):
            raise MissingEvidence("a seed's runs are missing")
        return _judge(t)

    s = stability(
        judge, table, Verdict.PASS, (R.DATASET, R.QUERY_ID), FAST, [table, table.iloc[:10]]
    )
    # one leave-one-seed-out table agrees, the other cannot be judged (→ INCONCLUSIVE)
    assert s.seed_fraction == 0.5 and s.seeds_left_out == 2
    assert s.fraction == pytest.approx((FAST.resamples + 1) / (FAST.resamples + 2))
    assert s.counts == {"PASS": FAST.resamples + 1, "INCONCLUSIVE": 1}


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match="at least 1 resample"):
        StabilityParams(resamples=0)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        StabilityParams(threshold=1.5)


def test_check_reports_stability_and_the_report_shows_it(tmp_path):
    sd, n = 0.2, 60
    edge = _diameters(-DIAMETER_PARAMS.margin + 1.645 * sd / np.sqrt(n), sd, n)
    paths = ResultPaths.locate(tmp_path)
    paths.measure_per_query.parent.mkdir(parents=True)
    edge.to_parquet(paths.measure_per_query)
    check = next(c for c in CHECKS if c.item == 6).with_params(resamples=200)
    check = dataclasses.replace(check, stability_params=FAST)
    result = check.evaluate(paths)
    assert result.stability is not None and result.fragile
    assert result.numbers["stability"] == result.stability and "FRAGILE" in result.explanation
    # simulation checks carry no stability; results written before item 9 still load
    old = {k: v for k, v in result.to_dict().items() if k not in ("stability", "fragile")}
    old["verdict"] = Verdict(old["verdict"])
    reloaded = CheckResult(**old)
    assert reloaded.stability is None and reloaded.fragile is False
    frame = verdict_frame([result, reloaded])
    assert frame["stability"].iloc[0] == f"{result.stability:.0%} fragile"
    assert frame["stability"].iloc[1] == "—"


# -- item 3: the MS MARCO across-sampler Spearman on a paired query bootstrap -------------------

#: a simulation part that passes, held fixed (it has no queries to resample)
SIM_PASS = {
    "spearman_entropy_vs_diameter": -0.9,
    "spearman_entropy_vs_diameter_p": 1e-6,
    "spearman_entropy_vs_diameter_n": 200,
    "spearman_entropy_vs_diameter_ci": [-0.95, -0.85],
}
TRAIN = "msmarco-passage/train/judged"


def _coupling_per_query(diameters, entropies, n=40, sd=0.05, seed=0) -> pd.DataFrame:
    """Per-query measures of samplers ``s0, s1, ...``: Δ̂_q(0.99) around ``diameters[i]``, H_q
    around ``entropies[i]`` (noise ``sd``) on the same ``n`` training queries, plus κ test rows
    (NaN measures) that the rebuild must ignore."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, (d, h) in enumerate(zip(diameters, entropies)):
        frames.append(
            pd.DataFrame(
                {
                    R.DATASET: TRAIN,
                    R.SAMPLER: f"s{i}",
                    R.QUERY_ID: [f"q{j}" for j in range(n)],
                    "role": "train",
                    R.DIAMETER_99: d + rng.uniform(0, sd, n),
                    R.PAIRWISE_ENTROPY: h + rng.normal(0, sd, n),
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    R.DATASET: "msmarco-passage/trec-dl-2019/judged",
                    R.SAMPLER: f"s{i}",
                    R.QUERY_ID: ["t0"],
                    "role": "test",
                    R.KAPPA: [1.0],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _write_coupling(tmp_path, per_query) -> ResultPaths:
    """samplers.csv as ``locent realdata measure`` writes it (same formulas, separate code)."""
    import json

    from locent.realdata.measure import _agg

    paths = ResultPaths.locate(tmp_path)
    paths.measure_per_query.parent.mkdir(parents=True, exist_ok=True)
    per_query.to_parquet(paths.measure_per_query)
    train = per_query[per_query["role"] == "train"]
    rows = [
        {
            R.DATASET: ds,
            "plan": "default",
            R.SAMPLER: s,
            R.DIAMETER_Q_99: float(_agg(g[R.DIAMETER_99], 0.99)),
            R.PAIRWISE_ENTROPY: float(np.mean(g[R.PAIRWISE_ENTROPY])),
        }
        for (ds, s), g in train.groupby([R.DATASET, R.SAMPLER])
    ]
    pd.DataFrame(rows).to_csv(paths.samplers, index=False)
    paths.sim_summary.parent.mkdir(parents=True, exist_ok=True)
    paths.sim_summary.write_text(json.dumps(SIM_PASS))
    return paths


def _item3():
    check = next(c for c in CHECKS if c.item == 3)
    return dataclasses.replace(check, stability_params=FAST)


def test_per_query_rebuild_reproduces_samplers_csv(tmp_path):
    from locent.paper_checks.stability import samplers_from_per_query

    pq = _coupling_per_query([0.2, 0.4, 0.6, 0.8], [3.0, 2.5, 2.0, 1.5])
    paths = _write_coupling(tmp_path, pq)
    written = pd.read_csv(paths.samplers).sort_values(R.SAMPLER, ignore_index=True)
    rebuilt = samplers_from_per_query(pq)
    for c in (R.DIAMETER_Q_99, R.PAIRWISE_ENTROPY):
        np.testing.assert_allclose(rebuilt[c], written[c], rtol=1e-12, atol=0)
    assert (rebuilt["n_queries"] == 40).all()


def test_item3_clear_sampler_order_is_stable(tmp_path):
    pq = _coupling_per_query([0.2, 0.4, 0.6, 0.8], [3.0, 2.5, 2.0, 1.5])
    result = _item3().evaluate(_write_coupling(tmp_path, pq))
    assert result.verdict is Verdict.PASS
    assert result.stability == 1.0 and not result.fragile
    assert result.numbers["stability_resamples"] == FAST.resamples


def test_item3_near_tied_samplers_are_fragile(tmp_path):
    # s1 and s2 differ in H by far less than the query noise: their order flips across
    # bootstraps, ρ = −0.8 (p = 1/6 with 4 samplers) instead of −1 (p = 1/24)
    pq = _coupling_per_query([0.2, 0.4, 0.6, 0.8], [3.0, 2.0, 1.99, 1.0], sd=0.3)
    result = _item3().evaluate(_write_coupling(tmp_path, pq))
    assert result.verdict is Verdict.PASS and result.numbers["msmarco_spearman"] == -1.0
    assert result.stability is not None and result.fragile
    assert result.stability < FAST.threshold and "FRAGILE" in result.explanation
    assert result.numbers["stability_count[INCONCLUSIVE]"] > 0  # the flipped replicates


def test_item3_per_query_that_disagrees_with_samplers_csv_gets_no_stability(tmp_path):
    pq = _coupling_per_query([0.2, 0.4, 0.6, 0.8], [3.0, 2.5, 2.0, 1.5])
    paths = _write_coupling(tmp_path, pq)
    pq.loc[pq[R.SAMPLER] == "s1", R.PAIRWISE_ENTROPY] += 0.1
    pq.to_parquet(paths.measure_per_query)
    with pytest.warns(UserWarning, match=r"does not reproduce .*samplers.*s1"):
        result = _item3().evaluate(paths)
    # the verdict still stands on samplers.csv; only its stability is not computed
    assert result.verdict is Verdict.PASS
    assert result.stability is None and "stability" not in result.numbers
