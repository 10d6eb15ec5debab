"""Corollary 2.1 on the trained loss: the κ exponent (κ^k for the anchored MarginMSE) and the
exact population risk of the anchored MarginMSE against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from locent.simulate.draw import positive_first
from locent.simulate.transfer import (
    anchored_margin_mse_risk,
    corollary_trained_loss,
    support_pairs_risk,
    transfer_exponent,
)
from locent.theory import LOSSES, density_ratio, population_pairwise_risk, transfer_bound


def brute_force_group_risk(loss, f, g, p, k, tau=1.0):
    """E over k i.i.d. draws from ``p`` of the trained per-query loss (teacher-best first)."""
    N = len(p)
    total = 0.0
    for combo in itertools.product(range(N), repeat=k):
        weight = float(np.prod([p[i] for i in combo]))
        if weight == 0.0:
            continue
        items = torch.tensor(combo)[None]
        items, scores = positive_first(items, torch.as_tensor(g, dtype=torch.float64)[items])
        s = torch.as_tensor(f, dtype=torch.float64)[items]
        total += weight * float(LOSSES[loss](s, scores, tau=tau)[0])
    return total


# THEORY.md §5 / issue 12: the counterexample to κ² for the anchored MarginMSE
T = np.array([10.0, 1.0, 0.0])
RESIDUAL = np.array([0.0, 1.0, -1.0])
MU = np.array([0.0, 0.5, 0.5])
NU = np.array([0.1, 0.45, 0.45])
K = 4


def test_counterexample_needs_kappa_to_the_k():
    f = T + RESIDUAL
    r_mu = brute_force_group_risk("margin_mse", f, T, MU, K)
    r_nu = brute_force_group_risk("margin_mse", f, T, NU, K)
    kappa = float(density_ratio(MU[None], NU[None])[0])
    assert kappa == pytest.approx(0.5 / 0.45)
    assert r_mu == pytest.approx(7 / 3)
    assert kappa**2 * r_nu == pytest.approx(2.2916, abs=1e-3)
    assert r_mu > float(transfer_bound(r_nu, kappa))  # κ² fails: the defect
    assert r_mu <= float(transfer_bound(r_nu, kappa, group_size=K))  # κ^k holds
    # the closed form gives the same two risks
    t = torch.as_tensor(T)[None]
    res = torch.as_tensor(RESIDUAL)[None]
    closed_mu = anchored_margin_mse_risk(res, t, torch.as_tensor(MU)[None], K)
    closed_nu = anchored_margin_mse_risk(res, t, torch.as_tensor(NU)[None], K)
    assert float(closed_mu[0]) == pytest.approx(r_mu, rel=1e-12)
    assert float(closed_nu[0]) == pytest.approx(r_nu, rel=1e-12)


def test_exponent_follows_the_trained_loss():
    assert transfer_exponent("soft_ranknet", 6) == 2
    assert transfer_exponent("margin_mse", 6) == 6
    for loss in ("listwise_kl", "lce", "hard_ranknet"):
        assert transfer_exponent(loss, 8) == 8
    with pytest.raises(ValueError, match="group_size"):
        transfer_exponent("margin_mse", 1)


@pytest.mark.parametrize("N,k,seed", [(4, 3, 0), (5, 2, 1), (3, 5, 2)])
def test_anchored_risk_matches_enumeration(N, k, seed):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=N) * 3
    f = rng.normal(size=N)
    p = rng.dirichlet(np.ones(N))
    p[rng.integers(N)] = 0.0  # a zero-mass item
    p /= p.sum()
    want = brute_force_group_risk("margin_mse", f, g, p, k)
    got = anchored_margin_mse_risk(
        torch.as_tensor(f - g)[None], torch.as_tensor(g)[None], torch.as_tensor(p)[None], k
    )
    assert float(got[0]) == pytest.approx(want, rel=1e-10)


def test_anchored_risk_rejects_teacher_ties():
    g = torch.tensor([[1.0, 1.0, 0.0]])
    p = torch.tensor([[0.5, 0.25, 0.25]])
    with pytest.raises(ValueError, match="corollary query 0"):
        anchored_margin_mse_risk(torch.zeros(1, 3, dtype=torch.float64), g.double(), p.double(), 3)


def test_support_pairs_risk_is_a_lower_part_of_the_nu_risk():
    rng = np.random.default_rng(4)
    N = 7
    g = torch.as_tensor(rng.normal(size=(2, N)))
    f = torch.as_tensor(rng.normal(size=(2, N)))
    nu = torch.as_tensor(rng.dirichlet(np.ones(N), size=2))
    mu = torch.zeros(2, N, dtype=torch.float64)
    mu[:, :3] = 1 / 3
    r_mu, r_nu_s = support_pairs_risk(f, g, mu, nu, 0.7)
    full_mu = population_pairwise_risk(f, g, mu, "soft_ranknet", 0.7)
    full_nu = population_pairwise_risk(f, g, nu, "soft_ranknet", 0.7)
    assert torch.allclose(r_mu, full_mu, rtol=1e-12)
    assert bool((r_nu_s <= full_nu + 1e-15).all()) and bool((r_nu_s > 0).all())
    # by hand: Σ over the support pairs (ordered, diagonal 0) of ν ν KL
    i, j = np.meshgrid(range(3), range(3), indexing="ij")
    kl = LOSSES["soft_ranknet"](f[0, [0, 1]][None], g[0, [0, 1]][None], tau=0.7)
    pair01 = 2 * float(nu[0, 0] * nu[0, 1]) * float(kl[0])
    assert float(r_nu_s[0]) > pair01 > 0


def test_corollary_trained_loss_flags_kappa_squared_only_with_group_size_two():
    """The exact check on the counterexample: with e = k it passes; had it used e = 2 (the
    old all-pairs exponent applied to the anchored loss) it would report a violation."""
    f = torch.as_tensor(T + RESIDUAL)[None, None, None]  # (S=1, A=1, c=1, N=3)
    t, mu, nu = (torch.as_tensor(v)[None] for v in (T, MU, NU))
    kappa = torch.as_tensor(density_ratio(MU[None], NU[None]))
    checks, bad = corollary_trained_loss(f, t, mu, nu, kappa, ["margin_mse"], [1.0], K)
    assert int(checks) == 1 and int(bad) == 0
    r_mu = anchored_margin_mse_risk(f[0, 0] - t, t, mu, K)
    r_nu = anchored_margin_mse_risk(f[0, 0] - t, t, nu, K)
    assert bool((r_mu > transfer_bound(r_nu, kappa)).all())  # what κ² would have said
    # losses without an exact group form are not checked (and counted as such)
    checks, bad = corollary_trained_loss(
        f.expand(1, 2, 1, 3), t, mu, nu, kappa, ["listwise_kl", "soft_ranknet"], [1.0, 1.0], K
    )
    assert checks.tolist() == [[0, 1]] and bad.tolist() == [[0, 0]]
