"""Pair-wise risk and the misordering loss against the teacher (Definition 2.1): empirical
(per-group means over pairs) and population (a weighted measure over each group's items)."""

from __future__ import annotations

import torch

from . import _backend as B
from . import _pair_kernels as pair_kernels
from . import _validate as V
from ._chunks import map_groups, per_group_tau
from ._special import kl_bernoulli_logits
from .pairs import margins_any_order as margins


def _pair_inputs(student, teacher):
    (s, t), kind = B.wrap((student, "student"), (teacher, "teacher"))
    B.check_same_shape(s, t, "student", "teacher")
    B.check_grouped(s, "student")
    B.check_grouped(t, "teacher")
    return s, t, kind


def _counts(s: torch.Tensor, t: torch.Tensor):
    lead, k = tuple(s.shape[:-1]), s.shape[-1]
    counts = pair_kernels.misordering_counts(s.reshape(-1, k), t.reshape(-1, k))
    return tuple(c.to(s.device).reshape(lead) for c in counts)


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
    return V.finish(misordered.to(s.dtype) / comparable.to(s.dtype), kind, "misordering_rate")


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
    n = t.shape[-1]
    largest = float(t.detach().abs().amax())
    if largest * n < torch.finfo(t.dtype).max:
        mean = t.mean(-1)
    else:  # the sum of n finite losses would overflow although their mean does not
        mean = (t / n).sum(-1)
    return V.finish(mean, kind, "pairwise_risk")


#: the pair losses ℓ(f; q, x, x') of Definitions 2.1 and 2.2 that :func:`population_pairwise_risk`
#: takes: each is symmetric in (x, x') and 0 on the diagonal x = x'
PAIR_LOSSES = ("margin_mse", "soft_ranknet", "misordering")

#: how far a group's weights may sum from 1 (ν_q is a probability vector over the group's items);
#: at least k·eps of the weights' dtype (float16 weights cannot sum to 1 within 1e-6)
WEIGHT_SUM_ATOL = 1e-6


def _pair_products(w: torch.Tensor) -> torch.Tensor:
    """Internal: ``w_i · w_j`` for the pairs i<j, in the order of ``margins_any_order``."""
    k = w.shape[-1]
    return torch.cat([w[..., : k - r] * w[..., r:] for r in range(1, k)], dim=-1)


def _weighted_pair_sum(loss: str, s, t, w, tau, saturate: bool = False):
    """Internal: Σ_{i<j} w_i w_j ℓ(i, j) per group, ``(..., k)`` → ``(...)``, in chunks."""
    lead, k = tuple(s.shape[:-1]), s.shape[-1]

    def per_chunk(sc, tc, wc, tau_c):
        ms, mt = margins(sc), margins(tc)
        if loss == "soft_ranknet":
            pair = kl_bernoulli_logits(mt / tau_c, ms / tau_c, saturate=saturate)
        else:  # misordering: 1[m_f · m_g < 0]; teacher and student ties never count
            pair = (torch.sign(ms) * torch.sign(mt) < 0).to(sc.dtype)
        return (_pair_products(wc) * pair).sum(-1)

    return map_groups(
        per_chunk,
        [s, t, w],
        lead,
        cost_per_group=k * (k - 1) // 2,
        tau=per_group_tau(tau, lead, s) if loss == "soft_ranknet" else 1.0,
    )


def population_pairwise_risk(student, teacher, weights, loss="margin_mse", tau=1.0):
    """Population pair-wise risk R^ν_{ℓ,q}(f) of each group under a weighted measure
    (Definition 2.1, the inner expectation over (x, x') ~ ν_q ⊗ ν_q):

        R^ν_{ℓ,q}(f) = Σ_{i=1..k} Σ_{j=1..k} ν_q(x_i) ν_q(x_j) ℓ(f; q, x_i, x_j)
                     = 2 Σ_{i<j} ν_q(x_i) ν_q(x_j) ℓ(f; q, x_i, x_j)

    (ordered pairs, the diagonal included; every ℓ below is symmetric and 0 on the diagonal).
    Pair losses ``loss``, with m_f = f(q,x_i) − f(q,x_j), m_g likewise:

    | loss           | ℓ(f; q, x_i, x_j)                     | cost  |
    |----------------|---------------------------------------|-------|
    | "margin_mse"   | (m_f − m_g)²                          | O(k)  |
    | "soft_ranknet" | KL(Ber(σ(m_g/τ)) ‖ Ber(σ(m_f/τ)))     | O(k²) |
    | "misordering"  | 1[m_f · m_g < 0] (ties never count)   | O(k²) |

    MarginMSE uses the exact identity, with e = f − g, W = Σ_i ν_i and ē = Σ_i ν_i e_i / W,

        Σ_{i,j} ν_i ν_j (e_i − e_j)² = 2 W Σ_i ν_i (e_i − ē)²   (= 2 Var_ν(f − g) when W = 1),

    in the centred form (no cancellation when the mean residual is large). The others are the
    double sum over the k(k−1)/2 pairs. With uniform weights ν = 1/k the risk is (k−1)/k times
    the mean over the pairs i<j (the per-query estimator of R̂_ℓ). The mean over queries,
    R^ν_ℓ(f) = E_q R^ν_{ℓ,q}(f) for uniform queries, is :func:`pairwise_risk` of the result.

    Inputs:

    | argument | shape           | meaning                                                    |
    |----------|-----------------|------------------------------------------------------------|
    | student  | (..., k)        | student scores f(q, x_i) of the group's k items, k ≥ 2     |
    | teacher  | (..., k)        | teacher scores g(q, x_i), same items in the same order     |
    | weights  | (..., k)        | ν_q(x_i) ≥ 0 summing to 1 ± max(1e-6, k·eps); broadcast   |
    | loss     | str             | one of :data:`PAIR_LOSSES`                                 |
    | tau      | scalar or (...) | label temperature τ > 0 (soft RankNet only, else ignored)  |

    Output ``(...)``. numpy → numpy, torch → torch (autograd kept for the differentiable losses).
    Raises ValueError naming the argument (and group) for a bad loss name, non-finite scores,
    negative or non-finite weights, weights that do not sum to 1 or do not broadcast.
    """
    if loss not in PAIR_LOSSES:
        raise ValueError(f"loss must be one of {list(PAIR_LOSSES)}, got {loss!r}")
    (s, t, w), kind = B.wrap(
        (student, "student"), (teacher, "teacher"), (weights, "weights"), extra=(tau,)
    )
    B.check_same_shape(s, t, "student", "teacher")
    largest = max(B.check_grouped(s, "student"), B.check_grouped(t, "teacher"))
    try:
        broadcast = torch.broadcast_shapes(w.shape, s.shape)
    except RuntimeError:
        broadcast = None
    if w.ndim < 1 or w.shape[-1] != s.shape[-1] or broadcast != s.shape:
        raise ValueError(
            f"weights shape {tuple(w.shape)} does not broadcast to the scores' shape "
            f"{tuple(s.shape)}"
        )
    B.check_values(w, "weights", low=0.0)
    total = w.detach().sum(-1)
    atol = max(WEIGHT_SUM_ATOL, w.shape[-1] * torch.finfo(kind.dtype).eps)
    off = (total - 1.0).abs() > atol
    if bool(off.any()):
        idx = B.first_index(off)
        raise ValueError(
            f"weights: {B.format_group(idx)} sums to {float(total[idx]):.9g}, not 1 (ν_q must be "
            "a probability vector over the group's items)"
        )
    c = V.score_scale(largest, s.dtype)
    if c != 1.0:  # exact power-of-two rescale: residuals and margins stay finite
        s, t = s * c, t * c
    if loss == "margin_mse":
        e = s - t
        mass = w.sum(-1, keepdim=True)
        centred = e - (w * e).sum(-1, keepdim=True) / mass
        risk = 2.0 * mass[..., 0] * (w * centred**2).sum(-1)
        if c != 1.0:
            risk = risk / (c * c)
    else:
        saturate = False
        if loss == "soft_ranknet":
            tau = B.check_tau(tau)
            saturate = V.logits_may_overflow(largest, tau, s.dtype)
            if c != 1.0:  # the same logits m/τ
                tau = tau * c
        risk = 2.0 * _weighted_pair_sum(loss, s, t, w.expand(s.shape), tau, saturate)
    return V.finish(risk, kind, "population_pairwise_risk")
