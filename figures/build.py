"""Regenerate every figure from the stored results under ``--out`` (``locent figures``).

Each :class:`FigureSpec` names the result files it reads (:class:`locent.results.ResultPaths`)
and a builder ``(inputs) -> (Figure, numbers)``. A figure whose inputs are absent is skipped with
the missing paths listed; a figure whose builder raises is reported as failed with the error.
Nothing is skipped silently: :func:`build_figures` returns a record per figure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from locent.figures.dependence_figures import (
    gap_vs_n,
    risk_gap_vs_locality,
    table1_differences,
)
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
from locent.figures.style import save_figure
from locent.figures.tables import training_rows
from locent.figures.theory_figures import (
    bound_vs_risk,
    locality_entropy_coupling,
    misordering_heatmap,
)

from locent import results as R
from locent.provenance import atomic_write_json
from locent.results import ResultPaths, read_json, read_table


def kappa_by_sampler(samplers: pd.DataFrame, dataset_prefix: str = "msmarco-passage") -> dict:
    """κ_Q per sampler from ``realdata/measure/samplers.csv`` (MS MARCO rows)."""
    rows = training_rows(samplers, dataset_prefix)
    return {str(s): float(k) for s, k in zip(rows[R.SAMPLER], rows[R.KAPPA_Q])}


@dataclass
class FigureSpec:
    """One figure: the :class:`ResultPaths` properties it needs (``inputs``) and may read
    (``optional``), named as strings, and its builder ``ResultPaths -> (Figure, numbers)``."""

    name: str
    title: str
    inputs: tuple[str, ...]
    optional: tuple[str, ...]
    build: Callable[[ResultPaths], tuple]


def _fig2(p: ResultPaths):

    fig, laws = fig2_score_vs_rank_ratio(read_table(p.score_at_rank))
    return fig, {f"exponent[{k}]": v.exponent for k, v in laws.items()}


def _fig3(p: ResultPaths):

    if p.samplers.is_file():
        kappas = kappa_by_sampler(read_table(p.samplers))
    elif p.grid_results.is_file():
        results = read_table(p.grid_results)
        kappas = results.groupby(R.SAMPLER)[R.KAPPA_Q].first().astype(float).to_dict()
    else:
        kappas = {}
    fig = fig3_training_dynamics(read_table(p.grid_logs), kappas)
    return fig, {f"kappa_Q[{k}]": v for k, v in kappas.items()}


def _fig4(p: ResultPaths):

    fig, laws = fig4_score_at_rank_grid(read_table(p.score_at_rank))
    return fig, {f"exponent[{lo}/{s}]": v.exponent for (lo, s), v in laws.items()}


def _bound(p: ResultPaths):

    fig, soundness = bound_vs_risk(read_table(p.sim_table))
    return fig, {f"bound_holds_fraction[{k}]": v for k, v in soundness.items()}


def _heatmap(p: ResultPaths):

    fig, _ = misordering_heatmap(read_table(p.sim_table))
    return fig, {}


def _coupling(p: ResultPaths):

    per_query = None
    if p.measure_per_query.is_file():
        per_query = read_table(p.measure_per_query)
        per_query = training_rows(per_query)
    return locality_entropy_coupling(read_table(p.sim_table), per_query), {}


def _violins(p: ResultPaths):
    fig, infinite = sampler_violins(read_table(p.measure_per_query))
    return fig, {f"kappa_infinite[{k}]": v for k, v in infinite.items()}


def _table1(p: ResultPaths):
    per_query = read_table(p.grid_per_query) if p.grid_per_query.is_file() else None
    table = effectiveness_table(read_table(p.grid_results), per_query)
    baselines = baseline_means(per_query) if per_query is not None else None
    return table1_effectiveness(table, baselines=baselines), {
        f"nDCG@10[{r.dataset}/{r.loss}/{r.sampler}]": r.mean for r in table.itertuples()
    }


def _risk_gap(p: ResultPaths):
    cells = read_table(p.dependence_cells)
    # the entropy knob's fixed sampler: the sampler its re-scored levels share
    bases = sorted(set(cells.loc[cells["knob"] == "entropy", "knob_sampler"]))
    return risk_gap_vs_locality(cells, read_table(p.dependence_fit), bases[0] if bases else None)


def _gap_n(p: ResultPaths):
    return gap_vs_n(read_table(p.dependence_cells))


def _table1_diff(p: ResultPaths):
    return table1_differences(read_table(p.grid_per_query))


FIGURES: tuple[FigureSpec, ...] = (
    # name, title, inputs, optional inputs (ResultPaths properties), builder
    FigureSpec(
        "fig2_score_vs_rank_ratio",
        "Fig. 2: score vs rank ratio (DL19)",
        ("score_at_rank",),
        (),
        _fig2,
    ),
    FigureSpec(
        "fig3_training_dynamics",
        "Fig. 3: training KL and gradient norm",
        ("grid_logs",),
        ("samplers", "grid_results"),
        _fig3,
    ),
    FigureSpec(
        "fig4_score_at_rank_grid",
        "Fig. 4: mean score at rank, loss × sampler (DL19)",
        ("score_at_rank",),
        (),
        _fig4,
    ),
    FigureSpec(
        "bound_vs_risk",
        "Theorem 2.1 (ii)/(iii): bound vs true risk (simulation)",
        ("sim_table",),
        (),
        _bound,
    ),
    FigureSpec(
        "misordering_heatmap",
        "Test misordering over (Δ̂_Q, H(g)) (simulation)",
        ("sim_table",),
        (),
        _heatmap,
    ),
    FigureSpec(
        "locality_entropy_coupling",
        "Locality–entropy coupling with the Lemma B floor",
        ("sim_table",),
        ("measure_per_query",),
        _coupling,
    ),
    FigureSpec(
        "sampler_violins",
        "Δ̂_q, H_q, κ_q per sampler (MS MARCO)",
        ("measure_per_query",),
        (),
        _violins,
    ),
    FigureSpec(
        "table1_effectiveness",
        "Table 1 analogue: nDCG@10 with 95% CIs",
        ("grid_results",),
        ("grid_per_query",),
        _table1,
    ),
    FigureSpec(
        "table1_differences",
        "Table 1 as differences: nDCG@10 − BM25 sampler, 95% CIs over queries",
        ("grid_per_query",),
        (),
        _table1_diff,
    ),
    FigureSpec(
        "risk_gap_vs_locality",
        "Real data: gap vs Δ̂_Q/√n (colour H(g)) and misordering floor vs H(g), with fits",
        ("dependence_cells", "dependence_fit"),
        (),
        _risk_gap,
    ),
    FigureSpec(
        "gap_vs_n",
        "Real data: estimation gap vs n at several Δ̂_Q",
        ("dependence_cells",),
        (),
        _gap_n,
    ),
)


@dataclass
class FigureRecord:
    """What happened to one figure: ``status`` is ``written``, ``missing`` or ``failed``."""

    name: str
    title: str
    status: str
    files: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    numbers: dict = field(default_factory=dict)


def build_figures(
    out: str | os.PathLike,
    figure_dir: str | os.PathLike | None = None,
    sim_preset: str | None = None,
    grid_preset: str | None = None,
    only: Sequence[str] | None = None,
) -> list[FigureRecord]:
    """Build every figure whose inputs exist; write PNG+PDF to ``figure_dir`` (``<out>/figures``)
    and ``figures/index.json`` (the records)."""
    paths = ResultPaths.locate(out, sim_preset, grid_preset)
    figure_dir = Path(figure_dir) if figure_dir else paths.figures
    unknown = set(only or ()) - {s.name for s in FIGURES}
    if unknown:
        raise ValueError(f"unknown figure(s) {sorted(unknown)}; known: {[s.name for s in FIGURES]}")
    records = []
    for spec in FIGURES:
        if only and spec.name not in only:
            continue
        needed = paths.files(spec.inputs)
        record = FigureRecord(
            spec.name,
            spec.title,
            "missing",
            inputs=[str(p) for p in paths.files(spec.inputs + spec.optional) if p.is_file()],
        )
        record.missing = [str(p) for p in needed if not p.is_file()]
        if not record.missing:
            try:
                fig, numbers = spec.build(paths)
            except Exception as err:  # one bad figure must not stop the others; it is reported
                record.status, record.error = "failed", f"{type(err).__name__}: {err}"
            else:
                written = save_figure(fig, figure_dir, spec.name)
                record.status = "written"
                record.files = [str(written["png"]), str(written["pdf"])]
                record.numbers = {k: float(v) for k, v in numbers.items()}
        records.append(record)
    index = {r.name: r.__dict__ for r in records}
    if only and (figure_dir / "index.json").is_file():  # keep the records of figures not rebuilt
        previous = {r["name"]: r for r in read_json(figure_dir / "index.json")}
        index = {**previous, **index}
    order = [s.name for s in FIGURES]
    atomic_write_json(
        figure_dir / "index.json", sorted(index.values(), key=lambda r: order.index(r["name"]))
    )
    return records
