"""Local collections registered in ir_datasets: classic .ALL/.QRY/.REL and plain TSV/JSONL."""

from __future__ import annotations

import json
import uuid

import pytest

CISI_ALL = """\
.I 1
.T
Editions of the Dewey Decimal Classifications
.A
Comaromi, J.P.
.W
   The present study is a history of the DEWEY Decimal
Classification.
.X
1\t5\t1
2\t1\t1
.I 2
.T
Use Made of Technical Libraries
.A
Slater, M.
.W
This report is an analysis of 6300 acts of use
in 104 technical libraries.
.I 3
.T
Two Kinds of Power
.W
The relationships between the organization and control of writing.
"""

CISI_QRY = """\
.I 1
.W
What problems and concerns are there in making up descriptive titles?
.I 2
.T
Library use
.A
Someone, A.
.W
How are technical libraries used?
.I 3
.W
Who writes about power?
"""

CISI_REL = """\
     1     1\t0\t0.000000
     1     3\t0\t0.000000
     2     2\t0\t0.000000
"""


@pytest.fixture
def irds_tmp_home(request, tmp_path, monkeypatch):
    """A writable ir_datasets home for the local docs stores.

    The session's copy of the shared home when there is one: ir_datasets binds its built-in
    datasets to the home it sees when first imported, so importing it here with another home
    would break later tests that read them. Without shared data, a fresh folder.
    """
    try:
        return request.getfixturevalue("irds_home")
    except pytest.skip.Exception:
        home = tmp_path / "irds_home"
        home.mkdir()
        monkeypatch.setenv("IR_DATASETS_HOME", str(home))
        return home


def register_local_collection(*args, **kwargs):
    # imported when a test runs, not when pytest collects this file: ir_datasets must not be
    # imported before the session chose its home (conftest's irds_home)
    from locent.realdata.formats import register_local_collection

    return register_local_collection(*args, **kwargs)


def _name(prefix: str) -> str:
    # the ir_datasets registry is process-wide: one name per test
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _classic(folder, all_=CISI_ALL, qry=CISI_QRY, rel=CISI_REL, stem="CISI"):
    folder.mkdir(exist_ok=True)
    (folder / f"{stem}.ALL").write_text(all_)
    (folder / f"{stem}.QRY").write_text(qry)
    (folder / f"{stem}.REL").write_text(rel)
    return folder


def test_classic_collection_through_ir_datasets_load(tmp_path, irds_tmp_home):
    import ir_datasets

    name = _name("cisi")
    record = register_local_collection(_classic(tmp_path / "cisi"), name)
    assert record.dataset_id == f"local/{name}" and record.layout == "classic"
    assert (record.n_docs, record.n_queries, record.n_qrels) == (3, 3, 3)
    assert record.counts["n_queries_unjudged"] == 1  # query 3 has no judgements
    ds = ir_datasets.load(f"local/{name}")
    docs = list(ds.docs_iter())
    assert [d.doc_id for d in docs] == ["1", "2", "3"]
    assert docs[0].title == "Editions of the Dewey Decimal Classifications"
    assert docs[0].text == "The present study is a history of the DEWEY Decimal Classification."
    assert docs[0].author == "Comaromi, J.P." and "1\t5" not in docs[0].text  # .X dropped
    queries = {q.query_id: q.text for q in ds.queries_iter()}
    assert queries["2"] == "Library use How are technical libraries used?"
    assert [(q.query_id, q.doc_id, q.relevance) for q in ds.qrels_iter()] == [
        ("1", "1", 1),
        ("1", "3", 1),
        ("2", "2", 1),
    ]
    assert ds.docs_store().get("2").title == "Use Made of Technical Libraries"
    assert (irds_tmp_home / "local" / name).is_dir()  # the docs store lives in the home
    from locent.realdata.formats.local_collection import is_local, registered

    assert registered(record.dataset_id) is record and is_local(record.dataset_id)
    assert record.to_dict()["counts"]["n_qrels_unknown_doc"] == 0
    # registering the same files again is a no-op; other files under the name are refused
    assert register_local_collection(tmp_path / "cisi", name) is record
    other = _classic(tmp_path / "other", rel=CISI_REL.replace("2\t0", "3\t0"))
    with pytest.raises(ValueError, match="already registered from other files"):
        register_local_collection(other, name)


def test_locent_dataset_functions_read_a_local_collection(tmp_path, irds_tmp_home):
    from locent.realdata import datasets

    name = _name("cisi")
    register_local_collection(_classic(tmp_path / "c"), name)
    dataset_id = f"local/{name}"
    datasets.load(dataset_id, "docs", "queries", "qrels")  # no file reported missing
    assert list(datasets.queries(dataset_id)) == ["1", "2", "3"]
    assert datasets.qrels(dataset_id)["doc_id"].tolist() == ["1", "3", "2"]
    assert datasets.doc_texts(dataset_id, ["3"]) == [
        "Two Kinds of Power The relationships between the organization and control of writing."
    ]
    assert datasets.corpus_id(dataset_id) == dataset_id
    with pytest.raises(KeyError, match="doc id '9' is not in"):
        datasets.doc_texts(dataset_id, ["9"])


def test_cranfield_variant_sequential_query_numbers_and_graded_qrels(tmp_path, irds_tmp_home):
    import ir_datasets

    all_ = ".I 1\n.T\nflow\n.A\nX\n.B\nJ. Aero 1\n.W\nflow past a plate\n"
    all_ += ".I 2\n.T\nheat\n.W\nheat flux\n"
    qry = ".I 001\n.W\nwhat about flow ?\n.I 004\n.W\nwhat about heat ?\n"
    rel = "1 1 2\n2 2 4\n2 1 -1\n"
    folder = _classic(tmp_path / "cran", all_, qry, rel, stem="cran")
    with pytest.raises(ValueError, match=r"unknown queries.*query_numbering='sequential'"):
        register_local_collection(folder, _name("cran"))
    name = _name("cran")
    record = register_local_collection(folder, name, query_numbering="sequential")
    ds = ir_datasets.load(record.dataset_id)
    assert [q.query_id for q in ds.queries_iter()] == ["1", "2"]
    assert [(q.query_id, q.doc_id, q.relevance) for q in ds.qrels_iter()] == [
        ("1", "1", 2),
        ("2", "2", 4),
        ("2", "1", -1),
    ]
    assert next(iter(ds.docs_iter())).bib == "J. Aero 1"


def test_trec_style_rel_med_variant(tmp_path, irds_tmp_home):
    import ir_datasets

    rel = "1 0 1 1\n1 0 3 1\n2 0 2 1\n"
    record = register_local_collection(_classic(tmp_path / "med", rel=rel, stem="MED"), _name("m"))
    assert [q.doc_id for q in ir_datasets.load(record.dataset_id).qrels_iter()] == ["1", "3", "2"]


def test_cacm_leading_zeros_are_one_id(tmp_path, irds_tmp_home):
    import ir_datasets

    rel = "01 001 0 0\n01 3 0 0\n02 02 0 0\n"  # CACM's qrels.text writes query 1 as "01"
    record = register_local_collection(
        _classic(tmp_path / "cacm", rel=rel, stem="CACM"), _name("c")
    )
    qrels = [(q.query_id, q.doc_id) for q in ir_datasets.load(record.dataset_id).qrels_iter()]
    assert qrels == [("1", "1"), ("1", "3"), ("2", "2")]


def test_classic_malformed_files(tmp_path, irds_tmp_home):
    dup = CISI_ALL + ".I 2\n.W\nagain\n"
    with pytest.raises(ValueError, match=r"CISI.ALL:\d+: duplicate document id '2' \(first at"):
        register_local_collection(_classic(tmp_path / "a", all_=dup), _name("x"))
    with pytest.raises(ValueError, match=r"CISI.ALL:\d+: unknown field marker '.Z'"):
        register_local_collection(_classic(tmp_path / "b", all_=CISI_ALL + ".Z\nzz\n"), _name("x"))
    unknown = CISI_REL + "     2     9\t0\t0.000000\n"
    with pytest.raises(ValueError, match=r"1 qrels name unknown documents.*doc '9' \(unknown\)"):
        register_local_collection(_classic(tmp_path / "c", rel=unknown), _name("x"))
    with pytest.warns(UserWarning, match="unknown documents"):
        record = register_local_collection(
            _classic(tmp_path / "d", rel=unknown), _name("x"), on_unknown="drop"
        )
    assert record.n_qrels == 3 and record.counts["n_qrels_unknown_doc"] == 1
    title_only = CISI_ALL + ".I 4\n.T\nOnly a title\n"
    with pytest.warns(UserWarning, match="1 documents have no text"):
        record = register_local_collection(_classic(tmp_path / "t", all_=title_only), _name("x"))
    assert record.n_docs == 4 and record.counts["n_docs_without_text"] == 1
    ambiguous = "1 0 0 0\n"
    with pytest.raises(ValueError, match="cannot tell the qrels layout"):
        register_local_collection(_classic(tmp_path / "e", rel=ambiguous), _name("x"))
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "A.ALL").write_text(CISI_ALL)
    with pytest.raises(ValueError, match="exactly one .ALL, .QRY and .REL"):
        register_local_collection(tmp_path / "f", _name("x"))


def test_plain_folder_tsv_and_jsonl(tmp_path, irds_tmp_home):
    import ir_datasets

    folder = tmp_path / "mine"
    folder.mkdir()
    docs = [
        {"_id": "d1", "title": "Cats", "text": "felines purr"},
        {"_id": "d2", "title": "", "text": "dogs bark"},
    ]
    (folder / "corpus.jsonl").write_text("\n".join(map(json.dumps, docs)) + "\n")
    (folder / "queries.tsv").write_text("query_id\ttext\nq1\twhy do cats purr\nq2\tdogs\n")
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\n")
    record = register_local_collection(folder, _name("mine"))
    assert record.layout == "plain" and (record.n_docs, record.n_queries, record.n_qrels) == (
        2,
        2,
        2,
    )
    ds = ir_datasets.load(record.dataset_id)
    assert [d.default_text() for d in ds.docs_iter()] == ["Cats felines purr", "dogs bark"]
    assert [(q.query_id, q.doc_id, q.relevance) for q in ds.qrels_iter()] == [
        ("q1", "d1", 1),
        ("q2", "d2", 2),
    ]


def test_plain_files_malformed(tmp_path, irds_tmp_home):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "docs.tsv").write_text("d1\tfirst doc\nd2\n")
    (folder / "queries.tsv").write_text("q1\tquery\n")
    (folder / "qrels.txt").write_text("q1 0 d1 1\n")
    with pytest.raises(ValueError, match=r"docs.tsv:2: expected doc_id<TAB>text"):
        register_local_collection(folder, _name("p"))
    (folder / "docs.tsv").unlink()
    (folder / "docs.jsonl").write_text('{"doc_id": "d1", "text": "x"}\n{"doc_id": "d2"}\n')
    with pytest.raises(ValueError, match=r"docs.jsonl:2: missing document text field"):
        register_local_collection(folder, _name("p"))
    (folder / "docs.jsonl").write_text('{"doc_id": "d1", "text": "x"}\n')
    (folder / "queries.tsv").write_text("q1\tquery\nq1\tagain\n")
    with pytest.raises(ValueError, match=r"queries.tsv:2: duplicate query id 'q1'"):
        register_local_collection(folder, _name("p"))
    (folder / "queries.tsv").write_text("q1\tquery\nq2\t  \n")
    with pytest.raises(ValueError, match=r"queries.tsv:2: a query has no text"):
        register_local_collection(folder, _name("p"))
    (folder / "queries.tsv").write_text("q1\tquery\n")
    (folder / "qrels.txt").write_text("q1 0 d1 1\nq1 0 d1 0\n")
    with pytest.raises(ValueError, match=r"qrels.txt:2: query 'q1' doc 'd1' judged 0 here and 1"):
        register_local_collection(folder, _name("p"))
    (folder / "qrels.txt").unlink()
    with pytest.raises(FileNotFoundError, match="no qrels file"):
        register_local_collection(folder, _name("p"))


def test_classic_reader_agrees_with_ir_datasets_cranfield(irds, irds_home):
    """The shared Cranfield files read as a classic collection equal ir_datasets' own loader."""
    import ir_datasets

    folder = irds_home / "cranfield"
    with pytest.warns(UserWarning, match="2 documents have no text"):
        record = register_local_collection(
            None,
            _name("cranfield"),
            layout="classic",
            docs=folder / "docs.txt",
            queries=folder / "queries.txt",
            qrels=folder / "qrels.txt",
            query_numbering="sequential",
        )
    ours, theirs = ir_datasets.load(record.dataset_id), ir_datasets.load("cranfield")

    def norm(text):
        return " ".join(text.split())

    mine = [(d.doc_id, norm(d.title), norm(d.text), norm(d.author)) for d in ours.docs_iter()]
    ref = [(d.doc_id, norm(d.title), norm(d.text), norm(d.author)) for d in theirs.docs_iter()]
    assert len(mine) == 1400 and mine == ref
    assert [(q.query_id, norm(q.text)) for q in ours.queries_iter()] == [
        (q.query_id, norm(q.text)) for q in theirs.queries_iter()
    ]
    assert list(ours.qrels_iter()) == list(theirs.qrels_iter())
    assert record.counts["n_qrels_unknown_doc"] == record.counts["n_qrels_unknown_query"] == 0
    assert record.counts["n_docs_without_text"] == 2  # two Cranfield entries have no .W


def test_training_file_texts_from_a_local_collection(tmp_path, irds_tmp_home):
    from locent.realdata.formats import read_training_file

    name = _name("cisi")
    dataset_id = register_local_collection(_classic(tmp_path / "c"), name).dataset_id
    run = tmp_path / "bm25.txt"
    run.write_text("1 Q0 1 1 3.0 bm25\n1 Q0 3 2 2.0 bm25\n2 Q0 2 1 1.5 bm25\n2 Q0 1 2 1.0 bm25\n")
    tf = read_training_file(run)
    with pytest.raises(ValueError, match="ids but no text in the file .*pass dataset_id="):
        tf.texts()
    queries, docs = tf.texts(dataset_id)
    assert queries[1] == "Library use How are technical libraries used?"
    assert docs[0, 1].startswith("Two Kinds of Power The relationships")
    assert docs.shape == (2, 2)
    run.write_text(run.read_text() + "3 Q0 99 1 1.0 bm25\n3 Q0 2 2 0.5 bm25\n")
    with pytest.raises(
        ValueError, match=r"1 doc ids are not in the .* corpus, first '99' \(query '3'\)"
    ):
        read_training_file(run).texts(dataset_id)
    run.write_text("7 Q0 1 1 1.0 bm25\n7 Q0 2 2 0.5 bm25\n")
    with pytest.raises(ValueError, match="1 query ids are not in .*, first '7'"):
        read_training_file(run).texts(dataset_id)
