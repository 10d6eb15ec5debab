"""Identical runs write identical evidence: every file under ``theory/``, ``simulate/`` and
``checks/verdicts.json`` is the same byte for byte in two output folders (of different names and
path lengths), so the sha256 the report shows for each evidence file is reproducible. Wall times
and absolute paths belong in the run record (``run_state.json`` of ``locent run``,
``simulate/<preset>/run_record.json`` of ``locent simulate``), not in evidence.

Slow (two theory runs, two smoke simulations):
``pytest -m slow tests/test_evidence_reproducible.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from locent.cli import main

pytestmark = pytest.mark.slow

#: files that are the run record, not evidence
RUN_RECORD = ("run_state.json", "run_record.json")


def evidence_files(out: Path, under: str) -> dict[str, bytes]:
    """``{path relative to out: bytes}`` of every file below ``out/under``."""
    root = out / under
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in RUN_RECORD
    }


def _json_differences(a, b, prefix: str = "") -> list[str]:
    """The keys (dotted) whose values differ between two JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in _json_differences(a.get(k), b.get(k), f"{prefix}{k}.")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b))
            for d in _json_differences(x, y, f"{prefix}{i}.")
        ]  # noqa: E501
    return [] if a == b else [prefix.rstrip(".") or "(whole file)"]


def differences(first: dict[str, bytes], second: dict[str, bytes]) -> list[str]:
    """One line per file that differs: the file, and for JSON the keys that differ."""
    lines = []
    for name in sorted(set(first) | set(second)):
        a, b = first.get(name), second.get(name)
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"{name}: only in {'second' if a is None else 'first'} run")
        elif name.endswith(".json"):
            keys = _json_differences(json.loads(a), json.loads(b))
            lines.append(f"{name}: keys {', '.join(keys)}")
        else:
            lines.append(f"{name}: bytes differ")
    return lines


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    """``locent theory``, ``locent simulate --preset smoke`` and ``locent checks --no-report``
    run twice, into folders of different names (so an absolute path shows as a difference)."""
    base = tmp_path_factory.mktemp("evidence")
    outs = (base / "first", base / "second-run-folder")
    for out in outs:
        assert main(["theory", "--out", str(out)]) in (0, 1)  # a FAIL is a finding
        assert main(["simulate", "--preset", "smoke", "--out", str(out)]) == 0
        assert main(["checks", "--no-report", "--out", str(out)]) == 0
    return outs


def test_theory_evidence_is_identical(two_runs):
    first, second = (evidence_files(out, "theory") for out in two_runs)
    assert "theory/results.json" in first and "theory/results.provenance.json" in first
    assert differences(first, second) == []


def test_simulation_evidence_and_verdicts_are_identical(two_runs):
    first, second = (
        {**evidence_files(out, "simulate"), **evidence_files(out, "checks")} for out in two_runs
    )
    assert "simulate/smoke/summary.json" in first and "checks/verdicts.json" in first
    assert "simulate/smoke/table.parquet" in first and "simulate/smoke/chunks" in " ".join(first)
    assert differences(first, second) == []


def test_the_run_record_holds_what_differs(two_runs):
    """The path, wall time and reuse count left the summary for the run record, which names
    each run's own table."""
    for out in two_runs:
        summary = json.loads((out / "simulate" / "smoke" / "summary.json").read_text())
        record = json.loads((out / "simulate" / "smoke" / "run_record.json").read_text())
        assert not {"table", "wall_time_s", "chunks_reused"} & set(summary)
        assert record["table"] == str(out / "simulate" / "smoke" / "table.parquet")
        assert record["wall_time_s"] > 0 and record["chunks_reused"] == 0


def test_verdicts_file_holds_no_path_or_time(two_runs, tmp_path):
    """``checks/verdicts.json`` from identical evidence in two folders is identical."""
    copies = (tmp_path / "a", tmp_path / "copy-b")
    for copy in copies:
        for part in ("theory", "simulate"):
            shutil.copytree(two_runs[0] / part, copy / part)
        assert main(["checks", "--no-report", "--out", str(copy)]) == 0
    first, second = (evidence_files(copy, "checks") for copy in copies)
    assert differences(first, second) == []
