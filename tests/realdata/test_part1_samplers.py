"""Samplers: no positive/judged item among negatives, recorded ν_q consistent with the groups."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from locent.realdata.samplers import (
    SAMPLERS,
    SamplerConfig,
    Universe,
    candidate_pools,
    corpus_draws,
    pool_masks,
    sample_groups,
)

CFG = SamplerConfig(k=8, depth=30, universe=40, rerank_depth=10, margin=0.3, seed=5)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_no_positive_or_judged_among_negatives(toy_universe, sampler):
    sg = sample_groups(toy_universe, sampler, CFG)
    assert sg.doc_ids.shape == (toy_universe.n, CFG.k)
    assert (sg.doc_ids[:, 0] == toy_universe.positive).all()
    for row, excluded in zip(sg.doc_ids, toy_universe.excluded, strict=True):
        assert not set(row[1:]) & excluded
        assert len(set(row)) == CFG.k  # no repeated item


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_inclusion_probabilities_match_pools(toy_universe, sampler):
    sg = sample_groups(toy_universe, sampler, CFG)
    assert np.isnan(sg.inclusion_probs[:, 0]).all()
    for i, row in enumerate(sg.doc_ids):
        m = sg.pool_size[i]
        if sg.pool_ids is None:  # uniform over the corpus minus the exclusions
            assert m == len(toy_universe.corpus_ids) - 2
        else:
            assert m == len(sg.pool_ids[i])
            in_pool = np.isin(row[1:], sg.pool_ids[i])
            assert in_pool.sum() == CFG.k - 1 - sg.n_padded[i]
        valid = sg.inclusion_probs[i, 1:] > 0
        np.testing.assert_allclose(sg.inclusion_probs[i, 1:][valid], 1.0 / m)
        assert (~valid).sum() == sg.n_padded[i]


def test_empirical_inclusion_frequency_matches_recorded_probability(toy_universe):
    """Over many seeds, P(x in group) = (k − 1) ν_q(x) = (k − 1)/m for every pool item."""
    counts: dict[str, int] = {}
    reps = 400
    for seed in range(reps):
        sg = sample_groups(toy_universe, "teacher", CFG, seed=seed)
        for d in sg.doc_ids[0, 1:]:
            counts[d] = counts.get(d, 0) + 1
    pool = sg.pool_ids[0]
    expected = reps * (CFG.k - 1) / len(pool)
    freq = np.array([counts.get(d, 0) for d in pool])
    assert set(counts) <= set(pool)
    # binomial sd = sqrt(reps p (1-p)); 5 sd is a tolerance that a wrong ν (e.g. top-biased) fails
    sd = np.sqrt(expected * (1 - (CFG.k - 1) / len(pool)))
    assert np.abs(freq - expected).max() < 5 * sd


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_same_seed_same_groups(toy_universe, sampler):
    a = sample_groups(toy_universe, sampler, CFG)
    b = sample_groups(toy_universe, sampler, CFG)
    c = sample_groups(toy_universe, sampler, CFG, seed=CFG.seed + 1)
    assert (a.doc_ids == b.doc_ids).all()
    assert not (a.doc_ids == c.doc_ids).all()


def test_ensemble_denoising_drops_near_positive_items(toy_universe):
    pool, dropped = pool_masks(toy_universe, "ensemble", CFG)
    ref = toy_universe.positive_score[:, None] - CFG.margin
    assert not (pool & (toy_universe.teacher > ref)).any()
    assert dropped.sum() > 0


def test_padding_when_pool_is_small(toy_universe):
    cfg = SamplerConfig(k=8, depth=4, universe=40, rerank_depth=4, seed=0)
    sg = sample_groups(toy_universe, "bm25", cfg)
    assert (sg.n_padded >= 3).all()  # 4 - exclusions < 7 negatives
    assert (sg.inclusion_probs[:, 1:] == 0).sum() == sg.n_padded.sum()
    for row, excluded in zip(sg.doc_ids, toy_universe.excluded, strict=True):
        assert not set(row[1:]) & excluded and len(set(row)) == cfg.k


def test_candidate_pools_keep_labels_for_kappa(toy_universe):
    pools = candidate_pools(toy_universe, "bm25", CFG)
    assert all(len(p) == CFG.depth for p in pools)
    assert candidate_pools(toy_universe, "random", CFG) is None


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5),
    m=st.integers(1, 12),
    size=st.integers(20, 60),
    seed=st.integers(0, 10_000),
)
def test_corpus_draws_distinct_and_allowed(n, m, size, seed):
    rng = np.random.default_rng(seed)
    forbidden = rng.integers(0, size, size=(n, 5))
    rows, ok = corpus_draws(size, n, m, forbidden, rng)
    for r, f, good in zip(rows, forbidden, ok, strict=True):
        if good:
            assert len(set(r)) == m and not set(r) & set(f)


def test_bad_config_and_sampler_raise(toy_universe):
    with pytest.raises(ValueError, match="depth"):
        SamplerConfig(depth=200, universe=100)
    with pytest.raises(ValueError, match="sampler"):
        pool_masks(toy_universe, "nope", CFG)
    with pytest.raises(ValueError, match="shape"):
        Universe(
            toy_universe.query_ids,
            toy_universe.doc_ids,
            toy_universe.teacher[:, :3],
            toy_universe.dense,
            toy_universe.corpus_ids,
            toy_universe.excluded,
        )
