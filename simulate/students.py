"""Linear students with an enforced norm constraint, batched over configurations.

Hypothesis class (THEORY.md Theorem 2.1 (iii)): F = {f_w(q, x) = ⟨w, ϕ(q, x)⟩ : ‖w‖₂ ≤ W} with
the feature map

    ϕ(q, x) = [x, q ⊙ x] ∈ ℝ^{2D}.

It contains the teacher's similarity term a·⟨q, x⟩ (w = [0, a·1], ‖w‖ = |a|√D) but not its sine
term, so R(f*) > 0. Lipschitz constant of ϕ in x (Euclidean/chordal):

    ‖ϕ(q,x) − ϕ(q,x')‖² = ‖x − x'‖² + Σ_i q_i² (x_i − x'_i)² ≤ (1 + max_q ‖q‖_∞²) ‖x − x'‖²,

so Λ = √(1 + max_q ‖q‖_∞²) over the query pool, and every f ∈ F is L = WΛ-Lipschitz in x.

Scores are computed without materialising ϕ: f_w(q, x) = ⟨w₁ + w₂ ⊙ q, x⟩.
"""

from __future__ import annotations

import numpy as np
import torch


def feature_lipschitz(queries: np.ndarray) -> float:
    """Λ = √(1 + max_q ‖q‖_∞²) for the query pool ``(Q, D)``."""
    q = np.asarray(queries, dtype=np.float64)
    return float(np.sqrt(1.0 + np.abs(q).max() ** 2))


def features(q, x):
    """ϕ(q, x) = [x, q ⊙ x]: ``q (..., D)``, ``x (..., k, D)`` → ``(..., k, 2D)`` (reference)."""
    if isinstance(x, torch.Tensor):
        q = torch.as_tensor(q, dtype=x.dtype)
        return torch.cat([x, q.unsqueeze(-2) * x], dim=-1)
    q = np.asarray(q)
    return np.concatenate([x, q[..., None, :] * x], axis=-1)


def student_scores(w: torch.Tensor, q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Batched scores.

    Inputs: ``w`` ``(S, A, 2D)`` weights (S samples × A configurations sharing a sample),
    ``q`` ``(S, n, D)`` queries, ``x`` ``(S, n, k, D)`` group items. Output ``(S, A, n, k)``.
    """
    D = q.shape[-1]
    if w.shape[-1] != 2 * D:
        raise ValueError(f"student weights have {w.shape[-1]} features, expected 2D={2 * D}")
    v = w[:, :, None, :D] + w[:, :, None, D:] * q[:, None, :, :]  # (S, A, n, D)
    return torch.einsum("sand,snkd->sank", v, x)


@torch.no_grad()
def project_(w: torch.Tensor, radius: float) -> torch.Tensor:
    """In place: w ← w·min(1, W/‖w‖₂) per configuration (last axis); returns w."""
    norms = w.norm(dim=-1, keepdim=True)
    scale = torch.clamp(radius / norms.clamp_min(torch.finfo(w.dtype).tiny), max=1.0)
    w.mul_(scale)
    return w
