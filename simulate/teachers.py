"""Teachers with a computed Lipschitz constant; the label temperature τ is the entropy knob.

Score (THEORY.md §1, g(q, x) ∈ ℝ):

    g(q, x) = a·⟨q, x⟩ + b·Σ_j c_j · sin(ω·⟨p_j, x⟩ + ⟨r_j, q⟩)

with fixed random projections P = (p_j) ∈ ℝ^{J×D} (entries N(0, 1/D)), R = (r_j) ∈ ℝ^{J×D}
(entries N(0, 1/D)) and weights c_j = 1/√J. The sine term is smooth but not linear in any
feature of the student class (``students.py``), so the best student has R(f*) > 0.

Lipschitz constant in x (Euclidean = chordal on the sphere), for every q in the query pool:
∇_x g = a·q + b·ω·Pᵀ (c ⊙ cos(·)), and ‖Pᵀ v‖ ≤ ‖P‖_op ‖v‖ ≤ ‖P‖_op ‖c‖₂, so

    L_g = |a|·max_q ‖q‖₂ + |b|·ω·‖P‖_op·‖c‖₂

(mean-value theorem along the segment x→x', which stays in ℝ^D where g is defined). Hence
|m_g(x, x')| = |g(q,x) − g(q,x')| ≤ L_g·d(x, x') for every pair, which Lemma B and Lemma C use.
The temperature τ does not change g; it enters p = σ(m_g/τ) (the labels and the entropy H(g)).
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

import numpy as np
import torch


class Teacher(NamedTuple):
    """A fixed teacher.

    Fields: ``a``, ``b``, ``omega`` (scalars), ``P`` ``(J, D)``, ``R`` ``(J, D)``, ``c`` ``(J,)``
    (float64 numpy), ``lipschitz`` = L_g over the query pool it was built for, ``seed``.
    """

    a: float
    b: float
    omega: float
    P: np.ndarray
    R: np.ndarray
    c: np.ndarray
    lipschitz: float
    seed: int


def lipschitz_constant(a: float, b: float, omega: float, P, c, query_norm_max: float) -> float:
    """L_g = |a|·max‖q‖ + |b|·ω·‖P‖_op·‖c‖₂ (see module docstring)."""
    op = float(np.linalg.norm(np.asarray(P, dtype=np.float64), ord=2))
    return float(abs(a) * query_norm_max + abs(b) * abs(omega) * op * np.linalg.norm(np.asarray(c)))


def make_teacher(
    queries: np.ndarray,
    *,
    a: float = 1.0,
    b: float = 1.0,
    n_proj: int = 8,
    omega: float = 3.0,
    seed: int = 0,
) -> Teacher:
    """A teacher for the query pool ``queries`` ``(Q, D)``.

    Raises ValueError for non-finite or out-of-range parameters (naming the parameter).
    """
    queries = np.asarray(queries, dtype=np.float64)
    if queries.ndim != 2:
        raise ValueError(f"queries must have shape (Q, D), got {queries.shape}")
    for name, value in (("a", a), ("b", b), ("omega", omega)):
        if not np.isfinite(value):
            raise ValueError(f"teacher parameter {name}={value} must be finite")
    if n_proj < 1:
        raise ValueError(f"teacher parameter n_proj={n_proj} must be >= 1")
    D = queries.shape[1]
    rng = np.random.default_rng([int(seed), zlib.crc32(b"teacher")])
    P = rng.standard_normal((n_proj, D)) / np.sqrt(D)
    R = rng.standard_normal((n_proj, D)) / np.sqrt(D)
    c = np.full(n_proj, 1.0 / np.sqrt(n_proj))
    qmax = float(np.linalg.norm(queries, axis=-1).max())
    lip = lipschitz_constant(a, b, omega, P, c, qmax)
    return Teacher(float(a), float(b), float(omega), P, R, c, lip, int(seed))


def teacher_scores(teacher: Teacher, q, x):
    """g(q, x) for queries ``q`` ``(..., D)`` and items ``x`` ``(..., k, D)`` → ``(..., k)``.

    numpy in → numpy out; torch in → torch out (dtype/device of ``x``).
    """
    if isinstance(x, torch.Tensor):
        P = torch.as_tensor(teacher.P, dtype=x.dtype, device=x.device)
        R = torch.as_tensor(teacher.R, dtype=x.dtype, device=x.device)
        c = torch.as_tensor(teacher.c, dtype=x.dtype, device=x.device)
        q = torch.as_tensor(q, dtype=x.dtype, device=x.device)
        lin = torch.einsum("...d,...kd->...k", q, x)
        phase = teacher.omega * torch.einsum("jd,...kd->...kj", P, x)
        phase = phase + torch.einsum("jd,...d->...j", R, q).unsqueeze(-2)
        return teacher.a * lin + teacher.b * torch.einsum("...kj,j->...k", torch.sin(phase), c)
    q = np.asarray(q, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if q.shape[-1] != x.shape[-1] or x.ndim < 2:
        raise ValueError(f"teacher_scores: q {q.shape} and x {x.shape} do not match (..., k, D)")
    lin = np.einsum("...d,...kd->...k", q, x)
    phase = teacher.omega * np.einsum("jd,...kd->...kj", teacher.P, x)
    phase = phase + np.einsum("jd,...d->...j", teacher.R, q)[..., None, :]
    return teacher.a * lin + teacher.b * np.einsum("...kj,j->...k", np.sin(phase), teacher.c)
