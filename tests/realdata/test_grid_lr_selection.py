"""lr="auto": the validation split, the criterion, the choice, the file; never test qrels."""

from __future__ import annotations

import argparse
import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from locent.realdata import evaluation
from locent.realdata.cli import learning_rate
from locent.realdata.features import GroupData
from locent.realdata.grid import lr_selection
from locent.realdata.grid.baselines import baselines
from locent.realdata.grid.lr_selection import (
    learning_rates,
    select_learning_rate,
    validation_split,
)
from locent.realdata.grid.presets import PRESETS, Preset
from locent.realdata.grid.run import run_grid
from locent.realdata.grid.state import GridState, eval_data, heldout_mask
from locent.realdata.grid.synthetic import synthetic_inputs
from locent.realdata.report import write_report
from locent.realdata.students import FrozenBilinear, build_student
from locent.realdata.trainer import TrainConfig, train

from locent.provenance import read_provenance

# --------------------------------------------------------------------------- the split


def test_validation_split_is_deterministic_disjoint_and_sized():
    ids = np.array([f"q{i}" for i in range(50)], dtype=object)
    mask = validation_split(ids, frac=0.2, seed=0)
    assert mask.dtype == bool and mask.shape == (50,)
    assert mask.sum() == 10  # round(0.2 * 50)
    np.testing.assert_array_equal(mask, validation_split(ids, frac=0.2, seed=0))
    # the rule depends on the ids, not on their order
    perm = np.random.default_rng(0).permutation(50)
    assert set(ids[perm][validation_split(ids[perm], 0.2, 0)]) == set(ids[mask])
    # validation and fit partition the queries
    assert set(ids[mask]).isdisjoint(ids[~mask]) and len(ids[mask]) + len(ids[~mask]) == 50
    # another seed, another split
    assert set(ids[validation_split(ids, 0.2, seed=1)]) != set(ids[mask])


def test_validation_split_keeps_a_query_on_one_side_and_has_a_minimum():
    ids = np.array(["a", "b", "a", "c", "d", "b", "e"], dtype=object)
    mask = validation_split(ids, frac=0.1, seed=3)  # round(0.5) = 0 < 2: the minimum applies
    assert len(set(ids[mask])) == 2
    for q in set(ids):
        assert len(set(mask[ids == q])) == 1


def test_validation_split_errors_name_the_counts():
    with pytest.raises(ValueError, match=r"at least 3 distinct training queries.*got 2"):
        validation_split(np.array(["q1", "q2", "q2"]), frac=0.2)
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\); got 1.0"):
        validation_split(np.array(["q1", "q2", "q3"]), frac=1.0)


# --------------------------------------------------------------------------- the criterion


def _misordering_brute_force(scores: np.ndarray, teacher: np.ndarray) -> float:
    """Independent reference: count pairs with explicit loops, mean over groups."""
    rates = []
    for s, t in zip(scores, teacher):
        mis = comp = 0
        for i, j in itertools.combinations(range(len(s)), 2):
            if t[i] != t[j]:
                comp += 1
                mis += (s[i] - s[j]) * (t[i] - t[j]) < 0
        rates.append(mis / comp)
    return float(np.mean(rates))


@pytest.fixture(scope="module")
def world():
    inputs = synthetic_inputs(seed=4, n_train=40, n_docs=200, dim=8, k=6, n_test=3, depth=6)
    groups = inputs.groups["bm25"]
    data = GroupData.from_groups(groups, inputs.features["frozen"])
    is_val = validation_split(data.query_ids, 0.25, seed=0)
    return data.subset(np.flatnonzero(~is_val)), data.subset(np.flatnonzero(is_val))


def test_chosen_lr_minimises_the_validation_misordering(world):
    torch.set_num_threads(1)
    fit, validation = world
    config = TrainConfig(loss="soft_ranknet", steps=15, batch_size=8, lr=1.0, seed=2)
    candidates = (1e-3, 3e-2, 3e-1)

    def make():
        return build_student("frozen", "bi", dim=8)

    table = select_learning_rate(make, fit, validation, config, "cpu", candidates)
    assert list(table["lr"]) == sorted(candidates)
    assert table["chosen"].sum() == 1
    best = table.loc[table["chosen"], "lr"].item()
    assert table.loc[table["chosen"], "validation_misordering"].item() == pytest.approx(
        table["validation_misordering"].min()
    )
    # the lrs differ on this case, so the choice is not a default
    assert table["validation_misordering"].nunique() > 1
    # each value is the criterion it claims: retrain and count the pairs independently
    for lr, value in zip(table["lr"], table["validation_misordering"]):
        torch.manual_seed(config.seed)
        student = make()
        train(student, fit, dataclasses.replace(config, lr=lr), "cpu", show_progress=False)
        scores = evaluation.score_candidates(student, validation, 64, "cpu")
        assert value == pytest.approx(
            _misordering_brute_force(scores, validation.teacher_scores), abs=1e-12
        )
    torch.manual_seed(config.seed)
    init = evaluation.score_candidates(make(), validation, 64, "cpu")
    assert table["validation_misordering_init"].iloc[0] == pytest.approx(
        _misordering_brute_force(init, validation.teacher_scores), abs=1e-12
    )
    assert best == table.sort_values(["validation_misordering", "lr"])["lr"].iloc[0]


def test_ties_go_to_the_smaller_lr(world, monkeypatch):
    fit, validation = world
    # no training at all: every candidate leaves the same student, so every criterion ties
    monkeypatch.setattr(lr_selection, "train", lambda *a, **k: None)
    config = TrainConfig(loss="lce", steps=3, batch_size=4, lr=1.0, seed=0)
    table = select_learning_rate(
        lambda: build_student("frozen", "bi", dim=8), fit, validation, config, "cpu", (3e-3, 1e-4)
    )
    assert table["validation_misordering"].nunique() == 1
    assert table.loc[table["chosen"], "lr"].item() == 1e-4


def test_bad_candidates_are_refused(world):
    fit, validation = world
    config = TrainConfig(steps=1, batch_size=4)
    with pytest.raises(ValueError, match="must be > 0"):
        select_learning_rate(lambda: None, fit, validation, config, "cpu", (1e-3, 0.0))


# --------------------------------------------------------------------------- in the grid


class _Forbidden:
    """Stands in for qrels: any use raises."""

    def __getattr__(self, name):
        raise AssertionError(f"test qrels were read (.{name})")

    def __getitem__(self, key):
        raise AssertionError("test qrels were read")

    def __len__(self):
        raise AssertionError("test qrels were read")


AUTO = Preset(
    "auto",
    samplers=("random", "teacher"),
    losses=("soft_ranknet", "lce"),
    seeds=(0, 1),
    steps=6,
    batch_size=4,
    lr="auto",
    lr_candidates=(1e-3, 1e-1),
)


def test_auto_never_reads_qrels(monkeypatch, tmp_path):
    torch.set_num_threads(1)
    inputs = synthetic_inputs(seed=5, n_train=40, n_docs=200, dim=8, k=6, n_test=3, depth=6)
    for es in inputs.eval_sets:
        es.qrels = _Forbidden()

    def refuse(*args, **kwargs):
        raise AssertionError("evaluate_run was called")

    monkeypatch.setattr(evaluation, "evaluate_run", refuse)
    state = GridState.build(inputs, AUTO, AUTO.conditions())
    lrs = learning_rates(inputs, AUTO, tmp_path, "cpu", state)
    assert set(lrs) == {
        ("frozen", "bi", loss, sampler)
        for loss in ("soft_ranknet", "lce")
        for sampler in ("random", "teacher")
    }
    assert set(lrs.values()) <= {1e-3, 1e-1}


def test_grid_writes_the_selection_and_uses_it_everywhere(monkeypatch, tmp_path):
    torch.set_num_threads(1)
    inputs = synthetic_inputs(
        seed=6, n_train=40, n_docs=200, dim=8, k=6, n_test=3, depth=6, test_sets=("dl19",)
    )
    out = tmp_path / "g"
    paths = run_grid(inputs, AUTO, out, device="cpu")
    table = pd.read_csv(out / "lr_selection.csv")
    assert list(table.columns) == list(lr_selection.SELECTION_COLUMNS)
    assert len(table) == 2 * 2 * 2  # losses x samplers x candidates (one student family)
    assert table.groupby(["loss", "sampler"])["chosen"].sum().eq(1).all()
    assert set(table["sampler"]) == {"random", "teacher"} and table["seed"].eq(0).all()
    assert table["subset"].eq("full").all()
    prov = read_provenance(out / "lr_selection.csv")
    rule = prov["selection"]
    assert rule["candidates"] == [1e-3, 1e-1] and rule["validation_frac"] == 0.2
    # validation queries come from each sampler's training part: disjoint from its held-out tenth
    for sampler in ("random", "teacher"):
        groups = inputs.groups[sampler]
        held = set(groups.query_ids[heldout_mask(groups.query_ids, AUTO.heldout_frac)])
        val = rule["validation_query_ids"][sampler]
        assert val and held.isdisjoint(val)
        rows = table[table["sampler"] == sampler]
        assert len(val) == rows["n_validation"].iloc[0]
    # every cell of a (loss, sampler) (every seed) trained with that pair's chosen lr
    chosen = table[table["chosen"]].set_index(["loss", "sampler"])["lr"]
    results = pd.read_csv(paths["results"])
    expected = [chosen[(loss, s)] for loss, s in zip(results["loss"], results["sampler"])]
    assert results["lr"].to_numpy() == pytest.approx(expected)
    assert set(results["sampler"]) == {"random", "teacher"} and set(results["seed"]) == {0, 1}
    # the trainer's peak (post-warmup) learning rate of every cell is that lr
    logs = pd.read_parquet(paths["logs"])
    peak = logs.groupby(["condition", "seed"])["lr"].max().reset_index()
    name = peak["condition"].str.split("+")
    expected = [chosen[(loss, s)] for loss, s in zip(name.str[1], name.str[2])]
    assert peak["lr"].to_numpy() == pytest.approx(expected)
    text = write_report(out)
    assert "baseline: encoder cosine (student init)" in text
    assert "## Learning rates (chosen on held-out training queries, never on test qrels)" in text
    # resume: the table is reused, not recomputed
    before = (out / "lr_selection.csv").read_bytes()

    def refuse(*args, **kwargs):
        raise AssertionError("selection recomputed on resume")

    monkeypatch.setattr(lr_selection, "select_learning_rate", refuse)
    run_grid(inputs, AUTO, out, device="cpu")
    assert (out / "lr_selection.csv").read_bytes() == before
    # another rule (other candidates): recomputed
    with pytest.raises(AssertionError, match="recomputed"):
        run_grid(inputs, dataclasses.replace(AUTO, lr_candidates=(1e-2,)), out, device="cpu")


def test_fixed_lr_writes_no_selection_and_records_the_lr(tmp_path):
    inputs = synthetic_inputs(seed=7, n_train=30, n_docs=150, dim=8, k=5, n_test=2, depth=5)
    preset = Preset("fixed", samplers=("bm25",), losses=("lce",), seeds=(0,), steps=3, lr=0.01)
    paths = run_grid(inputs, preset, tmp_path, device="cpu")
    assert not (tmp_path / "lr_selection.csv").exists()
    assert pd.read_csv(paths["results"])["lr"].eq(0.01).all()


def test_preset_and_cli_accept_a_number_or_auto():
    with pytest.raises(ValueError, match="lr must be a number > 0 or 'auto'"):
        Preset("bad", lr="fast")
    with pytest.raises(ValueError, match="lr must be a number > 0 or 'auto'"):
        Preset("bad", lr=0.0)
    assert PRESETS["default"].lr == "auto" and PRESETS["paper"].lr == "auto"
    assert learning_rate("auto") == "auto" and learning_rate("3e-4") == 3e-4
    for bad in ("fast", "-1", "0"):
        with pytest.raises(argparse.ArgumentTypeError):
            learning_rate(bad)


# --------------------------------------------------------------------------- student-init row


def test_encoder_cosine_baseline_is_the_untrained_bilinear_student():
    inputs = synthetic_inputs(seed=8, n_train=20, n_docs=150, dim=8, k=5, n_test=4, depth=7)
    es = inputs.eval_sets[0]
    data = eval_data(es, inputs.features["frozen"])
    cosine = data.features.cosine(data.resolved)
    torch.manual_seed(0)
    untrained = evaluation.score_candidates(FrozenBilinear(8), data, 64, "cpu")
    np.testing.assert_allclose(
        cosine[es.candidates.valid], untrained[es.candidates.valid], atol=1e-5
    )
    base, base_pq, _ = baselines(inputs, tau=1.0)
    row = base[(base["system"] == "encoder_cosine") & (base["dataset"] == es.name)]
    run = evaluation.run_frame(
        es.candidates.query_ids, es.candidates.doc_ids, cosine, es.candidates.valid
    )
    pq, _ = evaluation.evaluate_run(run, es.qrels)
    expected = pq[pq["measure"] == "nDCG@10"]["value"].mean()
    assert row["nDCG@10"].item() == pytest.approx(expected)
    assert (base_pq["condition"] == "baseline:encoder_cosine").any()
    # its agreement with the teacher is reported beside BM25's
    mis = base[base["system"] == "encoder_cosine:misordering_vs_teacher"]["misordering"]
    assert len(mis) == len(inputs.eval_sets) and mis.between(0, 1).all()
