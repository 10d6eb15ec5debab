"""``benchmarks/to_markdown.py``: the README's benchmark table comes from pytest-benchmark's JSON,
with the machine and the CPU features each row was measured on."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location(
        "to_markdown", ROOT / "benchmarks" / "to_markdown.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_carry_the_measured_ratios_and_the_cpu(tmp_path, capsys):
    doc = {
        "machine_info": {"cpu": {"brand_raw": "AMD EPYC", "count": 2}},
        "commit_info": {"id": "abcdef1234567"},
        "datetime": "2026-11-29",
        "benchmarks": [
            {"name": "test_soft_ranknet", "stats": {"min": 0.0441},
             "extra_info": {"gb_per_s": 0.58, "speedup_vs_reference": 10.4, "vs_floor": 1.0,
                            "cpu_features": "avx2+avx512f; torch AVX512"}},
            {"name": "test_diameter", "stats": {"min": 0.57},
             "extra_info": {"speedup_vs_reference": 8.7,
                            "cpu_features": "avx2+avx512f; torch AVX512"}},
        ],
    }  # fmt: skip
    table = _module().to_markdown(doc)
    assert "AMD EPYC, 2 logical CPUs; CPU features: avx2+avx512f; torch AVX512" in table
    assert "| benchmark | best (s) | GB/s | × reference | ours / floor |" in table
    assert "| test_soft_ranknet | 0.0441 | 0.58 | 10.4 | 1 |" in table
    assert "| test_diameter | 0.57 |  | 8.7 |  |" in table
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    assert _module().main([str(path)]) == 0 and "test_diameter" in capsys.readouterr().out


def test_a_file_without_benchmarks_is_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="no benchmarks"):
        _module().to_markdown({"benchmarks": []})
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    assert _module().main([str(bad)]) == 2
    assert "cannot read a benchmark JSON" in capsys.readouterr().err


def test_several_files_give_one_table_each_in_order(tmp_path, capsys):
    def doc(features: str, name: str) -> dict:
        return {
            "machine_info": {"cpu": {"brand_raw": "AMD EPYC", "count": 2}},
            "benchmarks": [
                {"name": name, "stats": {"min": 0.2}, "extra_info": {"cpu_features": features}}
            ],
        }

    paths = []
    for n, (features, name) in enumerate(
        [("avx2+avx512f; torch AVX512", "test_a"), ("avx2; restricted: NUMBA_CPU_NAME=x", "test_b")]
    ):
        paths.append(tmp_path / f"{n}.json")
        paths[-1].write_text(json.dumps(doc(features, name)))
    assert _module().main([str(p) for p in paths]) == 0
    out = capsys.readouterr().out
    assert out.count("| benchmark | best (s) |") == 2
    assert (
        out.index("torch AVX512")
        < out.index("test_a")
        < out.index("restricted")
        < out.index("test_b")
    )
    bad = tmp_path / "bad.json"
    bad.write_text("[")
    assert _module().main([str(paths[0]), str(bad)]) == 2
    assert _module().main([]) == 2
