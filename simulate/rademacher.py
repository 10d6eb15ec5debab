"""Theorem 2.1 (iii) with teeth: a Monte-Carlo estimate of the empirical Rademacher complexity of
the student class on the training sample, against the bound's complexity term.

The complexity term of (iii) is 2ρ · WΛΔ_Q/√n, where WΛΔ_Q/√n bounds the empirical Rademacher
complexity of the pair-margin class {⟨w, Δϕ_i⟩ : ‖w‖ ≤ W} (one pair of each of the n queries):

    Rad_n = E_σ sup_{‖w‖≤W} (1/n) Σ_i σ_i ⟨w, Δϕ_i⟩ = W · E_σ ‖Σ_i σ_i Δϕ_i‖ / n      (closed form)
          ≤ W √(Σ_i ‖Δϕ_i‖²) / n                                                   (Jensen)
          ≤ W Λ Δ_Q / √n                                                           (‖Δϕ_i‖ ≤ ΛΔ_Q)

with Δϕ_i = ϕ(q_i, x_a) − ϕ(q_i, x_b) = [Δx, q_i ⊙ Δx] for the pair (a, b) of group i. The
per-query loss is a mean over the pairs the loss uses (all i<j for soft RankNet, (best, j) for
the anchored MarginMSE), and the proof bounds its complexity by the mean over those pair positions
p of Rad_n at p (subadditivity). This module estimates that mean with ``draws`` seeded sign
vectors σ ∈ {±1}^n (the same σ for every pair position and every seed replicate) and returns it
per unit W (multiply by W), with its Monte-Carlo standard error and the Jensen step.

The **tightness ratio** of a run is (2ρWΛΔ_Q/√n) / (2ρ · W·Ê‖Σσ_iΔϕ_i‖/n) ≥ 1 (up to Monte-Carlo
error): how much the bound's complexity term overstates the class's measured complexity on this
sample. A constant that is too small by the factor c (ρ, W, Λ or Δ scaled by c < 1) makes the term
smaller than the measured complexity on every run whose ratio is below 1/c
(``mutation.mutated_bound_iii``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

#: pair layouts of the losses: "all" pairs i<j, or "anchored" pairs (0, j) with the group's
#: teacher-best item at index 0 (``draw.positive_first``)
PAIR_LAYOUT = {
    "soft_ranknet": "all",
    "hard_ranknet": "all",
    "margin_mse": "anchored",
    "lce": "anchored",
    "listwise_kl": "all",
}
#: sign draws of the Monte-Carlo estimate (standard error ≈ 0.5% of the estimate)
SIGN_DRAWS = 2000


def pair_positions(k: int, layout: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Index pairs (a, b) of a group of k: ``"all"`` i<j, ``"anchored"`` (0, j) for j ≥ 1."""
    if layout == "all":
        a, b = torch.triu_indices(k, k, 1)
        return a, b
    if layout == "anchored":
        return torch.zeros(k - 1, dtype=torch.int64), torch.arange(1, k)
    raise ValueError(f"pair layout must be 'all' or 'anchored', got {layout!r}")


def feature_differences(q: torch.Tensor, x: torch.Tensor, layout: str) -> torch.Tensor:
    """Δϕ of every pair the layout uses: ``q`` ``(S, n, D)``, ``x`` ``(S, n, k, D)`` →
    ``(S, n, P, 2D)`` with Δϕ = [x_a − x_b, q ⊙ (x_a − x_b)] (``students.features``)."""
    a, b = pair_positions(x.shape[-2], layout)
    dx = x[..., a, :] - x[..., b, :]  # (S, n, P, D)
    return torch.cat([dx, q[:, :, None, :] * dx], dim=-1)


class RademacherEstimate(NamedTuple):
    """Per seed replicate ``(S,)``, per unit class radius W (multiply by W):

    ``mc`` mean over pair positions of Ê_σ‖Σ_i σ_i Δϕ_{i,p}‖ / n; ``mc_se`` its Monte-Carlo
    standard error; ``jensen`` mean over positions of √(Σ_i ‖Δϕ_{i,p}‖²) / n (≥ the exact
    expectation); ``max_pair_norm`` max_{i,p} ‖Δϕ_{i,p}‖ (≤ ΛΔ_Q).
    """

    mc: torch.Tensor
    mc_se: torch.Tensor
    jensen: torch.Tensor
    max_pair_norm: torch.Tensor


@torch.no_grad()
def rademacher_margin_class(
    q: torch.Tensor, x: torch.Tensor, layout: str, seed: int, draws: int = SIGN_DRAWS
) -> RademacherEstimate:
    """Monte-Carlo empirical Rademacher complexity of the pair-margin class per unit W.

    ``q`` ``(S, n, D)``, ``x`` ``(S, n, k, D)`` (a training sample), ``layout`` of the loss's
    pairs, ``seed`` of the sign draws (a CPU generator: the same σ on any device), ``draws`` ≥ 2.
    """
    if draws < 2:
        raise ValueError(f"draws={draws} must be >= 2 (the standard error needs two)")
    dphi = feature_differences(q, x, layout)  # (S, n, P, F)
    n = dphi.shape[1]
    gen = torch.Generator().manual_seed(int(seed))
    sigma = torch.randint(0, 2, (draws, n), generator=gen).to(dphi) * 2 - 1
    sums = torch.einsum("bn,snpf->sbpf", sigma, dphi)  # (S, B, P, F)
    per_draw = sums.norm(dim=-1).mean(-1) / n  # (S, B): mean over pair positions
    jensen = dphi.pow(2).sum((1, 3)).sqrt().mean(-1) / n  # (S,)
    return RademacherEstimate(
        mc=per_draw.mean(-1),
        mc_se=per_draw.std(-1) / draws**0.5,
        jensen=jensen,
        max_pair_norm=dphi.norm(dim=-1).amax((1, 2)),
    )
