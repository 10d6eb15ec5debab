"""Throughput (passages per second) of the teacher and the locality encoder on real passages.

Run: ``pytest benchmarks/bench_realdata_models.py --benchmark-only -p no:cacheprovider``.
Backs two claims in ``realdata/teachers.py`` and ``realdata/encoders.py``:

- SPLADE scoring restricted to the query's vocabulary support (``SpladeTeacher._score``) against
  full 30,522-dimensional vectors (``encode`` of query and passages, then a dot product);
- MiniLM under bf16 autocast against float32, and its batch size (``ENCODE_BATCH``);
- the teacher running each distinct passage once per call (``test_splade_shared_passages_*``:
  8 queries × the same 64 passages scored in one call, against one call per query, which runs
  every passage 8 times); rate in pairs/s.

Inputs: the first ``N`` MS MARCO passages of the offline corpus and one query; passages/s =
N / (mean round time), in ``extra_info``.
"""

from __future__ import annotations

import os

import pytest

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


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_minilm(benchmark, passages, precision):
    from locent.realdata.encoders import load_encoder

    encoder = load_encoder(precision=precision)
    _rate(benchmark, lambda: encoder.encode(passages))


@pytest.mark.parametrize("batch_size", [32, 48, 64])
def test_minilm_batch_size(benchmark, passages, batch_size):
    from locent.realdata.encoders import load_encoder

    encoder = load_encoder(precision="bf16")
    _rate(benchmark, lambda: encoder.encode(passages, batch_size=batch_size))


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
