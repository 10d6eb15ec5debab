"""Training-file readers: every format from small fixtures, recognised by content; bad files."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from locent.realdata.formats import TEXT_ID_SCHEME, read_training_file, text_id
from locent.realdata.formats.sniff import sniff

# --- sentence-transformers hard negatives ---------------------------------------------------

HARD = pd.DataFrame(
    {
        "query": ["what is a cat", "what is a dog"],
        "positive": ["a cat is a feline", "a dog is a canine"],
        "negative_1": ["a car has wheels", "a cat is a feline"],
        "negative_2": ["rain is wet", "a tree is tall"],
    }
)


@pytest.mark.parametrize("container", ["parquet", "jsonl", "csv", "tsv"])
def test_st_hard_negatives_texts_get_text_ids(tmp_path, container):
    path = tmp_path / "train.data"  # the name says nothing; the content decides
    if container == "parquet":
        HARD.to_parquet(path)
    elif container == "jsonl":
        HARD.to_json(path, orient="records", lines=True)
    else:
        HARD.to_csv(path, sep="," if container == "csv" else "\t", index=False)
    assert sniff(path).container == container
    tf = read_training_file(path)
    assert tf.format == "st_hard_negatives" and (tf.n, tf.k) == (2, 3)
    assert tf.doc_ids[0, 0] == text_id("a cat is a feline")
    assert tf.doc_ids[1, 1] == tf.doc_ids[0, 0]  # same text, same id in another group
    assert tf.doc_texts[tf.doc_ids[0, 2]] == "rain is wet"
    assert tf.query_texts[tf.query_ids[1]] == "what is a dog"
    assert tf.provenance["doc_id_scheme"] == TEXT_ID_SCHEME
    assert tf.teacher_scores is None
    np.testing.assert_array_equal(tf.labels, [[1, 0, 0], [1, 0, 0]])
    queries, docs = tf.texts()  # all texts from the file; no collection needed
    assert queries[1] == "what is a dog" and docs[0, 2] == "rain is wet"


def test_text_id_is_stable_and_distinct():
    assert text_id("x") == text_id("x") and text_id("x") != text_id("x ")
    assert (
        text_id("a cat") == "t" + __import__("hashlib").blake2b(b"a cat", digest_size=8).hexdigest()
    )


def test_st_hard_negatives_ids_and_negative_order(tmp_path):
    df = pd.DataFrame(
        {"query": [11, 12], "positive": [1, 2]}
        | {f"negative_{i}": [100 + i, 200 + i] for i in (10, 2, 1)}
    )
    path = tmp_path / "ids.parquet"
    df.to_parquet(path)
    tf = read_training_file(path)
    assert tf.provenance["doc_id_scheme"] == "file" and tf.provenance["query_id_scheme"] == "file"
    assert list(tf.doc_ids[0]) == ["1", "101", "102", "110"]  # negative_10 after negative_2
    assert list(tf.query_ids) == ["11", "12"] and tf.doc_texts == {}


def test_st_pairs_labels_one_group_per_positive(tmp_path):
    rows = [
        ("q1", "p1", 1),
        ("q1", "n1", 0),
        ("q1", "p2", 1),
        ("q1", "n2", 0),
        ("q2", "p3", 1),
        ("q2", "n3", 0),
        ("q2", "n4", 0),
    ]
    path = tmp_path / "pairs.csv"
    pd.DataFrame(rows, columns=["query", "passage", "label"]).to_csv(path, index=False)
    tf = read_training_file(path, values="ids", k=3)
    assert tf.format == "st_pairs" and tf.provenance["value_kind"] == "relevance"
    assert [list(r) for r in tf.doc_ids] == [
        ["p1", "n1", "n2"],
        ["p2", "n1", "n2"],
        ["p3", "n3", "n4"],
    ]
    assert tf.provenance["duplicate_queries"] == 1  # q1's two positives: two groups, not merged


def test_st_pairs_scores_are_teacher_scores(tmp_path):
    df = pd.DataFrame(
        {"query": ["a", "a", "a"], "document": ["x", "y", "z"], "score": [0.1, 2.5, 1.0]}
    )
    path = tmp_path / "scores.jsonl"
    df.to_json(path, orient="records", lines=True)
    tf = read_training_file(path, values="ids")
    assert list(tf.doc_ids[0]) == ["y", "z", "x"]
    np.testing.assert_array_equal(tf.teacher_scores, [[2.5, 1.0, 0.1]])
    g = tf.to_groups()
    assert g.positive_source[0] == "teacher_top" and np.isnan(g.inclusion_probs).all()
    assert g.provenance["inclusion_probs"] == "unknown"


# --- Tevatron -------------------------------------------------------------------------------


def _tevatron_lines():
    return [
        {
            "query_id": "7",
            "query": "cats",
            "positive_passages": [{"docid": "d1", "title": "Cat", "text": "a feline"}],
            "negative_passages": [
                {"docid": "d2", "title": "", "text": "a car"},
                {"docid": "d3", "title": "Rain", "text": "is wet"},
            ],
        },
        {
            "query_id": "8",
            "query": "dogs",
            "positive_passages": [
                {"docid": "d4", "title": "", "text": "a canine"},
                {"docid": "d5", "title": "", "text": "a hound"},
            ],
            "negative_passages": [
                {"docid": "d2", "title": "", "text": "a car"},
                {"title": "", "text": "no id here"},
            ],
        },
    ]


def test_tevatron_gzipped_jsonl(tmp_path):
    path = tmp_path / "train.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(map(json.dumps, _tevatron_lines())).encode()))
    tf = read_training_file(path)
    assert tf.format == "tevatron" and (tf.n, tf.k) == (3, 3)
    assert list(tf.query_ids) == ["7", "8", "8"] and tf.provenance["duplicate_queries"] == 1
    assert list(tf.doc_ids[2]) == ["d5", "d2", text_id("no id here")]
    assert tf.doc_texts["d1"] == "Cat a feline" and tf.doc_texts["d2"] == "a car"
    assert tf.provenance["doc_id_scheme"] == f"{TEXT_ID_SCHEME}+file"
    with pytest.raises(ValueError, match="carries no teacher scores"):
        tf.to_groups()


def test_tevatron_duplicate_doc_id_with_two_texts(tmp_path):
    lines = _tevatron_lines()
    lines[1]["negative_passages"][0]["text"] = "a different car"
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(map(json.dumps, lines)))
    with pytest.raises(ValueError, match="duplicate doc id 'd2' with two different texts"):
        read_training_file(path)


def test_tevatron_query_without_positive(tmp_path):
    lines = _tevatron_lines()
    lines[0]["positive_passages"] = []
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(map(json.dumps, lines)))
    with pytest.raises(ValueError, match="line 1: query '7' has no positive passage"):
        read_training_file(path)


# --- ranked lists: TREC runs and PyTerrier frames -------------------------------------------

RUN = """\
q1 Q0 a 1 9.0 sys
q1 Q0 b 2 8.0 sys
q1 Q0 c 3 7.5 sys
q2 Q0 c 1 3.0 sys
q2 Q0 d 2 2.0 sys
q2 Q0 e 3 1.0 sys
"""


def test_trec_run_named_txt_is_a_run(tmp_path):
    path = tmp_path / "reranker.txt"
    path.write_text(RUN)
    tf = read_training_file(path)
    assert tf.format == "trec_run" and list(tf.doc_ids[0]) == ["a", "b", "c"]
    np.testing.assert_array_equal(tf.teacher_scores[1], [3.0, 2.0, 1.0])
    assert tf.provenance["mode"] == "score" and len(tf.provenance["sha256"]) == 64
    g = tf.to_groups(sampler="reranker")
    assert g.sampler == "reranker" and list(g.positive_source) == ["run_top", "run_top"]


def test_run_depths_differ_needs_k(tmp_path):
    path = tmp_path / "run"
    path.write_text(RUN + "q2 Q0 f 4 0.5 sys\n")
    with pytest.raises(ValueError, match=r"groups differ in size \{3: 1, 4: 1\}.*query 'q2'"):
        read_training_file(path)
    tf = read_training_file(path, k=3)
    assert tf.provenance["n_truncated"] == 1 and list(tf.doc_ids[1]) == ["c", "d", "e"]
    with pytest.raises(ValueError, match="1 groups have fewer than k=4 items, first queries"):
        read_training_file(path, k=4)
    with pytest.warns(UserWarning, match="dropped 1 groups"):
        tf = read_training_file(path, k=4, drop_short=True)
    assert list(tf.query_ids) == ["q2"] and tf.provenance["n_short_dropped"] == 1


def test_run_query_with_no_candidates(tmp_path):
    path = tmp_path / "run"
    path.write_text(RUN + "q3 Q0 z 1 1.0 sys\n")
    with pytest.raises(ValueError, match="query 'q3' has no candidates besides its first item"):
        read_training_file(path, k=3)


def test_pyterrier_frame_and_file(tmp_path):
    frame = pd.DataFrame(
        {
            "qid": ["1", "1", "1", "2", "2", "2"],
            "query": ["cats"] * 3 + ["dogs"] * 3,
            "docno": ["x", "y", "z", "x", "w", "v"],
            "text": ["tx", "ty", "tz", "tx", "tw", "tv"],
            "score": [1.0, 3.0, 2.0, 5.0, 5.0, 4.0],
        }
    )
    tf = read_training_file(frame)
    assert tf.format == "pyterrier" and list(tf.doc_ids[0]) == ["y", "z", "x"]
    assert tf.query_texts == {"1": "cats", "2": "dogs"} and tf.doc_texts["w"] == "tw"
    path = tmp_path / "res.parquet"
    frame.to_parquet(path)
    back = read_training_file(path)
    assert (back.doc_ids == tf.doc_ids).all()
    np.testing.assert_array_equal(back.teacher_scores, tf.teacher_scores)
    with pytest.raises(ValueError, match="duplicate doc id 'x' with two different texts"):
        read_training_file(frame.assign(text=["tx", "ty", "tz", "other", "tw", "tv"]))
    with pytest.raises(ValueError, match="2 duplicate \\(qid, docno\\) rows, first query '1'"):
        read_training_file(pd.concat([frame, frame.iloc[:2]]))


# --- recognition and malformed files --------------------------------------------------------


def test_unknown_layout_lists_the_formats(tmp_path):
    path = tmp_path / "x.csv"
    pd.DataFrame({"question": ["a"], "answer": ["b"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="no training-file format matches") as err:
        read_training_file(path)
    for name in ("trec_run", "authors", "tevatron", "pyterrier", "st_hard_negatives", "st_pairs"):
        assert name in str(err.value)
    assert "['question', 'answer']" in str(err.value)


def test_missing_columns_and_values(tmp_path):
    path = tmp_path / "hn.jsonl"
    HARD.drop(columns=["positive"]).to_json(path, orient="records", lines=True)
    with pytest.raises(ValueError, match="no training-file format matches"):
        read_training_file(path)
    with pytest.raises(ValueError, match=r"need columns query\|anchor, positive, negative"):
        read_training_file(path, format="st_hard_negatives")
    HARD.to_json(path, orient="records", lines=True)
    with pytest.raises(ValueError, match=r"lacks field\(s\) \['positive_passages'"):
        read_training_file(path, format="tevatron")
    with pytest.raises(ValueError, match="asked for format 'trec_run' but its content is a table"):
        read_training_file(path, format="trec_run")
    bad = HARD.copy()
    bad.loc[1, "negative_2"] = None
    with pytest.raises(ValueError, match="row 2 has no value in column 'negative_2'"):
        read_training_file(bad)


def test_pairs_label_not_a_number_and_no_positive(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("query\tpassage\tlabel\nq\ta\t1\nq\tb\tmaybe\n")
    with pytest.raises(ValueError, match="column 'label' row 2 is not a finite number"):
        read_training_file(path)
    path.write_text("query\tpassage\tlabel\nq\ta\t0\nq\tb\t0\n")
    with pytest.raises(ValueError, match="query 'q' has no row with label > 0"):
        read_training_file(path, values="ids")


def test_group_listing_a_doc_twice(tmp_path):
    path = tmp_path / "run"
    path.write_text(RUN)
    bad = HARD.assign(negative_2=HARD["positive"])
    with pytest.raises(ValueError, match="lists doc .* twice in one group"):
        read_training_file(bad)


def test_empty_and_binary_files(tmp_path):
    path = tmp_path / "empty"
    path.write_text("\n\n")
    with pytest.raises(ValueError, match="empty file"):
        read_training_file(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="neither Parquet nor UTF-8"):
        read_training_file(path)
    with pytest.raises(FileNotFoundError, match="no file at"):
        read_training_file(tmp_path / "absent")
