"""Real-data figures: per-sampler distributions on MS MARCO and the Table-1 analogue with CIs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from locent.figures.style import new_figure, sampler_colour
from locent.figures.tables import (
    baseline_rows,
    dataset_label,
    require_columns,
    trained_rows,
    training_rows,
)

from locent import results as R
from locent import stats as st

VIOLIN_QUANTITIES = (
    (R.DIAMETER_99, "Δ̂_q (α = 0.99)"),
    (R.PAIRWISE_ENTROPY, "H_q(g) pairwise (nats)"),
    (R.KAPPA, "κ_q"),
)


def sampler_violins(per_query: pd.DataFrame, dataset_prefix: str = "msmarco-passage"):
    """Violins of Δ̂_q, H_q and κ_q per sampler on MS MARCO.

    ``per_query``: ``realdata/measure/per_query.parquet``. Each quantity is drawn over the
    training queries when they carry it, else over the MS MARCO rows that do (κ_q needs the
    test-time target μ_q, so it is measured on the DL19/DL20 test queries; the panel's label says
    which). Infinite κ_q (target not covered by the sampler) cannot be drawn: each sampler's tick
    label gives its finite share and a sampler with none is marked, not dropped silently
    (:func:`_mark_infinite_kappa`). Returns ``(fig, counts)`` with the
    number of infinite κ_q per sampler.
    """
    require_columns(
        per_query,
        ("dataset", "sampler", *[q for q, _ in VIOLIN_QUANTITIES]),
        "realdata/measure/per_query.parquet",
    )
    train = training_rows(per_query, dataset_prefix)
    if train.empty:
        raise ValueError(f"per_query.parquet: no rows for dataset {dataset_prefix}*")
    ours = per_query[per_query["dataset"].astype(str).str.startswith(dataset_prefix)]
    samplers = sorted(ours["sampler"].astype(str).unique())
    fig, axes = new_figure(9.6, 3.3, 1, len(VIOLIN_QUANTITIES))
    infinite = {}
    for ax, (column, label) in zip(axes, VIOLIN_QUANTITIES):
        rows = train if train[column].notna().any() else ours[ours[column].notna()]
        where = sorted({dataset_label(d) for d in rows["dataset"].astype(str)})
        ax.set_title(f"{len(rows['query_id'].unique())} queries: {', '.join(where)}", fontsize=7)
        data, positions, names = [], [], []
        for i, s in enumerate(samplers):
            values = rows.loc[rows["sampler"].astype(str) == s, column].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if column == R.KAPPA:
                infinite[s] = int(np.isinf(values).sum())
            if finite.size >= 2 and np.ptp(finite) > 0:
                data.append(finite)
                positions.append(i)
                names.append(s)
            elif finite.size:
                ax.scatter([i], [finite.mean()], color=sampler_colour(s), marker="_", s=200)
        if data:
            parts = ax.violinplot(data, positions=positions, showmedians=True, widths=0.8)
            for body, s in zip(parts["bodies"], names):
                body.set_facecolor(sampler_colour(s))
                body.set_alpha(0.6)
        if column == R.KAPPA:
            _mark_infinite_kappa(ax, rows, samplers, infinite)
        else:
            ax.set_xticks(range(len(samplers)), samplers, rotation=30)
        ax.set_ylabel(label)
    fig.suptitle("MS MARCO groups per sampler")
    return fig, infinite


def _mark_infinite_kappa(ax, rows: pd.DataFrame, samplers, infinite: dict) -> None:
    """Say on the κ_q panel how many κ_q are finite per sampler.

    κ_q = ∞ (the target μ_q puts mass where the sampler ν_q puts none) is the common case for
    samplers that never draw some relevant items, so most of this panel can be empty; each
    sampler's tick label gives its finite share, and a sampler without any finite κ_q gets a
    hatched column saying so (instead of a blank that reads like missing data).
    """
    measured = rows[rows[R.KAPPA].notna()]
    counts = measured.groupby(measured[R.SAMPLER].astype(str)).size()
    finite_total = 0
    for i, s in enumerate(samplers):
        n = int(counts.get(s, 0))
        finite = n - infinite.get(s, 0)
        finite_total += finite
        if n and finite == 0:
            ax.axvspan(i - 0.4, i + 0.4, facecolor="0.93", edgecolor="0.7", hatch="///", lw=0)
            ax.text(
                i,
                0.5,
                f"κ_q = ∞ for all {n}",
                transform=ax.get_xaxis_transform(),
                rotation=90,
                ha="center",
                va="center",
                fontsize=7,
                color="0.25",
            )
    labels = [
        f"{s}\n{int(counts.get(s, 0)) - infinite.get(s, 0)}/{int(counts.get(s, 0))} finite"
        for s in samplers
    ]
    ax.set_xticks(range(len(samplers)), labels, rotation=30, fontsize=6)
    ax.set_xlim(-0.6, len(samplers) - 0.4)
    total = int(counts.sum())
    ax.set_title(f"{ax.get_title()}; κ_q finite for {finite_total} of {total}", fontsize=7)


def effectiveness_table(
    results: pd.DataFrame,
    per_query: pd.DataFrame | None = None,
    measure: str = R.NDCG_10,
    datasets: Sequence[str] = ("DL19", "DL20"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Table-1 analogue: mean ``measure`` per (dataset, loss, sampler) with a t-interval.

    With ``per_query`` (the grid's per_query.parquet) the interval is over queries of the
    per-query mean across seeds (the i.i.d. unit is the query); without it, over seeds of the
    per-run means in results.csv. Only the full training set (``subset`` = ``full`` when that
    column exists) is used. Columns: ``dataset, loss, sampler, mean, lo, hi, n, unit``.
    """
    require_columns(results, (*R.CONDITION_COLUMNS, R.DATASET, measure), "grid results.csv")
    res = _full_set(results)
    rows = []
    if per_query is not None:
        pq = trained_rows(per_query, "grid per_query.parquet")
        require_columns(pq, (R.DATASET, R.QUERY_ID, R.MEASURE, R.VALUE), "grid per_query.parquet")
        pq = _full_set(pq[pq[R.MEASURE].astype(str) == measure])
        pq = pq.assign(label=pq["dataset"].astype(str).map(dataset_label))
        per_q = pq.groupby(["label", "loss", "sampler", "query_id"])["value"].mean().reset_index()
        groups, unit = per_q.groupby(["label", "loss", "sampler"])["value"], "queries"
    else:
        res = res.assign(label=res["dataset"].astype(str).map(dataset_label))
        groups, unit = res.groupby(["label", "loss", "sampler"])[measure], "seeds"
    for (label, loss, sampler), values in groups:
        if label not in datasets:
            continue
        v = values.to_numpy(dtype=float)
        mean = float(v.mean())
        if v.size > 1 and np.std(v) > 0:
            lo, hi = st.mean_ci(v, confidence)
        else:
            lo = hi = mean
        rows.append(
            {
                "dataset": label,
                "loss": loss,
                "sampler": sampler,
                "mean": mean,
                "lo": float(lo),
                "hi": float(hi),
                "n": int(v.size),
                "unit": unit,
            }
        )
    table = pd.DataFrame(
        rows, columns=["dataset", "loss", "sampler", "mean", "lo", "hi", "n", "unit"]
    )
    if table.empty:
        raise ValueError(f"Table 1: no {measure} rows for datasets {list(datasets)}")
    return table.sort_values(["dataset", "loss", "sampler"]).reset_index(drop=True)


def _full_set(table: pd.DataFrame) -> pd.DataFrame:
    """The rows trained on the full training set (the entropy cuts are item 7's business)."""
    return table[table[R.SUBSET].astype(str) == R.FULL_SUBSET]


def baseline_means(per_query: pd.DataFrame, measure: str = R.NDCG_10) -> pd.DataFrame:
    """Mean ``measure`` of the grid's baseline rows (``system`` set, e.g. BM25 and the teacher)
    per dataset label: columns ``dataset, system, mean``."""
    rows = baseline_rows(per_query)
    rows = rows[rows[R.MEASURE].astype(str) == measure]
    out = rows.assign(dataset=rows[R.DATASET].astype(str).map(dataset_label))
    return (
        out.groupby([R.DATASET, R.SYSTEM])[R.VALUE]
        .mean()
        .rename("mean")
        .reset_index()
        .rename(columns={R.SYSTEM: "system"})
    )


#: Line colours and styles of the baseline systems in Table 1 (none is a sampler colour).
BASELINE_COLOURS = ("black", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#2f4b7c")
BASELINE_STYLES = ("--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)))


def _baseline_lines(baselines: pd.DataFrame | None, datasets) -> list[dict]:
    """One line style per baseline system, drawn in every panel (dataset) it has a value for.

    Systems whose means agree (to 3 decimals) on every dataset, e.g. ``bm25`` and the shipped
    ``run:bm25``, share one line and one label (``bm25 = run:bm25``). Each entry: ``label``
    (with the value per dataset), ``colour``, ``style`` and ``means`` (dataset → mean).
    """
    if baselines is None or baselines.empty:
        return []
    wide = baselines.pivot_table(index="system", columns="dataset", values="mean", aggfunc="mean")
    wide = wide.reindex(columns=[d for d in datasets if d in wide.columns])
    if wide.empty:
        return []
    groups: dict[tuple, list[str]] = {}
    for system, row in wide.iterrows():
        key = tuple(f"{v:.3f}" if np.isfinite(v) else "–" for v in row)
        groups.setdefault(key, []).append(str(system))
    # highest first, as the lines lie in the panels
    order = sorted(groups.items(), key=lambda kv: -float(wide.loc[kv[1][0]].max()))
    lines = []
    for i, (key, names) in enumerate(order):
        values = ", ".join(
            v if len(wide.columns) == 1 else f"{d} {v}"
            for d, v in zip(wide.columns, key)
            if v != "–"
        )
        means = {d: float(v) for d, v in zip(wide.columns, key) if v != "–"}
        lines.append(
            {
                "label": f"{' = '.join(sorted(names))} ({values})",
                "colour": BASELINE_COLOURS[i % len(BASELINE_COLOURS)],
                "style": BASELINE_STYLES[i % len(BASELINE_STYLES)],
                "means": means,
            }
        )
    return lines


def table1_effectiveness(
    table: pd.DataFrame, measure: str = R.NDCG_10, baselines: pd.DataFrame | None = None
):
    """Grouped bars (x = loss, bar = sampler) of ``table`` from :func:`effectiveness_table`,
    one panel per dataset, with the confidence interval as error bars; ``baselines``
    (:func:`baseline_means`) drawn as horizontal lines, one colour and dash pattern per system
    (:func:`_baseline_lines`), explained in a legend below the panels."""
    require_columns(table, ("dataset", "loss", "sampler", "mean", "lo", "hi"), "Table 1")
    datasets = sorted(table["dataset"].unique())
    losses = sorted(table["loss"].unique())
    samplers = sorted(table["sampler"].unique())
    width = 0.8 / len(samplers)
    baseline_lines = _baseline_lines(baselines, datasets)
    columns = 2 if len(datasets) == 1 else 3  # of the baseline legend below the panels
    height = 3.2 + 0.16 * np.ceil(len(baseline_lines) / columns)
    fig, axes = new_figure(
        max(5.6, 4.2 * len(datasets)), height, 1, len(datasets), squeeze=False, sharey=True
    )
    for ax, ds in zip(axes[0], datasets):
        for k, s in enumerate(samplers):
            part = table[(table["dataset"] == ds) & (table["sampler"] == s)].set_index("loss")
            part = part.reindex(losses)
            x = np.arange(len(losses)) + (k - (len(samplers) - 1) / 2) * width
            err = np.vstack([part["mean"] - part["lo"], part["hi"] - part["mean"]])
            ax.bar(
                x,
                part["mean"],
                width=width,
                color=sampler_colour(s),
                label=s,
                yerr=err,
                capsize=2,
                error_kw={"lw": 0.8},
            )
        for b in baseline_lines:
            if ds in b["means"]:
                ax.axhline(
                    b["means"][ds], color=b["colour"], lw=1.0, ls=b["style"], label=b["label"]
                )
        ax.set_xticks(range(len(losses)), losses, rotation=20)
        ax.set_title(ds)
        ax.set_xlabel("loss")
    axes[0][0].set_ylabel(f"{measure} (mean, 95% CI over {table['unit'].iloc[0]})")
    handles, labels = axes[0][0].get_legend_handles_labels()
    keep = [i for i, label in enumerate(labels) if label in samplers]
    fig.legend(
        [handles[i] for i in keep],
        [labels[i] for i in keep],
        title="sampler",
        loc="outside right upper",
    )
    # the baselines get their own legend below the panels (inside, it covered the bars): one
    # colour and dash pattern per system, its values in the label
    entries = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in samplers:
                entries.setdefault(label, handle)
    if entries:
        fig.legend(
            list(entries.values()),
            list(entries),
            title="baselines (untrained systems)",
            loc="outside lower center",
            ncols=min(columns, len(entries)),
            fontsize=6,
            title_fontsize=7,
        )
    return fig
