"""Corollary 2.1 on the loss each student is trained with: the κ exponent and the exact check.

Corollary 2.1 (THEORY.md §5): R^μ_q(f) ≤ κ_q^e · R^ν_q(f), where the exponent e is the number of
i.i.d. items the per-query loss depends on:

- e = 2 for a true pair loss, whose per-query risk is the mean over **all** pairs i<j of a
  function of the pair alone (soft RankNet): E_{ν^k} mean_{i<j} ℓ(x_i, x_j) = E_{ν⊗ν} ℓ, and
  μ⊗μ ≤ κ² ν⊗ν pointwise;
- e = k (the group size) for a loss on the whole group. That includes MarginMSE *as trained
  here*: it is anchored on the group's teacher-best item (``draw.positive_first`` puts it at index
  0), so which pairs count depends on all k draws; then μ^k ≤ κ^k ν^k pointwise is all that holds.
  Counterexample to κ² (tests/simulate/test_transfer.py): t = (10, 1, 0), residuals (0, +1, −1),
  μ = (0, ½, ½), ν = (0.1, .45, .45), k = 4: R^μ = 7/3 > κ² R^ν = 2.292.
  Listwise KL and LCE are group losses; hard RankNet averages over the pairs the teacher does not
  tie, a denominator that depends on the whole group, so it is counted as a group loss too.

The exact check on the trained loss (:func:`corollary_trained_loss`), per corollary query:

- MarginMSE (anchored): the population risk over k i.i.d. draws in closed form
  (:func:`anchored_margin_mse_risk`), on μ and on ν over the whole corpus, e = k;
- soft RankNet (all pairs): R^μ ≤ κ² · Σ_{x,x' ∈ S} ν(x)ν(x') ℓ(x, x') with S the support of μ.
  That partial sum is ≤ R^ν (ℓ ≥ 0), so the checked inequality is the corollary's own proof step
  and implies it; it costs |S|² instead of N² pairs per query;
- other losses: no closed form for the group risk; not checked (0 checks, reported).
"""

from __future__ import annotations

import torch
from locent.theory import population_pairwise_risk, transfer_bound

from .tolerance import leq

#: losses whose per-query risk is the mean over all pairs i<j of one pair function (e = 2);
#: every other loss is a group loss (e = k)
ALL_PAIRS_LOSSES = frozenset({"soft_ranknet"})


def transfer_exponent(loss: str, group_size: int) -> int:
    """The exponent e of Corollary 2.1 for ``loss`` as trained here (see module docstring)."""
    if group_size < 2:
        raise ValueError(f"group_size={group_size} must be >= 2")
    return 2 if loss in ALL_PAIRS_LOSSES else int(group_size)


def anchored_margin_mse_risk(
    residual: torch.Tensor, teacher: torch.Tensor, probs: torch.Tensor, k: int
) -> torch.Tensor:
    """Population risk of the anchored MarginMSE over a group of k i.i.d. draws from ``probs``.

    The trained loss of a group is L = (1/(k−1)) Σ_{j ≠ b} (e_b − e_j)² with e = f − g the
    residual and b the group's teacher-best draw. With items sorted by teacher score
    (ascending), F(m) = Σ_{i ≤ m} p_i, and the loss summed over all k positions (the anchor's own
    term and copies of the anchor are 0):

        E[L] = k/(k−1) · Σ_m [F(m)^{k−1} − F(m−1)^{k−1}] · Σ_{i<m} p_i (e_m − e_i)²

    (X_1 = i and the other k−1 draws have maximum m). The inner sum is expanded with cumulative
    sums of the centred residual, so the cost is O(N log N) per query.

    Inputs: ``residual`` ``(..., c, N)`` f − g over the corpus; ``teacher`` ``(c, N)`` g;
    ``probs`` ``(c, N)`` a probability vector per query (may sum to less than 1: then the result
    is the sum over groups drawn inside its support only); ``k`` ≥ 2. Output ``(..., c)``.
    Items with positive mass must have distinct teacher scores (the best item of a group is then
    unique); a tie raises ValueError naming the query.
    """
    if k < 2:
        raise ValueError(f"group size k={k} must be >= 2")
    order = teacher.argsort(-1)  # ascending teacher score
    g_sorted = teacher.gather(-1, order)
    p = probs.gather(-1, order)
    tie = (g_sorted[..., 1:] == g_sorted[..., :-1]) & (p[..., 1:] > 0) & (p[..., :-1] > 0)
    if bool(tie.any()):
        q = int(tie.any(-1).nonzero()[0, 0])
        raise ValueError(f"corollary query {q}: two items with positive mass tie in the teacher")
    e = residual.gather(-1, order.expand_as(residual))
    e = e - (p * e).sum(-1, keepdim=True) / p.sum(-1, keepdim=True).clamp_min(1e-300)
    F = p.cumsum(-1)
    F_before = F - p
    s1 = (p * e).cumsum(-1) - p * e  # Σ_{i<m} p_i e_i
    s2 = (p * e * e).cumsum(-1) - p * e * e  # Σ_{i<m} p_i e_i²
    inner = (e * e * F_before - 2 * e * s1 + s2).clamp_min(0.0)
    weight = F.pow(k - 1) - F_before.pow(k - 1)
    return k / (k - 1) * (weight * inner).sum(-1)


def support_pairs_risk(
    student: torch.Tensor, teacher: torch.Tensor, mu: torch.Tensor, nu: torch.Tensor, tau
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-RankNet risks on the support S of μ: (R^μ, Σ_{S×S} νν ℓ) (see module docstring).

    ``student`` ``(..., c, N)``, ``teacher``/``mu``/``nu`` ``(c, N)``, ``tau`` scalar or
    broadcastable to ``(..., c)``. S is taken as the m items of largest μ (m the largest support
    size over the c queries), a superset of each query's support, which keeps the partial sum
    ≤ R^ν.
    """
    m = int((mu > 0).sum(-1).max())
    idx = mu.topk(m, dim=-1).indices  # (c, m)
    s = student.gather(-1, idx.expand(*student.shape[:-1], m))
    t = teacher.gather(-1, idx).expand_as(s)
    mass = nu.gather(-1, idx)
    total = mass.sum(-1, keepdim=True)
    # population_pairwise_risk needs a probability vector: normalise, then scale back by ν(S)²
    # (a query with ν(S) = 0 gets uniform placeholder weights and a zero partial sum)
    safe = torch.where(total > 0, mass / total.clamp_min(1e-300), torch.full_like(mass, 1.0 / m))
    mu_s = mu.gather(-1, idx)
    r_mu = population_pairwise_risk(s, t, mu_s / mu_s.sum(-1, keepdim=True), "soft_ranknet", tau)
    r_nu = population_pairwise_risk(s, t, safe, "soft_ranknet", tau) * total.squeeze(-1) ** 2
    return r_mu, r_nu


@torch.no_grad()
def corollary_trained_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    mu: torch.Tensor,
    nu: torch.Tensor,
    kappa: torch.Tensor,
    losses,
    taus,
    k: int,
):
    """Corollary 2.1 exactly on each configuration's own loss, over the corpus.

    Inputs: ``student`` ``(S, A, c, N)`` scores, ``teacher`` ``(c, N)``, ``mu``/``nu`` ``(c, N)``,
    ``kappa`` ``(c,)`` κ_q, ``losses``/``taus`` length A, ``k`` the group size.
    Returns ``(checks, violations)`` ``(S, A)`` int64: c checks per configuration whose loss has an
    exact form here (MarginMSE, soft RankNet), else 0. A check is R^μ_q ≤ κ_q^e · R^ν_q
    (``transfer_bound`` with e = :func:`transfer_exponent`), up to float rounding.
    """
    S, A, c, _ = student.shape
    checks = torch.zeros((S, A), dtype=torch.int64, device=student.device)
    bad = torch.zeros_like(checks)
    for a, name in enumerate(losses):
        f = student[:, a]  # (S, c, N)
        if name == "margin_mse":
            res = f - teacher
            r_mu = anchored_margin_mse_risk(res, teacher, mu, k)
            r_nu = anchored_margin_mse_risk(res, teacher, nu, k)
        elif name == "soft_ranknet":
            r_mu, r_nu = support_pairs_risk(f, teacher, mu, nu, float(taus[a]))
        else:
            continue
        e = transfer_exponent(name, k)
        bound = transfer_bound(r_nu, kappa.to(r_nu.dtype).expand_as(r_nu), group_size=e)
        checks[:, a] = c
        bad[:, a] = (~leq(r_mu, bound)).to(torch.int64).sum(-1)
    return checks, bad
