"""Query splits registered in ir_datasets (``<parent>/locent-split/<part>``): disjoint parts that
cover the parent's judged queries, deterministic by the stated rule, qrels and scoreddocs of each
part's queries only, the parent's corpus, and clear errors for malformed IDs."""

from __future__ import annotations

import hashlib

import pytest


def _parts(irds, parent, **kw):
    from locent.realdata.splits import split_id

    return {p: split_id(parent, p, **kw) for p in ("train", "test")}


@pytest.mark.parametrize("parent", ["vaswani", "cranfield"])
def test_split_is_disjoint_covers_the_judged_queries_and_keeps_the_corpus(irds, parent):
    ids = _parts(irds, parent)
    train, test = (list(irds.queries(ids[p])) for p in ("train", "test"))
    judged = set(irds.qrels(parent).query_id)
    assert not set(train) & set(test)
    assert set(train) | set(test) == judged & set(irds.queries(parent))
    assert abs(len(test) - 0.5 * len(judged)) <= 0.5  # test fraction 0.5 by default
    order = list(irds.queries(parent))  # each part keeps the parent's query order
    assert train == [q for q in order if q in set(train)]
    # qrels of a part: exactly the parent's qrels of that part's queries, never the other's
    parent_qrels = irds.qrels(parent)
    for part, queries in (("train", train), ("test", test)):
        qrels = irds.qrels(ids[part])
        assert set(qrels.query_id) <= set(queries)
        expected = parent_qrels[parent_qrels.query_id.isin(set(queries))]
        assert len(qrels) == len(expected)
        assert (qrels.values == expected.values).all()
    # one corpus: the parent's docs handler itself, so one BM25 index and one embedding cache
    assert irds.corpus_id(ids["train"]) == irds.corpus_id(ids["test"]) == parent
    assert irds.load(ids["test"]).docs_handler() is irds.load(parent).docs_handler()


def test_split_follows_the_stated_rule_and_is_deterministic(irds):
    from locent.realdata import splits

    parent = "vaswani"
    judged = [q for q in irds.queries(parent) if q in set(irds.qrels(parent).query_id)]
    for fraction, seed in ((0.5, 0), (0.3, 7)):
        digests = {
            q: hashlib.sha256(f"locent-split:{seed}:{q}".encode()).hexdigest() for q in judged
        }
        ordered = sorted(judged, key=lambda q: (digests[q], q))  # noqa: B023 (used at once)
        expected = set(ordered[: round(fraction * len(judged))])
        test_id = splits.split_id(parent, "test", fraction, seed)
        assert set(irds.queries(test_id)) == expected
        splits.partition.cache_clear()  # recomputed from scratch: the same ids
        assert set(splits.query_ids(test_id)) == expected
    assert splits.split_id(parent, "test", 0.3, 7) == "vaswani/locent-split-f0.3-s7/test"
    other_seed = set(irds.queries(splits.split_id(parent, "test", 0.5, 1)))
    assert other_seed != set(irds.queries(splits.split_id(parent, "test")))
    record = splits.split_record(splits.split_id(parent, "train"))
    assert record["parent"] == parent and record["seed"] == 0 and record["test_fraction"] == 0.5
    assert record["n_train"] + record["n_test"] == len(judged)
    assert "sha256" in record["rule"]


def test_dl19_split_keeps_the_scoreddocs_of_its_queries(irds):
    ids = _parts(irds, irds.DL19)
    for part in ("train", "test"):
        sd = irds.scoreddocs(ids[part])
        assert set(sd.query_id) == set(irds.queries(ids[part]))
        assert irds.corpus_id(ids[part]) == "msmarco-passage"
    assert len(irds.scoreddocs(ids["train"])) + len(irds.scoreddocs(ids["test"])) == len(
        irds.scoreddocs(irds.DL19)
    )


@pytest.mark.parametrize(
    ("dataset_id", "message"),
    [
        ("vaswani/locent-split/dev", r"part 'dev' is not one of \('train', 'test'\)"),
        ("vaswani/locent-split-f1.5-s1/train", r"test fraction 1.5 is not in \(0, 1\)"),
        ("locent-split/vaswani/train", r"not of the form <parent>/locent-split"),
        ("vaswani/locent-split", r"not of the form <parent>/locent-split"),
        ("vaswani/locent-split-x/train", r"not of the form <parent>/locent-split"),
        ("no-such-parent/locent-split/train", r"parent 'no-such-parent': unknown ir_datasets ID"),
    ],
)
def test_malformed_split_id_is_a_clear_error(irds, dataset_id, message):
    with pytest.raises(ValueError, match=r"split ID .*" + message):
        irds.load(dataset_id)


def test_a_split_needs_two_judged_queries(irds):
    from locent.realdata import splits

    with pytest.raises(ValueError, match=r"93 judged queries give 0 test and 93 training"):
        splits.partition("vaswani", 0.001, 0)
