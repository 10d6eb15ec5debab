"""Throughput of the theory estimators on 100,000 groups of 16 items (384-d embeddings).

Run: pytest benchmarks/bench_theory_estimators.py --benchmark-only -p no:cacheprovider

- essential_diameter vs the straightforward reference (a Python loop over groups with
  ``scipy.spatial.distance.pdist`` + ``numpy.quantile``, as the paper's code does). The reference
  is timed on a 5,000-group slice and scaled linearly to 100,000 groups (it is a per-group loop,
  so its cost is linear in the number of groups); the speed-up is in ``extra_info``.
- pairwise/listwise entropy, misordering and the losses: GB/s = bytes of input / time.

``LOCENT_BENCH_GROUPS`` overrides the 100,000 groups (e.g. for a quick run);
``LOCENT_BENCH_THREADS`` sets torch's intra-op threads (default: torch's own choice). On a machine
shared with other jobs one thread can be several times faster than two: OpenMP threads then wait
for each other on every small batched op.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch
from locent.theory import (
    LOSSES,
    essential_diameter,
    listwise_entropy,
    misordering_rate,
    pairwise_entropy,
)
from scipy.spatial.distance import pdist

N_GROUPS = int(os.environ.get("LOCENT_BENCH_GROUPS", "100000"))
K, DIM = 16, 384
REF_SLICE = min(5_000, N_GROUPS)
if os.environ.get("LOCENT_BENCH_THREADS"):
    torch.set_num_threads(int(os.environ["LOCENT_BENCH_THREADS"]))


@pytest.fixture(scope="module")
def embeddings() -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((N_GROUPS, 1, DIM), dtype=np.float32)
    out = rng.standard_normal((N_GROUPS, K, DIM), dtype=np.float32)
    out *= 0.5
    out += centres
    return out


@pytest.fixture(scope="module")
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    teacher = rng.standard_normal((N_GROUPS, K)) * 3
    student = teacher + rng.standard_normal((N_GROUPS, K))
    return student, teacher


def reference_diameter(emb: np.ndarray, alpha: float = 0.99) -> np.ndarray:
    """The straightforward per-group loop (float64, pdist, numpy.quantile)."""
    out = np.empty(len(emb))
    for g in range(len(emb)):
        u = emb[g].astype(np.float64)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        out[g] = np.quantile(pdist(u), alpha)
    return out


def test_essential_diameter_vs_pdist_loop(benchmark, embeddings):
    ref_slice = embeddings[:REF_SLICE]
    t0 = time.perf_counter()
    ref = reference_diameter(ref_slice)
    ref_seconds = (time.perf_counter() - t0) * N_GROUPS / REF_SLICE
    got = benchmark.pedantic(essential_diameter, args=(embeddings,), rounds=3, iterations=1)
    ours = benchmark.stats.stats.min
    max_err = float(np.max(np.abs(got[:REF_SLICE].astype(np.float64) - ref)))
    benchmark.extra_info.update(
        groups=N_GROUPS,
        input_bytes=int(embeddings.nbytes),
        gb_per_s=embeddings.nbytes / ours / 1e9,
        reference_seconds_scaled=ref_seconds,
        reference_timed_groups=REF_SLICE,
        speedup_vs_pdist_loop=ref_seconds / ours,
        max_abs_error_vs_reference=max_err,
        torch_threads=torch.get_num_threads(),
    )
    print(
        f"\nessential_diameter: {ours:.3f} s for {N_GROUPS} groups "
        f"({embeddings.nbytes / ours / 1e9:.2f} GB/s); pdist loop (scaled from {REF_SLICE}): "
        f"{ref_seconds:.2f} s; speed-up {ref_seconds / ours:.1f}x; max |err| {max_err:.2e}"
    )
    assert max_err < 1e-6


def test_essential_diameter_float32_gram(benchmark, embeddings):
    """The documented fast option: Gram matrix in float32 (accuracy ~1e-6 near d = 1)."""
    ref = reference_diameter(embeddings[:500])
    got = benchmark.pedantic(
        essential_diameter,
        args=(embeddings,),
        kwargs={"precision": "float32"},
        rounds=3,
        iterations=1,
    )
    ours = benchmark.stats.stats.min
    max_err = float(np.max(np.abs(got[:500].astype(np.float64) - ref)))
    benchmark.extra_info.update(
        gb_per_s=embeddings.nbytes / ours / 1e9, max_abs_error_vs_reference=max_err
    )
    print(
        f"\nessential_diameter(precision='float32'): {ours:.3f} s "
        f"({embeddings.nbytes / ours / 1e9:.2f} GB/s); max |err| {max_err:.2e}"
    )
    assert max_err < 2e-5


def _throughput(benchmark, fn, args, nbytes, label):
    benchmark.pedantic(fn, args=args, rounds=5, iterations=1, warmup_rounds=1)
    best = benchmark.stats.stats.min
    benchmark.extra_info.update(input_bytes=int(nbytes), gb_per_s=nbytes / best / 1e9)
    print(f"\n{label}: {best * 1e3:.1f} ms, {nbytes / best / 1e9:.3f} GB/s of input")


def test_pairwise_entropy_throughput(benchmark, scores):
    _, teacher = scores
    _throughput(benchmark, pairwise_entropy, (teacher,), teacher.nbytes, "pairwise_entropy")


def test_listwise_entropy_throughput(benchmark, scores):
    _, teacher = scores
    _throughput(benchmark, listwise_entropy, (teacher,), teacher.nbytes, "listwise_entropy")


def test_misordering_rate_throughput(benchmark, scores):
    student, teacher = scores
    _throughput(
        benchmark, misordering_rate, (student, teacher), student.nbytes * 2, "misordering_rate"
    )


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_loss_throughput(benchmark, scores, loss):
    student, teacher = scores
    spec = LOSSES[loss]
    _throughput(
        benchmark, lambda s, t: spec(s, t, tau=1.0), (student, teacher), student.nbytes * 2, loss
    )
