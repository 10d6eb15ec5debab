"""Samplers (miners) with a locality knob and exact inclusion probabilities ν_q over the corpus.

Every sampler is a row-stochastic matrix ``nu`` of shape ``(Q, N)``: ν_q(x) is the probability
that one draw for query q is item x; a group of k training items is k i.i.d. draws from ν_q
(THEORY.md §1: the i.i.d. unit is the query, its group is drawn from ν_q). Distances are
d(q, x) = ‖q − x‖₂ (chordal on the sphere); the similarity of the softmax sampler is −d²/2, which
on the sphere is ⟨q, x⟩ − 1.

- ``random`` (no knob): ν_q(x) = 1/N; no locality (Δ_q = corpus diameter).
- ``knn`` (k): 1/k on the k nearest items (ties by index); small k = local.
- ``ball`` (r): uniform on {x : d(q,x) ≤ r}, so Δ_q ≤ 2r; small r = local.
- ``softmax`` (T): ν_q(x) ∝ exp(−d(q,x)²/(2T)); small T = local.
- ``teacher_topk`` (k): 1/k on the teacher's k best items ("teacher-mined").
- ``ensemble`` (members, margin): the mean of the members' ν_q (their "union"); with ``margin``,
  items other than the teacher's best whose score is ≥ g(q, x*) − margin are removed
  (teacher-margin de-noising of likely false negatives) and the row renormalised.

The target measure μ_q (``target_measure``) is uniform over the test-time top-m nearest
neighbours of q; κ_q then comes from ``locent.theory.density_ratio(mu, nu)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from locent.theory import essential_diameter

from .teachers import Teacher, teacher_scores

KNOBS = {"random": None, "knn": "k", "ball": "r", "softmax": "T", "teacher_topk": "k"}


class SamplerSpec(NamedTuple):
    """A sampler: ``name``, ``knob`` value (None for random/ensemble), ``members`` (ensemble),
    ``margin`` (ensemble de-noising; None = off)."""

    name: str
    knob: float | None = None
    members: tuple = ()
    margin: float | None = None

    @property
    def label(self) -> str:
        if self.name == "ensemble":
            inner = "+".join(m.label for m in self.members)
            tail = f",margin={self.margin:g}" if self.margin is not None else ""
            return f"ensemble({inner}{tail})"
        if self.knob is None:
            return self.name
        return f"{self.name}({KNOBS[self.name]}={self.knob:g})"

    @property
    def knob_name(self) -> str | None:
        return KNOBS.get(self.name)


def validate_sampler(spec: SamplerSpec, n_items: int) -> None:
    """Raise ValueError naming the sampler and the bad value."""
    if spec.name == "ensemble":
        if not spec.members:
            raise ValueError("sampler ensemble: needs at least one member")
        if spec.margin is not None and not spec.margin >= 0:
            raise ValueError(f"sampler {spec.label}: margin={spec.margin} must be >= 0")
        for member in spec.members:
            if member.name == "ensemble":
                raise ValueError(f"sampler {spec.label}: nested ensembles are not supported")
            validate_sampler(member, n_items)
        return
    if spec.name not in KNOBS:
        raise ValueError(f"unknown sampler {spec.name!r}; known: {sorted(KNOBS) + ['ensemble']}")
    knob = spec.knob
    if spec.name == "random":
        if knob is not None:
            raise ValueError("sampler random takes no knob")
        return
    if knob is None or not np.isfinite(knob):
        raise ValueError(f"sampler {spec.name}: knob {KNOBS[spec.name]} must be a finite number")
    if spec.name in ("knn", "teacher_topk") and not (
        float(knob).is_integer() and 1 <= knob <= n_items
    ):
        raise ValueError(f"sampler {spec.name}: k={knob} must be an integer in [1, N={n_items}]")
    if spec.name in ("ball", "softmax") and not knob > 0:
        raise ValueError(f"sampler {spec.name}: {KNOBS[spec.name]}={knob} must be > 0")


def distances(queries: np.ndarray, items: np.ndarray) -> np.ndarray:
    """d(q, x) = ‖q − x‖₂, ``(Q, D), (N, D) → (Q, N)`` float64 (clipped at 0 before the root)."""
    sq = (queries**2).sum(-1)[:, None] + (items**2).sum(-1)[None, :] - 2.0 * queries @ items.T
    return np.sqrt(np.maximum(sq, 0.0))


def _uniform_on_top(order_keys: np.ndarray, k: int) -> np.ndarray:
    """Uniform over the k smallest keys per row (stable: ties broken by item index)."""
    Q, N = order_keys.shape
    idx = np.argsort(order_keys, axis=1, kind="stable")[:, :k]
    nu = np.zeros((Q, N))
    np.put_along_axis(nu, idx, 1.0 / k, axis=1)
    return nu


def inclusion_probabilities(
    spec: SamplerSpec, queries: np.ndarray, items: np.ndarray, teacher: Teacher | None = None
) -> tuple[np.ndarray, dict]:
    """ν of shape ``(Q, N)`` (rows sum to 1) and a dict of counts (e.g. items de-noised).

    Raises ValueError naming the query when a row would be empty (e.g. a ball with no item).
    """
    queries = np.asarray(queries, dtype=np.float64)
    items = np.asarray(items, dtype=np.float64)
    Q, N = queries.shape[0], items.shape[0]
    validate_sampler(spec, N)
    info: dict = {"denoised_items": 0}
    if spec.name == "random":
        return np.full((Q, N), 1.0 / N), info
    if spec.name == "knn":
        return _uniform_on_top(distances(queries, items), int(spec.knob)), info
    if spec.name == "ball":
        inside = distances(queries, items) <= spec.knob
        counts = inside.sum(1)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise ValueError(
                f"sampler {spec.label}: query index {int(empty[0])} has no item within "
                f"r={spec.knob:g} ({empty.size} such queries)"
            )
        return inside / counts[:, None], info
    if spec.name == "softmax":
        logits = -(distances(queries, items) ** 2) / (2.0 * spec.knob)
        logits -= logits.max(1, keepdims=True)
        w = np.exp(logits)
        return w / w.sum(1, keepdims=True), info
    if spec.name == "teacher_topk":
        if teacher is None:
            raise ValueError("sampler teacher_topk needs the teacher")
        g = teacher_scores(teacher, queries, np.broadcast_to(items, (Q, N, items.shape[1])))
        return _uniform_on_top(-g, int(spec.knob)), info
    # ensemble: the union as a mixture of its members, then optional de-noising
    nu = np.zeros((Q, N))
    for member in spec.members:  # a handful of members, each vectorised over queries
        nu += inclusion_probabilities(member, queries, items, teacher)[0]
    nu /= len(spec.members)
    if spec.margin is not None:
        if teacher is None:
            raise ValueError(f"sampler {spec.label}: de-noising needs the teacher")
        g = teacher_scores(teacher, queries, np.broadcast_to(items, (Q, N, items.shape[1])))
        best = g.argmax(1)
        noisy = g >= g[np.arange(Q), best][:, None] - spec.margin
        noisy[np.arange(Q), best] = False
        removed = noisy & (nu > 0)
        info["denoised_items"] = int(removed.sum())
        nu = np.where(noisy, 0.0, nu)
        mass = nu.sum(1)
        empty = np.flatnonzero(mass == 0)
        if empty.size:
            raise ValueError(
                f"sampler {spec.label}: de-noising left query index {int(empty[0])} "
                "with no candidate"
            )
        nu = nu / mass[:, None]
    return nu, info


def target_measure(queries: np.ndarray, items: np.ndarray, m: int) -> np.ndarray:
    """μ of shape ``(Q, N)``: uniform over the m nearest items of each query (test-time top-m)."""
    N = np.asarray(items).shape[0]
    if not 1 <= m <= N:
        raise ValueError(f"target measure: m={m} must be in [1, N={N}]")
    return _uniform_on_top(distances(np.asarray(queries), np.asarray(items)), int(m))


def draw_groups(
    probs: torch.Tensor, query_index: torch.Tensor, k: int, generator: torch.Generator
) -> torch.Tensor:
    """k i.i.d. draws from ν_q for each query index: ``(Q, N), (n,) → (n, k)`` item indices."""
    if k < 2:
        raise ValueError(f"group size k={k} must be >= 2 (pairs are needed)")
    return torch.multinomial(probs[query_index], k, replacement=True, generator=generator)


def support_diameter(items: np.ndarray, probs: np.ndarray, chunk_pairs: int = 2_000_000):
    """Population Δ_q = ess sup over ν_q⊗ν_q of d(x, x'), per query ``(Q,)``.

    Each query's support is padded to a common size by repeating one of its own items
    (duplicates do not change a maximum) and passed to ``locent.theory.essential_diameter`` with
    α = 1, in chunks of queries. Queries sharing one support (random, softmax) are measured once.
    """
    items = np.asarray(items, dtype=np.float64)
    support = np.asarray(probs) > 0
    unique, inverse = np.unique(support, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    sizes = unique.sum(1)
    smax = int(sizes.max())
    # padded index table: row u lists its support, then repeats its first item
    order = np.argsort(~unique, axis=1, kind="stable")[:, :smax]
    pos = np.arange(smax)[None, :]
    padded = np.where(pos < sizes[:, None], order, order[:, :1])
    per_chunk = max(1, chunk_pairs // max(smax * smax, 1))
    out = np.empty(unique.shape[0])
    for start in range(0, unique.shape[0], per_chunk):
        block = padded[start : start + per_chunk]
        out[start : start + per_chunk] = np.asarray(
            essential_diameter(items[block], alpha=1.0), dtype=np.float64
        )
    return out[inverse]
