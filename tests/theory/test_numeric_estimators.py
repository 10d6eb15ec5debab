"""Estimators of THEORY.md §6 against plain float64 / mpmath references written out here."""

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
    aggregate_diameter,
    binary_entropy,
    density_ratio,
    essential_diameter,
    listwise_entropy,
    misordering_counts,
    misordering_rate,
    pair_index,
    pair_margins,
    pairwise_entropy,
)
from scipy.spatial.distance import pdist

mp.mp.dps = 50

# ----------------------------------------------------------------------------- references


def ref_h(p) -> mp.mpf:
    p = mp.mpf(p)
    if p == 0 or p == 1:
        return mp.mpf(0)
    return -p * mp.log(p) - (1 - p) * mp.log1p(-p)


def ref_sigmoid(z) -> mp.mpf:
    return 1 / (1 + mp.exp(-mp.mpf(z)))


def ref_pairwise_entropy(t, tau=1.0) -> float:
    """Definition 2.3 typed out, at a precision that resolves 1 − σ(z) for the largest |z|."""
    k = len(t)
    zmax = max(abs(float(t[i]) - float(t[j])) for i in range(k) for j in range(k)) / tau
    with mp.workdps(int(zmax / 2.3) + 60):
        terms = [
            ref_h(ref_sigmoid((mp.mpf(t[i]) - mp.mpf(t[j])) / tau))
            for i in range(k)
            for j in range(i + 1, k)
        ]
        return float(mp.fsum(terms) / len(terms))


def ref_listwise_entropy(t, tau=1.0) -> float:
    z = [mp.mpf(v) / tau for v in t]
    lse = mp.log(mp.fsum(mp.exp(v) for v in z))
    return float(-mp.fsum(mp.exp(v - lse) * (v - lse) for v in z))


def ref_diameter(emb: np.ndarray, alpha: float) -> float:
    u = emb.astype(np.float64)
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    return float(np.quantile(pdist(u), alpha))


# ----------------------------------------------------------------------------- pairs


def test_pair_index_matches_triu_order():
    for k in (2, 3, 7):
        i, j = pair_index(k)
        ref = [(a, b) for a in range(k) for b in range(a + 1, k)]
        assert list(zip(i.tolist(), j.tolist())) == ref


def test_pair_margins_numpy_and_torch():
    t = np.array([[3.0, -1.0, 0.5], [0.0, 2.0, 2.0]])
    expected = np.array([[4.0, 2.5, -1.5], [-2.0, -2.0, 0.0]])
    np.testing.assert_array_equal(pair_margins(t), expected)
    out = pair_margins(torch.tensor(t))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), expected)


# ----------------------------------------------------------------------------- entropy


@pytest.mark.parametrize("p", [0.0, 1e-300, 1e-12, 0.1, 0.5, 0.75, 1 - 1e-12, 1.0])
def test_binary_entropy_against_mpmath(p):
    got = binary_entropy(np.array([p]))[0]
    assert got == pytest.approx(float(ref_h(p)), rel=1e-12, abs=1e-300)
    bits = binary_entropy(np.array([p]), base=2)[0]
    assert bits == pytest.approx(float(ref_h(p) / mp.log(2)), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("gap", [0.0, 0.5, 20.0, 1000.0, -20.0])
@pytest.mark.parametrize("tau", [0.5, 1.0, 3.0])
def test_pairwise_entropy_extreme_gaps(gap, tau):
    t = np.array([gap, 0.0])
    ref = ref_pairwise_entropy(t, tau)
    got = pairwise_entropy(t, tau=tau)
    assert got == pytest.approx(ref, rel=1e-12, abs=1e-320)


def test_pairwise_entropy_negative_scores_ties_large_k():
    rng = np.random.default_rng(0)
    # negative log-probability style scores with ties, k = 2 and k = 200
    for k in (2, 5, 200):
        t = -np.abs(rng.standard_normal(k)) * 10
        t[: k // 2] = np.round(t[: k // 2])
        ref = ref_pairwise_entropy(t, tau=1.5) if k <= 5 else None
        got = pairwise_entropy(t, tau=1.5)
        if ref is not None:
            assert got == pytest.approx(ref, rel=1e-12)
        # large k: float64 loop reference
        z = np.array([(t[i] - t[j]) / 1.5 for i in range(k) for j in range(i + 1, k)])
        p = 1 / (1 + np.exp(-z))
        loop = np.mean(
            [0.0 if q in (0, 1) else -q * math.log(q) - (1 - q) * math.log(1 - q) for q in p]
        )
        assert got == pytest.approx(loop, rel=1e-10)


def test_pairwise_entropy_bits_and_batch_shape():
    rng = np.random.default_rng(1)
    t = rng.standard_normal((3, 4, 6))
    nats = pairwise_entropy(t)
    assert nats.shape == (3, 4)
    np.testing.assert_allclose(pairwise_entropy(t, base=2), nats / math.log(2), rtol=1e-14)
    assert nats[1, 2] == pytest.approx(ref_pairwise_entropy(t[1, 2]), rel=1e-12)
    # array-valued tau broadcast over the leading axes
    tau = np.array([0.5, 1.0, 2.0])[:, None] * np.ones((3, 4))
    got = pairwise_entropy(t, tau=tau)
    assert got[2, 1] == pytest.approx(ref_pairwise_entropy(t[2, 1], 2.0), rel=1e-12)


@pytest.mark.parametrize(
    "t", [[0.5, 0.0], [20.0, 0.0, -3.0], [1000.0, 0.0, 0.0, 999.5], [-5, -5, -5]]
)
def test_listwise_entropy_against_mpmath(t):
    t = np.asarray(t, dtype=float)
    for tau in (0.7, 1.0):
        ref = ref_listwise_entropy(t, tau)
        assert listwise_entropy(t, tau=tau) == pytest.approx(ref, rel=1e-12, abs=1e-300)
        norm = listwise_entropy(t, tau=tau, normalise=True)
        assert norm == pytest.approx(ref / math.log(len(t)), rel=1e-12, abs=1e-300)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 12), elements=st.floats(-1e3, 1e3)),
    st.floats(-1e3, 1e3),
    st.floats(0.05, 20),
)
def test_entropies_shift_invariant_and_in_range(t, shift, tau):
    h = pairwise_entropy(t, tau=tau)
    assert 0.0 <= h <= math.log(2) + 1e-15
    assert pairwise_entropy(t + shift, tau=tau) == pytest.approx(h, rel=1e-9, abs=1e-12)
    lh = listwise_entropy(t, tau=tau)
    assert -1e-12 <= lh <= math.log(len(t)) + 1e-12
    assert listwise_entropy(t + shift, tau=tau) == pytest.approx(lh, rel=1e-9, abs=1e-9)


def test_entropy_numpy_torch_agree_and_keep_dtype():
    rng = np.random.default_rng(2)
    t = rng.standard_normal((5, 9)) * 4
    for fn in (pairwise_entropy, listwise_entropy):
        a = fn(t, tau=0.8)
        b = fn(torch.tensor(t), tau=0.8)
        assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
        assert b.dtype == torch.float64
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-15, atol=0)
        b32 = fn(torch.tensor(t, dtype=torch.float32), tau=0.8)
        assert b32.dtype == torch.float32
        np.testing.assert_allclose(b32.numpy(), a, rtol=1e-5)


# ----------------------------------------------------------------------------- diameter


@pytest.mark.parametrize("k,dim", [(2, 3), (5, 8), (16, 384), (40, 7)])
@pytest.mark.parametrize("alpha", [0.01, 0.5, 0.99, 1.0])
def test_essential_diameter_matches_pdist_quantile(k, dim, alpha):
    rng = np.random.default_rng(k * dim)
    emb = rng.standard_normal((6, k, dim)) * rng.uniform(0.1, 10, size=(6, k, 1))
    got = essential_diameter(emb, alpha=alpha)
    ref = np.array([ref_diameter(e, alpha) for e in emb])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_essential_diameter_float32_accuracy_and_near_duplicates():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((50, 1, 384))
    emb = (base + 1e-4 * rng.standard_normal((50, 16, 384))).astype(np.float32)
    emb[:25] = rng.standard_normal((25, 16, 384)).astype(np.float32)
    got = essential_diameter(emb, alpha=0.99)
    assert got.dtype == np.float32
    ref = np.array([ref_diameter(e, 0.99) for e in emb])
    # float64 accumulation: accurate to ~1e-7 absolute even at distances of order 1e-4
    np.testing.assert_allclose(got.astype(np.float64), ref, rtol=0, atol=1e-6)


def test_essential_diameter_normalises_embedding_axis_not_group_axis():
    # Two items along the same direction but different norms: distance 0 after normalising the
    # embedding axis; normalising the group axis (the authors' pitfall) would not give 0.
    emb = np.array([[[1.0, 0.0], [5.0, 0.0], [0.0, 2.0]]])
    got = essential_diameter(emb, alpha=1.0)
    assert got[0] == pytest.approx(math.sqrt(2), abs=1e-15)
    assert essential_diameter(emb[:, :2], alpha=1.0)[0] == pytest.approx(0.0, abs=1e-7)


def test_essential_diameter_chunking_batch_shape_and_torch(monkeypatch):
    import locent.theory._diameter as D
    import locent.theory.geometry as geometry

    rng = np.random.default_rng(4)
    emb = rng.standard_normal((2, 37, 6, 5))
    full = essential_diameter(emb)
    with monkeypatch.context() as m:  # the tensor path (CUDA's): one chunk, then three groups each
        m.setattr(D, "CPU_KERNEL", False)
        tensor_full = essential_diameter(emb)
        m.setattr(geometry, "_CHUNK_BYTES", 6 * 5 * 4 * 3)  # last chunk ragged
        chunked = essential_diameter(emb)
    assert full.shape == (2, 37)
    np.testing.assert_array_equal(tensor_full, chunked)
    # two float64 distance functions (compiled lanes, torch's norms): equal to rounding
    np.testing.assert_allclose(full, tensor_full, rtol=4e-15, atol=0)
    t = essential_diameter(torch.tensor(emb))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), full, rtol=0, atol=1e-15)
    assert essential_diameter(emb[0, 0]) == pytest.approx(ref_diameter(emb[0, 0], 0.99), abs=1e-12)


def test_aggregate_diameter_is_quantile_over_queries():
    rng = np.random.default_rng(5)
    per_query = rng.uniform(0, 2, size=(3, 101))
    for alpha in (0.5, 0.99, 1.0):
        np.testing.assert_allclose(
            aggregate_diameter(per_query, alpha), np.quantile(per_query, alpha, axis=-1), atol=1e-15
        )


# ----------------------------------------------------------------------------- misordering


def ref_counts(s, t):
    mis = comp = ties = 0
    for i, j in itertools.combinations(range(len(s)), 2):
        if t[i] == t[j]:
            continue
        comp += 1
        if s[i] == s[j]:
            ties += 1
        elif (s[i] - s[j]) * (t[i] - t[j]) < 0:
            mis += 1
    return mis, comp, ties


def test_misordering_counts_against_loop_with_ties():
    rng = np.random.default_rng(6)
    s = rng.integers(-3, 3, size=(40, 7)).astype(float)
    t = rng.integers(-3, 3, size=(40, 7)).astype(float)
    mis, comp, ties = misordering_counts(s, t)
    assert mis.dtype == np.int64
    for g in range(40):
        assert (mis[g], comp[g], ties[g]) == ref_counts(s[g], t[g])
        if comp[g]:
            assert misordering_rate(s[g], t[g]) == mis[g] / comp[g]


def test_misordering_extreme_magnitudes_do_not_overflow():
    s = np.array([1e300, -1e300])
    t = np.array([-1e300, 1e300])
    assert misordering_rate(s, t) == 1.0
    assert misordering_rate(-s, t) == 0.0


def test_misordering_rate_all_ties_group_raises_naming_index():
    s = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 1.0, 1.0]])
    t = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0], [0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match=r"group 1"):
        misordering_rate(s, t)
    mis, comp, ties = misordering_counts(s, t)
    assert comp.tolist() == [3, 0, 3] and ties.tolist() == [0, 0, 1] and mis.tolist() == [0, 0, 0]


def test_misordering_torch_matches_numpy():
    rng = np.random.default_rng(7)
    s, t = rng.standard_normal((2, 10, 8))
    a = misordering_rate(s, t)
    b = misordering_rate(torch.tensor(s), torch.tensor(t))
    np.testing.assert_array_equal(a, b.numpy())
    assert all(isinstance(c, torch.Tensor) for c in misordering_counts(torch.tensor(s), t))


# ----------------------------------------------------------------------------- density ratio


def test_density_ratio_against_loop_and_infinity():
    rng = np.random.default_rng(8)
    mu = rng.dirichlet(np.ones(6), size=20)
    nu = rng.dirichlet(np.ones(6), size=20)
    mu[3, 2] = 0.0
    mu[3] /= mu[3].sum()
    got = density_ratio(mu, nu)
    for g in range(20):
        ref = max(mu[g, i] / nu[g, i] for i in range(6) if mu[g, i] > 0)
        assert got[g] == pytest.approx(ref, rel=1e-15)
        assert got[g] >= 1.0
    nu2 = nu.copy()
    nu2[0] = [0.5, 0.5, 0, 0, 0, 0]
    mu2 = mu.copy()
    mu2[0] = [0.25, 0.25, 0.5, 0, 0, 0]
    assert math.isinf(density_ratio(mu2, nu2)[0])
    mu2[0] = [0.5, 0.5, 0, 0, 0, 0]
    assert density_ratio(mu2, nu2)[0] == 1.0  # zero mass where nu is zero: absolutely continuous


def test_density_ratio_uniform_subset():
    # target uniform on 2 of 8 items, sampler uniform on all 8: kappa = (1/2)/(1/8) = 4
    mu = np.array([0.5, 0.5] + [0.0] * 6)
    nu = np.full(8, 1 / 8)
    assert density_ratio(mu, nu) == 4.0
    assert density_ratio(torch.tensor(mu), torch.tensor(nu)).item() == 4.0


def test_chunked_pair_computations_match_one_shot(monkeypatch):
    """Chunking over groups (CPU cache blocking) changes nothing: values, tau arrays, gradients."""
    import locent.theory._chunks as chunks
    import locent.theory._np_chunks as np_chunks
    from locent.theory import hard_ranknet, soft_ranknet

    rng = np.random.default_rng(9)
    t = rng.standard_normal((3, 7, 6)) * 4
    s = t + rng.standard_normal((3, 7, 6))
    tau = rng.uniform(0.5, 2, size=(3, 7))

    def run():
        st = torch.tensor(s, requires_grad=True)
        loss = soft_ranknet(st, torch.tensor(t), tau=torch.tensor(tau))
        loss.sum().backward()
        return (
            pairwise_entropy(t, tau=tau),
            loss.detach().numpy(),
            st.grad.numpy(),
            hard_ranknet(s, t),
            *misordering_counts(s, t),
        )

    one_shot = run()
    monkeypatch.setattr(chunks, "PAIR_ELEMENTS_PER_CHUNK", 40)  # 2 groups of 15 pairs per chunk
    monkeypatch.setattr(np_chunks, "BUFFER_ELEMENTS", 40)  # the numpy kernels: the same
    chunked = run()
    for a, b in zip(one_shot, chunked):
        if a.dtype.kind == "i":
            np.testing.assert_array_equal(a, b)
        else:  # SIMD reductions over different block sizes may differ in the last bit
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    assert pairwise_entropy(t, tau=tau)[2, 3] == pytest.approx(
        ref_pairwise_entropy(t[2, 3], tau[2, 3]), rel=1e-12
    )
    with pytest.raises(ValueError, match="tau of shape"):
        pairwise_entropy(t, tau=np.ones(5))


def test_essential_diameter_float32_precision_option():
    rng = np.random.default_rng(10)
    emb = rng.standard_normal((40, 16, 384)).astype(np.float32)
    ref = np.array([ref_diameter(e, 0.99) for e in emb])
    fast = essential_diameter(emb, precision="float32")
    # documented accuracy: ~1e-6 on distances near 1 (worst case D·2^-24 on the cosine)
    np.testing.assert_allclose(fast.astype(np.float64), ref, rtol=0, atol=2e-5)
    with pytest.raises(ValueError, match="precision"):
        essential_diameter(emb, precision="half")
