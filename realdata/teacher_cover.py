"""The universe a teacher file restricts, and every coverage problem, found before encoding.

A teacher given as a file (:class:`~locent.realdata.formats.TeacherTable`: a TREC run, a score
JSON, a PyTerrier table) scores only the (query, doc) pairs it lists — often a first stage's
top-100 while locent's universe is the BM25 top-u (u = 200). :func:`teacher_file` reads it and
refuses the samplers that draw from the whole corpus; :func:`check_teacher_covers` runs
the BM25 search of a query set once, before anything is encoded or scored, and returns a
:class:`TeacherCover`:

- the **restricted universe** :meth:`TeacherCover.universe_ids`: per query the BM25 top-u kept
  to the docs the file scores, in BM25 order and with their BM25 ranks (so the ``bm25`` pool is
  still "BM25 rank < depth", less what the file leaves out);
  :func:`locent.realdata.universe.build_universe` takes it instead of searching again. A file
  that scores the whole top-u changes nothing.
- its counts (:meth:`TeacherCover.summary`) for ``prepare_summary.json`` and the groups'
  provenance (``teacher_coverage``), and one stderr line (:meth:`TeacherCover.line`).

Problems, each a ``ValueError`` naming the data set, the first queries and the count:

- a query (training or test) whose BM25 top-u the file does not score at all;
- a training query with fewer than k scored docs: no group of k can be formed;
- a training query where a sampler's pool ν_q holds fewer than the k − 1 negatives a group needs
  and the padding (uniform draws from the corpus outside the pool and the labels) could draw a
  doc the file does not score. Pool sizes are exact for ``bm25`` and ``teacher`` (they depend on
  BM25 ranks, file scores and labels only); for ``dense`` and ``ensemble`` the cosine order is
  unknown before encoding, so the size used is a lower bound (labels and margin-dropped items
  counted as the nearest ones), exact when the covered universe has at most ``dense_depth`` docs.

A judged positive (the best-graded qrels passage) that the file does not score is no error: that
query's positive falls back to the teacher's top covered item (``positive_source =
"teacher_top"``), counted in ``qrels_positives_unscored`` and said on stderr.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from locent.realdata import datasets
from locent.realdata.samplers import NOT_BM25, SAMPLERS, SamplerConfig
from locent.realdata.universe import qrels_labels

#: samplers whose candidates are not all in the BM25 top-u universe a teacher file must cover
NEEDS_CORPUS = {"random": "draws negatives from the whole corpus"}


def teacher_file(teacher, samplers, cfg: SamplerConfig, mode: str = "score"):
    """The :class:`~locent.realdata.formats.TeacherTable` when ``teacher`` is a file (recognised
    by content, whatever its name), else ``None``. Refuses, before any work, the samplers and
    settings a file cannot score: ``random`` and the knob samplers (``dense@d``, ``bm25@d``,
    ``ball@r``: the whole corpus) and, with ``dense_source="corpus"``, ``dense``/``ensemble``
    (whole-corpus neighbours). The ``--knobs`` groups are skipped instead, with the reason
    (:func:`locent.realdata.knobs.build.prepare_knobs`)."""
    if not Path(str(teacher)).is_file():
        return None
    from locent.realdata.formats import read_teacher_file

    table = read_teacher_file(teacher, mode=mode)
    refuse_corpus_samplers(teacher, samplers, cfg)
    return table


def refuse_corpus_samplers(teacher, samplers, cfg: SamplerConfig) -> None:
    """``ValueError`` when a sampler of ``samplers`` draws from the whole corpus (see
    :func:`teacher_file`): a teacher file ``teacher`` scores only the pairs it lists."""
    need = {s: why for s, why in NEEDS_CORPUS.items() if s in samplers}
    need.update(
        {
            s: "is a knob sampler: it draws from the whole corpus"
            for s in samplers
            if s not in SAMPLERS
        }
    )
    if cfg.dense_source == "corpus":
        need.update(
            {
                s: "takes neighbours from the whole corpus (use --dense-source bm25)"
                for s in ("dense", "ensemble")
                if s in samplers
            }
        )
    if need:
        s, why = next(iter(need.items()))
        raise ValueError(
            f"teacher file {teacher} scores only the pairs it lists, but sampler {s!r} {why}; "
            f"drop {sorted(need)} from --samplers or use a teacher model"
        )


#: queries named in an error message (then the count of the others)
FIRST = 5


@dataclass
class TeacherCover:
    """What a teacher file scores of one query set's BM25 top-u universe.

    ``query_ids (n,)``; ``bm25_ids (n, u)`` object: the BM25 search, ``""`` where the corpus is
    short; ``covered (n, u)`` bool: scored by the file (False on ``""``); ``unscored_positives``:
    query ids whose qrels positive the file does not score (→ ``teacher_top``); ``role``:
    ``"training"`` or ``"test"`` queries (what the messages say).
    """

    dataset_id: str
    query_ids: list
    bm25_ids: np.ndarray
    covered: np.ndarray
    universe: int
    teacher: str
    role: str = "training"
    unscored_positives: frozenset = frozenset()

    @property
    def n_covered(self) -> np.ndarray:
        """``(n,)`` size of each query's restricted universe."""
        return self.covered.sum(axis=1)

    @property
    def n_candidates(self) -> np.ndarray:
        """``(n,)`` size of each query's BM25 top-u (less than u only on a tiny corpus)."""
        return (self.bm25_ids != "").sum(axis=1)

    @property
    def restricted(self) -> np.ndarray:
        """``(n,)`` whether the file leaves part of the query's BM25 top-u unscored."""
        return self.n_covered < self.n_candidates

    def universe_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """``(doc_ids (n, w), bm25_rank (n, w))`` of the restricted universe: each query's covered
        docs in BM25 order, then ``""`` padding (rank :data:`NOT_BM25`); w = the largest covered
        count. Unrestricted: the search itself, ranks ``arange(u)``: exactly as without a file."""
        n, u = self.bm25_ids.shape
        if not self.restricted.any():
            return self.bm25_ids, np.broadcast_to(np.arange(u, dtype=np.int64), (n, u))
        width = int(self.n_covered.max())
        ids = np.full((n, width), "", dtype=object)
        rank = np.full((n, width), NOT_BM25, dtype=np.int64)
        for i, row in enumerate(self.covered):
            cols = np.flatnonzero(row)
            ids[i, : len(cols)] = self.bm25_ids[i, cols]
            rank[i, : len(cols)] = cols
        return ids, rank

    def summary(self) -> dict:
        """Counts for ``prepare_summary.json`` and the provenance (``teacher_coverage``)."""
        size = self.n_covered
        out = {
            "teacher_file": self.teacher,
            "universe": self.universe,
            "queries": len(self.query_ids),
            "queries_restricted": int(self.restricted.sum()),
            "pairs": int(self.n_candidates.sum()),
            "pairs_uncovered": int(self.n_candidates.sum() - size.sum()),
            "universe_min": int(size.min()) if len(size) else 0,
            "universe_median": float(np.median(size)) if len(size) else 0.0,
            "universe_max": int(size.max()) if len(size) else 0,
        }
        if self.role == "training":
            out["qrels_positives_unscored"] = len(self.unscored_positives)
        return out

    def line(self) -> str | None:
        """The stderr line when the file restricts the universe or replaces positives; else None."""
        s = self.summary()
        parts = []
        if s["queries_restricted"]:
            parts.append(
                f"universe restricted to the {s['pairs'] - s['pairs_uncovered']} of "
                f"{s['pairs']} BM25 top-{self.universe} pairs it scores on "
                f"{s['queries_restricted']} of {s['queries']} queries (per query "
                f"{s['universe_min']}–{s['universe_max']} docs, median {s['universe_median']:g})"
            )
        if s.get("qrels_positives_unscored"):
            parts.append(
                f"{s['qrels_positives_unscored']} qrels positives unscored, replaced by the "
                "teacher's top covered item (positive_source=teacher_top)"
            )
        if not parts:
            return None
        return f"prepare: {self.dataset_id} ({self.role} queries), teacher file: " + "; ".join(
            parts
        )


def _first(qids, counts=None) -> str:
    shown = [
        f"{q!r}" + ("" if counts is None else f" ({counts[i]})") for i, q in enumerate(qids[:FIRST])
    ]
    more = f" and {len(qids) - FIRST} more" if len(qids) > FIRST else ""
    return ", ".join(shown) + more


def check_teacher_covers(
    res, dataset_id: str, qids, cfg: SamplerConfig, samplers=(), role: str = "training"
) -> TeacherCover | None:
    """With a teacher file (``res._teacher`` a ``TeacherTable``): the :class:`TeacherCover` of
    ``qids`` after one BM25 search, before any encoding or scoring; ``None`` for a model teacher.

    ``role="training"``: the queries form groups with the listed ``samplers`` (labels, k and pool
    checks); ``"test"``: they only need some covered doc. Raises ``ValueError`` on the problems
    of the module docstring."""
    from locent.realdata.formats import TeacherTable, covered_mask

    table = res._teacher
    if not isinstance(table, TeacherTable):
        return None
    refuse_corpus_samplers(table.name, samplers, cfg)  # prepare refused them already
    qids = list(qids)
    qtext = datasets.queries(dataset_id)
    index = res.index(dataset_id)
    ids, _ = index.search([qtext[q] for q in qids], cfg.universe)
    ids = np.asarray(ids, dtype=object)
    cover = TeacherCover(
        dataset_id, qids, ids, covered_mask(table, qids, ids), cfg.universe, table.name, role
    )
    where = f"{dataset_id} ({role} queries, BM25 top-{cfg.universe} universe)"
    n_cov = cover.n_covered
    none = [q for q, c in zip(qids, n_cov, strict=True) if c == 0]
    if none:
        absent = sum(q not in table.scores for q in none)
        raise ValueError(
            f"{where}: teacher file {table.name} scores none of the candidates of {len(none)} of "
            f"{len(qids)} queries ({absent} of them absent from the file), first {_first(none)}; "
            f"the file must score part of each query's BM25 top-{cfg.universe} (a fuller file, "
            "or a larger --universe)"
        )
    if role != "training":
        return cover
    short = np.flatnonzero(n_cov < cfg.k)
    if len(short):
        first = _first([qids[i] for i in short], n_cov[short])
        raise ValueError(
            f"{where}: teacher file {table.name} scores fewer than k={cfg.k} candidates of "
            f"{len(short)} of {len(qids)} queries, first {first} (scored docs in brackets); a "
            "group needs k scored docs: use a smaller --k or a teacher file that scores more "
            f"of each query's BM25 top-{cfg.universe}"
        )
    corpus_ids = index.doc_ids
    judged, qrels_pos = qrels_labels(dataset_id, qids, set(corpus_ids), cfg.seed)
    cover.unscored_positives = frozenset(
        q
        for q, p in zip(qids, qrels_pos, strict=True)
        if p is not None and p not in table.scores[q]
    )
    _check_pools(cover, table.scores, judged, qrels_pos, samplers, cfg, set(corpus_ids), where)
    return cover


def pool_lower_bounds(ranks, g, labels: set, ids, cfg: SamplerConfig, pos_score: float) -> dict:
    """Lower bounds on the pool sizes |ν_q| of one query's restricted universe, before encoding.

    ``ids``/``ranks``/``g``: the covered docs in BM25 order, their BM25 ranks and file scores;
    ``labels``: judged ∪ {positive}; ``pos_score``: g of the positive. Mirrors
    :func:`locent.realdata.samplers.pool_masks`: bm25 = rank < depth; teacher = top rerank_depth
    of g (ties by universe order); dense = top dense_depth by cosine (unknown: labels taken as
    the nearest); ensemble = their union less labels and the items with g > g⁺ − margin."""
    c = len(ids)
    lab = np.array([d in labels for d in ids], dtype=bool)
    bm25 = np.asarray(ranks) < cfg.depth
    teacher = np.zeros(c, dtype=bool)
    teacher[np.argsort(-np.asarray(g), kind="stable")[: cfg.rerank_depth]] = True
    drop = lab | (np.asarray(g) > pos_score - cfg.margin)
    if c <= cfg.dense_depth:  # the dense pool is the whole covered universe: exact
        dense, ens = int((~lab).sum()), int((~drop).sum())
    else:
        dense = max(0, cfg.dense_depth - int(lab.sum()))
        ens = max(int(((bm25 | teacher) & ~drop).sum()), cfg.dense_depth - int(drop.sum()))
    return {
        "bm25": int((bm25 & ~lab).sum()),
        "teacher": int((teacher & ~lab).sum()),
        "dense": dense,
        "ensemble": ens,
    }


def _check_pools(cover, scores, judged, qrels_pos, samplers, cfg, corpus_set, where) -> None:
    """Refuse a sampler whose short pool would be padded with corpus docs the file lacks."""
    listed = [s for s in samplers if s in SAMPLERS and s != "random"]
    if not listed:
        return
    ids, rank = cover.universe_ids()
    short: dict[str, list] = {s: [] for s in listed}
    for i, q in enumerate(cover.query_ids):
        row = rank[i] != NOT_BM25
        docs = list(ids[i][row])
        known = scores[q]
        g = [known[d] for d in docs]
        if q in cover.unscored_positives or qrels_pos[i] is None:
            pos = docs[int(np.argmax(g))]  # the teacher's top item (first of ties)
        else:
            pos = qrels_pos[i]
        labels = set(judged[i]) | {pos}
        sizes = pool_lower_bounds(rank[i][row], g, labels, docs, cfg, known[pos])
        # padding draws from the corpus outside the pool and the labels: harmless only when
        # the file scores every such doc (a file that scores the whole corpus)
        unscored_outside = len(corpus_set) - sum(d in corpus_set for d in known)
        unscored_outside -= sum(d in corpus_set and d not in known for d in labels)
        if unscored_outside <= 0:
            continue
        for s in listed:
            if sizes[s] < cfg.k - 1:
                short[s].append((q, sizes[s]))
    for s, found in short.items():
        if found:
            exact = s in ("bm25", "teacher")
            raise ValueError(
                f"{where}: sampler {s!r} has fewer than k-1={cfg.k - 1} negatives in the "
                f"universe the teacher file {cover.teacher} scores for {len(found)} of "
                f"{len(cover.query_ids)} queries, first "
                f"{_first([q for q, _ in found], [n for _, n in found])}"
                f"{'' if exact else ' (a lower bound before encoding)'}; padding would draw "
                "corpus docs the file does not score: use a smaller --k, a larger depth for "
                f"{s!r}, or a teacher file that scores more of each query's candidates"
            )
