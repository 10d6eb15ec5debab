"""Figures of the theory on the simulation sweep and on MS MARCO (results in, Figure out).

Simulation table: one row per configuration × seed (``simulate/<preset>/table.parquet``), read by
the column names of :mod:`locent.results`: the sampler family, Δ̂_Q(0.99), H(g), the held-out
misordering under ν, the population Bregman risk, the Theorem 2.1 (ii) and (iii) bounds, L_g, τ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.figures.style import log_axes, new_figure, sampler_colour
from locent.figures.tables import require_columns

from locent import results as R

SIM_TABLE = "simulation table (simulate/<preset>/table.parquet)"


def _scatter_by_sampler(ax, table, x, y, sampler):
    names = sorted(table[sampler].astype(str).unique())
    for name in names:
        part = table[table[sampler].astype(str) == name]
        ax.scatter(part[x], part[y], s=9, alpha=0.7, color=sampler_colour(name, names), label=name)


def bound_vs_risk(table: pd.DataFrame):
    """Theorem 2.1 (ii) and (iii): bound (y) against the true risk (x), log-log, one dot per run.

    Left: (iii) population Bregman risk vs its bound. Right: (ii) test misordering vs its bound.
    The diagonal y = x is drawn; a dot below it is a violation. Returns ``(fig, soundness)`` with
    the fraction of runs whose bound holds, per form.
    """
    sampler = R.SAMPLER_FAMILY
    require_columns(
        table,
        (sampler, R.POPULATION_RISK, R.BOUND_III, R.MISORDERING_NU, R.BOUND_II),
        SIM_TABLE,
    )
    panels = [
        ("iii", R.POPULATION_RISK, R.BOUND_III, "population Bregman risk R(f̂)"),
        ("ii", R.MISORDERING_NU, R.BOUND_II, "test misordering P[f̂ misorders]"),
    ]
    fig, axes = new_figure(3.6 * len(panels), 3.3, 1, len(panels), squeeze=False)
    soundness = {}
    for ax, (form, x, y, xlabel) in zip(axes[0], panels):
        part = table[(table[x] > 0) & (table[y] > 0)]
        _scatter_by_sampler(ax, part, x, y, sampler)
        finite = table[np.isfinite(table[x]) & np.isfinite(table[y])]
        soundness[form] = float((finite[y] >= finite[x]).mean()) if len(finite) else float("nan")
        lo = float(min(part[x].min(), part[y].min())) if len(part) else 1e-3
        hi = float(max(part[x].max(), part[y].max())) if len(part) else 1.0
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls=":")
        log_axes(ax)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"Theorem 2.1 ({form}) bound")
        ax.set_title(f"({form}) holds in {100 * soundness[form]:.1f}% of runs")
    # outside the axes: inside, the legend covered the dots of the small-risk runs
    legend = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend), loc="outside right upper", title="sampler")
    return fig, soundness


def misordering_heatmap(table: pd.DataFrame, bins: int = 6):
    """Mean test misordering over quantile bins of (Δ̂_Q, H(g)), with the number of runs per cell.

    Δ̂_Q and H(g) are coupled (Lemma B), so the sweep leaves some (Δ̂_Q, H) bins without any
    run: such a cell has no mean; it is hatched and the title counts it, rather than left as
    a blank that reads like a rendering hole. Returns ``(fig, grid)`` with ``grid`` the
    (entropy bins × diameter bins) mean misordering (NaN where no run falls).
    """
    from matplotlib.patches import Rectangle

    d, h, m = R.DIAMETER_Q_99, R.PAIRWISE_ENTROPY, R.MISORDERING_NU
    require_columns(table, (d, h, m), SIM_TABLE)
    d_edges = np.unique(np.quantile(table[d], np.linspace(0, 1, bins + 1)))
    h_edges = np.unique(np.quantile(table[h], np.linspace(0, 1, bins + 1)))
    if len(d_edges) < 2 or len(h_edges) < 2:
        d_edges = np.array([table[d].min(), table[d].max() + 1e-12])
        h_edges = np.array([table[h].min(), table[h].max() + 1e-12])
    di = np.clip(np.searchsorted(d_edges, table[d], side="right") - 1, 0, len(d_edges) - 2)
    hi = np.clip(np.searchsorted(h_edges, table[h], side="right") - 1, 0, len(h_edges) - 2)
    grid = np.full((len(h_edges) - 1, len(d_edges) - 1), np.nan)
    runs = np.zeros(grid.shape, dtype=int)
    cells = pd.DataFrame({"h": hi, "d": di, "m": table[m].to_numpy(dtype=float)})
    for (r, c), group in cells.groupby(["h", "d"])["m"]:
        grid[r, c] = group.mean()
        runs[r, c] = group.size
    fig, ax = new_figure(5.0, 3.9)
    image = ax.pcolormesh(
        d_edges, h_edges, np.ma.masked_invalid(grid), cmap="viridis", shading="flat"
    )
    fig.colorbar(image, ax=ax, label="mean test misordering")
    empty = 0
    for r in range(grid.shape[0]):
        for c in range(grid.shape[1]):
            x0, x1, y0, y1 = d_edges[c], d_edges[c + 1], h_edges[r], h_edges[r + 1]
            if np.isnan(grid[r, c]):
                empty += 1
                ax.add_patch(
                    Rectangle(
                        (x0, y0),
                        x1 - x0,
                        y1 - y0,
                        facecolor="0.92",
                        edgecolor="0.6",
                        hatch="///",
                        lw=0.0,
                    )
                )
            elif _roomy(x1 - x0, y1 - y0, d_edges, h_edges):  # run count, where it fits
                ax.text(
                    (x0 + x1) / 2,
                    (y0 + y1) / 2,
                    str(runs[r, c]),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if grid[r, c] < np.nanmean(grid) else "black",
                )
    ax.set_xlabel("essential diameter Δ̂_Q (α = 0.99)")
    ax.set_ylabel("teacher entropy H(g) (nats)")
    ax.set_title(
        "Test misordering over (Δ̂_Q, H(g)); numbers: runs per cell"
        + (
            f"\nhatched: no run in the bin ({empty} of {grid.size}; Δ̂_Q and H(g) are coupled)"
            if empty
            else ""
        ),
        fontsize=8,
    )
    ax.grid(False)
    return fig, grid


def _roomy(width: float, height: float, d_edges, h_edges, share: float = 0.08) -> bool:
    """Whether a cell spans at least ``share`` of both axes (room for its run count)."""
    return bool(
        width >= share * (d_edges[-1] - d_edges[0]) and height >= share * (h_edges[-1] - h_edges[0])
    )


def locality_entropy_coupling(table: pd.DataFrame, per_query: pd.DataFrame | None = None):
    """H(g) against Δ̂_Q in the simulation with the Lemma B floor h(σ(L_g Δ/τ)) drawn per (L_g, τ).

    When MS MARCO per-query measurements are given, a second panel shows H_q against Δ̂_q per
    sampler (no floor: the real teacher's L_g is unknown).
    """
    from locent.theory import entropy_floor

    sampler, d, h = R.SAMPLER_FAMILY, R.DIAMETER_Q_99, R.PAIRWISE_ENTROPY
    lip, tau = R.TEACHER_LIPSCHITZ, R.TAU
    require_columns(table, (sampler, d, h, lip, tau), SIM_TABLE)
    ncols = 2 if per_query is not None else 1
    fig, axes = new_figure(3.8 * ncols, 3.3, 1, ncols, squeeze=False)
    ax = axes[0][0]
    _scatter_by_sampler(ax, table, d, h, sampler)
    grid = np.linspace(0.0, float(table[d].max()) * 1.05, 200)
    pairs = table[[lip, tau]].drop_duplicates().sort_values([lip, tau]).to_numpy(dtype=float)
    for k, (lg, t) in enumerate(pairs[:6]):
        floor = np.asarray(entropy_floor(lg, grid, t), dtype=float)
        ax.plot(
            grid,
            floor,
            color="0.4",
            lw=0.9,
            ls=["-", "--", ":", "-."][k % 4],
            label=f"Lemma B floor L_g={lg:.3g}, τ={t:.3g}",
        )
    ax.set_xlabel("Δ̂_Q (α = 0.99)")
    ax.set_ylabel("H(g) pairwise (nats)")
    ax.set_title("Simulation: locality–entropy coupling")
    ax.legend(loc="lower left", fontsize=6)
    if per_query is not None:
        require_columns(
            per_query,
            (R.SAMPLER, R.DIAMETER_99, R.PAIRWISE_ENTROPY),
            "realdata/measure/per_query.parquet",
        )
        ax = axes[0][1]
        _scatter_by_sampler(ax, per_query, R.DIAMETER_99, R.PAIRWISE_ENTROPY, R.SAMPLER)
        ax.set_xlabel("Δ̂_q (α = 0.99, MiniLM space)")
        ax.set_ylabel("H_q(g) pairwise (nats)")
        ax.set_title("MS MARCO: per query")
        ax.legend(loc="lower left", title="sampler")
    return fig
