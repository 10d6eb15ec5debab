"""A teacher file that scores only part of the BM25 top-u universe (issue 14, item 4).

prepare restricts each query's universe to the docs the file scores (BM25 order and ranks kept),
records the restriction (summary, groups' provenance, one stderr line), and finds every coverage
problem before anything is encoded: a query the file does not score at all, a training query
with fewer than k scored docs, a sampler pool too small to fill a group without padding from the
corpus. A file that scores the whole top-u changes nothing.

The fixture: the tiny classic collection of ``test_local_collection_pipeline`` (36 docs over four
topics, 10 queries; BM25 puts a query's 9 topic docs first). 8 training queries
``1, 10, 2, 3, 4, 6, 8, 9`` (seed 0), u = 20, so 160 BM25 (query, doc) pairs.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from test_local_collection_pipeline import _classic

#: the training queries of the fixture (select_queries, 8 of 10, seed 0), in order
QIDS = ["1", "10", "2", "3", "4", "6", "8", "9"]
#: docs of the partial file per query: the BM25 top-10, -12, -14, -10, ... of the top-20
COVERED = [10, 12, 14, 10, 12, 14, 10, 12]
#: the samplers with a listed pool
SAMPLERS_LISTED = ("bm25", "teacher", "dense", "ensemble")
#: query whose qrels positive (doc 11, BM25 rank 4) the partial file leaves out
DROPPED_POSITIVE = ("3", "11")


def _cfg(**kw):
    from locent.realdata.samplers import SamplerConfig

    base = dict(k=4, depth=10, universe=20, rerank_depth=10, dense_depth=10, dense_source="bm25")
    return SamplerConfig(**{**base, **kw})


def _g(q: str, d: str) -> float:
    """The fixture teacher: topic match + a small id jitter (as test_teacher_file_pipeline)."""
    q, d = int(q), int(d)
    return float(d % 4 == q % 4) + 0.01 * ((d * 7 + q) % 13)


def _write_run(path, docs: dict) -> str:
    """A TREC run scoring ``docs[q]`` (a list of doc ids) for each query."""
    lines = []
    for q, ds in docs.items():
        ranked = sorted(ds, key=lambda d: -_g(q, d))
        lines += [f"{q} Q0 {d} {r} {_g(q, d):.4f} teach\n" for r, d in enumerate(ranked, 1)]
    path.write_text("".join(lines))
    return str(path)


@pytest.fixture
def tiny(irds, tmp_path):
    """``(plan, BM25 top-20 of QIDS as a dict, out folder)`` of a fresh tiny collection."""
    from locent.realdata.prepare import custom_plan
    from locent.realdata.universe import Resources, select_queries

    name = f"tiny-{uuid.uuid4().hex[:6]}"
    plan = custom_plan(f"local/{name}", collections=[_classic(tmp_path / name)])
    assert select_queries(plan.train, 8, 0) == QIDS
    out = tmp_path / "out"
    qtext = irds.queries(plan.train)
    ids, _ = Resources(out).index(plan.train).search([qtext[q] for q in QIDS], 20)
    top = {q: list(row) for q, row in zip(QIDS, ids, strict=True)}
    assert all(len(r) == 20 and "" not in r for r in top.values())
    return plan, top, out


def _prepare(plan, out, run, samplers=("bm25", "teacher", "dense"), knobs=(), **cfg):
    from locent.realdata.prepare import prepare

    return prepare(
        out, plans=(plan,), samplers=samplers, cfg=_cfg(**cfg), n_queries=8, n_test_queries=2,
        teacher=run, n_run_queries=0, knobs=knobs,
    )[plan.name]  # fmt: skip


def _partial(top) -> dict:
    docs = {q: top[q][:m] for q, m in zip(QIDS, COVERED, strict=True)}
    q, d = DROPPED_POSITIVE
    docs[q] = [x for x in docs[q] if x != d]
    return docs


@pytest.mark.slow
def test_partial_run_restricts_the_universe_and_reports_it(tiny, tmp_path, capsys):
    import pandas as pd
    from locent.realdata.formats import read_teacher_file
    from locent.realdata.store import read_groups

    plan, top, out = tiny
    docs = _partial(top)
    run = _write_run(tmp_path / "partial.txt", docs)
    summary = _prepare(plan, out, run, knobs=("locality",))
    err = capsys.readouterr().err
    sizes = [len(docs[q]) for q in QIDS]
    assert sizes == [10, 12, 14, 9, 12, 14, 10, 12]
    expected = {
        "teacher_file": run,
        "universe": 20,
        "queries": 8,
        "queries_restricted": 8,
        "pairs": 160,
        "pairs_uncovered": 160 - 93,
        "universe_min": 9,
        "universe_median": 12.0,
        "universe_max": 14,
        "qrels_positives_unscored": 1,
    }
    assert summary["teacher_coverage"]["train"] == expected
    test_cov = summary["teacher_coverage"]["tests"][plan.train]  # test queries "1", "10"
    assert (test_cov["queries"], test_cov["pairs"], test_cov["pairs_uncovered"]) == (2, 40, 18)
    assert "universe restricted to the 93 of 160 BM25 top-20 pairs" in err
    assert "on 8 of 8 queries (per query 9–14 docs, median 12)" in err
    assert "1 qrels positives unscored, replaced by the teacher's top covered item" in err
    # knobs draw from the whole corpus: skipped, with the reason, nothing written
    assert "teacher file" in summary["knobs"]["skipped"] and "knobs skipped" in err
    assert summary["knobs"]["written"] == []
    table = read_teacher_file(run)
    folder = plan.groups_dir(out)
    for sampler in ("bm25", "teacher", "dense"):
        groups = read_groups(folder / f"{sampler}.parquet")
        assert groups.provenance["teacher_coverage"] == expected
        assert list(groups.query_ids) == QIDS and (groups.n_padded == 0).all()
        for q, row, scores in zip(QIDS, groups.doc_ids, groups.teacher_scores, strict=True):
            assert set(row) <= set(docs[q]), (sampler, q)  # every group doc is covered
            np.testing.assert_array_equal(scores, [table.scores[q][d] for d in row])
        source = dict(zip(QIDS, groups.positive_source, strict=True))
        assert source["3"] == "teacher_top" and groups.doc_ids[QIDS.index("3"), 0] != "11"
        assert sum(s == "qrels" for s in source.values()) == 7
        pool = pd.read_parquet(folder / f"{sampler}.pool.parquet")
        for q, ids in zip(pool["query_id"], pool["doc_ids"], strict=True):
            assert set(ids) <= set(docs[q])
    # the bm25 pool is "BM25 rank < depth" less what the file leaves out
    pool = pd.read_parquet(folder / "bm25.pool.parquet").set_index("query_id")["doc_ids"]
    assert "11" not in pool["3"] and "35" in pool["3"]  # 35: BM25 rank 2 for query 3
    assert "31" not in pool["3"]  # query 3's positive now: the teacher's top covered item
    assert read_groups(folder / "bm25.parquet").doc_ids[QIDS.index("3"), 0] == "31"
    # μ_q (the test-time target) stays the whole BM25 top-100 (here all 20), file or not
    tdir = folder / "pools" / plan.train.replace("/", "_")
    target = pd.read_parquet(tdir / "target.parquet").set_index("query_id")["doc_ids"]
    assert list(target["1"]) == top["1"] and list(target["10"]) == top["10"]
    test_pool = pd.read_parquet(tdir / "teacher.pool.parquet").set_index("query_id")["doc_ids"]
    assert set(test_pool["1"]) <= set(docs["1"])


@pytest.mark.slow
def test_full_coverage_file_leaves_the_groups_unchanged(tiny, tmp_path, capsys):
    """A file scoring the whole BM25 top-u: no restriction, and groups equal, number for number,
    to those of the universe built without any cover (the path taken before this change)."""
    from locent.realdata.formats import read_teacher_file
    from locent.realdata.samplers import sample_groups
    from locent.realdata.store import read_groups
    from locent.realdata.universe import Resources, build_universe, scored_groups

    plan, top, out = tiny
    run = _write_run(tmp_path / "full.run", top)
    summary = _prepare(plan, out, run)
    cov = summary["teacher_coverage"]["train"]
    assert (cov["queries_restricted"], cov["pairs"], cov["pairs_uncovered"]) == (0, 160, 0)
    assert (cov["universe_min"], cov["universe_median"], cov["universe_max"]) == (20, 20.0, 20)
    assert cov["qrels_positives_unscored"] == 0
    assert "restricted" not in capsys.readouterr().err
    res = Resources(out)
    res._teacher = read_teacher_file(run)
    uni = build_universe(plan.train, QIDS, _cfg(), res, labels=True, cover=None)
    for sampler in ("bm25", "teacher", "dense"):
        sg = sample_groups(uni, sampler, _cfg())
        before = scored_groups(plan.train, sampler, uni, sg, res)
        now = read_groups(plan.groups_dir(out) / f"{sampler}.parquet")
        np.testing.assert_array_equal(now.doc_ids, before.doc_ids)
        np.testing.assert_array_equal(now.teacher_scores, before.teacher_scores)
        np.testing.assert_array_equal(now.inclusion_probs, before.inclusion_probs)
        np.testing.assert_array_equal(now.positive_source, before.positive_source)
        np.testing.assert_array_equal(now.n_excluded, before.n_excluded)


def _checked(plan, out, docs, tmp_path, samplers=("bm25",), role="training", **cfg):
    """check_teacher_covers on the training queries with a run scoring ``docs`` (no encoding)."""
    from locent.realdata.formats import read_teacher_file
    from locent.realdata.teacher_cover import check_teacher_covers
    from locent.realdata.universe import Resources

    res = Resources(out)
    res._teacher = read_teacher_file(_write_run(tmp_path / f"t{uuid.uuid4().hex[:4]}.txt", docs))
    cover = check_teacher_covers(res, plan.train, QIDS, _cfg(**cfg), samplers, role=role)
    assert res._encoder is None  # nothing was encoded
    return cover


def test_query_with_fewer_than_k_covered_docs_is_named(tiny, tmp_path):
    plan, top, out = tiny
    docs = {q: top[q][:10] for q in QIDS}
    # query 4 judges docs 4, 8 and 12 (its topic among the first 12): two of them and one
    # negative from its BM25 top-20, whatever BM25's order among the topic's tied documents
    judged = [d for d in top["4"] if d in {"4", "8", "12"}][:2]
    docs["4"] = judged + [d for d in top["4"] if d not in {"4", "8", "12"}][:1]
    with pytest.raises(
        ValueError, match=r"scores fewer than k=4 candidates of 1 of 8 queries"
    ) as e:
        _checked(plan, out, docs, tmp_path)
    assert "first '4' (3)" in str(e.value) and "smaller --k" in str(e.value)
    assert "(training queries, BM25 top-20 universe)" in str(e.value)
    # k=3 fits the count, but two of its 3 are judged: one negative, a pool too short
    with pytest.raises(ValueError, match=r"sampler 'bm25' has fewer than k-1=2 .* first '4' \(1\)"):
        _checked(plan, out, docs, tmp_path, k=3)
    assert _checked(plan, out, docs, tmp_path, k=2).n_covered.tolist() == [10] * 4 + [3] + [10] * 3


def test_query_with_no_covered_doc_is_named(tiny, tmp_path):
    plan, top, out = tiny
    docs = {q: top[q][:10] for q in QIDS if q != "8"}  # query 8 absent from the file
    docs["9"] = ["35", "36"]  # query 9 scored only outside its BM25 top-20
    assert not set(docs["9"]) & set(top["9"])
    for role in ("training", "test"):
        with pytest.raises(ValueError, match=r"scores none of the candidates of 2 of 8") as e:
            _checked(plan, out, docs, tmp_path, role=role)
        assert "(1 of them absent from the file), first '8', '9'" in str(e.value)
        assert f"({role} queries," in str(e.value)


def test_short_pool_is_refused_before_encoding(tiny, tmp_path):
    """The ensemble pool drops the items within the margin of the positive: here every topic doc
    (g ≥ 1), leaving 1 negative per query (a lower bound 1 or 2 for the queries with more than
    dense_depth=10 covered docs); a group of k=4 needs 3, and padding would draw unscored docs."""
    plan, top, out = tiny
    docs = _partial(top)
    with pytest.raises(ValueError, match=r"sampler 'ensemble' has fewer than k-1=3 negatives") as e:
        _checked(plan, out, docs, tmp_path, samplers=("bm25", "ensemble"))
    assert "for 8 of 8 queries, first '1' (1)" in str(e.value)
    assert "(a lower bound before encoding)" in str(e.value)
    cover = _checked(plan, out, docs, tmp_path, samplers=("bm25", "teacher", "dense"))
    assert cover.unscored_positives == {"3"} and cover.restricted.all()
    # the same short pools with a file that scores the whole corpus: padding is scored, no error
    whole = {q: [str(d) for d in range(1, 37)] for q in QIDS}
    full = _checked(plan, out, whole, tmp_path, samplers=("ensemble",), k=15)
    assert not full.restricted.any()
    top20 = {q: top[q] for q in QIDS}
    with pytest.raises(ValueError, match=r"sampler 'ensemble' has fewer than k-1=14"):
        _checked(plan, out, top20, tmp_path, samplers=("ensemble",), k=15)


def test_restricted_universe_keeps_bm25_order_and_ranks():
    from locent.realdata.samplers import NOT_BM25
    from locent.realdata.teacher_cover import TeacherCover

    ids = np.array([["a", "b", "c", "d"], ["e", "f", "g", ""]], dtype=object)
    covered = np.array([[False, True, False, True], [True, True, True, False]])
    cover = TeacherCover("x", ["q1", "q2"], ids, covered, 4, "t.run")
    got, rank = cover.universe_ids()
    np.testing.assert_array_equal(got, [["b", "d", ""], ["e", "f", "g"]])
    np.testing.assert_array_equal(rank, [[1, 3, NOT_BM25], [0, 1, 2]])
    s = cover.summary()
    assert (s["pairs"], s["pairs_uncovered"], s["queries_restricted"]) == (7, 2, 1)
    assert (s["universe_min"], s["universe_median"], s["universe_max"]) == (2, 2.5, 3)
    full = TeacherCover("x", ["q1", "q2"], ids, ids != "", 4, "t.run")
    same, rank = full.universe_ids()
    assert same is ids and full.line() is None
    np.testing.assert_array_equal(rank, [[0, 1, 2, 3]] * 2)


@pytest.mark.parametrize(
    "kw",
    [
        dict(depth=10, rerank_depth=5, dense_depth=40, margin=0.5),
        dict(depth=40, rerank_depth=40, dense_depth=40, margin=0.0),
        dict(depth=7, rerank_depth=12, dense_depth=9, margin=1.0),
        dict(depth=25, rerank_depth=3, dense_depth=20, margin=0.2),
    ],
)
def test_pool_bounds_match_the_samplers_pools(toy_universe, kw):
    """pool_lower_bounds, computed before encoding, against samplers.pool_masks on a universe:
    exact for bm25 and teacher, and for dense/ensemble when the universe has ≤ dense_depth
    items; never above the real pool size."""
    from locent.realdata.samplers import SamplerConfig, pool_masks
    from locent.realdata.teacher_cover import pool_lower_bounds

    uni = toy_universe
    cfg = SamplerConfig(k=4, universe=40, dense_source="bm25", **kw)
    sizes = {s: pool_masks(uni, s, cfg)[0].sum(axis=1) for s in SAMPLERS_LISTED}
    for i in range(uni.n):
        g = list(uni.teacher[i])
        labels = set(uni.excluded[i]) | {uni.positive[i]}
        b = pool_lower_bounds(
            uni.bm25_rank[i], g, labels, list(uni.doc_ids[i]), cfg, uni.positive_score[i]
        )
        assert b["bm25"] == sizes["bm25"][i] and b["teacher"] == sizes["teacher"][i]
        for s in ("dense", "ensemble"):
            assert b[s] <= sizes[s][i]
            if uni.doc_ids.shape[1] <= cfg.dense_depth:
                assert b[s] == sizes[s][i]


def test_knob_samplers_are_refused_with_a_teacher_file(tmp_path):
    from locent.realdata.prepare import teacher_file

    run = tmp_path / "reranked.txt"
    run.write_text("1 Q0 5 1 2.0 x\n1 Q0 7 2 1.0 x\n")
    with pytest.raises(ValueError, match=r"sampler 'dense@16' is a knob sampler: it draws"):
        teacher_file(run, ("bm25", "dense@16"), _cfg())
    with pytest.raises(ValueError, match=r"sampler 'random' draws negatives from the whole"):
        teacher_file(run, ("random", "teacher"), _cfg())


def test_knobs_are_skipped_with_a_teacher_file(tmp_path, capsys):
    """prepare_knobs returns before touching the resources (none given here)."""
    from locent.realdata.knobs.build import prepare_knobs
    from locent.realdata.prepare import Plan

    plan = Plan("p", "x", ("x",), "p")
    common = {"teacher_file": {"path": "t.run"}}
    s = prepare_knobs(plan, _cfg(), None, tmp_path, common, [], None, ("locality", "entropy"))
    assert s["skipped"] == (
        "p: knobs draw from the whole corpus; teacher file t.run scores only the pairs it lists"
    )
    assert s["written"] == [] and "knobs skipped: p:" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"knob samplers \['dense@16'\] draw from the whole"):
        prepare_knobs(plan, _cfg(), None, tmp_path, common, [], None, (), ("dense@16",))


@pytest.mark.slow
def test_teacher_file_universe_is_never_extended_by_corpus_neighbours(tiny, tmp_path):
    """dense_source="corpus" adds whole-corpus MiniLM neighbours to a model teacher's universe;
    with a teacher file the universe stays the scored BM25 docs (the samplers that would use the
    neighbours are refused) and the corpus is never encoded."""
    from locent.realdata.encoders import DEFAULT_ENCODER, corpus_embeddings_path, load_encoder
    from locent.realdata.store import read_groups

    plan, top, out = tiny
    docs = _partial(top)
    run = _write_run(tmp_path / "partial.run", docs)
    summary = _prepare(plan, out, run, samplers=("bm25", "teacher"), dense_source="corpus")
    assert summary["teacher_coverage"]["train"]["pairs_uncovered"] == 67
    groups = read_groups(plan.groups_dir(out) / "teacher.parquet")
    for q, row in zip(QIDS, groups.doc_ids, strict=True):
        assert set(row) <= set(docs[q])
    key = load_encoder(DEFAULT_ENCODER, "cpu", "auto").key
    assert not corpus_embeddings_path(plan.train, key, out / "cache" / "embeddings").exists()


def test_measure_shows_the_restriction_recorded_by_prepare():
    import pandas as pd
    from locent.realdata.measure import _coverage_columns, coverage_line

    record = {
        "queries_restricted": 8,
        "pairs_uncovered": 67,
        "universe_min": 9,
        "universe_median": 12.0,
        "universe_max": 14,
        "qrels_positives_unscored": 1,
    }
    cols = _coverage_columns(record)
    assert cols["teacher_queries_restricted"] == 8 and cols["teacher_pairs_uncovered"] == 67
    assert _coverage_columns(None) == {}
    table = pd.DataFrame(
        [{"plan": "tiny", "n_queries": 8, **cols}, {"plan": "other", "n_queries": 5}]
    )
    line = coverage_line(table)
    assert line.startswith("Teacher file (tiny): the universe was restricted")
    assert "8 of 8 training queries (67 pairs uncovered; universe min 9, median 12)" in line
    assert coverage_line(pd.DataFrame([{"plan": "x", "n_queries": 3}])) is None
