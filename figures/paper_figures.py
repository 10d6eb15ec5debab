"""The paper's Figures 2, 3 and 4 on our real-data results (results in, Figure out).

Inputs are the grid's tidy tables (:class:`locent.results.ResultPaths`): ``score_at_rank.parquet``
(the condition columns student, arch, loss, sampler, subset, seed, or ``system`` = ``teacher`` on
the teacher's rows; ``dataset, query_id, rank, score``) and ``logs.parquet`` (the condition
columns, ``step, step_loss, kl, grad_norm, lr``). A student is found by its condition columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from locent.figures.score_at_rank import PowerLaw, fit_power_law, score_curve
from locent.figures.style import log_axes, new_figure, sampler_colour
from locent.figures.tables import (
    CONDITION_FIELDS,
    baseline_rows,
    conditions,
    is_dataset,
    require_columns,
    trained_rows,
)

from locent import results as R

FIT_COLOUR = "0.55"
SAR = "score_at_rank.parquet"
#: the architecture the paper's figures show (the cross-encoder), when the grid trained it
PREFERRED_ARCH = ("cross",)


def _of(rows: pd.DataFrame, condition: pd.Series) -> pd.DataFrame:
    """The rows of ``rows`` (every seed) of one condition (a row of :func:`conditions`)."""
    mask = np.ones(len(rows), dtype=bool)
    for column in CONDITION_FIELDS:
        mask &= (rows[column].astype(str) == str(condition[column])).to_numpy()
    return rows[mask]


def _dataset_rows(score_at_rank: pd.DataFrame, dataset: str) -> pd.DataFrame:
    require_columns(score_at_rank, (R.DATASET, R.QUERY_ID, R.RANK, R.SCORE), SAR)
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
    dataset: str = "DL19",
    loss: str = "soft_ranknet",
    samplers: Sequence[str] = ("bm25", "teacher"),
    arch_preference: Sequence[str] = PREFERRED_ARCH,
):
    """Fig. 2: mean score vs rank ratio (log-log) of the teacher and two ``loss`` students.

    The two students are those trained with ``samplers`` (the first two ``loss`` students of other
    samplers when these are absent). Fitted power laws are drawn in grey.
    Returns ``(fig, exponents)`` with ``exponents[label] = PowerLaw``.
    """
    rows = _dataset_rows(score_at_rank, dataset)
    students = trained_rows(rows, SAR)
    fields = conditions(students)
    fields = fields[fields[R.LOSS] == loss]
    fields = _prefer(fields, R.SUBSET, (R.FULL_SUBSET,))
    fields = _prefer(fields, R.ARCH, arch_preference)
    chosen = [
        fields[fields[R.SAMPLER] == s].iloc[0] for s in samplers if (fields[R.SAMPLER] == s).any()
    ]
    if len(chosen) < 2:
        others = fields[~fields[R.SAMPLER].isin([c[R.SAMPLER] for c in chosen])]
        others = others.drop_duplicates(R.SAMPLER)
        chosen += [r for _, r in others.iterrows()][: 2 - len(chosen)]
    if len(chosen) < 2:
        raise ValueError(f"Fig. 2 needs two {loss} students on {dataset}; found {len(chosen)}")
    teacher = baseline_rows(rows, "teacher")
    if teacher.empty:
        raise ValueError(f"Fig. 2: no teacher rows on {dataset} in score_at_rank.parquet")
    curves = [("teacher", teacher, "black")]
    for c in chosen:
        curves.append(
            (
                f"{loss} student, {c['sampler']} sampler",
                _of(students, c),
                sampler_colour(str(c[R.SAMPLER])),
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
    loss: str = "soft_ranknet",
    arch_preference: Sequence[str] = PREFERRED_ARCH,
):
    """Fig. 3: training KL (log scale, left) and gradient norm (right) over steps per sampler.

    ``logs``: the condition columns, ``step, kl, grad_norm`` (``step_loss`` used where ``kl`` is
    NaN); one line per sampler = the mean over seeds of the ``loss`` students; κ_Q from
    ``kappa_by_sampler`` in the legend.
    """
    logs = trained_rows(logs, "logs.parquet")
    require_columns(logs, (R.STEP, R.GRAD_NORM), "logs.parquet")
    fields = conditions(logs)
    fields = fields[fields[R.LOSS] == loss]
    fields = _prefer(fields, R.SUBSET, (R.FULL_SUBSET,))
    fields = _prefer(fields, R.ARCH, arch_preference)
    if fields.empty:
        raise ValueError(f"Fig. 3: logs.parquet has no {loss} condition")
    fig, (left, right) = new_figure(7.2, 3.0, 1, 2)
    for sampler in sorted(fields[R.SAMPLER].unique()):
        part = pd.concat(
            [_of(logs, c) for _, c in fields[fields[R.SAMPLER] == sampler].iterrows()]
        ).copy()
        kl = part[R.KL] if R.KL in part else pd.Series(np.nan, index=part.index)
        part["kl_or_loss"] = kl.where(np.isfinite(kl.astype(float)), part.get(R.STEP_LOSS))
        mean = part.groupby(R.STEP)[["kl_or_loss", R.GRAD_NORM]].mean().sort_index()
        kappa = kappa_by_sampler.get(str(sampler), np.nan)
        shown = "n/a" if np.isnan(kappa) else "∞" if np.isinf(kappa) else f"{kappa:.3g}"
        label = f"{sampler} (κ_Q = {shown})"
        colour = sampler_colour(str(sampler))
        left.plot(mean.index, mean["kl_or_loss"], color=colour, label=label)
        right.plot(mean.index, mean[R.GRAD_NORM], color=colour, label=label)
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
    dataset: str = "DL19",
    arch_preference: Sequence[str] = PREFERRED_ARCH,
):
    """Fig. 4: grid (rows = loss, columns = sampler) of log-log mean score at rank on ``dataset``.

    Students of the preferred architecture (the cross-encoder); the teacher in each panel dashed
    grey for reference. Returns ``(fig, exponents)`` keyed ``(loss, sampler)``.
    """
    rows = _dataset_rows(score_at_rank, dataset)
    students = trained_rows(rows, SAR)
    fields = _prefer(conditions(students), R.ARCH, arch_preference)
    fields = _prefer(fields, R.SUBSET, (R.FULL_SUBSET,))
    if fields.empty:
        raise ValueError(f"Fig. 4: no student on {dataset} in {SAR}")
    losses = sorted(fields[R.LOSS].unique())
    samplers = sorted(fields[R.SAMPLER].unique())
    fig, axes = new_figure(
        2.0 * len(samplers) + 0.6,
        1.8 * len(losses) + 0.6,
        len(losses),
        len(samplers),
        squeeze=False,
        sharex=True,
    )
    teacher_rows = baseline_rows(rows, "teacher")
    teacher = score_curve(teacher_rows, "teacher") if not teacher_rows.empty else None
    exponents = {}
    for i, loss in enumerate(losses):
        for j, sampler in enumerate(samplers):
            ax = axes[i, j]
            pick = fields[(fields[R.LOSS] == loss) & (fields[R.SAMPLER] == sampler)]
            if teacher is not None:
                ax.plot(teacher.rank, teacher.score, color=FIT_COLOUR, ls="--", lw=1)
            if not pick.empty:
                part = _of(students, pick.iloc[0])
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
