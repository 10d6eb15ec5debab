"""Lemmas A–C, Theorem 2.1 and Corollary 2.1: formulas against typed-out references, and the
distribution-free statements checked EXACTLY on empirical measures of random finite samples."""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
import torch
from locent.theory import (
    BOUNDS,
    EntropyFloor,
    GeneralisationBound,
    LossRange,
    MisorderingBound,
    RademacherBound,
    TransferBound,
    bregman_divergence,
    density_ratio,
    entropy_floor,
    essential_diameter,
    generalisation_bound,
    is_vacuous,
    listwise_kl,
    loss_range,
    margin_mse,
    misordering_bound,
    misordering_bound_margin_mse,
    misordering_counts,
    misordering_generalisation_bound,
    optimal_eta,
    pairwise_entropy,
    parse_bound,
    rademacher_bound,
    rademacher_rho,
    smallest_non_vacuous_n,
    soft_ranknet,
    transfer_bound,
    vc_dim_network,
)
from scipy.optimize import minimize_scalar

ROUND = 1e-12  # float-rounding slack only (relative)

mp.mp.dps = 40


def h(p: float) -> float:
    return float(-p * mp.log(p) - (1 - p) * mp.log1p(-p))


# ----------------------------------------------------------------------------- formulas


@pytest.mark.parametrize(
    "H,R,eta", [(0.3, 0.01, 0.1), (0.0, 0.2, 0.45), (0.69, 0.0, 1e-6), (1e-9, 5.0, 0.49999)]
)
def test_misordering_bound_formula(H, R, eta):
    ref = H / h(mp.mpf(0.5) + eta) + R / (2 * eta**2)
    assert misordering_bound(H, R, eta) == pytest.approx(ref, rel=1e-13)
    tau = 0.7
    ref_mm = (
        H / h(mp.mpf(0.5) + eta)
        + R / float(tau * mp.log((0.5 + mp.mpf(eta)) / (0.5 - mp.mpf(eta)))) ** 2
    )
    assert misordering_bound_margin_mse(H, R, eta, tau) == pytest.approx(ref_mm, rel=1e-12)


def test_optimal_eta_matches_brute_force_and_scipy():
    rng = np.random.default_rng(0)
    H = np.concatenate([rng.uniform(0, 0.7, 20), [1e-8, 0.5]])
    R = np.concatenate([rng.uniform(0, 2, 20) ** 3, [0.3, 1e-10]])
    eta, bound = optimal_eta(H, R)
    assert eta.shape == bound.shape == H.shape
    for g in range(len(H)):

        def f(e, g=g):
            return H[g] / h(0.5 + e) + R[g] / (2 * e**2)

        res = minimize_scalar(
            f, bounds=(1e-12, 0.5 - 1e-15), method="bounded", options={"xatol": 1e-14}
        )
        assert bound[g] <= res.fun * (1 + 1e-9)
        assert bound[g] == pytest.approx(misordering_bound(H[g], R[g], eta[g]), rel=1e-12)
        grid = np.linspace(1e-6, 0.5 - 1e-9, 200_001)
        q = 0.5 - grid
        h_grid = -(q * np.log(q) + (1 - q) * np.log1p(-q))
        assert bound[g] <= np.min(H[g] / h_grid + R[g] / (2 * grid**2)) * (1 + 1e-12)


def test_optimal_eta_limits():
    assert optimal_eta(0.0, 0.0) == (0.25, 0.0)
    eta, b = optimal_eta(0.4, 0.0)
    assert (eta, b) == (0.0, pytest.approx(0.4 / math.log(2), rel=1e-15))
    eta, b = optimal_eta(0.0, 0.3)
    assert (eta, b) == (0.5, pytest.approx(0.6, rel=1e-15))
    # more inputs than one chunk (4096): same answer everywhere, shape kept
    e_big, b_big = optimal_eta(np.full((2, 2500), 0.2), np.full((2, 2500), 0.01))
    e_one, b_one = optimal_eta(0.2, 0.01)
    assert e_big.shape == (2, 2500) and np.all(b_big == b_one) and np.all(e_big == e_one)
    te, tb = optimal_eta(torch.tensor([0.2, 0.0]), torch.tensor([0.01, 0.1]))
    assert isinstance(te, torch.Tensor) and tb[1].item() == pytest.approx(0.2)


def test_theorem_forms_formulas():
    B, d, n, delta, C = 0.7, 50.0, 1000.0, 0.05, 1.3
    est = 2 * B * (C * math.sqrt(d / n) + math.sqrt(math.log(2 / delta) / (2 * n)))
    assert generalisation_bound(B, d, n, delta, C=C) == pytest.approx(est, rel=1e-14)
    H, R, eta = 0.2, 0.05, 0.2
    ref = H / h(0.5 + eta) + (R + est) / (2 * eta**2)
    assert misordering_generalisation_bound(H, R, B, d, n, delta, eta, C=C) == pytest.approx(
        ref, rel=1e-13
    )
    Rh, rho, W, Lam, D = 0.1, 2.0, 3.0, 0.5, 1.2
    ref3 = Rh + 2 * rho * W * Lam * D / math.sqrt(n) + B * math.sqrt(math.log(1 / delta) / (2 * n))
    assert rademacher_bound(Rh, rho, W, Lam, D, n, delta, B) == pytest.approx(ref3, rel=1e-14)
    assert rademacher_rho("soft_ranknet", 0.5, W, Lam, 1.0, D) == 2.0
    assert rademacher_rho("margin_mse", 0.5, W, Lam, 1.0, D) == pytest.approx(
        2 * (W * Lam + 1.0) * D
    )


def test_bounds_broadcast_numpy_and_torch():
    n = np.array([10.0, 100.0, 1000.0])
    out = generalisation_bound(1.0, 5.0, n, 0.1)
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    assert np.all(np.diff(out) < 0)
    tout = generalisation_bound(torch.tensor(1.0, dtype=torch.float64), 5.0, torch.tensor(n), 0.1)
    np.testing.assert_allclose(tout.numpy(), out, rtol=1e-15)
    assert isinstance(misordering_bound(0.1, 0.1, 0.2), float)


# ----------------------------------------------------------------------------- Lemma A (exact)


def _pair_stats(s, t, tau):
    i, j = np.triu_indices(s.shape[-1], 1)
    return s[..., i] - s[..., j], t[..., i] - t[..., j]


@pytest.mark.parametrize("seed", range(6))
def test_lemma_a_exact_on_empirical_measures(seed):
    rng = np.random.default_rng(seed)
    n, k = 300, 12
    scale_t = rng.uniform(0.01, 10, size=(n, 1))
    t = rng.standard_normal((n, k)) * scale_t
    if seed % 2:
        t = np.round(t)  # teacher ties: p = ½ pairs, never misorders
    s = t + rng.standard_normal((n, k)) * rng.uniform(0, 5, size=(n, 1))
    tau = [0.3, 1.0, 2.5][seed % 3]
    mis, _, _ = misordering_counts(s, t)
    n_pairs = k * (k - 1) // 2
    p_mis = mis / n_pairs  # P over the uniform measure on pairs i<j of each group
    H = pairwise_entropy(t, tau=tau)
    R_rn = soft_ranknet(s, t, tau=tau)
    ms, mt = _pair_stats(s, t, tau)
    R_mm = ((ms - mt) ** 2).mean(-1)  # MarginMSE risk over the same pairs
    for eta in (1e-3, 0.05, 0.2, 0.4, 0.499):
        per_query = misordering_bound(H, R_rn, eta)
        assert np.all(p_mis <= per_query * (1 + ROUND)), eta
        assert np.all(p_mis <= misordering_bound_margin_mse(H, R_mm, eta, tau) * (1 + ROUND)), eta
        # averaged over queries: Lemma A for the mixture
        assert p_mis.mean() <= misordering_bound(H.mean(), R_rn.mean(), eta) * (1 + ROUND)
    _, best = optimal_eta(H, R_rn)
    assert np.all(p_mis <= best * (1 + ROUND))


# ----------------------------------------------------------------------------- Lemma B (exact)


@pytest.mark.parametrize("seed", range(4))
def test_lemma_b_entropy_floor_exact(seed):
    rng = np.random.default_rng(100 + seed)
    n, k, dim = 200, 10, 6
    x = rng.standard_normal((n, k, dim)) * rng.uniform(0.05, 1, size=(n, 1, 1))
    x += rng.standard_normal((n, 1, dim))  # local groups around random centres
    u = x / np.linalg.norm(x, axis=-1, keepdims=True)  # the metric space: unit embeddings
    w = rng.standard_normal((n, dim))
    w /= np.linalg.norm(w, axis=-1, keepdims=True)
    L_g = rng.uniform(0.1, 30)
    g = L_g * np.einsum("nkd,nd->nk", u, w)  # |m_g| ≤ L_g ‖u − u'‖ (Cauchy–Schwarz)
    delta = essential_diameter(x, alpha=1.0)
    tau = [0.5, 1.0, 3.0, 10.0][seed]
    H = pairwise_entropy(g, tau=tau)
    floor = entropy_floor(L_g, delta, tau)
    assert np.all(H >= floor * (1 - ROUND))
    # per pair too: h(p) ≥ h(σ(L_g d/τ))
    i, j = np.triu_indices(k, 1)
    d = np.linalg.norm(u[:, i] - u[:, j], axis=-1)
    mg = g[:, i] - g[:, j]
    assert np.all(np.abs(mg) <= L_g * d * (1 + ROUND) + 1e-15)
    assert entropy_floor(L_g, 0.0, tau) == pytest.approx(math.log(2))
    # floor decreases as the diameter grows (locality raises the floor)
    floors = entropy_floor(L_g, np.linspace(0, 2, 50), tau)
    assert np.all(np.diff(floors) <= 0)


# ----------------------------------------------------------------------------- Lemma C (exact)


@pytest.mark.parametrize("seed", range(4))
def test_lemma_c_loss_ranges_exact(seed):
    rng = np.random.default_rng(200 + seed)
    n, k, dim = 200, 8, 5
    x = rng.standard_normal((n, k, dim)) + 3 * rng.standard_normal((n, 1, dim))
    u = x / np.linalg.norm(x, axis=-1, keepdims=True)
    L, L_g = rng.uniform(0.1, 20, size=2)
    tau = [0.3, 1.0, 2.0, 7.0][seed]
    v = rng.standard_normal(dim)
    w = rng.standard_normal(dim)
    f = L * u @ (v / np.linalg.norm(v))  # L-Lipschitz student
    g = L_g * u @ (w / np.linalg.norm(w))  # L_g-Lipschitz teacher
    delta = essential_diameter(x, alpha=1.0)  # Δ_q per query (ess sup of the empirical measure)
    for name, fn in (
        ("margin_mse", margin_mse),
        ("soft_ranknet", soft_ranknet),
        ("listwise_kl", listwise_kl),
    ):
        loss = fn(f, g) if name == "margin_mse" else fn(f, g, tau=tau)
        rng_ = loss_range(name, L, L_g, delta, tau)
        assert np.all(loss <= rng_ * (1 + ROUND)), name
    # per pair soft RankNet ≤ corner value ≤ (L + L_g)² Δ²/(8τ²)
    i, j = np.triu_indices(k, 1)
    per_pair = bregman_divergence("softplus", (f[:, i] - f[:, j]) / tau, (g[:, i] - g[:, j]) / tau)
    b_rn = loss_range("soft_ranknet", L, L_g, delta, tau)
    assert np.all(per_pair <= b_rn[:, None] * (1 + ROUND))
    assert np.all(b_rn <= ((L + L_g) * delta) ** 2 / (8 * tau**2) * (1 + ROUND))


def test_soft_ranknet_corner_is_the_box_maximum():
    for a, b in [(0.5, 0.5), (2.0, 0.3), (0.1, 6.0), (20.0, 20.0), (1000.0, 3.0)]:
        corner = loss_range("soft_ranknet", a, b, 1.0, 1.0)
        with mp.workdps(500):
            sp = lambda z: mp.log1p(mp.exp(z))  # noqa: E731
            sg = lambda z: 1 / (1 + mp.exp(-z))  # noqa: E731
            ref = sp(mp.mpf(a)) - sp(mp.mpf(-b)) - sg(mp.mpf(-b)) * (mp.mpf(a) + b)
        assert corner == pytest.approx(float(ref), rel=1e-12)
        xs = np.linspace(-a, a, 301)
        ys = np.linspace(-b, b, 301)
        box = bregman_divergence("softplus", xs[:, None] + 0 * ys[None], ys[None] + 0 * xs[:, None])
        assert box.max() <= corner * (1 + ROUND)
        assert box.max() == pytest.approx(corner, rel=1e-12)  # attained at a corner
    x = 1.7
    assert loss_range("soft_ranknet", x, x, 1.0) == pytest.approx(x * math.tanh(x / 2), rel=1e-14)
    assert loss_range("margin_mse", 2.0, 1.0, 0.5) == pytest.approx(2.25)
    assert loss_range("listwise_kl", 2.0, 1.0, 0.5, tau=0.25) == pytest.approx(6.0)
    for name in ("lce", "hard_ranknet"):
        with pytest.raises(ValueError, match="contrastive"):
            loss_range(name, 1.0, 1.0, 1.0)


# ------------------------------------------------------------------------ Corollary 2.1 (exact)


@pytest.mark.parametrize("seed", range(5))
def test_corollary_transfer_exact_pairs_and_groups(seed):
    rng = np.random.default_rng(300 + seed)
    K = 7
    nu = rng.dirichlet(np.ones(K))
    mu = rng.dirichlet(np.ones(K) * 0.3)
    if seed == 4:  # target supported on a subset of the sampler's support
        mu[:3] = 0
        mu /= mu.sum()
    kappa = density_ratio(mu, nu)
    loss = rng.exponential(size=(K, K)) * (rng.uniform(size=(K, K)) < 0.7)
    r_mu = mu @ loss @ mu
    r_nu = nu @ loss @ nu
    assert r_mu <= transfer_bound(r_nu, kappa) * (1 + ROUND)
    # a loss on whole groups of 3 i.i.d. items: factor κ³
    loss3 = rng.exponential(size=(K, K, K))
    r3_mu = np.einsum("a,b,c,abc->", mu, mu, mu, loss3)
    r3_nu = np.einsum("a,b,c,abc->", nu, nu, nu, loss3)
    assert r3_mu <= transfer_bound(r3_nu, kappa, group_size=3) * (1 + ROUND)
    # the misordering loss of a fixed student/teacher on the pool
    s, t = rng.standard_normal((2, K))
    mis = np.array([[float((s[a] - s[b]) * (t[a] - t[b]) < 0) for b in range(K)] for a in range(K)])
    assert mu @ mis @ mu <= transfer_bound(nu @ mis @ nu, kappa) * (1 + ROUND)


def test_transfer_with_infinite_kappa_and_exhaustive_small_case():
    assert transfer_bound(0.0, math.inf) == math.inf
    assert transfer_bound(0.2, 2.0) == pytest.approx(0.8)
    assert transfer_bound(
        np.array([0.1, 0.0]), np.array([3.0, math.inf]), group_size=3
    ).tolist() == [
        pytest.approx(2.7),
        math.inf,
    ]
    # exhaustive over all pair losses in {0, 1} on a 3-point pool
    mu, nu = np.array([0.6, 0.4, 0.0]), np.array([0.3, 0.3, 0.4])
    kappa = density_ratio(mu, nu)
    for bits in itertools.product([0.0, 1.0], repeat=9):
        loss = np.array(bits).reshape(3, 3)
        assert mu @ loss @ mu <= transfer_bound(nu @ loss @ nu, kappa) * (1 + ROUND)


# ----------------------------------------------------------------------------- vacuity


def test_bert_scale_vacuity_and_smallest_n():
    d = vc_dim_network(1.1e8, 12)
    assert 1e10 <= d <= 1e11
    gap = generalisation_bound(1.0, d, 5e5, 0.05)
    assert gap > 100 and is_vacuous(gap, 1.0)
    for C in (0.5, 1.0):
        n_star = smallest_non_vacuous_n("i", loss_range=1.0, delta=0.05, vc_dim=d, C=C)
        assert isinstance(n_star, int)
        assert not is_vacuous(generalisation_bound(1.0, d, n_star, 0.05, C=C), 1.0)
        assert is_vacuous(generalisation_bound(1.0, d, n_star - 1, 0.05, C=C), 1.0)
    args = dict(
        loss_range=0.8,
        delta=0.05,
        empirical_risk=0.1,
        rho=2.0,
        weight_norm=1.0,
        feature_lipschitz=1.0,
        diameter=0.9,
    )
    n3 = smallest_non_vacuous_n("iii", **args)
    bound = lambda n: rademacher_bound(0.1, 2.0, 1.0, 1.0, 0.9, n, 0.05, 0.8)  # noqa: E731
    assert bound(n3) < 0.8 <= bound(n3 - 1)
    assert smallest_non_vacuous_n("iii", **{**args, "empirical_risk": 0.8}) == math.inf
    arr = smallest_non_vacuous_n("i", loss_range=1.0, delta=np.array([0.05, 0.5]), vc_dim=10.0)
    assert isinstance(arr, np.ndarray) and arr[0] > arr[1]


# ----------------------------------------------------------------------------- bound objects


def test_bound_objects_repr_parse_and_values():
    b = RademacherBound(delta=0.05)
    assert repr(b) == "RademacherBound(delta=0.05)"
    assert parse_bound("RademacherBound(delta=0.05)") == b
    assert parse_bound(repr(MisorderingBound())) == MisorderingBound(eta=None)
    for name, cls in BOUNDS.items():
        obj = cls()
        assert parse_bound(repr(obj)) == obj and repr(obj).startswith(name + "(")
    inputs = dict(
        empirical_risk=0.1,
        rho=1.0,
        weight_norm=2.0,
        feature_lipschitz=1.0,
        diameter=0.5,
        n=400,
        loss_range=1.0,
    )
    assert b.value(**inputs) == rademacher_bound(delta=0.05, **inputs)
    assert b.smallest_non_vacuous_n(1.0, 1.0, 2.0, 1.0, 0.5, 0.1) == smallest_non_vacuous_n(
        "iii",
        loss_range=1.0,
        delta=0.05,
        empirical_risk=0.1,
        rho=1.0,
        weight_norm=2.0,
        feature_lipschitz=1.0,
        diameter=0.5,
    )
    assert MisorderingBound().value(entropy=0.2, kl_risk=0.01) == optimal_eta(0.2, 0.01)[1]
    assert MisorderingBound(eta=0.1).value(entropy=0.2, kl_risk=0.01) == misordering_bound(
        0.2, 0.01, 0.1
    )
    assert EntropyFloor(tau=2.0).value(teacher_lipschitz=3.0, diameter=0.5) == entropy_floor(
        3.0, 0.5, 2.0
    )
    assert (
        LossRange(loss="margin_mse").value(
            student_lipschitz=1.0, teacher_lipschitz=1.0, diameter=1.0
        )
        == 4.0
    )
    assert TransferBound(group_size=3).value(risk=0.1, kappa=2.0) == pytest.approx(0.8)
    g = GeneralisationBound(delta=0.1, C=2.0)
    assert g.is_vacuous(loss_range=1.0, vc_dim=1e6, n=100)
    assert not g.is_vacuous(loss_range=1.0, vc_dim=1.0, n=1e6)
    with pytest.raises(ValueError, match="delta"):
        RademacherBound(delta=1.5)
    with pytest.raises(ValueError, match="unknown parameter"):
        RademacherBound(eps=0.1)
    with pytest.raises(ValueError, match="missing inputs"):
        b.value(n=3)
    with pytest.raises(ValueError, match="unknown bound"):
        parse_bound("NoSuchBound(delta=0.1)")
