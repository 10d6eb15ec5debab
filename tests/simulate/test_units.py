"""One point per independent unit: duplicating rows leaves ρ, CI and p unchanged (the row-level
stratified Spearman does not: the pseudo-replication defect of issue 12)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.simulate.analysis import intermediate_locality, intermediate_locality_split
from locent.simulate.analysis import stratified_spearman as row_spearman
from locent.simulate.units import cluster_slope, unit_spearman, within_unit_spearman
from scipy import stats

UNITS = ["sampler", "seed"]


def _sweep(slope: float, seed: int = 0, samplers: int = 4, seeds: int = 3) -> pd.DataFrame:
    """Rows per (sampler, seed) unit × τ × loss; x = Δ̂ per unit, y = slope·x + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(samplers):
        for r in range(seeds):
            x = rng.uniform(0.2, 2.0)
            for tau in (0.1, 0.5):
                for loss, scale in (("a", 1.0), ("b", 30.0)):
                    y = scale * (slope * x + rng.normal(scale=0.3)) + 5 * tau
                    rows.append(dict(sampler=f"s{s}", seed=r, tau=tau, loss=loss, x=x, y=y))
    return pd.DataFrame(rows)


def _doubled(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df], ignore_index=True)


def test_unit_spearman_ignores_duplicated_rows():
    df = _sweep(1.0)
    one = unit_spearman(df, "x", "y", ["tau", "loss"], UNITS, alternative="greater", seed=3)
    two = unit_spearman(
        _doubled(df), "x", "y", ["tau", "loss"], UNITS, alternative="greater", seed=3
    )
    assert one["n"] == two["n"] == 12  # 4 samplers × 3 seeds, not 48 or 96 rows
    assert (one["rho"], one["p"], one["ci"]) == (two["rho"], two["p"], two["ci"])
    assert one["rho"] > 0.5 and one["p"] < 0.01
    # the defect: the row-level test gains "evidence" from copies of the same rows
    r1 = row_spearman(df, "x", "y", ["tau", "loss"], alternative="greater", n_boot=10)
    r2 = row_spearman(_doubled(df), "x", "y", ["tau", "loss"], alternative="greater", n_boot=10)
    assert r2["p"] < r1["p"] / 100 and r2["n"] == 2 * r1["n"]


def test_unit_spearman_is_a_permutation_test_over_units():
    """p counts permutations of the unit points (exactly, over all orders, for few units)."""
    df = _sweep(0.0, seed=4)
    res = unit_spearman(df, "x", "y", ["tau", "loss"], UNITS, alternative="greater", seed=1)
    assert 0.0 < res["p"] <= 1.0 and res["ci"][0] < res["rho"] < res["ci"][1]
    # 6 units: the permutation distribution is enumerated exactly (all 6! = 720 orders)
    small = df[df.sampler.isin(["s0", "s1", "s2"]) & (df.seed < 2)]
    res = unit_spearman(small, "x", "y", ["tau", "loss"], UNITS, alternative="greater")
    assert res["n"] == 6
    assert res["p"] * 720 == pytest.approx(round(res["p"] * 720), abs=1e-9)


def test_within_unit_spearman_ignores_duplicated_rows():
    rng = np.random.default_rng(2)
    rows = []
    for s in range(5):
        for r in range(2):
            base = rng.normal()
            for tau in (0.05, 0.1, 0.5):
                rows.append(dict(sampler=s, seed=r, loss="a", H=tau + 0.01 * base, mis=base + tau))
    df = pd.DataFrame(rows)
    one = within_unit_spearman(df, "H", "mis", ["loss"], UNITS, alternative="greater", seed=0)
    two = within_unit_spearman(
        _doubled(df), "H", "mis", ["loss"], UNITS, alternative="greater", seed=0
    )
    assert one["n"] == two["n"] == 10
    assert one["rho"] == pytest.approx(1.0) and two["rho"] == pytest.approx(1.0)
    assert one["p"] == two["p"] == pytest.approx(1 / 1024)  # all 2^10 sign flips: only +…+


def test_cluster_slope_units_and_duplicates():
    df = _sweep(1.0, seed=5)
    res = cluster_slope(df, "x", "y", ["tau", "loss"], UNITS, seed=0)
    assert res["n"] == 12 and res["strata"] == 4
    assert res["slope_std"] > 0.5 and res["p"] < 0.01 and res["ci"][0] > 0
    # raw slope per stratum: y in the loss's own scale (≈ 1 for loss a, ≈ 30 for loss b)
    b = [s for s in res["per_stratum"] if s["loss"] == "b"]
    assert all(15 < s["slope"] < 45 for s in b)
    null = cluster_slope(_sweep(0.0, seed=6), "x", "y", ["tau", "loss"], UNITS, seed=0)
    assert null["ci"][0] < 0 < null["ci"][1] or null["p"] > 0.05
    with pytest.raises(ValueError, match="exactly one row per stratum"):
        cluster_slope(_doubled(df), "x", "y", ["tau", "loss"], UNITS)
    moved = df.copy()
    moved.loc[0, "x"] += 1.0  # x no longer constant within its unit
    with pytest.raises(ValueError, match="constant within each unit"):
        cluster_slope(moved, "x", "y", ["tau", "loss"], UNITS)


def _locality_table(first_half: dict, second_half: dict, seeds: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for s in range(seeds):
        curve = first_half if s < seeds // 2 else second_half
        for knob, level in curve.items():
            family = "random" if knob == 1000 else "knn"
            rows.append(
                dict(
                    sampler_family=family,
                    knob_value=np.nan if family == "random" else float(knob),
                    tau_unit=0.1,
                    loss="soft_ranknet",
                    n=32,
                    seed=s,
                    misordering_mu=level + 0.002 * rng.normal(),
                )
            )
    return pd.DataFrame(rows)


def test_split_half_chooses_on_one_half_and_tests_on_the_other():
    """The first four seeds favour k = 64, the last four are flat: chosen on the first half, the
    optimum is not confirmed on the second (the all-seed test reuses the choosing seeds)."""
    table = _locality_table(
        {8: 0.30, 64: 0.20, 256: 0.25, 1000: 0.31}, dict.fromkeys((8, 64, 256, 1000), 0.3)
    )
    split = intermediate_locality_split(table, "knn", 1000)
    cell = split["cells"][0]
    assert split["select_seeds"] == [0, 1, 2, 3] and split["test_seeds"] == [4, 5, 6, 7]
    assert cell["argmin_knob"] == 64 and split["verdict"] is False
    test = table[table.seed >= 4].pivot_table(
        index="seed", columns="knob_value", values="misordering_mu"
    )
    want = stats.ttest_rel(test[64.0], test[8.0], alternative="less").pvalue
    assert cell["p_vs_most_local"] == pytest.approx(want)
    confirmed = _locality_table(*[{8: 0.30, 64: 0.20, 256: 0.25, 1000: 0.31}] * 2)
    assert intermediate_locality_split(confirmed, "knn", 1000)["verdict"] is True
    assert intermediate_locality(confirmed, "knn", 1000)["verdict"] is True
