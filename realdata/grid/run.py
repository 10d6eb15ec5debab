"""Run (or resume) a whole grid: state, learning rates, every cell, baselines, tables, summary.

``run_grid(inputs, preset, out_dir)`` writes under ``out_dir`` (= ``<out>/realdata/grid/<preset>``)
the tables of :mod:`.tables`, ``lr_selection.csv`` when the preset's ``lr`` is ``"auto"``
(:mod:`.lr_selection`), ``entropy_thresholds.json``, ``runs/<condition>.<seed>.<dataset>.run``
and ``summary.json`` (cells, skipped cells with their reason, learned cells and the names of
those that did not learn, seconds, device, learning rates). Finished cells resume only while
``grid.json`` (:mod:`.fingerprint`: the preset and the groups' content) is unchanged.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch
from locent.realdata.grid.baselines import baselines
from locent.realdata.grid.cells import run_cell
from locent.realdata.grid.fingerprint import drop_stale_cells, grid_record
from locent.realdata.grid.inputs import GridInputs
from locent.realdata.grid.lr_selection import learning_rates
from locent.realdata.grid.presets import Preset
from locent.realdata.grid.state import GridState
from locent.realdata.grid.tables import assemble

from locent import results
from locent.progress import progress
from locent.provenance import atomic_write_json
from locent.resources import resolve_device


def run_grid(
    inputs: GridInputs,
    preset: Preset,
    out_dir,
    device: str = "auto",
    resume: bool = True,
    threads: int | None = 1,
) -> dict:
    """Run (or resume) every cell of ``preset`` and assemble the tables; returns their paths.

    ``threads``: torch intra-op threads while the grid runs (default 1: the frozen students are
    tiny and many threads on a small shared machine mostly wait on each other; None: unchanged).
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run_grid(inputs, preset, Path(out_dir), device, resume)
    finally:
        torch.set_num_threads(previous)


def _run_grid(inputs: GridInputs, preset: Preset, out_dir: Path, device, resume: bool) -> dict:
    if not resume and out_dir.exists():
        shutil.rmtree(out_dir)
    device = resolve_device(device)
    drop_stale_cells(out_dir, grid_record(inputs, asdict(preset)))
    conds = preset.conditions()
    state = GridState.build(inputs, preset, conds)
    atomic_write_json(out_dir / "entropy_thresholds.json", state.thresholds)
    t0 = time.perf_counter()
    state.learning_rates = learning_rates(inputs, preset, out_dir, device, state)
    cells = [(c, s) for c in conds for s in preset.seeds]
    for cond, seed in progress(cells, desc=f"grid {preset.name}", unit="run"):
        run_cell(cond, seed, inputs, preset, out_dir, device, state)
    base, base_pq, teacher_sar = baselines(inputs, preset.tau, state)
    paths = assemble(out_dir, cells, base, base_pq, teacher_sar, preset, inputs)
    done = {
        f"{c.name}.{s}": json.loads((out_dir / "cells" / f"{c.name}.{s}" / "done.json").read_text())
        for c, s in cells
    }
    trained = {k: d for k, d in done.items() if "skipped" not in d}
    # cells finished before the flag existed (resumed grids) are counted apart, not as failures
    unflagged = sorted(k for k, d in trained.items() if results.LEARNED not in d)
    not_learned = sorted(
        k for k, d in trained.items() if results.LEARNED in d and not d[results.LEARNED]
    )
    summary = {
        "preset": preset.name,
        "n_cells": len(cells),
        "seconds_this_call": time.perf_counter() - t0,
        "skipped_cells": {k: d["skipped"] for k, d in done.items() if "skipped" in d},
        # "did not learn" (results.LEARNED False): reported here, left out of the checks
        "n_learned_cells": len(trained) - len(not_learned) - len(unflagged),
        "n_not_learned_cells": len(not_learned),
        "not_learned_cells": not_learned,
        "n_cells_without_learned_flag": len(unflagged),
        "learned_threshold": preset.learned_threshold,
        "cell_seconds_total": sum(d["seconds"] for d in done.values()),
        "device": str(device),
        "learning_rates": {
            f"{s}-{a}+{loss}+{sampler}": lr
            for (s, a, loss, sampler), lr in state.learning_rates.items()
        },
        "preset_config": asdict(preset),
    }
    atomic_write_json(out_dir / "summary.json", summary)
    return paths
