"""Throughput (passages per second) of the teacher and the locality encoder on real passages.

Run: ``pytest benchmarks/bench_realdata_models.py --benchmark-only -p no:cacheprovider``.
Backs two claims in ``realdata/teachers.py`` and ``realdata/encoders.py``:

- SPLADE scoring restricted to the query's vocabulary support (``SpladeTeacher._score``) against
  full 30,522-dimensional vectors (``encode`` of query and passages, then a dot product);
- MiniLM's runtimes (``test_minilm_runtime``: fp32 in ONNX Runtime, fp32 in torch, bf16 autocast
  in torch) and its batching (``test_minilm_batching``: texts per batch, padded-token budget;
  ``ENCODE_BATCH``, ``ENCODE_TOKENS``), on the first ``N_ENCODE`` = 2,048 passages
  (``LOCENT_BENCH_PASSAGES``), one round each, max |Δe| against fp32 torch in ``extra_info``;
- the teacher running each distinct passage once per call (``test_splade_shared_passages_*``:
  8 queries × the same 64 passages scored in one call, against one call per query, which runs
  every passage 8 times); rate in pairs/s.

Inputs: the first ``N`` MS MARCO passages of the offline corpus and one query; passages/s =
N / (mean round time), in ``extra_info``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

N = 256
QUERY = "what is the effect of caffeine on sleep"


@pytest.fixture(scope="module")
def passages(tmp_path_factory):
    from locent.realdata import datasets

    if not os.environ.get("IR_DATASETS_HOME"):  # a writable copy of the offline home
        datasets.ensure_irds_home(tmp_path_factory.mktemp("bench"))
    _, texts = datasets.corpus(datasets.corpus_id(datasets.DL19))
    return list(texts[:N])


@pytest.fixture(scope="module")
def teacher():
    from locent.realdata.teachers import SpladeTeacher

    return SpladeTeacher(cache_dir=None)


def _rate(benchmark, fn, n=N, unit="passages_per_s"):
    benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info[unit] = round(n / benchmark.stats.stats.mean, 1)


def test_splade_support_restricted(benchmark, teacher, passages):
    _rate(benchmark, lambda: teacher._score([QUERY] * N, passages))


def test_splade_full_vocabulary(benchmark, teacher, passages):
    def full():
        q = teacher.encode([QUERY], 64)
        return [(q * teacher.encode(passages[i : i + 64])).sum(-1) for i in range(0, N, 64)]

    _rate(benchmark, full)


N_ENCODE = int(os.environ.get("LOCENT_BENCH_PASSAGES", "2048"))


@pytest.fixture(scope="module")
def encode_passages(passages):
    from locent.realdata import datasets

    _, texts = datasets.corpus(datasets.corpus_id(datasets.DL19))
    return list(texts[:N_ENCODE])


@pytest.fixture(scope="module")
def minilm():
    """One encoder per (backend, precision); the fp32 torch embeddings are the reference."""
    from locent.realdata.encoders import Encoder

    made, reference = {}, {}

    def get(backend, precision):
        if (backend, precision) not in made:
            made[backend, precision] = Encoder(precision=precision, backend=backend, device="cpu")
        return made[backend, precision]

    get.reference = reference
    return get


def _encode_rate(benchmark, encoder, texts, minilm, **kwargs):
    encoder.encode(texts[:64], **kwargs)  # warm-up (ONNX Runtime allocates on first run)
    emb = benchmark.pedantic(encoder.encode, args=(texts,), kwargs=kwargs, rounds=1, iterations=1)
    if "fp32" not in minilm.reference:
        minilm.reference["fp32"] = minilm("torch", "fp32").encode(texts)
    benchmark.extra_info.update(
        passages_per_s=round(len(texts) / benchmark.stats.stats.min, 1),
        max_abs_diff_vs_fp32_torch=float(np.abs(emb - minilm.reference["fp32"]).max()),
        threads=torch.get_num_threads(),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
    )


@pytest.mark.parametrize(
    "backend, precision", [("onnx", "fp32"), ("torch", "fp32"), ("torch", "bf16")]
)
def test_minilm_runtime(benchmark, encode_passages, minilm, backend, precision):
    if backend == "onnx":
        pytest.importorskip("onnxruntime")
    _encode_rate(benchmark, minilm(backend, precision), encode_passages, minilm)


@pytest.mark.parametrize(
    "batch_size, max_tokens", [(32, None), (16, None), (64, None), (64, 2048), (32, 2048)]
)
def test_minilm_batching(benchmark, encode_passages, minilm, batch_size, max_tokens):
    """fp32 in the default runtime: texts per batch and the padded-token budget."""
    from locent.realdata.encoders import resolve_backend

    encoder = minilm(resolve_backend("auto", "cpu", "fp32"), "fp32")
    _encode_rate(
        benchmark, encoder, encode_passages, minilm, batch_size=batch_size, max_tokens=max_tokens
    )


SHARED_QUERIES = [
    "what is the effect of caffeine on sleep",
    "how long to boil an egg",
    "symptoms of influenza",
    "capital of france",
    "what is a bond in finance",
    "how do vaccines work",
    "definition of photosynthesis",
    "cost of a kitchen remodel",
]


def _shared_pairs(passages):
    docs = passages[:64]
    return [q for q in SHARED_QUERIES for _ in docs], docs * len(SHARED_QUERIES)


def test_splade_shared_passages_one_call(benchmark, teacher, passages):
    q, d = _shared_pairs(passages)
    _rate(benchmark, lambda: teacher._score(q, d), n=len(d), unit="pairs_per_s")


def test_splade_shared_passages_call_per_query(benchmark, teacher, passages):
    q, d = _shared_pairs(passages)

    def per_query():
        return [teacher._score(q[i : i + 64], d[i : i + 64]) for i in range(0, len(d), 64)]

    _rate(benchmark, per_query, n=len(d), unit="pairs_per_s")
