"""lambdify'd symbolic expressions against the hand-written numeric code of locent.theory."""

from __future__ import annotations

import locent.theory as T
import numpy as np
import pytest
from locent.theory.symbolic import loss_twin, numeric_twin, potential_twin

RTOL, ATOL = 1e-9, 1e-12


def _scores(rng, n, k, scale):
    return rng.normal(size=(n, k)) * scale, rng.normal(size=(n, k)) * scale


NUMERIC = (
    ("margin_mse", lambda s, t, tau: T.margin_mse(s, t)),
    ("soft_ranknet", T.soft_ranknet),
    ("listwise_kl", T.listwise_kl),
    ("pairwise_entropy", lambda s, t, tau: T.pairwise_entropy(t, tau=tau)),
    ("listwise_entropy", lambda s, t, tau: T.listwise_entropy(t, tau=tau)),
)


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("tau", [0.3, 1.0, 4.0])
def test_loss_twins(k, tau):
    """float64 twins on moderate logit gaps (|gap/τ| up to ~8), negative scores included."""
    rng = np.random.default_rng(k * 10 + int(tau * 10))
    for scale in (0.05, 0.5, 1.5):
        s, t = _scores(rng, 200, k, scale * tau)
        s, t = s - 3.0, t - 7.0  # negative scores: every quantity is shift invariant
        for name, numeric in NUMERIC:
            np.testing.assert_allclose(
                numeric(s, t, tau),
                loss_twin(name, k)(s, t, tau),
                rtol=RTOL,
                atol=ATOL,
                err_msg=f"{name} k={k} tau={tau} scale={scale}",
            )


@pytest.mark.parametrize("gap", [0.5, 20.0, 1000.0])
def test_loss_twins_extreme_gaps_mpmath(gap):
    """60-digit twins at the gaps 0.5, 20, 1000 and with ties: the numeric stable forms keep
    full relative precision (no 1 − σ cancellation)."""
    k = 3
    s = np.array([[0.0, gap, -gap], [gap, 0.0, gap], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0 + gap]])
    t = np.array([[gap, 0.0, -gap], [0.0, gap, 0.0], [gap, 0.0, 0.0], [1.0, 1.0, 1.0 - gap]])
    for name, numeric in NUMERIC:
        for tau in (0.5, 1.0):
            np.testing.assert_allclose(
                numeric(s, t, tau),
                loss_twin(name, k, "mpmath")(s, t, tau),
                rtol=1e-10,
                atol=1e-300,
                err_msg=f"{name} gap={gap} tau={tau}",
            )


def test_bregman_twins_for_pairs():
    """The generic Bregman divergence with the softplus potential is the k=2 soft RankNet."""
    rng = np.random.default_rng(0)
    s, t = _scores(rng, 500, 2, 3.0)
    numeric = T.bregman_divergence(T.SOFTPLUS, s[:, 0] - s[:, 1], t[:, 0] - t[:, 1])
    np.testing.assert_allclose(numeric, loss_twin("soft_ranknet", 2)(s, t, 1.0), rtol=RTOL)
    numeric = T.bregman_divergence(T.LOGSUMEXP, s, t)
    np.testing.assert_allclose(numeric, loss_twin("listwise_kl", 2)(s, t, 1.0), rtol=RTOL)


@pytest.mark.parametrize("name", ["SQUARE", "SOFTPLUS", "NEG_ENTROPY"])
def test_potential_twins(name):
    rng = np.random.default_rng(5)
    if name == "NEG_ENTROPY":
        a, b = rng.uniform(0.001, 0.999, (2, 1000))
    else:
        a, b = rng.uniform(-12, 12, (2, 1000))
    numeric = T.bregman_divergence(getattr(T, name), a, b)
    np.testing.assert_allclose(numeric, potential_twin(name)(a, b), rtol=1e-9, atol=1e-12)


def _u(rng, n, lo, hi):
    return rng.uniform(lo, hi, n)


def test_bound_twins():
    rng = np.random.default_rng(1)
    n = 300
    H, R = _u(rng, n, 0.0, 0.69), _u(rng, n, 0.0, 2.0)
    eta, tau = _u(rng, n, 0.01, 0.49), _u(rng, n, 0.5, 5.0)
    # moderate logit L_g Δ/τ ≤ 10, where the textbook float64 twins are accurate
    L, Lg, D = _u(rng, n, 0.0, 2.5), _u(rng, n, 0.0, 2.5), _u(rng, n, 0.0, 2.0)
    B, d, m = _u(rng, n, 0.1, 5.0), 10 ** _u(rng, n, 0, 10), 10 ** _u(rng, n, 1, 7)
    delta, C = _u(rng, n, 0.001, 0.999), _u(rng, n, 0.1, 3.0)
    rho, W, Lam = _u(rng, n, 0.1, 5), _u(rng, n, 0.1, 5), _u(rng, n, 0.1, 5)
    kappa = _u(rng, n, 1.0, 4.0)
    pairs = [
        (T.misordering_bound(H, R, eta), numeric_twin("misordering_bound")(H, R, eta)),
        (
            T.misordering_bound_margin_mse(H, R, eta, tau),
            numeric_twin("misordering_bound_margin_mse")(H, R, eta, tau),
        ),
        (T.entropy_floor(Lg, D, tau), numeric_twin("entropy_floor")(Lg, D, tau)),
        (
            T.generalisation_bound(B, d, m, delta, C),
            numeric_twin("generalisation_bound")(B, d, m, delta, C),
        ),
        (
            T.misordering_generalisation_bound(H, R, B, d, m, delta, eta, C),
            numeric_twin("misordering_generalisation_bound")(H, R, B, d, m, delta, eta, C),
        ),
        (
            T.rademacher_bound(R, rho, W, Lam, D, m, delta, B),
            numeric_twin("rademacher_bound")(R, rho, W, Lam, D, m, delta, B),
        ),
        (T.transfer_bound(R, kappa, 2), numeric_twin("transfer_bound")(R, kappa, 2)),
        (T.transfer_bound(R, kappa, 5), numeric_twin("transfer_bound")(R, kappa, 5)),
    ]
    for loss in ("margin_mse", "soft_ranknet", "listwise_kl"):
        pairs.append(
            (T.loss_range(loss, L, Lg, D, tau), numeric_twin(f"loss_range_{loss}")(L, Lg, D, tau))
        )
    for numeric, twin in pairs:
        np.testing.assert_allclose(numeric, twin, rtol=1e-9, atol=1e-14)


def test_zeta_of_each_potential_matches_symbolic_maximum():
    """ζ in margin units = max φ'' / τ² (statistic = margin/τ); SQUARE: φ'' = 2 on margins."""
    import sympy as sp
    from locent.theory.symbolic_base import sigmoid

    z = sp.Symbol("z", real=True)
    max_sp2 = sp.maximum(sigmoid(z) * (1 - sigmoid(z)), z)
    assert max_sp2 == sp.Rational(1, 4)
    for tau in (0.25, 1.0, 3.0):
        assert T.SQUARE.zeta(tau) == pytest.approx(2.0)
        assert T.SOFTPLUS.zeta(tau) == pytest.approx(float(max_sp2) / tau**2)
        # ‖∇²A‖ ≤ ½ (symbolic proof in symbolic_inequalities)
        assert T.LOGSUMEXP.zeta(tau) == pytest.approx(0.5 / tau**2)


def test_twin_rejects_unknown_and_wrong_k():
    with pytest.raises(ValueError, match="no symbolic twin"):
        loss_twin("nope", 3)
    with pytest.raises(ValueError, match="k=3"):
        loss_twin("soft_ranknet", 3)(np.zeros((2, 4)), np.zeros((2, 4)), 1.0)
    with pytest.raises(ValueError, match="no symbolic expression"):
        numeric_twin("nope")
