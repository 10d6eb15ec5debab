"""Labelled training on real data: the labelled plans, prepared and run through the ``labelled``
grid preset, into one table.

The labelled plans (:data:`locent.realdata.prepare.LABELLED_PLANS`) train where judged positives
exist and test on queries the training never saw:

- ``msmarco-cross-year``: train on TREC DL 2019 judged (43 queries; every one has a judged
  passage in the offline 28,606-passage subset, so its groups' positives come from qrels), test
  on DL 2020 judged (the grid's ``dl20`` set: shipped BM25 top-100, teacher-scored);
- ``vaswani-split`` / ``cranfield-split``: train on the ``train`` half, test on the ``test``
  half of a :mod:`~locent.realdata.splits` query split (test fraction 0.5, seed 0).

:func:`labelled_stage` prepares each plan (reused when prepared with the same inputs; no knobs,
no run sources: the knob samplers would cost nothing new for Cranfield but the plans would grow
the corpus-wide work) and runs the ``labelled`` preset on it into ``<out>/realdata/labelled/
<plan>/`` (the grid's own files), then writes:

- ``<out>/realdata/labelled/results.csv``: the grids' ``results.csv`` rows with ``plan``
  first, and per row the LCE positive's source over the cell's training groups
  (:data:`POSITIVE_SOURCE`: ``qrels``, ``teacher_top`` or ``mixed``; :data:`POSITIVE_QRELS_SHARE`
  the fraction from qrels), so reports set qrels-LCE apart from teacher-top LCE. ``kappa_Q`` is
  blanked (NaN) when ``realdata/measure/samplers.csv`` holds no row of the plan's training
  dataset (the grid would otherwise read another dataset's κ);
- ``summary.json``: per plan the seconds (prepare, grid, total), cells learned / not learned /
  skipped, the positive-source counts per sampler (all groups, and the training groups), the
  split records (:func:`locent.realdata.splits.split_record`) and the disjointness check.

No test query reaches training or learning-rate choice: the grid reads only the plan's training
groups (its learning rate is chosen on held-out *training* queries,
:mod:`locent.realdata.grid.lr_selection`), and :func:`check_disjoint` refuses, before any
training, a plan whose training group queries meet its test queries.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata import datasets, splits
from locent.realdata.encoders import DEFAULT_ENCODER, slug
from locent.realdata.grid.inputs import read_sampler_measures
from locent.realdata.grid.run import run_grid
from locent.realdata.grid.state import heldout_mask
from locent.realdata.prepare import (
    DEFAULT_TEST_QUERIES,
    DEFAULT_TRAIN_QUERIES,
    LABELLED_PLANS,
    Plan,
    resolve_plan,
)
from locent.realdata.store import read_groups
from locent.realdata.teachers import DEFAULT_TEACHER

from locent import results
from locent.provenance import atomic_write_json, provenance_record, write_with_provenance
from locent.results import DEFAULT_OUT

#: the preset the stage runs (:data:`locent.realdata.grid.presets.PRESETS`)
PRESET = "labelled"
#: columns added to the grid rows: the plan, and the LCE positive's source per cell
PLAN = "plan"
POSITIVE_SOURCE = "positive_source"
POSITIVE_QRELS_SHARE = "positive_qrels_share"
#: grid test-set name of a plan's test dataset when the grid knows it under a name of its own
#: (``dl20``: the shipped BM25 top-100 candidates and teacher scores); else the ID's slug
KNOWN_TEST_SETS = {datasets.DL19: "dl19", datasets.DL20: "dl20"}


@dataclass(frozen=True)
class LabelledParams:
    """``locent realdata labelled``: prepare and grid every labelled plan (``None`` = the
    preset's value; ``queries=0`` / ``test_queries=0`` mean all)."""

    out: Path = Path(DEFAULT_OUT)
    seed: int = 0
    device: str = "auto"
    plans: tuple[str, ...] = tuple(LABELLED_PLANS)
    queries: int = DEFAULT_TRAIN_QUERIES
    test_queries: int = DEFAULT_TEST_QUERIES
    samplers: tuple[str, ...] | None = None
    steps: int | None = None
    threads: int = 1
    fresh: bool = False
    teacher: str = DEFAULT_TEACHER
    encoder: str = DEFAULT_ENCODER
    dense_source: str = "corpus"
    precision: str = "auto"
    #: test sets the teacher scores (teacher agreement on test); None = every plan's test sets
    teacher_sets: tuple[str, ...] | None = None


def test_set_names(plan: Plan) -> tuple[str, ...]:
    """The grid's test-set names of ``plan``'s tests (``dl20`` for DL20, else the ID's slug)."""
    return tuple(KNOWN_TEST_SETS.get(t, slug(t)) for t in plan.tests)


def check_disjoint(plan: Plan, group_dir: Path, samplers) -> dict:
    """Refuse (``ValueError``, naming the plan and the first shared id) training groups whose
    queries are test queries of ``plan``; returns the counts checked."""
    test_ids = {q for t in plan.tests for q in datasets.queries(t)}
    train_ids = set()
    for s in samplers:
        train_ids |= set(map(str, read_groups(group_dir / f"{s}.parquet").query_ids))
    shared = sorted(train_ids & test_ids)
    if shared:
        raise ValueError(
            f"plan {plan.name!r}: {len(shared)} training group queries are test queries of "
            f"{plan.tests} (first {shared[0]!r}); a labelled plan must not test on its training"
        )
    return {"n_train_queries": len(train_ids), "n_test_queries": len(test_ids), "n_shared": 0}


def positive_sources(group_dir: Path, samplers, heldout_frac: float) -> dict:
    """Per sampler: counts of ``positive_source`` over all groups and over the training groups
    (the grid's held-out tenth removed, :func:`locent.realdata.grid.state.heldout_mask`)."""
    out = {}
    for s in samplers:
        g = read_groups(group_dir / f"{s}.parquet")
        train = ~heldout_mask(g.query_ids, heldout_frac)
        src = pd.Series(g.positive_source.astype(str))
        out[s] = {
            "all": src.value_counts().to_dict(),
            "train": src[train].value_counts().to_dict(),
            "qrels_share_train": float((src[train] == "qrels").mean()) if train.any() else np.nan,
        }
    return out


def _source_label(share: float) -> str:
    if not np.isfinite(share):
        return "none"
    return "qrels" if share == 1 else "teacher_top" if share == 0 else "mixed"


def _prepare(p: LabelledParams, plan_name: str, samplers) -> float:
    """Prepare one plan (reused when current); returns its seconds."""
    from locent.realdata.stages import PrepareParams, prepare_stage

    start = time.perf_counter()
    prepare_stage(
        PrepareParams(
            out=p.out,
            seed=p.seed,
            device=p.device,
            datasets=(plan_name,),
            samplers=tuple(samplers),
            queries=p.queries,
            test_queries=p.test_queries,
            run_queries=0,
            dense_source=p.dense_source,
            precision=p.precision,
            teacher=p.teacher,
            encoder=p.encoder,
            knobs=(),
        )
    )
    return time.perf_counter() - start


def _grid(p: LabelledParams, plan: Plan, out_dir: Path) -> tuple[dict, float]:
    """Run the labelled preset on ``plan`` into ``out_dir``; returns (summary, seconds)."""
    from locent.realdata.stages import GridParams, grid_inputs, grid_preset

    start = time.perf_counter()
    names = test_set_names(plan)
    gp = GridParams(
        out=p.out,
        seed=p.seed,
        device=p.device,
        preset=PRESET,
        fresh=p.fresh,
        samplers=p.samplers,
        steps=p.steps,
        threads=p.threads,
        test_sets=names,
        teacher_sets=p.teacher_sets if p.teacher_sets is not None else names,
        train=plan.name,
    )
    preset = grid_preset(gp)
    inputs = grid_inputs(gp, preset.needed_samplers(), sorted({s for s, _ in preset.students}))
    run_grid(inputs, preset, out_dir, device=p.device, resume=not p.fresh, threads=p.threads)
    summary = json.loads((out_dir / "summary.json").read_text())
    return summary, time.perf_counter() - start


def _rows(plan: Plan, out_dir: Path, sources: dict, measures) -> pd.DataFrame:
    table = pd.read_csv(out_dir / "results.csv")
    share = table[results.SAMPLER].map(lambda s: sources[s]["qrels_share_train"])
    table.insert(0, PLAN, plan.name)
    table[POSITIVE_QRELS_SHARE] = share
    table[POSITIVE_SOURCE] = share.map(_source_label)
    has_kappa = (
        measures is not None
        and "dataset" in measures.columns
        and (measures["dataset"] == plan.train).any()
    )
    if not has_kappa:  # the grid falls back to another dataset's κ: not this plan's
        table[results.KAPPA_Q] = np.nan
    return table


def labelled_stage(p: LabelledParams) -> str:
    """Prepare (if needed) and grid every labelled plan; write the combined table and summary.
    Returns a one-line summary."""
    from locent.realdata.grid.presets import PRESETS

    unknown = [n for n in p.plans if n not in LABELLED_PLANS]
    if unknown:
        raise ValueError(
            f"unknown labelled plan {unknown[0]!r}; choose from {tuple(LABELLED_PLANS)}"
        )
    preset = PRESETS[PRESET]
    samplers = tuple(p.samplers or preset.samplers)
    base = Path(p.out) / "realdata" / "labelled"
    datasets.ensure_irds_home(p.out)
    tables, summary = [], {"preset": PRESET, "plans": {}}
    start = time.perf_counter()
    for name in p.plans:
        plan = resolve_plan(name, p.out)
        prepare_s = _prepare(p, name, samplers)
        group_dir = plan.groups_dir(p.out)
        disjoint = check_disjoint(plan, group_dir, samplers)
        grid, grid_s = _grid(p, plan, base / name)
        sources = positive_sources(group_dir, samplers, preset.heldout_frac)
        tables.append(_rows(plan, base / name, sources, read_sampler_measures(p.out)))
        summary["plans"][name] = {
            "train": plan.train,
            "tests": list(plan.tests),
            "test_sets": list(test_set_names(plan)),
            "splits": {
                d: splits.split_record(d) for d in (plan.train, *plan.tests) if splits.is_split(d)
            },
            "seconds": {
                "prepare": round(prepare_s, 1),
                "grid": round(grid_s, 1),
                "total": round(prepare_s + grid_s, 1),
            },
            "n_cells": grid["n_cells"],
            "n_learned_cells": grid["n_learned_cells"],
            "n_not_learned_cells": grid["n_not_learned_cells"],
            "not_learned_cells": grid["not_learned_cells"],
            "skipped_cells": grid["skipped_cells"],
            "learning_rates": grid["learning_rates"],
            "positive_source": sources,
            "disjoint": disjoint,
        }
    table = pd.concat(tables, ignore_index=True)
    summary["seconds_total"] = round(time.perf_counter() - start, 1)
    write_with_provenance(
        table,
        base / "results.csv",
        stage="labelled",
        plans=list(p.plans),
        preset=PRESET,
        params={k: str(v) for k, v in dataclasses.asdict(p).items()},
    )
    atomic_write_json(base / "summary.json", provenance_record(**summary))
    learned = sum(s["n_learned_cells"] for s in summary["plans"].values())
    cells = sum(s["n_cells"] for s in summary["plans"].values())
    per_plan = ", ".join(f"{n} {s['seconds']['total']:.0f} s" for n, s in summary["plans"].items())
    return (
        f"labelled: {len(p.plans)} plans, {learned} of {cells} cells learned; {per_plan}; "
        f"{base / 'results.csv'}"
    )
