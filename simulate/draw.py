"""Step 1 of a chunk, *draw*: the sampler's measures and every sample the chunk will use.

One call per chunk (one sampler) asks the sampler and the teacher for everything at once, so
training and verification never go back to them:

- the population measures of the sampler (:class:`SamplerPopulation`): ν ``(Q, N)``,
  μ ``(Q, N)`` (test-time top-m), κ_q = ``theory.density_ratio(μ, ν)`` and the population
  Δ_q = ess sup over ν_q⊗ν_q of d (``samplers.support_diameter``), with Δ_Q = max_q Δ_q
  (P_Q is uniform over the query pool);
- the training samples, one per n (:class:`Sample`, all seeds stacked), the fresh evaluation
  samples from ν and μ, and the teacher's scores over the whole corpus for the first
  ``corollary_queries`` pool queries (:class:`CorpusScores`, Corollary 2.1).

A sample is n queries i.i.d. from P_Q, each with k i.i.d. items from ν_q; the teacher's best item
of each group is moved to index 0 (the labelled positive of LCE; every other loss is permutation
invariant). Each seed replicate has its own generator seeded from
``(seed, sampler label, role, [n,] replicate)`` (:func:`stable_seed`), so a chunk's draws do not
depend on which other chunks ran, nor on the device the chunk trains on (draws happen on the CPU).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
import torch
from locent.theory import density_ratio

from .presets import Preset
from .samplers import (
    SamplerSpec,
    draw_groups,
    inclusion_probabilities,
    support_diameter,
    target_measure,
)
from .spaces import Space
from .teachers import Teacher, teacher_scores

#: every simulated tensor is float64: the verifier checks inequalities to float64 rounding
DTYPE = torch.float64


def stable_seed(*keys) -> int:
    """A 63-bit seed from the keys (stable across processes, unlike ``hash``)."""
    digest = hashlib.sha256("|".join(map(str, keys)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class SamplerPopulation(NamedTuple):
    """The sampler's measures over the corpus (numpy float64).

    ``nu``, ``mu`` ``(Q, N)`` row-stochastic; ``kappa_q`` ``(Q,)`` (∞ where μ_q is not ≪ ν_q);
    ``kappa_Q`` = max_q κ_q; ``delta_q`` ``(Q,)`` population Δ_q; ``delta_Q`` = max_q Δ_q;
    ``denoised_items`` items removed by the ensemble's teacher-margin de-noising.
    """

    nu: np.ndarray
    mu: np.ndarray
    kappa_q: np.ndarray
    kappa_Q: float
    delta_q: np.ndarray
    delta_Q: float
    denoised_items: int


class Sample(NamedTuple):
    """S seed replicates of one sample (float64 tensors unless stated).

    ``q`` ``(S, n, D)`` queries; ``x`` ``(S, n, k, D)`` group items (teacher-best first);
    ``g`` ``(S, n, k)`` teacher scores; ``query_index`` ``(S, n)`` int64 pool indices.
    """

    q: torch.Tensor
    x: torch.Tensor
    g: torch.Tensor
    query_index: torch.Tensor

    def to(self, device: torch.device) -> Sample:
        """The same sample on ``device``."""
        return Sample(*(t.to(device) for t in self))


class CorpusScores(NamedTuple):
    """The whole corpus for the first c pool queries (Corollary 2.1, exact over the corpus).

    ``q`` ``(c, D)``; ``x`` ``(c, N, D)`` (the corpus, expanded); ``g`` ``(c, N)`` teacher scores;
    ``mu``, ``nu`` ``(c, N)``; ``kappa`` ``(c,)`` κ_q.
    """

    q: torch.Tensor
    x: torch.Tensor
    g: torch.Tensor
    mu: torch.Tensor
    nu: torch.Tensor
    kappa: torch.Tensor

    def to(self, device: torch.device) -> CorpusScores:
        """The same scores on ``device``."""
        return CorpusScores(*(t.to(device) for t in self))


class ChunkDraws(NamedTuple):
    """Every sample of one chunk: ``train`` one :class:`Sample` per n (``preset.ns`` order),
    ``eval_nu`` / ``eval_mu`` the fresh samples of ``eval_queries`` queries from ν / μ,
    ``corpus`` the corpus-wide teacher scores (:class:`CorpusScores`)."""

    train: tuple[Sample, ...]
    eval_nu: Sample
    eval_mu: Sample
    corpus: CorpusScores

    def to(self, device: torch.device) -> ChunkDraws:
        """The same draws on ``device`` (drawn on the CPU, trained and verified on ``device``)."""
        return ChunkDraws(
            tuple(s.to(device) for s in self.train),
            self.eval_nu.to(device),
            self.eval_mu.to(device),
            self.corpus.to(device),
        )


def sampler_population(
    preset: Preset, space: Space, teacher: Teacher, spec: SamplerSpec
) -> SamplerPopulation:
    """ν, μ, κ and the population Δ of one sampler (see :class:`SamplerPopulation`)."""
    nu, info = inclusion_probabilities(spec, space.queries, space.items, teacher)
    mu = target_measure(space.queries, space.items, preset.target_m)
    kappa_q = np.asarray(density_ratio(mu, nu), dtype=np.float64)
    delta_q = support_diameter(space.items, nu)
    return SamplerPopulation(
        nu=nu,
        mu=mu,
        kappa_q=kappa_q,
        kappa_Q=float(kappa_q.max()),
        delta_q=delta_q,
        delta_Q=float(delta_q.max()),
        denoised_items=int(info["denoised_items"]),
    )


def positive_first(groups: torch.Tensor, scores: torch.Tensor):
    """Move each group's teacher-best item to index 0 (LCE's positive); the displaced item
    takes the best's place. ``groups``, ``scores`` ``(..., k)`` → both reordered."""
    k = groups.shape[-1]
    best = scores.argmax(-1, keepdim=True)
    perm = torch.arange(k).expand(groups.shape).clone()
    perm.scatter_(-1, best, 0)
    perm[..., :1] = best
    return groups.gather(-1, perm), scores.gather(-1, perm)


def draw_sample(
    space: Space, teacher: Teacher, probs: np.ndarray, n: int, k: int, seeds: list[int]
) -> Sample:
    """One sample per seed, stacked: n queries from P_Q (uniform over the pool), k i.i.d. items
    from ``probs`` ``(Q, N)`` each. Returns a :class:`Sample` with ``S = len(seeds)``.

    A loop over the S replicates (never over queries): each draws from its own generator, and the
    teacher scores each replicate's ``(n, k)`` items in one call. (One call over all
    ``(S, n, k)`` would be a different einsum, whose rounding differs for some n and would move
    every later number by ulps.)
    """
    probs_t = torch.as_tensor(probs)
    items = torch.as_tensor(space.items, dtype=DTYPE)
    queries = torch.as_tensor(space.queries, dtype=DTYPE)
    Q = queries.shape[0]
    query_index, groups, scores = [], [], []
    for seed in seeds:
        gen = torch.Generator().manual_seed(seed)
        qi = torch.randint(0, Q, (n,), generator=gen)
        group = draw_groups(probs_t, qi, k, gen)
        query_index.append(qi)
        groups.append(group)
        scores.append(teacher_scores(teacher, queries[qi], items[group]))
    qi = torch.stack(query_index)  # (S, n)
    groups, g = positive_first(torch.stack(groups), torch.stack(scores))  # (S, n, k) both
    return Sample(queries[qi], items[groups], g, qi)


def corpus_scores(
    space: Space, teacher: Teacher, population: SamplerPopulation, c: int
) -> CorpusScores:
    """The teacher over the whole corpus for the first ``c`` pool queries (with μ, ν, κ)."""
    items = torch.as_tensor(space.items, dtype=DTYPE)
    q = torch.as_tensor(space.queries[:c], dtype=DTYPE)
    x = items.expand(c, *items.shape)
    return CorpusScores(
        q=q,
        x=x,
        g=teacher_scores(teacher, q, x),
        mu=torch.as_tensor(population.mu[:c]),
        nu=torch.as_tensor(population.nu[:c]),
        kappa=torch.as_tensor(population.kappa_q[:c]),
    )


def draw_chunk(
    preset: Preset,
    space: Space,
    teacher: Teacher,
    population: SamplerPopulation,
    label: str,
    seed: int,
) -> ChunkDraws:
    """Every sample of the chunk of sampler ``label`` (see :class:`ChunkDraws`)."""
    k, S = preset.group_size, preset.seeds

    def fresh(probs, role):
        seeds = [stable_seed(seed, label, role, s) for s in range(S)]
        return draw_sample(space, teacher, probs, preset.eval_queries, k, seeds)

    train = tuple(
        draw_sample(
            space,
            teacher,
            population.nu,
            n,
            k,
            [stable_seed(seed, label, "train", n, s) for s in range(S)],
        )
        for n in preset.ns
    )
    return ChunkDraws(
        train=train,
        eval_nu=fresh(population.nu, "nu"),
        eval_mu=fresh(population.mu, "mu"),
        corpus=corpus_scores(space, teacher, population, preset.corollary_queries),
    )
