"""Throughput (passages per second) of the teacher and the locality encoder on real passages.

Run: ``pytest benchmarks/bench_realdata_models.py --benchmark-only -p no:cacheprovider``.
Backs two claims in ``realdata/teachers.py`` and ``realdata/encoders.py``:

- SPLADE scoring restricted to the query's vocabulary support (``SpladeTeacher._score``) against
  full 30,522-dimensional vectors (``encode`` of query and passages, then a dot product);
- MiniLM under bf16 autocast against float32.

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


def _rate(benchmark, fn):
    benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["passages_per_s"] = round(N / benchmark.stats.stats.mean, 1)


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
