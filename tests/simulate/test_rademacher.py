"""The Monte-Carlo Rademacher complexity of the pair-margin class against its closed form, the
Jensen step and the bound's WΛΔ_Q/√n."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from locent.simulate.rademacher import (
    feature_differences,
    pair_positions,
    rademacher_margin_class,
)
from locent.simulate.students import feature_lipschitz, features


def _sphere(rng, shape):
    v = rng.normal(size=shape)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _sample(n=5, k=3, D=3, S=2, seed=0):
    rng = np.random.default_rng(seed)
    q = torch.as_tensor(_sphere(rng, (S, n, D)))
    x = torch.as_tensor(_sphere(rng, (S, n, k, D)))
    return q, x


def test_pair_positions():
    a, b = pair_positions(4, "all")
    assert list(zip(a.tolist(), b.tolist())) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    a, b = pair_positions(4, "anchored")
    assert list(zip(a.tolist(), b.tolist())) == [(0, 1), (0, 2), (0, 3)]
    with pytest.raises(ValueError, match="layout"):
        pair_positions(4, "listwise")


def test_feature_differences_are_differences_of_the_student_features():
    q, x = _sample()
    phi = features(q, x)  # (S, n, k, 2D)
    dphi = feature_differences(q, x, "all")
    assert torch.allclose(dphi[:, :, 2], phi[:, :, 1] - phi[:, :, 2])  # pair (1, 2)
    dphi = feature_differences(q, x, "anchored")
    assert torch.allclose(dphi[:, :, 1], phi[:, :, 0] - phi[:, :, 2])  # pair (0, 2)


@pytest.mark.parametrize("layout", ["all", "anchored"])
def test_monte_carlo_matches_exact_enumeration(layout):
    q, x = _sample(n=6)
    est = rademacher_margin_class(q, x, layout, seed=1, draws=40_000)
    dphi = feature_differences(q, x, layout).numpy()  # (S, n, P, F)
    n = dphi.shape[1]
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))  # all 2^n
    exact = np.linalg.norm(np.einsum("bn,snpf->sbpf", signs, dphi), axis=-1).mean((1, 2)) / n
    assert np.all(np.abs(est.mc.numpy() - exact) < 4 * est.mc_se.numpy())
    # the proof's chain: E‖Σσ Δϕ‖/n ≤ √(Σ‖Δϕ‖²)/n ≤ ΛΔ/√n, ‖Δϕ‖ ≤ ΛΔ with Δ = 2 on the sphere
    assert np.all(exact <= est.jensen.numpy() + 1e-12)
    lam = feature_lipschitz(q.reshape(-1, q.shape[-1]).numpy())
    assert np.all(est.max_pair_norm.numpy() <= lam * 2 + 1e-12)
    assert np.all(est.jensen.numpy() <= lam * 2 / np.sqrt(n) + 1e-12)


def test_seeded_and_validated():
    q, x = _sample()
    a = rademacher_margin_class(q, x, "all", seed=5, draws=100)
    b = rademacher_margin_class(q, x, "all", seed=5, draws=100)
    c = rademacher_margin_class(q, x, "all", seed=6, draws=100)
    assert torch.equal(a.mc, b.mc) and not torch.equal(a.mc, c.mc)
    with pytest.raises(ValueError, match="draws"):
        rademacher_margin_class(q, x, "all", seed=0, draws=1)
