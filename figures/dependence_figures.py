"""Real-data figures of the dependence sweep and Table 1 as differences to a reference sampler.

- :func:`risk_gap_vs_locality`: (a) the estimation gap R̂_held-out − R̂_train against Δ̂_Q/√n on
  the locality levels, every n (colour = H(g)), with the fitted line of ``fit.csv``; (b) the gap
  against Δ̂_Q at full n, one point per level (seed mean), with the full-n fit, the part that
  judges item 2; (c) the held-out misordering against H(g) on the entropy levels, with its fit.
- :func:`gap_vs_n`: the gap against the number of training queries n at the n-axis levels.
- :func:`table1_differences`: per student × loss, each sampler's nDCG@10 minus the reference
  sampler's, paired over test queries (seed means per query first), with 95% t intervals: the
  differences between samplers Table 1's raw bars hide.
Only cells that learned are drawn (their count is in the titles).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.figures.style import new_figure, sampler_colour
from locent.realdata.dependence.fit import DIAMETER_OVER_ROOT_N, with_diameter_over_root_n

from locent import results as R
from locent import stats as st

GAP_X = DIAMETER_OVER_ROOT_N


def _learned_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per trained cell (the first test set's rows) that learned."""
    first = cells[R.DATASET].iloc[0]
    rows = cells[cells[R.DATASET] == first]
    rows = with_diameter_over_root_n(rows)
    return rows[rows[R.LEARNED].astype(bool)]


def _fit_line(ax, fit: pd.DataFrame, name: str, x: np.ndarray, y: np.ndarray) -> str:
    """Draw the OLS line of fit ``name`` over ``x``; returns its legend text."""
    row = fit[fit["fit"] == name]
    if row.empty or not np.isfinite(row["slope"].iloc[0]) or len(x) < 2:
        return "no fit"
    r = row.iloc[0]
    slope = float(r["slope"])
    intercept = float(np.mean(y) - slope * np.mean(x))
    xs = np.linspace(float(np.min(x)), float(np.max(x)), 50)
    ax.plot(xs, intercept + slope * xs, color="black", lw=1.2)
    return f"slope {slope:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]: {r['verdict']}"


def risk_gap_vs_locality(cells: pd.DataFrame, fit: pd.DataFrame, base: str | None):
    """Three panels (module docstring); ``base``: the entropy knob's sampler (its levels are
    panel (c)). Returns ``(fig, numbers)``."""
    rows = _learned_cells(cells)
    fig, (a, full, b) = new_figure(14.0, 4.0, 1, 3)
    loc = rows[rows["knob"] == "locality"]
    if len(loc):
        sc = a.scatter(loc[GAP_X], loc[R.ESTIMATION_GAP], c=loc[R.PAIRWISE_ENTROPY], cmap="viridis",
                       s=18, edgecolors="none")  # fmt: skip
        fig.colorbar(sc, ax=a, label="H(g) (nats)")
        text = _fit_line(a, fit, "gap_on_locality", loc[GAP_X].to_numpy(),
                         loc[R.ESTIMATION_GAP].to_numpy())  # fmt: skip
        a.set_title(f"(a) gap vs Δ̂_Q/√n, every n\n{text}", fontsize=8)
    a.axhline(0.0, color="grey", lw=0.8)
    a.set_xlabel("Δ̂_Q(0.99) / √n")
    a.set_ylabel("held-out − training risk")
    at_full = loc[loc[R.SUBSET] == R.FULL_SUBSET]
    if len(at_full):
        means = at_full.groupby(R.SAMPLER)[[R.DIAMETER_Q_99, R.ESTIMATION_GAP]].mean()
        full.scatter(means[R.DIAMETER_Q_99], means[R.ESTIMATION_GAP], s=22, color="#4c72b0")
        for level, m in means.iterrows():
            full.annotate(str(level), (m[R.DIAMETER_Q_99], m[R.ESTIMATION_GAP]), fontsize=6,
                          xytext=(3, 3), textcoords="offset points")  # fmt: skip
        text = _fit_line(full, fit, "gap_on_locality_full_n", means[R.DIAMETER_Q_99].to_numpy(),
                         means[R.ESTIMATION_GAP].to_numpy())  # fmt: skip
        full.set_title(f"(b) gap vs Δ̂_Q at full n (item 2)\n{text}", fontsize=8)
    full.set_xlabel("Δ̂_Q(0.99)")
    full.set_ylabel("held-out − training risk (level mean)")
    ent = rows[rows["knob_sampler"] == base] if base else rows.iloc[:0]
    ent = ent[ent[R.SUBSET] == R.FULL_SUBSET]
    if len(ent):
        b.scatter(ent[R.PAIRWISE_ENTROPY], ent[R.HELDOUT_MISORDERING], s=18, color="#c44e52")
        for variant, g in ent.groupby(R.TEACHER_VARIANT):
            at = (g[R.PAIRWISE_ENTROPY].mean(), g[R.HELDOUT_MISORDERING].mean())
            b.annotate(str(variant), at, fontsize=6, xytext=(3, 3), textcoords="offset points")
        text = _fit_line(b, fit, "floor_on_entropy", ent[R.PAIRWISE_ENTROPY].to_numpy(),
                         ent[R.HELDOUT_MISORDERING].to_numpy())  # fmt: skip
        b.set_title(f"(c) misordering floor vs H(g)\n{text}", fontsize=8)
    b.set_xlabel("H(g) pairwise (nats)")
    b.set_ylabel("held-out misordering vs teacher")
    fig.suptitle(f"Dependence sweep: {len(rows)} cells that learned", fontsize=9)
    numbers = {f"slope[{r.fit}]": float(r.slope) for r in fit.itertuples() if np.isfinite(r.slope)}
    return fig, numbers


def gap_vs_n(cells: pd.DataFrame):
    """The gap against n at every level trained on the n axis; returns ``(fig, numbers)``."""
    rows = _learned_cells(cells)
    levels = sorted(set(rows.loc[rows[R.SUBSET] != R.FULL_SUBSET, R.SAMPLER]))
    fig, ax = new_figure(5.5, 4.0)
    numbers = {}
    for level in levels:
        g = rows[rows[R.SAMPLER] == level].groupby("n_train")
        mean, diam = g[R.ESTIMATION_GAP].mean(), g[R.DIAMETER_Q_99].mean()
        ax.plot(mean.index, mean.to_numpy(), marker="o",
                label=f"{level} (Δ̂_Q ≈ {diam.mean():.3f})")  # fmt: skip
        numbers.update({f"gap[{level}/n={n}]": float(v) for n, v in mean.items()})
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("training queries n")
    ax.set_ylabel("held-out − training risk (seed mean)")
    ax.set_title("Estimation gap against n at several Δ̂_Q", fontsize=9)
    if levels:
        ax.legend()
    return fig, numbers


def sampler_differences(
    per_query: pd.DataFrame, reference: str = "bm25", measure: str = R.NDCG_10
) -> pd.DataFrame:
    """Per (dataset, student, arch, loss, sampler ≠ reference): mean and 95% t interval over test
    queries of (sampler − reference), each side averaged over its learned seeds per query."""
    rows = per_query[(per_query["measure"] == measure) & per_query[R.SAMPLER].notna()]
    rows = rows[rows[R.SUBSET] == R.FULL_SUBSET]
    if R.LEARNED in rows.columns:
        rows = rows[rows[R.LEARNED].astype(bool)]
    keys = [R.DATASET, R.STUDENT, R.ARCH, R.LOSS]
    means = rows.groupby([*keys, R.SAMPLER, R.QUERY_ID])["value"].mean().unstack(R.SAMPLER)
    out = []
    if reference not in means.columns:
        return pd.DataFrame(columns=[*keys, R.SAMPLER, "difference", "ci_low", "ci_high", "n"])
    for key, block in means.groupby(level=list(range(len(keys)))):
        for sampler in [c for c in block.columns if c != reference]:
            d = (block[sampler] - block[reference]).dropna().to_numpy()
            if d.size < 2:
                continue
            lo, hi = st.mean_ci(d, 0.95)
            out.append({**dict(zip(keys, key)), R.SAMPLER: sampler, "difference": float(d.mean()),
                        "ci_low": lo, "ci_high": hi, "n": int(d.size)})  # fmt: skip
    return pd.DataFrame(out)


def table1_differences(per_query: pd.DataFrame, reference: str = "bm25"):
    """Dots with 95% CIs of :func:`sampler_differences`, one panel per dataset; ``(fig, nums)``."""
    diffs = sampler_differences(per_query, reference)
    datasets = sorted(set(diffs[R.DATASET])) if len(diffs) else []
    ncols = max(1, len(datasets))
    fig, axes = new_figure(4.0 * ncols, 4.5, 1, ncols, squeeze=False)
    numbers = {}
    for ax, dataset in zip(axes[0], datasets):
        d = diffs[diffs[R.DATASET] == dataset].reset_index(drop=True)
        labels = [f"{r.student}-{r.arch} {r.loss}" for r in d.itertuples()]
        order = sorted(set(labels))
        y = np.array([order.index(lab) for lab in labels], dtype=float)
        samplers = sorted(set(d[R.SAMPLER]))
        for j, s in enumerate(samplers):
            m = (d[R.SAMPLER] == s).to_numpy()
            yy = y[m] + (j - (len(samplers) - 1) / 2) * 0.15
            sub = d[m]
            ax.errorbar(sub["difference"], yy, xerr=[sub["difference"] - sub["ci_low"],
                        sub["ci_high"] - sub["difference"]], fmt="o", ms=3,
                        color=sampler_colour(s), label=s)  # fmt: skip
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_yticks(range(len(order)), order)
        ax.set_xlabel(f"nDCG@10 − {reference} (95% CI over queries)")
        ax.set_title(str(dataset), fontsize=9)
        numbers.update({f"diff[{dataset}/{r.student}-{r.arch}/{r.loss}/{r.sampler}]": r.difference
                        for r in d.itertuples()})  # fmt: skip
    if datasets:
        axes[0][0].legend()
    return fig, numbers
