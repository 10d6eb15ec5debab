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
    axes[0][0].legend(loc="upper left", title="sampler")
    return fig, soundness


def misordering_heatmap(table: pd.DataFrame, bins: int = 6):
    """Mean test misordering over quantile bins of (Δ̂_Q, H(g)); empty cells are blank.

    Returns ``(fig, grid)`` with ``grid`` the (entropy bins × diameter bins) mean misordering.
    """
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
    cells = pd.DataFrame({"h": hi, "d": di, "m": table[m].to_numpy(dtype=float)})
    for (r, c), value in cells.groupby(["h", "d"])["m"].mean().items():
        grid[r, c] = value
    fig, ax = new_figure(4.6, 3.6)
    image = ax.pcolormesh(
        d_edges, h_edges, np.ma.masked_invalid(grid), cmap="viridis", shading="flat"
    )
    fig.colorbar(image, ax=ax, label="mean test misordering")
    ax.set_xlabel("essential diameter Δ̂_Q (α = 0.99)")
    ax.set_ylabel("teacher entropy H(g) (nats)")
    ax.set_title("Test misordering over (Δ̂_Q, H(g))")
    ax.grid(False)
    return fig, grid


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
