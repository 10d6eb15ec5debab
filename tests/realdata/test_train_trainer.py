"""The trainer: determinism, resume after an interrupt, accumulation, schedules, device logic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from locent.realdata.features import GroupData
from locent.realdata.grid.synthetic import synthetic_inputs
from locent.realdata.students import build_student
from locent.realdata.trainer import (
    TrainConfig,
    amp_settings,
    lr_lambda,
    step_rows,
    train,
)

from locent.resources import resolve_device


@pytest.fixture(scope="module")
def world():
    torch.set_num_threads(1)
    inputs = synthetic_inputs(seed=0, n_train=40, n_docs=200, dim=8, k=6, n_test=4, depth=10)
    return GroupData.from_groups(inputs.groups["bm25"], inputs.features["frozen"])


def _run(data, config, **kw):
    torch.manual_seed(config.seed)
    student = build_student("frozen", kw.pop("arch", "bi"), dim=8)
    result = train(student, data, config, "cpu", show_progress=False, **kw)
    return result, torch.cat([p.detach().flatten() for p in student.parameters()])


def test_step_rows_is_a_seeded_stream_of_permutations():
    rows = np.concatenate([step_rows(10, 4, 3, s) for s in range(5)])  # 20 rows = 2 epochs
    assert sorted(rows[:10]) == list(range(10)) and sorted(rows[10:]) == list(range(10))
    np.testing.assert_array_equal(step_rows(10, 4, 3, 2), step_rows(10, 4, 3, 2))
    assert not np.array_equal(step_rows(10, 4, 3, 0), step_rows(10, 4, 4, 0))
    # a subset smaller than the batch is cycled: the budget stays the same
    assert len(step_rows(3, 8, 0, 5)) == 8
    with pytest.raises(ValueError, match="no training groups"):
        step_rows(0, 4, 0, 0)


def test_same_seed_same_run_different_seed_differs(world):
    cfg = TrainConfig(loss="soft_ranknet", steps=10, batch_size=8, seed=1)
    a, pa = _run(world, cfg)
    b, pb = _run(world, cfg)
    pd.testing.assert_frame_equal(a.logs, b.logs)
    assert torch.equal(pa, pb)
    c, _ = _run(world, TrainConfig(loss="soft_ranknet", steps=10, batch_size=8, seed=2))
    assert not np.allclose(a.logs["loss"], c.logs["loss"])
    assert list(a.logs.columns) == ["step", "loss", "kl", "grad_norm", "lr"]
    assert a.completed and a.steps_done == 10


@pytest.mark.parametrize("loss,arch", [("listwise_kl", "bi"), ("margin_mse", "cross")])
def test_resume_after_interrupt_reproduces(world, tmp_path, loss, arch):
    cfg = TrainConfig(loss=loss, steps=12, batch_size=8, seed=4, checkpoint_every=5)
    full, p_full = _run(world, cfg, arch=arch)
    part, _ = _run(world, cfg, checkpoint_dir=tmp_path, stop_after=7, arch=arch)
    assert not part.completed and part.steps_done == 7
    assert (tmp_path / "checkpoint.pt").exists()
    # a fresh process: a new student object, resumed from the checkpoint
    resumed, p_res = _run(world, cfg, checkpoint_dir=tmp_path, arch=arch)
    assert resumed.completed
    pd.testing.assert_frame_equal(full.logs, resumed.logs)
    torch.testing.assert_close(p_full, p_res, rtol=0, atol=0)


def test_checkpoint_of_another_config_is_refused(world, tmp_path):
    _run(world, TrainConfig(steps=3, batch_size=4), checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="different configuration"):
        _run(world, TrainConfig(steps=3, batch_size=4, lr=0.5), checkpoint_dir=tmp_path)


def test_grad_accumulation_matches_one_big_batch(world):
    base = dict(loss="soft_ranknet", steps=6, batch_size=8, seed=0)
    one, p1 = _run(world, TrainConfig(**base))
    acc, p2 = _run(world, TrainConfig(**base, grad_accum=4))
    np.testing.assert_allclose(one.logs["loss"], acc.logs["loss"], rtol=1e-5)
    np.testing.assert_allclose(one.logs["grad_norm"], acc.logs["grad_norm"], rtol=1e-4)
    torch.testing.assert_close(p1, p2, rtol=1e-4, atol=1e-6)


def test_training_reduces_the_distillation_loss(world):
    res, _ = _run(world, TrainConfig(loss="soft_ranknet", steps=60, batch_size=16, lr=5e-3))
    first, last = res.logs["loss"].iloc[:5].mean(), res.logs["loss"].iloc[-5:].mean()
    assert last < 0.8 * first, (first, last)
    assert (res.logs["kl"] >= 0).all() and (res.logs["grad_norm"] > 0).all()


def test_lr_schedule_warmup_then_linear_decay():
    cfg = TrainConfig(steps=10, warmup_frac=0.2)
    f = lr_lambda(cfg)
    assert [f(s) for s in range(10)] == pytest.approx(
        [0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]
    )


def test_config_validation():
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig(loss="hinge").validate()
    with pytest.raises(ValueError, match="divisible"):
        TrainConfig(batch_size=6, grad_accum=4).validate()
    with pytest.raises(ValueError, match="divisible"):
        TrainConfig(batch_size=6).validate(world=4)
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0).validate()


def test_device_and_amp_selection_logic():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert amp_settings(cpu, True) == (None, False)  # AMP never on CPU
    assert amp_settings(cuda, False) == (None, False)
    assert amp_settings(cuda, True, bf16_supported=True) == (torch.bfloat16, False)
    assert amp_settings(cuda, True, bf16_supported=False) == (torch.float16, True)


def test_missing_features_name_the_id(world):
    from locent.realdata.features import FrozenFeatures

    feats = world.features
    small = FrozenFeatures(feats.query_ids[:3], feats.query_vecs[:3], feats.doc_ids, feats.doc_vecs)
    with pytest.raises(ValueError, match="first missing query id"):
        GroupData(world.query_ids, world.doc_ids, world.teacher_scores, small)
    bad = world.teacher_scores.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="first query 'q2'"):
        GroupData(world.query_ids, world.doc_ids, bad, feats)
