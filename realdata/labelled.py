"""Labelled training on real data: the labelled plans, prepared and run through the ``labelled``
grid preset, into one table.

The labelled plans (:data:`locent.realdata.prepare.LABELLED_PLANS`) train where judged positives
exist and test on queries the training never saw:

- ``msmarco-cross-year``: train on TREC DL 2019 judged (43 queries; every one has a judged
  passage in the offline 28,606-passage subset, so its groups' positives come from qrels), test
  on DL 2020 judged (the grid's ``dl20`` set: shipped BM25 top-100, teacher-scored);
- ``vaswani-split`` / ``cranfield-split``: train on the ``train`` half, test on the ``test``
  half of a :mod:`~locent.realdata.splits` query split (test fraction 0.5, seed 0).

:func:`locent.realdata.stages.labelled_stage` prepares each plan (reused when prepared with
the same inputs) without knobs (the entropy knob re-scores every group and the locality levels add
samplers: both left to the main plans) and without run sources, runs the ``labelled`` preset on
it into ``<out>/realdata/labelled/<plan>/`` (the grid's own files), and writes with this module:

- ``<out>/realdata/labelled/results.csv``: the grids' ``results.csv`` rows with ``plan``
  first, and per row the LCE positive's source over the cell's training groups
  (:data:`POSITIVE_SOURCE`: ``qrels``, ``teacher_top`` or ``mixed``; :data:`POSITIVE_QRELS_SHARE`
  the fraction from qrels), so reports set qrels-LCE apart from teacher-top LCE. ``kappa_Q`` is
  blanked (NaN) when ``realdata/measure/samplers.csv`` holds no row of the plan's training
  dataset (the grid would otherwise read another dataset's κ);
- ``summary.json``: per plan the seconds of this call (prepare, grid, total; reused files and
  finished cells cost about nothing), cells learned / not learned /
  skipped, the positive-source counts per sampler (all groups, and the training groups), the
  split records (:func:`locent.realdata.splits.split_record`) and the disjointness check.

Measured cold on the loaded 2-core CPU (fresh ``--out``, defaults: ≤ 100 training queries,
4 samplers, dense pool over the whole corpus), seconds prepare + grid = total:
cranfield-split 202 + 207 = 409 (100 training queries of 113), vaswani-split 254 + 70 = 324
(47), msmarco-cross-year ≈ 788 + 106 ≈ 895 (43; two calls, the first stopped at 590 s while
embedding the corpus, resumed from its chunks); 27 min in all, of which the corpus embeddings
(1,400 + 11,429 + 28,606 passages) are most: under ``locent run`` the main prepare has cached
them in the same ``<out>/cache``. A re-run with everything current: 13 s. Positives: 43 of 43
DL19 groups, 47 of 47 Vaswani, 100 of 100 Cranfield from qrels. Cells learned: 25, 8, 12 of 36.

No test query reaches training or learning-rate choice: the grid reads only the plan's training
groups (its learning rate is chosen on held-out *training* queries,
:mod:`locent.realdata.grid.lr_selection`), and :func:`check_disjoint` refuses, before any
training, a plan whose training group queries meet its test queries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata import datasets, splits
from locent.realdata.grid.inputs import eval_set_name
from locent.realdata.grid.state import heldout_mask
from locent.realdata.prepare import Plan
from locent.realdata.store import read_groups

from locent import results
from locent.provenance import atomic_write_json, provenance_record, write_with_provenance

#: the preset the stage runs (:data:`locent.realdata.grid.presets.PRESETS`)
PRESET = "labelled"
#: training queries per labelled plan by default (the split plans have 47–113 training queries;
#: the timings below were measured with this cap)
DEFAULT_QUERIES = 100
#: columns added to the grid rows: the plan, and the LCE positive's source per cell
PLAN = "plan"
POSITIVE_SOURCE = "positive_source"
POSITIVE_QRELS_SHARE = "positive_qrels_share"


def test_set_names(plan: Plan) -> tuple[str, ...]:
    """The grid's test-set names of ``plan``'s tests (:func:`~locent.realdata.grid.inputs.
    eval_set_name`: ``dl20`` for DL20, else the ID's slug)."""
    return tuple(eval_set_name(t) for t in plan.tests)


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


def labelled_rows(plan: Plan, out_dir: Path, sources: dict, measures) -> pd.DataFrame:
    """The grid's ``results.csv`` of ``plan`` with ``plan`` first and the positive's source
    columns; ``kappa_Q`` blanked when ``measures`` has no row of the plan's training dataset."""
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


def write_labelled(base: Path, tables, summary: dict, params: dict) -> Path:
    """``<base>/results.csv`` (the plans' rows, with provenance) and ``<base>/summary.json``."""
    table = pd.concat(tables, ignore_index=True)
    path = write_with_provenance(
        table, base / "results.csv", stage="labelled", preset=PRESET, params=params
    )
    atomic_write_json(base / "summary.json", provenance_record(**summary))
    return path


def plan_summary(plan: Plan, grid: dict, seconds: dict, sources: dict, disjoint: dict) -> dict:
    """One plan's entry of ``summary.json`` (``grid``: the grid's own summary.json)."""
    return {
        "train": plan.train,
        "tests": list(plan.tests),
        "test_sets": list(test_set_names(plan)),
        "splits": {
            d: splits.split_record(d) for d in (plan.train, *plan.tests) if splits.is_split(d)
        },
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        **{
            k: grid[k]
            for k in (
                "n_cells",
                "n_learned_cells",
                "n_not_learned_cells",
                "not_learned_cells",
                "skipped_cells",
                "learning_rates",
            )
        },
        "positive_source": sources,
        "disjoint": disjoint,
    }
