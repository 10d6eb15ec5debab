"""First-stage indexes: BM25 (bm25s) over any ir_datasets corpus, and exact dense search.

- :class:`BM25Index`: ``BM25Index.build(dataset_id, cache_dir)`` indexes the dataset's corpus with
  bm25s (Lucene BM25, k1 = 0.9, b = 0.4 as Anserini's MS MARCO defaults, English stopwords, Snowball
  stemmer from PyStemmer, a dependency of the ``realdata`` extra; without it the index is
  unstemmed and says so in its folder name) and saves it under
  ``<cache_dir>/bm25/<corpus>-<corpus-sha256[:16]>-<stem-english|nostem>/``; a second build loads
  it (an index never meets queries tokenised another way).
  ``.search(query_texts, k) -> (doc_ids (n, k) object, scores (n, k) float32)``.
- :func:`dense_search`: inner-product top-k of unit-norm embeddings (cosine) with faiss
  ``IndexFlatIP`` (exact), or torch top-k when faiss is absent or ``backend="torch"``; both give
  the same ids (ties aside) and scores.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from locent.realdata import datasets
from locent.realdata.encoders import slug

from locent.results import DEFAULT_OUT

BM25_PARAMS = {"k1": 0.9, "b": 0.4, "method": "lucene"}
DEFAULT_CACHE = f"{DEFAULT_OUT}/cache"


def _stemmer():
    try:
        import Stemmer  # PyStemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


def stemming() -> str:
    """``"stem-english"`` when PyStemmer is importable, else ``"nostem"`` (part of cache keys)."""
    return "nostem" if _stemmer() is None else "stem-english"


class BM25Index:
    """A bm25s index over a corpus of ``doc_ids`` (row order of the index)."""

    def __init__(self, retriever, doc_ids, corpus: str, corpus_sha256: str):
        self.retriever = retriever
        self.doc_ids = np.asarray(doc_ids, dtype=object)
        self.corpus = corpus
        self.corpus_sha256 = corpus_sha256
        self.stemmer = _stemmer()

    def __repr__(self) -> str:
        return f"BM25Index({self.corpus!r}, docs={len(self.doc_ids)}, {BM25_PARAMS}, {stemming()})"

    @classmethod
    def build(cls, dataset_id: str, cache_dir: str | os.PathLike = DEFAULT_CACHE) -> BM25Index:
        """Index the corpus of ``dataset_id`` (or load the cached index of the same corpus)."""
        import bm25s

        corpus = datasets.corpus_id(dataset_id)
        ids, texts = datasets.corpus(corpus)
        digest = datasets.corpus_hash(corpus)
        folder = Path(cache_dir) / "bm25" / f"{slug(corpus)}-{digest[:16]}-{stemming()}"
        stemmer = _stemmer()
        if (folder / "params.index.json").exists():
            retriever = bm25s.BM25.load(str(folder), show_progress=False)
        else:
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
            retriever = bm25s.BM25(**BM25_PARAMS)
            retriever.index(tokens, show_progress=False)
            tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
            retriever.save(str(tmp), show_progress=False)
            tmp.replace(folder) if not folder.exists() else None
        return cls(retriever, ids, corpus, digest)

    def search(self, query_texts, k: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` per query: ``doc_ids (n, k)`` object, ``scores (n, k)`` float32, best first.

        Slots beyond a query's matching docs (score 0, e.g. every slot of a query none of whose
        terms is indexed) are filled with the first corpus documents in index order that are not
        already listed: a fixed, documented tie-break. (bm25s would fill them from whatever a
        placeholder token retrieves, which changed between processes with Python's string-hash
        seed: the "BM25 top-200" of one dev/small query differed between two identical runs.)
        The number of queries with no indexed term is reported on stderr, never silently.
        """
        import bm25s

        query_texts = list(query_texts)
        if not query_texts:
            return np.empty((0, k), dtype=object), np.empty((0, k), dtype=np.float32)
        k = min(int(k), len(self.doc_ids))
        tokens = bm25s.tokenize(
            query_texts, stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )
        vocab = self.retriever.vocab_dict
        empty = np.array([not any(t in vocab for t in q) for q in tokens])
        tokens = [[t for t in q if t in vocab] or [next(iter(vocab))] for q in tokens]
        rows, scores = self._ranked(tokens, k)
        scores = np.where(empty[:, None], 0.0, scores).astype(np.float32)
        # only queries with zero-score slots (rare) are visited one by one
        for i in np.flatnonzero((scores <= 0).any(axis=1)):
            matched = rows[i][scores[i] > 0]
            first = np.arange(min(len(matched) + k, len(self.doc_ids)))
            fill = np.setdiff1d(first, matched)[: k - len(matched)]
            rows[i] = np.concatenate([matched, fill])
            scores[i, len(matched) :] = 0.0
        if empty.any():
            print(
                f"bm25 ({self.corpus}): {int(empty.sum())} of {len(empty)} queries match no "
                "indexed term; their candidates are the first corpus documents (score 0)",
                file=sys.stderr,
            )
        return self.doc_ids[rows], scores

    def _ranked(self, tokens: list, k: int) -> tuple[np.ndarray, np.ndarray]:
        """bm25s top-``k`` rows ``(n, k)`` int64 and scores float32, ties by index row, best first.

        BM25 scores tie exactly (documents with the same term statistics), and bm25s picks among
        equal scores at the cut by its selection routine, which numpy dispatches by CPU: with
        numpy, torch and numba restricted to AVX2 (``benchmarks/isa_avx2.sh``) the BM25 top-200
        of 280 of 400 MS MARCO training queries held other documents than with AVX-512 code,
        and every sampler built on that pool changed with it. So each query is retrieved deep
        enough that its k-th score's tie group is complete (the last score retrieved is below
        it; a tie at score 0 is left to the caller's fill), deeper for the few that are not,
        then ordered by (score descending, row ascending): the same top-k on every CPU.
        """
        n_docs = len(self.doc_ids)
        rows_out = np.empty((len(tokens), k), dtype=np.int64)
        scores_out = np.empty((len(tokens), k), dtype=np.float32)
        pending = np.arange(len(tokens))
        depth = min(n_docs, k + max(16, k // 4))
        while pending.size:
            rows, scores = self.retriever.retrieve(
                [tokens[i] for i in pending], k=depth, show_progress=False, n_threads=1
            )
            rows, scores = np.asarray(rows, dtype=np.int64), np.asarray(scores, dtype=np.float32)
            cut = np.sort(scores, axis=1)[:, ::-1][:, k - 1]  # the k-th best score
            complete = (scores.min(axis=1) < cut) | (cut <= 0) | (depth == n_docs)
            by_row = np.argsort(rows, axis=1)  # rows are distinct: then stable by score
            rows = np.take_along_axis(rows, by_row, axis=1)
            scores = np.take_along_axis(scores, by_row, axis=1)
            best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            done = pending[complete]
            rows_out[done] = np.take_along_axis(rows, best, axis=1)[complete]
            scores_out[done] = np.take_along_axis(scores, best, axis=1)[complete]
            pending = pending[~complete]
            depth = min(n_docs, 2 * depth)
        return rows_out, scores_out


def bm25_candidates(dataset_id: str, depth: int = 100, out=None, query_ids=None):
    """DataFrame ``(query_id, doc_id, score)``: bm25s top-``depth`` of the dataset's queries."""
    import pandas as pd

    cache = Path(out) / "cache" if out is not None else Path(DEFAULT_CACHE)
    queries = datasets.queries(dataset_id)
    qids = list(queries) if query_ids is None else [str(q) for q in query_ids]
    unknown = [q for q in qids if q not in queries]
    if unknown:
        raise ValueError(f"{dataset_id!r}: unknown query id {unknown[0]!r}")
    index = BM25Index.build(dataset_id, cache)
    ids, scores = index.search([queries[q] for q in qids], depth)
    return pd.DataFrame(
        {
            "query_id": np.repeat(np.asarray(qids, dtype=object), ids.shape[1]),
            "doc_id": ids.reshape(-1),
            "score": scores.reshape(-1).astype(np.float64),
        }
    )


def dense_search(
    query_emb: np.ndarray, doc_emb: np.ndarray, k: int, backend: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-``k``: ``(rows (n, k) int64, scores (n, k) float32)``, best first.

    ``query_emb (n, D)`` and ``doc_emb (N, D)`` float32 (unit norm → cosine). ``backend``:
    ``faiss`` (IndexFlatIP, GPU index when faiss-gpu and CUDA are present), ``torch`` (exact
    ``torch.topk`` of the score matrix, in chunks of queries), or ``auto`` (faiss if importable).
    """
    query_emb = np.ascontiguousarray(query_emb, dtype=np.float32)
    doc_emb = np.ascontiguousarray(doc_emb, dtype=np.float32)
    if query_emb.ndim != 2 or doc_emb.ndim != 2 or query_emb.shape[1] != doc_emb.shape[1]:
        raise ValueError(
            "query_emb (n, D) and doc_emb (N, D) must share D; "
            f"got {query_emb.shape}, {doc_emb.shape}"
        )
    k = min(int(k), doc_emb.shape[0])
    if backend not in ("auto", "faiss", "torch"):
        raise ValueError(f"backend must be auto, faiss or torch; got {backend!r}")
    if backend in ("auto", "faiss"):
        try:
            import faiss
        except ImportError:
            if backend == "faiss":
                raise
        else:
            index = faiss.IndexFlatIP(doc_emb.shape[1])
            if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
                index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
            index.add(doc_emb)
            scores, rows = index.search(query_emb, k)
            return rows.astype(np.int64), scores
    import torch

    docs = torch.from_numpy(doc_emb)
    rows, scores = [], []
    for start in range(0, len(query_emb), 256):
        sims = torch.from_numpy(query_emb[start : start + 256]) @ docs.T
        top = torch.topk(sims, k, dim=1, largest=True, sorted=True)
        rows.append(top.indices.numpy())
        scores.append(top.values.numpy())
    if not rows:
        return np.empty((0, k), np.int64), np.empty((0, k), np.float32)
    return np.concatenate(rows).astype(np.int64), np.concatenate(scores)
