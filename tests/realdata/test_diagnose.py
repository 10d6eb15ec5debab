"""``locent diagnose`` and ``locent.realdata.diagnose.diagnose`` on small fixtures (no downloads).

A hash-seeded fake encoder stands in for MiniLM where the model is not the point; the numbers
are checked against the theory functions called directly, and Lemma B's floor against the
entropies it bounds.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import numpy as np
import pandas as pd
import pytest
from locent.realdata.encoders import Encoder

from locent import results

DIM = 8


class HashEncoder(Encoder):
    """Deterministic unit-norm embeddings from each text's hash; ``fail=True``: encoding raises
    (to prove a check ran before any encoding)."""

    def __init__(self, fail: bool = False):  # no model: Encoder.__init__ not called
        self.name, self.precision, self.key, self.dim, self.fail = "hash", "fp32", "hash", DIM, fail
        self.device, self.backend = "cpu", "hash"

    def encode(self, texts, batch_size: int = 1, show_progress: bool = False) -> np.ndarray:
        if self.fail:
            raise AssertionError("encoded although a check should have failed first")
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).normal(size=DIM)
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype=np.float32)


def _docs(n=12):
    return {f"d{i}": f"passage number {i} about topic {i % 3}" for i in range(n)}


def _write_collection(folder, docs):
    """A plain local collection: docs.tsv, queries.tsv, qrels (TREC)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "docs.tsv").write_text("".join(f"{d}\t{t}\n" for d, t in docs.items()))
    (folder / "queries.tsv").write_text("q1\tfirst question\nq2\tsecond question\n")
    (folder / "qrels").write_text("q1 0 d0 1\nq2 0 d5 1\n")
    return folder


@pytest.fixture
def collection(tmp_path, request):
    """``local/<unique name>`` registered from a plain folder of 12 docs and 2 queries."""
    try:
        request.getfixturevalue("irds_home")
    except pytest.skip.Exception:
        pass
    from locent.realdata.formats import register_local_collection

    folder = _write_collection(tmp_path / f"col-{uuid.uuid4().hex[:8]}", _docs())
    return register_local_collection(folder).dataset_id, folder


def _authors(tmp_path, groups, scores=None, name="mined"):
    """The authors' JSONL (+ score file) of ``groups`` = {qid: [pos, neg, ...]}."""
    path = tmp_path / f"{name}.jsonl"
    path.write_text(
        "".join(
            json.dumps({"query_id": q, "doc_id_a": row[0], "doc_id_b": row[1:]}) + "\n"
            for q, row in groups.items()
        )
    )
    if scores is None:
        return path, None
    spath = tmp_path / f"{name}.scores.json"
    spath.write_text(json.dumps(scores))
    return path, spath


GROUPS = {"q1": ["d0", "d1", "d2", "d3"], "q2": ["d5", "d6", "d7", "d8"]}
SCORES = {
    "q1": {"d0": 3.0, "d1": 1.0, "d2": 0.5, "d3": -1.0},
    "q2": {"d5": 2.0, "d6": 1.5, "d7": 1.4, "d8": 0.0},
}


def _tevatron(tmp_path, name="tev", empty_negatives=False):
    rows = [
        {
            "query_id": "q1",
            "query": "first question",
            "positive_passages": [{"docid": "d0", "text": _docs()["d0"]}],
            "negative_passages": []
            if empty_negatives
            else [{"docid": f"d{i}", "text": _docs()[f"d{i}"]} for i in (1, 2, 4)],
        },
        {
            "query_id": "q2",
            "query": "second question",
            "positive_passages": [{"docid": "d5", "text": _docs()["d5"]}],
            "negative_passages": [{"docid": f"d{i}", "text": _docs()[f"d{i}"]} for i in (6, 9, 10)],
        },
    ]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run(path, ranking):
    """A TREC run ``{qid: [doc, ...]}`` (rank order, falling scores)."""
    lines = [
        f"{q} Q0 {d} {r} {10.0 - r:.1f} sys\n"
        for q, docs in ranking.items()
        for r, d in enumerate(docs, 1)
    ]
    path.write_text("".join(lines))
    return path


# ------------------------------------------------------------------------------ the API


def test_side_by_side_numbers_are_the_theory_functions(tmp_path, collection):
    from locent.realdata.diagnose import StudentClass, diagnose
    from locent.theory import (
        aggregate_diameter,
        entropy_floor,
        essential_diameter,
        listwise_entropy,
        pairwise_entropy,
        rademacher_bound,
        smallest_non_vacuous_n,
    )

    dataset, _ = collection
    jsonl, _ = _authors(tmp_path, GROUPS)
    tev = _tevatron(tmp_path)
    student = StudentClass(weight_norm=2.0, feature_lipschitz=1.0)
    enc = HashEncoder()
    # the authors' file carries scores; the Tevatron file none: a teacher file scores both
    teacher = tmp_path / "teacher.json"
    full = {q: {f"d{i}": float(np.sin(i + len(q))) for i in range(12)} for q in ("q1", "q2")}
    teacher.write_text(json.dumps(full))
    table = diagnose(
        [jsonl, tev],
        dataset=dataset,
        teacher=teacher,
        encoder=enc,
        student=student,
        out=tmp_path / "out",
    )
    assert list(table["source"]) == ["mined", "tev"]
    row = table.set_index("source").loc["mined"]
    ids = np.array([GROUPS["q1"], GROUPS["q2"]], dtype=object)
    from locent.realdata import datasets

    texts = np.array([[_docs()[d] for d in r] for r in ids], dtype=object)
    assert datasets.doc_texts(dataset, ["d1"])[0] == _docs()["d1"]
    emb = enc.encode(texts.ravel()).reshape(2, 4, DIM)
    g = np.array([[full[q][d] for d in r] for q, r in zip(("q1", "q2"), ids, strict=True)])
    d99 = essential_diameter(emb, alpha=0.99)
    assert row[results.DIAMETER_Q_99] == pytest.approx(float(aggregate_diameter(d99, 0.99)))
    assert row["diameter_Q90_99"] == pytest.approx(float(aggregate_diameter(d99, 0.9)))
    assert row[results.DIAMETER_MEAN_99] == pytest.approx(float(d99.mean()))
    assert row[results.PAIRWISE_ENTROPY] == pytest.approx(float(pairwise_entropy(g).mean()))
    assert row[results.LISTWISE_ENTROPY] == pytest.approx(float(listwise_entropy(g).mean()))
    # L̂_g by brute force, then Lemma B and Theorem 2.1 (iii) from it
    lip = max(
        abs(g[n, i] - g[n, j]) / np.linalg.norm(emb[n, i] - emb[n, j])
        for n in range(2)
        for i in range(4)
        for j in range(i + 1, 4)
    )
    assert row[results.TEACHER_LIPSCHITZ] == pytest.approx(lip)
    floor = entropy_floor(lip, essential_diameter(emb, alpha=1.0), 1.0)
    assert row["entropy_floor"] == pytest.approx(float(np.mean(floor)))
    pq = table.attrs["per_query"]
    assert (pq[results.PAIRWISE_ENTROPY] >= pq["entropy_floor"] - 1e-12).all()  # Lemma B
    assert np.isnan(row[results.KAPPA_Q])  # no target: not given
    from locent.theory import loss_range, rademacher_rho

    dq = row[results.DIAMETER_Q_99]
    rho = float(rademacher_rho("soft_ranknet", 1.0, 2.0, 1.0, lip, dq))
    b = float(loss_range("soft_ranknet", 2.0, lip, dq, 1.0))
    assert row[results.LOSS_RANGE_Q] == pytest.approx(b)
    assert row[results.BOUND_III] == pytest.approx(
        float(rademacher_bound(0.0, rho, 2.0, 1.0, dq, 2, 0.05, b))
    )
    n_min = smallest_non_vacuous_n(
        "iii",
        loss_range=b,
        delta=0.05,
        rho=rho,
        weight_norm=2.0,
        feature_lipschitz=1.0,
        diameter=dq,
    )
    assert row["smallest_non_vacuous_n_iii"] == n_min
    assert row[results.BOUND_III_VACUOUS] == (2 < n_min)
    # written: CSV + JSON with provenance, per query, the HTML page with its three figures
    folder = tmp_path / "out" / "diagnose"
    csv = pd.read_csv(folder / "diagnose.csv")
    assert list(csv["source"]) == ["mined", "tev"]
    prov = json.loads((folder / "diagnose.provenance.json").read_text())
    assert prov["target"] == "not given" and prov["teacher_mode"] == "score"
    doc = json.loads((folder / "diagnose.json").read_text())
    assert doc["rows"][0]["source"] == "mined" and doc["rows"][0][results.KAPPA_Q] is None
    page = (folder / "diagnose.html").read_text()
    assert page.count("<svg") == 3 and "coupling" in page and "tev" in page


def test_kappa_against_a_target_run(tmp_path, collection):
    from locent.realdata.diagnose import diagnose

    dataset, _ = collection
    jsonl, scores = _authors(tmp_path, GROUPS, SCORES)
    # μ_q: top-2 of the run; q1's top-2 inside the file's 4 candidates (κ = 4/2), q2's top-2
    # has d11, which the file never lists: κ = ∞, coverage 1/2
    target = _run(tmp_path / "first_stage.txt", {"q1": ["d1", "d0", "d9"], "q2": ["d5", "d11"]})
    table = diagnose(
        jsonl, dataset=dataset, scores=scores, encoder=HashEncoder(), target=target, target_k=2
    )
    row = table.iloc[0]
    assert row[results.KAPPA_Q] == np.inf and row["kappa_median"] == np.inf
    assert row["coverage"] == pytest.approx((1.0 + 0.5) / 2)
    table = diagnose(
        jsonl,
        dataset=dataset,
        scores=scores,
        encoder=HashEncoder(),
        target=_run(tmp_path / "t2", {"q1": ["d1", "d0"]}),
        target_k=2,
    )
    assert table.iloc[0][results.KAPPA_Q] == pytest.approx(2.0)
    assert table.iloc[0]["n_kappa_queries"] == 1
    with pytest.raises(ValueError, match="no query in common with the target run"):
        diagnose(
            jsonl,
            dataset=dataset,
            scores=scores,
            encoder=HashEncoder(),
            target=_run(tmp_path / "t3", {"q9": ["d1"]}),
        )


def test_rank_teacher_and_partial_teacher_checked_before_encoding(tmp_path, collection):
    from locent.realdata.diagnose import diagnose

    dataset, _ = collection
    jsonl, _ = _authors(tmp_path, GROUPS)
    ranking = {"q1": ["d3", "d2", "d1", "d0"], "q2": ["d8", "d7", "d6", "d5"]}
    teacher = _run(tmp_path / "reranker.txt", ranking)  # a run named *.txt is a run
    table = diagnose(
        jsonl, dataset=dataset, teacher=teacher, teacher_mode="rank", encoder=HashEncoder()
    )
    g = table.attrs["per_query"]
    from locent.theory import pairwise_entropy

    ranks = -np.array([[4.0, 3.0, 2.0, 1.0]] * 2)  # g = −rank, in the file's group order
    assert g[results.PAIRWISE_ENTROPY].to_numpy() == pytest.approx(pairwise_entropy(ranks))
    assert table.attrs["provenance"]["teacher_mode"] == "rank"
    partial = _run(tmp_path / "top2.run", {q: r[:2] for q, r in ranking.items()})
    with pytest.raises(ValueError, match=r"mined.jsonl: teacher .* leaves 4 of 8 candidate"):
        diagnose(jsonl, dataset=dataset, teacher=partial, encoder=HashEncoder(fail=True))
    with pytest.raises(ValueError, match="teacher file cannot cover"):
        diagnose(
            jsonl,
            dataset=dataset,
            teacher=teacher,
            references=("random",),
            encoder=HashEncoder(fail=True),
        )


def test_texts_without_collection_and_frames(tmp_path):
    """Files with texts need no collection; a PyTerrier frame is diagnosed as it is."""
    from locent.realdata.diagnose import diagnose

    frame = pd.DataFrame(
        {
            "qid": ["q1"] * 3 + ["q2"] * 3,
            "docno": ["a", "b", "c", "a", "d", "e"],
            "score": [3.0, 2.0, 1.0, 5.0, 1.0, 0.0],
            "rank": [1, 2, 3, 1, 2, 3],
            "query": ["one"] * 3 + ["two"] * 3,
            "text": ["alpha", "beta", "gamma", "alpha", "delta", "eps"],
        }
    )
    table = diagnose(frame, encoder=HashEncoder())
    assert list(table["source"]) == ["frame0"] and table.iloc[0]["k"] == 3
    assert table.iloc[0]["format"] == "pyterrier"
    with pytest.raises(ValueError, match="pass dataset="):
        diagnose(frame.drop(columns=["query", "text"]), encoder=HashEncoder(fail=True))
    tev = _tevatron(tmp_path)
    with pytest.raises(ValueError, match="tev.jsonl .*carries no teacher scores"):
        diagnose(tev, encoder=HashEncoder(fail=True))


# ------------------------------------------------------------------------------ the CLI


def _cli(capsys, *argv):
    from locent.cli import main

    code = main(["diagnose", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_malformed_files_end_in_a_named_error(tmp_path, capsys, collection):
    _, folder = collection
    bad = tmp_path / "missing.jsonl"
    bad.write_text(json.dumps({"query_id": "q1", "doc_id_a": "d0"}) + "\n")
    code, _, err = _cli(capsys, bad, "--collection", folder)
    assert code == 2 and err.startswith("locent diagnose: error: ")
    assert "missing.jsonl" in err and "doc_id_b" in err and "--debug" not in err
    scored = {"q1": {"d0": 1.0, "d1": 0.0, "nope": 0.5}}
    unknown, scores = _authors(tmp_path, {"q1": ["d0", "d1", "nope"]}, scored, name="unknown")
    code, _, err = _cli(capsys, unknown, "--scores", scores, "--collection", folder)
    assert code == 2 and "unknown.jsonl" in err and "'nope'" in err and "not in" in err
    empty = _tevatron(tmp_path, name="empty", empty_negatives=True)
    code, _, err = _cli(capsys, empty)
    assert code == 2 and "empty.jsonl" in err and "'q1'" in err and "no candidates" in err
    code, _, err = _cli(capsys, unknown, "--weight-norm", "1")
    assert code == 2 and "--feature-lipschitz" in err


@pytest.mark.slow
def test_cli_writes_table_and_page(tmp_path, capsys, collection):
    """The real (packaged) MiniLM through the command line."""
    _, folder = collection
    jsonl, scores = _authors(tmp_path, GROUPS, SCORES)
    out = tmp_path / "out"
    code, printed, err = _cli(
        capsys,
        jsonl,
        "--scores",
        scores,
        "--collection",
        folder,
        "--weight-norm",
        "1",
        "--feature-lipschitz",
        "1",
        "--out",
        out,
    )
    assert code == 0, err
    assert "diameter_Q_99" in printed and "mined" in printed
    assert "smallest_non_vacuous_n_iii" in printed
    assert (out / "diagnose" / "diagnose.html").exists()


@pytest.mark.slow
def test_reference_samplers_on_the_same_queries(tmp_path, collection):
    """With the collection known and a teacher model: bm25, random and dense groups of locent's
    samplers on the file's queries, side by side with the file (κ from their own pools)."""
    from locent.realdata.diagnose import diagnose

    dataset, _ = collection
    jsonl, _ = _authors(tmp_path, GROUPS)
    target = _run(tmp_path / "first_stage.txt", {"q1": ["d1", "d0"], "q2": ["d5", "d6"]})
    table = diagnose(
        jsonl,
        dataset=dataset,
        teacher="rasyosef/splade-tiny",
        encoder=HashEncoder(),
        references=("bm25", "random", "dense"),
        target=target,
        target_k=2,
        out=tmp_path / "out",
    )
    assert list(table["source"]) == ["mined", "bm25", "random", "dense"]
    assert list(table["kind"]) == ["file", "reference", "reference", "reference"]
    assert (table["n_queries"] == 2).all() and (table["k"] == 4).all()
    for col in (results.DIAMETER_Q_99, results.PAIRWISE_ENTROPY, "entropy_floor", "coverage"):
        assert table[col].notna().all(), col
    ref = table.set_index("source")
    # random draws from the whole corpus of 12 docs: every μ_q item has ν_q = 1/12 or so
    assert ref.loc["random", "coverage"] == 1.0 and np.isfinite(ref.loc["random", "kappa_Q"])
    pq = table.attrs["per_query"]
    assert set(pq["source"]) == {"mined", "bm25", "random", "dense"}
    assert (pq[results.PAIRWISE_ENTROPY] >= pq["entropy_floor"] - 1e-12).all()
    assert table.attrs["provenance"]["reference_config"]["universe"] == 12
