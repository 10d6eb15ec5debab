"""Every check: PASS on supporting evidence, FAIL when its evidence is changed to contradict it,
INCONCLUSIVE without evidence. No verdict is typed in by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from locent.paper_checks.checks import CHECKS, judge_vacuity, run_checks
from locent.paper_checks.verdicts import Verdict, combine
from scipy import stats

from locent import stats as st


def test_all_checks_pass_on_supporting_evidence(synthetic_out):
    results = run_checks(synthetic_out)
    assert [r.item for r in results] == list(range(1, 9))
    verdicts = {r.name: r.verdict for r in results}
    assert set(verdicts.values()) == {Verdict.PASS}, {r.name: r.explanation for r in results}
    for r in results:
        assert r.numbers, r.name
        assert all(e.sha256 for e in r.evidence), r.name  # every evidence file was read


@pytest.mark.parametrize("item", range(1, 9))
def test_each_check_flips_when_evidence_contradicts_it(make_results, item):
    out = make_results(contradict=(item,))
    (result,) = run_checks(out, only=[item])
    assert result.verdict is Verdict.FAIL, result.explanation
    others = run_checks(out, only=[i for i in range(1, 9) if i != item])
    # contradicting one prediction leaves the verdicts of the others alone
    assert all(r.verdict is Verdict.PASS for r in others), [
        (r.item, r.explanation) for r in others if r.verdict is not Verdict.PASS
    ]


def test_every_check_is_inconclusive_without_evidence(tmp_path):
    results = run_checks(tmp_path / "nothing")
    assert {r.verdict for r in results} == {Verdict.INCONCLUSIVE}
    assert all("missing" in r.explanation or "no evidence" in r.explanation for r in results)


def test_a_fail_wins_over_missing_evidence(synthetic_out, tmp_path):
    (tmp_path / "simulate" / "smoke").mkdir(parents=True)
    summary = json.loads((synthetic_out / "simulate" / "smoke" / "summary.json").read_text())
    summary["exact_violations"] = 2
    (tmp_path / "simulate" / "smoke" / "summary.json").write_text(json.dumps(summary))
    (result,) = run_checks(tmp_path, only=[1])  # theory/results.json absent
    assert result.verdict is Verdict.FAIL
    assert "theory/results.json missing" in result.explanation


def test_theorem_iii_rate_above_delta_but_not_significantly_is_inconclusive(
    synthetic_out, tmp_path
):
    import shutil

    shutil.copytree(synthetic_out, tmp_path / "out")
    path = tmp_path / "out" / "simulate" / "smoke" / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(n_runs=100, theorem_iii_violation_rate=0.06, delta=0.05)
    path.write_text(json.dumps(summary))
    (result,) = run_checks(tmp_path / "out", only=[1])
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.numbers["theorem_iii_exceeds_delta_p"] == pytest.approx(
        stats.binomtest(6, 100, 0.05, alternative="greater").pvalue
    )


def test_vacuity_flips_with_scale():
    by_loss = {
        "soft_ranknet": {
            "smallest_non_vacuous_n_a_priori_max": 40.0,
            "by_n": {
                "64": {"runs": 40, "non_vacuous_fraction": 1.0, "bound_over_range_median": 0.3}
            },
        }
    }
    verdict, text, numbers, _, _ = judge_vacuity(by_loss)
    assert verdict is Verdict.PASS and numbers["bound_i_vacuous"]
    # a tiny network on many queries makes form (i) non-vacuous: the prediction fails
    verdict, _, numbers, _, _ = judge_vacuity(by_loss, weights=100, layers=2, n=1e9)
    assert verdict is Verdict.FAIL and not numbers["bound_i_vacuous"]
    by_loss["soft_ranknet"]["by_n"]["64"]["non_vacuous_fraction"] = 0.1
    verdict, _, _, _, _ = judge_vacuity(by_loss)
    assert verdict is Verdict.FAIL


def test_combine():
    assert combine([Verdict.PASS, Verdict.PASS]) is Verdict.PASS
    assert combine([Verdict.PASS, Verdict.INCONCLUSIVE]) is Verdict.INCONCLUSIVE
    assert combine([Verdict.INCONCLUSIVE, Verdict.FAIL]) is Verdict.FAIL
    assert combine([]) is Verdict.INCONCLUSIVE


def test_one_sided_tests_match_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.5, 0.1, 40), rng.normal(0.48, 0.1, 40)
    assert st.paired_gain_p(a, b) == pytest.approx(
        stats.ttest_rel(a, b, alternative="greater").pvalue
    )
    assert st.paired_noninferiority_p(a, b, 0.02) == pytest.approx(
        stats.ttest_1samp(a - b + 0.02, 0.0, alternative="greater").pvalue
    )
    p_eq, p_upper = st.tost_p(a, b, 0.05)
    from statsmodels.stats.weightstats import ttost_paired

    ref = ttost_paired(a, b, -0.05, 0.05)
    assert p_eq == pytest.approx(ref[0]) and p_upper == pytest.approx(ref[2][1])
    rho, p = st.spearman_exact([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], "less")
    assert rho == pytest.approx(-1.0) and p == pytest.approx(1 / 120)
    assert st.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])


def test_checks_are_declared_once_per_item():
    assert sorted(c.item for c in CHECKS) == list(range(1, 9))
    assert len({c.name for c in CHECKS}) == 8
    assert all(c.statement and c.criterion for c in CHECKS)


def test_unreadable_evidence_is_inconclusive_with_reason(tmp_path):
    folder = tmp_path / "realdata" / "measure"
    folder.mkdir(parents=True)
    pd.DataFrame({"dataset": ["x"], "sampler": ["bm25"]}).to_csv(folder / "samplers.csv")
    (result,) = run_checks(tmp_path, only=[3])
    assert result.verdict is Verdict.INCONCLUSIVE


def test_names_the_checks_use_are_registered():
    """The samplers, subsets and losses a check names exist in their registries (a renamed
    sampler would otherwise make a check silently INCONCLUSIVE)."""
    from locent.figures.style import SAMPLER_COLOURS
    from locent.paper_checks.items import entropy_cuts, sampler_gain
    from locent.realdata.entropy_cuts import SUBSETS
    from locent.realdata.samplers import SAMPLERS

    from locent.results import FULL_SUBSET

    named = {*sampler_gain.ELABORATE, *sampler_gain.BASELINES, *SAMPLER_COLOURS}
    assert named <= set(SAMPLERS)
    assert {FULL_SUBSET, *entropy_cuts.MODERATE_SUBSETS, *entropy_cuts.EXTREME_SUBSETS} <= set(
        SUBSETS
    )


def test_conditions_come_from_columns_not_names(synthetic_out, tmp_path):
    """The grid's per-query table without a condition column is read; a missing condition
    column is an INCONCLUSIVE verdict that names it."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    per_query = out / "realdata" / "grid" / "smoke" / "per_query.parquet"
    table = pd.read_parquet(per_query)
    assert "condition" not in table.columns
    table.drop(columns="arch").to_parquet(per_query, index=False)
    (result,) = run_checks(out, only=[5])
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "missing column(s) ['arch']" in result.explanation
