"""Students that learn, and the "did not learn" flag (issue 13, item 3).

Every cell reports its held-out teacher-agreement misordering before and after training (held-out
*training* queries); a cell whose misordering fell by less than the preset's threshold is flagged
``learned`` False and left out of the effectiveness checks.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from locent.paper_checks.items.entropy_cuts import judge_entropy_cuts
from locent.paper_checks.items.learned import (
    NOT_LEARNED_CELLS,
    drop_not_learned,
    learned_effectiveness,
)
from locent.paper_checks.items.sampler_gain import judge_sampler_gain
from locent.paper_checks.verdicts import MissingEvidence
from locent.realdata import evaluation
from locent.realdata.grid import cells
from locent.realdata.grid.cells import learned_fraction
from locent.realdata.grid.presets import PRESETS, Preset
from locent.realdata.grid.run import run_grid
from locent.realdata.grid.state import heldout_mask
from locent.realdata.grid.synthetic import synthetic_inputs

from locent import results as R

WORLD = dict(seed=3, n_train=60, n_docs=300, dim=8, k=6, n_test=8, depth=8)


def _preset(name, lr, students=(("frozen", "bi"),), steps=60):
    return Preset(
        name,
        students=students,
        samplers=("random", "bm25", "teacher"),
        losses=("lce", "soft_ranknet"),
        seeds=(0,),
        steps=steps,
        batch_size=8,
        lr=lr,
        heldout_frac=0.2,
    )


@pytest.fixture(scope="module")
def learning_grid(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("learned")
    preset = _preset("learns", 3e-2, students=(("frozen", "bi"), ("frozen", "cross")), steps=120)
    run_grid(synthetic_inputs(**WORLD), preset, out, device="cpu")
    return out, preset


@pytest.fixture(scope="module")
def frozen_grid(tmp_path_factory):
    """lr ≈ 0: the students cannot move from their initialisation."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("frozen")
    preset = _preset("stuck", 1e-12, steps=4)
    run_grid(synthetic_inputs(**WORLD), preset, out, device="cpu")
    return out, preset


def test_learned_fraction_is_the_relative_fall():
    assert learned_fraction(0.4, 0.1) == pytest.approx(0.75)
    assert learned_fraction(0.4, 0.4) == 0.0
    assert learned_fraction(0.2, 0.3) == pytest.approx(-0.5)
    assert np.isnan(learned_fraction(0.0, 0.0)) and np.isnan(learned_fraction(np.nan, 0.1))


def test_learnable_students_move_more_than_the_threshold(learning_grid):
    out, preset = learning_grid
    table = pd.read_csv(out / "results.csv")
    for col in (R.HELDOUT_MISORDERING_INIT, R.HELDOUT_MISORDERING, R.LEARNED_FRACTION, R.LEARNED):
        assert col in table.columns
    frac = 1 - table[R.HELDOUT_MISORDERING] / table[R.HELDOUT_MISORDERING_INIT]
    assert table[R.LEARNED_FRACTION].to_numpy() == pytest.approx(frac.to_numpy())
    assert table[R.LEARNED].eq(table[R.LEARNED_FRACTION] >= preset.learned_threshold).all()
    # the cross MLP under soft RankNet learns the teacher's world past 20% on every sampler
    # (measured 0.36-0.87); the bilinear head on the local bm25 groups (measured 0.79)
    srn = table[table[R.LOSS] == "soft_ranknet"]
    cross = srn[srn[R.ARCH] == "cross"]
    assert len(cross) == 3 * 2  # samplers x test sets
    assert (cross[R.LEARNED_FRACTION] > 0.2).all(), cross[[R.SAMPLER, R.LEARNED_FRACTION]]
    assert cross[R.LEARNED].all()
    bi_bm25 = srn[(srn[R.ARCH] == "bi") & (srn[R.SAMPLER] == "bm25")]
    assert (bi_bm25[R.LEARNED_FRACTION] > 0.2).all()
    summary = json.loads((out / "summary.json").read_text())
    n_cells = len(preset.conditions()) * len(preset.seeds)
    assert summary["n_learned_cells"] + summary["n_not_learned_cells"] == n_cells
    assert summary["n_learned_cells"] == table.drop_duplicates("condition")[R.LEARNED].sum()
    assert summary["learned_threshold"] == preset.learned_threshold
    assert summary["n_cells_without_learned_flag"] == 0


def test_a_student_that_cannot_learn_is_flagged(frozen_grid):
    out, preset = frozen_grid
    table = pd.read_csv(out / "results.csv")
    assert table[R.LEARNED_FRACTION].abs().max() < 0.01
    assert not table[R.LEARNED].any()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_learned_cells"] == 0
    assert summary["n_not_learned_cells"] == len(preset.conditions()) * len(preset.seeds)
    per_query = pd.read_parquet(out / "per_query.parquet")
    trained = per_query[per_query[R.STUDENT].notna()]
    assert trained[R.LEARNED].eq(False).all()
    with pytest.raises(MissingEvidence, match="no student learned"):
        learned_effectiveness(per_query)


def test_cells_that_did_not_learn_are_left_out_of_the_check(learning_grid):
    out, _ = learning_grid
    per_query = pd.read_parquet(out / "per_query.parquet")
    # flag exactly one sampler's cells of the bilinear student as "did not learn"
    stuck = (per_query[R.SAMPLER] == "teacher") & (per_query[R.ARCH] == "bi")
    per_query.loc[per_query[R.STUDENT].notna(), R.LEARNED] = True
    per_query.loc[stuck, R.LEARNED] = False
    n_stuck = len(per_query.loc[stuck, list(R.CONDITION_COLUMNS)].drop_duplicates())
    assert n_stuck == 2  # two losses x one seed
    kept, dropped = drop_not_learned(per_query)
    assert dropped == n_stuck and not kept.index.isin(per_query.index[stuck]).any()
    wide = learned_effectiveness(per_query)
    fields = wide.attrs["fields"]
    assert not ((fields[R.SAMPLER] == "teacher") & (fields[R.ARCH] == "bi")).any()
    assert ((fields[R.SAMPLER] == "teacher") & (fields[R.ARCH] == "cross")).any()
    assert wide.attrs[NOT_LEARNED_CELLS] == n_stuck
    verdict, text, numbers, *_ = judge_sampler_gain(wide)
    assert f"{n_stuck} cell(s) (condition × seed) did not learn and were left out" in text
    assert numbers[NOT_LEARNED_CELLS] == n_stuck


class _Forbidden:
    """Stands in for test qrels: any use raises."""

    def __getattr__(self, name):
        raise AssertionError(f"test qrels were read (.{name})")

    def __getitem__(self, key):
        raise AssertionError("test qrels were read")


def test_no_test_qrels_reach_training_or_the_learned_measure(monkeypatch, tmp_path):
    torch.set_num_threads(1)
    inputs = synthetic_inputs(**WORLD)
    for es in inputs.eval_sets:
        es.qrels = _Forbidden()
    test_ids = {q for es in inputs.eval_sets for q in es.candidates.query_ids.astype(str)}
    seen = {"train": [], "misordering": []}
    real_train, real_mis = cells.train, cells.mean_misordering

    def spy_train(student, data, *args, **kwargs):
        seen["train"].append(set(data.query_ids.astype(str)))
        return real_train(student, data, *args, **kwargs)

    def spy_mis(student, data, *args, **kwargs):
        seen["misordering"].append(set(data.query_ids.astype(str)))
        return real_mis(student, data, *args, **kwargs)

    def no_qrels_eval(run, qrels):  # the only reader of test qrels, stubbed: nothing scored
        return pd.DataFrame(columns=[R.QUERY_ID, "measure", "value"]), 0

    monkeypatch.setattr(cells, "train", spy_train)
    monkeypatch.setattr(cells, "mean_misordering", spy_mis)
    monkeypatch.setattr(evaluation, "evaluate_run", no_qrels_eval)
    preset = _preset("auto", "auto", steps=6)
    preset.lr_candidates = (1e-3, 1e-1)
    run_grid(inputs, preset, tmp_path, device="cpu")
    held = {
        s: set(g.query_ids.astype(str)[heldout_mask(g.query_ids, preset.heldout_frac)])
        for s, g in inputs.groups.items()
    }
    all_held = set().union(*held.values())
    assert seen["train"] and seen["misordering"]
    for ids in seen["train"]:  # training reads training queries, never the held-out ones
        assert ids and ids.isdisjoint(test_ids) and ids.isdisjoint(all_held)
    for ids in seen["misordering"]:  # init and after: held-out training queries only
        assert ids and ids.isdisjoint(test_ids) and ids <= all_held
    table = pd.read_csv(tmp_path / "results.csv")
    assert table[R.HELDOUT_MISORDERING_INIT].notna().all()


def test_default_preset_uses_students_that_learn_and_keeps_the_control():
    students = PRESETS["default"].students
    assert ("frozen", "cross") in students  # learns (trained from scratch on frozen features)
    assert ("frozen", "bi") in students  # the bilinear head: a control
    for preset in PRESETS.values():
        assert preset.learned_threshold == 0.2
    with pytest.raises(ValueError, match="learned_threshold"):
        Preset("bad", learned_threshold=0.0)


def test_entropy_cuts_check_drops_and_counts_cells_that_did_not_learn(tmp_path):
    torch.set_num_threads(1)
    preset = Preset(
        "cuts",
        students=(("frozen", "cross"),),
        samplers=("bm25",),
        losses=("soft_ranknet",),
        seeds=(0,),
        steps=20,
        batch_size=8,
        lr=1e-2,
        cuts=(("soft_ranknet", "bm25"),),
        cut_subsets=("keep_below_median", "keep_tukey_inliers"),
    )
    run_grid(synthetic_inputs(**WORLD), preset, tmp_path, device="cpu")
    per_query = pd.read_parquet(tmp_path / "per_query.parquet")
    per_query.loc[per_query[R.STUDENT].notna(), R.LEARNED] = True
    stuck = per_query[R.SUBSET] == "keep_below_median"
    per_query.loc[stuck, R.LEARNED] = False
    wide = learned_effectiveness(per_query)
    assert "keep_below_median" not in set(wide.attrs["fields"][R.SUBSET])
    _, text, numbers, *_ = judge_entropy_cuts(wide)
    assert "1 cell(s) (condition × seed) did not learn and were left out" in text
    assert numbers[NOT_LEARNED_CELLS] == 1
