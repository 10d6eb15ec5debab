"""The locality knob: samplers whose pool ν_q grows from the query's nearest items to the corpus.

THEORY.md §1 and §6: Δ_Q is the essential diameter of the groups a sampler builds; a sampler
that draws from a small neighbourhood of the query gives small groups, one that draws from the
whole corpus gives the corpus's diameter. Three parametrised families (names ``family@value``,
parsed by :func:`locent.realdata.samplers.parse_knob_sampler`):

| sampler | pool (support of ν_q) over the whole corpus of N items |
|---|---|
| ``dense@d`` | the d items of highest MiniLM cosine to the query, skipping judged items |
| ``bm25@d`` | the d items of highest BM25 score, skipping judged items |
| ``ball@r`` | every x with ‖e(q) − e(x)‖ ≤ r (chordal, MiniLM), at least the k − 1 nearest |

"Skipping judged items" (training): the positive and every judged-relevant item are left out of
the ranking *before* the top-d cut, so the pool always holds d negatives and no group is padded
(the listed ``bm25``/``dense`` samplers cut first and exclude after). On test queries (κ, no
labels) nothing is skipped. d = N would be the ``random`` sampler: the knob's last level.

ν_q is uniform over the pool (m items): k − 1 negatives are drawn without replacement, so each has
ν_q(x) = 1/m and Σ_x ν_q(x) = 1 over the pool. The ball's floor (k − 1 nearest) keeps every
group unpadded at small r; the ball is centred on the query (ν_q is a function of q only, the
same at training and at test time).

Everything here is array logic over a :class:`KnobCorpus` (per query: cosine to every corpus
item, BM25 rank of every corpus item, a judged-item mask): no model, testable on a fixture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from locent.realdata.samplers import (
    KNOB_FAMILIES,
    SampledGroups,
    parse_knob_sampler,
    sample_from_pool,
)


@dataclass
class KnobCorpus:
    """The whole corpus as seen from each query of a query set.

    Shapes: ``query_ids (n,)``; ``corpus_ids (N,)`` object; ``cosine (n, N)`` cosine(e(q), e(x))
    of unit-norm encoder embeddings; ``bm25_rank (n, N)`` int64 0-based BM25 rank of every corpus
    item (a permutation of 0..N−1 per row); ``excluded (n, N)`` bool, True on judged items and
    the positive (all False on test queries); ``positive (n,)`` ids or None (test queries).
    """

    query_ids: np.ndarray
    corpus_ids: np.ndarray
    cosine: np.ndarray
    bm25_rank: np.ndarray
    excluded: np.ndarray
    positive: np.ndarray | None = None

    def __post_init__(self):
        n, N = len(self.query_ids), len(self.corpus_ids)
        for name in ("cosine", "bm25_rank", "excluded"):
            shape = np.shape(getattr(self, name))
            if shape != (n, N):
                raise ValueError(f"KnobCorpus.{name} must have shape {(n, N)}; got {shape}")
        if self.positive is not None and len(self.positive) != n:
            raise ValueError(f"KnobCorpus.positive must hold n={n} ids; got {len(self.positive)}")

    @property
    def n(self) -> int:
        return len(self.query_ids)

    @property
    def N(self) -> int:  # noqa: N802 (the corpus size of the paper)
        return len(self.corpus_ids)


def eligible_rank(rank: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """``(n, N)`` 0-based rank among the eligible items of each row (ineligible items: N).

    ``rank (n, N)``: a permutation per row (0 = best); the eligible items keep their order."""
    order = np.argsort(rank, axis=1, kind="stable")
    elig_sorted = np.take_along_axis(eligible, order, axis=1)
    er_sorted = np.cumsum(elig_sorted, axis=1) - 1
    er_sorted = np.where(elig_sorted, er_sorted, rank.shape[1])
    out = np.empty_like(er_sorted)
    np.put_along_axis(out, order, er_sorted, axis=1)
    return out


def cosine_rank(cosine: np.ndarray) -> np.ndarray:
    """``(n, N)`` 0-based rank of each item by decreasing cosine (ties: corpus order)."""
    order = np.argsort(-cosine, axis=1, kind="stable")
    rank = np.empty(cosine.shape, dtype=np.int64)
    np.put_along_axis(rank, order, np.arange(cosine.shape[1], dtype=np.int64)[None, :], axis=1)
    return rank


def check_level(name: str, k: int, corpus_size: int) -> tuple[str, float]:
    """``(family, value)`` of knob sampler ``name``, checked against the group size and corpus.

    A depth below k − 1 cannot fill a group without padding; a depth of N or more is the whole
    corpus (use ``random``)."""
    family, value = parse_knob_sampler(name)
    if family in ("dense", "bm25"):
        if value < k - 1:
            raise ValueError(
                f"knob sampler {name!r}: depth {int(value)} < k − 1 = {k - 1} negatives per group"
            )
        if value >= corpus_size:
            raise ValueError(
                f"knob sampler {name!r}: depth {int(value)} >= corpus size {corpus_size}; "
                "the whole corpus is the 'random' sampler"
            )
    return family, value


def knob_pool(kc: KnobCorpus, name: str, k: int) -> np.ndarray:
    """``(n, N)`` bool: the pool (support of ν_q) of knob sampler ``name`` on every query."""
    family, value = check_level(name, k, kc.N)
    eligible = ~np.asarray(kc.excluded, dtype=bool)
    if family == "bm25":
        pool = eligible_rank(kc.bm25_rank, eligible) < int(value)
    else:
        near = eligible_rank(cosine_rank(kc.cosine), eligible)
        if family == "dense":
            pool = near < int(value)
        else:  # ball: chordal distance ‖a − b‖ = sqrt(2 − 2 cos) for unit vectors
            dist = np.sqrt(np.clip(2.0 - 2.0 * kc.cosine, 0.0, None))
            pool = eligible & ((dist <= value) | (near < k - 1))
    short = np.flatnonzero(pool.sum(axis=1) < k - 1)
    if len(short):
        q = kc.query_ids[short[0]]
        raise ValueError(
            f"knob sampler {name!r}: query {q!r} has only {int(pool[short[0]].sum())} eligible "
            f"items, fewer than k − 1 = {k - 1}"
        )
    return pool


def _rng(name: str, seed: int) -> np.random.Generator:
    family, value = parse_knob_sampler(name)
    # a stream per (seed, family, level): levels do not share draws
    return np.random.default_rng(
        [seed, 1000 + list(KNOB_FAMILIES).index(family), int(value * 1000)]
    )


def sample_knob_groups(kc: KnobCorpus, name: str, k: int, seed: int) -> SampledGroups:
    """One group per query, ``[positive, k − 1 uniform draws from the pool]``.

    ``inclusion_probs (n, k)``: NaN for the positive, 1/m for each negative (m = pool size);
    ``n_padded`` is 0 (the pool holds at least k − 1 items); ``n_excluded`` counts the judged
    items of the corpus (left out of every ranking).
    """
    if kc.positive is None:
        raise ValueError(f"knob sampler {name!r}: training groups need the positives")
    pool = knob_pool(kc, name, k)
    cols, valid = sample_from_pool(pool, k - 1, _rng(name, seed))
    assert valid.all()  # guaranteed by knob_pool's size check
    m = pool.sum(axis=1)
    probs = np.repeat((1.0 / m)[:, None], k - 1, axis=1)
    corpus_ids = np.asarray(kc.corpus_ids, dtype=object)
    n = kc.n
    return SampledGroups(
        doc_ids=np.column_stack([np.asarray(kc.positive, dtype=object), corpus_ids[cols]]),
        inclusion_probs=np.column_stack([np.full(n, np.nan), probs]),
        n_padded=np.zeros(n, dtype=np.int64),
        n_excluded=np.asarray(kc.excluded, dtype=bool).sum(axis=1).astype(np.int64),
        pool_ids=[list(corpus_ids[row]) for row in pool],
        pool_size=m.astype(np.int64),
        corpus_size=kc.N,
    )


def knob_candidate_pools(kc: KnobCorpus, name: str, k: int) -> list[list[str]]:
    """Pools of ``name`` on (test) queries as id lists, for κ and coverage."""
    pool = knob_pool(kc, name, k)
    corpus_ids = np.asarray(kc.corpus_ids, dtype=object)
    return [list(corpus_ids[row]) for row in pool]
