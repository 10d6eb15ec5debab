"""The grid tables, assembled from the finished cells (each written with provenance).

- ``results.csv``: one row per condition × seed × test set; :data:`RESULT_COLUMNS` first (the
  condition record ``results.CONDITION_COLUMNS``, the test set, the measures, risk, locality,
  entropy, κ and the bound), then ``condition`` (display label), ``n_train, steps, lr, items,
  train_risk, heldout_risk, heldout_misordering, heldout_misordering_init, learned_fraction,
  learned, loss_range_Q, lipschitz, teacher_lipschitz, bound_iii_form, n_missed_queries,
  n_no_comparable`` (:class:`.cells.ResultRow`). ``learned`` False = the cell "did not learn"
  (held-out misordering fell by less than ``Preset.learned_threshold`` of its untrained value):
  kept here, left out of the checks' inputs.
- ``per_query.parquet``: :data:`PER_QUERY_COLUMNS` (baselines: condition ``baseline:<system>``,
  seed −1, empty record, ``learned`` empty); ``learned`` repeats the cell's flag on every row so
  the checks drop the rows of cells that did not learn before they pivot.
- ``logs.parquet``: :data:`LOG_COLUMNS` (the trainer's step log per cell; its ``loss`` value is
  ``step_loss``, since ``loss`` names the condition's loss).
- ``score_at_rank.parquet``: :data:`SCORE_AT_RANK_COLUMNS` (the teacher: condition ``teacher``).
- ``baselines.csv``: one row per system × test set.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd
from locent.realdata import evaluation
from locent.realdata.grid.cells import STEP_LOSS
from locent.realdata.grid.inputs import GridInputs
from locent.realdata.grid.presets import Preset
from locent.realdata.trainer import LOG_COLUMNS as TRAINER_LOG_COLUMNS

from locent import results
from locent.provenance import (
    atomic_write_json,
    atomic_write_text,
    provenance_record,
    write_with_provenance,
)

RESULT_COLUMNS = [
    *results.CONDITION_COLUMNS,
    results.DATASET,
    *evaluation.MEASURES,
    results.MISORDERING,
    results.BREGMAN_RISK,
    results.DIAMETER_Q_99,
    results.PAIRWISE_ENTROPY,
    results.KAPPA_Q,
    results.BOUND_III,
    results.BOUND_III_VACUOUS,
]
PER_QUERY_COLUMNS = [
    "condition",
    results.SYSTEM,
    *results.CONDITION_COLUMNS,
    results.DATASET,
    results.QUERY_ID,
    "measure",
    "value",
    results.LEARNED,
]
LOG_COLUMNS = [
    "condition",
    *results.CONDITION_COLUMNS,
    *(STEP_LOSS if c == "loss" else c for c in TRAINER_LOG_COLUMNS),
]
SCORE_AT_RANK_COLUMNS = [
    "model",
    "condition",
    results.SYSTEM,
    *results.CONDITION_COLUMNS,
    results.DATASET,
    results.QUERY_ID,
    "rank",
    "score",
]


def assemble(out_dir: Path, cells, base, base_pq, teacher_sar, preset: Preset, inputs: GridInputs):
    """Concatenate the finished cells into the grid tables; returns ``{table: path}``."""

    def gather(name):
        frames = [
            pd.read_parquet(out_dir / "cells" / f"{c.name}.{s}" / name)
            for c, s in cells
            if (out_dir / "cells" / f"{c.name}.{s}" / name).exists()
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    prov = {"preset": preset.name, "preset_config": asdict(preset), **inputs.provenance}
    table = gather("results.parquet")
    extra = [c for c in table.columns if c not in RESULT_COLUMNS]
    table = table[RESULT_COLUMNS + extra]
    paths = {"results": out_dir / "results.csv"}
    atomic_write_text(paths["results"], table.to_csv(index=False))
    atomic_write_json(out_dir / "results.provenance.json", provenance_record(**prov))
    per_query = pd.concat([gather("per_query.parquet"), base_pq], ignore_index=True)
    per_query = per_query.reindex(columns=PER_QUERY_COLUMNS)  # baselines: ``learned`` empty
    per_query[results.LEARNED] = per_query[results.LEARNED].astype("boolean")  # nullable
    sar = pd.concat([teacher_sar, gather("score_at_rank.parquet")], ignore_index=True)
    if len(sar):
        sar = sar[SCORE_AT_RANK_COLUMNS]
    logs = gather("logs.parquet")[LOG_COLUMNS]
    for name, frame in (("per_query", per_query), ("logs", logs), ("score_at_rank", sar)):
        paths[name] = out_dir / f"{name}.parquet"
        write_with_provenance(frame, paths[name], **prov)
    paths["baselines"] = out_dir / "baselines.csv"
    atomic_write_text(paths["baselines"], base.to_csv(index=False))
    atomic_write_json(out_dir / "baselines.provenance.json", provenance_record(**prov))
    return paths
