"""The stage layer: parameters = CLI options (names and defaults), stages callable directly."""

from __future__ import annotations

import argparse
import dataclasses

import pandas as pd
import pytest
from locent.realdata import cli, stages
from locent.realdata.grid.tables import RESULT_COLUMNS

from locent import results


def _parse(argv):
    parser = argparse.ArgumentParser(prog="locent")
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["realdata", *argv])


@pytest.mark.parametrize(
    ("command", "params", "build"),
    [
        ("prepare", stages.PrepareParams, cli.prepare_params),
        ("measure", stages.MeasureParams, cli.measure_params),
        ("grid", stages.GridParams, cli.grid_params),
        ("report", stages.ReportParams, cli.report_params),
    ],
)
def test_params_are_the_cli_options_with_the_cli_defaults(command, params, build):
    args = _parse([command])
    assert {f.name for f in dataclasses.fields(params)} <= set(vars(args))
    assert build(args) == params()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params().seed = 1


def test_quick_pipeline_options_reach_prepare():
    argv = ["prepare", "--datasets", "msmarco", "--queries", "16", "--dense-source", "bm25",
            "--run-queries", "0", "--seed", "3", "--device", "cpu", "--out", "x"]  # fmt: skip
    p = cli.prepare_params(_parse(argv))
    assert p == stages.PrepareParams(
        out=stages.Path("x"),
        seed=3,
        device="cpu",
        datasets=("msmarco",),
        queries=16,
        dense_source="bm25",
        run_queries=0,
    )
    g = cli.grid_params(_parse(["grid", "--preset", "smoke", "--test-sets", "dl19"]))
    assert g.preset == "smoke" and g.test_sets == ("dl19",) and g.samplers is None


def test_grid_and_report_stages_called_directly(tmp_path):
    line = stages.grid_stage(
        stages.GridParams(out=tmp_path, preset="smoke", synthetic=True, test_sets=("dl19",))
    )
    assert line.startswith("grid smoke: 12 cells (0 skipped)") and "\n" not in line
    grid_dir = tmp_path / "realdata" / "grid" / "smoke"
    table = pd.read_csv(grid_dir / "results.csv")
    assert list(table.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert results.DIAMETER_Q_99 in table and "diameter_Q" not in table
    (grid_dir / "table1.csv").unlink()
    line = stages.report_stage(stages.ReportParams(out=tmp_path, preset="smoke"))
    assert "table1.md" in line and "\n" not in line
    table1 = pd.read_csv(grid_dir / "table1.csv")
    assert list(table1.columns[:5]) == ["student_arch", "student", "arch", "loss", "sampler"]
    assert table1["subset"].eq("full").all()


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown grid preset 'huge'"):
        stages.grid_preset(stages.GridParams(preset="huge"))
