"""The dependence sweep (issue 13 item 5): design, fits that can go either way, the sweep on a
synthetic knob world, the stage and item 2's real-data parts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from locent.paper_checks.items.dependence import fit_outcomes
from locent.paper_checks.items.simulation import SIMULATION_PARAMS
from locent.paper_checks.verdicts import Verdict
from locent.realdata.dependence.design import (
    DESIGNS,
    ENTROPY,
    LOCALITY,
    KnobLevel,
    n_subset,
    parse_n_subset,
)
from locent.realdata.dependence.fit import FITS, fit_dependence, verdict
from locent.realdata.dependence.inputs import synthetic_sweep_inputs
from locent.realdata.dependence.stage import DependenceParams, dependence_stage
from locent.realdata.dependence.sweep import run_sweep

from locent import results as R


def cells_table(slope_gap: float, slope_floor: float, noise: float = 0.02, seed: int = 0,
                n_levels: int = 6, n_seeds: int = 3) -> pd.DataFrame:  # fmt: skip
    """A cells.csv with a known dependence: gap = slope_gap · Δ/√n + level effect + noise;
    floor = slope_floor · H + noise over 5 entropy levels of the base ``dense@64``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_levels):
        diam = 1.40 + 0.03 * i
        level = f"dense@{16 * 2**i}" if i != 2 else "dense@64"
        bias = rng.normal(0, noise)  # a level effect shared by its seeds: the cluster
        for s in range(n_seeds):
            n = 70
            x = diam / np.sqrt(n)
            rows.append({R.SAMPLER: level, "knob": LOCALITY, "knob_sampler": level,
                         R.TEACHER_VARIANT: "teacher", R.SUBSET: "full", R.SEED: s,
                         R.DATASET: "dl19", "n_train": n, R.DIAMETER_Q_99: diam,
                         R.PAIRWISE_ENTROPY: 0.3, R.ESTIMATION_GAP: slope_gap * x + bias
                         + rng.normal(0, noise / 4),
                         R.HELDOUT_MISORDERING: 0.2 + slope_floor * 0.3,
                         R.BREGMAN_RISK: 0.5, R.NDCG_10: 0.5, R.LEARNED: True})  # fmt: skip
    for j, h in enumerate((0.1, 0.2, 0.35, 0.5, 0.65)):
        bias = rng.normal(0, noise)
        for s in range(n_seeds):
            rows.append({R.SAMPLER: f"dense@64~v{j}", "knob": ENTROPY, "knob_sampler": "dense@64",
                         R.TEACHER_VARIANT: f"v{j}", R.SUBSET: "full", R.SEED: s,
                         R.DATASET: "dl19", "n_train": 70, R.DIAMETER_Q_99: 1.46,
                         R.PAIRWISE_ENTROPY: h, R.ESTIMATION_GAP: 0.0,
                         R.HELDOUT_MISORDERING: 0.2 + slope_floor * h + bias,
                         R.BREGMAN_RISK: 0.5, R.NDCG_10: 0.5, R.LEARNED: True})  # fmt: skip
    return pd.DataFrame(rows)


def by_fit(table: pd.DataFrame) -> dict:
    return {r.fit: r for r in table.itertuples()}


@pytest.mark.parametrize(
    ("gap", "floor", "expect_gap", "expect_floor"),
    [
        (5.0, 0.5, "supports", "supports"),
        (-5.0, -0.5, "contradicts", "contradicts"),
        (0.0, 0.0, "cannot decide", "cannot decide"),
    ],
)
def test_fits_go_either_way(gap, floor, expect_gap, expect_floor):
    fits = by_fit(fit_dependence(cells_table(gap, floor, noise=0.01 if gap else 0.05),
                                 "dl19", "dense@64"))  # fmt: skip
    assert fits["gap_on_locality"].verdict == expect_gap
    assert fits["floor_on_entropy"].verdict == expect_floor
    assert fits["gap_on_locality"].n_levels == 6
    assert fits["floor_on_entropy"].n_levels == 6  # five variants and the base level itself
    if gap:
        assert np.sign(fits["gap_on_locality"].slope) == np.sign(gap)


def test_duplicated_seed_rows_leave_the_interval_unchanged():
    """The unit is the knob level: copying every cell (more identical 'seeds') changes nothing."""
    table = cells_table(2.0, 0.3)
    doubled = pd.concat([table, table.assign(**{R.SEED: table[R.SEED] + 10})], ignore_index=True)
    a, b = fit_dependence(table, "dl19", "dense@64"), fit_dependence(doubled, "dl19", "dense@64")
    cols = ["slope", "ci_low", "ci_high", "p_support"]
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-12)


def test_cells_that_did_not_learn_are_left_out_and_counted():
    table = cells_table(5.0, 0.5)
    table.loc[table[R.SAMPLER] == "dense@16", R.LEARNED] = False
    fits = by_fit(fit_dependence(table, "dl19", "dense@64"))
    assert fits["gap_on_locality"].n_excluded_not_learned == 3
    assert fits["gap_on_locality"].n_levels == 5
    table[R.LEARNED] = False
    fits = by_fit(fit_dependence(table, "dl19", "dense@64"))
    assert fits["gap_on_locality"].verdict.startswith("cannot decide (fewer than 3 levels")


def test_verdict_rule_and_descriptive_fits():
    assert verdict(0.1, 0.2, +1) == "supports" and verdict(-0.2, -0.1, +1) == "contradicts"
    assert verdict(-0.1, 0.2, +1) == "cannot decide"
    assert verdict(0.1, 0.2, 0) == "increasing" and verdict(-0.1, 0.1, 0) == "flat within CI"
    assert {f.name for f in FITS} >= {"gap_on_locality", "floor_on_entropy"}


def test_item2_real_parts_follow_the_fit():
    params = SIMULATION_PARAMS
    up = fit_outcomes(fit_dependence(cells_table(5.0, 0.5, 0.01), "dl19", "dense@64"), params)
    down = fit_outcomes(fit_dependence(cells_table(-5.0, -0.5, 0.01), "dl19", "dense@64"), params)
    flat = fit_outcomes(fit_dependence(cells_table(0.0, 0.0, 0.05), "dl19", "dense@64"), params)
    assert up["real_gap_on_locality_full_n"].verdict is Verdict.PASS
    assert up["real_floor_on_entropy"].verdict is Verdict.PASS
    assert down["real_gap_on_locality_full_n"].verdict is Verdict.FAIL
    assert down["real_floor_on_entropy"].verdict is Verdict.FAIL
    assert flat["real_gap_on_locality_full_n"].verdict is not Verdict.PASS
    assert up["real_gap_on_locality_full_n"].units == 6
    # the n-axis fit on Δ̂_Q/√n is not a part of item 2 (its slope is carried by n)
    assert "real_gap_on_locality" not in up


def test_subset_names_round_trip_and_bad_ones_fail():
    assert parse_n_subset(n_subset(17)) == 17 and parse_n_subset("full") is None
    with pytest.raises(ValueError, match="n=<int>"):
        parse_n_subset("n=abc")
    assert KnobLevel(ENTROPY, "dense@64", "tau=0.5").label == "dense@64~tau=0.5"
    assert KnobLevel(ENTROPY, "dense@64", "teacher").label == "dense@64"


@pytest.fixture(scope="module")
def synthetic_sweep(tmp_path_factory):
    inputs, levels = synthetic_sweep_inputs(seed=0)
    design = dataclasses.replace(DESIGNS["smoke"], steps=60, n_axis_levels=2)
    out = tmp_path_factory.mktemp("dependence")
    return run_sweep(inputs, levels, design, out, device="cpu"), levels, design, out


def test_sweep_cells_carry_the_knob_record_and_the_n_axis(synthetic_sweep):
    cells, levels, design, _ = synthetic_sweep
    one = cells[cells[R.DATASET] == "dl19"]
    assert set(one[R.SAMPLER]) == {lv.label for lv in levels}
    full = one[one[R.SUBSET] == "full"].set_index(R.SAMPLER)
    # the locality knob: Δ̂_Q grows from the most local level to random (levels are ordered)
    local = [lv.label for lv in levels if lv.knob == LOCALITY]
    diam = full.loc[local, R.DIAMETER_Q_99].to_numpy()
    assert diam[-1] > diam[0] and local[-1] == "random"
    # the entropy knob: same groups (same Δ̂_Q), H(g) moves by more than a factor 2
    ent = one[(one["knob_sampler"] == "dense@32") & (one[R.SUBSET] == "full")]
    assert ent[R.DIAMETER_Q_99].nunique() == 1
    h = ent.set_index(R.SAMPLER)[R.PAIRWISE_ENTROPY]
    assert h["dense@32~tau=4"] > 2 * h["dense@32~tau=0.25"]
    # the n axis: fewer training queries at two levels; the gap is held-out minus training risk
    axis = one[one[R.SUBSET] != "full"]
    assert axis[R.SAMPLER].nunique() == 2 and (axis["n_train"] < full["n_train"].max()).all()
    np.testing.assert_allclose(one[R.ESTIMATION_GAP], one["heldout_risk"] - one["train_risk"])
    assert one[R.LEARNED].dtype == bool


def test_sweep_resumes_from_finished_cells(synthetic_sweep):
    cells, levels, design, out = synthetic_sweep
    inputs, _ = synthetic_sweep_inputs(seed=0)
    again = run_sweep(inputs, levels, design, out, device="cpu")
    pd.testing.assert_frame_equal(cells, again)


def test_stage_writes_cells_fit_and_markdown(tmp_path):
    line = dependence_stage(DependenceParams(out=tmp_path, design="smoke", synthetic=True))
    folder = tmp_path / "realdata" / "dependence" / "smoke"
    fit = pd.read_csv(folder / "fit.csv")
    assert list(fit["fit"]) == [f.name for f in FITS]
    assert "cells" in line and (folder / "fit.md").read_text().startswith("# Risk against")
    with pytest.raises(ValueError, match="unknown dependence design"):
        dependence_stage(DependenceParams(out=tmp_path, design="nope", synthetic=True))


def test_main_job_runs_the_sweep_on_full_runs_only():
    from locent.pipeline import STAGE_RESULTS, main_job

    full = [s.name for s in main_job()]
    assert full.index("realdata_dependence") > full.index("realdata_prepare")
    assert "realdata_dependence" not in [s.name for s in main_job(quick=True)]
    assert STAGE_RESULTS["realdata_dependence"] == ("dependence_cells", "dependence_fit")


def test_cells_of_another_design_are_not_resumed(tmp_path, capsys):
    inputs, levels = synthetic_sweep_inputs(seed=0)
    design = dataclasses.replace(DESIGNS["smoke"], n_fractions=())
    first = run_sweep(inputs, levels, design, tmp_path, device="cpu")
    other = dataclasses.replace(design, steps=design.steps + 5)
    again = run_sweep(inputs, levels, other, tmp_path, device="cpu")
    assert "finished cells have other inputs" in capsys.readouterr().err
    assert (again["steps"] == other.steps).all() and (first["steps"] == design.steps).all()


def test_a_grid_over_other_groups_retrains_instead_of_resuming(tmp_path, capsys):
    """The bf16-over-fp32 case: same preset, same folder, other groups → no stale cell kept."""
    from locent.realdata.grid.presets import PRESETS
    from locent.realdata.grid.run import run_grid
    from locent.realdata.grid.synthetic import synthetic_inputs

    preset = dataclasses.replace(PRESETS["smoke"], cuts=(), seeds=(0,))
    run_grid(synthetic_inputs(seed=0, samplers=("random", "bm25")), preset, tmp_path, "cpu")
    first = pd.read_csv(tmp_path / "results.csv")
    capsys.readouterr()
    run_grid(synthetic_inputs(seed=0, samplers=("random", "bm25")), preset, tmp_path, "cpu")
    assert "removed" not in capsys.readouterr().err  # same inputs: a plain resume
    run_grid(synthetic_inputs(seed=1, samplers=("random", "bm25")), preset, tmp_path, "cpu")
    assert "finished cells have other inputs" in capsys.readouterr().err
    second = pd.read_csv(tmp_path / "results.csv")
    assert not np.allclose(first["train_risk"], second["train_risk"])


def test_item2_is_not_carried_by_n_when_the_gap_falls_with_locality():
    """The trap of a Δ̂_Q/√n regressor on real samplers: Δ̂_Q moves by a few percent, n by 4×. A
    gap that shrinks with n but *falls* with Δ̂_Q at every n supports the n-axis fit; item 2's
    locality part (the full-n fit) must still say FAIL."""
    table = cells_table(-5.0, 0.5, 0.005)
    extra = []
    for n in (18, 35):  # the n axis at every level: gap ∝ (2 − Δ̂)/√n, large at small n
        part = table[(table.knob == LOCALITY)].copy()
        part["n_train"], part[R.SUBSET] = n, n_subset(n)
        part[R.ESTIMATION_GAP] = 40 * (2 - part[R.DIAMETER_Q_99]) / np.sqrt(n)
        extra.append(part)
    loc = table.knob == LOCALITY
    table.loc[loc, R.ESTIMATION_GAP] = 40 * (2 - table.loc[loc, R.DIAMETER_Q_99]) / np.sqrt(70)
    fit = fit_dependence(pd.concat([table, *extra], ignore_index=True), "dl19", "dense@64")
    assert by_fit(fit)["gap_on_locality"].verdict == "supports"  # carried by n
    assert by_fit(fit)["gap_on_locality_full_n"].verdict == "contradicts"
    outcomes = fit_outcomes(fit, SIMULATION_PARAMS)
    assert outcomes["real_gap_on_locality_full_n"].verdict is Verdict.FAIL


def test_dependence_figure_draws_the_fit_that_judges_item_2():
    """``risk_gap_vs_locality``: three panels; (b) plots one point per locality level at full n
    (level means) and names the full-n fit, whose slope is among the figure's numbers."""
    from locent.figures.dependence_figures import risk_gap_vs_locality

    table = cells_table(-5.0, 0.5, 0.005)
    fit = fit_dependence(table, "dl19", "dense@64")
    fig, numbers = risk_gap_vs_locality(table, fit, "dense@64")
    a, full, c = fig.axes[:3]  # then (a)'s colour bar
    assert "item 2" in full.get_title() and "contradicts" in full.get_title()
    assert len(full.collections[0].get_offsets()) == table[table.knob == LOCALITY].sampler.nunique()
    assert "misordering floor" in c.get_title() and "Δ̂_Q/√n" in a.get_title()
    assert numbers["slope[gap_on_locality_full_n]"] < 0
