"""Batched training: norm constraint after every step, batched == one at a time, bad inputs."""

from __future__ import annotations

import pytest
import torch
from locent.simulate.draw import draw_sample
from locent.simulate.samplers import SamplerSpec, inclusion_probabilities
from locent.simulate.spaces import load_space
from locent.simulate.teachers import make_teacher
from locent.simulate.training import train_batched

LOSSES = ["margin_mse", "soft_ranknet", "listwise_kl", "lce", "hard_ranknet"]


@pytest.fixture(scope="module")
def sample():
    sp = load_space("sphere-vmf/D=4/N=100/Q=40/K=2/kappa=5.0", seed=0)
    te = make_teacher(sp.queries, seed=0)
    nu, _ = inclusion_probabilities(SamplerSpec("knn", 20.0), sp.queries, sp.items, te)
    q, x, g, _ = draw_sample(sp, te, nu, 24, 5, seeds=[0, 1])
    return q, x, g


def test_norm_constraint_after_every_step(sample):
    q, x, g = sample
    radius = 0.5  # small: the constraint binds
    res = train_batched(q, x, g, LOSSES, [0.3] * 5, radius=radius, steps=20, lr=0.2)
    assert res.norm_ratio_per_step.shape == (20,)
    assert float(res.norm_ratio_per_step.max()) <= 1.0 + 1e-12
    assert res.max_norm_ratio <= 1.0 + 1e-12
    assert float(res.norm_ratio_per_step.max()) > 0.99  # it did bind
    assert torch.all(res.w.norm(dim=-1) <= radius * (1 + 1e-12))


def test_batched_equals_one_at_a_time(sample):
    q, x, g = sample
    taus = [0.3, 1.0, 0.3, 0.3, 0.3]
    batched = train_batched(q, x, g, LOSSES, taus, radius=3.0, steps=15, lr=0.1)
    s = 1
    for a, (loss, tau) in enumerate(zip(LOSSES, taus)):
        single = train_batched(
            q[s : s + 1], x[s : s + 1], g[s : s + 1], [loss], [tau], radius=3.0, steps=15, lr=0.1
        )
        torch.testing.assert_close(single.w[0, 0], batched.w[s, a], rtol=1e-10, atol=1e-12)


def test_training_reduces_loss(sample):
    q, x, g = sample
    short = train_batched(q, x, g, LOSSES, [0.5] * 5, radius=3.0, steps=1, lr=0.05)
    long = train_batched(q, x, g, LOSSES, [0.5] * 5, radius=3.0, steps=15, lr=0.05)
    assert torch.all(long.final_loss < short.final_loss)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(losses=["nope"], taus=[1.0]), "unknown loss"),
        (dict(losses=["soft_ranknet"], taus=[0.0]), "tau=0.0"),
        (dict(losses=["soft_ranknet"], taus=[1.0, 2.0]), "same length"),
        (dict(losses=["soft_ranknet"], taus=[1.0], radius=-1.0), "W=-1.0"),
        (dict(losses=["soft_ranknet"], taus=[1.0], steps=0), "steps=0"),
    ],
)
def test_bad_training_config(sample, kwargs, match):
    q, x, g = sample
    kwargs.setdefault("radius", 1.0)
    with pytest.raises(ValueError, match=match):
        train_batched(q, x, g, **kwargs)
