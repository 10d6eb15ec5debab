"""The locality and entropy knobs on a synthetic corpus: Δ̂_Q monotone in the locality knob, H
moved ≥ 2× by the entropy knob at identical groups, ν_q a distribution, κ finite where covered,
clear errors for bad knob values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.realdata.knobs.build import fitting_levels, parse_knobs
from locent.realdata.knobs.entropy import parse_variant, variant_scores
from locent.realdata.knobs.locality import (
    KnobCorpus,
    check_level,
    knob_candidate_pools,
    knob_pool,
    sample_knob_groups,
)
from locent.realdata.measure import kappa_coverage
from locent.realdata.samplers import is_sampler, knob_sampler_name, parse_knob_sampler
from locent.realdata.universe import pool_frame
from locent.theory import aggregate_diameter, essential_diameter, pairwise_entropy

K = 8


def _corpus(n=24, N=1500, seed=0, labels=True):
    """Queries and items uniform on the 2-sphere (a cap of d items grows smoothly with d); the
    'BM25' rank is the cosine rank perturbed by noise (a noisier notion of nearness)."""
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(N, 3))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    q = rng.normal(size=(n, 3))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    cosine = q @ emb.T
    noisy = cosine + 0.05 * rng.normal(size=cosine.shape)
    bm25_rank = np.argsort(np.argsort(-noisy, axis=1), axis=1)
    corpus_ids = np.array([f"d{j}" for j in range(N)], dtype=object)
    excluded = np.zeros((n, N), dtype=bool)
    positive = None
    if labels:  # positive = nearest item, one more judged item = 3rd nearest
        order = np.argsort(-cosine, axis=1)
        excluded[np.arange(n), order[:, 0]] = True
        excluded[np.arange(n), order[:, 2]] = True
        positive = corpus_ids[order[:, 0]]
    kc = KnobCorpus(np.array([f"q{i}" for i in range(n)], object), corpus_ids, cosine,
                    bm25_rank, excluded, positive)  # fmt: skip
    return kc, emb


def _diameter_Q(kc, emb, name, seed=0):
    sg = sample_knob_groups(kc, name, K, seed)
    rows = np.vectorize(lambda d: int(d[1:]))(sg.doc_ids)
    per_query = essential_diameter(emb[rows], alpha=0.99)
    return float(aggregate_diameter(per_query, alpha=0.99)), sg


@pytest.mark.parametrize(
    ("family", "values"),
    [
        ("dense", (8, 16, 32, 64, 128, 256, 512, 1024)),
        ("bm25", (8, 16, 32, 64, 128, 256, 512, 1024)),
        ("ball", (0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0)),
    ],
)
def test_locality_knob_moves_diameter_monotonically(family, values):
    kc, emb = _corpus()
    diam = [_diameter_Q(kc, emb, knob_sampler_name(family, v))[0] for v in values]
    assert all(b > a for a, b in zip(diam, diam[1:], strict=False)), (family, diam)
    assert diam[-1] - diam[0] > 0.5  # a real range, not a flat line


def test_knob_groups_exclude_labels_and_record_uniform_nu():
    kc, _ = _corpus()
    for name in ("dense@16", "bm25@64", "ball@0.5"):
        sg = sample_knob_groups(kc, name, K, seed=3)
        pool = knob_pool(kc, name, K)
        assert (sg.doc_ids[:, 0] == kc.positive).all()
        for i, row in enumerate(sg.doc_ids):
            judged = set(kc.corpus_ids[kc.excluded[i]])
            assert not set(row[1:]) & judged and len(set(row)) == K
            assert set(row[1:]) <= set(sg.pool_ids[i])
            np.testing.assert_allclose(sg.inclusion_probs[i, 1:], 1.0 / pool[i].sum())
        assert (sg.n_padded == 0).all()
        frame = pool_frame(kc.query_ids, sg.pool_ids, sg.corpus_size)
        np.testing.assert_allclose(frame["probs"].map(sum), 1.0)  # ν_q is a distribution
    # dense@d: exactly the d nearest non-judged items
    pool = knob_pool(kc, "dense@16", K)
    assert (pool.sum(axis=1) == 16).all()
    nearest = np.argsort(-np.where(kc.excluded, -np.inf, kc.cosine), axis=1)[:, :16]
    assert np.take_along_axis(pool, nearest, axis=1).all()


def test_ball_is_the_radius_ball_with_a_floor_of_k_minus_1():
    kc, _ = _corpus(labels=False)
    dist = np.sqrt(np.clip(2 - 2 * kc.cosine, 0, None))
    pool = knob_pool(kc, "ball@0.6", K)
    big = pool.sum(axis=1) > K - 1
    np.testing.assert_array_equal(pool[big], (dist <= 0.6)[big])
    tiny = knob_pool(kc, "ball@0.01", K)  # almost empty ball: the k − 1 nearest
    assert (tiny.sum(axis=1) == K - 1).all()
    assert knob_pool(kc, "ball@2", K).all()  # the whole corpus: the random sampler


def test_same_seed_same_groups_and_levels_draw_independently():
    kc, _ = _corpus()
    a = sample_knob_groups(kc, "dense@64", K, seed=1).doc_ids
    assert (a == sample_knob_groups(kc, "dense@64", K, seed=1).doc_ids).all()
    assert not (a == sample_knob_groups(kc, "dense@64", K, seed=2).doc_ids).all()


def test_kappa_finite_where_target_covered_and_infinite_where_not():
    kc, _ = _corpus(n=5, labels=False)
    pools = knob_candidate_pools(kc, "dense@32", K)
    frame = pool_frame(kc.query_ids, pools, kc.N)
    top10 = [list(kc.corpus_ids[np.argsort(-c)[:10]]) for c in kc.cosine]
    target = pd.DataFrame({"query_id": kc.query_ids, "doc_ids": top10})
    kappa, coverage = kappa_coverage(target, frame)
    np.testing.assert_allclose(kappa, 32 / 10)  # μ = 1/10 on 10 items, ν = 1/32 on them
    np.testing.assert_allclose(coverage, 1.0)
    far = [list(kc.corpus_ids[np.argsort(c)[:10]]) for c in kc.cosine]  # the farthest items
    kappa, coverage = kappa_coverage(pd.DataFrame({"query_id": kc.query_ids, "doc_ids": far}),
                                     frame)  # fmt: skip
    assert np.isinf(kappa).all() and (coverage == 0).all()


def test_entropy_knob_moves_H_twofold_on_identical_groups():
    kc, emb = _corpus()
    diam, sg = _diameter_Q(kc, emb, "dense@128")
    rows = np.vectorize(lambda d: int(d[1:]))(sg.doc_ids)
    cos = np.take_along_axis(kc.cosine, rows, axis=1)
    teacher = 20.0 * cos + np.random.default_rng(0).normal(scale=1.0, size=cos.shape)
    H = {v: float(np.mean(pairwise_entropy(variant_scores(v, teacher, cos, None), tau=1.0)))
         for v in ("tau=0.5", "teacher", "tau=4", "mix-cosine=0.9")}  # fmt: skip
    assert H["tau=4"] >= 2 * H["tau=0.5"]  # the knob's range at this teacher: 0.27 → 0.66 nats
    assert H["tau=0.5"] < H["teacher"] < H["tau=4"]
    assert H["mix-cosine=0.9"] > H["teacher"]  # the flat cosine makes the teacher less sharp
    # the groups themselves (hence Δ̂_Q and κ) are those of the base sampler, untouched
    assert _diameter_Q(kc, emb, "dense@128")[0] == diam
    np.testing.assert_allclose(variant_scores("teacher", teacher), teacher)
    a = variant_scores("noise=1", teacher, seed=4)
    np.testing.assert_array_equal(a, variant_scores("noise=1", teacher, seed=4))
    assert not np.allclose(a, teacher)


def test_variant_names_and_taus():
    assert parse_variant("tau=2").tau == 2.0 and parse_variant("tau=2").name == "tau=2"
    assert parse_variant("mix-bm25=0.5").tau == 1.0
    assert parse_variant("teacher").knob_name == "teacher_tau"
    with pytest.raises(ValueError, match="needs the bm25 scores"):
        variant_scores("mix-bm25=0.5", np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("dense@abc", "not a number"),
        ("dense@0", "positive integer"),
        ("bm25@12.5", "positive integer"),
        ("ball@0", r"radius must be in \(0, 2\]"),
        ("ball@2.5", r"radius must be in \(0, 2\]"),
        ("cube@3", "expected family@value"),
        ("dense64", "expected family@value"),
    ],
)
def test_bad_knob_sampler_names(name, match):
    with pytest.raises(ValueError, match=match):
        parse_knob_sampler(name)
    assert not is_sampler(name)


def test_bad_levels_for_k_and_corpus():
    with pytest.raises(ValueError, match="depth 4 < k − 1 = 7"):
        check_level("dense@4", K, 100)
    with pytest.raises(ValueError, match="whole corpus is the 'random' sampler"):
        check_level("bm25@100", K, 100)
    kept, skipped = fitting_levels(("dense@16", "dense@1024", "ball@0.9"), K, 1000)
    assert kept == ["dense@16", "ball@0.9"] and skipped == ["dense@1024"]
    with pytest.raises(ValueError, match="expected family@value"):
        fitting_levels(("dens@16",), K, 1000)
    assert is_sampler("dense@64") and is_sampler("random")


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("tau=0", "temperature"),
        ("tau=-1", "temperature"),
        ("noise=-0.1", "noise"),
        ("mix-cosine=1.5", r"weight λ in \[0, 1\]"),
        ("temp=2", "expected 'teacher' or family=value"),
        ("tau=x", "not a number"),
    ],
)
def test_bad_teacher_variants(name, match):
    with pytest.raises(ValueError, match=match):
        parse_variant(name)


def test_knobs_option_parsing(capsys):
    import argparse

    from locent.realdata import cli

    assert parse_knobs("entropy,locality") == ("locality", "entropy")
    assert parse_knobs("none") == () and parse_knobs("") == ()
    with pytest.raises(ValueError, match="unknown knob 'size'"):
        parse_knobs("locality,size")
    parser = argparse.ArgumentParser(prog="locent")
    cli.register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["realdata", "measure", "--knobs", "none"]).knobs == ()
    with pytest.raises(SystemExit):
        parser.parse_args(["realdata", "prepare", "--knobs", "size"])
    assert "unknown knob 'size'" in capsys.readouterr().err
