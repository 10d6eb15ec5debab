"""Throughput of group building and of the per-sampler measurements (groups/s), no models.

Run: ``pytest benchmarks/bench_realdata_groups.py --benchmark-only -p no:cacheprovider``.
Synthetic universes of the default shape (u = 100 candidates, k = 16, MiniLM D = 384) so the
numbers isolate the array work from encoding and teacher scoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.realdata.measure import group_measures, kappa_coverage
from locent.realdata.samplers import SamplerConfig, Universe, sample_groups
from locent.realdata.store import Groups

N_QUERIES = 1000
CFG = SamplerConfig()


@pytest.fixture(scope="module")
def universe():
    rng = np.random.default_rng(0)
    n, u, corpus_size = N_QUERIES, CFG.universe, 28_606
    corpus = np.array([f"p{j}" for j in range(corpus_size)], dtype=object)
    doc_ids = np.array(
        [corpus[rng.choice(corpus_size, u, replace=False)] for _ in range(n)], object
    )
    teacher = rng.normal(size=(n, u))
    return Universe(
        query_ids=np.array([f"q{i}" for i in range(n)], object),
        doc_ids=doc_ids,
        teacher=teacher,
        dense=rng.uniform(-1, 1, size=(n, u)),
        corpus_ids=corpus,
        excluded=[{doc_ids[i, 0]} for i in range(n)],
        positive=doc_ids[:, 0].copy(),
        positive_score=teacher[:, 0] + 3.0,
        positive_source=np.full(n, "teacher_top", object),
    )


@pytest.mark.parametrize("sampler", ["random", "bm25", "ensemble"])
def test_group_building(benchmark, universe, sampler):
    result = benchmark(sample_groups, universe, sampler, CFG)
    assert result.doc_ids.shape == (N_QUERIES, CFG.k)
    benchmark.extra_info["groups_per_s"] = N_QUERIES / benchmark.stats.stats.mean


def test_group_measurements(benchmark):
    rng = np.random.default_rng(1)
    n, k = N_QUERIES, CFG.k
    g = Groups(
        sampler="bm25",
        query_ids=np.array([f"q{i}" for i in range(n)], object),
        doc_ids=np.array([[f"d{i}_{j}" for j in range(k)] for i in range(n)], object),
        teacher_scores=rng.normal(scale=3, size=(n, k)),
        inclusion_probs=np.full((n, k), 0.01),
        positive_source=np.full(n, "qrels", object),
        n_padded=np.zeros(n, np.int64),
        n_excluded=np.zeros(n, np.int64),
    )
    emb = rng.normal(size=(n, k, 384)).astype(np.float32)
    out = benchmark(group_measures, g, emb)
    assert out["diameter_99"].shape == (n,)
    benchmark.extra_info["groups_per_s"] = n / benchmark.stats.stats.mean


def test_kappa_coverage(benchmark):
    rng = np.random.default_rng(2)
    n = N_QUERIES
    target = pd.DataFrame(
        {
            "query_id": [f"q{i}" for i in range(n)],
            "doc_ids": [list(map(str, rng.choice(500, 100, replace=False))) for _ in range(n)],
        }
    )
    pool = pd.DataFrame(
        {
            "query_id": target.query_id,
            "doc_ids": [list(map(str, rng.choice(500, 100, replace=False))) for _ in range(n)],
            "probs": [[0.01] * 100] * n,
            "support": "listed",
            "corpus_size": 500,
        }
    )
    kappa, coverage = benchmark(kappa_coverage, target, pool)
    assert kappa.shape == (n,)
    benchmark.extra_info["queries_per_s"] = n / benchmark.stats.stats.mean
