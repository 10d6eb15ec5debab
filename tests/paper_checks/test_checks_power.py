"""Issue 12: every check has declared parameters, states its power, and can go either way; each
defect of the old checks is reproduced on a tiny constructed input."""

from __future__ import annotations

import copy
import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from locent.paper_checks.checks import CHECKS, run_checks
from locent.paper_checks.items.decision import TestOutcome
from locent.paper_checks.items.diameter import judge_diameter_comparable
from locent.paper_checks.items.entropy_cuts import judge_entropy_cuts
from locent.paper_checks.items.exact import MUTATED, judge_exact_statements
from locent.paper_checks.items.power import (
    detectable_correlation,
    detectable_mean_shift,
    detectable_rate,
)
from locent.paper_checks.items.sampler_gain import judge_sampler_gain
from locent.paper_checks.items.simulation import judge_gap_and_floor
from locent.paper_checks.items.vacuity import judge_vacuity
from locent.paper_checks.verdicts import CheckParams, Verdict
from scipy import stats

from locent import results as R

THEORY_OK = [{"statement": "Lemma A", "result": "PASS"}]


def _summary(synthetic_out) -> dict:
    return json.loads((synthetic_out / "simulate" / "smoke" / "summary.json").read_text())


# ---------------------------------------------------------------------------------------------
# the decision rule: a FAIL needs a significant opposite effect or power


def _outcome(p_support, p_against, detectable, needed=0.3):
    return TestOutcome("x", 0.05, (-0.1, 0.2), p_support, p_against, detectable, needed, 0.05, 20)


def test_a_fail_without_power_is_inconclusive():
    assert _outcome(0.3, 0.7, detectable=0.5).verdict is Verdict.INCONCLUSIVE
    assert _outcome(0.3, 0.7, detectable=0.2).verdict is Verdict.FAIL  # powered: fails
    assert _outcome(0.3, 0.01, detectable=0.9).verdict is Verdict.FAIL  # opposite, significant
    assert _outcome(0.01, 0.99, detectable=0.9).verdict is Verdict.PASS
    text = _outcome(0.3, 0.7, detectable=0.5).text()
    for word in ("effect", "95% CI", "p =", "80% power", "underpowered"):
        assert word in text


@pytest.mark.parametrize("units, verdict", [(6, Verdict.INCONCLUSIVE), (400, Verdict.FAIL)])
def test_item2_without_power_is_inconclusive_with_power_it_fails(synthetic_out, units, verdict):
    s = _summary(synthetic_out)
    s.pop("gap_vs_diameter_regression")  # the unit-level Spearman form
    s.update(spearman_gap_vs_diameter=0.05, spearman_gap_vs_diameter_p=0.4)
    s.update(spearman_gap_vs_diameter_n=units, spearman_gap_vs_diameter_ci=[-0.3, 0.4])
    v, text, numbers, power, _ = judge_gap_and_floor(s)
    assert v is verdict, text
    assert power["gap_vs_diameter"] == numbers["detectable_effect_80[gap_vs_diameter]"]
    assert "80% power" in text and "p = 0.4" in text


def test_item2_regression_either_way(synthetic_out):
    s = _summary(synthetic_out)
    assert judge_gap_and_floor(s)[0] is Verdict.PASS
    s["gap_vs_diameter_regression"].update(slope_std=-0.3, ci=[-0.5, -0.1], p=0.998)
    assert judge_gap_and_floor(s)[0] is Verdict.FAIL


# ---------------------------------------------------------------------------------------------
# power functions


def test_detectable_mean_shift_has_the_stated_power():
    rng = np.random.default_rng(0)
    d = rng.normal(0.0, 1.0, 30)
    delta = detectable_mean_shift(d, alpha=0.05, resamples=4000)
    # analytic reference for a normal sample with the same sd: noncentral t
    sd, n = d.std(ddof=1), d.size
    crit = stats.t.ppf(0.95, n - 1)
    power = stats.nct.sf(crit, n - 1, delta / (sd / math.sqrt(n)))
    assert power == pytest.approx(0.8, abs=0.06)
    assert detectable_mean_shift([1.0, 1.0, 1.0]) == 0.0  # no noise: every shift is detected
    assert math.isnan(detectable_mean_shift([1.0]))


def test_detectable_correlation_matches_fisher_z():
    r = detectable_correlation(30)
    fisher = math.tanh((stats.norm.ppf(0.95) + stats.norm.ppf(0.8)) / math.sqrt(27))
    assert r == pytest.approx(fisher, abs=0.07)
    assert detectable_correlation(200) < r < detectable_correlation(8)


def test_detectable_rate_is_exact():
    p1 = detectable_rate(100, 0.05)
    k = next(k for k in range(101) if stats.binom.sf(k - 1, 100, 0.05) <= 0.05)
    assert stats.binom.sf(k - 1, 100, p1) >= 0.8 - 1e-9
    assert stats.binom.sf(k - 1, 100, p1 - 0.01) < 0.8


# ---------------------------------------------------------------------------------------------
# declared parameters


def test_criterion_is_rendered_from_the_declared_parameters():
    check = next(c for c in CHECKS if c.name == "diameter_comparable")
    assert "0.05" in check.criterion and "2000" in check.criterion
    tighter = check.with_params(margin=0.01, resamples=500)
    assert "0.01" in tighter.criterion and "500" in tighter.criterion
    assert repr(tighter) == (
        "diameter_comparable(α=0.05, margin=0.01, resamples=500, seed=0, power=0.8)"
    )
    for c in CHECKS:
        assert "{" not in c.criterion, c.name
        assert repr(c).startswith(c.name + "(α=")


def test_alpha_changes_text_and_decision_together(synthetic_out):
    s = _summary(synthetic_out)
    s["gap_vs_diameter_regression"].update(p=0.03, ci=[0.02, 0.8])
    assert judge_gap_and_floor(s, CheckParams(min_effect=0.3))[0] is Verdict.PASS
    strict = CheckParams(alpha=0.01, min_effect=0.3)
    assert judge_gap_and_floor(s, strict)[0] is not Verdict.PASS
    check = next(c for c in CHECKS if c.item == 2).with_params(alpha=0.01)
    assert "p < 0.01" in check.criterion


def test_results_carry_parameters_and_power(synthetic_out):
    for r in run_checks(synthetic_out):
        assert r.parameters["alpha"] == 0.05, r.name
        assert r.power, r.name  # every check states a detectable effect
        assert "power" in r.explanation, r.name


@pytest.mark.parametrize("contradict", [(), (1, 3, 5, 7), (2, 4, 6, 8)])
def test_recorded_parts_combine_to_the_verdict(make_results, contradict):
    from locent.paper_checks.verdicts import combine

    for r in run_checks(make_results(contradict=contradict)):
        assert r.parts, r.name
        assert combine([Verdict(p["verdict"]) for p in r.parts]) is r.verdict, r.name
        assert all(p["label"] and p["note"] for p in r.parts), r.name


# ---------------------------------------------------------------------------------------------
# item 1: halved constants must FAIL the Rademacher-level check


def _halved(summary: dict, symbol: str) -> dict:
    """The summary the simulation would write if the bound used ``symbol`` halved: the runs
    that catch the mutation are the runs whose term falls below the measured complexity."""
    s = copy.deepcopy(summary)
    m = s["theorem_iii_mutations"][symbol]
    s["theorem_iii_rademacher_check_violations"] = m["rademacher_violations"]
    s["theorem_iii_rademacher_tightness"]["median"] /= 2
    return s


@pytest.mark.parametrize("symbol", MUTATED)
def test_halved_constant_fails_item1(synthetic_out, symbol):
    s = _summary(synthetic_out)
    assert judge_exact_statements(THEORY_OK, s)[0] is Verdict.PASS
    v, text, numbers, _, _ = judge_exact_statements(THEORY_OK, _halved(s, symbol))
    assert v is Verdict.FAIL, text
    assert "Rademacher level" in text


def test_item1_without_teeth_is_inconclusive(synthetic_out):
    s = _summary(synthetic_out)
    s["theorem_iii_mutations"]["W"].update(rademacher_violations=0, rademacher_violation_rate=0.0)
    v, text, _, _, _ = judge_exact_statements(THEORY_OK, s)
    assert v is Verdict.INCONCLUSIVE and "NOT caught: W" in text


def test_item1_reads_the_regime_summary(synthetic_out):
    s = _summary(synthetic_out)
    regime = _halved(s, "Delta")
    v, text, _, _, _ = judge_exact_statements(THEORY_OK, s, regime=regime)
    assert v is Verdict.FAIL and "[regime]" in text


# ---------------------------------------------------------------------------------------------
# item 7: identical or empty subsets are INCONCLUSIVE


def _wide(values: dict, subsets=("full", "keep_tukey_inliers", "keep_tukey_outliers")):
    wide = pd.DataFrame({i: values[s] for i, s in enumerate(subsets)})
    fields = pd.DataFrame(
        {
            R.STUDENT: "frozen",
            R.ARCH: "bi",
            R.LOSS: "soft_ranknet",
            R.SAMPLER: "bm25",
            R.SUBSET: list(subsets),
            "condition": range(len(subsets)),
        }
    )
    wide.attrs["fields"] = fields
    return wide


def _cut_values(rng, n=80):
    base = rng.uniform(0.3, 0.7, n)
    return {
        "full": base,
        "keep_tukey_inliers": base + 0.002 + 0.01 * rng.standard_normal(n),
        "keep_tukey_outliers": base - 0.08 + 0.01 * rng.standard_normal(n),
    }


def test_item7_either_way():
    rng = np.random.default_rng(1)
    values = _cut_values(rng)
    assert judge_entropy_cuts(_wide(values))[0] is Verdict.PASS
    values["keep_tukey_outliers"] = values["full"] + 0.01
    assert judge_entropy_cuts(_wide(values))[0] is Verdict.FAIL


def test_item7_subset_identical_to_full_is_inconclusive_never_pass():
    rng = np.random.default_rng(2)
    values = _cut_values(rng)
    values["keep_tukey_inliers"] = values["full"].copy()  # no outliers: the same model
    v, text, numbers, _, _ = judge_entropy_cuts(_wide(values))
    assert v is Verdict.INCONCLUSIVE and "identical to the full set" in text
    # by the subset sizes, even if the values differ by noise (a retrained model)
    values = _cut_values(rng)
    sizes = {
        ("frozen", "bi", "soft_ranknet", "bm25", "full"): 50,
        ("frozen", "bi", "soft_ranknet", "bm25", "keep_tukey_inliers"): 50,
        ("frozen", "bi", "soft_ranknet", "bm25", "keep_tukey_outliers"): 4,
    }
    v, text, numbers, _, _ = judge_entropy_cuts(_wide(values), sizes)
    assert v is Verdict.INCONCLUSIVE and "n_train 50 = 50" in text
    assert numbers["n_train[frozen/bi/soft_ranknet/bm25: keep_tukey_outliers]"] == 4


def test_item7_empty_subset_is_inconclusive():
    rng = np.random.default_rng(3)
    values = _cut_values(rng)
    wide = _wide(values, subsets=("full", "keep_tukey_inliers"))  # outliers empty: not trained
    key = ("frozen", "bi", "soft_ranknet", "bm25")
    sizes = {(*key, "full"): 30, (*key, "keep_tukey_inliers"): 30}
    v, text, _, _, _ = judge_entropy_cuts(wide, sizes)
    assert v is Verdict.INCONCLUSIVE and "keep_tukey_outliers (extreme): empty" in text
    # one outlier that this grid did not train: not called empty
    sizes[(*key, "keep_tukey_inliers")] = 29
    _, text, _, _, _ = judge_entropy_cuts(wide, sizes)
    assert "keep_tukey_outliers" not in text
    sizes = {("frozen", "bi", "soft_ranknet", "bm25", "keep_tukey_outliers"): 0}
    v, text, _, _, _ = judge_entropy_cuts(_wide(values), sizes)
    assert v is Verdict.INCONCLUSIVE and "empty subset" in text


def test_item7_few_queries_no_power_is_inconclusive():
    rng = np.random.default_rng(4)
    values = _cut_values(rng, n=80)
    values["keep_tukey_outliers"] = values["full"] + 0.05 * rng.standard_normal(80)
    values = {k: v[:6] for k, v in values.items()}
    v, text, _, _, _ = judge_entropy_cuts(_wide(values))
    assert v is Verdict.INCONCLUSIVE, text


# ---------------------------------------------------------------------------------------------
# duplicated rows leave p unchanged (the query is the unit)


def test_duplicated_rows_leave_p_unchanged(synthetic_out, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    for path in (
        out / "realdata" / "grid" / "smoke" / "per_query.parquet",
        out / "realdata" / "measure" / "per_query.parquet",
    ):
        table = pd.read_parquet(path)
        pd.concat([table, table]).to_parquet(path, index=False)
    before = {r.item: r.numbers for r in run_checks(synthetic_out, only=[5, 6, 7])}
    after = {r.item: r.numbers for r in run_checks(out, only=[5, 6, 7])}
    for item in (5, 6, 7):
        ps = {k: v for k, v in before[item].items() if k.startswith("p")}
        assert ps and ps == pytest.approx({k: after[item][k] for k in ps}, rel=1e-9), item


# ---------------------------------------------------------------------------------------------
# item 6 on bootstrap-friendly statistics; item 5 (b) as a paired interaction test


def _measure(shift, n=60, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    base = 1.2 + 0.03 * rng.standard_normal(n)
    rows = []
    for sampler, s in (("bm25", 0.0), ("teacher", shift)):
        d = base + s + noise * rng.standard_normal(n)
        rows += [
            {
                R.DATASET: "msmarco-passage/dev/small",
                R.SAMPLER: sampler,
                R.QUERY_ID: str(q),
                R.DIAMETER_99: float(d[q]),
            }
            for q in range(n)
        ]
    return pd.DataFrame(rows)


def test_item6_either_way_and_reports_the_099_quantile_apart():
    v, text, numbers, power, _ = judge_diameter_comparable(_measure(-0.01))
    assert v is Verdict.PASS, text
    assert "mean Δ̂_q" in text and "median Δ̂_q" in text and "m-out-of-n" in text
    assert "diameter_Q_99_diff_ci_low_m_of_n[teacher]" in numbers
    assert judge_diameter_comparable(_measure(-0.3))[0] is Verdict.FAIL
    # 4 queries with noisy differences around −0.025: neither shown, no power → INCONCLUSIVE
    small = _measure(0.0, n=4, noise=0.0)
    teacher = small[R.SAMPLER] == "teacher"
    small.loc[teacher, R.DIAMETER_99] += [-0.2, 0.15, -0.1, 0.05]
    v, text, _, _, _ = judge_diameter_comparable(small)
    assert v is Verdict.INCONCLUSIVE, text


def _grid_wide(lce_spread, n=80, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, n)
    cols, fields = {}, []
    for loss in ("soft_ranknet", "lce"):
        for j, sampler in enumerate(("random", "bm25", "teacher")):
            effect = (j - 1) * lce_spread / 2 if loss == "lce" else 0.0
            cols[len(fields)] = base + effect + 0.01 * rng.standard_normal(n)
            fields.append(
                {
                    R.STUDENT: "frozen",
                    R.ARCH: "bi",
                    R.LOSS: loss,
                    R.SAMPLER: sampler,
                    R.SUBSET: R.FULL_SUBSET,
                }
            )
    wide = pd.DataFrame(cols)
    f = pd.DataFrame(fields)
    f["condition"] = range(len(f))
    wide.attrs["fields"] = f
    return wide


def test_item5_interaction_test_either_way():
    v, text, numbers, power, _ = judge_sampler_gain(_grid_wide(0.1))
    assert v is Verdict.PASS, text
    assert "teacher-top positives" in text and numbers["lce_positives"] == "teacher_top"
    assert any("sampler spread under LCE" in k for k in power)
    # LCE spread no larger than under distillation, with many queries: powered → FAIL
    v, text, _, _, _ = judge_sampler_gain(_grid_wide(0.0, n=400))
    assert v is Verdict.FAIL, text


# ---------------------------------------------------------------------------------------------
# item 8: a-priori (iii) per loss at the n used


def _by_loss(frac, runs):
    return {
        "soft_ranknet": {
            "n_used": [8, 64],
            "smallest_non_vacuous_n_a_priori_max": 12.0,
            "by_n": {
                "8": {"runs": runs, "non_vacuous_fraction": 0.0, "bound_over_range_median": 1.2},
                "64": {"runs": runs, "non_vacuous_fraction": frac, "bound_over_range_median": 0.4},
            },
        }
    }


def test_item8_a_priori_either_way_and_smallest_n():
    v, text, numbers, _, _ = judge_vacuity(_by_loss(0.95, 40))
    assert v is Verdict.PASS, text
    assert "n = 64" in text and "12" in text
    assert judge_vacuity(_by_loss(0.1, 40))[0] is Verdict.FAIL
    # 2 of 3 runs: even a share of 1 would not be significant with 3 runs → INCONCLUSIVE
    v, text, _, power, _ = judge_vacuity(_by_loss(2 / 3, 3))
    assert v is Verdict.INCONCLUSIVE, text
    # 3 of 5: a share of 1 would be detected with 80% power (0.8^(1/5) < 1), so it FAILs
    assert judge_vacuity(_by_loss(0.6, 5))[0] is Verdict.FAIL


# ---------------------------------------------------------------------------------------------
# the regime stage


def test_full_run_simulates_the_regime_preset_quick_does_not():
    from locent.pipeline import STAGE_RESULTS, main_job

    full = [s.name for s in main_job()]
    assert full.index("simulate_regime") == full.index("simulate") + 1
    params = {s.name: s.params for s in main_job()}
    assert params["simulate_regime"]["preset"] == "regime"
    assert "simulate_regime" not in [s.name for s in main_job(quick=True)]
    checks = {s.name: s for s in main_job()}["checks"]
    assert "simulate_regime" in checks.after
    assert STAGE_RESULTS["simulate_regime"] == ("regime_summary",)


def test_items_read_the_regime_summary_when_present(synthetic_out, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    regime = _summary(synthetic_out)
    regime["gap_vs_diameter_regression"].update(slope_std=-0.3, ci=[-0.5, -0.1], p=0.998)
    (out / "simulate" / "regime").mkdir(parents=True)
    (out / "simulate" / "regime" / "summary.json").write_text(json.dumps(regime))
    (r2,) = run_checks(out, only=[2])
    assert r2.verdict is Verdict.FAIL and "[regime]" in r2.explanation
    assert any(e.path.endswith("regime/summary.json") for e in r2.evidence)


def test_a_failed_regime_stage_downgrades_the_items_that_read_it(synthetic_out):
    from locent.paper_checks.stage_failures import downgrade_for_failed_stages

    from locent.pipeline import STAGE_RESULTS

    results = run_checks(synthetic_out)
    failed = {"simulate_regime": ("boom", STAGE_RESULTS["simulate_regime"])}
    after = {r.item: r.verdict for r in downgrade_for_failed_stages(results, failed)}
    assert {i for i, v in after.items() if v is Verdict.INCONCLUSIVE} == {1, 2, 4, 8}


def test_item5_b_is_judged_without_elaborate_samplers():
    wide = _grid_wide(0.1)
    fields = wide.attrs["fields"]
    keep = fields[fields[R.SAMPLER] != "teacher"]
    small = wide[list(keep["condition"])]
    small.attrs["fields"] = keep
    v, text, _, _, parts = judge_sampler_gain(small)
    assert [p["verdict"] for p in parts] == ["INCONCLUSIVE", "PASS"], text
    assert v is Verdict.INCONCLUSIVE and "no evidence" in parts[0]["note"]
