"""Figure files: PNG+PDF written atomically, byte-identical across runs, missing inputs listed."""

from __future__ import annotations

import json

from locent.figures.build import FIGURES, build_figures
from locent.figures.style import new_figure, save_figure

from locent.cli import main


def _draw(seed_values):
    fig, ax = new_figure(3, 2)
    ax.plot([1, 2, 3], seed_values, label="x")
    ax.set_yscale("log")
    ax.legend()
    return fig


def test_save_figure_is_byte_identical_and_has_no_timestamps(tmp_path):
    a = save_figure(_draw([1, 4, 2]), tmp_path / "a", "demo")
    b = save_figure(_draw([1, 4, 2]), tmp_path / "b", "demo")
    for fmt in ("png", "pdf"):
        assert a[fmt].read_bytes() == b[fmt].read_bytes()
    pdf = a["pdf"].read_bytes()
    assert b"CreationDate" not in pdf and b"Producer" not in pdf and b"Matplotlib" not in pdf
    png = a["png"].read_bytes()
    assert png.startswith(b"\x89PNG") and b"Software" not in png and b"matplotlib" not in png
    c = save_figure(_draw([1, 4, 3]), tmp_path / "c", "demo")
    assert c["png"].read_bytes() != a["png"].read_bytes()


def test_build_figures_twice_gives_identical_files(synthetic_out, tmp_path):
    """Two runs, the second in a fresh interpreter with another hash seed: the same bytes."""
    import os
    import subprocess
    import sys

    only = ["fig2_score_vs_rank_ratio", "sampler_violins", "table1_effectiveness"]
    first = build_figures(synthetic_out, tmp_path / "one", only=only)
    assert [r.status for r in first] == ["written"] * 3
    code = (
        "import sys; from locent.figures.build import build_figures; "
        "build_figures(sys.argv[1], sys.argv[2], only=sys.argv[3:])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-c", code, str(synthetic_out), str(tmp_path / "two"), *only],
        check=True,
        env=env,
        timeout=300,
    )
    second = json.loads((tmp_path / "two" / "index.json").read_text())
    for r1, r2 in zip(first, second):
        assert r1.numbers == r2["numbers"]
        for fmt in ("png", "pdf"):
            one = (tmp_path / "one" / f"{r1.name}.{fmt}").read_bytes()
            assert one == (tmp_path / "two" / f"{r1.name}.{fmt}").read_bytes(), (r1.name, fmt)


def test_all_figures_build_on_synthetic_results(synthetic_out, tmp_path):
    records = build_figures(synthetic_out, tmp_path / "figs")
    assert {r.name: r.status for r in records} == {s.name: "written" for s in FIGURES}
    index = json.loads((tmp_path / "figs" / "index.json").read_text())
    assert [r["name"] for r in index] == [s.name for s in FIGURES]
    assert any(k.startswith("exponent[teacher]") for k in records[0].numbers)
    # rebuilding one figure keeps the records of the others
    build_figures(synthetic_out, tmp_path / "figs", only=["misordering_heatmap"])
    index = json.loads((tmp_path / "figs" / "index.json").read_text())
    assert [r["name"] for r in index] == [s.name for s in FIGURES]


def test_missing_results_are_listed_not_fatal(tmp_path, capsys):
    records = build_figures(tmp_path / "empty")
    assert {r.status for r in records} == {"missing"}
    assert all(r.missing for r in records)
    # the command on a folder without any result says which command writes them (exit 2)
    assert main(["figures", "--out", str(tmp_path / "empty")]) == 2
    assert "no results under" in capsys.readouterr().err


def test_bad_result_table_is_reported_as_failed(tmp_path, capsys):
    folder = tmp_path / "out" / "realdata" / "measure"
    folder.mkdir(parents=True)
    import pandas as pd

    pd.DataFrame({"dataset": ["msmarco-passage/dev/small"], "sampler": ["bm25"]}).to_parquet(
        folder / "per_query.parquet"
    )
    records = build_figures(tmp_path / "out", only=["sampler_violins"])
    assert records[0].status == "failed"
    assert "missing column" in records[0].error and "diameter_99" in records[0].error
    assert main(["figures", "--out", str(tmp_path / "out"), "--only", "sampler_violins"]) == 1
