"""Real-data figures: per-sampler distributions on MS MARCO and the Table-1 analogue with CIs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from locent.figures.style import new_figure, sampler_colour
from locent.figures.tables import (
    condition_fields,
    dataset_label,
    require_columns,
    training_rows,
)

from locent import stats as st

VIOLIN_QUANTITIES = (
    ("diameter_99", "Δ̂_q (α = 0.99)"),
    ("pairwise_entropy", "H_q(g) pairwise (nats)"),
    ("kappa", "κ_q"),
)


def sampler_violins(per_query: pd.DataFrame, dataset_prefix: str = "msmarco-passage"):
    """Violins of Δ̂_q, H_q and κ_q per sampler on MS MARCO.

    ``per_query``: ``realdata/measure/per_query.parquet``. Each quantity is drawn over the
    training queries when they carry it, else over the MS MARCO rows that do (κ_q needs the
    test-time target μ_q, so it is measured on the DL19/DL20 test queries; the panel's label says
    which). Infinite κ_q (target not covered by the sampler) cannot be drawn: their count per
    sampler is written under the violin, not dropped silently. Returns ``(fig, counts)`` with the
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
    fig, axes = new_figure(9.0, 3.0, 1, len(VIOLIN_QUANTITIES))
    infinite = {}
    for ax, (column, label) in zip(axes, VIOLIN_QUANTITIES):
        rows = train if train[column].notna().any() else ours[ours[column].notna()]
        where = sorted({dataset_label(d) for d in rows["dataset"].astype(str)})
        ax.set_title(f"{len(rows['query_id'].unique())} queries: {', '.join(where)}", fontsize=7)
        data, positions, names = [], [], []
        for i, s in enumerate(samplers):
            values = rows.loc[rows["sampler"].astype(str) == s, column].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if column == "kappa":
                infinite[s] = int((~np.isfinite(values)).sum())
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
        ax.set_xticks(range(len(samplers)), samplers, rotation=30)
        ax.set_ylabel(label)
        if column == "kappa":
            for i, s in enumerate(samplers):
                if infinite.get(s):
                    ax.annotate(
                        f"{infinite[s]} inf",
                        (i, 0),
                        xycoords=("data", "axes fraction"),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        fontsize=6,
                    )
    fig.suptitle("MS MARCO groups per sampler")
    return fig, infinite


def effectiveness_table(
    results: pd.DataFrame,
    per_query: pd.DataFrame | None = None,
    measure: str = "nDCG@10",
    datasets: Sequence[str] = ("DL19", "DL20"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Table-1 analogue: mean ``measure`` per (dataset, loss, sampler) with a t-interval.

    With ``per_query`` (the grid's per_query.parquet) the interval is over queries of the
    per-query mean across seeds (the i.i.d. unit is the query); without it, over seeds of the
    per-run means in results.csv. Only the full training set (``subset`` = ``full`` when that
    column exists) is used. Columns: ``dataset, loss, sampler, mean, lo, hi, n, unit``.
    """
    require_columns(results, ("loss", "sampler", "dataset", measure), "grid results.csv")
    res = results
    if "subset" in res.columns and (res["subset"].astype(str) == "full").any():
        res = res[res["subset"].astype(str) == "full"]
    rows = []
    if per_query is not None:
        require_columns(
            per_query,
            ("condition", "seed", "dataset", "query_id", "measure", "value"),
            "grid per_query.parquet",
        )
        pq = per_query[per_query["measure"].astype(str) == measure]
        fields = condition_fields(pq["condition"].unique(), results)
        if "subset" in fields and (fields["subset"].astype(str) == "full").any():
            fields = fields[fields["subset"].astype(str) == "full"]
        pq = pq.merge(fields[["condition", "loss", "sampler"]], on="condition")
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


def baseline_means(per_query: pd.DataFrame, measure: str = "nDCG@10") -> pd.DataFrame:
    """Mean ``measure`` of the grid's baseline rows (condition ``baseline:<system>``, e.g. BM25
    and the teacher) per dataset label: columns ``dataset, system, mean``."""
    rows = per_query[
        per_query["condition"].astype(str).str.startswith("baseline:")
        & (per_query["measure"].astype(str) == measure)
    ]
    out = rows.assign(
        dataset=rows["dataset"].astype(str).map(dataset_label),
        system=rows["condition"].astype(str).str.removeprefix("baseline:"),
    )
    return out.groupby(["dataset", "system"])["value"].mean().rename("mean").reset_index()


def table1_effectiveness(
    table: pd.DataFrame, measure: str = "nDCG@10", baselines: pd.DataFrame | None = None
):
    """Grouped bars (x = loss, bar = sampler) of ``table`` from :func:`effectiveness_table`,
    one panel per dataset, with the confidence interval as error bars; ``baselines``
    (:func:`baseline_means`) drawn as labelled horizontal lines."""
    require_columns(table, ("dataset", "loss", "sampler", "mean", "lo", "hi"), "Table 1")
    datasets = sorted(table["dataset"].unique())
    losses = sorted(table["loss"].unique())
    samplers = sorted(table["sampler"].unique())
    width = 0.8 / len(samplers)
    fig, axes = new_figure(4.2 * len(datasets), 3.2, 1, len(datasets), squeeze=False, sharey=True)
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
        if baselines is not None:
            styles = iter(["--", ":", "-.", (0, (5, 1))])
            lines = [
                ax.axhline(
                    b.mean,
                    color="0.3",
                    lw=0.9,
                    ls=next(styles, "--"),
                    label=f"{b.system} ({b.mean:.3f})",
                )
                for b in baselines[baselines["dataset"] == ds].itertuples()
            ]
            if lines:
                ax.legend(handles=lines, loc="lower right", fontsize=6, title="baselines")
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
    return fig
