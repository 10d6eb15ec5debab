"""The paper's Figures 2, 3 and 4 on our real-data results (results in, Figure out).

Inputs are the grid's tidy tables (docs/CONTRACTS.md): ``score_at_rank.parquet``
(``model, condition, dataset, query_id, rank, score``; ``model`` is ``teacher`` or the student
condition) and ``logs.parquet`` (``condition, seed, step, loss, kl, grad_norm, lr``), with the
condition names resolved to loss/sampler/arch by :func:`locent.figures.tables.condition_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from locent.figures.score_at_rank import PowerLaw, fit_power_law, score_curve
from locent.figures.style import log_axes, new_figure, sampler_colour
from locent.figures.tables import condition_fields, is_dataset, require_columns

FIT_COLOUR = "0.55"


def _students(score_at_rank: pd.DataFrame, results: pd.DataFrame | None) -> pd.DataFrame:
    students = score_at_rank.loc[score_at_rank["model"].astype(str) != "teacher", "model"].unique()
    return condition_fields(students, results)


def _dataset_rows(score_at_rank: pd.DataFrame, dataset: str) -> pd.DataFrame:
    require_columns(
        score_at_rank, ("model", "dataset", "query_id", "rank", "score"), "score_at_rank.parquet"
    )
    mask = score_at_rank["dataset"].astype(str).map(lambda d: is_dataset(d, dataset))
    rows = score_at_rank.loc[mask]
    if rows.empty:
        raise ValueError(f"score_at_rank.parquet: no rows for dataset {dataset}")
    return rows


def _prefer(fields: pd.DataFrame, column: str, preferred: Sequence[str]) -> pd.DataFrame:
    """Rows whose ``column`` is the first of ``preferred`` present (all rows when none is)."""
    for value in preferred:
        chosen = fields[fields[column].astype(str) == value]
        if not chosen.empty:
            return chosen
    return fields


def fig2_score_vs_rank_ratio(
    score_at_rank: pd.DataFrame,
    results: pd.DataFrame | None = None,
    dataset: str = "DL19",
    loss: str = "soft_ranknet",
    samplers: Sequence[str] = ("bm25", "teacher"),
    arch_preference: Sequence[str] = ("cross", "cross-encoder", "cross_encoder"),
):
    """Fig. 2: mean score vs rank ratio (log-log) of the teacher and two ``loss`` students.

    The two students are those trained with ``samplers`` (the first two ``loss`` students of other
    samplers when these are absent). Fitted power laws are drawn in grey.
    Returns ``(fig, exponents)`` with ``exponents[label] = PowerLaw``.
    """
    rows = _dataset_rows(score_at_rank, dataset)
    fields = _students(rows, results)
    fields = fields[fields["loss"] == loss]
    if "subset" in fields and fields["subset"].notna().any():
        fields = _prefer(fields, "subset", ("full", "all"))
    fields = _prefer(fields, "arch", arch_preference)
    chosen = [
        fields[fields["sampler"] == s].iloc[0] for s in samplers if (fields["sampler"] == s).any()
    ]
    if len(chosen) < 2:
        others = fields[~fields["sampler"].isin([c["sampler"] for c in chosen])]
        others = others.drop_duplicates("sampler")
        chosen += [r for _, r in others.iterrows()][: 2 - len(chosen)]
    if len(chosen) < 2:
        raise ValueError(f"Fig. 2 needs two {loss} students on {dataset}; found {len(chosen)}")
    teacher = rows[rows["model"].astype(str) == "teacher"]
    if teacher.empty:
        raise ValueError(f"Fig. 2: no teacher rows on {dataset} in score_at_rank.parquet")
    curves = [("teacher", teacher, "black")]
    for c in chosen:
        curves.append(
            (
                f"{loss} student, {c['sampler']} sampler",
                rows[rows["model"].astype(str) == c["condition"]],
                sampler_colour(str(c["sampler"])),
            )
        )
    fig, ax = new_figure(4.6, 3.4)
    exponents: dict[str, PowerLaw] = {}
    for label, part, colour in curves:
        curve = score_curve(part, label)
        law = fit_power_law(curve)
        exponents[label] = law
        ax.plot(
            curve.rank_ratio,
            curve.score,
            color=colour,
            marker="o",
            markersize=2.5,
            label=f"{label} (b = {law.exponent:.3f})",
        )
        ax.plot(curve.rank_ratio, law(curve.rank_ratio), color=FIT_COLOUR, linestyle="--", lw=1)
    log_axes(ax)
    ax.set_xlabel("rank ratio r / K")
    ax.set_ylabel("mean score at rank (shifted if ≤ 0)")
    ax.set_title(f"Score vs rank ratio, {dataset} (grey: fitted power laws)")
    ax.legend(loc="lower left")
    return fig, exponents


def fig3_training_dynamics(
    logs: pd.DataFrame,
    kappa_by_sampler: Mapping[str, float],
    results: pd.DataFrame | None = None,
    loss: str = "soft_ranknet",
    arch_preference: Sequence[str] = ("cross", "cross-encoder", "cross_encoder"),
):
    """Fig. 3: training KL (log scale, left) and gradient norm (right) over steps per sampler.

    ``logs``: ``condition, seed, step, kl, grad_norm`` (``loss`` used where ``kl`` is NaN); one
    line per sampler = the mean over seeds of the ``loss`` students; κ_Q from
    ``kappa_by_sampler`` in the legend.
    """
    require_columns(logs, ("condition", "seed", "step", "grad_norm"), "logs.parquet")
    fields = condition_fields(logs["condition"].unique(), results)
    fields = fields[fields["loss"] == loss]
    if "subset" in fields and fields["subset"].notna().any():
        fields = _prefer(fields, "subset", ("full", "all"))
    fields = _prefer(fields, "arch", arch_preference)
    if fields.empty:
        raise ValueError(f"Fig. 3: logs.parquet has no {loss} condition")
    fig, (left, right) = new_figure(7.2, 3.0, 1, 2)
    for sampler in sorted(fields["sampler"].dropna().unique()):
        conditions = fields.loc[fields["sampler"] == sampler, "condition"]
        part = logs[logs["condition"].isin(conditions)].copy()
        kl = part["kl"] if "kl" in part else pd.Series(np.nan, index=part.index)
        part["kl_or_loss"] = kl.where(np.isfinite(kl.astype(float)), part.get("loss"))
        mean = part.groupby("step")[["kl_or_loss", "grad_norm"]].mean().sort_index()
        kappa = kappa_by_sampler.get(str(sampler), np.nan)
        label = f"{sampler} (κ_Q n/a)" if np.isnan(kappa) else f"{sampler} (κ_Q = {kappa:.3g})"
        colour = sampler_colour(str(sampler))
        left.plot(mean.index, mean["kl_or_loss"], color=colour, label=label)
        right.plot(mean.index, mean["grad_norm"], color=colour, label=label)
    log_axes(left, x=False)
    left.set_xlabel("step")
    left.set_ylabel("training loss (KL divergence)")
    left.set_title(f"{loss}: training loss")
    right.set_xlabel("step")
    right.set_ylabel("gradient norm ‖∇‖₂")
    right.set_title("student gradient norm")
    left.legend(loc="upper right")
    return fig


def fig4_score_at_rank_grid(
    score_at_rank: pd.DataFrame,
    results: pd.DataFrame | None = None,
    dataset: str = "DL19",
    arch_preference: Sequence[str] = ("cross", "cross-encoder", "cross_encoder"),
):
    """Fig. 4: grid (rows = loss, columns = sampler) of log-log mean score at rank on ``dataset``.

    Students of the preferred architecture (the cross-encoder); the teacher in each panel dashed
    grey for reference. Returns ``(fig, exponents)`` keyed ``(loss, sampler)``.
    """
    rows = _dataset_rows(score_at_rank, dataset)
    fields = _prefer(_students(rows, results), "arch", arch_preference)
    if "subset" in fields and fields["subset"].notna().any():
        fields = _prefer(fields, "subset", ("full", "all"))
    fields = fields.dropna(subset=["loss", "sampler"])
    if fields.empty:
        raise ValueError(f"Fig. 4: no student with a known loss and sampler on {dataset}")
    losses = sorted(fields["loss"].unique())
    samplers = sorted(fields["sampler"].unique())
    fig, axes = new_figure(
        2.0 * len(samplers) + 0.6,
        1.8 * len(losses) + 0.6,
        len(losses),
        len(samplers),
        squeeze=False,
        sharex=True,
    )
    teacher_rows = rows[rows["model"].astype(str) == "teacher"]
    teacher = score_curve(teacher_rows, "teacher") if not teacher_rows.empty else None
    exponents = {}
    for i, loss in enumerate(losses):
        for j, sampler in enumerate(samplers):
            ax = axes[i, j]
            pick = fields[(fields["loss"] == loss) & (fields["sampler"] == sampler)]
            if teacher is not None:
                ax.plot(teacher.rank, teacher.score, color=FIT_COLOUR, ls="--", lw=1)
            if not pick.empty:
                part = rows[rows["model"].astype(str) == pick["condition"].iloc[0]]
                curve = score_curve(part, f"{loss}/{sampler}")
                law = fit_power_law(curve)
                exponents[(loss, sampler)] = law
                ax.plot(curve.rank, curve.score, color=sampler_colour(sampler))
                ax.text(
                    0.95,
                    0.9,
                    f"b={law.exponent:.2f}",
                    transform=ax.transAxes,
                    ha="right",
                    fontsize=7,
                )
            log_axes(ax)
            if i == 0:
                ax.set_title(sampler)
            if j == 0:
                ax.set_ylabel(f"{loss}\nmean score")
            if i == len(losses) - 1:
                ax.set_xlabel("rank")
    fig.suptitle(f"Mean score at rank, {dataset} (rows: loss, columns: sampler; grey: teacher)")
    return fig, exponents
