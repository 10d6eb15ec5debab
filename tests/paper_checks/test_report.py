"""The report: one static offline HTML file and REPORT.md; scope and verdicts first, each verdict
naming the sub-criterion that decided it; tables that scroll; each figure embedded once."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from locent.figures.build import FIGURES, build_figures
from locent.paper_checks.checks import CHECKS, run_checks
from locent.paper_checks.report import build_report, verdict_frame
from locent.paper_checks.report_html import fmt
from locent.paper_checks.report_parts import decided_by, parts_of
from locent.paper_checks.report_tables import difference_ci
from locent.paper_checks.verdicts import Verdict
from scipy import stats

BUILT = ["bound_vs_risk", "sampler_violins", "table1_effectiveness"]


@pytest.fixture(scope="module")
def report(synthetic_out, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    shutil.copytree(synthetic_out, out)
    checks = run_checks(out)
    figures = build_figures(out, only=BUILT)
    return build_report(out, checks, figures), checks


def _text(page: str) -> str:
    """The page without its embedded images (base64 can spell anything)."""
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)


def test_html_is_static_offline_scope_and_verdicts_first(report):
    paths, checks = report
    page = paths["html"].read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", page)  # nothing fetched
    scope, verdicts = page.index("id='scope'"), page.index("id='verdicts'")
    assert page.index("<h1") < scope < verdicts < page.index("<table") < page.index("id='checks'")
    badges = re.findall(r"class='verdict (PASS|FAIL|INCONCLUSIVE)'", page[: page.index("</table>")])
    assert badges == [str(c.verdict) for c in checks]
    for section in (
        "Table 1 analogue",
        "Samplers on real data",
        "Theory: statements",
        "Provenance",
    ):
        assert section in page
    assert "figure misordering_heatmap not available" in page  # not built: said so


def test_each_figure_is_embedded_once_and_linked_from_its_checks(report):
    paths, checks = report
    page = paths["html"].read_text()
    assert page.count("src='data:image/png;base64,") == len(BUILT)
    for name in BUILT:
        assert page.count(f"id='fig-{name}'") == 1
    linked = {f for c in checks for f in c.figures if f in BUILT}
    for name in linked:
        assert f"href='#fig-{name}'" in page


def test_every_table_scrolls_inside_its_own_wrapper_and_no_literal_nan(report):
    paths, _ = report
    page = _text(paths["html"].read_text())
    assert page.count("<table") == page.count("<div class='scroll'><table")
    assert "overflow-x: auto" in page
    assert not re.search(r"\bnan\b", page, re.IGNORECASE)
    assert fmt(float("nan")) == "–" and fmt("nan") == "–" and fmt(float("inf")) == "∞"
    assert fmt(np.int64(3612)) == "3612" and fmt(0.123456) == "0.1235"


def test_long_tables_and_provenance_are_collapsed_and_readable(report, synthetic_out):
    paths, _ = report
    page = paths["html"].read_text()
    theory = json.loads((synthetic_out / "theory" / "results.json").read_text())
    assert f"<summary>{len(theory)} statements, {len(theory)} PASS</summary>" in page
    provenance = page[page.index("id='provenance'") :]
    assert "<summary>environment of this report" in provenance
    assert "&quot;" not in provenance and "{" not in _text(provenance).split("</style>")[-1]


def test_provenance_records_become_key_value_rows(synthetic_out, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    record = {"encoder": "mini", "seed": 3, "dataset": {"id": "msmarco", "sha256": "ab12"}}
    (out / "realdata" / "measure" / "samplers.provenance.json").write_text(json.dumps(record))
    (out / "simulate" / "smoke" / "table.provenance.json").write_text(
        json.dumps({**record, "seed": 4})
    )
    paths = build_report(out, run_checks(out), [])
    page = paths["html"].read_text()
    assert "<td>dataset.sha256</td><td>ab12</td>" in page
    assert "<td>seed</td><td>3</td>" in page and "<td>seed</td><td>4</td>" in page
    # the pairs both records hold are listed once
    assert page.count("<td>dataset.sha256</td>") == 1
    assert "shared by all 2 records" in page


def test_scope_banner_says_preset_queries_seeds_learning_and_hardware(report):
    paths, _ = report
    page = paths["html"].read_text()
    scope = _text(page[page.index("id='scope'") : page.index("id='verdicts'")])
    assert "QUICK run" in scope and "simulation `smoke`" in scope and "grid `smoke`" in scope
    assert "students trained on 200 training queries (full set; the entropy cuts fewer)" in scope
    assert "samplers measured on 60 training queries" in scope
    assert "test DL19 43, DL20 54 queries" in scope
    assert "grid 2 (0, 1); simulation 3" in scope
    # trained misordering 0.2 against 0.3 at initialisation (the encoder's cosine)
    assert "learned: yes" in scope and "0.200 after training" in scope and "vs 0.300" in scope
    assert "<b>Hardware:</b> CPU" in scope


def test_scope_banner_says_what_was_not_measured(synthetic_out, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    grid = out / "realdata" / "grid" / "smoke"
    (grid / "baselines.csv").unlink()
    (grid / "summary.json").unlink()
    results = pd.read_csv(grid / "results.csv")
    results["misordering"] = 0.2995  # against 0.3 at initialisation: barely moved
    page = build_report(out, run_checks(out), [])["html"].read_text()
    scope = page[page.index("id='scope'") : page.index("id='verdicts'")]
    assert "<b>Students:</b> not measured" in scope and "<b>Hardware:</b> not recorded" in scope
    shutil.copy(synthetic_out / "realdata" / "grid" / "smoke" / "baselines.csv", grid)
    results.to_csv(grid / "results.csv", index=False)
    page = build_report(out, run_checks(out), [])["html"].read_text()
    assert "learned: barely moved" in page


def test_failed_stages_banner_above_the_verdicts(synthetic_out, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    checks = run_checks(out)
    page = build_report(out, checks, [])["html"].read_text()
    assert "id='stages-failed'" not in page
    (out / "checks").mkdir()
    record = {
        "verdicts": [c.to_dict() for c in checks],
        "stages_failed": [{"stage": "realdata_grid", "error": "corrupt bm25.parquet"}, "figures"],
    }
    (out / "checks" / "verdicts.json").write_text(json.dumps(record, default=str))
    page = build_report(out, checks, [])["html"].read_text()
    banner = page[page.index("id='stages-failed'") : page.index("id='verdicts'")]
    assert "<b>realdata_grid</b>: corrupt bm25.parquet" in banner and "<b>figures</b>" in banner


def test_table1_as_differences_to_the_reference_with_ci_and_baselines_once(report):
    paths, _ = report
    page = _text(paths["html"].read_text())
    table1 = page[page.index("id='table1'") : page.index("id='samplers'")]
    main = table1[: table1.index("Entropy cuts")]
    assert main.count("<td>reference</td>") == 3 * 2  # the bm25 row of each loss, per test set
    assert "DL19 Δ vs bm25 [95% CI]" in table1 and "DL20 Δ vs bm25 [95% CI]" in table1
    assert "<summary>12 rows</summary>" not in table1  # the headline table is open
    # the synthetic teacher sampler is +0.05 under LCE: its Δ with a CI excluding 0 and ▲
    assert re.search(r"<td>\+0\.0[45]\d\d \[\+0\.0\d+, \+0\.0\d+\] ▲</td>", table1)
    assert "≈ equivalent within ±0.02" in table1
    assert table1.count("bm25 = run:bm25") == 1 and "frozen-bi student before training" in table1
    assert "<summary>every paired comparison of the grid (significance.csv)</summary>" in table1
    # the entropy cuts against the full set of the same student, loss and sampler
    cuts = table1[table1.index("Entropy cuts") :]
    assert "DL19 Δ vs full [95% CI]" in cuts and cuts.count("<td>reference</td>") == 2
    # keep_tukey_outliers was generated 0.08 worse than the full set
    assert re.search(r"<td>keep_tukey_outliers</td>.*?<td>−0\.0[78]\d\d \[−", cuts)


def test_difference_ci_inverts_the_paired_t_test():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.5, 0.1, 30), rng.normal(0.45, 0.1, 30)
    t = stats.ttest_rel(a, b)
    row = pd.Series({"mean_diff": np.mean(a - b), "t": t.statistic, "n_queries": 30})
    ci = t.confidence_interval(0.95)
    assert difference_ci(row) == pytest.approx((ci.low, ci.high))
    given = pd.Series({**row, "ci_low": -1.0, "ci_high": 2.0})
    assert difference_ci(given) == (-1.0, 2.0)  # the grid's own interval wins
    assert np.isnan(difference_ci(pd.Series({"mean_diff": 0.0, "t": 0.0, "n_queries": 5}))[0])


@pytest.mark.parametrize("item", range(1, 9))
def test_the_deciding_sub_criterion_is_named(make_results, item):
    """Contradicting item k makes it FAIL; its verdict row names the failing part first, and
    the parts read back from the numbers combine to the check's own verdict."""
    out = make_results(contradict=(item,))
    checks = run_checks(out)
    for c in checks:
        parts = parts_of(c)
        assert parts is not None, (c.item, c.explanation)
    failed = checks[item - 1]
    assert failed.verdict is Verdict.FAIL
    line = decided_by(failed)
    failing = [p for p in parts_of(failed) if p.verdict is Verdict.FAIL]
    assert line.startswith(f"{failing[0].label} → FAIL: {failing[0].note}")
    assert "(sub-criteria not attributed)" not in line


def test_item5_and_item7_failures_name_their_failing_part(make_results):
    out = make_results(contradict=(5, 7))
    checks = {c.item: c for c in run_checks(out, only=[5, 7])}
    five = decided_by(checks[5])
    assert five.startswith("(a) no significant gain of an elaborate sampler")
    assert "→ FAIL: significant gain: frozen/bi/soft_ranknet: teacher vs " in five
    seven = decided_by(checks[7])
    assert seven.startswith("frozen/bi/soft_ranknet/bm25: keep_tukey_outliers (extreme)")
    assert "→ FAIL" in seven and "other parts: 2 PASS" in seven
    assert "→ PASS" not in seven


def test_a_pass_lists_its_parts_and_missing_evidence_is_said(synthetic_out, tmp_path):
    checks = run_checks(synthetic_out)
    assert verdict_frame(checks)["decided by"].str.len().gt(10).all()
    assert decided_by(checks[7]).startswith("all 2 parts pass: (i) vacuous at BERT scale")
    empty = run_checks(tmp_path)
    assert decided_by(empty[4]).startswith("no evidence:")
    assert parts_of(empty[0]) is not None  # theory and summary missing: three undecided parts


def test_a_changed_rule_is_not_misattributed(synthetic_out):
    (check,) = run_checks(synthetic_out, only=[8])
    check.verdict = Verdict.FAIL  # the numbers say PASS: the reading does not combine to it
    assert parts_of(check) is None
    assert decided_by(check).endswith("(sub-criteria not attributed)")


def test_criterion_texts_state_the_decision_rules():
    criteria = {c.item: c.criterion for c in CHECKS}
    assert "more than half" in criteria[4] and "both" in criteria[4] and "t-tests" in criteria[4]
    assert "(a)" in criteria[5] and "(b)" in criteria[5]
    assert "FAIL if shown non-inferior" in criteria[7]


def test_markdown_report(report):
    paths, checks = report
    md = paths["md"].read_text()
    lines = md.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| item | check"))
    scope = next(i for i, line in enumerate(lines) if line.startswith("**Scope of this run**"))
    assert lines[0].startswith("# locent") and scope < header < 20
    for c, stab in zip(checks, verdict_frame(checks)["stability"]):
        assert f"| {c.item} | {c.name} | {c.verdict} | {stab} | {decided_by(c)} |" in md
    assert "![bound_vs_risk](../figures/bound_vs_risk.png)" in md
    assert md.count("](../figures/bound_vs_risk.png)") == 1 + sum(
        "bound_vs_risk" in c.figures for c in checks
    )
    verdicts = (paths["html"].parent / "verdicts.json").read_text()
    assert '"verdict": "PASS"' in verdicts


def test_report_without_results_still_written(tmp_path):
    checks = run_checks(tmp_path)
    paths = build_report(tmp_path, checks, build_figures(tmp_path))
    page = paths["html"].read_text()
    assert "8 INCONCLUSIVE" in page and "theory/results.json missing" in page
    assert "no simulation or grid results" in page
    assert page.count("<h3>") >= len(FIGURES)  # each missing figure is listed with its reason


def test_the_dependence_fit_and_learned_count_are_in_the_report(report):
    paths, _ = report
    page = paths["html"].read_text()
    assert "Risk against locality and entropy (real data)" in page
    assert "cells learned (held-out misordering fell by ≥ 20%)" in page
    assert "gap_on_locality" in page and "floor_on_entropy" in page
    md = paths["md"].read_text()
    assert "Risk against locality and entropy" in md


def test_labelled_section_counts_learned_cells_and_averages_only_those(tmp_path):
    """Absent: the report says how to get it. Present: one row per plan × test set × loss ×
    sampler, the seeds that learned counted, nDCG@10 averaged over those only (blank if none)."""
    from locent.paper_checks.report import _Doc, _labelled

    doc = _Doc()
    _labelled(doc, tmp_path)
    assert "not run (`locent run --labelled`" in "\n".join(doc.md)
    rows = []
    for seed, (learned, ndcg) in enumerate([(True, 0.4), (True, 0.2), (False, 0.9)]):
        base = {"student": "frozen", "arch": "cross", "subset": "full", "seed": seed,
                "dataset": "dl20", "positive_source": "qrels", "plan": "cross-year"}  # fmt: skip
        rows.append({**base, "loss": "lce", "sampler": "bm25", "learned": learned, "nDCG@10": ndcg})
        rows.append({**base, "loss": "lce", "sampler": "random", "learned": False, "nDCG@10": 0.5})
    folder = tmp_path / "realdata" / "labelled"
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "results.csv", index=False)
    doc = _Doc()
    _labelled(doc, tmp_path)
    md = "\n".join(doc.md)
    assert "2 of 6 cells learned" in md
    bm25 = next(line for line in md.splitlines() if "| bm25 |" in line)
    assert "| 3 | 2 | 0.3 |" in bm25  # 3 seeds, 2 learned, mean of 0.4 and 0.2 (not 0.5)
    random = next(line for line in md.splitlines() if "| random |" in line)
    assert "| 3 | 0 | – |" in random
