"""population_pairwise_risk: the population pair-wise risk Σ_{i,j} ν_i ν_j ℓ(x_i, x_j)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from locent.theory import (
    density_ratio,
    misordering_counts,
    pairwise_risk,
    population_pairwise_risk,
    soft_ranknet,
    transfer_bound,
)


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def _pair_loss(loss, fi, fj, gi, gj, tau):
    """ℓ(f; x_i, x_j) written out for one ordered pair (the definitions, not the library)."""
    mf, mg = fi - fj, gi - gj
    if loss == "margin_mse":
        return (mf - mg) ** 2
    if loss == "soft_ranknet":
        p, r = _sigmoid(mg / tau), _sigmoid(mf / tau)
        return p * math.log(p / r) + (1 - p) * math.log((1 - p) / (1 - r))
    return 1.0 if mf * mg < 0 else 0.0


def _brute_force(loss, f, g, w, tau=1.0):
    """Σ_i Σ_j w_i w_j ℓ(i, j) over all ordered pairs of each group, by explicit loops."""
    out = np.empty(f.shape[:-1])
    for idx in np.ndindex(*f.shape[:-1]):
        k = f.shape[-1]
        out[idx] = sum(
            w[idx][i]
            * w[idx][j]
            * _pair_loss(loss, f[idx][i], f[idx][j], g[idx][i], g[idx][j], tau)
            for i in range(k)
            for j in range(k)
        )
    return out


@pytest.mark.parametrize("loss", ["margin_mse", "soft_ranknet", "misordering"])
def test_equals_the_double_sum_over_ordered_pairs(loss):
    rng = np.random.default_rng(7)
    f = rng.normal(size=(4, 3, 9))
    g = rng.normal(size=(4, 3, 9)) * 2.0
    g[0, 0, :3] = g[0, 0, 3]  # teacher ties: never misorders
    f[1, 1, :2] = f[1, 1, 2]  # student ties: not misorders either
    w = rng.dirichlet(np.full(9, 0.5), size=(4, 3))
    w[2, 0, 4:] = 0.0  # a measure on part of the group
    w[2, 0] /= w[2, 0].sum()
    got = population_pairwise_risk(f, g, w, loss=loss, tau=0.7)
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got, _brute_force(loss, f, g, w, tau=0.7), rtol=1e-12, atol=0)


def test_margin_mse_with_uniform_weights_is_twice_the_variance_of_the_residual():
    rng = np.random.default_rng(0)
    f, g = rng.normal(size=(50, 12)), rng.normal(size=(50, 12))
    uniform = np.full((50, 12), 1 / 12)
    got = population_pairwise_risk(f, g, uniform)
    np.testing.assert_allclose(got, 2.0 * np.var(f - g, axis=-1), rtol=1e-13)
    # non-uniform: 2 (Σ w e² − (Σ w e)²)
    w = rng.dirichlet(np.ones(12), size=50)
    e = f - g
    expected = 2.0 * ((w * e**2).sum(-1) - (w * e).sum(-1) ** 2)
    np.testing.assert_allclose(population_pairwise_risk(f, g, w), expected, rtol=1e-11)


def test_margin_mse_keeps_precision_when_the_mean_residual_is_large():
    # e = 1e6 + x: the uncentred 2(Σwe² − (Σwe)²) loses ~1e-4 relative accuracy here
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 30))
    uniform = np.full((20, 30), 1 / 30)
    got = population_pairwise_risk(x + 1e6, np.zeros_like(x), uniform)
    np.testing.assert_allclose(got, 2.0 * np.var(x, axis=-1), rtol=1e-8)


def test_uniform_weights_give_k_minus_1_over_k_times_the_per_query_estimator():
    rng = np.random.default_rng(2)
    k = 7
    f, g = rng.normal(size=(30, k)), rng.normal(size=(30, k))
    uniform = np.full(k, 1 / k)  # one measure for every group (leading axes broadcast)
    factor = (k - 1) / k
    np.testing.assert_allclose(
        population_pairwise_risk(f, g, uniform, loss="soft_ranknet", tau=0.5),
        factor * soft_ranknet(f, g, tau=0.5),
        rtol=1e-12,
    )
    misordered, _, _ = misordering_counts(f, g)
    np.testing.assert_allclose(
        population_pairwise_risk(f, g, uniform, loss="misordering"),
        factor * misordered / (k * (k - 1) / 2),
        rtol=1e-12,
    )
    # and the mean over queries is pairwise_risk of the per-group risks
    per_group = population_pairwise_risk(f, g, uniform)
    assert pairwise_risk(per_group) == pytest.approx(float(np.mean(per_group)), rel=1e-15)


def test_per_group_tau_and_a_point_mass():
    rng = np.random.default_rng(3)
    f, g = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    tau = np.array([0.2, 0.5, 1.0, 2.0, 4.0])
    w = rng.dirichlet(np.ones(6), size=5)
    got = population_pairwise_risk(f, g, w, loss="soft_ranknet", tau=tau)
    for q in range(5):
        one = population_pairwise_risk(f[q], g[q], w[q], loss="soft_ranknet", tau=tau[q])
        assert got[q] == pytest.approx(float(one), rel=1e-13)
    # a point mass puts all weight on the diagonal, where every pair loss is 0
    point = np.eye(6)[[0, 2, 5, 1, 3]]
    for loss in ("margin_mse", "soft_ranknet", "misordering"):
        np.testing.assert_array_equal(population_pairwise_risk(f, g, point, loss=loss), 0.0)


def test_corollary_transfer_holds_with_the_population_risk():
    # R^μ ≤ κ² R^ν (Corollary 2.1), and a μ concentrated on the item of largest ratio attains it
    rng = np.random.default_rng(4)
    nu = rng.dirichlet(np.ones(10), size=200)
    mu = np.where(rng.uniform(size=(200, 10)) < 0.5, rng.dirichlet(np.ones(10), size=200), 0.0)
    mu[:, 0] += 1e-3
    mu /= mu.sum(-1, keepdims=True)
    kappa = density_ratio(mu, nu)
    f, g = rng.normal(size=(200, 10)), rng.normal(size=(200, 10))
    for loss in ("margin_mse", "soft_ranknet", "misordering"):
        r_mu = population_pairwise_risk(f, g, mu, loss=loss)
        r_nu = population_pairwise_risk(f, g, nu, loss=loss)
        assert np.all(r_mu <= transfer_bound(r_nu, kappa) * (1 + 1e-12))


def test_torch_in_torch_out_with_autograd():
    rng = np.random.default_rng(5)
    f = torch.tensor(rng.normal(size=(3, 5)), requires_grad=True)
    g = torch.tensor(rng.normal(size=(3, 5)))
    w = torch.tensor(rng.dirichlet(np.ones(5), size=3))
    for loss in ("margin_mse", "soft_ranknet"):
        out = population_pairwise_risk(f, g, w, loss=loss, tau=0.8)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
        np.testing.assert_allclose(
            out.detach().numpy(),
            population_pairwise_risk(f.detach().numpy(), g.numpy(), w.numpy(), loss=loss, tau=0.8),
            rtol=1e-14,
        )
        assert torch.autograd.gradcheck(
            lambda s, loss=loss: population_pairwise_risk(s, g, w, loss=loss, tau=0.8), (f,)
        )
    # float32 in, float32 out
    out32 = population_pairwise_risk(f.detach().float(), g.float(), w.float())
    assert out32.dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss": "hinge"}, "loss must be one of"),
        ({"weights": np.full((4, 5), 0.25)}, "weights: group 0 sums to 1.25"),
        ({"weights": np.array([0.5, 0.5, 0.5, -0.5, 0.0])}, "weights must be finite and in"),
        ({"weights": np.array([0.5, 0.5, np.nan, 0.0, 0.0])}, "weights must be finite"),
        ({"weights": np.full((3, 5), 0.2)}, "does not broadcast"),
        ({"weights": np.full((4, 4), 0.25)}, "does not broadcast"),
        ({"weights": np.ones((4, 1))}, "does not broadcast"),
        ({"student": np.full((4, 5), np.inf)}, "student: non-finite value"),
        ({"teacher": np.zeros((4, 6))}, "does not match teacher shape"),
        ({"loss": "soft_ranknet", "tau": 0.0}, "tau must be > 0"),
    ],
)
def test_bad_input_raises_naming_the_argument(kwargs, message):
    args = {
        "student": np.zeros((4, 5)),
        "teacher": np.zeros((4, 5)),
        "weights": np.full((4, 5), 0.2),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        population_pairwise_risk(**args)
