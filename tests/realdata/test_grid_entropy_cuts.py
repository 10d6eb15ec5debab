"""Entropy cuts: per-query teacher entropy, subsets named by what they keep, thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from locent.realdata.entropy_cuts import (
    SUBSETS,
    entropy_subsets,
    entropy_thresholds,
    query_entropies,
)
from locent.realdata.grid.presets import Preset
from locent.realdata.grid.state import heldout_mask


def test_query_entropy_is_the_mean_pairwise_binary_entropy():
    t = np.array([[2.0, 0.0, -1.0], [5.0, 5.0, 5.0]])
    h = query_entropies(t, tau=2.0)

    def hb(z):
        p = 1 / (1 + math.exp(-z))
        return -p * math.log(p) - (1 - p) * math.log(1 - p)

    assert h[0] == pytest.approx((hb(1.0) + hb(1.5) + hb(0.5)) / 3)
    assert h[1] == pytest.approx(math.log(2))  # all ties: maximal entropy
    # shift invariance (THEORY.md §8: no sum-normalised raw scores)
    np.testing.assert_allclose(query_entropies(t + 100.0, tau=2.0), h)


def test_subsets_keep_what_their_names_say():
    rng = np.random.default_rng(0)
    h = np.concatenate([rng.uniform(0.3, 0.5, 60), [0.0, 0.01, 0.69]])
    masks, th = entropy_subsets(h)
    q1, q2, q3 = np.quantile(h, [0.25, 0.5, 0.75])
    assert th["q1"] == q1 and th["median"] == q2 and th["q3"] == q3
    assert th["tukey_low"] == pytest.approx(q1 - 1.5 * (q3 - q1))
    assert set(masks) == set(SUBSETS)
    assert masks["full"].all()
    assert (h[masks["keep_below_median"]] <= q2).all() and (
        h[masks["keep_above_median"]] > q2
    ).all()
    assert (masks["keep_below_median"] ^ masks["keep_above_median"]).all()
    assert (h[masks["drop_lower_quartile"]] >= q1).all() and (
        h[masks["drop_upper_quartile"]] <= q3
    ).all()
    assert (masks["keep_tukey_inliers"] ^ masks["keep_tukey_outliers"]).all()
    assert set(h[masks["keep_tukey_outliers"]]) == {0.0, 0.01, 0.69}


def test_bad_entropies_and_unknown_subsets():
    with pytest.raises(ValueError, match=">= 4 queries"):
        entropy_thresholds(np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="query index 2"):
        entropy_thresholds(np.array([0.1, 0.2, np.nan, 0.3]))
    with pytest.raises(ValueError, match="unknown entropy subsets"):
        Preset("x", cuts=(("lce", "bm25"),), cut_subsets=("keep_middle",)).conditions()


def test_cut_conditions_share_the_budget_and_include_full():
    p = Preset("x", samplers=("random",), losses=("lce",), cuts=(("soft_ranknet", "bm25"),))
    conds = p.conditions()
    subsets = [c.subset for c in conds if c.loss == "soft_ranknet"]
    assert sorted(subsets) == sorted(SUBSETS)  # the full reference is added for the cut pair
    assert len({c.name for c in conds}) == len(conds)


def test_heldout_split_is_stable():
    ids = np.array([f"q{i}" for i in range(2000)])
    m = heldout_mask(ids, 0.1)
    assert 0.07 < m.mean() < 0.13
    np.testing.assert_array_equal(m[:50], heldout_mask(ids[:50], 0.1))
