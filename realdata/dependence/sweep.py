"""Train the dependence sweep: every knob level × seed (and the n axis) with the grid's cell runner.

Learning rates by the grid's declared rule (:mod:`locent.realdata.grid.lr_selection`: held-out
*training* queries, validation misordering against the teacher), per the design's
``lr_per_level``: one rate per level, each chosen on that level's own training groups (every
training distribution ν and every teacher variant's loss scale gets the rate that fits it: the
sweep then compares what each level's student can reach, closer to the theorem's ERM f̂), or
one rate for the whole sweep, chosen on the base level of the entropy knob (the same optimiser
for every level). Budget and steps are equal across levels either way.

Writes under ``out_dir`` (= ``<out>/realdata/dependence/<design>``): ``cells/`` (one folder per
cell, resumable, as in the grid), ``lr_selection.csv``, ``cells.csv`` (one row per cell × test
set: the grid's result columns (``n_train`` among them) plus the knob record ``knob,
knob_sampler, teacher_variant`` and ``estimation_gap`` = held-out − training risk) and
``summary.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from locent.realdata.dependence.design import (
    ENTROPY,
    KnobLevel,
    SweepDesign,
    n_subset,
    parse_n_subset,
)
from locent.realdata.features import GroupData
from locent.realdata.grid.cells import run_cell
from locent.realdata.grid.fingerprint import drop_stale_cells, grid_record
from locent.realdata.grid.inputs import GridInputs
from locent.realdata.grid.lr_selection import learning_rates
from locent.realdata.grid.state import GridState, SamplerSplit, eval_data, heldout_mask

from locent import results
from locent.progress import progress
from locent.provenance import atomic_write_json, write_with_provenance
from locent.resources import resolve_device

#: ``cells.csv``: the knob record of each cell (beside the grid's result columns)
KNOB = "knob"
KNOB_SAMPLER = "knob_sampler"


def sweep_state(inputs: GridInputs, levels: list[KnobLevel], design: SweepDesign) -> GridState:
    """Per level: the held-out share (CRC32 of the query id, as the grid), the training groups,
    and the nested n-axis masks (the first n training queries in a seeded order: every level and
    every seed of one n sees the same queries)."""
    feats = inputs.features[design.student[0]]
    splits = {}
    for lv in levels:
        g = inputs.groups[lv.label]
        held = heldout_mask(g.query_ids, design.heldout_frac)
        if held.all() or not held.any():
            raise ValueError(
                f"dependence level {lv.label}: held-out fraction {design.heldout_frac} leaves "
                f"{int((~held).sum())} training and {int(held.sum())} held-out queries"
            )
        train = GroupData.from_groups(g.subset(~held), feats)
        order = np.random.default_rng([design.seeds[0], 17]).permutation(train.n)
        masks = {}
        for frac in design.n_fractions:
            n = max(4, int(round(frac * train.n)))
            mask = np.zeros(train.n, dtype=bool)
            mask[order[:n]] = True
            masks[n_subset(n)] = mask
        splits[lv.label] = SamplerSplit(train, GroupData.from_groups(g.subset(held), feats), masks)
    resolved = {
        (design.student[0], es.name): eval_data(es, inputs.features[design.student[0]])
        for es in inputs.eval_sets
    }
    return GridState(splits, resolved, {})


def choose_learning_rate(inputs, levels, design, out_dir: Path, device, state) -> float:
    """The grid's ``lr="auto"`` rule on one reference level: the entropy knob's base sampler
    when present (the middle of the locality range), else the middle locality level."""
    labels = [lv.label for lv in levels]
    base = next((lv.sampler for lv in levels if lv.knob == ENTROPY), None)
    reference = base if base in labels else labels[len(labels) // 2]
    preset = design.grid_preset("auto", (reference,))
    rates = learning_rates(inputs, preset, out_dir, device, state)
    return float(rates[(*design.student, design.loss, reference)])


def run_sweep(
    inputs: GridInputs,
    levels: list[KnobLevel],
    design: SweepDesign,
    out_dir,
    device="auto",
    resume: bool = True,
    threads: int | None = 1,
) -> pd.DataFrame:
    """Train and evaluate every cell of the sweep; write and return ``cells.csv``."""
    out_dir = Path(out_dir)
    if not resume and out_dir.exists():
        shutil.rmtree(out_dir)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run(inputs, levels, design, out_dir, resolve_device(device))
    finally:
        torch.set_num_threads(previous)


def _run(inputs, levels, design, out_dir: Path, device) -> pd.DataFrame:
    t0 = time.perf_counter()
    state = sweep_state(inputs, levels, design)
    labels = [lv.label for lv in levels]
    # finished cells resume only under the same design, levels and groups (the learning rate
    # follows from them: its table has its own rule check)
    drop_stale_cells(out_dir, grid_record(inputs, {**asdict(design), "levels": labels}))
    if design.lr_per_level:
        preset = design.grid_preset("auto", labels)
        state.learning_rates = learning_rates(inputs, preset, out_dir, device, state)
    else:
        rate = choose_learning_rate(inputs, levels, design, out_dir, device, state)
        preset = design.grid_preset(rate, labels)
        state.learning_rates = {(*design.student, design.loss, s): rate for s in labels}
    lr = {key[3]: rate for key, rate in state.learning_rates.items()}  # level → rate
    conds = design.conditions(levels, {s: state.splits[s].train.n for s in labels})
    cells = [(c, s) for c in conds for s in design.seeds]
    for cond, seed in progress(cells, desc=f"dependence {design.name}", unit="run"):
        run_cell(cond, seed, inputs, preset, out_dir, device, state)
    table = collect(out_dir, cells, levels)
    write_with_provenance(
        table,
        out_dir / "cells.csv",
        design=design.name,
        lr=lr,
        levels=[vars(lv) for lv in levels],
        **inputs.provenance,
    )
    done = [
        json.loads((out_dir / "cells" / f"{c.name}.{s}" / "done.json").read_text())
        for c, s in cells
    ]
    learned = [d for d in done if d.get(results.LEARNED)]
    atomic_write_json(
        out_dir / "summary.json",
        {
            "design": design.name,
            "n_cells": len(cells),
            "n_levels": len(levels),
            "n_learned_cells": len(learned),
            "n_not_learned_cells": len(done) - len(learned),
            "lr": lr,
            "seconds_this_call": time.perf_counter() - t0,
            "device": str(device),
        },
    )
    return table


def collect(out_dir: Path, cells, levels) -> pd.DataFrame:
    """``cells.csv``: every cell's result rows with its knob record and estimation gap."""
    by_label = {lv.label: lv for lv in levels}
    frames = []
    for cond, seed in cells:
        path = out_dir / "cells" / f"{cond.name}.{seed}" / "results.parquet"
        frame = pd.read_parquet(path)
        lv = by_label[cond.sampler]
        parse_n_subset(cond.subset)  # a malformed subset is an error, not a silent full set
        frames.append(
            frame.assign(
                **{
                    KNOB: lv.knob,
                    KNOB_SAMPLER: lv.sampler,
                    results.TEACHER_VARIANT: lv.teacher_variant,
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table[results.ESTIMATION_GAP] = table["heldout_risk"] - table["train_risk"]
    return table
