"""The authors' layout inside the formats package: round trip of a Groups record, bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from locent.realdata.formats import read_training_file
from locent.realdata.formats.authors import (
    groups_from_authors,
    read_authors,
    scores_of,
    write_jsonl,
    write_score_file,
)
from locent.realdata.store import Groups


def _groups(n=4, k=5):
    rng = np.random.default_rng(3)
    probs = np.full((n, k), 1 / 7)
    probs[:, 0] = np.nan
    return Groups(
        sampler="bm25",
        query_ids=np.array([f"q{i}" for i in range(n)], object),
        doc_ids=np.array([[f"d{i}_{j}" for j in range(k)] for i in range(n)], object),
        teacher_scores=rng.normal(size=(n, k)) * 10,
        inclusion_probs=probs,
        positive_source=np.array(["qrels"] * n, object),
        n_padded=np.zeros(n, np.int64),
        n_excluded=np.zeros(n, np.int64),
    )


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_groups_through_the_authors_layout(tmp_path, suffix):
    g = _groups()
    jl = write_jsonl(g, tmp_path / f"groups.jsonl{suffix}")
    sc = write_score_file(scores_of(g), tmp_path / f"scores.json{suffix}")
    tf = read_training_file(jl, scores=sc)
    assert tf.format == "authors" and tf.provenance["scores"] == str(sc)
    back = tf.to_groups(sampler="bm25")
    assert back.sampler == g.sampler
    np.testing.assert_array_equal(back.query_ids, g.query_ids)
    np.testing.assert_array_equal(back.doc_ids, g.doc_ids)
    np.testing.assert_array_equal(back.teacher_scores, g.teacher_scores)  # JSON keeps float64
    assert np.isnan(back.inclusion_probs).all()  # unknown in the authors' layout
    assert back.provenance["inclusion_probs"] == "unknown"
    # the older one-call reader agrees
    old, counts = groups_from_authors(jl, sc, "bm25")
    np.testing.assert_array_equal(old.teacher_scores, back.teacher_scores)
    assert counts == {"lines": 4, "duplicate_queries": 0}


def test_authors_without_scores_takes_a_teacher_later(tmp_path):
    from locent.realdata.formats import TeacherTable

    g = _groups()
    tf = read_authors(write_jsonl(g, tmp_path / "g.jsonl"))
    assert tf.teacher_scores is None
    with pytest.raises(ValueError, match="carries no teacher scores"):
        tf.to_groups()
    teacher = TeacherTable(scores_of(g), {"path": "t", "mode": "score"})
    back = tf.to_groups(teacher=teacher)
    np.testing.assert_array_equal(back.teacher_scores, g.teacher_scores)
    assert back.provenance["teacher_provenance"] == {"path": "t", "mode": "score"}


def test_authors_missing_score_names_query_and_doc(tmp_path):
    g = _groups(n=2, k=3)
    jl = write_jsonl(g, tmp_path / "g.jsonl")
    table = scores_of(g)
    del table["q1"]["d1_2"]
    sc = write_score_file(table, tmp_path / "s.json")
    with pytest.raises(ValueError, match="no teacher score for query 'q1', doc 'd1_2'"):
        read_training_file(jl, scores=sc)


def test_authors_malformed_records(tmp_path):
    path = tmp_path / "g.jsonl"
    lines = [
        {"query_id": "q", "doc_id_a": "a", "doc_id_b": ["b", "c"]},
        {"query_id": "q", "doc_id_a": "a"},
    ]
    path.write_text("\n".join(map(json.dumps, lines)))
    with pytest.raises(ValueError, match="record 2: missing field 'doc_id_b'"):
        read_training_file(path)
    lines[1] = {"query_id": "r", "doc_id_a": "a", "doc_id_b": []}
    path.write_text("\n".join(map(json.dumps, lines)))
    with pytest.raises(ValueError, match="query 'r' has no candidates"):
        read_training_file(path)


def test_old_import_path_still_works():
    from locent.realdata import authors_format
    from locent.realdata.formats import authors

    assert authors_format.groups_from_authors is authors.groups_from_authors
