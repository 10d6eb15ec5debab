"""Knob groups on disk: ``locent realdata prepare --knobs locality,entropy``.

Per plan (files beside the listed samplers' in ``<groups>``, so the grid can train on them by
name later):

- locality: ``<name>.parquet`` and ``<name>.pool.parquet`` for every level of
  :data:`LOCALITY_LEVELS` that fits the corpus (``dense@16`` … ``dense@1024``, ``bm25@…``,
  ``ball@…``), and ``pools/<test>/<name>.pool.parquet`` on the test queries (for κ, against the
  ``target.parquet`` the listed samplers' step wrote);
- entropy: ``entropy/<base>+<variant>.parquet``: the groups of :data:`ENTROPY_BASE` re-scored by
  every teacher variant of :data:`ENTROPY_VARIANTS` (same doc ids and inclusion probabilities).

Cost: nothing new is encoded from the corpus. The cosine of every (query, corpus item) comes
from the corpus embeddings prepare already computed for the ``dense`` sampler (with
``dense_source="bm25"`` and no cached corpus embeddings the knobs are skipped, and the summary
says so). With a teacher file (``common["teacher_file"]``) they are skipped too, the reason in
the summary and on stderr, before any work: the file scores only the pairs it lists. BM25 ranks
the whole corpus once per query set; the teacher scores only the k items of each new group.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from locent.realdata import datasets
from locent.realdata.encoders import corpus_embeddings_path
from locent.realdata.knobs.entropy import parse_variant, variant_scores
from locent.realdata.knobs.locality import (
    KnobCorpus,
    check_level,
    knob_candidate_pools,
    sample_knob_groups,
)
from locent.realdata.samplers import knob_sampler_name, parse_knob_sampler
from locent.realdata.store import Groups, read_groups, write_groups
from locent.realdata.universe import inputs_key, is_current, pool_frame, scored_groups

from locent.progress import progress
from locent.provenance import provenance_record, write_with_provenance

#: the knobs ``--knobs`` accepts
KNOBS = ("locality", "entropy")
#: depths of the ``dense`` and ``bm25`` knob families (then ``random``: the whole corpus)
DEPTHS = (16, 32, 64, 128, 256, 512, 1024)
#: radii (chordal, unit-norm MiniLM) of the ``ball`` family: query–passage distances of MiniLM
#: lie mostly in [0.8, 1.4] (cosine 0.68 … 0.02)
RADII = (0.9, 1.0, 1.1, 1.2, 1.3)
LOCALITY_LEVELS = tuple(
    [knob_sampler_name(f, d) for f in ("dense", "bm25") for d in DEPTHS]
    + [knob_sampler_name("ball", r) for r in RADII]
)
#: the fixed sampler whose groups the entropy knob re-scores. BM25 top-64, not dense@64: the
#: dependence sweep's student (a cross MLP on the same MiniLM features) learned from none of the
#: dense levels (held-out misordering fell 5–17%, MS MARCO, 400 steps × 32) and from every BM25
#: level (23–39%), so a floor measured on dense@64 had no cell that learned.
ENTROPY_BASE = "bm25@64"
#: teacher variants of the entropy knob (see :mod:`locent.realdata.knobs.entropy`)
ENTROPY_VARIANTS = (
    "teacher",
    "tau=0.25",
    "tau=0.5",
    "tau=2",
    "tau=4",
    "noise=1",
    "noise=4",
    "mix-cosine=0.5",
    "mix-cosine=0.9",
    "mix-bm25=0.5",
)


def parse_knobs(value) -> tuple[str, ...]:
    """``("locality", "entropy")`` from ``"locality,entropy"`` / a sequence; ``"none"`` or empty
    → ``()``. Unknown names raise ``ValueError``."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    items = [s.strip() for s in items if s.strip() and s.strip() != "none"]
    unknown = [s for s in items if s not in KNOBS]
    if unknown:
        raise ValueError(f"unknown knob {unknown[0]!r}; choose from {KNOBS} or 'none'")
    return tuple(k for k in KNOBS if k in items)


def fitting_levels(levels, k: int, corpus_size: int) -> tuple[list[str], list[str]]:
    """``(kept, skipped)``: the levels that fit a corpus of ``corpus_size`` (depth < N) and k."""
    kept, skipped = [], []
    for name in levels:
        parse_knob_sampler(name)  # a malformed name is an error, never a skipped level
        try:
            check_level(name, k, corpus_size)
        except ValueError:
            skipped.append(name)
        else:
            kept.append(name)
    return kept, skipped


def knob_corpus(dataset_id: str, qids, res, excluded=None, positive=None):
    """``(KnobCorpus, bm25_score (n, N))`` of ``qids``: cosine to every corpus item from the cached
    corpus embeddings, the BM25 ranking of the whole corpus, and the label mask."""
    queries = datasets.queries(dataset_id)
    qtexts = [queries[q] for q in qids]
    emb = res.corpus_embeddings(dataset_id)  # (N, D) unit norm, cached by prepare
    index = res.index(dataset_id)
    corpus_ids = np.asarray(index.doc_ids, dtype=object)
    n, N = len(qids), len(corpus_ids)
    cosine = res.encoder.encode(qtexts) @ emb.T
    row_of = {d: i for i, d in enumerate(corpus_ids)}
    ids, scores = index.search(qtexts, N)
    rows = np.array([[row_of[d] for d in r] for r in ids], dtype=np.int64).reshape(n, N)
    bm25_rank = np.empty((n, N), dtype=np.int64)
    np.put_along_axis(bm25_rank, rows, np.arange(N, dtype=np.int64)[None, :], axis=1)
    bm25_score = np.zeros((n, N), dtype=np.float64)
    np.put_along_axis(bm25_score, rows, scores.astype(np.float64), axis=1)
    mask = np.zeros((n, N), dtype=bool)
    for i, s in enumerate(excluded or []):
        mask[i, [row_of[d] for d in s if d in row_of]] = True
    kc = KnobCorpus(np.asarray(qids, object), corpus_ids, cosine, bm25_rank, mask, positive)
    return kc, bm25_score


def _item_scores(matrix: np.ndarray, corpus_ids, doc_ids: np.ndarray) -> np.ndarray:
    """``(n, k)`` entries of a per-query corpus matrix ``(n, N)`` at the groups' items."""
    row_of = {d: i for i, d in enumerate(corpus_ids)}
    cols = np.vectorize(row_of.__getitem__, otypes=[np.int64])(doc_ids)
    return np.take_along_axis(matrix, cols, axis=1)


def prepare_knobs(
    plan, cfg, res, folder, common: dict, qids, get_universe, knobs, extra_levels=()
) -> dict:
    """Write the knob groups and pools of one plan (see the module docstring); returns counts.

    ``get_universe()``: the labelled universe of ``qids`` (positives, judged sets), built only
    when some file is not current. ``extra_levels``: knob samplers asked for by name (checked
    strictly: a level that does not fit the corpus or k is an error, not a skip). Files already
    current (same ``inputs_key``) are reused."""
    knobs = parse_knobs(knobs)
    t0 = time.perf_counter()
    summary: dict = {"written": [], "reused": [], "skipped_levels": []}
    if not knobs and not extra_levels:
        return summary
    recorded = common.get("teacher_file")
    if recorded:
        # every knob sampler draws from the whole corpus (dense@1024, ball@r …) and the entropy
        # knob re-scores bm25@64 groups: a teacher file scores only the pairs it lists
        why = f"teacher file {recorded['path']} scores only the pairs it lists"
        if extra_levels:  # prepare refuses these before any work; a direct call, here
            raise ValueError(
                f"knob samplers {list(extra_levels)} draw from the whole corpus; {why}"
            )
        summary["skipped"] = f"{plan.name}: knobs draw from the whole corpus; {why}"
        print(f"knobs skipped: {summary['skipped']}", file=sys.stderr)
        return summary
    cached = corpus_embeddings_path(plan.train, res.encoder.key, res.cache / "embeddings")
    if cfg.dense_source != "corpus" and not cached.exists():
        # the knobs reuse the corpus embeddings of the whole-corpus dense sampler; encoding a
        # corpus only for them would cost minutes (MS MARCO subset ≈ 400 s on 2 CPU cores)
        summary["skipped"] = (
            f"{plan.name}: knobs need the corpus embeddings, not computed with "
            f"dense_source={cfg.dense_source!r} ({cached} absent)"
        )
        print(f"knobs skipped: {summary['skipped']}", file=sys.stderr)
        return summary
    N = len(res.index(plan.train).doc_ids)
    for name in extra_levels:
        check_level(name, cfg.k, N)
    levels, skipped = fitting_levels(LOCALITY_LEVELS, cfg.k, N)
    summary["skipped_levels"] = skipped
    if "locality" not in knobs:
        levels = []
    levels = [*levels, *(s for s in extra_levels if s not in levels)]
    if "entropy" in knobs and ENTROPY_BASE not in levels:
        levels = [*levels, ENTROPY_BASE]
    variants = ENTROPY_VARIANTS if "entropy" in knobs else ()
    keys = {name: inputs_key(sampler=name, **common) for name in levels}
    vkeys = {
        v: inputs_key(sampler=ENTROPY_BASE, teacher_variant=v, base_key=keys[ENTROPY_BASE])
        for v in variants
    }
    vpath = {v: folder / "entropy" / f"{ENTROPY_BASE}+{v}.parquet" for v in variants}
    todo = [s for s in levels if not is_current(folder / f"{s}.parquet", keys[s])]
    vtodo = [v for v in variants if not is_current(vpath[v], vkeys[v])]
    summary["reused"] = [s for s in levels if s not in todo] + [
        f"entropy/{v}" for v in variants if v not in vtodo
    ]
    if todo or vtodo:
        uni = get_universe()
        kc, bm25_score = knob_corpus(plan.train, qids, res, uni.excluded, uni.positive)
        for name in progress(todo, desc=f"{plan.name} knob groups", unit="sampler"):
            family, value = parse_knob_sampler(name)
            sg = sample_knob_groups(kc, name, cfg.k, cfg.seed)
            groups = scored_groups(
                plan.train, name, uni, sg, res, inputs_key=keys[name], seed=cfg.seed,
                knob_family=family, knob_value=value, **common,
            )  # fmt: skip
            write_groups(groups, folder / f"{name}.parquet")
            pool = pool_frame(qids, sg.pool_ids, sg.corpus_size)
            prov = {**groups.provenance, "artefact_of": name}
            write_with_provenance(pool, folder / f"{name}.pool.parquet", **prov)
            summary["written"].append(name)
        if vtodo:
            base = read_groups(folder / f"{ENTROPY_BASE}.parquet")
            cosine = _item_scores(kc.cosine, kc.corpus_ids, base.doc_ids)
            bm25 = _item_scores(bm25_score, kc.corpus_ids, base.doc_ids)
            for v in vtodo:
                tv = parse_variant(v)
                scores = variant_scores(tv, base.teacher_scores, cosine, bm25, seed=cfg.seed)
                fields = {k: x for k, x in base.provenance.items() if k != "versions"}
                fields.update(
                    inputs_key=vkeys[v], teacher_variant=tv.name, teacher_tau=tv.tau,
                    entropy_knob=tv.knob_name, entropy_knob_value=tv.value,
                )  # fmt: skip
                prov = provenance_record(**fields)
                groups = Groups(
                    sampler=ENTROPY_BASE, query_ids=base.query_ids, doc_ids=base.doc_ids,
                    teacher_scores=scores, inclusion_probs=base.inclusion_probs,
                    positive_source=base.positive_source, n_padded=base.n_padded,
                    n_excluded=base.n_excluded, provenance=prov,
                )  # fmt: skip
                write_groups(groups, vpath[v])
                summary["written"].append(f"entropy/{v}")
    summary["tests"] = {test: _test_pools(folder, test, levels, cfg, res) for test in plan.tests}
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    return summary


def _test_pools(folder, test: str, levels, cfg, res) -> str:
    """The knob pools on the test queries of ``target.parquet`` (written by the listed samplers'
    step), keyed by the target's own key and k."""
    import json

    import pandas as pd
    from locent.realdata.encoders import slug

    from locent.provenance import provenance_path

    tdir = folder / "pools" / slug(test)
    target_path = tdir / "target.parquet"
    if not target_path.exists():
        raise FileNotFoundError(f"{target_path}: the test targets must be prepared first")
    tkey = json.loads(provenance_path(target_path).read_text())["inputs_key"]
    keys = {s: inputs_key(sampler=s, target_key=tkey, k=cfg.k) for s in levels}
    todo = [s for s in levels if not is_current(tdir / f"{s}.pool.parquet", keys[s])]
    if not todo:
        return "reused"
    tq = list(pd.read_parquet(target_path)["query_id"].astype(str))
    kc, _ = knob_corpus(test, tq, res, excluded=None, positive=None)
    for name in todo:
        frame = pool_frame(tq, knob_candidate_pools(kc, name, cfg.k), kc.N)
        write_with_provenance(
            frame, tdir / f"{name}.pool.parquet", sampler=name, inputs_key=keys[name], test=test
        )
    return f"{len(todo)} pools"
