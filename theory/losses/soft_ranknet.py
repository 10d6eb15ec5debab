"""Soft RankNet (pairwise KL): the Bregman divergence of softplus on pair logits."""

from __future__ import annotations

from .. import _validate as V
from .._chunks import per_group_tau
from .._pair_kernels import soft_ranknet_mean
from ._common import student_teacher


def soft_ranknet(student, teacher, tau=1.0):
    """Soft RankNet per query: mean over pairs i<j of KL(Ber(p) ‖ Ber(r)),

        p = σ((t_i − t_j)/τ),  r = σ((s_i − s_j)/τ)
        KL(Ber(p) ‖ Ber(r)) = D_sp(m_f/τ, m_g/τ) = BCE(p, r) − h(p)

    evaluated as σ(a)[sp(−b) − sp(−a)] + σ(−a)[sp(b) − sp(a)] with a = m_g/τ, b = m_f/τ, exact at
    any margin gap (0.5, 20, 1000). Reference: Burges et al., "Learning to Rank using Gradient
    Descent" (2005) with soft labels; THEORY.md Definition 2.2.

    Inputs:

    | argument | shape    | layout                                         |
    |----------|----------|------------------------------------------------|
    | student  | (..., k) | student scores of the group's k items          |
    | teacher  | (..., k) | teacher scores, same items in the same order   |
    | tau      | scalar or (...) | label temperature τ > 0                 |

    Output ``(...)``. numpy → numpy, torch → torch with autograd. k ≥ 2. Finite extreme scores:
    margins never overflow; a teacher margin/τ beyond the dtype's range is the saturated p ∈ {0, 1}
    (exact); a student one leaves the loss undetermined: ValueError naming the group.
    """
    s, t, kind, largest = student_teacher(student, teacher, tau)
    lead, k = tuple(s.shape[:-1]), s.shape[-1]
    tau = per_group_tau(tau, lead, s)
    overflow = V.logits_may_overflow(largest, tau, s.dtype)  # resolve saturated ±inf logits
    c = V.score_scale(largest, s.dtype)
    if c != 1.0:  # exact power-of-two rescale of scores and τ: the same logits, finite margins
        s, t, tau = s * c, t * c, tau * c
    out = soft_ranknet_mean(s.reshape(-1, k), t.reshape(-1, k), tau, saturate=overflow)
    return V.finish(out.reshape(lead), kind, "soft_ranknet")
