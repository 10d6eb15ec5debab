"""The query-embedding cache grows with the queries asked for: a store prepared again with more
training queries (``prepare --queries 400`` after 100) reuses the cached rows and encodes only
the new ids, instead of refusing the cache ("holds other ids than requested")."""

from __future__ import annotations

import numpy as np
import pytest
from locent.realdata.encoders import query_embeddings


class CountingEncoder:
    """Deterministic stand-in: the embedding of a text is a function of the text alone."""

    dim = 3

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts, batch_size=32):
        self.encoded += list(texts)
        return np.array([[len(t), sum(map(ord, t)) % 97, t.count("a")] for t in texts], np.float32)


def test_cache_extends_with_new_ids_and_serves_old_ones(tmp_path):
    cache = tmp_path / "queries.x.npz"
    enc = CountingEncoder()
    first = query_embeddings(["1", "2"], ["alpha", "beta"], enc, cache)
    assert enc.encoded == ["alpha", "beta"]
    again = query_embeddings(["3", "1", "2"], ["gamma", "alpha", "beta"], enc, cache)
    assert enc.encoded == ["alpha", "beta", "gamma"]  # only the new id was encoded
    np.testing.assert_array_equal(again[1:], first)
    np.testing.assert_array_equal(again[0], enc.encode(["gamma"])[0])
    subset = query_embeddings(["2"], ["beta"], CountingEncoder(), cache)
    np.testing.assert_array_equal(subset, first[1:])
    with np.load(cache) as data:
        assert sorted(data["ids"]) == ["1", "2", "3"]


def test_empty_and_repeated_requests(tmp_path):
    cache = tmp_path / "q.npz"
    assert query_embeddings([], [], CountingEncoder(), cache).shape == (0, 3)
    with pytest.raises(ValueError, match="requested twice"):
        query_embeddings(["1", "1"], ["a", "a"], CountingEncoder(), cache)
