"""Learning-rate selection on held-out *training* queries, never on test qrels.

The grid trains every condition with one learning rate per (student family, architecture, loss,
sampler). With ``lr="auto"`` that rate is chosen by the declared rule below on **that sampler's
own** training groups (first seed), and then used for every entropy subset and seed of that
sampler and loss: each sampler is compared at a rate tuned for it, not at one tuned on a baseline
sampler (issue 12 item 6). Equal steps and equal groups are kept across the grid.

1. **Validation split** (:func:`validation_split`). The distinct training query ids are ordered by
   h(q) = CRC32(``"<seed>:<query id>"``) (ties by id); the first
   n_val = max(``min_queries``, round(``frac`` · n_q)) are the validation queries, the rest fit the
   student. Deterministic, disjoint, and an error names the counts when fewer than
   n_val + 1 queries exist.
2. **Criterion** (:func:`mean_misordering`). Each candidate learning rate η trains the
   student (same initialisation seed, the grid's budget of steps × groups) on the fit groups; the
   criterion is the mean over the validation groups V of the teacher-agreement misordering rate
   (Definition 2.1, :func:`locent.theory.misordering_rate`)

       R̂_mis(η) = (1/|V|) Σ_{q∈V} #{i<j : (s_i − s_j)(t_i − t_j) < 0} / #{i<j : t_i ≠ t_j},

   s = student scores, t = teacher scores of the group's k items. Only groups and teacher scores
   are read: no qrels, no test candidates.
3. **Choice** (:func:`select_learning_rate`): η* = argmin R̂_mis(η) over the candidates, ties to the
   smaller η. The table keeps every candidate's value and the untrained student's value
   (``validation_misordering_init``), so a reader sees whether training helped on validation.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from locent.realdata.evaluation import score_candidates
from locent.realdata.features import GroupData
from locent.realdata.grid.inputs import GridInputs
from locent.realdata.grid.presets import LR_CANDIDATES, Preset
from locent.realdata.grid.state import GridState, with_features
from locent.realdata.students import Student, build_student
from locent.realdata.trainer import TrainConfig, train
from locent.theory import misordering_rate

from locent import results
from locent.progress import progress
from locent.provenance import read_provenance, to_json, write_with_provenance

#: ``lr_selection.csv``: the condition record of the cell that chose (its sampler, subset
#: ``full``, seed = the preset's first seed), then the criterion.
SELECTION_COLUMNS = (
    *results.CONDITION_COLUMNS,
    "lr",
    "validation_misordering",
    "validation_misordering_init",
    "chosen",
    "n_fit",
    "n_validation",
)


def validation_split(query_ids, frac: float = 0.2, seed: int = 0, min_queries: int = 2):
    """Boolean mask ``(n,)`` over the rows of ``query_ids``: True = validation query.

    Rule: order the distinct ids by (CRC32(f"{seed}:{id}"), id) and take the first
    n_val = max(min_queries, round(frac · n_q)); all rows of a query fall on the same side.
    Raises ValueError naming the counts when n_q < n_val + 1 (no query left to fit on) or when
    ``frac`` is outside (0, 1).
    """
    if not 0 < frac < 1:
        raise ValueError(f"validation fraction must be in (0, 1); got {frac}")
    query_ids = np.asarray(query_ids).astype(str)
    unique = np.unique(query_ids)
    n_val = max(int(min_queries), int(round(frac * len(unique))))
    if len(unique) < n_val + 1:
        raise ValueError(
            f"validation split needs at least {n_val + 1} distinct training queries "
            f"({n_val} validation, >= 1 to fit; fraction {frac}, minimum {min_queries}); "
            f"got {len(unique)}"
        )
    hashes = np.array([zlib.crc32(f"{seed}:{q}".encode()) for q in unique], dtype=np.int64)
    order = np.lexsort((unique, hashes))
    return np.isin(query_ids, unique[order[:n_val]])


@torch.no_grad()
def mean_misordering(student: Student, data: GroupData, device, batch: int = 256) -> float:
    """Mean over the groups of ``data`` of the misordering rate of the student vs the teacher.

    Scores ``(n, k)`` of the student against ``data.teacher_scores`` ``(n, k)``; returns
    (1/n) Σ_q misordering_rate(s_q, t_q) (a group whose teacher ties every pair raises).
    """
    scores = score_candidates(student, data, batch, device)
    return float(np.mean(misordering_rate(scores, data.teacher_scores)))


def select_learning_rate(
    make_student: Callable[[], Student],
    fit: GroupData,
    validation: GroupData,
    config: TrainConfig,
    device,
    candidates=LR_CANDIDATES,
) -> pd.DataFrame:
    """Train one student per candidate η on ``fit``; score each on ``validation``; pick η*.

    ``make_student()`` builds a fresh untrained student; it is called after
    ``torch.manual_seed(config.seed)`` so every candidate starts from the same weights.
    ``config`` fixes everything but the learning rate (its ``lr`` is replaced).
    Returns one row per candidate: ``lr, validation_misordering, validation_misordering_init,
    chosen`` (exactly one True: the smallest criterion, ties to the smaller η).
    """
    if not candidates:
        raise ValueError("no candidate learning rates")
    if any(not (lr > 0) for lr in candidates):
        raise ValueError(f"candidate learning rates must be > 0; got {tuple(candidates)}")
    torch.manual_seed(config.seed)
    init = mean_misordering(make_student(), validation, device)
    rows = []
    for lr in sorted(float(c) for c in candidates):
        torch.manual_seed(config.seed)
        student = make_student()
        train(student, fit, dataclasses.replace(config, lr=lr), device, show_progress=False)
        rows.append(
            {
                "lr": lr,
                "validation_misordering": mean_misordering(student, validation, device),
            }
        )
    table = pd.DataFrame(rows)
    table["validation_misordering_init"] = init
    # sorted by lr ascending, so idxmin's first minimum is the smaller lr on ties
    table["chosen"] = table.index == table["validation_misordering"].idxmin()
    return table


def learning_rates(
    inputs: GridInputs, preset: Preset, out_dir: Path, device, state: GridState
) -> dict:
    """(student, arch, loss, sampler) → learning rate: the preset's number, or ``"auto"``.

    ``"auto"`` (rule above), **per sampler**: on each sampler's own training groups (the
    held-out tenth already removed), split by :func:`validation_split`, train each candidate with
    the preset's budget and first seed, choose by validation misordering against the teacher.
    Every condition of that sampler (each entropy subset, each seed) then trains with that rate,
    so no sampler is compared at a rate tuned for another (issue 12 item 6: one rate chosen on
    BM25 favoured BM25). Cost: #samplers × #losses × #candidates short trainings (default preset:
    4 × 4 × 5 = 80, was 20 with one reference sampler). Writes ``lr_selection.csv`` (+ provenance
    with the rule and the validation query ids per sampler); a table written under the same rule
    is reused on resume.
    """
    keys = sorted({(c.student, c.arch, c.loss, c.sampler) for c in preset.conditions()})
    if preset.lr != "auto":
        return {key: float(preset.lr) for key in keys}
    seed = preset.seeds[0]
    samplers = sorted({k[3] for k in keys})
    is_val = {
        s: validation_split(
            state.splits[s].train.query_ids, preset.validation_frac, preset.validation_seed
        )
        for s in samplers
    }
    rule = json.loads(
        to_json(
            {
                "candidates": sorted(float(c) for c in preset.lr_candidates),
                "criterion": "mean validation misordering rate vs teacher; ties -> smaller lr",
                "split": "first max(2, round(frac*n)) query ids by CRC32('<seed>:<id>')",
                "per": "student, arch, loss, sampler (each on its own training groups)",
                "validation_frac": preset.validation_frac,
                "validation_seed": preset.validation_seed,
                "reference_seed": seed,
                "steps": preset.steps,
                "batch_size": preset.batch_size,
                "tau": preset.tau,
                "selections": [list(k) for k in keys],
                "columns": list(SELECTION_COLUMNS),
                "n_fit": {s: int((~m).sum()) for s, m in is_val.items()},
                "validation_query_ids": {
                    s: sorted(np.unique(state.splits[s].train.query_ids[m]).tolist())
                    for s, m in is_val.items()
                },
            }
        )
    )
    path = out_dir / "lr_selection.csv"
    if path.exists() and read_provenance(path).get("selection") == rule:
        table = pd.read_csv(path)
    else:
        tables = []
        for student, arch, loss, sampler in progress(keys, desc="lr selection", unit="loss"):
            features = inputs.features[student]
            groups, val = state.splits[sampler].train, is_val[sampler]
            fit = with_features(groups.subset(np.flatnonzero(~val)), features)
            validation = with_features(groups.subset(np.flatnonzero(val)), features)
            dim = getattr(features, "dim", None)
            table = select_learning_rate(
                functools.partial(build_student, student, arch, dim=dim),
                fit,
                validation,
                preset.train_config(loss, seed, lr=1.0),  # lr replaced by each candidate
                device,
                preset.lr_candidates,
            )
            record = {
                results.STUDENT: student,
                results.ARCH: arch,
                results.LOSS: loss,
                results.SAMPLER: sampler,
                results.SUBSET: results.FULL_SUBSET,
                results.SEED: seed,
                "n_fit": int((~val).sum()),
                "n_validation": int(val.sum()),
            }
            tables.append(table.assign(**record))
        table = pd.concat(tables, ignore_index=True)[list(SELECTION_COLUMNS)]
        write_with_provenance(table, path, preset=preset.name, selection=rule, **inputs.provenance)
    chosen = table[table["chosen"].astype(bool)]
    return {(r.student, r.arch, r.loss, r.sampler): float(r.lr) for r in chosen.itertuples()}
