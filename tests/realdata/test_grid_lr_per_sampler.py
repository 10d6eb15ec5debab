"""lr="auto" per sampler (issue 12 item 6): each sampler's rate is chosen on its own held-out
training queries, so samplers whose best rates differ get different rates; no test qrels."""

from __future__ import annotations

import pandas as pd
import torch
from locent.realdata import evaluation
from locent.realdata.grid import lr_selection
from locent.realdata.grid.lr_selection import learning_rates
from locent.realdata.grid.presets import Preset
from locent.realdata.grid.state import GridState
from locent.realdata.grid.synthetic import synthetic_inputs

PER_SAMPLER = Preset(
    "per_sampler",
    samplers=("random", "teacher"),
    losses=("soft_ranknet",),
    seeds=(0,),
    steps=8,
    batch_size=4,
    lr="auto",
    lr_candidates=(1e-3, 3e-2),
)


class _Forbidden:
    """Stands in for qrels: any use raises."""

    def __getattr__(self, name):
        raise AssertionError(f"test qrels were read (.{name})")

    def __getitem__(self, key):
        raise AssertionError("test qrels were read")

    def __len__(self):
        raise AssertionError("test qrels were read")


def test_samplers_with_different_best_rates_get_different_rates(monkeypatch, tmp_path):
    torch.set_num_threads(1)
    inputs = synthetic_inputs(seed=5, n_train=40, n_docs=200, dim=8, k=6, n_test=3, depth=6)
    for es in inputs.eval_sets:
        es.qrels = _Forbidden()

    def refuse(*args, **kwargs):
        raise AssertionError("evaluate_run was called")

    monkeypatch.setattr(evaluation, "evaluate_run", refuse)
    seen = {}
    select = lr_selection.select_learning_rate

    def recording(make, fit, validation, config, device, candidates):
        seen[len(seen)] = (set(map(tuple, fit.doc_ids)), set(map(tuple, validation.doc_ids)))
        return select(make, fit, validation, config, device, candidates)

    monkeypatch.setattr(lr_selection, "select_learning_rate", recording)
    state = GridState.build(inputs, PER_SAMPLER, PER_SAMPLER.conditions())
    lrs = learning_rates(inputs, PER_SAMPLER, tmp_path, "cpu", state)
    random_lr = lrs[("frozen", "bi", "soft_ranknet", "random")]
    teacher_lr = lrs[("frozen", "bi", "soft_ranknet", "teacher")]
    # on this world the hard (teacher) negatives want the small rate, random ones the large
    assert (random_lr, teacher_lr) == (3e-2, 1e-3)

    table = pd.read_csv(tmp_path / "lr_selection.csv")
    assert list(table.columns) == list(lr_selection.SELECTION_COLUMNS)
    for sampler, lr in (("random", random_lr), ("teacher", teacher_lr)):
        rows = table[table["sampler"] == sampler].sort_values("lr")
        assert rows["chosen"].sum() == 1
        assert rows.loc[rows["chosen"], "lr"].item() == lr
        best = rows.loc[rows["validation_misordering"].idxmin(), "lr"]
        assert best == lr
    # the rate one sampler would impose is worse on the other's own validation queries
    teacher = table[table["sampler"] == "teacher"].set_index("lr")["validation_misordering"]
    assert teacher[random_lr] > teacher[teacher_lr]

    # each selection read only its own sampler's training groups (keys sorted: random, teacher)
    order = sorted({c.sampler for c in PER_SAMPLER.conditions()})
    for i, sampler in enumerate(order):
        own = set(map(tuple, state.splits[sampler].train.doc_ids))
        fit, validation = seen[i]
        assert fit | validation <= own and fit.isdisjoint(validation)
    assert seen[0][0] != seen[1][0]


def test_fixed_rate_is_keyed_by_sampler_too(tmp_path):
    inputs = synthetic_inputs(seed=7, n_train=30, n_docs=150, dim=8, k=5, n_test=2, depth=5)
    preset = Preset("fixed", samplers=("bm25", "random"), losses=("lce",), seeds=(0,), lr=0.01)
    state = GridState.build(inputs, preset, preset.conditions())
    lrs = learning_rates(inputs, preset, tmp_path, "cpu", state)
    assert lrs == {("frozen", "bi", "lce", s): 0.01 for s in ("bm25", "random")}
    assert not (tmp_path / "lr_selection.csv").exists()
