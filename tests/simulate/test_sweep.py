"""End to end: the smoke preset through the CLI, exact checks, determinism, resume, errors."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest
from locent.simulate.cli import register
from locent.simulate.presets import PRESETS, validate_preset
from locent.simulate.runner import run_preset
from locent.simulate.samplers import SamplerSpec

from locent import results as R

REQUIRED_SUMMARY = (
    "n_runs",
    "exact_violations",
    "theorem_iii_violation_rate",
    "delta",
    "spearman_gap_vs_diameter",
    "spearman_floor_vs_entropy",
    "spearman_entropy_vs_diameter",
    "intermediate_locality_optimum",
    # issue 12 evidence
    "spearman_unit",
    "gap_vs_diameter_regression",
    "gap_vs_diameter_regression_by_n",
    "estimation_gap_signal_to_noise",
    "intermediate_locality_split_optimum",
    "theorem_iii_rademacher_tightness",
    "theorem_iii_gap_fraction",
    "theorem_iii_critical_scale",
    "theorem_iii_rademacher_check_violations",
    "theorem_iii_mutations",
    "theorem_iii_mutations_by_sampler",
    "theorem_iii_vacuity_by_loss",
)
REQUIRED_COLUMNS = (
    "space", R.SAMPLER, "knob_value", R.TAU, "n", R.LOSS, R.SEED, R.DIAMETER_Q_99,
    R.DIAMETER_Q_100, R.DIAMETER_MEAN_99, R.PAIRWISE_ENTROPY, R.LISTWISE_ENTROPY,
    R.PAIRWISE_ENTROPY_TRAIN, R.KAPPA_Q, R.KAPPA_MEAN, "train_loss", R.POPULATION_RISK,
    R.ESTIMATION_GAP, R.MISORDERING_NU, R.MISORDERING_MU, R.LOSS_RANGE_Q, R.BOUND_II,
    R.BOUND_III, "bound_iii_violated", R.TEACHER_LIPSCHITZ, "lemma_a_violations",
    "lemma_b_violations", "lemma_c_violations", "corollary_violations",
)  # fmt: skip

# a tiny preset for the determinism and resume tests (seconds)
TINY = PRESETS["smoke"]._replace(
    name="tiny",
    samplers=(SamplerSpec("knn", 16.0), SamplerSpec("softmax", 0.2)),
    tau_units=(1 / 8,),
    ns=(16,),
    losses=("soft_ranknet", "margin_mse"),
    seeds=2,
    eval_queries=32,
    steps=10,
)


def main(argv: list[str]) -> int:
    """``locent simulate`` through its own ``register`` (the part's CLI, without the shell)."""
    parser = argparse.ArgumentParser(prog="locent")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    assert main(["simulate", "--preset", "smoke", "--out", str(out), "--seed", "0"]) == 0
    root = out / "simulate" / "smoke"
    return json.loads((root / "summary.json").read_text()), pd.read_parquet(root / "table.parquet")


def test_smoke_summary_has_zero_exact_violations(smoke):
    summary, table = smoke
    for key in REQUIRED_SUMMARY:
        assert key in summary
    p = PRESETS["smoke"]
    expected = len(p.samplers) * len(p.tau_units) * len(p.ns) * len(p.losses) * p.seeds
    assert summary["n_runs"] == len(table) == expected
    assert summary["exact_violations"] == 0
    assert summary["exact_checks_by_statement"]["corollary_trained_checks"] > 0
    assert summary["theorem_iii_rademacher_check_violations"] == 0
    # one point per (sampler, seed) unit in every Spearman test
    assert summary["spearman_gap_vs_diameter_n"] == len(p.samplers) * p.seeds
    assert summary["spearman_entropy_vs_diameter_n"] == len(p.samplers) * p.seeds
    assert summary["exact_checks"] > 10_000
    assert all(v > 0 for v in summary["exact_checks_by_statement"].values())
    assert summary["theorem_iii_runs"] > 0
    assert summary["theorem_iii_violation_rate"] <= summary["delta"]
    lo, hi = summary["theorem_iii_violation_rate_ci"]
    assert 0 <= lo <= summary["theorem_iii_violation_rate"] <= hi <= 1


def test_smoke_table_columns_and_ranges(smoke):
    _, table = smoke
    for col in REQUIRED_COLUMNS:
        assert col in table.columns
    # no alternative spelling of a quantity that locent.results names
    for old in ("delta_hat_Q_99", "delta_hat_Q_100", "entropy_pairwise", "entropy_listwise"):
        assert old not in table.columns
    assert (table[R.DIAMETER_Q_99] <= table[R.DIAMETER_Q_100] + 1e-12).all()
    assert (table[R.DIAMETER_Q_100] <= table.delta_Q_population + 1e-9).all()
    assert (table.kappa_Q >= 1).all()
    assert table.misordering_mu.between(0, 1).all()
    # Theorem (iii) is computed exactly for the losses theory gives a ρ for
    has_bound = table.bound_iii.notna()
    assert set(table.loss[has_bound]) == {"soft_ranknet", "margin_mse"}
    assert (table.bound_iii[has_bound] >= table.train_loss[has_bound]).all()
    # the locality knob works: the most local k-NN has the smallest sample diameter
    by = table.groupby(R.SAMPLER)[R.DIAMETER_Q_99].mean()
    assert by["knn(k=8)"] < by["knn(k=64)"] < by["random"]


def test_same_seed_same_table_and_resume(tmp_path):
    a = run_preset(TINY, tmp_path / "a", seed=5)
    b = run_preset(TINY, tmp_path / "b", seed=5)
    ta = pd.read_parquet(a["table"])
    tb = pd.read_parquet(b["table"])
    pd.testing.assert_frame_equal(ta, tb)
    assert (tmp_path / "a/simulate/tiny/table.parquet").read_bytes() == (
        tmp_path / "b/simulate/tiny/table.parquet"
    ).read_bytes()
    # resume: drop one chunk, the others are reused, the table is unchanged
    chunks = sorted((tmp_path / "a/simulate/tiny/chunks").glob("*.parquet"))
    assert len(chunks) == 2
    chunks[1].unlink()
    r = run_preset(TINY, tmp_path / "a", seed=5, resume=True)
    assert r["chunks_reused"] == 1
    pd.testing.assert_frame_equal(pd.read_parquet(r["table"]), ta)
    c = run_preset(TINY, tmp_path / "c", seed=6)
    assert not pd.read_parquet(c["table"]).equals(ta)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(tau_units=(0.0,)), "tau_units"),
        (dict(ns=(0,)), "ns="),
        (dict(losses=("mse",)), "unknown loss"),
        (dict(seeds=0), "seeds=0"),
        (dict(group_size=1), "group_size=1"),
        (dict(delta=1.5), "delta=1.5"),
        (dict(target_m=10_000), "target_m"),
        (dict(space_id="sphere-uniform/D=0"), "D=0"),
        (dict(samplers=(SamplerSpec("knn", 0.0),)), "k=0"),
        (dict(samplers=(SamplerSpec("random"), SamplerSpec("random"))), "duplicate"),
    ],
)
def test_bad_preset_values(change, match):
    with pytest.raises(ValueError, match=match):
        validate_preset(TINY._replace(**change))


def test_unknown_preset_device_and_list(tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:  # refused while parsing (cli_types)
        main(["simulate", "--preset", "huge", "--out", str(tmp_path)])
    assert refused.value.code == 2 and "unknown preset 'huge'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        run_preset("huge", tmp_path)
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        run_preset(TINY, tmp_path, device="gpu0")
    assert main(["simulate", "--list"]) == 0
    text = capsys.readouterr().out
    assert "sphere-vmf/D=8/N=300/Q=120/K=4/kappa=20.0" in text and "paper" in text
