"""What a grid reads: :class:`GridInputs` and :class:`EvalSet`, loaded from the real store.

Real inputs: stored groups, frozen embeddings or texts, and the four test sets.

- Groups: ``<out>/realdata/groups/<sampler>.parquet`` (written by ``locent realdata prepare``).
  Their provenance names the training-query dataset, the teacher and the encoder (defaults:
  ``msmarco-passage/dev/small``, ``rasyosef/splade-tiny``, all-MiniLM-L6-v2).
- Test sets: DL19 and DL20 re-rank the shipped BM25 top-100 (``scoreddocs``); Vaswani and
  Cranfield re-rank a bm25s top-100 over their whole corpus (:mod:`locent.realdata.indexes`).
  The teacher scores every candidate (cached on disk by the teacher), for teacher agreement and
  the teacher baseline row; the shipped first-stage runs are read for reference rows.
- Features: ``frozen`` students read unit-norm MiniLM embeddings (queries and passages, cached
  under ``<out>/cache``); ``transformer`` students read the texts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata import datasets, encoders, indexes, teachers
from locent.realdata.evaluation import Candidates, read_run
from locent.realdata.features import (
    FrozenFeatures,
    TextFeatures,
    provenance_value,
    train_dataset_of,
    training_texts,
)
from locent.realdata.store import read_groups


@dataclass
class EvalSet:
    """A test set: candidates, qrels, teacher scores on the candidates ``(nq, k)``.

    ``teacher`` may be None (not scored, e.g. out-of-domain sets on a slow CPU): then teacher
    agreement is NaN for this set (counted in ``n_no_comparable``) and no teacher row is written.
    """

    name: str
    candidates: Candidates
    qrels: pd.DataFrame
    teacher: np.ndarray | None
    shipped_runs: dict = field(default_factory=dict)


@dataclass
class GridInputs:
    """What a grid trains and tests on: groups per sampler, features per student family, test
    sets, the sampler measure table (κ_Q) when present, and a provenance record."""

    groups: dict
    features: dict
    eval_sets: list
    sampler_measures: pd.DataFrame | None = None
    provenance: dict = field(default_factory=dict)


TEST_SETS = {
    "dl19": "msmarco-passage/trec-dl-2019/judged",
    "dl20": "msmarco-passage/trec-dl-2020/judged",
    "vaswani": "vaswani",
    "cranfield": "cranfield",
}
DEPTH = 100
#: grid test-set name of a plan's test dataset when the grid knows it under a name of its own
#: (``dl19``/``dl20``: the shipped BM25 top-100 candidates and the teacher's cached scores)
KNOWN_TEST_SETS = {TEST_SETS["dl19"]: "dl19", TEST_SETS["dl20"]: "dl20"}


def eval_set_name(dataset_id: str) -> str:
    """The grid's test-set name of ``dataset_id``: ``dl19``/``dl20`` for the TREC DL years, else
    the ID's file-system slug (``vaswani/locent-split/test`` → ``vaswani_locent-split_test``)."""
    return KNOWN_TEST_SETS.get(dataset_id, encoders.slug(dataset_id))


def register_test_set(name: str, dataset_id: str) -> None:
    """Make ``name`` a test set for ``dataset_id`` (the tests of a ``prepare --train`` plan)."""
    if TEST_SETS.setdefault(name, dataset_id) != dataset_id:
        raise ValueError(f"test set {name!r} is already {TEST_SETS[name]!r}, not {dataset_id!r}")


def read_sampler_measures(out) -> pd.DataFrame | None:
    path = Path(out) / "realdata" / "measure" / "samplers.csv"
    return pd.read_csv(path) if path.exists() else None


def first_stage(dataset: str, name: str, out, depth: int = DEPTH) -> pd.DataFrame:
    """``(query_id, doc_id, score)`` candidates: shipped BM25 scoreddocs (DL) or a bm25s top-k."""
    if name in ("dl19", "dl20"):
        return datasets.scoreddocs(dataset)
    return indexes.bm25_candidates(dataset, depth=depth, out=out)


def _check_teacher_file_covers(teacher, name: str, cand: Candidates) -> None:
    """A teacher file scores only the pairs it lists: every valid test candidate of a teacher set
    must be among them, checked before any training. An uncovered pair is a ``UserError`` (count
    and first pairs) rather than a silently dropped measure: teacher agreement over a subset of
    the candidates would not be the quantity the table reports."""
    from locent.realdata.formats import TeacherTable, teacher_coverage

    from locent.errors import UserError

    if not isinstance(teacher, TeacherTable):
        return
    flat = cand.fill_padding()
    pairs = [
        (q, d)
        for q, row, ok in zip(cand.query_ids, flat, cand.valid, strict=True)
        for d, v in zip(row, ok, strict=True)
        if v
    ]
    report = teacher_coverage(teacher, pairs)
    if not report.complete:
        raise UserError(
            f"test set {name} (top-{cand.doc_ids.shape[1]} candidates): {report.message()}; "
            f"add them to the teacher file or leave {name} out of --teacher-sets"
        )


def load_eval_set(name: str, teacher, out, depth: int = DEPTH) -> EvalSet:
    """One test set; ``teacher=None`` leaves it unscored (no teacher agreement, no teacher row)."""
    dataset = TEST_SETS[name]
    cand = Candidates.from_frame(first_stage(dataset, name, out, depth), name, depth)
    qtext = datasets.queries(dataset)
    missing_q = [q for q in cand.query_ids if q not in qtext]
    if missing_q:
        raise ValueError(
            f"{dataset}: {len(missing_q)} candidate queries have no text, first {missing_q[0]!r}"
        )
    teacher_scores = None
    if teacher is not None:
        _check_teacher_file_covers(teacher, name, cand)
        flat = cand.fill_padding()
        unique = sorted(set(flat.ravel()))
        texts = dict(zip(unique, datasets.doc_texts(datasets.corpus_id(dataset), unique)))
        teacher_scores = teacher.score(
            cand.query_ids,
            [qtext[q] for q in cand.query_ids],
            flat,
            np.vectorize(texts.get, otypes=[object])(flat),
        )
        teacher_scores = np.where(cand.valid, teacher_scores, np.nan)
    shipped = {
        system: read_run(path)[["query_id", "doc_id", "score"]]
        for system, path in datasets.shipped_runs(dataset).items()
    }
    return EvalSet(name, cand, datasets.qrels(dataset), teacher_scores, shipped)


def _query_embeddings(dataset: str, ids, texts, encoder_name: str, cache: Path) -> np.ndarray:
    path = (
        cache
        / "embeddings"
        / encoders.encoder_key(encoder_name, encoders.resolve_precision())
        / f"queries.{encoders.slug(dataset)}.npz"
    )
    return encoders.query_embeddings(ids, texts, encoder_name, path)


def frozen_features(
    groups: dict, eval_sets: list[EvalSet], train_dataset: str, encoder_name: str, out
) -> FrozenFeatures:
    """MiniLM embeddings of every training/test query and every group/candidate passage."""
    cache = Path(out) / "cache"
    table_of = encoders.EmbeddingTables(encoder_name, cache)
    q_ids, q_vecs, d_ids, d_vecs = [], [], [], []
    train_q = sorted({q for g in groups.values() for q in g.query_ids})
    texts = datasets.queries(train_dataset)
    q_ids.append(np.array(train_q, dtype=object))
    q_vecs.append(
        _query_embeddings(train_dataset, train_q, [texts[q] for q in train_q], encoder_name, cache)
    )
    train_docs = sorted({d for g in groups.values() for d in g.doc_ids.ravel()})
    d_ids.append(np.array(train_docs, dtype=object))
    d_vecs.append(table_of(train_dataset)(np.array(train_docs, dtype=object)))
    for es in eval_sets:
        dataset = TEST_SETS[es.name]
        qtext = datasets.queries(dataset)
        ids = list(es.candidates.query_ids)
        q_ids.append(np.array([f"{es.name}:{q}" for q in ids], dtype=object))
        # one cache file per dataset holds every query id asked for (a plan tested on its own
        # dataset, prepare --train X, reads its training and test queries from the same file)
        q_vecs.append(_query_embeddings(dataset, ids, [qtext[q] for q in ids], encoder_name, cache))
        docs = sorted(set(es.candidates.fill_padding().ravel()))
        d_ids.append(np.array([f"{es.name}:{d}" for d in docs], dtype=object))
        d_vecs.append(table_of(dataset)(np.array(docs, dtype=object)))
    return FrozenFeatures(
        np.concatenate(q_ids), np.concatenate(q_vecs), np.concatenate(d_ids), np.concatenate(d_vecs)
    )


def namespaced_candidates(es: EvalSet) -> Candidates:
    """Candidates with ids prefixed ``<set>:`` so test ids never collide with training ids."""
    c = es.candidates
    cand = Candidates(
        c.dataset,
        np.array([f"{es.name}:{q}" for q in c.query_ids], dtype=object),
        np.where(c.valid, np.char.add(f"{es.name}:", c.doc_ids.astype(str)).astype(object), ""),
        c.first_stage,
        c.valid,
    )
    return cand


def load_real_inputs(
    out,
    samplers,
    students=("frozen",),
    test_sets=tuple(TEST_SETS),
    device: str = "cpu",
    depth: int = DEPTH,
    teacher_sets=("dl19", "dl20"),
    group_dir=None,
) -> GridInputs:
    """Everything a real grid needs, from ``<out>`` and the shared data (ids namespaced per set).

    The teacher scores the candidates of ``teacher_sets`` only (default DL19/DL20: SPLADE over the
    out-of-domain top-100s costs tens of CPU minutes; pass all sets on a GPU). A teacher read
    from a file by ``prepare --teacher FILE`` is re-read from the groups' provenance (path, mode;
    a changed sha256 is a ``UserError``), and must score every test candidate of the teacher
    sets: an uncovered pair is a ``UserError`` before any training (count, first pairs), never a
    teacher agreement silently measured on a subset.
    """
    datasets.ensure_irds_home(out)
    group_dir = Path(group_dir) if group_dir else Path(out) / "realdata" / "groups"
    groups = {s: read_groups(group_dir / f"{s}.parquet") for s in samplers}
    first = next(iter(groups.values()))
    train_dataset = train_dataset_of(first)
    teacher_name = provenance_value(first, ("teacher", "teacher_name"), teachers.DEFAULT_TEACHER)
    encoder_name = provenance_value(first, ("encoder", "encoder_name"), encoders.DEFAULT_ENCODER)
    recorded = first.provenance.get("teacher_file")
    if isinstance(recorded, dict):  # prepare read a teacher file: the same file, mode, sha256
        teacher = teachers.load_recorded_teacher_file(recorded)
    else:
        teacher = teachers.load_teacher(teacher_name, device=device, cache_dir=Path(out) / "cache")
    raw_sets = [
        load_eval_set(name, teacher if name in teacher_sets else None, out, depth)
        for name in test_sets
    ]
    features = {}
    if "frozen" in students:
        features["frozen"] = frozen_features(groups, raw_sets, train_dataset, encoder_name, out)
    eval_sets = []
    for es in raw_sets:
        cand = namespaced_candidates(es)
        qrels = es.qrels.assign(
            query_id=f"{es.name}:" + es.qrels["query_id"].astype(str),
            doc_id=f"{es.name}:" + es.qrels["doc_id"].astype(str),
        )
        shipped = {
            k: v.assign(
                query_id=f"{es.name}:" + v["query_id"].astype(str),
                doc_id=f"{es.name}:" + v["doc_id"].astype(str),
            )
            for k, v in es.shipped_runs.items()
        }
        eval_sets.append(EvalSet(es.name, cand, qrels, es.teacher, shipped))
    if "transformer" in students:
        q_text, d_text = training_texts(groups.values(), train_dataset)
        for es in raw_sets:
            dataset = TEST_SETS[es.name]
            qt = datasets.queries(dataset)
            q_text.update({f"{es.name}:{q}": qt[q] for q in es.candidates.query_ids})
            ids = sorted(set(es.candidates.fill_padding().ravel()))
            d_text.update(
                {
                    f"{es.name}:{d}": t
                    for d, t in zip(ids, datasets.doc_texts(datasets.corpus_id(dataset), ids))
                }
            )
        features["transformer"] = TextFeatures(q_text, d_text)
    provenance = {
        "inputs": "real",
        "out": os.fspath(out),
        "samplers": list(samplers),
        "train_dataset": train_dataset,
        "teacher": teacher_name,
        **({"teacher_file": recorded} if isinstance(recorded, dict) else {}),
        "encoder": encoder_name,
        "test_sets": {n: TEST_SETS[n] for n in test_sets},
        "groups_provenance": {s: g.provenance for s, g in groups.items()},
    }
    return GridInputs(groups, features, eval_sets, read_sampler_measures(out), provenance)
