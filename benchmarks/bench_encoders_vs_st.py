"""locent's locality encoder and dense mining against what a user would run instead:
sentence-transformers on the same model files, same inputs, same machine, one run (issue 15
item 3).

Run: ``pip install -e ".[realdata,bench]"`` then
``pytest benchmarks/bench_encoders_vs_st.py --benchmark-only -p no:cacheprovider -s``.

- ``test_encode_vs_sentence_transformers``: ``load_encoder().encode`` (fp32; ONNX Runtime where
  installed) against ``SentenceTransformer(path).encode(normalize_embeddings=True)`` (fp32 torch)
  on the first ``N`` = 2,048 MS MARCO passages of the offline corpus; embeddings must agree to
  1e-5. Target ratio ≥ 1.5.
- ``test_dense_mining_vs_mine_hard_negatives``: the ``K`` = 10 hardest negatives of the DL19
  queries that have a highly relevant passage among those 2,048 (positive: that passage) — locent
  encodes queries and corpus and takes the faiss top-(K+1) (``indexes.dense_search``) minus the
  positive; sentence-transformers ``util.mine_hard_negatives(..., use_faiss=True,
  sampling_strategy="top", output_format="n-tuple")``. Both start from texts; the negatives must
  be the same (order may differ only where two scores tie to 1e-5). Target ratio ≥ 1.

Each side runs once after a 64-text warm-up (the machine this project runs on is shared, so the
numbers are seconds of one run, not a mean); ``extra_info`` holds passages/s, the ratio, the
largest difference and the CPU features (AVX2, AVX-512, AVX512-BF16, AMX) and thread count.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
N = int(os.environ.get("LOCENT_BENCH_PASSAGES", "2048"))
K = 10


def cpu_features() -> dict:
    """The CPU features that decide encoder speed, from /proc/cpuinfo, and torch's threads."""
    import torch

    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return {
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_tile": "amx_tile" in flags,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """``(doc_ids, texts)``: the first N MS MARCO passages, distinct texts only (sentence-
    transformers de-duplicates its corpus by text)."""
    from locent.realdata import datasets

    if not os.environ.get("IR_DATASETS_HOME"):
        datasets.ensure_irds_home(tmp_path_factory.mktemp("bench"))
    ids, texts = datasets.corpus(datasets.corpus_id(datasets.DL19))
    first = dict(zip(texts[:N], ids[:N], strict=True))  # text → id, first occurrence
    return list(first.values()), list(first)


@pytest.fixture(scope="module")
def st_model():
    st = pytest.importorskip("sentence_transformers", reason="pip install -e '.[bench]'")
    from locent.realdata.encoders import DEFAULT_ENCODER, resolve_model_path

    return st.SentenceTransformer(resolve_model_path(DEFAULT_ENCODER), device="cpu")


@pytest.fixture(scope="module")
def ours():
    from locent.realdata.encoders import load_encoder

    return load_encoder(precision="fp32")


def _once(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _report(benchmark, label, ours_s, theirs_s, n, **extra):
    ratio = theirs_s / ours_s
    benchmark.extra_info.update(
        passages=n,
        locent_s=round(ours_s, 2),
        sentence_transformers_s=round(theirs_s, 2),
        locent_passages_per_s=round(n / ours_s, 1),
        sentence_transformers_passages_per_s=round(n / theirs_s, 1),
        ratio=round(ratio, 2),
        cpu=cpu_features(),
        **extra,
    )
    print(
        f"\n{label}: locent {n / ours_s:.1f} passages/s, sentence-transformers "
        f"{n / theirs_s:.1f} passages/s, ratio {ratio:.2f}x on {cpu_features()} {extra}"
    )


def test_encode_vs_sentence_transformers(benchmark, corpus, ours, st_model):
    _, texts = corpus
    ours.encode(texts[:64])
    st_model.encode(texts[:64], batch_size=32)
    theirs, theirs_s = _once(
        lambda: st_model.encode(texts, batch_size=32, normalize_embeddings=True)
    )
    mine = benchmark.pedantic(ours.encode, args=(texts,), rounds=1, iterations=1)
    diff = float(np.abs(mine - theirs).max())
    _report(
        benchmark, "encode", benchmark.stats.stats.min, theirs_s, len(texts),
        max_abs_diff=diff, backend=ours.backend,
    )  # fmt: skip
    assert diff <= 1e-5


def _mining_input(corpus):
    """DL19 queries with a relevance ≥ 2 passage in the corpus; positive = the first such."""
    from locent.realdata import datasets

    ids, texts = corpus
    row = {d: i for i, d in enumerate(ids)}
    qrels = datasets.qrels(datasets.DL19)
    qrels = qrels[(qrels.relevance >= 2) & qrels.doc_id.isin(row)]
    qrels = qrels.sort_values(["query_id", "relevance", "doc_id"], ascending=[True, False, True])
    first = qrels.drop_duplicates("query_id")
    qtext = datasets.queries(datasets.DL19)
    return [qtext[q] for q in first.query_id], [row[d] for d in first.doc_id]


def test_dense_mining_vs_mine_hard_negatives(benchmark, corpus, ours, st_model):
    from datasets import Dataset
    from locent.realdata.indexes import dense_search
    from sentence_transformers.util import mine_hard_negatives

    _, texts = corpus
    queries, positives = _mining_input(corpus)

    def locent_mining():
        q_emb, doc_emb = ours.encode(queries), ours.encode(texts)
        rows, scores = dense_search(q_emb, doc_emb, K + 1)
        keep = rows != np.asarray(positives)[:, None]
        negatives = [r[k][:K] for r, k in zip(rows, keep, strict=True)]
        return np.array(negatives), np.array([s[k][:K] for s, k in zip(scores, keep, strict=True)])

    def st_mining():
        pairs = Dataset.from_dict({"query": queries, "positive": [texts[p] for p in positives]})
        return mine_hard_negatives(
            pairs, st_model, corpus=texts, num_negatives=K, sampling_strategy="top",
            output_format="n-tuple", use_faiss=True, batch_size=32, verbose=False,
        )  # fmt: skip

    ours.encode(texts[:64])
    st_model.encode(texts[:64], batch_size=32)
    mined, theirs_s = _once(st_mining)
    (rows, scores) = benchmark.pedantic(locent_mining, rounds=1, iterations=1)
    text_row = {t: i for i, t in enumerate(texts)}
    theirs = np.array(
        [[text_row[mined[i][f"negative_{j + 1}"]] for j in range(K)] for i in range(len(queries))]
    )
    # equal output: same negatives in the same order, except where two scores tie to 1e-5
    differ = rows != theirs
    near_tie = np.zeros_like(differ)
    near_tie[:, :-1] |= np.abs(np.diff(scores, axis=1)) <= 1e-5
    near_tie[:, 1:] |= np.abs(np.diff(scores, axis=1)) <= 1e-5
    _report(
        benchmark, "mining", benchmark.stats.stats.min, theirs_s, len(texts) + len(queries),
        queries=len(queries), negatives_per_query=K, differing_slots=int(differ.sum()),
    )  # fmt: skip
    assert not (differ & ~near_tie).any()
