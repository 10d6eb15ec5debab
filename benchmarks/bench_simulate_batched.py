"""Batched training of many configurations vs one configuration at a time (target >= 5x).

Run: ``pytest benchmarks/bench_simulate_batched.py --benchmark-only -p no:cacheprovider``.
Workload: the paper preset's shape for one sampler and one n: 8 seeds x (3 tau x 5 losses)
= 120 configurations, n = 128 queries, k = 8, D = 4, 50 projected-Adam steps, float64,
single-threaded torch (as the sweep runs).
"""

from __future__ import annotations

import pytest
import torch
from locent.simulate.draw import draw_sample
from locent.simulate.samplers import SamplerSpec, inclusion_probabilities
from locent.simulate.spaces import load_space
from locent.simulate.teachers import make_teacher
from locent.simulate.training import train_batched

LOSSES = ("margin_mse", "soft_ranknet", "listwise_kl", "lce", "hard_ranknet")
STEPS = 50


@pytest.fixture(scope="module")
def workload():
    torch.set_num_threads(1)
    sp = load_space("sphere-vmf/D=4/N=1024/Q=400/K=8/kappa=8.0", seed=0)
    te = make_teacher(sp.queries, seed=0)
    nu, _ = inclusion_probabilities(SamplerSpec("knn", 128.0), sp.queries, sp.items, te)
    q, x, g, _ = draw_sample(sp, te, nu, 128, 8, seeds=list(range(8)))
    combos = [(te.lipschitz * u, loss) for u in (1 / 32, 1 / 8, 1 / 2) for loss in LOSSES]
    return q, x, g, combos


def _batched(q, x, g, combos):
    return train_batched(
        q, x, g, [c[1] for c in combos], [c[0] for c in combos], radius=4.0, steps=STEPS, lr=0.05
    )


def _one_at_a_time(q, x, g, combos):
    out = []
    for s in range(q.shape[0]):
        for tau, loss in combos:
            r = train_batched(
                q[s : s + 1],
                x[s : s + 1],
                g[s : s + 1],
                [loss],
                [tau],
                radius=4.0,
                steps=STEPS,
                lr=0.05,
            )
            out.append(r.w)
    return out


def test_batched(benchmark, workload):
    benchmark.pedantic(_batched, args=workload, rounds=3, iterations=1)


def test_one_at_a_time(benchmark, workload):
    benchmark.pedantic(_one_at_a_time, args=workload, rounds=1, iterations=1)
