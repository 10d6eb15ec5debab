"""The grid end to end (synthetic world, smoke preset) through the CLI; resume; determinism."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil

import pandas as pd
import pytest
import torch
from locent.realdata import cli as realdata_cli
from locent.realdata.grid.presets import PRESETS, Condition, Preset
from locent.realdata.grid.run import run_grid
from locent.realdata.grid.synthetic import synthetic_inputs
from locent.realdata.grid.tables import (
    LOG_COLUMNS,
    PER_QUERY_COLUMNS,
    RESULT_COLUMNS,
    SCORE_AT_RANK_COLUMNS,
)

from locent.results import CONDITION_COLUMNS


def _cli(argv):
    parser = argparse.ArgumentParser(prog="locent")
    realdata_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    assert _cli(["realdata", "grid", "--preset", "smoke", "--synthetic", "--out", str(out)]) == 0
    return out / "realdata" / "grid" / "smoke"


def test_smoke_grid_writes_the_contract_tables(smoke):
    preset = PRESETS["smoke"]
    conds = preset.conditions()
    assert len(conds) == 2 * 2 + 2  # samplers x losses + 2 entropy subsets
    results = pd.read_csv(smoke / "results.csv")
    assert list(results.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert len(results) == len(conds) * len(preset.seeds) * 2  # x datasets dl19, dl20
    assert results["steps"].eq(preset.steps).all()
    assert results["items"].eq(preset.steps * preset.batch_size).all()  # equal budgets
    assert results["nDCG@10"].between(0, 1).all() and results["misordering"].between(0, 1).all()
    # Theorem (iii) is evaluated for the linear student under soft RankNet, not for LCE
    srn = results[results["loss"] == "soft_ranknet"]
    assert srn["bound_iii"].notna().all() and srn["bound_iii_form"].eq("linear").all()
    assert results[results["loss"] == "lce"]["bound_iii"].isna().all()
    per_query = pd.read_parquet(smoke / "per_query.parquet")
    assert list(per_query.columns) == PER_QUERY_COLUMNS
    assert {"nDCG@10", "AP(rel=2)", "RR(rel=2)@10", "misordering"} <= set(per_query["measure"])
    assert per_query["condition"].str.startswith("baseline:").any()
    logs = pd.read_parquet(smoke / "logs.parquet")
    assert list(logs.columns) == LOG_COLUMNS
    assert len(logs) == len(conds) * len(preset.seeds) * preset.steps
    sar = pd.read_parquet(smoke / "score_at_rank.parquet")
    assert list(sar.columns) == SCORE_AT_RANK_COLUMNS
    # the condition record is written as columns and agrees with the display label
    for name, frame in (("per_query", per_query), ("logs", logs), ("score_at_rank", sar)):
        trained = frame[frame["student"].notna()]
        assert len(trained), name
        label = (
            trained["student"] + "-" + trained["arch"] + "+" + trained["loss"] + "+"
            + trained["sampler"] + "+" + trained["subset"]
        )  # fmt: skip
        assert (label == trained["condition"]).all(), name
        assert set(trained["seed"]) == set(preset.seeds), name
    assert set(results[list(CONDITION_COLUMNS)].itertuples(index=False, name=None)) == {
        (*dataclasses.astuple(c), s) for c in conds for s in preset.seeds
    }
    base = per_query[per_query["condition"].str.startswith("baseline:")]
    assert base["student"].isna().all() and base["seed"].eq(-1).all()
    assert "teacher" in set(sar["model"]) and sar["dataset"].eq("dl19").all()
    runs = sorted(p.name for p in (smoke / "runs").iterdir())
    assert len(runs) == len(conds) * len(preset.seeds) * 2
    assert runs[0].endswith(".dl19.run") or runs[0].endswith(".dl20.run")
    th = json.loads((smoke / "entropy_thresholds.json").read_text())["bm25"]
    assert th["q1"] <= th["median"] <= th["q3"] and th["kept"]["full"] == th["n_train"]
    assert (smoke / "results.provenance.json").exists() and (
        smoke / "logs.provenance.json"
    ).exists()


def test_report_table_with_legend(smoke, capsys):
    assert _cli(["realdata", "report", "--preset", "smoke", "--out", str(smoke.parents[2])]) == 0
    text = capsys.readouterr().out
    assert "| frozen-bi | soft_ranknet | bm25 |" in text
    assert "baseline: teacher" in text and "▲/▼" in text and "TOST" in text
    table = pd.read_csv(smoke / "table1.csv")
    assert len(table) == 4 and "dl19 nDCG@10 mark" in table.columns
    assert (table["n_seeds"] == 2).all()
    cuts = pd.read_csv(smoke / "entropy_cuts.csv")
    assert set(cuts["subset"]) == {"full", "keep_below_median", "keep_tukey_inliers"}
    sig = pd.read_csv(smoke / "significance.csv")
    assert (sig["p_t_holm"] >= sig["p_t"] - 1e-12).all()
    assert (smoke / "risk.csv").exists()


def test_resume_keeps_finished_cells_and_redoes_missing_ones(smoke, tmp_path):
    copy = tmp_path / "smoke"
    shutil.copytree(smoke, copy)
    before = pd.read_csv(copy / "results.csv")
    victim = sorted((copy / "cells").iterdir())[0]
    shutil.rmtree(victim)
    inputs = synthetic_inputs(seed=0, samplers=("random", "bm25"))
    run_grid(inputs, PRESETS["smoke"], copy, device="cpu")
    after = pd.read_csv(copy / "results.csv")
    pd.testing.assert_frame_equal(before, after)
    assert (victim / "done.json").exists()


def test_same_seed_same_run_file(tmp_path):
    torch.set_num_threads(1)
    inputs = synthetic_inputs(
        seed=1, n_train=40, n_docs=300, samplers=("teacher",), test_sets=("dl19",)
    )
    preset = Preset(
        "one", samplers=("teacher",), losses=("margin_mse",), seeds=(3,), steps=6, batch_size=4
    )
    assert preset.conditions() == [Condition("frozen", "bi", "margin_mse", "teacher")]
    texts = []
    for name in ("a", "b"):
        run_grid(inputs, preset, tmp_path / name, device="cpu")
        texts.append(
            (tmp_path / name / "runs" / "frozen-bi+margin_mse+teacher+full.3.dl19.run").read_bytes()
        )
    assert texts[0] == texts[1]
    other = dataclasses.replace(preset, seeds=(4,))
    run_grid(inputs, other, tmp_path / "c", device="cpu")
    assert (
        tmp_path / "c" / "runs" / "frozen-bi+margin_mse+teacher+full.4.dl19.run"
    ).read_bytes() != texts[0]


def test_train_cli_and_missing_sampler_error(tmp_path, capsys):
    argv = ["realdata", "train", "--sampler", "teacher", "--loss", "listwise_kl", "--synthetic",
            "--steps", "5", "--batch-size", "4", "--seed", "2", "--out", str(tmp_path)]  # fmt: skip
    assert _cli(argv) == 0
    assert "frozen-bi+listwise_kl+teacher+full" in capsys.readouterr().out
    inputs = synthetic_inputs(seed=0, samplers=("bm25",))
    with pytest.raises(ValueError, match=r"needs groups of samplers \['random'\]"):
        run_grid(inputs, PRESETS["smoke"], tmp_path / "x", device="cpu")


def test_unscored_test_set_gives_nan_agreement_and_no_teacher_row(tmp_path):
    torch.set_num_threads(1)
    inputs = synthetic_inputs(seed=2, n_train=40, n_docs=300, samplers=("bm25",))
    inputs.eval_sets[1].teacher = None  # dl20 not scored by the teacher
    preset = Preset("u", samplers=("bm25",), losses=("lce",), seeds=(0,), steps=4, batch_size=4)
    paths = run_grid(inputs, preset, tmp_path / "u", device="cpu")
    results = pd.read_csv(paths["results"]).set_index("dataset")
    assert results.loc["dl20", "misordering"] != results.loc["dl20", "misordering"]  # NaN
    assert results.loc["dl20", "n_no_comparable"] == 12
    assert 0 <= results.loc["dl19", "misordering"] <= 1
    base = pd.read_csv(paths["baselines"])
    dl20 = base[base["dataset"] == "dl20"].set_index("system")
    assert set(dl20.index) == {
        "bm25",
        "bm25:misordering_vs_teacher",
        "encoder_cosine",
        "encoder_cosine:misordering_vs_teacher",
    }
    # no teacher scores: agreement with the teacher is NaN (not 0) for every baseline
    assert (
        dl20.loc[
            ["bm25:misordering_vs_teacher", "encoder_cosine:misordering_vs_teacher"], "misordering"
        ]
        .isna()
        .all()
    )
