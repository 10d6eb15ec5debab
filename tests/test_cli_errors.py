"""The one error boundary of ``locent`` (locent/cli.py:main) and the argument checks before work.

Every CLI mistake ends as ``locent <command>: error: ...`` on stderr with exit 2 and no
traceback; Ctrl-C ends with exit 130 and the command that resumes. The simulate and realdata
probes run with every stage function patched to raise :class:`WorkStarted`, so a refusal that
comes after the work began fails the test instead of passing late.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import pytest

from locent import cli_types, pipeline
from locent.cli import main
from locent.cli_types import (
    comma_choices,
    existing_file,
    float_in,
    int_at_least,
    nonneg_int,
    open_probability,
    positive_int,
    require_results,
    writable_out_dir,
)
from locent.errors import MissingResults, UserError
from locent.results import ResultPaths


class WorkStarted(Exception):
    """Raised by a stage function patched in: the command got past its checks into the work."""


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``main(argv)`` → (exit code, stdout, stderr); argparse's own ``SystemExit`` included."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(code, err, command, *words):
    assert code == 2, err
    assert f"{command}: error:" in err, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


@pytest.fixture
def no_realdata_work(monkeypatch):
    """Every realdata/simulate stage function raises :class:`WorkStarted` when called."""
    import locent.realdata.stages as stages

    def refuse(*args, **kwargs):
        raise WorkStarted("the work began before the arguments were checked")

    for name in ("prepare_stage", "measure_stage", "grid_stage", "report_stage"):
        monkeypatch.setattr(stages, name, refuse)
    for module, name in [
        ("locent.realdata.prepare", "prepare"),
        ("locent.realdata.measure", "measure"),
        ("locent.simulate.runner", "run_preset"),
    ]:
        monkeypatch.setattr(f"{module}.{name}", refuse, raising=False)


# --------------------------------------------------------------------------- the type helpers


@pytest.mark.parametrize(
    "parse, text, message",
    [
        (positive_int, "0", "must be a positive integer, got 0"),
        (positive_int, "-5", "must be a positive integer, got -5"),
        (positive_int, "1.5", "expected an integer, got '1.5'"),
        (nonneg_int, "-3", "must be a non-negative integer, got -3"),
        (int_at_least(2, "a group needs a pair"), "1", ">= 2, got 1 (a group needs a pair)"),
        (open_probability, "1", "must satisfy 0 < p < 1, got 1"),
        (open_probability, "nan", "must be a finite number, got nan"),
        (float_in(0.0, 2.0, what="diameter"), "2.5", "0 <= diameter <= 2, got 2.5"),
        (comma_choices(["msmarco", "vaswani"], "dataset"), "msmarco,nosuch", "unknown dataset"),
        (comma_choices(lambda: ["a"], "sampler"), " , ", "comma-separated list of samplers"),
    ],
)
def test_type_helpers_refuse_with_a_message(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as err:
        parse(text)
    assert message in str(err.value)


def test_type_helpers_accept_good_values(tmp_path):
    assert positive_int("3") == 3 and nonneg_int("0") == 0 and open_probability("0.05") == 0.05
    assert comma_choices(("a", "b"), "x")("b, a") == ("b", "a")
    f = tmp_path / "run.trec"
    f.write_text("q 0 d 1 2.0 x\n")
    assert existing_file(str(f)) == f
    assert writable_out_dir(str(tmp_path / "new" / "deeper")) == str(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()  # nothing is created while parsing


def test_existing_file_and_out_dir_refusals(tmp_path, monkeypatch):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(argparse.ArgumentTypeError, match="no such file"):
        existing_file(str(tmp_path / "missing.trec"))
    with pytest.raises(argparse.ArgumentTypeError, match="not a file"):
        existing_file(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match="is a file, not a folder"):
        writable_out_dir(str(f))
    with pytest.raises(argparse.ArgumentTypeError, match="file is a file, not a folder"):
        writable_out_dir(str(f / "sub"))
    monkeypatch.setattr(cli_types.os, "access", lambda path, mode: False)
    with pytest.raises(argparse.ArgumentTypeError, match="is not writable"):
        writable_out_dir(str(tmp_path))


def test_require_results_names_the_commands_that_write_them(tmp_path, synthetic_out):
    with pytest.raises(MissingResults) as err:
        require_results(ResultPaths.locate(tmp_path / "typo"))
    text = str(err.value)
    assert "(no such folder)" in text and "`locent run`" in text and "`locent theory`" in text
    assert "`locent realdata measure`" in text and issubclass(MissingResults, UserError)
    assert "theory_results" in require_results(ResultPaths.locate(synthetic_out))


# --------------------------------------------------------------------------- the boundary


def test_user_error_from_a_handler_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    def fail(params):
        raise UserError("the teacher run x.trec has 3 columns, expected 6")

    monkeypatch.setattr(pipeline, "run_main_job", fail)
    code, _, err = run_cli(capsys, "run", "--out", str(tmp_path))
    assert_user_error(code, err, "locent run", "x.trec has 3 columns")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad value for field 'k'"),
        FileNotFoundError(2, "No such file or directory", "/nowhere/teacher.run"),
        PermissionError(13, "Permission denied", "/root/x"),
        NotADirectoryError(20, "Not a directory", "/etc/passwd/x"),
    ],
)
def test_builtin_user_errors_become_messages(capsys, monkeypatch, tmp_path, exc):
    monkeypatch.setattr(pipeline, "run_main_job", lambda params: (_ for _ in ()).throw(exc))
    code, _, err = run_cli(capsys, "run", "--out", str(tmp_path))
    assert_user_error(code, err, "locent run", "locent --debug run")
    assert str(exc.args[-1]) in err or str(getattr(exc, "filename", "")) in err


def test_debug_shows_the_traceback(monkeypatch, tmp_path):
    monkeypatch.setattr(pipeline, "run_main_job", lambda p: (_ for _ in ()).throw(UserError("x")))
    with pytest.raises(UserError):
        main(["--debug", "run", "--out", str(tmp_path)])
    monkeypatch.setenv("LOCENT_DEBUG", "1")
    with pytest.raises(UserError):
        main(["run", "--out", str(tmp_path)])


def test_a_bug_keeps_its_traceback(monkeypatch, tmp_path):
    monkeypatch.setattr(pipeline, "run_main_job", lambda p: (_ for _ in ()).throw(TypeError("b")))
    with pytest.raises(TypeError):
        main(["run", "--out", str(tmp_path)])


def test_ctrl_c_prints_the_resume_command_and_exits_130(capsys, monkeypatch, tmp_path):
    def interrupted(params):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_main_job", interrupted)
    out = str(tmp_path / "my out")
    code, _, err = run_cli(capsys, "run", "--quick", "--out", out, "--seed", "3")
    assert code == 130 and "Traceback" not in err
    assert f"resume with: locent run --resume --out '{out}' --quick --seed 3" in err


def test_ctrl_c_in_a_simulation_names_its_resume(capsys, monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("locent.simulate.runner.run_preset", interrupted)
    code, _, err = run_cli(capsys, "simulate", "--preset", "smoke", "--out", str(tmp_path))
    assert code == 130 and "Traceback" not in err
    assert f"locent simulate --preset smoke --resume --out {tmp_path}" in err


# --------------------------------------------------------------------------- locent run


def test_run_out_that_is_a_file_is_refused_before_work(capsys, monkeypatch, tmp_path):
    f = tmp_path / "results.txt"
    f.write_text("x")
    monkeypatch.setattr(pipeline, "main_job", lambda *a, **k: (_ for _ in ()).throw(WorkStarted))
    code, _, err = run_cli(capsys, "run", "--out", str(f))
    assert_user_error(code, err, "locent run", "argument --out", "is a file, not a folder")
    code, _, err = run_cli(capsys, "run", "--out", str(f / "sub"))
    assert_user_error(code, err, "locent run", "cannot create", "is a file, not a folder")


def test_run_out_read_only_is_refused(capsys, monkeypatch, tmp_path):
    real_access = os.access
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(
        cli_types.os,
        "access",
        lambda path, mode: False if str(path) == str(locked) else real_access(path, mode),
    )
    code, _, err = run_cli(capsys, "run", "--out", str(locked))
    assert_user_error(code, err, "locent run", f"folder {locked} is not writable")
    code, _, err = run_cli(capsys, "run", "--out", str(locked / "new"))
    assert_user_error(code, err, "locent run", "cannot create", "is not writable")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_run_out_read_only_for_real(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = run_cli(capsys, "run", "--out", str(locked))
    finally:
        locked.chmod(0o755)
    assert_user_error(code, err, "locent run", "is not writable")


def test_run_resume_with_a_broken_state_file_stops_before_work(capsys, monkeypatch, tmp_path):
    (tmp_path / "run_state.json").write_text("{not json")
    monkeypatch.setattr(pipeline, "main_job", lambda *a, **k: (_ for _ in ()).throw(WorkStarted))
    code, _, err = run_cli(capsys, "run", "--resume", "--out", str(tmp_path))
    assert_user_error(code, err, "locent run", "run_state.json: not valid JSON", "delete it")


def test_run_device_cuda_without_cuda_is_refused(capsys, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(pipeline, "main_job", lambda *a, **k: (_ for _ in ()).throw(WorkStarted))
    code, _, err = run_cli(capsys, "run", "--device", "cuda", "--out", str(tmp_path))
    assert_user_error(code, err, "locent run", "--device cuda", "no CUDA device")


# --------------------------------------------------------------------------- figures / checks


@pytest.mark.parametrize("command", ["checks", "figures"])
def test_reading_commands_on_a_folder_without_results_exit_2(capsys, tmp_path, command):
    code, out, err = run_cli(capsys, command, "--out", str(tmp_path))
    assert_user_error(code, err, f"locent {command}", "no results under", "`locent run`")
    assert "`locent simulate --preset smoke|paper`" in err
    assert not (tmp_path / "report").exists() and not (tmp_path / "figures").exists()
    code, _, err = run_cli(capsys, command, "--out", str(tmp_path / "typo"))
    assert_user_error(code, err, f"locent {command}", "(no such folder)")


def test_checks_writes_the_verdicts_file(capsys, synthetic_out, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(synthetic_out, out)
    code, printed, _ = run_cli(capsys, "checks", "--no-report", "--out", str(out))
    assert code == 0 and "PASS" in printed
    verdicts = json.loads((out / "checks" / "verdicts.json").read_text())
    assert verdicts["stages_failed"] == [] and len(verdicts["checks"]) == 8
    paths = {e["path"] for c in verdicts["checks"] for e in c["evidence"]}
    assert "theory/results.json" in paths and not any(os.path.isabs(p) for p in paths)


def test_figures_unknown_name_and_preset(capsys, synthetic_out):
    code, _, err = run_cli(capsys, "figures", "--out", str(synthetic_out), "--only", "nosuch")
    assert_user_error(code, err, "locent figures", "unknown figure(s) nosuch", "known:")
    code, _, err = run_cli(capsys, "checks", "--out", str(synthetic_out), "--sim-preset", "x")
    assert_user_error(code, err, "locent checks", "argument --sim-preset: invalid choice: 'x'")


# --------------------------------------------------------------------------- theory bound


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            [
                "--form",
                "ii",
                "--n",
                "1000",
                "--entropy",
                "5",
                "--vc-dim",
                "10",
                "--loss-range",
                "1",
            ],
            ["--entropy 5", "[0, ln 2]"],
        ),
        (
            [
                "--form",
                "ii",
                "--n",
                "1000",
                "--entropy",
                "-0.1",
                "--vc-dim",
                "1",
                "--loss-range",
                "1",
            ],
            ["--entropy -0.1"],
        ),
        (
            ["--form", "i", "--n", "1e-300", "--vc-dim", "10", "--loss-range", "1"],
            ["--n 1e-300", "at least 1"],
        ),
        (
            ["--form", "i", "--n", "nan", "--vc-dim", "10", "--loss-range", "1"],
            ["argument --n", "finite"],
        ),
        (
            ["--form", "i", "--n", "100", "--delta", "1.5", "--vc-dim", "1", "--loss-range", "1"],
            ["argument --delta", "0 < p < 1"],
        ),
        (["--form", "transfer", "--risk", "0.1", "--kappa", "0.5"], ["argument --kappa"]),
        (["--form", "iii", "--n", "100"], ["form 'iii' needs --diameter, --weight-norm"]),
    ],
)
def test_theory_bound_refuses_impossible_settings(capsys, argv, words):
    code, out, err = run_cli(capsys, "theory", "bound", *argv)
    assert_user_error(code, err, "locent theory bound", *words)
    assert out == ""


def test_theory_bound_still_answers(capsys):
    code, out, _ = run_cli(
        capsys, "theory", "bound", "--form", "ii", "--n", "1e6", "--entropy", "0.5",
        "--vc-dim", "10", "--loss-range", "1",
    )  # fmt: skip
    assert code == 0 and "risk bound" in out


# --------------------------------------------------------------------------- simulate / realdata


def test_simulate_unknown_preset(capsys, tmp_path):
    code, _, err = run_cli(capsys, "simulate", "--preset", "nosuch", "--out", str(tmp_path))
    assert_user_error(code, err, "locent simulate", "nosuch", "smoke")


def test_simulate_unknown_preset_refused_while_parsing(capsys, tmp_path, no_realdata_work):
    code, _, err = run_cli(capsys, "simulate", "--preset", "nosuch", "--out", str(tmp_path))
    assert_user_error(code, err, "locent simulate", "argument --preset", "nosuch")


def test_simulate_out_is_a_file(capsys, tmp_path, no_realdata_work):
    f = tmp_path / "f"
    f.write_text("x")
    code, _, err = run_cli(capsys, "simulate", "--preset", "smoke", "--out", str(f))
    assert_user_error(code, err, "locent simulate", "argument --out", "is a file")


def test_simulate_negative_seed_refused_while_parsing(capsys, tmp_path, no_realdata_work):
    code, _, err = run_cli(capsys, "simulate", "--seed", "-1", "--out", str(tmp_path))
    assert_user_error(code, err, "locent simulate", "argument --seed", "non-negative", "-1")


PREPARE_PROBES = [
    (["--queries", "-5"], ["argument --queries", "non-negative integer, got -5"]),
    (["--test-queries", "-3"], ["argument --test-queries", "non-negative integer, got -3"]),
    (["--run-queries", "-2"], ["argument --run-queries", ">= -1, got -2"]),
    (["--k", "1"], ["argument --k", ">= 2, got 1"]),
    (["--depth", "0"], ["argument --depth", "positive integer, got 0"]),
    (["--universe", "x"], ["argument --universe", "expected an integer, got 'x'"]),
    (["--rerank-depth", "-1"], ["argument --rerank-depth", "positive integer"]),
    (["--dense-depth", "0"], ["argument --dense-depth", "positive integer"]),
    (["--margin", "-0.5"], ["argument --margin", "0 <= x", "-0.5"]),
    (["--seed", "-1"], ["argument --seed", "non-negative"]),
    (["--datasets", "nosuch"], ["argument --datasets", "unknown dataset 'nosuch'", "msmarco"]),
    (["--samplers", "bm25,nosuch"], ["argument --samplers", "unknown sampler 'nosuch'"]),
    (["--teacher", "/nonexistent/teacher.run"], ["teacher", "/nonexistent/teacher.run"]),
    (["--teacher", "scores.json.gz"], ["argument --teacher", "no such teacher file: scores"]),
]


@pytest.mark.parametrize("argv, words", PREPARE_PROBES, ids=[p[0][0] for p in PREPARE_PROBES])
def test_realdata_prepare_refuses_bad_arguments_before_work(
    capsys, tmp_path, no_realdata_work, argv, words
):
    code, _, err = run_cli(capsys, "realdata", "prepare", "--out", str(tmp_path), *argv)
    assert_user_error(code, err, "locent realdata prepare", *words)


def test_realdata_prepare_bad_test_queries_fails_within_two_seconds(
    capsys, tmp_path, no_realdata_work
):
    """The probe that took 93 s (BM25 and encoding first): now refused while parsing."""
    start = time.perf_counter()
    code, _, err = run_cli(capsys, "realdata", "prepare", "--out", str(tmp_path),
                           "--test-queries", "-3")  # fmt: skip
    assert time.perf_counter() - start < 2.0
    assert_user_error(code, err, "locent realdata prepare", "argument --test-queries")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_realdata_prepare_refuses_a_malformed_teacher_run(capsys, tmp_path, no_realdata_work):
    bad = tmp_path / "teacher.run"
    bad.write_text("q1 Q0 d1 1 2.5 t\nthis is not a TREC run\n")
    code, _, err = run_cli(capsys, "realdata", "prepare", "--out", str(tmp_path), "--teacher",
                           str(bad))  # fmt: skip
    assert_user_error(code, err, "locent realdata prepare", f"{bad}:2: malformed line", "rank")
    bad.write_text("q1 Q0 d1 1 2.5\n")
    code, _, err = run_cli(capsys, "realdata", "prepare", "--out", str(tmp_path), "--teacher",
                           str(bad))  # fmt: skip
    assert_user_error(code, err, "locent realdata prepare", f"{bad}:1:", "expected 6 fields")
    bad.write_text("")
    code, _, err = run_cli(capsys, "realdata", "prepare", "--out", str(tmp_path), "--teacher",
                           str(bad))  # fmt: skip
    assert_user_error(code, err, "locent realdata prepare", f"teacher run {bad} is empty")
    scores = tmp_path / "scores.json"
    scores.write_text("[1, 2]")
    code, _, err = run_cli(capsys, "realdata", "prepare", "--out", str(tmp_path), "--teacher",
                           str(scores))  # fmt: skip
    assert_user_error(code, err, "locent realdata prepare", str(scores), "not a JSON object")


def test_realdata_teacher_accepts_model_names_folders_and_good_runs(tmp_path):
    from locent.realdata.cli_checks import teacher_source

    good = tmp_path / "teacher.trec"
    good.write_text("q1 Q0 d1 1 2.5 t\nq1 Q0 d2 2 1.0 t\n")
    assert teacher_source(str(good)) == str(good)
    scores = tmp_path / "scores.json"
    scores.write_text('{"q1": {"d1": 1.0}}')
    assert teacher_source(str(scores)) == str(scores)
    assert teacher_source(str(tmp_path)) == str(tmp_path)  # a model folder
    for name in ("rasyosef/splade-tiny", "cross-encoder/ms-marco-MiniLM-L-6-v2", "splade"):
        assert teacher_source(name) == name  # model names are resolved by the stage
    # only the first lines are checked while parsing (the stage reads the whole run)
    long_run = tmp_path / "long.run"
    long_run.write_text("q1 Q0 d1 1 2.5 t\n" * 5 + "broken\n")
    assert teacher_source(str(long_run)) == str(long_run)
    # a file is recognised by its content, not its name (issue 14): a run called *.txt is a run
    as_txt = tmp_path / "teacher.txt"
    as_txt.write_text("q1 Q0 d1 1 2.5 t\n")
    assert teacher_source(str(as_txt)) == str(as_txt)
    with pytest.raises(argparse.ArgumentTypeError, match="malformed line.*a teacher file is"):
        other = tmp_path / "teacher.bin"
        other.write_text("x")
        teacher_source(str(other))


def test_realdata_parsed_lists_are_tuples(tmp_path):
    from locent.realdata import cli as realdata_cli
    from locent.realdata.prepare import PLANS
    from locent.realdata.samplers import SAMPLERS

    from locent.cli import build_parser

    args = build_parser().parse_args(["realdata", "prepare", "--out", str(tmp_path)])
    p = realdata_cli.prepare_params(args)
    assert p.datasets == tuple(PLANS) and p.samplers == SAMPLERS
    args = build_parser().parse_args(
        ["realdata", "measure", "--datasets", "vaswani", "--samplers", "bm25, random"]
    )
    p = realdata_cli.measure_params(args)
    assert p.datasets == ("vaswani",) and p.samplers == ("bm25", "random")


GRID_PROBES = [
    (["grid", "--steps", "0"], ["argument --steps", "positive integer, got 0"]),
    (["grid", "--batch-size", "-4"], ["argument --batch-size", "positive integer"]),
    (["grid", "--threads", "0"], ["argument --threads", "positive integer"]),
    (["grid", "--samplers", "bm25", "nosuch"], ["argument --samplers", "unknown sampler"]),
    (["grid", "--test-sets", "dl21"], ["argument --test-sets", "unknown test set 'dl21'", "dl19"]),
    (["grid", "--teacher-sets", "x"], ["argument --teacher-sets", "unknown test set 'x'"]),
    (["grid", "--lr", "inf"], ["argument --lr", "finite number > 0"]),
    (["train", "--sampler", "nosuch", "--loss", "soft_ranknet"], ["argument --sampler", "nosuch"]),
    (
        ["train", "--sampler", "bm25", "--loss", "soft_ranknet", "--subset", "half"],
        ["argument --subset", "unknown entropy subset 'half'", "keep_below_median"],
    ),
    (["train", "--sampler", "bm25", "--loss", "soft_ranknet", "--tau", "0"], ["argument --tau"]),
    (["report", "--alpha", "1"], ["argument --alpha", "0 < p < 1, got 1"]),
    (["report", "--alpha", "0"], ["argument --alpha", "0 < p < 1, got 0"]),
    (["report", "--margin", "0"], ["argument --margin", "0 < x, got 0"]),
    (["report", "--reference", "bm52"], ["argument --reference", "unknown sampler 'bm52'"]),
    (["measure", "--datasets", "nosuch"], ["argument --datasets", "unknown dataset 'nosuch'"]),
]


@pytest.mark.parametrize("argv, words", GRID_PROBES, ids=[" ".join(p[0]) for p in GRID_PROBES])
def test_realdata_steps_refuse_bad_arguments_before_work(
    capsys, monkeypatch, tmp_path, no_realdata_work, argv, words
):
    monkeypatch.setattr("locent.realdata.cli.run_grid", lambda *a, **k: (_ for _ in ()).throw(
        WorkStarted("train began")))  # fmt: skip
    code, _, err = run_cli(capsys, "realdata", argv[0], "--out", str(tmp_path), *argv[1:])
    assert_user_error(code, err, f"locent realdata {argv[0]}", *words)


@pytest.mark.parametrize("step", ["prepare", "measure"])
def test_realdata_out_is_a_file(capsys, tmp_path, no_realdata_work, step):
    f = tmp_path / "f"
    f.write_text("x")
    code, _, err = run_cli(capsys, "realdata", step, "--out", str(f))
    assert_user_error(code, err, f"locent realdata {step}", "argument --out", "is a file")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["grid", "--preset", "smoke"], "run `locent realdata prepare` first"),
        (["report", "--preset", "smoke"], "run `locent realdata grid` first"),
    ],
)
def test_realdata_steps_on_an_empty_out_name_the_producer(
    capsys, tmp_path, no_realdata_work, argv, message
):
    code, _, err = run_cli(capsys, "realdata", argv[0], "--out", str(tmp_path), *argv[1:])
    assert_user_error(code, err, f"locent realdata {argv[0]}", str(tmp_path), message)


def test_realdata_measure_on_an_empty_out_stops_before_work(capsys, tmp_path, no_realdata_work):
    code, _, err = run_cli(capsys, "realdata", "measure", "--out", str(tmp_path))
    assert_user_error(code, err, "locent realdata measure", "run `locent realdata prepare` first")
    assert str(tmp_path / "realdata" / "groups") in err


def test_measure_checks_its_groups_before_loading_the_encoder(monkeypatch, tmp_path):
    """``locent run`` calls :func:`measure` directly: it too stops before the encoder loads."""
    from locent.realdata import measure as measure_module

    monkeypatch.setattr(measure_module, "load_encoder", lambda *a, **k: (_ for _ in ()).throw(
        WorkStarted("the encoder loaded before the groups were checked")))  # fmt: skip
    with pytest.raises(MissingResults, match="run `locent realdata prepare` first"):
        measure_module.measure(tmp_path, plans=("vaswani",), samplers=("bm25",))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["theory"], ["figures"], ["checks"]])
def test_out_that_is_a_file_is_refused_while_parsing(capsys, monkeypatch, tmp_path, command):
    import locent.theory.cli as theory_cli

    monkeypatch.setattr(theory_cli, "run_all", lambda seed=0: (_ for _ in ()).throw(WorkStarted))
    f = tmp_path / "f"
    f.write_text("x")
    code, _, err = run_cli(capsys, *command, "--out", str(f))
    assert_user_error(
        code, err, f"locent {command[0]}", "argument --out", "is a file, not a folder"
    )
