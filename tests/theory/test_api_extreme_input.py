"""The theory API contract, finite extreme input (issue 16 item 3): never a silent NaN.

Every score function computes the value exactly where it is representable (an exact power-of-two
rescale keeps margins finite; an overflowing margin/τ is a saturated logit), and otherwise raises
ValueError naming the function, the dtype and the group. The rest of the contract (bound ranges,
broadcasting, 0-d, integers, dtypes) is in test_api_contract.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from locent.theory import (
    PAIR_LOSSES,
    bregman_divergence,
    density_ratio,
    hard_ranknet,
    lce,
    listwise_entropy,
    listwise_kl,
    margin_mse,
    pair_margins,
    pairwise_entropy,
    pairwise_risk,
    population_pairwise_risk,
    soft_ranknet,
)

EXTREME = [[1e308, -1e308, 0.0]]
LN2 = math.log(2.0)


def _ordinary(shape=(5, 6), seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape)


# --------------------------------------------------------------------------- extreme finite input


@pytest.mark.parametrize(
    "scores, dtype",
    [
        (EXTREME, np.float64),
        ([[6e4, -6e4, 0.0]], np.float16),
        ([[3e38, -3e38]], np.float32),
    ],
)
def test_pairwise_and_listwise_entropy_of_extreme_scores_are_exact(scores, dtype):
    """The issue's probes: every pair margin is astronomically large, so h = 0 exactly."""
    for x in (
        np.asarray(scores, dtype=dtype),
        torch.tensor(scores, dtype=torch.float64).to(getattr(torch, dtype.__name__)),
    ):
        for fn in (pairwise_entropy, listwise_entropy):
            out = fn(x)
            assert out.dtype == x.dtype, fn.__name__
            assert np.all(np.asarray(out, dtype=np.float64) == 0.0), (fn.__name__, out)
            assert not np.signbit(np.asarray(out, dtype=np.float64)).any()  # +0, not −0


def test_extreme_scores_with_tau_are_the_same_logits_exactly():
    """Scaling scores and τ by 2^1020 leaves every logit (t_i − t_j)/τ unchanged; the results must
    be those of the ordinary scores (pairwise: bit for bit; listwise: to rounding)."""
    x, y = np.tanh(_ordinary()) * 3.9  # in (−3.9, 3.9): x·S is finite
    x[:, :2] = y[:, :2] = [3.9, -3.9]
    S = 2.0**1022  # margins up to 7.8·S overflow unless rescaled; |x|·S > max/4 ≈ 4.5e307
    assert 7.8 * S > np.finfo(np.float64).max  # (a Python float: inf, no warning)
    assert np.array_equal(pairwise_entropy(x * S, tau=0.7 * S), pairwise_entropy(x, tau=0.7))
    assert np.array_equal(soft_ranknet(x * S, y * S, tau=0.7 * S), soft_ranknet(x, y, tau=0.7))
    w = np.full(x.shape, 1 / x.shape[-1])
    for loss in ("soft_ranknet", "misordering"):
        got = population_pairwise_risk(x * S, y * S, w, loss=loss, tau=0.7 * S)
        assert np.array_equal(got, population_pairwise_risk(x, y, w, loss=loss, tau=0.7)), loss
    np.testing.assert_allclose(
        listwise_entropy(x * S, tau=0.7 * S), listwise_entropy(x, tau=0.7), rtol=1e-14
    )
    np.testing.assert_allclose(
        listwise_kl(x * S, y * S, tau=0.7 * S), listwise_kl(x, y, tau=0.7), rtol=1e-12
    )


def test_logits_beyond_the_range_from_a_tiny_tau():
    """(t_i − t_j)/τ overflows for τ = 1e-300: pairwise h = 0 exactly; listwise is the softmax of
    the tied top items (ln 2 for [1e308, 1e308, 0] at τ = ½ too)."""
    assert pairwise_entropy([[1.0, 0.0, 2.0]], tau=1e-300) == 0.0
    assert listwise_entropy([[1.0, 1.0, 0.0]], tau=1e-310) == pytest.approx(LN2, rel=1e-15)
    assert listwise_entropy([[1e308, 1e308, 0.0]], tau=0.5) == pytest.approx(LN2, rel=1e-15)


def test_losses_of_extreme_but_equal_scores_are_zero_with_finite_gradients():
    x = torch.tensor(EXTREME * 2, dtype=torch.float64)
    x[1] = torch.tensor([1.0, 2.0, 3.0])
    for name, fn in [
        ("soft_ranknet", soft_ranknet),
        ("listwise_kl", listwise_kl),
        ("margin_mse", margin_mse),
        ("hard_ranknet", hard_ranknet),
    ]:
        s = x.clone().requires_grad_(True)
        value = fn(s, x)
        value.sum().backward()
        assert value[0].item() == 0.0, name
        assert torch.isfinite(s.grad).all(), name
    w = np.full((1, 3), 1 / 3)
    for loss in PAIR_LOSSES:
        assert population_pairwise_risk(EXTREME, EXTREME, w, loss=loss) == 0.0, loss
    assert bregman_divergence("LOGSUMEXP", np.array(EXTREME[0]), np.array(EXTREME[0])) == 0.0


def test_teacher_logit_overflow_is_the_saturated_label():
    """A teacher margin/τ beyond the range is p = 1: soft RankNet = −ln σ(student margin)."""
    got = soft_ranknet([[0.0, 0.0]], [[1e308, -1e308]])
    assert got == pytest.approx(LN2, rel=1e-15)
    # listwise: the teacher's softmax is one-hot in float64, KL to a uniform student = ln 2
    assert listwise_kl([[0.0, 0.0]], [[1e308, -1e308]]) == pytest.approx(LN2, rel=1e-15)
    # D_sp(a, b) = KL(Ber σ(b) ‖ Ber σ(a)) ≈ |a| for a = 1e308, b = −1e308
    assert bregman_divergence("SOFTPLUS", np.array([1e308]), np.array([-1e308]))[0] == 1e308


@pytest.mark.parametrize(
    "call, what",
    [
        # student logit 2e308 against a teacher logit near 0: KL ≈ 1e308·σ(±0.5), not determined
        (
            lambda: soft_ranknet([[0.0, 0.0], [1e308, -1e308]], [[0.0, 1.0], [0.0, 0.5]]),
            "soft_ranknet",
        ),
        (lambda: margin_mse([[0.0, 0.0], [0.0, 1e200]], [[0.0, 1.0], [0.0, -1e200]]), "margin_mse"),
        (
            lambda: hard_ranknet([[0.0, 1.0], [-1e308, 1e308]], [[0.0, 1.0], [1.0, 0.0]]),
            "hard_ranknet",
        ),
        (lambda: lce([[0.0, 1.0], [-1e308, 1e308]]), "lce"),
        (lambda: pair_margins([[0.0, 1.0], [1e308, -1e308]]), "pair_margins"),
        (
            # teacher uniform, the student's log-probability of item 1 below −1.8e308
            lambda: listwise_kl([[0.0, 1.0], [1e308, -1e308]], [[0.0, 1.0], [0.0, 0.0]]),
            "listwise_kl",
        ),
        (
            lambda: population_pairwise_risk(
                [[0.0, 1.0], [0.0, 1e200]], [[0.0, 0.0], [0.0, -1e200]], [0.5, 0.5]
            ),
            "population_pairwise_risk",
        ),
    ],
)
def test_unrepresentable_loss_is_an_error_naming_the_group(call, what):
    with pytest.raises(ValueError, match=rf"{what}: .*not representable in float64 in group 1"):
        call()


def test_float16_result_beyond_its_range_is_an_error():
    s = np.array([[0.0, 300.0], [0.0, 1.0]], dtype=np.float16)
    with pytest.raises(ValueError, match=r"margin_mse: .*not representable in float16 in group 0"):
        margin_mse(s, np.zeros_like(s))


def test_elementwise_overflow_names_the_index_and_nan_input_still_names_the_group():
    with pytest.raises(ValueError, match=r"SQUARE.*float64 in index \(1,\)"):
        bregman_divergence("SQUARE", np.array([0.0, 1e200]), np.array([0.0, -1e200]))
    with pytest.raises(ValueError, match=r"scores: non-finite value .* group 1"):
        pairwise_entropy([[0.0, 1.0], [math.inf, 0.0]])


def test_risk_mean_and_density_ratio_do_not_overflow_silently():
    assert pairwise_risk([1e308, 1e308, 1e308]) == 1e308  # the sum overflows, the mean does not
    with pytest.raises(ValueError, match=r"density_ratio: .*group 1"):
        density_ratio([[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [1 - 1e-320, 1e-320]])
    assert density_ratio([[0.5, 0.5]], [[1.0, 0.0]])[0] == math.inf  # μ not ≪ ν: legitimately ∞


def test_no_function_returns_nan_for_finite_input():
    """Random groups mixing ordinary, huge (±1e308, ±3e38) and tiny values, several τ: every score
    function returns finite values of the input dtype or raises ValueError; never NaN or ±inf."""
    rng = np.random.default_rng(16)
    atoms = np.array([0.0, 1.0, -2.5, 1e-300, 3e38, -3e38, 1e154, 1e300, -1e308, 1e308, 5e-324])
    calls = [
        lambda s, t, tau: pairwise_entropy(t, tau=tau),
        lambda s, t, tau: listwise_entropy(t, tau=tau),
        lambda s, t, tau: soft_ranknet(s, t, tau=tau),
        lambda s, t, tau: listwise_kl(s, t, tau=tau),
        lambda s, t, tau: margin_mse(s, t),
        lambda s, t, tau: hard_ranknet(s, t),
        lambda s, t, tau: lce(s),
        lambda s, t, tau: pair_margins(s),
        lambda s, t, tau: population_pairwise_risk(
            s, t, np.full(s.shape, 0.25, s.dtype), "soft_ranknet", tau
        ),
        lambda s, t, tau: population_pairwise_risk(
            s, t, np.full(s.shape, 0.25, s.dtype), "margin_mse"
        ),
        lambda s, t, tau: bregman_divergence("SOFTPLUS", s, t),
        lambda s, t, tau: bregman_divergence("LOGSUMEXP", s, t),
    ]
    outcomes = {"finite": 0, "error": 0}
    for _ in range(60):
        s, t = rng.choice(atoms, (2, 1, 4)) * rng.choice([-1.0, 1.0], (2, 1, 4))
        tau = float(rng.choice([1e-300, 0.5, 1.0, 1e300]))
        for dtype in (np.float64, np.float32):
            if dtype is np.float32:
                s, t = np.clip(s, -3e38, 3e38), np.clip(t, -3e38, 3e38)
                tau = min(max(tau, 1e-30), 1e30)
            for i, call in enumerate(calls):
                try:
                    out = call(s.astype(dtype), t.astype(dtype), tau)
                except ValueError as err:
                    assert "not representable" in str(err), (i, s, t, tau, err)
                    outcomes["error"] += 1
                    continue
                out = np.asarray(out)
                assert out.dtype == dtype and np.isfinite(out).all(), (i, s, t, tau, out)
                outcomes["finite"] += 1
    assert outcomes["finite"] > outcomes["error"] > 0  # both paths are exercised
