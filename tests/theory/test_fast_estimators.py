"""The fast estimator kernels: exact diameter screening and the numpy pair kernels.

- ``essential_diameter`` screens pairs with a float32 Gram matrix and recomputes only the pairs
  that can decide the quantile: its result must be bit-identical to the float64 quantile over all
  pairs (``_diameter.all_pairs_quantile``) and equal scipy's pdist quantile to float rounding, on
  random and adversarial inputs (ties, duplicates, near-equal distances, extreme norms);
- the proven screening bound ε_c must hold on every pair we can throw at it;
- the numpy pair kernels (CPU, no gradient) and the torch kernels (CUDA, autograd) must agree.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from locent.theory import _diameter as D
from locent.theory import _pair_kernels as pk
from locent.theory import (
    essential_diameter,
    hard_ranknet,
    misordering_counts,
    pairwise_entropy,
    soft_ranknet,
)
from locent.theory.pairs import pair_index_torch
from scipy.spatial.distance import pdist


def pdist_quantile(emb: np.ndarray, alpha: float) -> np.ndarray:
    out = []
    for e in emb:
        u = e.astype(np.float64)
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        out.append(np.quantile(pdist(u), alpha))
    return np.array(out)


@pytest.fixture(params=["compiled", "tensor"])
def diameter_path(request, monkeypatch):
    """Run a test on the compiled CPU kernel and on the tensor path (the one CUDA runs)."""
    monkeypatch.setattr(D, "CPU_KERNEL", request.param == "compiled")
    return request.param


def check_exact(emb: np.ndarray, alpha: float) -> np.ndarray:
    got = essential_diameter(emb, alpha=alpha)
    exact = D.all_pairs_quantile(torch.as_tensor(emb), alpha).numpy().astype(emb.dtype)
    np.testing.assert_array_equal(got, exact)  # the screen never changes a bit
    if emb.dtype == np.float64:
        # float rounding: a few ulps, and ~1e-16 absolute on the unit vectors' components (two
        # float64 computations of a 1e-7 distance differ by ~1e-18, i.e. 1e-11 relative)
        np.testing.assert_allclose(got, pdist_quantile(emb, alpha), rtol=4e-15, atol=1e-16)
    return got


# ----------------------------------------------------------------------------- diameter


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k,dim", [(2, 5), (3, 384), (16, 384), (25, 64)])
@pytest.mark.parametrize("alpha", [0.05, 0.5, 0.9, 0.99, 1.0])
def test_diameter_exact_on_random_groups(dtype, k, dim, alpha, diameter_path):
    rng = np.random.default_rng(k * dim)
    emb = rng.standard_normal((30, 1, dim)) + 0.4 * rng.standard_normal((30, k, dim))
    check_exact((emb * rng.uniform(0.2, 5, size=(30, k, 1))).astype(dtype), alpha)


@pytest.mark.parametrize("alpha", [0.5, 0.99, 1.0])
def test_diameter_exact_on_ties_duplicates_and_near_equal_distances(alpha, diameter_path):
    rng = np.random.default_rng(11)
    k, dim = 16, 48
    groups = []
    # exact ties: the orthonormal basis vectors, every distance √2
    groups.append(np.eye(k, dim))
    # duplicates: four distinct items, each four times (zero distances and tied maxima)
    groups.append(np.repeat(rng.standard_normal((4, dim)), 4, axis=0))
    # every item identical: all distances 0
    groups.append(np.repeat(rng.standard_normal((1, dim)), k, axis=0))
    # near-equal distances: the basis perturbed by 1e-9 (far below the float32 screen's ε)
    groups.append(np.eye(k, dim) + 1e-9 * rng.standard_normal((k, dim)))
    # near-duplicates: one direction perturbed by 1e-7 (relative accuracy of tiny distances)
    groups.append(rng.standard_normal((1, dim)) + 1e-7 * rng.standard_normal((k, dim)))
    # a single outlier: the diameter is decided by the k − 1 pairs through it
    g = rng.standard_normal((1, dim)) + 0.01 * rng.standard_normal((k, dim))
    g[5] = rng.standard_normal(dim)
    groups.append(g)
    emb = np.stack(groups)
    got = check_exact(emb, alpha)
    assert got[2] == 0.0
    assert got[0] == np.sqrt(2.0) or abs(got[0] - np.sqrt(2.0)) <= 4e-16
    check_exact(emb.astype(np.float32), alpha)


def test_diameter_extreme_norms_take_the_float64_path_and_stay_exact(diameter_path):
    rng = np.random.default_rng(12)
    emb = rng.standard_normal((6, 8, 16))
    emb[1] *= 1e-30  # squared norms below the screen's proven range
    emb[4] *= 1e30  # and above it (float32 would overflow)
    check_exact(emb, 0.99)


def test_diameter_ignores_reduced_precision_matmul_settings():
    rng = np.random.default_rng(13)
    emb = rng.standard_normal((20, 16, 384)).astype(np.float32)
    mkl = torch.backends.mkldnn.matmul
    if not hasattr(mkl, "fp32_precision"):
        pytest.skip("torch without per-backend matmul precision")
    before = mkl.fp32_precision
    try:
        mkl.fp32_precision = "bf16"  # would allow bf16 passes on CPUs that have them
        check_exact(emb, 0.99)
        assert mkl.fp32_precision == "bf16"  # restored after the call
    finally:
        mkl.fp32_precision = before


@pytest.mark.parametrize("dim", [3, 384, 4096])
def test_screen_bound_holds_on_every_pair(dim):
    """|c̃ − c| ≤ ε_c for the float32-screened cosines, including all-positive inputs (the worst
    case for accumulated rounding) and float64 input cast to float32."""
    rng = np.random.default_rng(dim)
    k = 16
    for emb in (
        rng.standard_normal((40, k, dim)),
        np.abs(rng.standard_normal((40, k, dim))) + 1e-3,
        rng.standard_normal((40, 1, dim)) + 1e-3 * rng.standard_normal((40, k, dim)),
    ):
        x = torch.as_tensor(emb)
        x32 = x.to(torch.float32)
        i, j = pair_index_torch(k, x.device)
        cos = D.screened_cosines(torch.bmm(x32, x32.transpose(1, 2)), i * k + j, i, j)
        g = torch.arange(40).repeat_interleave(len(i))
        d = D.pair_distances64(x, g, i.repeat(40), j.repeat(40)).reshape(40, -1)
        exact_cos = 1.0 - d.square() / 2.0
        err = (cos.to(torch.float64) - exact_cos).abs().max().item()
        assert err <= D.screen_bound(dim, input_is_float32=False)


def test_diameter_torch_input_and_float32_option_unchanged(diameter_path):
    rng = np.random.default_rng(14)
    emb = rng.standard_normal((10, 16, 32))
    got = essential_diameter(torch.as_tensor(emb))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_array_equal(got.numpy(), essential_diameter(emb))
    fast = essential_diameter(emb, precision="float32")
    np.testing.assert_allclose(fast, pdist_quantile(emb, 0.99), atol=2e-5)


# ----------------------------------------------------------------------------- pair kernels


def scores(n: int, k: int, dtype=np.float64, ties: bool = False):
    rng = np.random.default_rng(n + k)
    t = rng.standard_normal((n, k)) * 3
    s = t + rng.standard_normal((n, k))
    if ties:
        t = np.round(t)
        s = np.round(s)
    return torch.as_tensor(s.astype(dtype)), torch.as_tensor(t.astype(dtype))


def torch_path(x: torch.Tensor) -> torch.Tensor:
    """The same tensor, marked as needing a gradient: the kernels then take the torch path."""
    return x.clone().requires_grad_(True)


@pytest.mark.parametrize("k", [2, 3, 16, 40])
@pytest.mark.parametrize("ties", [False, True])
def test_numpy_and_torch_kernels_agree(k, ties):
    s, t = scores(600, k, ties=ties)
    assert pk.use_numpy(s, t) and not pk.use_numpy(torch_path(s))
    tau = torch.as_tensor(np.random.default_rng(0).uniform(0.3, 3, size=600))
    for tau_v in (1.0, 0.7, tau):
        a = pk.pairwise_entropy_mean(t, tau_v)
        b = pk.pairwise_entropy_mean(torch_path(t), tau_v).detach()
        torch.testing.assert_close(a, b, rtol=1e-13, atol=0)
        a = pk.soft_ranknet_mean(s, t, tau_v)
        b = pk.soft_ranknet_mean(torch_path(s), t, tau_v).detach()
        # the closed form's own accuracy near |δ| = 0.02 is ~1e-12 relative (see _special)
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-300)
    tot_a, comp_a = pk.hard_ranknet_sums(s, t)
    tot_b, comp_b = pk.hard_ranknet_sums(torch_path(s), t)
    torch.testing.assert_close(tot_a, tot_b.detach(), rtol=1e-13, atol=0)
    assert torch.equal(comp_a, comp_b)
    for a, b in zip(pk.misordering_counts(s, t), pk._torch_counts(s, t)):
        assert torch.equal(a, b)


def test_saturated_logits_numpy_and_torch_kernels_agree():
    """Logits beyond the range (margin/τ = ±inf) with ``saturate``: the numpy kernels clamp as
    ``_special`` does (h = 0; a teacher at p ∈ {0, 1}; KL = 0 for a student saturated the same
    way) and agree with the torch kernels (the unclamped numpy formulas give inf·0 = NaN)."""
    t = torch.tensor([[1e308, -1e308, 0.0, 1.0], [0.0, 1.0, 2.0, 3.0]], dtype=torch.float64)
    s = torch.tensor([[1e308, -1e308, 0.0, -1.0], [3.0, 1.0, 2.0, 0.0]], dtype=torch.float64)
    for tau in (0.5, torch.tensor([1e-300, 2.0], dtype=torch.float64)):
        a = pk.pairwise_entropy_mean(t, tau, saturate=True)
        b = pk.pairwise_entropy_mean(torch_path(t), tau, saturate=True).detach()
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, b, rtol=1e-13, atol=0)
        a = pk.soft_ranknet_mean(s, t, tau, saturate=True)
        b = pk.soft_ranknet_mean(torch_path(s), t, tau, saturate=True).detach()
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, b, rtol=1e-13, atol=0)


def test_numpy_kernels_keep_float32_and_match_float64():
    s, t = scores(500, 16, dtype=np.float32)
    h = pairwise_entropy(t.numpy())
    assert h.dtype == np.float32
    np.testing.assert_allclose(h, pairwise_entropy(t.numpy().astype(np.float64)), rtol=2e-5)
    loss = soft_ranknet(s.numpy(), t.numpy())
    assert loss.dtype == np.float32
    ref = soft_ranknet(s.numpy().astype(np.float64), t.numpy().astype(np.float64))
    np.testing.assert_allclose(loss, ref, rtol=1e-4)


def test_extreme_margins_and_teacher_ties():
    # the student margin of the teacher-tied pair (0, 1) overflows to −inf: the pair carries no
    # label (the numpy kernel's inf·0 there is redone on the torch path); the loss is finite
    s = np.array([[-1e308, 1e308, 0.0, 1.0], [0.0, 20.0, -1000.0, 3.0]])
    t = np.array([[1.0, 1.0, 1.0, 2.0], [0.0, 0.5, 1000.0, 3.0]])
    fast = hard_ranknet(s, t)
    np.testing.assert_allclose(fast, hard_ranknet(torch.tensor(s, requires_grad=True), t).detach())
    assert np.isfinite(fast).all() and fast[0] == pytest.approx(1e308 / 3)
    mis, comp, ties = misordering_counts(s, t)
    assert comp.tolist() == [3, 6] and ties.tolist() == [0, 0]
    assert np.isfinite(soft_ranknet(s[1:], t[1:])).all()
    # two pair losses of 1e308: their sum overflows, so the loss is not representable (API
    # contract: a ValueError naming the group, never inf), on the numpy and the torch path alike
    s, t = np.array([[1e308, -1e308, 0.0, 1.0]]), np.array([[2.0, 2.0, 1.0, 0.0]])
    for x in (s, torch.tensor(s, requires_grad=True)):
        with pytest.raises(ValueError, match=r"hard_ranknet: .*not representable .* group 0"):
            hard_ranknet(x, t)


def test_gradients_still_flow_through_the_torch_path():
    s, t = scores(50, 8)
    st = torch_path(s)
    soft_ranknet(st, t).sum().backward()
    assert st.grad is not None and torch.isfinite(st.grad).all()
