"""Samplers: exact inclusion probabilities, empirical frequencies, ball diameter, κ by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from locent.simulate.samplers import (
    SamplerSpec,
    distances,
    draw_groups,
    inclusion_probabilities,
    support_diameter,
    target_measure,
)
from locent.simulate.spaces import load_space
from locent.simulate.teachers import make_teacher
from locent.theory import density_ratio, essential_diameter
from scipy import stats

ALL = [
    SamplerSpec("random"),
    SamplerSpec("knn", 10.0),
    SamplerSpec("ball", 0.8),
    SamplerSpec("softmax", 0.2),
    SamplerSpec("teacher_topk", 10.0),
    SamplerSpec("ensemble", members=(SamplerSpec("knn", 10.0), SamplerSpec("random"))),
    SamplerSpec(
        "ensemble",
        members=(SamplerSpec("knn", 20.0), SamplerSpec("teacher_topk", 20.0)),
        margin=0.3,
    ),
]


@pytest.fixture(scope="module")
def setup():
    sp = load_space("sphere-vmf/D=4/N=120/Q=30/K=3/kappa=5.0", seed=0)
    return sp, make_teacher(sp.queries, seed=0)


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s.label)
def test_rows_are_distributions(setup, spec):
    sp, te = setup
    nu, _ = inclusion_probabilities(spec, sp.queries, sp.items, te)
    assert nu.shape == (30, 120)
    assert np.all(nu >= 0)
    np.testing.assert_allclose(nu.sum(1), 1.0, atol=1e-12)


@pytest.mark.parametrize("spec", [ALL[1], ALL[3], ALL[6]], ids=lambda s: s.label)
def test_empirical_frequencies_match(setup, spec):
    """Chi-square goodness of fit of 20 000 draws for one query against ν_q."""
    sp, te = setup
    nu, _ = inclusion_probabilities(spec, sp.queries, sp.items, te)
    gen = torch.Generator().manual_seed(7)
    draws = draw_groups(torch.as_tensor(nu), torch.zeros(2000, dtype=torch.long), 10, gen)
    counts = np.bincount(draws.flatten().numpy(), minlength=120)
    support = nu[0] > 0
    assert counts[~support].sum() == 0  # never outside the support
    expected = nu[0, support] * counts.sum()
    chi2 = stats.chisquare(counts[support], expected)
    assert chi2.pvalue > 1e-3


def test_ball_diameter_at_most_2r(setup):
    sp, te = setup
    for r in (0.3, 0.6, 1.0):
        nu, _ = inclusion_probabilities(SamplerSpec("ball", r), sp.queries, sp.items, te)
        assert support_diameter(sp.items, nu).max() <= 2 * r + 1e-12
        gen = torch.Generator().manual_seed(1)
        groups = draw_groups(torch.as_tensor(nu), torch.arange(30), 12, gen)
        diam = essential_diameter(torch.as_tensor(sp.items)[groups], alpha=1.0)
        assert float(diam.max()) <= 2 * r + 1e-12


def test_support_diameter_matches_bruteforce(setup):
    sp, te = setup
    nu, _ = inclusion_probabilities(SamplerSpec("knn", 7.0), sp.queries, sp.items, te)
    got = support_diameter(sp.items, nu)
    for q in range(0, 30, 7):
        pts = sp.items[nu[q] > 0]
        brute = distances(pts, pts).max()
        assert abs(got[q] - brute) < 1e-7


def test_kappa_closed_forms(setup):
    """μ uniform on the m nearest: random gives κ = N/m, knn(k ≥ m) gives k/m, knn(k < m) ∞."""
    sp, te = setup
    m = 12
    mu = target_measure(sp.queries, sp.items, m)
    rnd, _ = inclusion_probabilities(SamplerSpec("random"), sp.queries, sp.items)
    np.testing.assert_allclose(density_ratio(mu, rnd), 120 / m, rtol=1e-12)
    k24, _ = inclusion_probabilities(SamplerSpec("knn", 24.0), sp.queries, sp.items)
    np.testing.assert_allclose(density_ratio(mu, k24), 24 / m, rtol=1e-12)
    k6, _ = inclusion_probabilities(SamplerSpec("knn", 6.0), sp.queries, sp.items)
    assert np.all(np.isinf(density_ratio(mu, k6)))
    # a two-member union of random and knn(24): ν = (1/N + 1/24)/2 on the top 24
    mix, _ = inclusion_probabilities(
        SamplerSpec("ensemble", members=(SamplerSpec("random"), SamplerSpec("knn", 24.0))),
        sp.queries,
        sp.items,
    )
    np.testing.assert_allclose(
        density_ratio(mu, mix), (1 / m) / ((1 / 120 + 1 / 24) / 2), rtol=1e-12
    )


def test_denoising_removes_near_top_items(setup):
    sp, te = setup
    spec = ALL[6]
    nu, info = inclusion_probabilities(spec, sp.queries, sp.items, te)
    plain, _ = inclusion_probabilities(spec._replace(margin=None), sp.queries, sp.items, te)
    removed = (plain > 0) & (nu == 0)
    assert info["denoised_items"] == int(removed.sum()) > 0


@pytest.mark.parametrize(
    "spec, match",
    [
        (SamplerSpec("knn", 0.0), "k=0"),
        (SamplerSpec("knn", 2.5), "integer"),
        (SamplerSpec("ball", -1.0), "r=-1"),
        (SamplerSpec("softmax", None), "finite"),
        (SamplerSpec("random", 3.0), "no knob"),
        (SamplerSpec("nearest"), "unknown sampler"),
        (SamplerSpec("ensemble"), "at least one member"),
        (SamplerSpec("ball", 1e-9), "query index 0"),
    ],
)
def test_bad_sampler_configs(setup, spec, match):
    sp, te = setup
    queries = sp.queries + 0.0
    if spec.name == "ball":  # move queries off the corpus so a tiny ball is empty
        queries = -queries
    with pytest.raises(ValueError, match=match):
        inclusion_probabilities(spec, queries, sp.items, te)


def test_teacher_topk_needs_teacher(setup):
    sp, _ = setup
    with pytest.raises(ValueError, match="needs the teacher"):
        inclusion_probabilities(SamplerSpec("teacher_topk", 5.0), sp.queries, sp.items)
