"""Samplers (miners) ν_q: where the k − 1 negatives of a training group come from.

Everything here is array logic over a :class:`Universe` (per query: the BM25 top-``universe`` of
the corpus, joined with the MiniLM top-``dense_depth`` of the whole corpus, with teacher and MiniLM
scores for every item), so the samplers are testable without any model. Vectorised over queries;
only the rare padding step visits single queries.

| sampler | pool (support of ν_q, before exclusions) |
|---|---|
| ``random`` | the whole corpus (N docs) |
| ``bm25`` | BM25 top-``depth`` |
| ``teacher`` | the teacher's top-``rerank_depth`` of the BM25 top-``universe`` |
| ``dense`` | MiniLM (cosine) top-``dense_depth`` of the whole corpus (``dense_source``) |
| ``ensemble`` | union of the bm25, dense and teacher pools, de-noised (below) |

``dense_source="corpus"`` searches the whole corpus (faiss); ``"bm25"`` re-ranks the BM25
top-``universe`` instead (cheaper: no corpus encoding). Defaults (issue 4): k = 16,
depth = 100, universe = 200, rerank_depth = 100, dense_depth = 100.

Ensemble de-noising (sentence-transformers ``mine_hard_negatives`` style, absolute margin): drop
every x with g(q, x) > g(q, x⁺) − ``margin``.

ν_q is **uniform over the pool after exclusions** (the positive, every judged-relevant doc of the
query, and for ``ensemble`` the de-noised items). Negatives are k − 1 draws from ν_q without
replacement, so each negative has ν_q(x) = 1/m (m = pool size after exclusions) and is in the group
with probability (k − 1)/m. When m < k − 1 the group is padded with uniform draws from the rest of
the corpus (``n_padded``; their recorded ν_q(x) is 0: they are outside the sampler's support).

For κ on test queries (no labels at test time) :func:`pool_masks` with ``exclude_labels=False``
gives the candidate measure before the label exclusions (``ensemble`` still de-noises against the
teacher's top item).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLERS = ("random", "bm25", "teacher", "dense", "ensemble")


#: parametrised locality samplers ``family@value`` (the locality knob, built by
#: :mod:`locent.realdata.knobs`): ``dense@d`` / ``bm25@d`` draw from the d nearest non-judged items
#: of the whole corpus by MiniLM cosine / BM25; ``ball@r`` from every item within chordal distance
#: r of the query in the encoder space (at least its k − 1 nearest). Value: family → meaning.
KNOB_FAMILIES = {"dense": "depth d (integer >= k - 1)", "bm25": "depth d (integer >= k - 1)",
                 "ball": "radius r in (0, 2]"}  # fmt: skip


def parse_knob_sampler(name: str) -> tuple[str, float]:
    """``(family, value)`` of a knob sampler name such as ``dense@64`` or ``ball@0.9``.

    Raises ``ValueError`` naming the sampler for an unknown family or a malformed value (range
    checks that need k live in :func:`locent.realdata.knobs.locality.check_level`)."""
    family, sep, raw = str(name).partition("@")
    if not sep or family not in KNOB_FAMILIES:
        raise ValueError(
            f"knob sampler {name!r}: expected family@value with family in {tuple(KNOB_FAMILIES)}"
        )
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"knob sampler {name!r}: value {raw!r} is not a number") from None
    if family != "ball" and (value != int(value) or value < 1):
        raise ValueError(f"knob sampler {name!r}: depth must be a positive integer; got {raw!r}")
    if family == "ball" and not 0 < value <= 2:
        raise ValueError(f"knob sampler {name!r}: radius must be in (0, 2]; got {raw!r}")
    return family, value


def knob_sampler_name(family: str, value: float) -> str:
    """The registry name of a knob level (``dense@64``, ``ball@0.9``); inverse of the parser."""
    text = str(int(value)) if family != "ball" else f"{float(value):g}"
    name = f"{family}@{text}"
    parse_knob_sampler(name)
    return name


def is_sampler(name: str) -> bool:
    """True for a listed sampler (:data:`SAMPLERS`) or a well-formed knob sampler name."""
    if name in SAMPLERS:
        return True
    try:
        parse_knob_sampler(name)
    except ValueError:
        return False
    return True


DENSE_SOURCES = ("corpus", "bm25")
#: ``bm25_rank`` of a universe item that is not in the BM25 top-``universe`` (a dense-only item).
NOT_BM25 = np.iinfo(np.int64).max


@dataclass(frozen=True)
class SamplerConfig:
    """Declared sampler parameters (recorded in every provenance file)."""

    k: int = 16
    depth: int = 100
    universe: int = 200
    rerank_depth: int = 100
    dense_depth: int = 100
    dense_source: str = "corpus"
    margin: float = 0.5
    seed: int = 0

    def __post_init__(self):
        if self.k < 2:
            raise ValueError(f"k must be >= 2; got {self.k}")
        if not 1 <= self.depth <= self.universe:
            raise ValueError(f"need 1 <= depth ({self.depth}) <= universe ({self.universe})")
        if not 1 <= self.rerank_depth <= self.universe:
            raise ValueError(
                f"need 1 <= rerank_depth ({self.rerank_depth}) <= universe ({self.universe})"
            )
        if self.dense_source not in DENSE_SOURCES:
            raise ValueError(
                f"dense_source must be one of {DENSE_SOURCES}; got {self.dense_source!r}"
            )
        limit = self.universe if self.dense_source == "bm25" else np.inf
        if not 1 <= self.dense_depth <= limit:
            raise ValueError(
                f"need 1 <= dense_depth ({self.dense_depth})"
                + (
                    f" <= universe ({self.universe}) with dense_source='bm25'"
                    if limit < np.inf
                    else ""
                )
            )
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0; got {self.margin}")

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class Universe:
    """Per-query candidate universe and the scores the samplers rank it by.

    Shapes: ``query_ids (n,)``; ``doc_ids (n, U)`` object: the BM25 top-``universe`` in BM25 order,
    then (``dense_source="corpus"``) the MiniLM corpus top-``dense_depth`` items not already there,
    then padding (``""``); ``teacher (n, U)`` g(q, x); ``dense (n, U)`` cosine(e(q), e(x));
    ``bm25_rank (n, U)`` 0-based BM25 rank, :data:`NOT_BM25` for dense-only items and padding
    (default: ``arange(U)``, a BM25-only universe); ``valid (n, U)`` False on padding (default all
    True); ``corpus_ids (N,)``; ``excluded`` list of n sets (positive + judged-relevant ids, for the
    label exclusions); ``positive (n,)`` the positive's id; ``positive_score (n,)`` g(q, x⁺).
    """

    query_ids: np.ndarray
    doc_ids: np.ndarray
    teacher: np.ndarray
    dense: np.ndarray
    corpus_ids: np.ndarray
    excluded: list = field(default_factory=list)
    positive: np.ndarray | None = None
    positive_score: np.ndarray | None = None
    positive_source: np.ndarray | None = None
    bm25_rank: np.ndarray | None = None
    valid: np.ndarray | None = None

    def __post_init__(self):
        n, u = self.doc_ids.shape
        if self.bm25_rank is None:
            self.bm25_rank = np.broadcast_to(np.arange(u, dtype=np.int64), (n, u)).copy()
        if self.valid is None:
            self.valid = np.ones((n, u), dtype=bool)
        for name in ("teacher", "dense", "bm25_rank", "valid"):
            if getattr(self, name).shape != (n, u):
                raise ValueError(
                    f"{name} must have shape {(n, u)}; got {getattr(self, name).shape}"
                )
        if len(self.excluded) != n:
            raise ValueError(
                f"excluded must hold one set per query (n={n}); got {len(self.excluded)}"
            )

    @property
    def n(self) -> int:
        return self.doc_ids.shape[0]

    def label_mask(self) -> np.ndarray:
        """(n, U) True where the universe item is the positive or judged relevant."""
        flat = [d in ex for ids, ex in zip(self.doc_ids, self.excluded, strict=True) for d in ids]
        return np.asarray(flat, dtype=bool).reshape(self.doc_ids.shape) & self.valid


def _top_mask(scores: np.ndarray, depth: int, within: np.ndarray | None = None) -> np.ndarray:
    """(n, U) mask of the ``depth`` highest scores per row among the items of ``within`` (default
    all); ties broken by universe order."""
    if within is not None:
        scores = np.where(within, scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    mask = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask if within is None else mask & within


def pool_masks(
    universe: Universe, sampler: str, cfg: SamplerConfig, exclude_labels: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(pool (n, U) bool, excluded (n, U) bool)`` over the universe for a listed-pool sampler.

    ``pool`` is the support of ν_q after exclusions; ``excluded`` marks pool items that were
    removed (labels, de-noising). ``random`` has no listed pool (see :func:`random_groups`).
    """
    if sampler not in SAMPLERS or sampler == "random":
        raise ValueError(f"listed-pool sampler must be one of {SAMPLERS[1:]}; got {sampler!r}")
    valid = universe.valid
    in_bm25 = valid & (universe.bm25_rank < cfg.universe)
    bm25 = valid & (universe.bm25_rank < cfg.depth)
    teacher = _top_mask(universe.teacher, cfg.rerank_depth, in_bm25)
    dense_within = valid if cfg.dense_source == "corpus" else in_bm25
    dense = _top_mask(universe.dense, cfg.dense_depth, dense_within)
    raw = {"bm25": bm25, "teacher": teacher, "dense": dense, "ensemble": bm25 | teacher | dense}[
        sampler
    ]
    drop = np.zeros(raw.shape, dtype=bool)
    if exclude_labels:
        drop |= universe.label_mask()
    if sampler == "ensemble":
        g = np.where(valid, universe.teacher, -np.inf)
        ref = (
            universe.positive_score
            if exclude_labels and universe.positive_score is not None
            else g.max(axis=1)
        )
        drop |= g > (np.asarray(ref)[:, None] - cfg.margin)
        if not exclude_labels:  # the reference item itself is the positive, not a negative
            drop &= ~_top_mask(g, 1) | (g > ref[:, None])
    return raw & ~drop, raw & drop


def sample_from_pool(
    pool: np.ndarray, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform draws without replacement of ``m`` columns per row from a (n, u) mask.

    Returns ``(cols (n, m) int64, valid (n, m) bool)``; rows with fewer than ``m`` pool items have
    their last slots invalid (to be padded). Random keys + argsort: vectorised over rows.
    """
    keys = rng.random(pool.shape)
    keys[~pool] = np.inf
    cols = np.argsort(keys, axis=1, kind="stable")[:, :m]
    valid = np.take_along_axis(pool, cols, axis=1)
    return cols.astype(np.int64), valid


def corpus_draws(
    corpus_size: int, n: int, m: int, forbidden: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``m`` distinct uniform corpus rows per query avoiding ``forbidden`` rows.

    ``forbidden (n, F)`` int64 corpus rows (−1 = none). Returns ``(rows (n, m), ok (n,))``; ``ok``
    is False for a query that did not get ``m`` rows from one oversampled batch (the caller redraws
    it). Vectorised: oversample, mask forbidden and repeated rows, keep the first ``m``.
    """
    extra = m + 8 + forbidden.shape[1]
    cand = rng.integers(0, corpus_size, size=(n, m + extra))
    bad = (cand[:, :, None] == forbidden[:, None, :]).any(-1)
    order = np.argsort(cand, axis=1, kind="stable")
    sorted_c = np.take_along_axis(cand, order, axis=1)
    dup_sorted = np.zeros_like(bad)
    dup_sorted[:, 1:] = sorted_c[:, 1:] == sorted_c[:, :-1]
    dup = np.zeros_like(bad)
    np.put_along_axis(dup, order, dup_sorted, axis=1)
    good = ~bad & ~dup
    pick = np.argsort(~good, axis=1, kind="stable")[:, :m]
    rows = np.take_along_axis(cand, pick, axis=1)
    ok = np.take_along_axis(good, pick, axis=1).all(axis=1)
    return rows, ok


def _forbidden_rows(sets: list[set], corpus_index: dict[str, int]) -> np.ndarray:
    rows = [[corpus_index[d] for d in s if d in corpus_index] for s in sets]
    width = max([len(r) for r in rows] + [1])
    out = np.full((len(rows), width), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _draw_outside(
    corpus_ids: np.ndarray,
    corpus_index: dict[str, int],
    avoid: list[set],
    need: np.ndarray,
    rng: np.random.Generator,
) -> list[list[str]]:
    """For each query i, ``need[i]`` distinct uniform corpus ids outside ``avoid[i]``."""
    m = int(need.max()) if len(need) else 0
    if m == 0:
        return [[] for _ in avoid]
    forbidden = _forbidden_rows(avoid, corpus_index)
    rows, ok = corpus_draws(len(corpus_ids), len(avoid), m, forbidden, rng)
    for i in np.flatnonzero(~ok):  # rare: redraw one query with the exact complement
        allowed = np.setdiff1d(np.arange(len(corpus_ids)), forbidden[i][forbidden[i] >= 0])
        if len(allowed) < m:
            raise ValueError(f"corpus too small to draw {m} items for query index {i}")
        rows[i] = rng.choice(allowed, size=m, replace=False)
    return [list(corpus_ids[r[: need[i]]]) for i, r in enumerate(rows)]


@dataclass
class SampledGroups:
    """Output of a sampler: arrays for :class:`locent.realdata.store.Groups` plus the pool.

    ``doc_ids (n, k)`` (item 0 the positive), ``inclusion_probs (n, k)`` (ν_q(x); NaN for the
    positive, 0 for padding), ``n_padded (n,)``, ``n_excluded (n,)``, ``pool_ids`` list of n lists
    (``None`` for the whole-corpus pool), ``pool_size (n,)`` (m), ``corpus_size`` N.
    """

    doc_ids: np.ndarray
    inclusion_probs: np.ndarray
    n_padded: np.ndarray
    n_excluded: np.ndarray
    pool_ids: list | None
    pool_size: np.ndarray
    corpus_size: int


def sample_groups(
    universe: Universe, sampler: str, cfg: SamplerConfig, seed: int | None = None
) -> SampledGroups:
    """Build one group per query: ``[positive, k−1 negatives drawn from ν_q]``."""
    if universe.positive is None:
        raise ValueError("universe.positive is required to build groups")
    seed = cfg.seed if seed is None else seed
    rng = np.random.default_rng([seed, SAMPLERS.index(sampler) if sampler in SAMPLERS else 99])
    n, m = universe.n, cfg.k - 1
    corpus_ids = np.asarray(universe.corpus_ids, dtype=object)
    corpus_index = {d: i for i, d in enumerate(corpus_ids)}
    N = len(corpus_ids)
    if sampler == "random":
        excluded_in_corpus = np.array(
            [sum(d in corpus_index for d in s) for s in universe.excluded]
        )
        negs = _draw_outside(corpus_ids, corpus_index, universe.excluded, np.full(n, m), rng)
        doc_ids = np.column_stack([universe.positive, np.array(negs, dtype=object)])
        pool_size = N - excluded_in_corpus
        probs = np.repeat((1.0 / pool_size)[:, None], m, axis=1)
        return SampledGroups(
            doc_ids=doc_ids,
            inclusion_probs=np.column_stack([np.full(n, np.nan), probs]),
            n_padded=np.zeros(n, dtype=np.int64),
            n_excluded=excluded_in_corpus.astype(np.int64),
            pool_ids=None,
            pool_size=pool_size.astype(np.int64),
            corpus_size=N,
        )
    pool, dropped = pool_masks(universe, sampler, cfg, exclude_labels=True)
    cols, valid = sample_from_pool(pool, m, rng)
    negs = np.take_along_axis(universe.doc_ids, cols, axis=1)
    pool_size = pool.sum(axis=1)
    probs = np.where(valid, 1.0 / np.maximum(pool_size, 1)[:, None], 0.0)
    short = np.flatnonzero(~valid.all(axis=1))
    n_padded = (~valid).sum(axis=1).astype(np.int64)
    if len(short):
        avoid = [
            set(universe.excluded[i]) | set(universe.doc_ids[i][pool[i]]) | {universe.positive[i]}
            for i in short
        ]
        pads = _draw_outside(corpus_ids, corpus_index, avoid, n_padded[short], rng)
        for i, pad in zip(short, pads, strict=True):
            negs[i, ~valid[i]] = pad
    pool_ids = [list(ids[mask]) for ids, mask in zip(universe.doc_ids, pool, strict=True)]
    return SampledGroups(
        doc_ids=np.column_stack([universe.positive, negs]),
        inclusion_probs=np.column_stack([np.full(n, np.nan), probs]),
        n_padded=n_padded,
        n_excluded=dropped.sum(axis=1).astype(np.int64),
        pool_ids=pool_ids,
        pool_size=pool_size.astype(np.int64),
        corpus_size=N,
    )


def candidate_pools(universe: Universe, sampler: str, cfg: SamplerConfig) -> list | None:
    """Pools (no label exclusions) for κ/coverage on test queries; ``None`` = the whole corpus."""
    if sampler == "random":
        return None
    pool, _ = pool_masks(universe, sampler, cfg, exclude_labels=False)
    return [list(ids[mask]) for ids, mask in zip(universe.doc_ids, pool, strict=True)]
