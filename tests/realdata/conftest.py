"""Fixtures shared by the realdata tests: small, fixtures only."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def irds(irds_home):
    """``locent.realdata.datasets`` reading the session's writable copy of the shared home."""
    from locent.realdata import datasets

    datasets.ensure_irds_home()
    return datasets


@pytest.fixture
def toy_universe():
    """A synthetic :class:`Universe`: 6 queries, u = 40 candidates, corpus of 200 docs.

    Query i's judged-relevant docs are ``d{i}_0`` and ``d{i}_1``; the positive is ``d{i}_0``.
    """
    from locent.realdata.samplers import Universe

    rng = np.random.default_rng(123)
    n, u, N = 6, 40, 200
    corpus = np.array([f"c{j}" for j in range(N)], dtype=object)
    doc_ids = np.array(
        [rng.choice(corpus[10:], size=u, replace=False) for _ in range(n)], dtype=object
    )
    doc_ids[:, 3] = [f"c{i}" for i in range(n)]  # a judged-relevant doc inside each universe
    excluded = [{f"c{i}", f"c{i + 100}"} for i in range(n)]
    positive = np.array([f"c{i}" for i in range(n)], dtype=object)
    teacher = rng.normal(size=(n, u))
    dense = rng.uniform(-1, 1, size=(n, u))
    return Universe(
        query_ids=np.array([f"q{i}" for i in range(n)], dtype=object),
        doc_ids=doc_ids,
        teacher=teacher,
        dense=dense,
        corpus_ids=corpus,
        excluded=excluded,
        positive=positive,
        positive_score=teacher[:, 3].copy(),
        positive_source=np.full(n, "qrels", dtype=object),
    )
