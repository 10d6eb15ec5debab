"""DDP: 2 gloo processes under torchrun give the loss curve of 1 process (same global batch)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from locent.realdata import training
from locent.realdata.store import write_groups
from locent.realdata.training_synthetic import synthetic_inputs


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    inputs = synthetic_inputs(seed=3, n_train=48, n_docs=200, dim=8, k=6, n_test=2, depth=6)
    write_groups(inputs.groups["teacher"], root / "teacher.parquet")
    inputs.features["frozen"].to_npz(root / "emb.npz")
    return root


def _args(files, log, extra=()):
    return [
        "--groups", str(files / "teacher.parquet"),
        "--embeddings", str(files / "emb.npz"),
        "--loss", "soft_ranknet", "--steps", "8", "--batch-size", "8", "--seed", "5",
        "--device", "cpu", "--log-out", str(log), *extra,
    ]  # fmt: skip


def test_two_gloo_processes_match_one_process(files, tmp_path):
    torch.set_num_threads(1)
    assert training.main(_args(files, tmp_path / "one.parquet")) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LOCENT_NO_PROGRESS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "locent.realdata.training", *_args(files, tmp_path / "two.parquet"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '"world_size": 2' in proc.stdout
    one = pd.read_parquet(tmp_path / "one.parquet")
    two = pd.read_parquet(tmp_path / "two.parquet")
    assert len(one) == len(two) == 8
    for col in ("loss", "kl", "grad_norm", "lr"):
        np.testing.assert_allclose(two[col], one[col], rtol=1e-5, atol=1e-7, err_msg=col)
    assert one["loss"].iloc[-1] < one["loss"].iloc[0]
