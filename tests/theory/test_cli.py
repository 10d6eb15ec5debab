"""``locent theory`` and ``locent theory bound`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from locent.theory import checks, symbolic, symbolic_lemma_c
from locent.theory.cli import run_theory

from locent.cli import main

REQUIRED = {"statement", "method", "result", "detail"}


@pytest.fixture
def small_run(monkeypatch):
    """A real but small run: the Lemma C proofs and two cheap numeric checks."""
    monkeypatch.setattr(symbolic, "_MODULES", (symbolic_lemma_c,))
    monkeypatch.setattr(checks, "CHECKS", (checks.check_corollary_transfer, checks.check_vacuity))


def test_theory_json_schema_and_file(small_run, tmp_path, capsys):
    rc = main(["theory", "--json", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    rows = json.loads(out)  # stdout is the JSON list and nothing else
    assert rc == 0
    assert len(rows) == len(symbolic_lemma_c.PROOFS) + 2
    for row in rows:
        assert REQUIRED <= set(row) and row["result"] in ("PASS", "FAIL")
    written = json.loads((tmp_path / "theory" / "results.json").read_text())
    assert written == rows
    prov = json.loads((tmp_path / "theory" / "results.provenance.json").read_text())
    assert prov["statements"] == len(rows) and prov["failed"] == 0 and "versions" in prov


def test_seed_changes_the_samples_reproducibly(small_run, tmp_path, capsys):
    details = []
    for seed in (0, 5, 5):
        main(["theory", "--json", "--seed", str(seed), "--out", str(tmp_path)])
        rows = json.loads(capsys.readouterr().out)
        assert all(r["result"] == "PASS" for r in rows)
        details.append([r["detail"] for r in rows if r["statement"].startswith("Corollary")])
    assert details[1] == details[2] and details[0] != details[1]


def test_theory_table_and_exit_code_on_failure(small_run, monkeypatch, tmp_path, capsys):
    def failing():
        from locent.theory.symbolic_base import ProofResult

        return ProofResult("a false statement", "numeric", "FAIL", "1 > 0")

    monkeypatch.setattr(checks, "CHECKS", (checks.check_vacuity, failing))
    rc = main(["theory", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAIL  a false statement" in out and "detail: 1 > 0" in out
    assert "PASS  Vacuity" in out and "1 FAIL" in out


def test_run_theory_is_the_stage_function_the_command_calls(small_run, monkeypatch, tmp_path):
    """``run_theory`` writes results.json and returns the rows, FAILs included, without raising
    (``locent run`` records a FAIL as a finding); the command prints them and exits 1."""

    def failing():
        from locent.theory.symbolic_base import ProofResult

        return ProofResult("a false statement", "numeric", "FAIL", "1 > 0")

    monkeypatch.setattr(checks, "CHECKS", (checks.check_vacuity, failing))
    rows = run_theory(tmp_path / "stage", seed=0)
    assert [r["result"] for r in rows][-2:] == ["PASS", "FAIL"]
    assert json.loads((tmp_path / "stage" / "theory" / "results.json").read_text()) == rows


def test_bound_form_i_bert_is_vacuous(capsys):
    rc = main(
        [
            "theory",
            "bound",
            "--form",
            "i",
            "--n",
            "5e5",
            "--n-weights",
            "1.1e8",
            "--n-layers",
            "12",
            "--loss-range",
            "1",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["vacuous"] is True and out["value"] > 100
    assert out["smallest_non_vacuous_n"] > 5e5
    assert out["bound"] == "GeneralisationBound(delta=0.05, C=1.0)"


def test_bound_form_iii_and_smallest_n_is_the_threshold(capsys):
    args = ["theory", "bound", "--form", "iii", "--diameter", "1.2", "--weight-norm", "1", "--json"]
    main([*args, "--n", "1000"])
    out = json.loads(capsys.readouterr().out)
    assert out["vacuous"] is False
    n0 = out["smallest_non_vacuous_n"]
    main([*args, "--n", str(n0)])
    assert json.loads(capsys.readouterr().out)["vacuous"] is False
    main([*args, "--n", str(n0 - 1)])
    assert json.loads(capsys.readouterr().out)["vacuous"] is True


def test_bound_form_ii_search_and_never(capsys):
    base = [
        "theory",
        "bound",
        "--form",
        "ii",
        "--vc-dim",
        "100",
        "--loss-range",
        "2",
        "--json",
        "--eta",
        "0.25",
    ]
    main([*base, "--n", "1e5", "--entropy", "0.05"])
    out = json.loads(capsys.readouterr().out)
    n0 = out["smallest_non_vacuous_n"]
    main([*base, "--n", str(n0), "--entropy", "0.05"])
    assert json.loads(capsys.readouterr().out)["vacuous"] is False
    main([*base, "--n", str(n0 - 1), "--entropy", "0.05"])
    assert json.loads(capsys.readouterr().out)["vacuous"] is True
    # H/h(3/4) ≥ 1 already: no n helps
    main([*base, "--n", "1e5", "--entropy", "0.6"])
    out = json.loads(capsys.readouterr().out)
    assert out["vacuous"] is True and out["never_non_vacuous"] is True


def test_bound_transfer_human_readable(capsys):
    rc = main(["theory", "bound", "--form", "transfer", "--risk", "0.3", "--kappa", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "TransferBound(group_size=2)" in out and "VACUOUS" in out


def test_bound_missing_parameter_is_an_error(capsys):
    rc = main(["theory", "bound", "--form", "iii", "--n", "10"])
    err = capsys.readouterr().err
    assert rc == 2 and "--diameter" in err and "--weight-norm" in err


def test_bound_bad_value_is_an_error(capsys):
    # refused while parsing (locent.cli_types.open_probability): argparse's exit 2 and message
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "theory",
                "bound",
                "--form",
                "i",
                "--n",
                "100",
                "--vc-dim",
                "5",
                "--loss-range",
                "1",
                "--delta",
                "1.5",
            ]
        )
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "locent theory bound: error: argument --delta" in err


def _console_script() -> str:
    script = Path(sys.executable).with_name("locent")
    if not script.exists():
        pytest.skip(f"console script not installed beside {sys.executable}")
    return str(script)


def test_console_script_bound_json():
    proc = subprocess.run(
        [
            _console_script(),
            "theory",
            "bound",
            "--form",
            "i",
            "--n",
            "1e4",
            "--vc-dim",
            "10",
            "--loss-range",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LOCENT_NO_PROGRESS": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["form"] == "i" and out["vacuous"] is False


@pytest.mark.slow
def test_console_script_full_run_all_pass(tmp_path):
    """The real ``locent theory --json``: every statement PASSes, stdout is only JSON, and the
    provenance is evidence: no wall time in it (issue 16: identical runs, identical hashes; run
    times belong to the run record)."""
    proc = subprocess.run(
        [_console_script(), "theory", "--json", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "LOCENT_NO_PROGRESS": "1"},
    )
    rows = json.loads(proc.stdout)
    failed = [r for r in rows if r["result"] != "PASS"]
    assert proc.returncode == 0 and not failed, failed
    assert len(rows) >= 40
    prov = json.loads((tmp_path / "theory" / "results.provenance.json").read_text())
    assert "wall_time_s" not in prov, prov
