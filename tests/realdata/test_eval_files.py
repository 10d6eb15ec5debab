"""Evaluation: TREC files (strict readers), candidates, measures, teacher agreement."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from locent.realdata import evaluation as ev


def test_run_roundtrip_sorted_with_ties_by_doc_id(tmp_path):
    run = pd.DataFrame(
        {
            "query_id": ["2", "1", "1", "1"],
            "doc_id": ["a", "z", "b", "c"],
            "score": [1.0, 0.5, 0.5, 2.0],
        }
    )
    path = ev.write_trec_run(tmp_path / "x.run", run, "sys")
    lines = path.read_text().splitlines()
    assert lines[0] == "1 Q0 c 1 2.000000 sys"
    assert [ln.split()[2] for ln in lines[:3]] == ["c", "b", "z"]  # tie 0.5: b before z
    back = ev.read_run(path)
    assert list(back.columns) == ["query_id", "doc_id", "rank", "score"]
    assert back["rank"].tolist() == [1, 2, 3, 1]
    with pytest.raises(ValueError, match="tag"):
        ev.write_trec_run(tmp_path / "y.run", run, "two words")


@pytest.mark.parametrize(
    "content,line,what",
    [
        ("1 Q0 d1 1 2.0 t\n1 Q0 d2 2 1.0\n", 2, "expected 6 fields"),
        ("1 Q0 d1 1 2.0 t\n\n1 Q0 d2 two 1.0 t\n", 3, "invalid literal"),
        ("1 Q0 d1 1 nan t\n", 1, "not finite"),
        ("1 Q0 d1 1 abc t\n", 1, "could not convert"),
    ],
)
def test_malformed_run_names_file_and_line(tmp_path, content, line, what):
    path = tmp_path / "bad.run"
    path.write_text(content)
    with pytest.raises(ValueError, match=rf"bad\.run:{line}: malformed run line.*{what}"):
        ev.read_run(path)


def test_malformed_qrels_and_other_errors(tmp_path):
    path = tmp_path / "q.qrels"
    path.write_text("1 0 d1 1\n1 0 d2 high\n")
    with pytest.raises(ValueError, match=r"q\.qrels:2: malformed qrels line"):
        ev.read_qrels(path)
    path.write_text("1 0 d1\n")
    with pytest.raises(ValueError, match=r"q\.qrels:1: .*expected 4 fields, got 3"):
        ev.read_qrels(path)
    with pytest.raises(FileNotFoundError, match="no run file"):
        ev.read_run(tmp_path / "absent.run")
    empty = tmp_path / "e.run"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="empty run file"):
        ev.read_run(empty)
    dup = tmp_path / "d.run"
    dup.write_text("1 Q0 a 1 1 t\n1 Q0 a 2 0 t\n")
    with pytest.raises(ValueError, match="duplicate"):
        ev.read_run(dup)


def test_measures_on_a_hand_computed_example():
    qrels = pd.DataFrame(
        {
            "query_id": ["1", "1", "1", "2"],
            "doc_id": ["a", "b", "c", "x"],
            "relevance": [3, 1, 2, 2],
        }
    )
    run = pd.DataFrame({"query_id": ["1"] * 3, "doc_id": ["b", "c", "a"], "score": [3.0, 2.0, 1.0]})
    per_query, missed = ev.evaluate_run(run, qrels)
    assert missed == 1  # query 2 retrieved nothing: scored 0, counted
    v = per_query.set_index(["query_id", "measure"])["value"]
    # AP(rel=2): relevant = {a, c} at ranks 3 and 2 → (1/2 + 2/3) / 2
    assert v[("1", "AP(rel=2)")] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert v[("1", "RR(rel=2)@10")] == pytest.approx(1 / 2)
    # trec_eval convention (ir_measures' default provider): linear gain = relevance grade
    dcg = 1 / math.log2(2) + 2 / math.log2(3) + 3 / math.log2(4)
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert v[("1", "nDCG@10")] == pytest.approx(dcg / idcg)
    assert v[("2", "nDCG@10")] == 0.0


def test_candidates_are_padded_rectangles():
    frame = pd.DataFrame(
        {
            "query_id": ["a", "a", "a", "b"],
            "doc_id": ["x", "y", "z", "x"],
            "score": [1.0, 3.0, 2.0, 5.0],
        }
    )
    c = ev.Candidates.from_frame(frame, "t", depth=2)
    assert c.doc_ids.tolist() == [["y", "z"], ["x", ""]]
    assert c.valid.tolist() == [[True, True], [True, False]]
    assert c.fill_padding().tolist() == [["y", "z"], ["x", "x"]]
    with pytest.raises(ValueError, match="duplicate"):
        ev.Candidates.from_frame(pd.concat([frame, frame.iloc[:1]]), "t")


def test_teacher_agreement_counts_and_padding():
    teacher = np.array([[3.0, 2.0, 1.0], [1.0, 1.0, 0.0]])
    student = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, np.nan]])
    valid = np.array([[True, True, True], [True, True, False]])
    agree = ev.teacher_agreement(student, teacher, valid)
    assert agree["misordered"].tolist() == [3, 0]
    assert agree["comparable"].tolist() == [3, 0]  # a teacher tie never counts
    assert agree["misordering"].iloc[0] == 1.0 and np.isnan(agree["misordering"].iloc[1])
    assert (agree["bregman_risk"] >= 0).all()
    with pytest.raises(ValueError, match="valid candidates must come first"):
        ev.teacher_agreement(student, teacher, valid[:, ::-1])


def test_score_at_rank_sorted():
    s = ev.score_at_rank(["q"], np.array([[1.0, 3.0, 2.0]]), np.array([[True, True, False]]))
    assert s["rank"].tolist() == [1, 2] and s["score"].tolist() == [3.0, 1.0]
