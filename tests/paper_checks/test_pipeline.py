"""`locent run` orchestration: stage records, resume, failures, and the real job end to end."""

from __future__ import annotations

import json

import pytest
from locent.paper_checks.cli import main
from locent.paper_checks.pipeline import (
    Stage,
    StageError,
    cli_stage,
    load_state,
    main_job,
    run_stages,
)


def _recorder(calls, name, fail=False):
    def run(out):
        calls.append(name)
        if fail:
            raise StageError(f"{name} broke")
        (out / f"{name}.txt").write_text(name)
        return f"{name} ok"

    return run


def _stages(calls, params=None, fail=()):
    params = params or {}
    return [
        Stage("a", params.get("a", {"seed": 0}), _recorder(calls, "a", "a" in fail)),
        Stage("b", params.get("b", {}), _recorder(calls, "b", "b" in fail), requires=("a",)),
        Stage("c", {}, _recorder(calls, "c", "c" in fail), after=("b",)),
        Stage("d", {}, _recorder(calls, "d", "d" in fail), requires=("c",)),
    ]


def test_stages_run_in_order_and_state_is_recorded(tmp_path):
    calls, logs = [], []
    outcome = run_stages(tmp_path, _stages(calls), log=logs.append)
    assert calls == ["a", "b", "c", "d"] and outcome.exit_code == 0
    state = load_state(tmp_path)
    assert list(state["stages"]) == ["a", "b", "c", "d"]
    assert all(s["status"] == "done" and s["wall_s"] >= 0 for s in state["stages"].values())
    assert state["stages"]["a"]["params"] == {"seed": 0}
    assert logs[0].startswith("[a] done")


def test_resume_skips_finished_stages_with_same_parameters(tmp_path):
    run_stages(tmp_path, _stages([]), log=lambda m: None)
    calls = []
    outcome = run_stages(tmp_path, _stages(calls), resume=True, log=lambda m: None)
    assert calls == [] and outcome.exit_code == 0
    assert {r.status for r in outcome.records.values()} == {"skipped"}
    # the state keeps the original records (wall times of the run that did the work)
    assert load_state(tmp_path)["stages"]["a"]["status"] == "done"
    # without --resume everything runs again
    calls = []
    run_stages(tmp_path, _stages(calls), log=lambda m: None)
    assert calls == ["a", "b", "c", "d"]


def test_changed_parameters_rerun_the_stage_and_its_dependents(tmp_path):
    run_stages(tmp_path, _stages([]), log=lambda m: None)
    calls = []
    run_stages(
        tmp_path, _stages(calls, params={"b": {"preset": "paper"}}), resume=True, log=lambda m: None
    )
    assert calls == ["b", "c", "d"]  # a unchanged; c reads b's results; d requires c


def test_failed_stage_blocks_dependents_and_gives_non_zero_exit(tmp_path, capsys):
    calls = []
    outcome = run_stages(tmp_path, _stages(calls, fail=("a",)), log=print)
    assert calls == ["a", "c", "d"]  # b requires a; c only reads b's results, so it runs
    assert outcome.records["b"].status == "blocked" and outcome.records["d"].status == "done"
    assert outcome.failed == ["a", "b"] and outcome.exit_code == 1
    assert "a broke" in capsys.readouterr().out
    # resume retries the failed stage (and what it blocked) but not the finished ones
    calls = []
    outcome = run_stages(tmp_path, _stages(calls), resume=True, log=lambda m: None)
    assert calls == ["a", "b", "c", "d"]  # c and d re-run because b ran again
    assert outcome.exit_code == 0


def test_interrupted_run_resumes_after_the_last_finished_stage(tmp_path):
    calls = []

    def interrupt(out):
        raise KeyboardInterrupt

    stages = _stages(calls)
    stages[2] = Stage("c", {}, interrupt, after=("b",))
    with pytest.raises(KeyboardInterrupt):
        run_stages(tmp_path, stages, log=lambda m: None)
    assert list(load_state(tmp_path)["stages"]) == ["a", "b"]
    calls = []
    run_stages(tmp_path, _stages(calls), resume=True, log=lambda m: None)
    assert calls == ["c", "d"]


def test_cli_stage_reports_missing_commands_and_argument_errors(tmp_path):
    with pytest.raises(StageError, match="not available"):
        cli_stage(["no-such-part"], {})(tmp_path)
    # an option the command does not declare is left out; `figures` declares no --seed
    detail = cli_stage(["figures"], {"--seed": 3, "--only": "sampler_violins"})(tmp_path)
    assert "--seed" not in detail and "--only sampler_violins" in detail
    detail = cli_stage(["figures"], {"--only": ["sampler_violins", "bound_vs_risk"]})(tmp_path)
    assert "--only sampler_violins bound_vs_risk" in detail


def test_main_job_stages():
    quick = main_job(seed=4, device="cpu", quick=True)
    assert [s.name for s in quick] == [
        "theory",
        "simulate",
        "realdata_prepare",
        "realdata_measure",
        "realdata_grid",
        "figures",
        "checks",
        "report",
    ]
    params = {s.name: s.params for s in quick}
    assert params["simulate"]["preset"] == "smoke" and params["realdata_grid"]["preset"] == "smoke"
    assert params["realdata_grid"]["--seed"] == 4 and params["realdata_grid"]["--device"] == "cpu"
    assert params["realdata_prepare"]["--datasets"] == "msmarco"
    assert params["realdata_prepare"]["--dense-source"] == "bm25"
    assert params["realdata_prepare"]["--queries"] == 16
    assert params["realdata_prepare"]["--run-queries"] == 0
    assert params["realdata_grid"]["--test-sets"] == ["dl19"]
    full = {s.name: s.params for s in main_job()}
    assert full["simulate"]["preset"] == "paper" and full["realdata_grid"]["preset"] == "default"
    assert "--datasets" not in full["realdata_prepare"]
    assert "--dense-source" not in full["realdata_prepare"]  # the default: whole-corpus search


def test_figures_checks_report_stages_on_stored_results(synthetic_out, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    stages = [s for s in main_job(quick=True) if s.name in ("checks", "report")]
    outcome = run_stages(out, stages, log=lambda m: None)
    assert outcome.exit_code == 0, outcome.records
    verdicts = json.loads((out / "checks" / "verdicts.json").read_text())
    assert [v["verdict"] for v in verdicts] == ["PASS"] * 8
    page = (out / "report" / "index.html").read_text()
    assert "Stages (wall time)" in page and "8 PASS" in page


@pytest.mark.slow
def test_locent_run_quick_end_to_end(tmp_path, irds_home, capsys):
    out = tmp_path / "run"
    code = main(["run", "--quick", "--out", str(out), "--device", "cpu"])
    printed = capsys.readouterr().out
    state = load_state(out)
    assert code == 0, printed
    assert {s["status"] for s in state["stages"].values()} == {"done"}
    assert (out / "report" / "index.html").is_file() and (out / "report" / "REPORT.md").is_file()
    verdicts = json.loads((out / "checks" / "verdicts.json").read_text())
    assert len(verdicts) == 8
    # warm: everything resumes
    assert main(["run", "--quick", "--resume", "--out", str(out), "--device", "cpu"]) == 0
    assert {s["status"] for s in load_state(out)["stages"].values()} == {"done"}


def test_resume_reruns_a_stage_whose_outputs_are_gone(tmp_path):
    def stages(calls):
        return [
            Stage("a", {}, _recorder(calls, "a"), outputs=("a.txt",)),
            Stage("b", {}, _recorder(calls, "b"), after=("a",), outputs=("b.txt",)),
        ]

    run_stages(tmp_path, stages([]), log=lambda m: None)
    (tmp_path / "a.txt").unlink()
    calls = []
    run_stages(tmp_path, stages(calls), resume=True, log=lambda m: None)
    assert calls == ["a", "b"]
    calls = []
    run_stages(tmp_path, stages(calls), resume=True, log=lambda m: None)
    assert calls == []
