"""The theory API contract (issue 16 item 3), one test per probe that used to fail.

- finite extreme input never gives a silent NaN: computed exactly, or a ValueError naming the group;
- every bound argument is range-checked (ValueError naming the argument and the value);
- broadcast mismatches are ValueErrors naming the shapes, not torch RuntimeErrors;
- 0-d in → 0-d out, with no spurious index in scalar errors; numpy integers accepted;
- the input's floating dtype is kept (float16 / bfloat16 computed in float32).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from locent.paper_checks.cli import main
from locent.theory import (
    PAIR_LOSSES,
    GeneralisationBound,
    MisorderingGeneralisationBound,
    TransferBound,
    aggregate_diameter,
    binary_entropy,
    bregman_divergence,
    density_ratio,
    entropy_floor,
    essential_diameter,
    generalisation_bound,
    hard_ranknet,
    lce,
    listwise_entropy,
    listwise_kl,
    loss_range,
    margin_mse,
    misordering_bound,
    misordering_bound_margin_mse,
    misordering_counts,
    misordering_generalisation_bound,
    misordering_rate,
    optimal_eta,
    pair_index,
    pair_margins,
    pairwise_entropy,
    pairwise_risk,
    population_pairwise_risk,
    rademacher_bound,
    rademacher_rho,
    smallest_non_vacuous_n,
    soft_ranknet,
    transfer_bound,
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


# --------------------------------------------------------------------------- bound argument ranges


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: misordering_bound(2.0, 0.1, 0.2), r"entropy .*\[0.0, 0.693.*got 2.0"),
        (lambda: misordering_bound(-0.1, 0.1, 0.2), r"entropy .*got -0.1"),
        (lambda: misordering_bound(0.7, 0.1, 0.2), r"entropy .*nats.*got 0.7"),
        (lambda: optimal_eta(1.0, 0.1), r"entropy .*got 1.0"),
        (lambda: misordering_bound_margin_mse(5.0, 0.1, 0.2, 1.0), r"entropy"),
        (lambda: misordering_generalisation_bound(5, 0, 1, 10, 100, 0.05, 0.2), r"entropy"),
        (lambda: misordering_bound(0.1, -1e-3, 0.2), r"kl_risk .*got -0.001"),
        (lambda: misordering_bound_margin_mse(0.1, -1.0, 0.2, 1.0), r"mm_risk"),
        (lambda: misordering_bound(0.1, 0.1, 0.5), r"eta .*\(0.0, 0.5\).*got 0.5"),
        (lambda: misordering_bound_margin_mse(0.1, 0.1, 0.2, 0.0), r"tau .*got 0.0"),
        (lambda: generalisation_bound(1.0, 10, 1e-300, 0.05), r"n must .*\[1.0, inf\).*1e-300"),
        (lambda: generalisation_bound(1.0, 10, 0.5, 0.05), r"n must .*got 0.5"),
        (lambda: generalisation_bound(1.0, 10, math.inf, 0.05), r"n must be finite.*got inf"),
        (lambda: generalisation_bound(1.0, 0.5, 100, 0.05), r"vc_dim .*\[1.0, inf\).*got 0.5"),
        (lambda: generalisation_bound(1.0, 10, 100, 0.0), r"delta .*\(0.0, 1.0\)"),
        (lambda: generalisation_bound(1.0, 10, 100, 0.05, C=-1), r"C must"),
        (lambda: generalisation_bound(-1.0, 10, 100, 0.05), r"loss_range .*got -1.0"),
        (lambda: rademacher_bound(-0.1, 1, 1, 1, 1, 10, 0.05, 1), r"empirical_risk"),
        (lambda: rademacher_bound(0.1, 1, -1, 1, 1, 10, 0.05, 1), r"weight_norm"),
        (lambda: rademacher_bound(0.1, 1, 1, -1, 1, 10, 0.05, 1), r"feature_lipschitz"),
        (lambda: rademacher_bound(0.1, 1, 1, 1, 1, 0.9, 0.05, 1), r"n must"),
        (lambda: rademacher_rho("soft_ranknet", 1, 1, 1, -2, 1), r"teacher_lipschitz"),
        (lambda: loss_range("soft_ranknet", 1, 1, -0.5), r"diameter .*got -0.5"),
        (lambda: entropy_floor(1, 1, -1), r"tau"),
        (lambda: transfer_bound(0.1, 0.5), r"kappa must be in \[1.0, inf\] .*got 0.5"),
        (lambda: transfer_bound(-0.1, 2.0), r"risk .*got -0.1"),
        (lambda: transfer_bound(0.1, math.nan), r"kappa"),
        (lambda: smallest_non_vacuous_n("i", loss_range=1, delta=0.1, vc_dim=0), r"vc_dim"),
        (lambda: MisorderingGeneralisationBound(eta=0.7), r"eta"),
        (lambda: GeneralisationBound(delta=2), r"delta"),
    ],
)
def test_bound_argument_out_of_range_is_a_value_error_naming_it(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_bound_argument_ends_and_rounding_are_accepted():
    h_three_quarters = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))  # h(½ + η), η = ¼
    assert misordering_bound(LN2, 0.0, 0.25) == pytest.approx(LN2 / h_three_quarters, rel=1e-12)
    # an all-tied group's entropy computed in float32 is fl32(ln 2) > ln 2: still admissible
    h32 = pairwise_entropy(np.zeros((1, 4), dtype=np.float32))
    assert float(h32[0]) > LN2
    assert np.isfinite(misordering_bound(h32, np.float32(0.1), 0.25)).all()
    assert np.isfinite(misordering_bound(0.6931472, 0.1, 0.25))  # ln 2 typed to 7 digits
    assert transfer_bound(0.1, 1.0 - 1e-9) == pytest.approx(0.1, rel=1e-8)  # κ rounded below 1
    assert transfer_bound(0.1, math.inf) == math.inf  # nothing transfers: a legitimate +inf
    assert generalisation_bound(1.0, 1, 1, 0.5) > 0  # n = vc_dim = 1
    # a diameter of a general metric space may exceed 2 (chordal distances of unit vectors do not)
    assert loss_range("margin_mse", 1, 1, 3.0) == 36.0


def test_transfer_bound_zero_risk_with_huge_kappa_is_zero_not_nan():
    assert transfer_bound(0.0, 1e200) == 0.0
    assert transfer_bound(0.5, 1e200) == math.inf  # overflow of a true bound: +inf, never NaN


def test_cli_bound_refuses_impossible_entropy_and_tiny_n(capsys):
    common = ["theory", "bound", "--vc-dim", "5", "--loss-range", "1"]
    rc = main([*common, "--form", "ii", "--n", "100", "--entropy", "5"])
    err = capsys.readouterr().err
    assert rc == 2 and "entropy must be" in err and "got 5.0" in err
    rc = main([*common, "--form", "i", "--n", "1e-300"])
    err = capsys.readouterr().err
    assert rc == 2 and "n must be" in err and "1e-300" in err


# --------------------------------------------------------------------------- broadcasting


def test_tau_that_does_not_broadcast_names_both_shapes():
    scores = np.zeros((3, 4))
    pattern = r"tau of shape \(5,\) does not broadcast to the groups' shape \(3,\)"
    for call in (
        lambda: listwise_entropy(scores, tau=np.ones(5)),
        lambda: pairwise_entropy(scores, tau=np.ones(5)),
        lambda: listwise_kl(scores, scores, tau=np.ones(5)),
        lambda: soft_ranknet(scores, scores, tau=torch.ones(5)),
    ):
        with pytest.raises(ValueError, match=pattern):
            call()
    # a τ per group broadcasts; one that would widen the output is refused as well
    assert listwise_entropy(scores, tau=np.ones(3)).shape == (3,)
    with pytest.raises(ValueError, match=r"tau of shape \(2, 1\)"):
        listwise_entropy(scores, tau=np.ones((2, 1)))


@pytest.mark.parametrize(
    "call, shapes",
    [
        (lambda a, b: misordering_bound(a, b, 0.2), r"entropy \(3,\), kl_risk \(4,\)"),
        (
            lambda a, b: generalisation_bound(a, b + 1, 100, 0.05),
            r"loss_range \(3,\), vc_dim \(4,\)",
        ),
        (
            lambda a, b: rademacher_bound(a, 1, 1, 1, 1, b + 10, 0.05, 1),
            r"empirical_risk \(3,\), n \(4,\)",
        ),
        (lambda a, b: transfer_bound(a, b + 1), r"risk \(3,\), kappa \(4,\)"),
        (
            lambda a, b: misordering_generalisation_bound(a, 0, 1, 10, b + 10, 0.05, 0.2),
            r"entropy \(3,\), n \(4,\)",
        ),
        (lambda a, b: optimal_eta(a, b), r"entropy \(3,\), kl_risk \(4,\)"),
    ],
)
def test_bound_broadcast_mismatch_names_the_shapes(call, shapes):
    with pytest.raises(ValueError, match=rf"arguments do not broadcast together: {shapes}"):
        call(np.full(3, 0.1), np.full(4, 0.1))


# --------------------------------------------------------------------------- 0-d, integers, dtype


def test_zero_d_in_zero_d_out():
    for x in (np.array(0.1), torch.tensor(0.1), torch.tensor(0.1, dtype=torch.float64)):
        for value in (
            misordering_bound(x, 0.1, 0.2),
            transfer_bound(x, 2.0),
            generalisation_bound(x, 5, 100, 0.05),
            optimal_eta(x, 0.1)[0],
            optimal_eta(x, 0.1)[1],
            binary_entropy(x),
            bregman_divergence("SOFTPLUS", x, x * 2),
        ):
            assert type(value) is (torch.Tensor if isinstance(x, torch.Tensor) else np.float64)
            assert value.shape == ()
    assert isinstance(misordering_bound(0.1, 0.1, 0.2), float)


def test_scalar_errors_name_no_index():
    for call in (
        lambda: misordering_bound(torch.tensor(0.1), -1.0, 0.2),
        lambda: misordering_bound(torch.tensor([0.1]), -1.0, 0.2),
        lambda: transfer_bound(np.array(0.1), 0.5),
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert "index" not in str(info.value), str(info.value)
    with pytest.raises(ValueError, match=r"at index \(1,\)"):  # arrays still name the index
        misordering_bound(np.array([0.1, -1.0]), 0.1, 0.2)


def test_numpy_integers_are_accepted():
    assert transfer_bound(0.1, 2.0, group_size=np.int64(3)) == transfer_bound(0.1, 2.0, 3)
    assert TransferBound(group_size=np.int32(3)) == TransferBound(group_size=3)
    assert repr(TransferBound(group_size=np.int64(3))) == "TransferBound(group_size=3)"
    assert len(pair_index(np.int64(4))[0]) == 6
    assert generalisation_bound(np.int64(1), np.int64(5), np.int64(100), 0.05) > 0
    for bad in (True, 2.0, 0, np.int64(0)):
        with pytest.raises(ValueError, match="group_size must be an integer >= 1"):
            transfer_bound(0.1, 2.0, group_size=bad)


def _score_calls():
    return [
        ("pairwise_entropy", lambda s, t: pairwise_entropy(t, tau=0.7)),
        ("listwise_entropy", lambda s, t: listwise_entropy(t, tau=0.7)),
        ("soft_ranknet", lambda s, t: soft_ranknet(s, t, tau=0.7)),
        ("listwise_kl", lambda s, t: listwise_kl(s, t, tau=0.7)),
        ("margin_mse", lambda s, t: margin_mse(s, t)),
        ("hard_ranknet", lambda s, t: hard_ranknet(s, t)),
        ("lce", lambda s, t: lce(s)),
        ("misordering_rate", lambda s, t: misordering_rate(s, t)),
        ("pair_margins", lambda s, t: pair_margins(s)),
        ("population", lambda s, t: population_pairwise_risk(s, t, s * 0 + 1 / s.shape[-1])),
        ("pairwise_risk", lambda s, t: pairwise_risk(s * s)),
        ("aggregate_diameter", lambda s, t: aggregate_diameter(s * s)),
        ("binary_entropy", lambda s, t: binary_entropy(s * s / (1 + s * s))),
        ("misordering_bound", lambda s, t: misordering_bound(s * s / (3 + s * s), t * t, 0.2)),
        ("transfer_bound", lambda s, t: transfer_bound(t * t, 1 + s * s)),
    ]


@pytest.mark.parametrize("half", ["torch.float16", "torch.bfloat16", "np.float16"])
def test_half_precision_in_half_precision_out_and_accurate(half):
    """float16 / bfloat16 data come back in their dtype, computed in float32 (to the half
    dtype's rounding of the float64 result on the same values)."""
    s64, t64 = _ordinary((4, 5))
    if half == "np.float16":
        s, t = s64.astype(np.float16), t64.astype(np.float16)
        ref_s, ref_t = s.astype(np.float64), t.astype(np.float64)
        dtype, eps = np.dtype(np.float16), 2.0**-10
    else:
        tdtype = getattr(torch, half.split(".")[1])
        s, t = torch.tensor(s64).to(tdtype), torch.tensor(t64).to(tdtype)
        ref_s, ref_t = s.double().numpy(), t.double().numpy()
        dtype, eps = tdtype, torch.finfo(tdtype).eps
    for name, call in _score_calls():
        got, ref = call(s, t), call(ref_s, ref_t)
        assert got.dtype == dtype, name
        got = got.double().numpy() if isinstance(got, torch.Tensor) else got.astype(np.float64)
        np.testing.assert_allclose(got, ref, rtol=4 * eps, atol=4 * eps, err_msg=name)
    emb = np.random.default_rng(0).standard_normal((3, 4, 5))
    x = emb.astype(np.float16) if half == "np.float16" else torch.tensor(emb).to(dtype)
    assert essential_diameter(x).dtype == dtype


def test_float16_autograd_kept():
    s = torch.randn(3, 4).half().requires_grad_(True)
    t = torch.randn(3, 4).half()
    for fn in (soft_ranknet, listwise_kl, margin_mse, hard_ranknet):
        s.grad = None
        out = fn(s, t)
        assert out.dtype == torch.float16 and out.requires_grad
        out.sum().backward()
        assert s.grad.dtype == torch.float16 and torch.isfinite(s.grad).all(), fn.__name__


def test_dtype_rules_for_other_inputs():
    s32 = np.zeros((2, 3), dtype=np.float32)
    assert pairwise_entropy(s32).dtype == np.float32
    assert pairwise_entropy(np.zeros((2, 3), dtype=np.int64)).dtype == np.float64
    assert pairwise_entropy([[0, 1, 2]]).dtype == np.float64
    assert misordering_bound(torch.tensor([0.1]).half(), 0.1, 0.2).dtype == torch.float16
    assert misordering_bound(np.float32([0.1]), 0.1, 0.2).dtype == np.float32
    counts = misordering_counts(torch.zeros(2, 3).half(), torch.arange(6.0).reshape(2, 3).half())
    assert all(c.dtype == torch.int64 for c in counts)  # counts stay integers


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_contract_on_cuda():
    """The same contract on a CUDA device: device and dtype kept, 0-d kept, errors name groups."""
    cuda = torch.device("cuda")
    x = torch.tensor(EXTREME, dtype=torch.float64, device=cuda)
    for fn in (pairwise_entropy, listwise_entropy):
        out = fn(x)
        assert out.device.type == "cuda" and out.item() == 0.0, fn.__name__
    assert soft_ranknet(x, x).item() == 0.0
    s = torch.randn(3, 4, device=cuda).half().requires_grad_(True)
    t = torch.randn(3, 4, device=cuda).half()
    for fn in (soft_ranknet, listwise_kl, margin_mse):
        s.grad = None
        v = fn(s, t)
        assert v.dtype == torch.float16 and v.device.type == "cuda", fn.__name__
        v.sum().backward()
        assert torch.isfinite(s.grad).all(), fn.__name__
    b = misordering_bound(torch.tensor(0.1, device=cuda), 0.1, 0.2)
    assert b.shape == () and b.device.type == "cuda"
    with pytest.raises(ValueError, match=r"margin_mse: .*group 1"):
        margin_mse(
            torch.tensor([[0.0, 0.0], [0.0, 1e200]], dtype=torch.float64, device=cuda),
            torch.tensor([[0.0, 1.0], [0.0, -1e200]], dtype=torch.float64, device=cuda),
        )
    with pytest.raises(ValueError, match=r"arguments do not broadcast together"):
        misordering_bound(
            torch.full((3,), 0.1, device=cuda), torch.full((4,), 0.1, device=cuda), 0.2
        )


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
