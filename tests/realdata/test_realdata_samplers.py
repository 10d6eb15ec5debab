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

CFG = SamplerConfig(k=8, depth=30, universe=40, rerank_depth=10, dense_depth=10, margin=0.3, seed=5)


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


def _mixed_universe():
    """2 queries: 6 BM25 items (ranks 0–5), then dense-only items from a corpus search, then
    padding (query 1 has one dense-only item fewer: its slot is padding)."""
    ids = np.array(
        [
            ["b0", "b1", "b2", "b3", "b4", "b5", "x0", "x1", "x2"],
            ["b0", "b1", "b2", "b3", "b4", "b5", "x0", "x1", ""],
        ],
        dtype=object,
    )
    rank = np.tile(np.array([0, 1, 2, 3, 4, 5] + [np.iinfo(np.int64).max] * 3), (2, 1))
    valid = ids != ""
    teacher = np.array([[5.0, 4, 3, 2, 1, 0, 9, 8.7, 7]] * 2)
    dense = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.9, 0.8, 0.7]] * 2)
    teacher[~valid], dense[~valid] = -np.inf, -np.inf
    corpus = np.array([f"b{i}" for i in range(6)] + ["x0", "x1", "x2", "c0", "c1"], object)
    return Universe(
        query_ids=np.array(["q0", "q1"], object),
        doc_ids=ids,
        teacher=teacher,
        dense=dense,
        corpus_ids=corpus,
        excluded=[{"b0"}, {"b0"}],
        positive=np.array(["b0", "b0"], object),
        positive_score=np.array([5.0, 5.0]),
        bm25_rank=rank,
        valid=valid,
    )


def test_pools_over_a_universe_with_dense_only_items_and_padding():
    """bm25 = BM25 rank < depth; teacher = its top-d of the BM25 top-u only (never a dense-only
    item, however high its teacher score); dense = top-d over everything (corpus search);
    padding is in no pool; ensemble is the union before de-noising."""
    uni = _mixed_universe()
    cfg = SamplerConfig(k=3, depth=4, universe=6, rerank_depth=2, dense_depth=3, margin=0.5)

    def ids(sampler):
        pool, _ = pool_masks(uni, sampler, cfg, exclude_labels=False)
        return [set(r[m]) for r, m in zip(uni.doc_ids, pool, strict=True)]

    assert ids("bm25") == [{"b0", "b1", "b2", "b3"}] * 2
    assert ids("teacher") == [{"b0", "b1"}] * 2
    assert ids("dense") == [{"x0", "x1", "x2"}, {"x0", "x1", "b5"}]
    raw = [
        {"b0", "b1", "b2", "b3", "x0", "x1", "x2"},
        {"b0", "b1", "b2", "b3", "x0", "x1", "b5"},
    ]
    # de-noising against the teacher's top item (x0, 9; margin .5) drops x1 (8.7 > 8.5) and
    # keeps x0 itself (at test time it stands for the positive)
    assert ids("ensemble") == [r - {"x1"} for r in raw]
    bm25_only = SamplerConfig(
        k=3, depth=4, universe=6, rerank_depth=2, dense_depth=3, dense_source="bm25"
    )
    pool, _ = pool_masks(uni, "dense", bm25_only, exclude_labels=False)
    assert [set(r[m]) for r, m in zip(uni.doc_ids, pool, strict=True)] == [{"b3", "b4", "b5"}] * 2
    for sampler in ("bm25", "teacher", "dense", "ensemble"):
        sg = sample_groups(uni, sampler, cfg)
        assert "" not in set(sg.doc_ids.ravel())
        assert not (sg.doc_ids[:, 1:] == "b0").any()


def test_dense_source_and_depth_are_validated():
    with pytest.raises(ValueError, match="dense_source"):
        SamplerConfig(dense_source="faiss")
    with pytest.raises(ValueError, match="dense_depth"):
        SamplerConfig(universe=50, depth=50, rerank_depth=50, dense_depth=80, dense_source="bm25")
    assert SamplerConfig(dense_depth=500).dense_depth == 500  # corpus search: no universe limit
