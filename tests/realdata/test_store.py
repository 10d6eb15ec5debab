"""Group store and the authors' layouts: round trips, errors, duplicates kept apart."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from locent.realdata.authors_format import (
    groups_from_authors,
    read_jsonl,
    read_score_file,
    scores_of,
    write_jsonl,
    write_score_file,
)
from locent.realdata.store import Groups, read_groups, write_groups


def _groups(n=3, k=4, sampler="bm25"):
    rng = np.random.default_rng(0)
    probs = np.full((n, k), 0.25)
    probs[:, 0] = np.nan
    return Groups(
        sampler=sampler,
        query_ids=np.array([f"q{i}" for i in range(n)], object),
        doc_ids=np.array([[f"d{i}_{j}" for j in range(k)] for i in range(n)], object),
        teacher_scores=rng.normal(size=(n, k)),
        inclusion_probs=probs,
        positive_source=np.array(["qrels"] * n, object),
        n_padded=np.zeros(n, np.int64),
        n_excluded=np.ones(n, np.int64),
        provenance={"seed": 1},
    )


def test_parquet_round_trip(tmp_path):
    g = _groups()
    back = read_groups(write_groups(g, tmp_path / "bm25.parquet"))
    assert (back.doc_ids == g.doc_ids).all() and back.provenance == {"seed": 1}
    np.testing.assert_array_equal(back.teacher_scores, g.teacher_scores)
    np.testing.assert_array_equal(back.inclusion_probs, g.inclusion_probs)
    with pytest.raises(FileNotFoundError, match="prepare"):
        read_groups(tmp_path / "absent.parquet")


def test_authors_jsonl_and_scores_round_trip(tmp_path):
    g = _groups()
    jl = write_jsonl(g, tmp_path / "groups.jsonl.gz")
    first = json.loads(gzip.open(jl, "rt").readline())
    assert first == {"query_id": "q0", "doc_id_a": "d0_0", "doc_id_b": ["d0_1", "d0_2", "d0_3"]}
    sc = write_score_file(scores_of(g), tmp_path / "scores.json.gz")
    assert read_score_file(sc)["q1"]["d1_2"] == pytest.approx(g.teacher_scores[1, 2])
    back, counts = groups_from_authors(jl, sc, sampler="bm25")
    assert counts == {"lines": 3, "duplicate_queries": 0}
    assert (back.doc_ids == g.doc_ids).all() and (back.query_ids == g.query_ids).all()
    np.testing.assert_array_equal(back.teacher_scores, g.teacher_scores)
    assert np.isnan(back.inclusion_probs).all()
    plain = write_jsonl(g, tmp_path / "groups.jsonl")
    assert read_jsonl(plain).equals(read_jsonl(jl))


def test_authors_missing_score_and_duplicates(tmp_path):
    lines = [
        {"query_id": "q", "doc_id_a": "a", "doc_id_b": ["b", "c"]},
        {"query_id": "q", "doc_id_a": "a", "doc_id_b": ["c", "d"]},
    ]
    jl = tmp_path / "g.jsonl"
    jl.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    sc = write_score_file({"q": {"a": 3, "b": 1, "c": 0}}, tmp_path / "s.json")
    with pytest.raises(ValueError, match="query 'q', doc 'd'"):
        groups_from_authors(jl, sc, "teacher")
    sc = write_score_file({"q": {"a": 3, "b": 1, "c": 0, "d": -1}}, tmp_path / "s.json")
    g, counts = groups_from_authors(jl, sc, "teacher")
    assert g.n == 2 and counts["duplicate_queries"] == 1  # two groups, never concatenated
    jl.write_text(json.dumps({"query_id": "q", "doc_id_a": "a"}) + "\n")
    with pytest.raises(ValueError, match="line 1: missing field"):
        read_jsonl(jl)
