"""What a run covered, said above the verdicts: the scope banner and the failed-stages banner.

The scope banner answers in one glance the questions a reader has before trusting a verdict:
which presets ran (``smoke`` = ``locent run --quick``), how many training and test queries and
seeds, whether the students moved away from their initialisation at all, and on which hardware.
Every fact is read from the result files (nothing is assumed); a fact whose file is absent is
said to be "not measured" / "not recorded".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from locent.figures.tables import dataset_label, trained_rows, training_rows

from locent import results as R
from locent.results import ResultPaths

#: The preset of ``locent run --quick`` (simulation and grid).
QUICK_PRESET = "smoke"
#: The grid's baselines.csv row with the student initialisation's misordering against the
#: teacher (the frozen bilinear student starts as the encoder's cosine similarity).
INITIAL_MISORDERING_SYSTEM = "encoder_cosine:misordering_vs_teacher"
#: Students whose initial ranking is that of ``INITIAL_MISORDERING_SYSTEM``.
COSINE_INITIALISED = ("frozen", "bi")
#: |trained − initial| misordering below this is reported as "barely moved" (one point).
MOVED = 0.01


@dataclass(frozen=True)
class Fact:
    label: str
    text: str
    warn: bool = False  # drawn in bold: the run is small or the students did not learn


def _read(path: Path) -> pd.DataFrame | None:
    try:
        return R.read_table(path) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def preset_fact(paths: ResultPaths) -> Fact:
    present = []
    if paths.sim_summary.parent.is_dir():
        present.append(f"simulation `{paths.sim_preset}`")
    if paths.grid.is_dir():
        present.append(f"grid `{paths.grid_preset}`")
    if not present:
        return Fact("Run", "no simulation or grid results", warn=True)
    quick = QUICK_PRESET in {
        p
        for p, d in ((paths.sim_preset, paths.sim_summary.parent), (paths.grid_preset, paths.grid))
        if d.is_dir()
    }
    kind = "QUICK run (smoke presets: minutes, not the paper's scale)" if quick else "full run"
    return Fact("Run", f"{kind}; presets: {', '.join(present)}", warn=quick)


def queries_fact(paths: ResultPaths) -> Fact:
    parts = []
    results = _read(paths.grid_results)
    if results is not None and "n_train" in results.columns:
        full = results[results[R.SUBSET].astype(str) == R.FULL_SUBSET]
        n = (full if len(full) else results)["n_train"].dropna().astype(int)
        if len(n):
            span = f"{n.min()}" if n.min() == n.max() else f"{n.min()}–{n.max()}"
            cuts = " (full set; the entropy cuts fewer)" if len(full) < len(results) else ""
            parts.append(f"students trained on {span} training queries{cuts}")
    measure = _read(paths.measure_per_query)
    if measure is not None and R.QUERY_ID in measure.columns and R.DATASET in measure.columns:
        train = training_rows(measure)
        if len(train):
            parts.append(f"samplers measured on {train[R.QUERY_ID].nunique()} training queries")
    per_query = _read(paths.grid_per_query)
    if per_query is not None:
        try:
            pq = trained_rows(per_query, "grid per_query.parquet")
        except ValueError:
            pq = per_query.iloc[0:0]
        if len(pq):
            counts = pq.groupby(pq[R.DATASET].astype(str).map(dataset_label))[R.QUERY_ID].nunique()
            parts.append("test " + ", ".join(f"{d} {n}" for d, n in counts.items()) + " queries")
    if not parts:
        return Fact("Queries", "not measured (no grid or measure results)", warn=True)
    small = results is not None and "n_train" in results.columns and results["n_train"].max() < 100
    return Fact("Queries", "; ".join(parts), warn=bool(small))


def seeds_fact(paths: ResultPaths) -> Fact:
    parts = []
    results = _read(paths.grid_results)
    if results is not None and R.SEED in results.columns:
        seeds = sorted(int(s) for s in results[R.SEED].dropna().unique())
        parts.append(f"grid {len(seeds)} ({', '.join(map(str, seeds))})")
    sim = _read(paths.sim_table)
    if sim is not None and R.SEED in sim.columns:
        parts.append(f"simulation {sim[R.SEED].nunique()}")
    if not parts:
        return Fact("Seeds", "not recorded")
    return Fact("Seeds", "; ".join(parts))


def learned_fact(paths: ResultPaths) -> Fact:
    """Did training move the students? Their misordering against the teacher on the test
    candidates after training, against the same quantity at initialisation (the encoder's
    cosine, which is where the frozen bilinear student starts), per test set."""
    label = "Students"
    results = _read(paths.grid_results)
    baselines = _read(paths.grid / "baselines.csv")
    if results is None or baselines is None or R.MISORDERING not in results.columns:
        return Fact(label, "not measured")
    initial = baselines[baselines["system"].astype(str) == INITIAL_MISORDERING_SYSTEM]
    student, arch = COSINE_INITIALISED
    trained = results[(results[R.STUDENT] == student) & (results[R.ARCH] == arch)]
    if initial.empty or trained.empty or R.MISORDERING not in initial.columns:
        return Fact(label, "not measured")
    notes, moved = [], []
    for ds, rows in trained.groupby(R.DATASET):
        start = initial.loc[initial[R.DATASET] == ds, R.MISORDERING].astype(float)
        after = rows[R.MISORDERING].astype(float).dropna()
        if start.empty or after.empty or not np.isfinite(start.iloc[0]):
            continue
        delta = float(after.mean() - start.iloc[0])
        moved.append(delta)
        notes.append(
            f"{dataset_label(ds)}: {after.mean():.3f} after training (range {after.min():.3f}–"
            f"{after.max():.3f}) vs {start.iloc[0]:.3f} at initialisation"
        )
    if not notes:
        return Fact(label, "not measured")
    worst = max(moved)
    best = min(moved)
    if best <= -MOVED and worst < MOVED:
        word, warn = "yes", False
    elif max(abs(d) for d in moved) < MOVED:
        word, warn = "barely moved", True
    elif worst >= MOVED and best > -MOVED:
        word, warn = "no (worse than their initialisation)", True
    else:
        word, warn = "mixed", True
    return Fact(
        label,
        f"learned: {word} — {student}-{arch} students' misordering vs the teacher on the test "
        "candidates, " + "; ".join(notes),
        warn=warn,
    )


def device_fact(paths: ResultPaths) -> Fact:
    """CPU or GPU, from the grid summary's or any provenance record's ``device``; else the
    torch build recorded in the provenance (``+cpu``: a CPU-only build)."""
    devices, torch_builds = set(), set()
    records = [_read_json(paths.grid / "summary.json")]
    records += [_read_json(p) for p in sorted(paths.out.rglob("*.provenance.json"))]
    for record in records:
        if not isinstance(record, dict):
            continue
        if isinstance(record.get("device"), str):
            devices.add(record["device"])
        torch = (record.get("versions") or {}).get("torch")
        if isinstance(torch, str):
            torch_builds.add(torch)
    if devices:
        names = sorted("GPU (" + d + ")" if d.startswith("cuda") else d.upper() for d in devices)
        return Fact("Hardware", ", ".join(names))
    if torch_builds:
        cpu_only = all("+cpu" in t for t in torch_builds)
        build = ", ".join(sorted(torch_builds))
        return Fact("Hardware", f"CPU (torch {build})" if cpu_only else f"torch {build}")
    return Fact("Hardware", "not recorded")


def scope_facts(paths: ResultPaths) -> list[Fact]:
    return [
        preset_fact(paths),
        queries_fact(paths),
        seeds_fact(paths),
        learned_fact(paths),
        device_fact(paths),
    ]


def failed_stages(paths: ResultPaths) -> list[tuple[str, str]] | None:
    """``(stage, reason)`` of the ``stages_failed`` field of ``checks/verdicts.json`` (written by
    ``locent run`` when a stage failed), or ``None`` when the field is absent.

    Accepted shapes: a list of names, a list of ``{"stage": …, "error"/"reason"/"detail": …}``,
    or a mapping name → reason.
    """
    record = _read_json(paths.verdicts)
    if not isinstance(record, dict) or "stages_failed" not in record:
        return None
    field = record["stages_failed"]
    if isinstance(field, dict):
        return [(str(k), str(v)) for k, v in field.items()]
    out = []
    for entry in field or []:
        if isinstance(entry, dict):
            name = entry.get("stage") or entry.get("name") or "?"
            why = entry.get("error") or entry.get("reason") or entry.get("detail") or ""
            out.append((str(name), str(why)))
        else:
            out.append((str(entry), ""))
    return out
