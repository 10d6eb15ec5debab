"""Measurements: κ and coverage from pools, local density, per-group measures via theory/."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.realdata.measure import group_measures, kappa_coverage, local_density


def test_kappa_and_coverage_hand_example():
    target = pd.DataFrame(
        {"query_id": ["a", "b", "c"], "doc_ids": [["x", "y"], ["x", "y"], ["x", "y"]]}
    )
    pool = pd.DataFrame(
        {
            "query_id": ["a", "b", "c"],
            "doc_ids": [["x", "y", "z", "w"], ["x", "z"], []],
            "probs": [[0.25] * 4, [0.5, 0.5], []],
            "support": ["listed", "listed", "corpus"],
            "corpus_size": [10, 10, 10],
        }
    )
    kappa, coverage = kappa_coverage(target, pool)
    # a: (1/2)/(1/4) = 2; b: y outside the pool -> inf; c: uniform over 10 docs -> (1/2)/(1/10) = 5
    np.testing.assert_allclose(kappa, [2.0, np.inf, 5.0])
    np.testing.assert_allclose(coverage, [1.0, 0.5, 1.0])


def test_kappa_empty_pool_is_infinite():
    target = pd.DataFrame({"query_id": ["a"], "doc_ids": [["x"]]})
    pool = pd.DataFrame(
        {
            "query_id": ["a"],
            "doc_ids": [[]],
            "probs": [[]],
            "support": ["listed"],
            "corpus_size": [5],
        }
    )
    kappa, coverage = kappa_coverage(target, pool)
    assert np.isinf(kappa[0]) and coverage[0] == 0


def test_local_density_on_known_geometry():
    rng = np.random.default_rng(0)
    line = np.zeros((1, 200, 3))
    line[0, :, 0] = np.sort(rng.uniform(0, 1, 200))
    line[0, :, 1] = 10.0  # after normalisation: points on a short arc, intrinsic dimension 1
    cloud = rng.normal(size=(1, 200, 6))
    cloud[..., 0] += 20.0  # a small 5-d patch on the sphere
    r_line, d_line = local_density(line)
    r_cloud, d_cloud = local_density(cloud)
    assert 0.6 < d_line[0] < 1.6 and d_cloud[0] > 3.0
    assert r_line.shape == (1,)


def test_group_measures_through_theory():
    from locent.realdata.store import Groups

    rng = np.random.default_rng(1)
    n, k = 5, 6
    g = Groups(
        sampler="bm25",
        query_ids=np.array([f"q{i}" for i in range(n)], object),
        doc_ids=np.array([[f"d{i}{j}" for j in range(k)] for i in range(n)], object),
        teacher_scores=np.zeros((n, k)),
        inclusion_probs=np.full((n, k), 0.1),
        positive_source=np.array(["qrels"] * n, object),
        n_padded=np.zeros(n, np.int64),
        n_excluded=np.zeros(n, np.int64),
    )
    emb = rng.normal(size=(n, k, 8))
    m = group_measures(g, emb)
    assert m["pairwise_entropy"] == pytest.approx(np.full(n, np.log(2)))  # all ties: h(1/2)
    assert m["listwise_entropy_norm"] == pytest.approx(np.ones(n))
    u = emb / np.linalg.norm(emb, axis=-1, keepdims=True)
    d = np.linalg.norm(u[:, :, None] - u[:, None, :], axis=-1)
    iu = np.triu_indices(k, 1)
    np.testing.assert_allclose(m["diameter_100"], d[:, iu[0], iu[1]].max(1), atol=1e-6)
