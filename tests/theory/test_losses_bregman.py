"""Distillation losses and Bregman divergences: values and gradients against mpmath references."""

from __future__ import annotations

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from locent.theory import (
    LOGSUMEXP,
    LOSSES,
    NEG_ENTROPY,
    SOFTPLUS,
    SQUARE,
    LossSpec,
    bregman_divergence,
    hard_ranknet,
    lce,
    listwise_kl,
    margin_mse,
    soft_ranknet,
)

GAPS = [0.5, 20.0, 1000.0]

# ----------------------------------------------------------------------------- mpmath references


def _dps(*values) -> int:
    """Digits that resolve 1 − σ(z) and e^{z} ratios for the largest |value|."""
    return int(max([abs(float(v)) for v in values] + [1.0]) / 2.3) + 60


def mp_sigmoid(z):
    return 1 / (1 + mp.exp(-z))


def mp_kl_ber(p, r):
    out = mp.mpf(0)
    if p > 0:
        out += p * mp.log(p / r)
    if p < 1:
        out += (1 - p) * mp.log((1 - p) / (1 - r))
    return out


def ref_soft_ranknet(s, t, tau=1.0):
    with mp.workdps(
        _dps(*(np.subtract.outer(s, t).ravel() / tau), *(np.ptp(s) / tau, np.ptp(t) / tau))
    ):
        terms = [
            mp_kl_ber(
                mp_sigmoid((mp.mpf(t[i]) - mp.mpf(t[j])) / tau),
                mp_sigmoid((mp.mpf(s[i]) - mp.mpf(s[j])) / tau),
            )
            for i, j in itertools.combinations(range(len(s)), 2)
        ]
        return float(mp.fsum(terms) / len(terms))


def mp_log_softmax(z):
    lse = mp.log(mp.fsum(mp.exp(v) for v in z))
    return [v - lse for v in z]


def ref_listwise_kl(s, t, tau=1.0):
    with mp.workdps(_dps(np.ptp(s) / tau, np.ptp(t) / tau)):
        lt = mp_log_softmax([mp.mpf(v) / tau for v in t])
        ls = mp_log_softmax([mp.mpf(v) / tau for v in s])
        return float(mp.fsum(mp.exp(a) * (a - b) for a, b in zip(lt, ls)))


def ref_margin_mse(s, t):
    return float(np.mean([((s[0] - s[j]) - (t[0] - t[j])) ** 2 for j in range(1, len(s))]))


def ref_lce(s):
    with mp.workdps(_dps(np.ptp(s))):
        return float(-mp_log_softmax([mp.mpf(v) for v in s])[0])


def ref_hard_ranknet(s, t):
    terms = []
    with mp.workdps(_dps(np.ptp(s))):
        for i, j in itertools.combinations(range(len(s)), 2):
            if t[i] == t[j]:
                continue
            sign = 1 if t[i] > t[j] else -1
            terms.append(mp.log1p(mp.exp(-sign * (mp.mpf(s[i]) - mp.mpf(s[j])))))
        return float(mp.fsum(terms) / len(terms))


# ----------------------------------------------------------------------------- values


def _cases():
    """(student, teacher) pairs: extreme gaps of both signs, ties, negative scores, k=2."""
    out = []
    for gap in GAPS:
        out.append((np.array([gap, 0.0]), np.array([-gap, 0.0])))  # opposite orders
        out.append((np.array([0.0, 0.0]), np.array([gap, 0.0])))  # student tie
        out.append((np.array([gap / 2, 0.0, -gap]), np.array([gap, 0.0, gap])))  # teacher tie
        out.append((np.array([-gap - 3.0, -3.0, -gap]), np.array([-1.0, -gap, -0.5])))
    return out


@pytest.mark.parametrize("s,t", _cases())
@pytest.mark.parametrize("tau", [0.5, 1.0, 4.0])
def test_distillation_losses_against_mpmath(s, t, tau):
    assert soft_ranknet(s, t, tau=tau) == pytest.approx(
        ref_soft_ranknet(s, t, tau), rel=1e-11, abs=1e-300
    )
    assert listwise_kl(s, t, tau=tau) == pytest.approx(
        ref_listwise_kl(s, t, tau), rel=1e-11, abs=1e-300
    )
    assert margin_mse(s, t) == pytest.approx(ref_margin_mse(s, t), rel=1e-14)


@pytest.mark.parametrize("s,t", _cases())
def test_contrastive_losses_against_mpmath(s, t):
    assert lce(s) == pytest.approx(ref_lce(s), rel=1e-12, abs=1e-300)
    if len(set(t.tolist())) > 1:
        assert hard_ranknet(s, t) == pytest.approx(ref_hard_ranknet(s, t), rel=1e-12, abs=1e-300)


def test_large_k_and_batch_against_loops():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((3, 200)) * 5
    t = rng.standard_normal((3, 200)) * 5 - 10
    got = soft_ranknet(s, t, tau=2.0)
    assert got.shape == (3,)
    # float64 loop reference (mpmath over 19,900 pairs is slow; float64 suffices at these gaps)
    i, j = np.triu_indices(200, 1)
    for g in range(3):
        p = 1 / (1 + np.exp(-(t[g, i] - t[g, j]) / 2))
        r = 1 / (1 + np.exp(-(s[g, i] - s[g, j]) / 2))
        kl = p * np.log(p / r) + (1 - p) * np.log((1 - p) / (1 - r))
        assert got[g] == pytest.approx(kl.mean(), rel=1e-9)
        assert listwise_kl(s[g], t[g]) == pytest.approx(ref_listwise_kl(s[g], t[g]), rel=1e-11)
        assert margin_mse(s[g], t[g]) == pytest.approx(ref_margin_mse(s[g], t[g]), rel=1e-12)
        assert lce(s[g]) == pytest.approx(ref_lce(s[g]), rel=1e-12)


def test_hard_ranknet_all_tied_group_raises():
    with pytest.raises(ValueError, match="group 1"):
        hard_ranknet(np.zeros((2, 3)) + [[0, 1, 2]], np.array([[0.0, 1, 2], [5.0, 5, 5]]))


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 10), elements=st.floats(-50, 50)),
    st.floats(-100, 100),
    st.floats(-100, 100),
    st.floats(0.1, 10),
)
def test_losses_nonnegative_zero_at_teacher_and_shift_invariant(t, a, b, tau):
    rng = np.random.default_rng(len(t))
    s = t + rng.standard_normal(len(t))
    for name in ("margin_mse", "soft_ranknet", "listwise_kl"):
        fn = LOSSES[name]
        v = fn(s, t, tau=tau)
        assert v >= 0
        assert fn(t, t, tau=tau) == pytest.approx(0.0, abs=1e-12)
        assert fn(s + a, t + b, tau=tau) == pytest.approx(v, rel=1e-7, abs=1e-9)
    assert lce(s + a) == pytest.approx(lce(s), rel=1e-9, abs=1e-9)


# ----------------------------------------------------------------------------- numpy / torch


def test_numpy_torch_agree_and_keep_autograd():
    rng = np.random.default_rng(1)
    s = rng.standard_normal((4, 6)) * 3
    t = rng.standard_normal((4, 6)) * 3
    for name, spec in LOSSES.items():
        a = spec(s, t, tau=0.7)
        st_ = torch.tensor(s, requires_grad=True)
        b = spec(st_, torch.tensor(t), tau=0.7)
        assert isinstance(a, np.ndarray) and a.shape == (4,), name
        assert b.requires_grad and b.shape == (4,), name
        np.testing.assert_allclose(b.detach().numpy(), a, rtol=1e-14, atol=0, err_msg=name)
        b.sum().backward()
        assert torch.isfinite(st_.grad).all(), name


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradcheck_float64(name):
    rng = np.random.default_rng(2)
    s = torch.tensor(rng.standard_normal((3, 5)) * 2, requires_grad=True)
    t = torch.tensor(rng.standard_normal((3, 5)) * 2, requires_grad=True)
    spec = LOSSES[name]
    if name == "lce":
        assert torch.autograd.gradcheck(lambda x: spec(x), (s,))
    elif name == "hard_ranknet":
        assert torch.autograd.gradcheck(lambda x: spec(x, t.detach()), (s,))
    else:
        assert torch.autograd.gradcheck(lambda x, y: spec(x, y, tau=0.8), (s, t))


def _mp_soft_ranknet(s, t, tau):
    terms = [
        mp_kl_ber(mp_sigmoid((mp.mpf(t[i]) - mp.mpf(t[j])) / tau), mp_sigmoid((s[i] - s[j]) / tau))
        for i, j in itertools.combinations(range(len(s)), 2)
    ]
    return mp.fsum(terms) / len(terms)


def _mp_listwise_kl(s, t, tau):
    lt = mp_log_softmax([mp.mpf(u) / tau for u in t])
    ls = mp_log_softmax([u / tau for u in s])
    return mp.fsum(mp.exp(a) * (a - b) for a, b in zip(lt, ls))


@pytest.mark.parametrize("gap", GAPS)
@pytest.mark.parametrize(
    "fn,ref", [(soft_ranknet, _mp_soft_ranknet), (listwise_kl, _mp_listwise_kl)], ids=["rn", "kl"]
)
def test_gradients_at_extreme_gaps(gap, fn, ref):
    # d/ds of the reference at high precision (mpmath numerical differentiation) vs autograd
    s0 = np.array([-gap / 3, 0.0, gap])
    t = np.array([gap, 0.0, -gap / 2])
    tau = 1.0
    x = torch.tensor(s0, requires_grad=True)
    fn(x, torch.tensor(t), tau=tau).backward()
    with mp.workdps(_dps(gap * 3)):
        for c in range(3):

            def f(v, c=c):
                s = [mp.mpf(u) for u in s0]
                s[c] = v
                return ref(s, t, tau)

            expected = float(mp.diff(f, mp.mpf(s0[c])))
            assert x.grad[c].item() == pytest.approx(expected, rel=1e-9, abs=1e-15)


# ----------------------------------------------------------------------------- Bregman


def test_losses_are_their_bregman_divergences():
    rng = np.random.default_rng(3)
    s = rng.standard_normal((5, 7)) * 4
    t = rng.standard_normal((5, 7)) * 4
    tau = 1.3
    i, j = np.triu_indices(7, 1)
    ms, mt = s[:, i] - s[:, j], t[:, i] - t[:, j]
    np.testing.assert_allclose(
        soft_ranknet(s, t, tau=tau),
        bregman_divergence(SOFTPLUS, ms / tau, mt / tau).mean(-1),
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        listwise_kl(s, t, tau=tau), bregman_divergence(LOGSUMEXP, s / tau, t / tau), rtol=1e-13
    )
    np.testing.assert_allclose(
        margin_mse(s, t),
        bregman_divergence(SQUARE, s[:, :1] - s[:, 1:], t[:, :1] - t[:, 1:]).mean(-1),
        rtol=1e-14,
    )
    # duality: D_psi(p, r) = D_sp(logit r, logit p)
    p = 1 / (1 + np.exp(-mt / tau))
    r = 1 / (1 + np.exp(-ms / tau))
    np.testing.assert_allclose(
        bregman_divergence(NEG_ENTROPY, p, r),
        bregman_divergence(SOFTPLUS, ms / tau, mt / tau),
        rtol=1e-9,
    )


@pytest.mark.parametrize(
    "a,b", [(0.5, -0.5), (20.0, -20.0), (1000.0, 999.0), (-1000.0, 1000.0), (3.0, 3.0)]
)
def test_bregman_softplus_against_definition(a, b):
    with mp.workdps(_dps(a, b)):
        sp = lambda z: mp.log1p(mp.exp(z))  # noqa: E731
        ref = sp(mp.mpf(a)) - sp(mp.mpf(b)) - mp_sigmoid(mp.mpf(b)) * (mp.mpf(a) - mp.mpf(b))
        assert bregman_divergence("softplus", a, b) == pytest.approx(
            float(ref), rel=1e-12, abs=1e-300
        )


def test_bregman_logsumexp_and_neg_entropy_against_definition():
    a = np.array([1.0, -2.0, 30.0])
    b = np.array([0.5, 25.0, -1.0])

    def lse(z):
        return mp.log(mp.fsum(mp.exp(mp.mpf(v)) for v in z))

    def psi(x):
        return (x * mp.log(x) if x > 0 else 0) + ((1 - x) * mp.log(1 - x) if x < 1 else 0)

    with mp.workdps(80):
        pb = [mp.exp(mp.mpf(v)) / mp.fsum(mp.exp(mp.mpf(u)) for u in b) for v in b]
        ref = lse(a) - lse(b) - mp.fsum(q * (mp.mpf(x) - mp.mpf(y)) for q, x, y in zip(pb, a, b))
        assert bregman_divergence(LOGSUMEXP, a, b) == pytest.approx(float(ref), rel=1e-12)
        for p, r in [(0.3, 0.6), (1e-9, 0.5), (1.0, 0.9), (0.0, 0.2)]:
            p_, r_ = mp.mpf(p), mp.mpf(r)
            ref = psi(p_) - psi(r_) - mp.log(r_ / (1 - r_)) * (p_ - r_)
            assert bregman_divergence(NEG_ENTROPY, p, r) == pytest.approx(
                float(ref), rel=1e-12, abs=1e-300
            )
    assert bregman_divergence(SQUARE, np.array([3.0]), np.array([-1.0]))[0] == 16.0


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 8), elements=st.floats(-30, 30)),
    arrays(np.float64, 8, elements=st.floats(-30, 30)),
    st.floats(0.1, 5),
)
def test_zeta_smoothness(s, t, tau):
    t = t[: len(s)]
    # soft RankNet per pair: D ≤ (ζ/2)(m_f − m_g)², ζ = 1/(4τ²)
    i, j = np.triu_indices(len(s), 1)
    ms, mt = s[i] - s[j], t[i] - t[j]
    d_sp = bregman_divergence(SOFTPLUS, ms / tau, mt / tau)
    assert np.all(d_sp <= SOFTPLUS.zeta(tau) / 2 * (ms - mt) ** 2 * (1 + 1e-12) + 1e-300)
    # listwise: D_A ≤ (ζ/2)‖c(s − t)‖², ζ = 1/(2τ²)
    c = (s - t) - (s - t).mean()
    assert (
        bregman_divergence(LOGSUMEXP, s / tau, t / tau)
        <= LOGSUMEXP.zeta(tau) / 2 * (c @ c) * (1 + 1e-12) + 1e-15
    )
    # square: equality with ζ = 2
    assert bregman_divergence(SQUARE, ms, mt) == pytest.approx(
        SQUARE.zeta(tau) / 2 * (ms - mt) ** 2
    )
    assert NEG_ENTROPY.zeta(tau) == SOFTPLUS.zeta(tau)


def test_registry_layout():
    assert set(LOSSES) == {"margin_mse", "soft_ranknet", "listwise_kl", "lce", "hard_ranknet"}
    assert all(isinstance(v, LossSpec) and v.name == k for k, v in LOSSES.items())
    assert {k for k, v in LOSSES.items() if v.distillation} == {
        "margin_mse",
        "soft_ranknet",
        "listwise_kl",
    }
    assert LOSSES["soft_ranknet"].potential is SOFTPLUS
    assert LOSSES["listwise_kl"].potential is LOGSUMEXP
    assert LOSSES["margin_mse"].potential is SQUARE
    s, t = np.array([1.0, 0.0, -1.0]), np.array([0.0, 2.0, 1.0])
    assert LOSSES["lce"](s, t, tau=3.0) == lce(s)
    assert LOSSES["margin_mse"](s, t, tau=3.0) == margin_mse(s, t)
    assert LOSSES["soft_ranknet"](s, t, tau=3.0) == soft_ranknet(s, t, tau=3.0)
    assert math.isfinite(LOSSES["hard_ranknet"](s, t, tau=3.0))
