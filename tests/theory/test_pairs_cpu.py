"""The compiled float64 pair kernels (``theory/_pairs_cpu.py``) and their exponential
(``theory/_libm64.py``).

- ``exp64`` is within 1 ulp of the 80-bit exponential over its whole range, with the right
  special values (0 below −745.13, subnormals, inf above 709.78, NaN);
- the kernels agree with the torch path (the formulas of ``_special``) and with the numpy
  kernels, for τ = 1, scalar τ, τ per group, teacher ties, k = 2 and k = 50 (more pairs than one
  log-product block), and groups the log-product bound rejects (log1p per pair instead);
- a group's result does not depend on the other groups of the call;
- the bits do not depend on the CPU's vector width: the same inputs compiled for AVX2 only
  (numba's Haswell target, in a subprocess) give the same bits as on this CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from locent.theory import _pair_kernels as pk
from locent.theory import _pairs_cpu as pc
from locent.theory._libm64 import exp64, exp64_flush
from locent.theory._special import binary_entropy_logit
from locent.theory.pairs import margins_any_order
from numba import njit


@njit(cache=True, error_model="numpy")
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp64(x[i])


@njit(cache=True, error_model="numpy")
def _exp_flush_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp64_flush(x[i])


def exp_array(x: np.ndarray, flush: bool = False) -> np.ndarray:
    out = np.empty_like(x)
    (_exp_flush_all if flush else _exp_all)(x, out)
    return out


def test_exp64_flush_is_exp64_down_to_minus_708_and_zero_below():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-708.0, 0.0, 200_000), [0.0, -708.0, -1e-300]])
    np.testing.assert_array_equal(exp_array(x, flush=True), exp_array(x))
    edge = [np.nextafter(-708.0, -np.inf), -np.inf]
    below = np.concatenate([rng.uniform(-800.0, -708.0, 1000), edge])
    assert (exp_array(below, flush=True) == 0.0).all()
    assert (exp_array(below[:-2]) > 0.0).any()  # exp64 keeps the subnormals that this flushes


def ulp_error(got: np.ndarray, x: np.ndarray) -> np.ndarray:
    exact = np.exp(x.astype(np.longdouble))
    ulp = np.spacing(exact.astype(np.float64)).astype(np.longdouble)
    return np.abs((got.astype(np.longdouble) - exact) / ulp).astype(np.float64)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs 80-bit long double")
def test_exp64_is_within_one_ulp_over_its_range():
    rng = np.random.default_rng(0)
    wide, pair_range = rng.uniform(-708.3, 709.7, 400_000), rng.uniform(-30, 0, 400_000)
    x = np.concatenate([wide, pair_range, rng.uniform(-1, 1, 1000)])
    assert ulp_error(exp_array(x), x).max() <= 1.0
    # subnormal results: within one ulp of the subnormal grid (its spacing is 2⁻¹⁰⁷⁴)
    sub = rng.uniform(-745.0, -708.5, 100_000)
    err = np.abs(exp_array(sub).astype(np.longdouble) - np.exp(sub.astype(np.longdouble)))
    assert (err <= np.longdouble(2.0**-1074)).all()


def test_exp64_special_values():
    x = np.array([0.0, -0.0, -745.2, -746.0, -1e300, -np.inf, 709.7, 709.8, 1e300, np.inf, np.nan])
    got = exp_array(x)
    assert got[0] == 1.0 and got[1] == 1.0
    assert (got[2:6] == 0.0).all()
    assert np.isfinite(got[6]) and got[6] > 1e308
    assert np.isposinf(got[7:10]).all()
    assert np.isnan(got[10])
    # a value and the same value inside a long vectorised array: the same bits
    y = np.random.default_rng(1).uniform(-50, 5, 1001)
    whole = exp_array(y)
    assert all(exp_array(y[i : i + 1])[0] == whole[i] for i in range(0, 1001, 97))


def torch_entropy_sums(t: np.ndarray, tau) -> np.ndarray:
    tau_t = torch.as_tensor(tau)[:, None] if isinstance(tau, np.ndarray) else tau
    return binary_entropy_logit(margins_any_order(torch.as_tensor(t)) / tau_t).sum(-1).numpy()


def torch_hard_sums(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    sign = torch.sign(margins_any_order(torch.as_tensor(t)))
    terms = -F.logsigmoid(sign * margins_any_order(torch.as_tensor(s)))
    return torch.where(sign != 0, terms, torch.zeros(())).sum(-1).numpy()


def scores(n: int, k: int, seed: int = 0, teacher_scale: float = 3.0, ties: bool = False):
    rng = np.random.default_rng(seed)
    t = rng.standard_normal((n, k)) * teacher_scale
    if ties:  # a third of the teacher scores repeat another one of the group (k = 2: all tied)
        r = max(1, k // 3)
        t[:, :r] = t[:, r : 2 * r]
    return t + rng.standard_normal((n, k)), t


@pytest.mark.parametrize("k", [2, 16, 50])
@pytest.mark.parametrize("tau", [1.0, 0.4, "per_group"])
def test_entropy_kernel_agrees_with_the_torch_path(k, tau):
    _, t = scores(600, k, seed=k)
    if tau == "per_group":
        tau = np.random.default_rng(2).uniform(0.2, 5, len(t))
    sums, kept = pc.entropy_sums(t, *pc.tau_array(tau, len(t)))
    want = torch_entropy_sums(t, tau)
    # k = 2: one pair, whose entropy is often too small (a margin ≳ 8 logits) for the bound
    assert kept.any() if k == 2 else kept.mean() > 0.99
    np.testing.assert_allclose(sums[kept], want[kept], rtol=1e-13, atol=0)
    tau_t = torch.as_tensor(tau) if isinstance(tau, np.ndarray) else tau
    got = pk.pairwise_entropy_mean(torch.as_tensor(t), tau_t).numpy()
    np.testing.assert_allclose(got, want / (k * (k - 1) // 2), rtol=1e-13, atol=0)


@pytest.mark.parametrize("k", [2, 16, 50])
@pytest.mark.parametrize("ties", [False, True])
def test_hard_kernel_agrees_with_the_torch_path(k, ties):
    s, t = scores(600, k, seed=k, ties=ties)
    sums, counts, kept = pc.hard_sums(s, t)
    want = torch_hard_sums(s, t)
    if k == 2 and ties:  # no comparable pair: a zero sum, which no relative bound vouches for
        assert not kept.any() and (want == 0).all()
    else:
        assert kept.any() if k == 2 else kept.mean() > 0.99
    np.testing.assert_allclose(sums[kept], want[kept], rtol=1e-13, atol=0)
    got = pk.hard_ranknet_sums(torch.as_tensor(s), torch.as_tensor(t))[0].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    want = (margins_any_order(torch.as_tensor(t)) != 0).sum(-1).numpy()
    np.testing.assert_array_equal(counts, want)
    assert (counts < k * (k - 1) // 2).all() if ties else (counts == k * (k - 1) // 2).all()


def test_groups_outside_the_log_product_bound_take_log1p_per_pair():
    """A nearly deterministic teacher (margins of hundreds of logits: mean entropy ~1e-40) and a
    student that orders every pair far apart: sums too small for the log-product to vouch for."""
    _, t = scores(300, 16, seed=3, teacher_scale=300.0)
    s = 40.0 * t
    taus, divide = pc.tau_array(1.0, len(t))
    _, kept = pc.entropy_sums(t, taus, divide)
    assert not kept.all()
    rows = np.flatnonzero(~kept)
    slow = pc.entropy_sums_log1p(t, taus, divide, rows)
    np.testing.assert_allclose(slow, torch_entropy_sums(t[rows], 1.0), rtol=1e-13, atol=0)
    got = pk.pairwise_entropy_mean(torch.as_tensor(t), 1.0).numpy()
    np.testing.assert_array_equal(got[rows], slow / 120)
    _, _, hard_kept = pc.hard_sums(s, t)
    assert not hard_kept.all()
    rows = np.flatnonzero(~hard_kept)
    slow = pc.hard_sums_log1p(s, t, rows)
    # atol: below 1e-300 torch's exponential flushes subnormal results to 0 (exp64 keeps them)
    np.testing.assert_allclose(slow, torch_hard_sums(s[rows], t[rows]), rtol=1e-13, atol=1e-300)


def test_overflowed_margins_saturate_as_on_the_torch_path():
    huge = torch.tensor([[1e308, -1e308, 0.0, 1.0], [3.0, 1.0, 2.0, 0.5]], dtype=torch.float64)
    got = pk.pairwise_entropy_mean(huge, 0.5, saturate=True).numpy()
    want = pk.pairwise_entropy_mean(huge.clone().requires_grad_(True), 0.5, saturate=True)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-13, atol=0)
    student = torch.tensor([[1e308, -1e308, 0.0, 1.0], [2.0, 1.0, 2.5, 0.0]], dtype=torch.float64)
    got = pk.soft_ranknet_mean(student, huge, 0.5, saturate=True).numpy()
    want = pk.soft_ranknet_mean(student.clone().requires_grad_(True), huge, 0.5, saturate=True)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", ["entropy", "hard", "soft"])
def test_compiled_and_numpy_kernels_agree(name, monkeypatch):
    s, t = scores(700, 16, seed=5)
    st_, tt = torch.as_tensor(s), torch.as_tensor(t)
    run = {
        "entropy": lambda: pk.pairwise_entropy_mean(tt, 0.7),
        "hard": lambda: pk.hard_ranknet_sums(st_, tt)[0],
        "soft": lambda: pk.soft_ranknet_mean(st_, tt, 0.7),
    }[name]
    compiled = run().numpy()
    monkeypatch.setattr(pk, "COMPILED", False)
    np.testing.assert_allclose(compiled, run().numpy(), rtol=1e-13, atol=0)


def test_a_groups_result_does_not_depend_on_the_other_groups():
    s, t = scores(1200, 16, seed=6)
    taus, divide = pc.tau_array(np.random.default_rng(3).uniform(0.5, 2, 1200), 1200)
    whole_e = pc.entropy_sums(t, taus, divide)[0]
    whole_h = pc.hard_sums(s, t)[0]
    for a, b in [(0, 1), (5, 600), (511, 1200)]:
        np.testing.assert_array_equal(pc.entropy_sums(t[a:b], taus[a:b], divide)[0], whole_e[a:b])
        np.testing.assert_array_equal(pc.hard_sums(s[a:b], t[a:b])[0], whole_h[a:b])


# the kernels on fixed inputs, printed as float64 bit patterns (run here and under AVX2 only)
_BITS_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from locent.theory import _pair_kernels as pk, _pairs_cpu as pc
    rng = np.random.default_rng(11)
    t = rng.standard_normal((700, 16)) * 3
    s = t + rng.standard_normal((700, 16))
    taus, divide = pc.tau_array(rng.uniform(0.5, 2, 700), 700)
    out = [pc.entropy_sums(t, taus, divide)[0], pc.hard_sums(s, t)[0],
           pc.soft_sums(s, t, taus, divide)[0]]
    print(json.dumps([o.view(np.int64).tolist() for o in out]))
    """
)


def _bits(env: dict) -> list:
    done = subprocess.run(
        [sys.executable, "-c", _BITS_SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_the_bits_do_not_depend_on_the_cpus_vector_width(tmp_path):
    """numba compiled for this CPU and for Haswell (AVX2, no AVX-512), each in its own cache:
    the same bits. (On a CPU without AVX-512 both are AVX2 and the test shows less.)"""
    here = _bits({**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "native")})
    avx2 = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(tmp_path / "avx2"),
        "NUMBA_CPU_NAME": "haswell",
        "NUMBA_CPU_FEATURES": "+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+f16c,+fma,+fxsr,+lzcnt,"
        "+mmx,+movbe,+popcnt,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave,-avx512f,-avx512bw,"
        "-avx512dq,-avx512vl,-avx512cd,-evex512",
    }
    assert _bits(avx2) == here


# --------------------------------------------------------------------------- autograd (CPU float64)


@pytest.mark.parametrize("name", ["soft", "hard"])
@pytest.mark.parametrize("tau", [1.0, 0.6, "per_group"])
def test_compiled_autograd_matches_the_torch_path(name, tau, monkeypatch):
    s, t = scores(900, 16, seed=8)  # 900 groups: two compiled chunks
    if tau == "per_group":
        tau = torch.as_tensor(np.random.default_rng(5).uniform(0.3, 3, 900))
    weights = torch.as_tensor(np.random.default_rng(6).standard_normal(900))
    tt = torch.as_tensor(t)

    def value_and_grad():
        st_ = torch.as_tensor(s).clone().requires_grad_(True)
        if name == "soft":
            out = pk.soft_ranknet_mean(st_, tt, tau)
        else:
            out = pk.hard_ranknet_sums(st_, tt)[0]
        (out * weights).sum().backward()
        return out.detach(), st_.grad, type(out.grad_fn).__name__

    value, grad, fn = value_and_grad()
    assert fn == ("SoftRankNetMeanBackward" if name == "soft" else "HardRankNetSumsBackward")
    monkeypatch.setattr(pk, "COMPILED", False)
    want_value, want_grad, torch_fn = value_and_grad()
    assert "RankNet" not in torch_fn  # the torch path really ran
    np.testing.assert_allclose(value, want_value, rtol=1e-13, atol=0)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)


def test_compiled_autograd_passes_gradcheck():
    s, t = scores(12, 6, seed=9, ties=True)
    tt, tau = torch.as_tensor(t), torch.as_tensor(np.linspace(0.5, 2, 12))
    x = torch.as_tensor(s).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: pk.soft_ranknet_mean(v, tt, tau), (x,))
    assert torch.autograd.gradcheck(lambda v: pk.hard_ranknet_sums(v, tt)[0], (x,))


def test_the_compiled_autograd_takes_only_what_it_can_differentiate():
    s, t = scores(10, 8, seed=10)
    st_, tt = torch.as_tensor(s).requires_grad_(True), torch.as_tensor(t)
    torch_path = [
        (st_, tt.clone().requires_grad_(True), 1.0, False),  # teacher needs a gradient
        (st_, tt, torch.full((10,), 0.7, dtype=torch.float64, requires_grad=True), False),  # τ
        (st_.detach().float().requires_grad_(True), tt.float(), 1.0, False),  # float32
        (st_, tt, 1.0, True),  # possibly overflowed logits
    ]
    for s_, t_, tau, saturate in torch_path:
        out = pk.soft_ranknet_mean(s_, t_, tau, saturate=saturate)
        assert "RankNet" not in type(out.grad_fn).__name__
    out = pk.soft_ranknet_mean(st_, tt, 1.0)
    assert type(out.grad_fn).__name__ == "SoftRankNetMeanBackward"


@pytest.mark.parametrize("tau", [1.0, 0.6, "per_group"])
def test_compiled_entropy_autograd_matches_the_torch_path(tau, monkeypatch):
    _, t = scores(900, 16, seed=11)
    if tau == "per_group":
        tau = torch.as_tensor(np.random.default_rng(7).uniform(0.3, 3, 900))
    weights = torch.as_tensor(np.random.default_rng(8).standard_normal(900))

    def value_and_grad():
        tt = torch.as_tensor(t).clone().requires_grad_(True)
        out = pk.pairwise_entropy_mean(tt, tau)
        (out * weights).sum().backward()
        return out.detach(), tt.grad, type(out.grad_fn).__name__

    value, grad, fn = value_and_grad()
    assert fn == "EntropyMeanBackward"
    monkeypatch.setattr(pk, "COMPILED", False)
    want_value, want_grad, torch_fn = value_and_grad()
    assert "Entropy" not in torch_fn
    np.testing.assert_allclose(value, want_value, rtol=1e-13, atol=0)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)
    x = torch.as_tensor(t[:10, :6]).clone().requires_grad_(True)
    taus = torch.as_tensor(np.linspace(0.5, 2, 10))
    assert torch.autograd.gradcheck(lambda v: pk.pairwise_entropy_mean(v, taus), (x,))
