"""Training throughput (groups per second) of both student families on this machine.

Run: ``pytest benchmarks/bench_realdata_training.py --benchmark-only -p no:cacheprovider``.
Each benchmark round is ``STEPS`` optimiser steps of ``BATCH`` groups of k items (1 torch
thread: the grid's setting); groups/s = STEPS · BATCH / (mean round time), printed in
``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from locent.realdata.features import FrozenFeatures, GroupData, TextFeatures
from locent.realdata.students import TransformerStudent, build_student, default_backbone
from locent.realdata.trainer import TrainConfig, train

K = 8


def _frozen_data(n=512, dim=384, n_docs=4000, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, dim)).astype(np.float32)
    d = rng.normal(size=(n_docs, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    qids = np.array([f"q{i}" for i in range(n)], dtype=object)
    dids = np.array([f"d{i}" for i in range(n_docs)], dtype=object)
    items = rng.integers(0, n_docs, size=(n, K))
    feats = FrozenFeatures(qids, q, dids, d)
    return GroupData(qids, dids[items], rng.normal(size=(n, K)) * 3, feats)


def _text_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array("the of passage query ranking model teacher student locality entropy".split())
    qids = np.array([f"q{i}" for i in range(n)], dtype=object)
    dids = np.array([[f"d{i}_{j}" for j in range(K)] for i in range(n)], dtype=object)
    queries = {q: " ".join(rng.choice(words, 8)) for q in qids}
    docs = {d: " ".join(rng.choice(words, 120)) for d in dids.ravel()}
    return GroupData(qids, dids, rng.normal(size=(n, K)), TextFeatures(queries, docs))


def _bench(benchmark, make_student, data, steps, batch):
    torch.set_num_threads(1)
    config = TrainConfig(loss="soft_ranknet", steps=steps, batch_size=batch)

    def run():
        torch.manual_seed(0)
        train(make_student(), data, config, "cpu", show_progress=False)

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["groups_per_s"] = steps * batch / benchmark.stats.stats.mean
    print(f"\n{benchmark.name}: {benchmark.extra_info['groups_per_s']:.1f} groups/s")


@pytest.mark.parametrize("arch", ["bi", "cross"])
def test_frozen_throughput(benchmark, arch):
    data = _frozen_data()
    _bench(benchmark, lambda: build_student("frozen", arch, dim=384), data, steps=50, batch=32)


@pytest.mark.parametrize("arch", ["cross", "bi"])
def test_transformer_throughput(benchmark, arch):
    if not (default_backbone() / "config.json").exists():
        pytest.skip("no offline backbone")
    data = _text_data()
    _bench(benchmark, lambda: TransformerStudent(arch=arch), data, steps=4, batch=8)
