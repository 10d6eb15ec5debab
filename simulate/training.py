"""Many student configurations trained at once as batched tensors (projected Adam, full batch).

Layout: S training samples (one per seed), each shared by A configurations (τ × loss). The
weights are one tensor ``w`` of shape ``(S, A, 2D)``; the objective is the sum over
configurations of each configuration's empirical risk

    R̂(w_{s,a}) = (1/n) Σ_i ℓ_a(f_{w_{s,a}}(q_i, x_{i,·}), g(q_i, x_{i,·}); τ_a),

with ℓ_a from ``locent.theory.LOSSES``. The configurations share no parameter, and Adam's state
is element-wise, so one batched run is exactly A·S independent runs. After **every** step each
w_{s,a} is projected onto the ball ‖w‖₂ ≤ W (so Theorem 2.1 (iii) applies with explicit
constants); the largest ‖w‖/W seen after any step is returned so tests can check it.

Step 2 of a chunk, *train* (:func:`train_chunk`): one batched run per training sample size n.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from locent.theory import LOSSES

from .configurations import Configurations
from .draw import Sample
from .presets import Preset
from .students import project_, student_scores


class TrainResult(NamedTuple):
    """``w`` ``(S, A, 2D)``; ``final_loss`` ``(S, A)``; ``max_norm_ratio`` (max over steps and
    configurations of ‖w‖/W after the projection); ``norm_ratio_per_step`` ``(steps,)``."""

    w: torch.Tensor
    final_loss: torch.Tensor
    max_norm_ratio: float
    norm_ratio_per_step: torch.Tensor


def per_query_losses(scores, teacher, losses, taus):
    """Per-query losses ``(S, A, n)`` of each configuration's own loss, and where they exist.

    ``scores`` ``(S, A, n, k)``, ``teacher`` ``(S, n, k)``, ``losses`` A loss names,
    ``taus`` A temperatures. Each distinct loss is one batched theory call over its
    configurations (τ passed as a tensor broadcast over the group axis).

    Hard RankNet has no term in a group whose teacher ties every pair (theory raises there; with
    i.i.d. draws from a small support all k draws can be one item). Such groups get a placeholder
    teacher for the call, their loss is set to 0, and they are marked undefined in the returned
    ``defined`` mask ``(S, A, n)`` so means skip them and callers count them (never dropped
    silently). Every other loss is defined on every group.
    """
    S, A, n, k = scores.shape
    out = scores.new_empty((S, A, n))
    defined = torch.ones((S, A, n), dtype=torch.bool, device=scores.device)
    tau_all = torch.as_tensor(taus, dtype=scores.dtype, device=scores.device)
    all_tied = teacher.amax(-1) == teacher.amin(-1)  # (S, n)
    for name in dict.fromkeys(losses):  # a handful of losses, each batched
        idx = torch.tensor([a for a in range(A) if losses[a] == name], device=scores.device)
        sub = scores[:, idx]
        t = teacher
        if name == "hard_ranknet" and bool(all_tied.any()):
            placeholder = torch.arange(k, dtype=teacher.dtype, device=teacher.device)
            t = torch.where(all_tied[..., None], placeholder, teacher)
            defined[:, idx] = ~all_tied[:, None, :]
        tt = t[:, None].expand(S, idx.numel(), n, k)
        tau = tau_all[idx].view(1, -1, 1).expand(S, idx.numel(), n)
        out[:, idx] = torch.where(defined[:, idx], LOSSES[name](sub, tt, tau=tau), 0.0)
    return out, defined


def masked_mean(values: torch.Tensor, defined: torch.Tensor) -> torch.Tensor:
    """Mean over the last axis of the defined entries (NaN when none is defined)."""
    d = defined.to(values.dtype)
    return (values * d).sum(-1) / d.sum(-1)


def train_batched(
    q: torch.Tensor,
    x: torch.Tensor,
    teacher: torch.Tensor,
    losses: list[str],
    taus: list[float],
    *,
    radius: float,
    steps: int = 300,
    lr: float = 0.05,
) -> TrainResult:
    """Projected Adam on the batched empirical risks.

    Inputs: ``q`` ``(S, n, D)``, ``x`` ``(S, n, k, D)``, ``teacher`` ``(S, n, k)`` teacher scores,
    ``losses``/``taus`` of length A, ``radius`` W > 0, ``steps`` ≥ 1, ``lr`` > 0. Float64 is
    recommended (the verifier checks inequalities to float rounding).
    """
    if len(losses) != len(taus) or not losses:
        raise ValueError(
            f"losses ({len(losses)}) and taus ({len(taus)}) must be non-empty, same length"
        )
    for name in losses:
        if name not in LOSSES:
            raise ValueError(f"unknown loss {name!r}; known: {sorted(LOSSES)}")
    for tau in taus:
        if not tau > 0:
            raise ValueError(f"temperature tau={tau} must be > 0")
    if not radius > 0:
        raise ValueError(f"norm radius W={radius} must be > 0")
    if steps < 1 or not lr > 0:
        raise ValueError(f"steps={steps} must be >= 1 and lr={lr} > 0")
    S, n, k, D = x.shape
    A = len(losses)
    w = torch.zeros((S, A, 2 * D), dtype=x.dtype, device=x.device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr)
    ratios = torch.empty(steps, dtype=torch.float64)
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        per_q, defined = per_query_losses(student_scores(w, q, x), teacher, losses, taus)
        risk = masked_mean(per_q, defined).nan_to_num(0.0)
        risk.sum().backward()
        opt.step()
        project_(w.data, radius)
        ratios[step] = float((w.detach().norm(dim=-1) / radius).max())
    with torch.no_grad():
        per_q, defined = per_query_losses(student_scores(w, q, x), teacher, losses, taus)
        final = masked_mean(per_q, defined)
    return TrainResult(w.detach(), final, float(ratios.max()), ratios)


def train_chunk(
    train: tuple[Sample, ...], configs: Configurations, preset: Preset
) -> tuple[TrainResult, ...]:
    """Step 2 of a chunk: all A·S students of each training sample (one :class:`TrainResult`
    per sample, ``w`` ``(S, A, 2D)``), on the samples' device."""
    return tuple(
        train_batched(
            sample.q,
            sample.x,
            sample.g,
            list(configs.losses),
            list(configs.taus),
            radius=configs.weight_norm,
            steps=preset.steps,
            lr=preset.lr,
        )
        for sample in train
    )
