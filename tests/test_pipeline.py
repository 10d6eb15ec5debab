"""`locent run` (locent/pipeline.py): stage records, resume, failures, exit codes, the summary,
and the real job end to end."""

from __future__ import annotations

import json

import pytest

from locent import pipeline
from locent.cli import main
from locent.pipeline import (
    RunParams,
    Stage,
    StageError,
    load_state,
    main_job,
    run_main_job,
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
    assert logs[0] == "[1/4] a ..." and logs[1].startswith("[a] done")


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


def test_a_failing_theory_statement_is_a_finding_not_a_stage_failure(tmp_path, monkeypatch):
    results = [
        {"statement": "Lemma A", "method": "grid", "result": "PASS", "detail": ""},
        {"statement": "Lemma B", "method": "grid", "result": "FAIL", "detail": "1 violation"},
    ]
    seen = []

    def run_theory(out):
        seen.append(out)
        (out / "theory").mkdir()
        (out / "theory" / "results.json").write_text(json.dumps(results))
        return results

    monkeypatch.setattr(pipeline, "run_theory", run_theory)
    stages = [s for s in main_job() if s.name == "theory"]
    outcome = run_stages(tmp_path, stages, log=lambda m: None)
    assert seen == [tmp_path]
    assert outcome.records["theory"].status == "done" and outcome.exit_code == 0
    assert outcome.records["theory"].detail == "2 statements: 1 PASS, 1 FAIL"


def test_run_command_calls_the_pipeline_with_typed_parameters(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(pipeline, "run_main_job", lambda params: seen.append(params) or 0)
    out = str(tmp_path / "o")
    assert main(["run", "--quick", "--out", out, "--seed", "3", "--device", "cpu"]) == 0
    assert seen == [RunParams(out=out, seed=3, device="cpu", quick=True, resume=False)]
    assert main(["run", "--out", out, "--precision", "bf16"]) == 0
    assert seen[-1].precision == "bf16"


def test_precision_reaches_prepare_and_measure_only_when_asked():
    bf16 = {s.name: s.params for s in main_job(precision="bf16")}
    assert bf16["realdata_prepare"]["precision"] == "bf16"
    assert bf16["realdata_measure"]["precision"] == "bf16"
    assert "precision" not in bf16["realdata_grid"]  # the students' features stay fp32
    default = {s.name: s.params for s in main_job()}
    assert "precision" not in default["realdata_prepare"]  # a default run's state is unchanged


def test_run_main_job_prints_a_short_summary(tmp_path, monkeypatch):
    calls, logs = [], []
    monkeypatch.setattr(
        pipeline,
        "main_job",
        lambda seed, device, quick, precision, labelled: _stages(calls, fail="c"),
    )
    (tmp_path / "checks").mkdir()
    verdicts = [{"verdict": v} for v in ("PASS", "PASS", "FAIL", "INCONCLUSIVE")]
    (tmp_path / "checks" / "verdicts.json").write_text(json.dumps(verdicts))
    code = run_main_job(RunParams(out=str(tmp_path)), log=logs.append)
    assert code == 1  # stage c could not run (d is blocked)
    text = logs[-1]
    assert text.startswith("locent run: 4 stages")
    assert "could not run" in text and "c: StageError: c broke" in text
    # no checks stage in this job: no verdict line from a file it did not write
    assert "verdicts:" not in text


def test_summary_counts_verdicts_and_names_the_report(synthetic_out, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    stages = [s for s in main_job(quick=True) if s.name in ("checks", "report")]
    outcome = run_stages(out, stages, log=lambda m: None)
    text = pipeline.summary(out, outcome)
    assert "verdicts: 8 PASS, 0 FAIL, 0 INCONCLUSIVE" in text
    assert f"report: {out / 'report' / 'index.html'}" in text
    assert len(text.splitlines()) < 12  # short: no result tables


def test_main_job_stages():
    quick = main_job(seed=4, device="cpu", quick=True)
    assert [s.name for s in quick] == [
        "theory",
        "simulate",
        "realdata_prepare",
        "realdata_measure",
        "realdata_grid",
        "realdata_report",
        "figures",
        "checks",
        "report",
    ]
    params = {s.name: s.params for s in quick}
    assert params["simulate"]["preset"] == "smoke" and params["realdata_grid"]["preset"] == "smoke"
    assert params["realdata_grid"]["seed"] == 4 and params["realdata_grid"]["device"] == "cpu"
    assert params["realdata_prepare"]["datasets"] == ("msmarco",)
    assert params["realdata_prepare"]["dense_source"] == "bm25"
    assert params["realdata_prepare"]["queries"] == 16
    assert params["realdata_prepare"]["run_queries"] == 0
    assert params["realdata_measure"] == {"seed": 4, "device": "cpu", "datasets": ("msmarco",)}
    assert params["realdata_grid"]["test_sets"] == ("dl19",)
    full = {s.name: s.params for s in main_job()}
    assert full["simulate"]["preset"] == "paper" and full["realdata_grid"]["preset"] == "default"
    assert "datasets" not in full["realdata_prepare"]
    assert "dense_source" not in full["realdata_prepare"]  # the default: whole-corpus search


def test_figures_checks_report_stages_on_stored_results(synthetic_out, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    stages = [s for s in main_job(quick=True) if s.name in ("checks", "report")]
    outcome = run_stages(out, stages, log=lambda m: None)
    assert outcome.exit_code == 0, outcome.records
    verdicts = json.loads((out / "checks" / "verdicts.json").read_text())
    assert verdicts["stages_failed"] == []
    assert [v["verdict"] for v in verdicts["checks"]] == ["PASS"] * 8
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
    assert len(verdicts["checks"]) == 8 and verdicts["stages_failed"] == []
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


def test_stage_details_are_one_short_line():
    assert pipeline.brief(None) == ""
    assert pipeline.brief({"a": 1}) == "{'a': 1}"
    long = pipeline.brief("table\n" + "x " * 500)
    assert "\n" not in long and len(long) == 160 and long.endswith("…")


# --------------------------------------------------------------------------- freshness by content


def _table(rows: int = 2000):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame({"query_id": np.arange(rows), "score": rng.normal(size=rows)})


def test_verify_artifact_names_what_is_wrong(tmp_path):
    from locent.freshness import digest, verify_artifact
    from locent.provenance import provenance_path, write_with_provenance

    path = write_with_provenance(_table(), tmp_path / "bm25.parquet", sampler="bm25")
    assert verify_artifact(path) is None
    recorded = digest(path)
    assert recorded["rows"] == 2000 and verify_artifact(path, recorded) is None
    # intact but different from the record: changed, not corrupt
    write_with_provenance(_table(10), path, sampler="bm25")
    assert verify_artifact(path) is None
    same_size = {**recorded, "bytes": path.stat().st_size}
    assert "content changed since it was written" in verify_artifact(path, same_size)
    # the provenance record beside it says how many rows it must have
    prov = json.loads(provenance_path(path).read_text())
    provenance_path(path).write_text(json.dumps({**prov, "rows": 11}))
    assert verify_artifact(path) == "10 rows, its provenance record says 11"
    # truncated: the Parquet footer is gone
    write_with_provenance(_table(), path, sampler="bm25")
    with open(path, "r+b") as handle:
        handle.truncate(4000)
    assert verify_artifact(path).startswith("not a readable Parquet file")
    assert verify_artifact(path, recorded).startswith("not a readable Parquet file")
    (tmp_path / "s.json").write_text("{")
    assert verify_artifact(tmp_path / "s.json").startswith("not valid JSON")
    (tmp_path / "e.csv").write_text("")
    assert verify_artifact(tmp_path / "e.csv") == "empty file"
    assert verify_artifact(tmp_path / "nothing.parquet") == "missing"


def _cache_stages(calls, out_files=("groups/bm25.parquet",)):
    """``prepare`` keeps an existing group file (like realdata's own freshness test, which only
    checks that the file and its provenance exist); ``measure`` reads it."""
    import pandas as pd

    from locent.provenance import provenance_path, write_with_provenance

    def prepare(out):
        calls.append("prepare")
        path = out / "groups" / "bm25.parquet"
        if path.is_file() and provenance_path(path).is_file():
            return "kept"
        write_with_provenance(_table(), path, sampler="bm25")
        return "built"

    def measure(out):
        calls.append("measure")
        rows = len(pd.read_parquet(out / "groups" / "bm25.parquet"))
        (out / "measure.csv").write_text(f"rows\n{rows}\n")
        return f"{rows} rows"

    return [
        Stage("prepare", {}, prepare, outputs=("groups",)),
        Stage("measure", {}, measure, requires=("prepare",), outputs=("measure.csv",)),
    ]


def test_state_records_what_each_stage_read_and_wrote(tmp_path):
    from locent.provenance import file_sha256

    run_stages(tmp_path, _cache_stages([]), log=lambda m: None)
    stages = load_state(tmp_path)["stages"]
    group = tmp_path / "groups" / "bm25.parquet"
    written = stages["prepare"]["outputs"]
    assert set(written) == {"groups/bm25.parquet", "groups/bm25.provenance.json"}
    assert written["groups/bm25.parquet"]["sha256"] == file_sha256(group)
    assert written["groups/bm25.parquet"]["rows"] == 2000
    assert stages["measure"]["inputs"]["groups/bm25.parquet"] == file_sha256(group)
    assert set(stages["measure"]["outputs"]) == {"measure.csv"}


@pytest.mark.parametrize("resume", [True, False])
def test_a_truncated_cached_parquet_is_named_removed_and_rebuilt(tmp_path, resume):
    run_stages(tmp_path, _cache_stages([]), log=lambda m: None)
    group = tmp_path / "groups" / "bm25.parquet"
    with open(group, "r+b") as handle:  # the probe: truncate -s 4000 <out>/realdata/groups/...
        handle.truncate(4000)
    calls, logs = [], []
    outcome = run_stages(tmp_path, _cache_stages(calls), resume=resume, log=logs.append)
    text = "\n".join(logs)
    if resume:
        assert "[prepare] not current: its output groups/bm25.parquet does not verify: " in text
    assert "[prepare] removed corrupt groups/bm25.parquet (not a readable Parquet file" in text
    assert calls == ["prepare", "measure"] and outcome.exit_code == 0
    assert outcome.records["prepare"].detail == "built"
    assert (tmp_path / "measure.csv").read_text() == "rows\n2000\n"
    # the rebuilt file verifies again, so a further resume does nothing
    calls = []
    run_stages(tmp_path, _cache_stages(calls), resume=True, log=lambda m: None)
    assert calls == []


def test_resume_reruns_a_stage_whose_input_changed_outside_the_run(tmp_path):
    from locent.provenance import write_with_provenance

    run_stages(tmp_path, _cache_stages([]), log=lambda m: None)
    # a stand-alone command rewrote the groups (intact, different); only measure is resumed
    write_with_provenance(_table(500), tmp_path / "groups" / "bm25.parquet", sampler="bm25")
    calls, logs = [], []
    stages = [s for s in _cache_stages(calls) if s.name == "measure"]
    run_stages(tmp_path, stages, resume=True, log=logs.append)
    assert calls == ["measure"]
    assert "[measure] not current: its input groups/bm25.parquet changed" in logs
    assert (tmp_path / "measure.csv").read_text() == "rows\n500\n"


def test_resume_reruns_a_stage_whose_output_was_edited(tmp_path):
    run_stages(tmp_path, _cache_stages([]), log=lambda m: None)
    (tmp_path / "measure.csv").write_text("rows\n2001\n")  # same size, other bytes
    calls, logs = [], []
    run_stages(tmp_path, _cache_stages(calls), resume=True, log=logs.append)
    assert calls == ["measure"]
    assert any("its output measure.csv does not verify: content changed" in m for m in logs)


def test_a_stage_that_leaves_a_broken_or_no_output_fails_naming_it(tmp_path):
    def broken(out):
        (out / "t.parquet").write_bytes(b"PAR1 not really")
        return "wrote"

    stages = [
        Stage("broken", {}, broken, outputs=("t.parquet",)),
        Stage("silent", {}, lambda out: "nothing", outputs=("s.json",)),
    ]
    outcome = run_stages(tmp_path, stages, log=lambda m: None)
    assert outcome.records["broken"].status == "failed"
    assert "it wrote t.parquet, which does not verify: not a readable Parquet file" in (
        outcome.records["broken"].detail
    )
    assert outcome.records["silent"].detail == "StageError: it wrote no s.json"
    assert load_state(tmp_path)["stages"]["broken"]["outputs"] == {}


def test_a_broken_state_file_is_ignored_without_resume(tmp_path):
    (tmp_path / "run_state.json").write_text("{")
    logs = []
    outcome = run_stages(tmp_path, _stages([]), log=logs.append)
    assert outcome.exit_code == 0 and "run_state.json: not valid JSON" in logs[0]


# ------------------------------------------------------------------- failed stages → verdicts


def _failing(name):
    def run(out):
        raise StageError(f"{name} broke")

    return run


@pytest.mark.parametrize(
    "failing, inconclusive",
    [
        (("realdata_grid",), {5, 7, 8}),
        (("theory",), {1}),
        # prepare fails: measure and grid are blocked, so everything real-data is not judged
        (("realdata_prepare",), {3, 5, 6, 7, 8}),
    ],
)
def test_a_failed_stage_makes_dependent_verdicts_inconclusive(
    synthetic_out, tmp_path, failing, inconclusive
):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)  # every result file there, as a previous run left them
    job = {s.name: s for s in main_job(quick=True)}
    upstream = ["theory", "realdata_prepare", "realdata_measure", "realdata_grid"]
    stages = [
        Stage(n, {}, _failing(n) if n in failing else (lambda out: "ok"), job[n].requires)
        for n in upstream
    ] + [job["checks"], job["report"]]
    outcome = run_stages(out, stages, log=lambda m: None)
    assert outcome.records["checks"].status == "done" and outcome.exit_code == 1
    verdicts = json.loads((out / "checks" / "verdicts.json").read_text())
    failed = [f["stage"] for f in verdicts["stages_failed"]]
    assert set(failing) <= set(failed) and set(failed) == set(outcome.failed)
    by_item = {c["item"]: c for c in verdicts["checks"]}
    assert {i for i, c in by_item.items() if c["verdict"] == "INCONCLUSIVE"} == inconclusive
    for item in inconclusive:
        assert "failed in this run" in by_item[item]["explanation"]
    assert all(c["verdict"] == "PASS" for i, c in by_item.items() if i not in inconclusive)
    if failing == ("realdata_grid",):
        assert by_item[5]["explanation"].startswith(
            "stage realdata_grid failed in this run (StageError: realdata_grid broke)"
        )


def test_labelled_stage_is_opt_in_and_runs_the_labelled_plans(tmp_path, monkeypatch):
    """``--labelled`` adds ``realdata_labelled`` (the labelled stage function, typed parameters)
    after the dependence sweep and before the report; without it the main job has no such stage;
    with ``--quick`` it is refused before any work."""
    from locent.errors import UserError

    seen = []
    monkeypatch.setattr(pipeline, "run_main_job", lambda params: seen.append(params) or 0)
    assert main(["run", "--labelled", "--out", str(tmp_path / "o")]) == 0
    assert seen[-1].labelled is True
    assert "realdata_labelled" not in [s.name for s in main_job()]
    stages = main_job(seed=2, device="cpu", labelled=True)
    names = [s.name for s in stages]
    assert names.index("realdata_dependence") < names.index("realdata_labelled")
    assert names.index("realdata_labelled") < names.index("report")
    report = next(s for s in stages if s.name == "report")
    assert "realdata_labelled" in report.after
    calls = []
    monkeypatch.setattr(pipeline, "labelled_stage", lambda p: calls.append(p) or "labelled: ok")
    stage = next(s for s in stages if s.name == "realdata_labelled")
    assert stage.run(tmp_path) == "labelled: ok"
    assert (calls[0].out, calls[0].seed, calls[0].device) == (tmp_path, 2, "cpu")
    with pytest.raises(UserError, match="--labelled .* not part of --quick"):
        pipeline.preflight(RunParams(out=str(tmp_path / "q"), quick=True, labelled=True))
