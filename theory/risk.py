"""Pair-wise risk and the misordering loss against the teacher (Definition 2.1)."""

from __future__ import annotations

import torch

from . import _backend as B
from ._chunks import map_groups
from .pairs import margins_any_order as margins


def _pair_inputs(student, teacher):
    (s, t), kind = B.wrap((student, "student"), (teacher, "teacher"))
    B.check_same_shape(s, t, "student", "teacher")
    B.check_grouped(s, "student")
    B.check_grouped(t, "teacher")
    return s, t, kind


def _per_chunk_counts(sc: torch.Tensor, tc: torch.Tensor):
    ds = torch.sign(margins(sc))
    dt = torch.sign(margins(tc))
    teacher_differs = dt != 0
    comparable = teacher_differs.sum(-1)
    misordered = (ds * dt < 0).sum(-1)
    ties = ((ds == 0) & teacher_differs).sum(-1)
    return misordered, comparable, ties


def _counts(s: torch.Tensor, t: torch.Tensor):
    k = s.shape[-1]
    return map_groups(
        _per_chunk_counts,
        [s.detach(), t.detach()],
        tuple(s.shape[:-1]),
        cost_per_group=k * (k - 1) // 2,
    )


def misordering_counts(student, teacher):
    """Per group: (misordered, comparable, student_ties) pair counts.

    comparable   = #{i<j : t_i ≠ t_j}                      (teacher ties never count)
    misordered   = #{i<j : (s_i − s_j)(t_i − t_j) < 0}     (signs compared: no overflow)
    student_ties = #{i<j : t_i ≠ t_j, s_i = s_j}           (reported, not misorders)

    Inputs: ``student``, ``teacher`` ``(..., k)`` of the same shape, k ≥ 2. Outputs three int64
    arrays ``(...)``. A group with ``comparable == 0`` is left to the caller (see
    :func:`misordering_rate`).
    """
    s, t, kind = _pair_inputs(student, teacher)
    counts = _counts(s, t)
    return tuple(B.restore(c, kind) for c in counts)


def misordering_rate(student, teacher):
    """Empirical misordering risk R̂_mis of each group: misordered / comparable pairs.

    Raises ValueError naming the first group whose teacher ties every pair (no comparable pair:
    the rate is undefined, never a silent 0/0). Inputs as :func:`misordering_counts`; output
    ``(...)`` floating.
    """
    s, t, kind = _pair_inputs(student, teacher)
    misordered, comparable, _ = _counts(s, t)
    none = comparable == 0
    if bool(none.any()):
        idx = B.first_index(none)
        raise ValueError(
            f"teacher: every pair is tied in {B.format_group(idx)}, so no pair is comparable "
            f"and the misordering rate is undefined ({int(none.sum())} such group(s))"
        )
    return B.restore(misordered.to(s.dtype) / comparable.to(s.dtype), kind)


def pairwise_risk(per_query_loss):
    """R̂_ℓ = (1/n) Σ_q (per-query mean over the group's pairs): the mean over the last axis.

    Input ``(..., n)`` per-query losses (e.g. a loss function's output over n queries); output
    ``(...)``. Non-finite values raise, naming the first bad query.
    """
    (t,), kind = B.wrap((per_query_loss, "per_query_loss"))
    if t.ndim < 1 or t.shape[-1] < 1:
        raise ValueError(
            f"per_query_loss: expected shape (..., n) with n >= 1, got {tuple(t.shape)}"
        )
    if not bool(torch.isfinite(t.detach()).all()):
        idx = B.first_index(~torch.isfinite(t.detach()))
        raise ValueError(f"per_query_loss: non-finite value at query index {idx}")
    return B.restore(t.mean(-1), kind)
