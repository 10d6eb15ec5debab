"""Bad input raises ValueError that names what and where; CPU vs CUDA agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from locent.theory import (
    LOSSES,
    aggregate_diameter,
    binary_entropy,
    bregman_divergence,
    density_ratio,
    entropy_floor,
    essential_diameter,
    generalisation_bound,
    listwise_entropy,
    loss_range,
    misordering_bound,
    misordering_counts,
    misordering_rate,
    optimal_eta,
    pair_index,
    pair_margins,
    pairwise_entropy,
    rademacher_bound,
    rademacher_rho,
    smallest_non_vacuous_n,
    transfer_bound,
)

GOOD = np.array([[0.5, 1.0, -2.0], [3.0, 0.0, 1.0], [1.0, 1.5, 2.0]])


def with_bad(value, where=(2, 1)):
    x = GOOD.copy()
    x[where] = value
    return x


SCORE_FUNCTIONS = {
    "pairwise_entropy": lambda x: pairwise_entropy(x),
    "listwise_entropy": lambda x: listwise_entropy(x),
    "pair_margins": lambda x: pair_margins(x),
}


@pytest.mark.parametrize("name", sorted(SCORE_FUNCTIONS))
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_scores_name_argument_and_group(name, bad):
    with pytest.raises(ValueError, match=r"scores: non-finite .* group 2"):
        SCORE_FUNCTIONS[name](with_bad(bad))
    with pytest.raises(ValueError, match=r"scores: non-finite .* group 2"):
        SCORE_FUNCTIONS[name](torch.tensor(with_bad(bad)))


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_losses_name_student_or_teacher(loss, bad):
    fn = LOSSES[loss]
    with pytest.raises(ValueError, match=r"student: non-finite .* group 2"):
        fn(with_bad(bad), GOOD, tau=1.0)
    if loss != "lce":
        with pytest.raises(ValueError, match=r"teacher: non-finite .* group 2"):
            fn(GOOD, with_bad(bad), tau=1.0)
        with pytest.raises(
            ValueError, match=r"student shape \(3, 3\) does not match teacher shape \(3, 2\)"
        ):
            fn(GOOD, GOOD[:, :2], tau=1.0)
    with pytest.raises(ValueError, match=r"k >= 2"):
        fn(GOOD[:, :1], GOOD[:, :1], tau=1.0)


@pytest.mark.parametrize("tau", [0.0, -1.0, math.nan, math.inf])
def test_bad_tau(tau):
    for fn in (
        lambda: pairwise_entropy(GOOD, tau=tau),
        lambda: listwise_entropy(GOOD, tau=tau),
        lambda: LOSSES["soft_ranknet"](GOOD, GOOD, tau=tau),
        lambda: LOSSES["listwise_kl"](GOOD, GOOD, tau=tau),
        lambda: entropy_floor(1.0, 1.0, tau),
    ):
        with pytest.raises(ValueError, match="tau"):
            fn()
    with pytest.raises(ValueError, match=r"tau .* index \(1,\)"):
        pairwise_entropy(GOOD, tau=np.array([1.0, tau, 2.0]))


def test_grouped_shapes_and_deep_batch_index():
    x = np.zeros((2, 3, 4))
    x[1, 2, 0] = math.nan
    with pytest.raises(ValueError, match=r"group \(1, 2\)"):
        pairwise_entropy(x)
    with pytest.raises(ValueError, match=r"k >= 2"):
        pairwise_entropy(np.array([1.0]))
    with pytest.raises(ValueError, match=r"scores: expected shape"):
        pairwise_entropy(np.float64(1.0))
    with pytest.raises(ValueError, match=r"scores: expected real numbers"):
        pairwise_entropy(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        pair_index(1)


def test_embeddings_validation():
    emb = np.ones((4, 3, 5))
    emb[2, 1, 3] = math.nan
    with pytest.raises(ValueError, match=r"embeddings: non-finite .* group 2"):
        essential_diameter(emb)
    emb = np.random.default_rng(0).standard_normal((4, 3, 5))
    emb[3, 2] = 0.0
    with pytest.raises(ValueError, match=r"embeddings: item 2 of group 3 has zero norm"):
        essential_diameter(emb)
    with pytest.raises(ValueError, match=r"embeddings: a group needs k >= 2"):
        essential_diameter(np.ones((4, 1, 5)))
    with pytest.raises(ValueError, match=r"embeddings: expected shape"):
        essential_diameter(np.ones(5))
    for alpha in (0.0, -0.1, 1.01, math.nan):
        with pytest.raises(ValueError, match="alpha"):
            essential_diameter(np.ones((2, 3, 4)) + np.eye(3, 4), alpha=alpha)
        with pytest.raises(ValueError, match="alpha"):
            aggregate_diameter(np.ones(4), alpha=alpha)
    with pytest.raises(ValueError, match=r"per_query"):
        aggregate_diameter(np.array([0.1, math.nan]))


def test_misordering_and_density_validation():
    with pytest.raises(ValueError, match=r"student shape"):
        misordering_rate(GOOD, GOOD[:2])
    with pytest.raises(ValueError, match=r"teacher: non-finite .* group 2"):
        misordering_counts(GOOD, with_bad(math.nan))
    mu = np.array([[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"nu: negative mass in group 1"):
        density_ratio(mu, np.array([[0.5, 0.5], [1.2, -0.2]]))
    with pytest.raises(ValueError, match=r"mu: masses sum to 1.1.* group 1"):
        density_ratio(np.array([[0.5, 0.5], [0.3, 0.8]]), mu)
    with pytest.raises(ValueError, match=r"mu: non-finite"):
        density_ratio(np.array([[0.5, math.nan], [0.3, 0.7]]), mu)
    with pytest.raises(ValueError, match=r"mu shape"):
        density_ratio(mu[:1], mu)


def test_probability_and_potential_validation():
    with pytest.raises(
        ValueError, match=r"p must be finite and in \[0.0, 1.0\], got 1.5 at index \(1,\)"
    ):
        binary_entropy(np.array([0.2, 1.5]))
    with pytest.raises(ValueError, match="potential must be one of"):
        bregman_divergence("cubic", 1.0, 2.0)
    with pytest.raises(ValueError, match=r"a: non-finite"):
        bregman_divergence("square", np.array([math.nan]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"b must be finite and in \[0.0, 1.0\]"):
        bregman_divergence("neg_entropy", np.array([0.5]), np.array([2.0]))


@pytest.mark.parametrize("eta", [0.0, 0.5, -0.1, 0.7, math.nan])
def test_bad_eta(eta):
    with pytest.raises(ValueError, match=r"eta must be finite and in \(0.0, 0.5\)"):
        misordering_bound(0.1, 0.1, eta)


def test_bound_argument_ranges_named():
    cases = [
        (lambda: misordering_bound(-0.1, 0.1, 0.2), "entropy"),
        (lambda: misordering_bound(0.1, math.nan, 0.2), "kl_risk"),
        (lambda: optimal_eta(np.array([0.1, -1.0]), 0.1), r"entropy .* index \(1,\)"),
        (lambda: generalisation_bound(1.0, 10, 0, 0.05), "n must"),
        (lambda: generalisation_bound(1.0, 10, 100, 1.0), "delta"),
        (lambda: generalisation_bound(1.0, -1, 100, 0.05), "vc_dim"),
        (lambda: generalisation_bound(1.0, 1, 100, 0.05, C=0), "C must"),
        (lambda: generalisation_bound(-1.0, 1, 100, 0.05), "loss_range"),
        (lambda: rademacher_bound(0.1, -1, 1, 1, 1, 10, 0.05, 1), "rho"),
        (lambda: rademacher_bound(0.1, 1, 1, 1, -1, 10, 0.05, 1), "diameter"),
        (lambda: rademacher_rho("listwise_kl", 1, 1, 1, 1, 1), "loss"),
        (lambda: loss_range("no_such_loss", 1, 1, 1), "loss must be one of"),
        (lambda: loss_range("margin_mse", -1, 1, 1), "student_lipschitz"),
        (lambda: entropy_floor(-1, 1, 1), "teacher_lipschitz"),
        (lambda: transfer_bound(0.1, -2.0), "kappa"),
        (lambda: transfer_bound(0.1, 2.0, group_size=0), "group_size"),
        (lambda: smallest_non_vacuous_n("ii", loss_range=1, delta=0.1), "form"),
        (lambda: smallest_non_vacuous_n("i", loss_range=1, delta=0.1), "vc_dim"),
        (lambda: smallest_non_vacuous_n("iii", loss_range=1, delta=0.1), "rho"),
    ]
    for fn, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            fn()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    s = torch.tensor(rng.standard_normal((50, 16)) * 5)
    t = torch.tensor(rng.standard_normal((50, 16)) * 5)
    emb = torch.tensor(rng.standard_normal((50, 16, 32)))
    cuda = torch.device("cuda")
    for name, spec in LOSSES.items():
        cpu_v = spec(s, t, tau=0.7)
        gpu_v = spec(s.to(cuda), t.to(cuda), tau=0.7)
        assert gpu_v.device.type == "cuda"
        torch.testing.assert_close(gpu_v.cpu(), cpu_v, rtol=1e-12, atol=1e-12, msg=name)
    for fn in (pairwise_entropy, listwise_entropy):
        torch.testing.assert_close(fn(t.to(cuda)).cpu(), fn(t), rtol=1e-12, atol=1e-14)
    d = essential_diameter(emb.to(cuda))
    assert d.device.type == "cuda"
    torch.testing.assert_close(d.cpu(), essential_diameter(emb), rtol=0, atol=1e-12)
    for a, b in zip(misordering_counts(s.to(cuda), t.to(cuda)), misordering_counts(s, t)):
        assert torch.equal(a.cpu(), b)
    e, bnd = optimal_eta(torch.tensor([0.2, 0.3], device=cuda, dtype=torch.float64), 0.01)
    torch.testing.assert_close(
        bnd.cpu(), optimal_eta(torch.tensor([0.2, 0.3], dtype=torch.float64), 0.01)[1]
    )
