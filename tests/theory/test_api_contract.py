"""The theory API contract (issue 16 item 3), one test per probe that used to fail.

- finite extreme input never gives a silent NaN (test_api_extreme_input.py);
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
from locent.theory import (
    GeneralisationBound,
    MisorderingGeneralisationBound,
    TransferBound,
    aggregate_diameter,
    binary_entropy,
    bregman_divergence,
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

from locent.cli import main

EXTREME = [[1e308, -1e308, 0.0]]
LN2 = math.log(2.0)


def _ordinary(shape=(5, 6), seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape)


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
    assert rc == 2 and "--entropy 5" in err and "[0, ln 2]" in err
    rc = main([*common, "--form", "i", "--n", "1e-300"])
    err = capsys.readouterr().err
    assert rc == 2 and "--n 1e-300" in err and "at least 1" in err


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
