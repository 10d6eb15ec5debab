"""Teacher files in score or rank mode, recognised by content; the coverage check."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from locent.realdata.formats import read_teacher_file, teacher_coverage

# a listwise re-ranker's permutation: ranks are the order, the score column is meaningless
PERMUTATION = """\
q1 Q0 c 1 0.1 llm
q1 Q0 a 2 0.9 llm
q1 Q0 b 2 0.5 llm
q1 Q0 d 4 0.7 llm
q2 Q0 x 1 0.0 llm
q2 Q0 y 2 0.0 llm
"""


def test_run_named_txt_in_rank_mode_keeps_ties(tmp_path):
    path = tmp_path / "llm-rerank.txt"
    path.write_text(PERMUTATION)
    t = read_teacher_file(path, mode="rank")
    assert t.provenance["format"] == "trec_run" and t.provenance["mode"] == "rank"
    assert t.scores["q1"] == {"c": -1.0, "a": -2.0, "b": -2.0, "d": -4.0}  # a, b stay tied
    assert "rank" in t.provenance["rank_rule"]
    np.testing.assert_array_equal(
        t.score(["q1", "q2"], None, [["c", "d"], ["y", "x"]], None), [[-1, -4], [-2, -1]]
    )


def test_score_mode_warns_when_scores_disagree_with_ranks(tmp_path):
    path = tmp_path / "llm.run"
    path.write_text(PERMUTATION)
    with pytest.warns(UserWarning, match="in 1 queries .*'q1'.*use mode='rank'"):
        t = read_teacher_file(path, mode="score")
    assert t.provenance["score_rank_disagreements"] == 1
    assert t.scores["q1"]["a"] == 0.9


def test_score_json_recognised_by_content_with_any_name(tmp_path):
    data = {"q1": {"a": 2.0, "b": 2.0, "c": -1.0}, "q2": {"x": 0.5, "y": 0.25}}
    path = tmp_path / "teacher.bin"
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    t = read_teacher_file(path)
    assert t.provenance["format"] == "score_json" and t.scores == data
    r = read_teacher_file(path, mode="rank")
    assert r.scores["q1"] == {"a": -1.0, "b": -1.0, "c": -3.0}  # ties share the smaller rank


def test_pyterrier_frame_teacher_with_ranks_only():
    frame = pd.DataFrame({"qid": ["1", "1", "1"], "docno": ["a", "b", "c"], "rank": [0, 2, 1]})
    with pytest.raises(ValueError, match="has ranks but no scores; read it with mode='rank'"):
        read_teacher_file(frame)
    t = read_teacher_file(frame, mode="rank")
    assert t.scores == {"1": {"a": 0.0, "c": -1.0, "b": -2.0}}
    assert t.provenance["format"] == "pyterrier"


def test_not_a_teacher_file(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("hello world\nthis is not a run\n")
    with pytest.raises(ValueError, match="teacher formats: trec_run .*score_json .*pyterrier"):
        read_teacher_file(path)
    with pytest.raises(ValueError, match="mode must be one of"):
        read_teacher_file(path, mode="listwise")


def test_malformed_run_line_named(tmp_path):
    path = tmp_path / "r.run"
    path.write_text(PERMUTATION + "q2 Q0 z 3 nan llm\n")
    with pytest.raises(ValueError, match=r"r.run:7: malformed run line"):
        read_teacher_file(path)


def test_coverage_lists_uncovered_pairs_first(tmp_path):
    path = tmp_path / "top.run"
    path.write_text(PERMUTATION)
    t = read_teacher_file(path, mode="rank")
    candidates = pd.DataFrame(
        {
            "query_id": ["q1", "q1", "q1", "q2", "q3", "q3"],
            "doc_id": ["a", "zz", "c", "x", "a", "b"],
        }
    )
    report = teacher_coverage(t, candidates)
    assert (report.n_pairs, report.n_uncovered, report.n_queries) == (6, 3, 3)
    assert report.coverage == pytest.approx(0.5) and not report.complete
    assert list(report.uncovered.itertuples(index=False, name=None)) == [
        ("q1", "zz"),
        ("q3", "a"),
        ("q3", "b"),
    ]
    per_query = report.per_query.set_index("query_id")
    assert per_query.loc["q3"].tolist() == [2, 2, False]
    assert per_query.loc["q1"].tolist() == [3, 1, True]
    with pytest.raises(ValueError, match=r"leaves 3 of 6 .*1 queries absent.*\('q1', 'zz'\)"):
        report.raise_if_incomplete(first=2)
    full = teacher_coverage(t.scores, [("q1", "a"), ("q2", "y")])
    assert full.complete and full.coverage == 1.0
    full.raise_if_incomplete()


def test_coverage_of_a_training_file_before_training(tmp_path):
    from locent.realdata.formats import read_training_file

    run = tmp_path / "first_stage.txt"
    run.write_text("".join(f"q1 Q0 d{i} {i + 1} {10 - i} bm25\n" for i in range(4)))
    teacher = tmp_path / "teacher.txt"
    teacher.write_text("".join(f"q1 Q0 d{i} {i + 1} {5 - i} ce\n" for i in range(3)))
    tf = read_training_file(run)
    t = read_teacher_file(teacher)
    report = teacher_coverage(t, tf)
    assert report.n_uncovered == 1 and report.uncovered.iloc[0].tolist() == ["q1", "d3"]
    with pytest.raises(ValueError, match="no score for query 'q1', doc 'd3'"):
        tf.to_groups(teacher=t)
