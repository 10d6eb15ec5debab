"""Each figure function on a tiny synthetic result table: shapes, labels, log scales, numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.figures.build import kappa_by_sampler
from locent.figures.paper_figures import (
    fig2_score_vs_rank_ratio,
    fig3_training_dynamics,
    fig4_score_at_rank_grid,
)
from locent.figures.realdata_figures import (
    baseline_means,
    effectiveness_table,
    sampler_violins,
    table1_effectiveness,
)
from locent.figures.score_at_rank import fit_power_law, score_curve
from locent.figures.tables import (
    DISTILLATION_LOSSES,
    conditions,
    dataset_label,
    require_columns,
    trained_rows,
    training_rows,
)
from locent.figures.theory_figures import (
    bound_vs_risk,
    locality_entropy_coupling,
    misordering_heatmap,
)
from locent.theory import LOSSES

from locent.results import ResultPaths, read_table


@pytest.fixture(scope="module")
def paths(synthetic_out):
    return ResultPaths.locate(synthetic_out)


def test_power_law_fit_recovers_exponent():
    ranks = np.arange(1, 51)
    rows = pd.DataFrame({"query_id": "q", "rank": ranks, "score": 3.0 * (ranks / 50.0) ** -0.42})
    curve = score_curve(rows, "exact")
    law = fit_power_law(curve)
    assert curve.shift == 0.0
    assert law.exponent == pytest.approx(-0.42, abs=1e-9)
    assert law.prefactor == pytest.approx(3.0, rel=1e-9)
    assert law.r2 == pytest.approx(1.0)


def test_score_curve_shifts_non_positive_scores_and_rejects_nan():
    rows = pd.DataFrame(
        {"query_id": ["a", "a", "b", "b"], "rank": [1, 2, 1, 2], "score": [1.0, -3.0, 2.0, -1.0]}
    )
    curve = score_curve(rows, "neg")
    assert curve.score.min() > 0
    assert curve.shift == pytest.approx(2.0 + 0.01 * 3.5)
    assert curve.n_queries == 2
    rows.loc[1, "score"] = np.nan
    with pytest.raises(ValueError, match="query a"):
        score_curve(rows, "nan")


def test_fig2(paths):
    sar = read_table(paths.score_at_rank)
    fig, laws = fig2_score_vs_rank_ratio(sar)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "rank ratio r / K"
    assert "mean score" in ax.get_ylabel()
    assert set(laws) == {
        "teacher",
        "soft_ranknet student, bm25 sampler",
        "soft_ranknet student, teacher sampler",
    }
    # teacher scores were generated as 10·(r/20)^-0.3 plus small noise.
    assert laws["teacher"].exponent == pytest.approx(-0.3, abs=0.03)
    grey = [line for line in ax.get_lines() if line.get_color() == "0.55"]
    assert len(grey) == 3  # one fitted power law per curve
    with pytest.raises(ValueError, match="two listwise_kl students"):
        fig2_score_vs_rank_ratio(sar, loss="listwise_kl")


def test_fig3(paths):
    logs = read_table(paths.grid_logs)
    kappas = kappa_by_sampler(read_table(paths.samplers))
    fig = fig3_training_dynamics(logs, kappas)
    left, right = fig.axes
    assert left.get_yscale() == "log" and right.get_yscale() == "linear"
    assert "KL" in left.get_ylabel() and "gradient" in right.get_ylabel()
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert len(labels) == 4 and all("κ_Q" in t for t in labels)
    assert "bm25 (κ_Q = 3)" in labels
    assert len(right.get_lines()) == 4


def test_log_axis_under_a_decade_has_tick_labels():
    """Fig. 3's loss axis (1.2 … 2.3) spans no power of ten: it still gets labelled ticks."""
    from locent.figures.style import log_axes, new_figure

    fig, ax = new_figure(3, 2)
    ax.plot([1, 2, 3], [1.2, 2.3, 1.7])
    log_axes(ax, x=False)
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    labels = [t.get_text() for t in ax.get_yticklabels() if lo <= t.get_position()[1] <= hi]
    assert ax.get_yscale() == "log" and len([t for t in labels if t]) >= 3
    assert labels == sorted(labels, key=float)
    fig, ax = new_figure(3, 2)
    ax.plot([1, 2, 3], [1e-3, 1.0, 10.0])
    log_axes(ax, x=False)
    assert ax.yaxis.get_major_formatter().__class__.__name__ != "FuncFormatter"


def test_fig4(paths):
    fig, laws = fig4_score_at_rank_grid(read_table(paths.score_at_rank))
    assert len(fig.axes) == 3 * 4  # 3 losses × 4 samplers
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in fig.axes)
    assert len(laws) == 12
    assert fig.axes[0].get_title() == "bm25"


def test_simulation_figures(paths):
    table = read_table(paths.sim_table)
    fig, soundness = bound_vs_risk(table)
    assert len(fig.axes) == 2
    assert soundness == {"iii": 1.0, "ii": 1.0}
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    # the sampler legend sits outside the panels, where it covers no point
    assert all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["ball", "knn", "random", "softmax"]
    fig, grid = misordering_heatmap(table, bins=4)
    assert grid.shape == (4, 4)
    assert fig.axes[0].get_xlabel().startswith("essential diameter")


def test_misordering_heatmap_marks_empty_bins(paths):
    """Bins without runs are hatched and counted, not left as blank holes."""
    table = read_table(paths.sim_table)
    # two clusters: low Δ̂_Q with low H and high Δ̂_Q with high H, so off-diagonal bins are empty
    low = table["knob"] <= 0.5
    table.loc[low, "pairwise_entropy"] = 0.1 + 0.01 * table.loc[low, "knob"]
    table.loc[~low, "pairwise_entropy"] = 0.6 + 0.01 * table.loc[~low, "knob"]
    fig, grid = misordering_heatmap(table, bins=4)
    ax = fig.axes[0]
    empty = int(np.isnan(grid).sum())
    assert empty > 0
    hatched = [p for p in ax.patches if p.get_hatch() == "///"]
    assert len(hatched) == empty
    assert f"({empty} of {grid.size};" in ax.get_title()
    full, full_grid = misordering_heatmap(read_table(paths.sim_table), bins=1)
    assert not np.isnan(full_grid).any() and "hatched" not in full.axes[0].get_title()
    fig = locality_entropy_coupling(table, read_table(paths.measure_per_query))
    floors = [line for line in fig.axes[0].get_lines() if "Lemma B" in line.get_label()]
    assert len(floors) == 2  # one per (L_g, τ)
    # every simulated H lies above its own Lemma B floor curve (as generated)
    assert fig.axes[1].get_title() == "MS MARCO: per query"


def test_sampler_violins_counts_infinite_kappa(paths):
    per_query = read_table(paths.measure_per_query)
    fig, infinite = sampler_violins(per_query)
    assert len(fig.axes) == 3
    expected = per_query.groupby("sampler")["kappa"].apply(lambda k: int(np.isinf(k).sum()))
    assert infinite == expected.to_dict()
    # the κ panel says each sampler's finite share; a sampler with none is marked, not blank
    per_query.loc[per_query["sampler"] == "dense", "kappa"] = np.inf
    fig, infinite = sampler_violins(per_query)
    kappa = fig.axes[2]
    n = per_query.groupby("sampler").size()
    labels = [t.get_text() for t in kappa.get_xticklabels()]
    assert labels == [f"{s}\n{n[s] - infinite[s]}/{n[s]} finite" for s in sorted(n.index)]
    assert any(t.get_text() == f"κ_q = ∞ for all {n['dense']}" for t in kappa.texts)
    assert len([p for p in kappa.patches if p.get_hatch() == "///"]) == 1
    finite = int(np.isfinite(per_query["kappa"]).sum())
    assert kappa.get_title().endswith(f"κ_q finite for {finite} of {len(per_query)}")
    with pytest.raises(ValueError, match="no rows for dataset"):
        sampler_violins(per_query, dataset_prefix="cranfield")


def test_table1_with_confidence_intervals(paths):
    results = read_table(paths.grid_results)
    per_query = read_table(paths.grid_per_query)
    table = effectiveness_table(results, per_query)
    assert set(table["dataset"]) == {"DL19", "DL20"}
    assert len(table) == 2 * 3 * 4  # datasets × losses × samplers (full set only)
    assert (table["lo"] <= table["mean"]).all() and (table["mean"] <= table["hi"]).all()
    assert set(table["n"]) == {43, 54} and set(table["unit"]) == {"queries"}
    by_seed = effectiveness_table(results, None)
    assert set(by_seed["n"]) == {2}
    baselines = baseline_means(per_query)
    assert set(baselines["system"]) == {"bm25", "teacher"}
    fig = table1_effectiveness(table, baselines=baselines)
    assert [ax.get_title() for ax in fig.axes] == ["DL19", "DL20"]
    assert "95% CI" in fig.axes[0].get_ylabel()
    # no legend inside the panels (it covered the bars): one for samplers, one for baselines
    assert all(ax.get_legend() is None for ax in fig.axes)
    samplers, lines = ([t.get_text() for t in leg.get_texts()] for leg in fig.legends)
    assert samplers == ["bm25", "ensemble", "random", "teacher"]
    means = baselines.set_index(["system", "dataset"])["mean"]
    assert lines == [
        f"teacher (DL19 {means['teacher', 'DL19']:.3f}, DL20 {means['teacher', 'DL20']:.3f})",
        f"bm25 (DL19 {means['bm25', 'DL19']:.3f}, DL20 {means['bm25', 'DL20']:.3f})",
    ]
    # each baseline system is drawn in every panel with its own colour and dash pattern
    for ax in fig.axes:
        drawn = [(ln.get_color(), str(ln.get_linestyle())) for ln in _labelled_lines(ax)]
        assert len(drawn) == 2 and len(set(drawn)) == 2


def test_table1_baselines_with_equal_values_share_one_line():
    table = pd.DataFrame(
        {"dataset": "DL19", "loss": "lce", "sampler": ["bm25", "random"], "mean": [0.6, 0.61]}
    ).assign(lo=lambda t: t["mean"] - 0.01, hi=lambda t: t["mean"] + 0.01, unit="queries")
    baselines = pd.DataFrame(
        {
            "dataset": "DL19",
            "system": ["bm25", "run:bm25", "teacher", "run:a", "run:b", "run:c", "run:d"],
            "mean": [0.506, 0.506, 0.675, 0.70, 0.71, 0.72, 0.73],
        }
    )
    fig = table1_effectiveness(table, baselines=baselines)
    (ax,) = fig.axes
    lines = [t.get_text() for t in fig.legends[1].get_texts()]
    assert "bm25 = run:bm25 (0.506)" in lines and len(lines) == 6
    drawn = _labelled_lines(ax)
    looks = {(line.get_color(), str(line.get_linestyle())) for line in drawn}
    assert len(drawn) == 6 and len(looks) == 6


def _labelled_lines(ax):
    """The labelled lines of ``ax`` (the baselines; error-bar caps are unlabelled)."""
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_conditions_are_read_from_their_columns_and_baselines_left_out(paths):
    per_query = read_table(paths.grid_per_query)
    trained = trained_rows(per_query, "per_query")
    assert trained["system"].isna().all() and len(trained) < len(per_query)
    table = conditions(trained)
    assert list(table.columns) == ["student", "arch", "loss", "sampler", "subset"]
    assert len(table) == 3 * 4 + 3  # losses × samplers on the full set + 3 entropy cuts
    with pytest.raises(ValueError, match=r"per_query: missing column\(s\) \['subset'\]"):
        trained_rows(per_query.drop(columns="subset"), "per_query")


def test_only_canonical_column_names_are_read(paths):
    """An old alternative name (``delta_hat_Q_99`` for Δ̂_Q) is an error naming the file."""
    table = read_table(paths.sim_table).rename(columns={"diameter_Q_99": "delta_hat_Q_99"})
    with pytest.raises(ValueError, match=r"simulation table.*\['diameter_Q_99'\]"):
        misordering_heatmap(table)
    with pytest.raises(ValueError, match="missing column"):
        require_columns(table, ("diameter_Q_99",), "x")


def test_distillation_losses_come_from_the_registry():
    assert DISTILLATION_LOSSES == ("margin_mse", "soft_ranknet", "listwise_kl")
    assert set(DISTILLATION_LOSSES) < set(LOSSES)


def test_dataset_labels():
    assert dataset_label("msmarco-passage/trec-dl-2019/judged") == "DL19"
    assert dataset_label("msmarco-passage/trec-dl-2020/judged") == "DL20"
    assert dataset_label("vaswani") == "vaswani"
    assert dataset_label("msmarco-passage/dev/small") == "dev/small"


def test_training_rows_prefer_training_queries_over_test_sets():
    df = pd.DataFrame(
        {
            "dataset": [
                "msmarco-passage/dev/small",
                "msmarco-passage/trec-dl-2019/judged",
                "vaswani",
            ],
            "x": [1, 2, 3],
        }
    )
    assert training_rows(df)["x"].tolist() == [1]
    assert training_rows(df.iloc[1:])["x"].tolist() == [2]
    assert training_rows(df.iloc[2:]).empty
