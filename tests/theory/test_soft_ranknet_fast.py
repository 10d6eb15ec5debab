"""The compiled float64 soft RankNet kernel (``theory/_pairs_cpu.soft_sums``) and the numpy
per-pair kernel that takes the groups it does not keep (``theory/_soft_ranknet_np.py``).

- every group it keeps is within ``_ACCEPT`` (2⁻⁴⁰) of the exact KL sum of the float inputs,
  computed with mpmath at 200 bits, on extreme inputs: teacher margins up to ~700 logits, every
  |δ| just above the series threshold 0.02, students far from and very close to the teacher,
  scores of mixed signs, τ ≠ 1 (scalar and per group), and random ones (hypothesis);
- it keeps the ordinary groups (otherwise it would be a slow path in disguise) and rejects those
  its bound cannot vouch for (a near-deterministic teacher, a student within a few 0.02 of the
  teacher: KL sums ~1e-2 and below), which then take the per-pair kernel bit for bit;
- a group's result does not depend on the other groups of the call (chunks of the compiled
  kernel, of the per-pair kernel); the per-pair kernel keeps the |δ| < 0.02 series in the last,
  column-sliced chunk (it used to write it into a ravel() copy and lose it).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from locent.theory import _np_chunks as nc
from locent.theory import _pair_kernels as pk
from locent.theory import _pairs_cpu as pc
from locent.theory import _soft_ranknet_np as fast


def soft_sums(s: np.ndarray, t: np.ndarray, tau):
    """(sums, kept) of the compiled kernel, τ a float or an array (n,)."""
    return pc.soft_sums(s, t, *pc.tau_array(tau, len(s)))


def exact_sums(s: np.ndarray, t: np.ndarray, tau) -> np.ndarray:
    """Σ over pairs of KL(Ber(σ(a)) ‖ Ber(σ(b))) per group, a = (t_i − t_j)/τ, b likewise, from
    the exact values of the float inputs (mpmath, 200 bits)."""
    out = np.empty(len(s))
    with mpmath.workprec(200):
        for g in range(len(s)):
            tg = tau if isinstance(tau, float) else float(tau[g])
            tau_m = mpmath.mpf(tg)
            total = mpmath.mpf(0)
            k = s.shape[1]
            for i in range(k):
                for j in range(i + 1, k):
                    a = (mpmath.mpf(float(t[g, i])) - mpmath.mpf(float(t[g, j]))) / tau_m
                    b = (mpmath.mpf(float(s[g, i])) - mpmath.mpf(float(s[g, j]))) / tau_m
                    sp_a, sp_b = mpmath.log1p(mpmath.exp(a)), mpmath.log1p(mpmath.exp(b))
                    total += sp_b - sp_a - (b - a) / (1 + mpmath.exp(-a))
            out[g] = float(total)
    return out


def check_kept_within_bound(s, t, tau) -> np.ndarray:
    sums, kept = soft_sums(s, t, tau)
    want = exact_sums(s[kept], t[kept], tau if isinstance(tau, float) else tau[kept])
    err = np.abs(sums[kept] - want)
    assert (err <= pc._SOFT_ACCEPT * want).all(), (err / want).max()
    return kept


def groups(case: str, n: int = 12, k: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    if case == "ordinary":
        t = rng.standard_normal((n, k)) * 3
        s = t + rng.standard_normal((n, k))
    elif case == "large_margins":  # teacher margins up to 300 logits, the student reversed
        t = rng.permuted(20.0 * np.arange(k) + rng.standard_normal((n, k)), axis=1)
        s, t = 2000.0 - 0.3 * t, t - 5000.0  # R_T + R_D ≈ 300 + 390 ≤ 700
    elif case == "peaked_teacher":  # margins ≥ ~35 logits: KL sums ~1e-15, below the bound
        t = rng.permuted(40.0 * np.arange(k) + rng.standard_normal((n, k)), axis=1)
        s = t + 3 * rng.standard_normal((n, k))
    elif case == "delta_above_series":  # every |δ| a multiple of 0.0205, teacher margins ~20
        t = rng.standard_normal((n, k)) * 20
        s = t - 0.0205 * rng.permuted(np.tile(np.arange(k), (n, 1)), axis=1)
    elif case == "mixed_signs_small_tau":
        t = rng.standard_normal((n, k)) * 2 + rng.choice([-300.0, 300.0], size=(n, 1))
        s = -t[:, ::-1] + rng.standard_normal((n, k))
    elif case == "far_items":  # half the items ≥ 800 logits from the rest: exp64_flush zeroes
        near = rng.standard_normal((n, k // 2)) * 3  # their e_a, e_b; the near half carries KL
        far = 800.0 + 60.0 * np.arange(k - k // 2) + rng.standard_normal((n, k - k // 2))
        t = rng.permuted(np.concatenate([near, far], axis=1), axis=1)
        s = t + rng.standard_normal((n, k))
    else:  # "close_student": KL sums ~1e-12, far below what the bound can vouch for
        t = rng.standard_normal((n, k)) * 3
        s = t + 1e-7 * rng.standard_normal((n, k))
    return s, t


KEPT = ["ordinary", "large_margins", "mixed_signs_small_tau", "far_items"]  # bound vouches
REJECTED = ["peaked_teacher", "delta_above_series", "close_student"]  # KL sums too small


@pytest.mark.parametrize("case", KEPT + REJECTED)
@pytest.mark.parametrize("tau", [1.0, 0.5, "per_group"])
def test_kept_groups_are_within_the_bound_of_the_exact_sum(case, tau):
    s, t = groups(case)
    if tau == "per_group":
        tau = np.random.default_rng(1).uniform(0.3, 3, len(s))
    if case == "large_margins":  # the same logit ranges (≤ 700) whatever τ
        s, t = s * np.min(tau), t * np.min(tau)
    kept = check_kept_within_bound(s, t, tau)
    assert kept.mean() >= 0.75 if case in KEPT else not kept.any()


@pytest.mark.parametrize("tau", [0.05, 1.0])
def test_rejected_groups_take_the_per_pair_kernel_bit_for_bit(tau):
    parts = [groups(case, seed=i) for i, case in enumerate(KEPT + REJECTED)]
    s, t = (np.concatenate(x) for x in zip(*parts))
    _, kept = soft_sums(s, t, tau)
    assert kept.any() and not kept.all()
    got = pk.soft_ranknet_mean(torch.as_tensor(s), torch.as_tensor(t), tau).numpy()
    taus, divide = pc.tau_array(tau, int((~kept).sum()))
    per_pair = pc.soft_sums_per_pair(s[~kept], t[~kept], taus, divide, False) / 120
    np.testing.assert_array_equal(got[~kept], per_pair)
    exact = exact_sums(s, t, tau) / 120
    np.testing.assert_allclose(got[kept], exact[kept], rtol=pc._SOFT_ACCEPT, atol=0)
    # the per-pair formula (closed form, series for |δ| < 0.02) as accurate as numpy's
    numpy_err = np.abs(fast.per_pair_means(s[~kept], t[~kept], tau, False) - exact[~kept])
    assert (
        np.abs(per_pair - exact[~kept]) <= np.maximum(4 * numpy_err, 1e-12 * exact[~kept])
    ).all()


def test_the_fast_path_keeps_ordinary_groups():
    s, t = groups("ordinary", n=2000)
    _, kept = soft_sums(s, t, 1.0)
    assert kept.mean() >= 0.99


def test_chunking_changes_nothing_and_keeps_the_series_in_the_last_chunk(monkeypatch):
    s1, t1 = groups("ordinary", n=9, seed=3)
    s2, t2 = groups("close_student", n=9, seed=4)  # per-pair kernel, series for every pair
    s, t = torch.as_tensor(np.concatenate([s1, s2])), torch.as_tensor(np.concatenate([t1, t2]))
    tau = torch.as_tensor(np.random.default_rng(2).uniform(0.5, 2, 18))
    whole = pk.soft_ranknet_mean(s, t, tau).numpy()
    monkeypatch.setattr(nc, "BUFFER_ELEMENTS", 4 * 120)  # 4 groups per chunk, the last 2 (of 9)
    chunked = pk.soft_ranknet_mean(s, t, tau).numpy()
    np.testing.assert_allclose(chunked, whole, rtol=1e-14, atol=0)
    torch_path = pk.soft_ranknet_mean(s.clone().requires_grad_(True), t, tau).detach().numpy()
    np.testing.assert_allclose(chunked, torch_path, rtol=1e-11, atol=0)


@settings(max_examples=30, deadline=None)
@given(
    k=st.integers(2, 7),
    teacher_scale=st.floats(1e-2, 200.0),
    noise=st.floats(1e-4, 10.0),
    shift=st.floats(-1e4, 1e4),
    tau=st.floats(0.05, 5.0),
    seed=st.integers(0, 2**16),
)
def test_random_groups_kept_are_within_the_bound(k, teacher_scale, noise, shift, tau, seed):
    rng = np.random.default_rng(seed)
    t = rng.standard_normal((6, k)) * teacher_scale + shift
    s = t + rng.standard_normal((6, k)) * noise
    check_kept_within_bound(s, t, tau)


def test_a_groups_result_does_not_depend_on_the_other_groups():
    """Over more than one compiled chunk (512 groups) of far and close students: any slice of
    the groups gives the same bits as the whole call, kept flags included."""
    rng = np.random.default_rng(7)
    t = rng.standard_normal((1300, 16)) * 3
    s = t + rng.standard_normal((1300, 16)) * np.geomspace(1e-3, 3, 1300)[:, None]
    tau = rng.uniform(0.3, 3, 1300)
    sums, kept = soft_sums(s, t, tau)
    assert kept.any() and not kept.all()
    for a, b in [(0, 1), (3, 517), (511, 1300), (700, 701)]:
        part, part_kept = soft_sums(s[a:b], t[a:b], tau[a:b])
        np.testing.assert_array_equal(part[part_kept], sums[a:b][kept[a:b]])
        np.testing.assert_array_equal(part_kept, kept[a:b])
    whole = pk.soft_ranknet_mean(torch.as_tensor(s), torch.as_tensor(t), torch.as_tensor(tau))
    torch_path = pk.soft_ranknet_mean(
        torch.as_tensor(s).requires_grad_(True), torch.as_tensor(t), torch.as_tensor(tau)
    )
    np.testing.assert_allclose(whole.numpy(), torch_path.detach().numpy(), rtol=1e-11, atol=0)
