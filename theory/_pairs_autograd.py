"""Autograd for the compiled float64 pair estimators on CPU (internal; used by ``_pair_kernels``).

A CPU float64 input that needs a gradient used to take the torch path (autograd through the
element-wise formulas of ``_special``: 0.08–0.27 GB/s for soft and hard RankNet and pairwise
entropy, 100,000 groups of 16, one core). Here the forward pass is the compiled kernel of
``_pairs_cpu`` (the same value as without a gradient) and the backward pass a compiled kernel of the
closed-form derivative: soft RankNet ∂KL/∂b = σ(b) − σ(a), hard RankNet d(−ln σ(x))/dx = −σ(−x),
pairwise entropy dh(σ(z))/dz = −z·σ(z)σ(−z) (``_pairs_grad_cpu.soft_grad``, ``hard_grad``,
``entropy_grad``). The gradient flows to the scores of one input only (the student's, or the
teacher's for the entropy): a teacher (for the losses) or a τ that needs a gradient, float32 input
(whose forward value the numpy kernel defines) and possibly overflowed logits (``saturate``) keep
the torch path.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from . import _pairs_cpu, _pairs_grad_cpu


def applies(s: torch.Tensor, t: torch.Tensor, tau, saturate: bool = False) -> bool:
    """True for a CPU float64 ``s`` needing a gradient, a fixed ``t`` and τ, no overflow (the
    entropy passes its teacher scores as both)."""
    fixed_tau = not (isinstance(tau, torch.Tensor) and tau.requires_grad)
    return (
        s.requires_grad
        and not t.requires_grad
        and fixed_tau
        and not saturate
        and s.device.type == "cpu"
        and s.dtype == torch.float64
        and t.dtype == torch.float64
    )


def _plain(tau):
    """τ for ``_pairs_cpu.tau_array``: a float, or a detached float64 array."""
    return tau if isinstance(tau, float) else tau.detach().to(torch.float64).numpy()


class SoftRankNetMean(torch.autograd.Function):
    """Per-group mean soft RankNet KL ``(n,)`` of ``s``, ``t`` ``(n, k)`` float64, with its
    gradient in ``s``. ``forward(s, t, tau)``, τ a float or a tensor ``(n,)``."""

    @staticmethod
    def forward(ctx, s, t, tau):
        sn, tn = s.detach().contiguous().numpy(), t.detach().contiguous().numpy()
        taus, divide = _pairs_cpu.tau_array(_plain(tau), sn.shape[0])
        ctx.save_for_backward(s.detach(), t.detach())
        ctx.taus, ctx.divide = taus, divide
        return torch.from_numpy(_pairs_cpu.soft_means(sn, tn, taus, divide, False))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        s, t = ctx.saved_tensors
        m = s.shape[1] * (s.shape[1] - 1) // 2
        w = np.ascontiguousarray(grad.to(torch.float64).numpy()) / m
        g = _pairs_grad_cpu.soft_grad(s.numpy(), t.numpy(), ctx.taus, ctx.divide, w)
        return torch.from_numpy(g), None, None


class HardRankNetSums(torch.autograd.Function):
    """Per-group hard RankNet sums ``(n,)`` over the comparable pairs and their int64 counts
    ``(n,)`` (no gradient), with the gradient of the sums in ``s``; ``forward(s, t)``."""

    @staticmethod
    def forward(ctx, s, t):
        sn, tn = s.detach().contiguous().numpy(), t.detach().contiguous().numpy()
        total, counts = _pairs_cpu.hard_totals(sn, tn)
        ctx.save_for_backward(s.detach(), t.detach())
        counts = torch.from_numpy(counts)
        ctx.mark_non_differentiable(counts)
        return torch.from_numpy(total), counts

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, _):
        s, t = ctx.saved_tensors
        w = np.ascontiguousarray(grad.to(torch.float64).numpy())
        return torch.from_numpy(_pairs_grad_cpu.hard_grad(s.numpy(), t.numpy(), w)), None


class EntropyMean(torch.autograd.Function):
    """Per-group mean pairwise entropy ``(n,)`` (nats) of ``t`` ``(n, k)`` float64, with its
    gradient in ``t``; ``forward(t, tau)``, τ a float or a tensor ``(n,)``."""

    @staticmethod
    def forward(ctx, t, tau):
        tn = t.detach().contiguous().numpy()
        taus, divide = _pairs_cpu.tau_array(_plain(tau), tn.shape[0])
        ctx.save_for_backward(t.detach())
        ctx.taus, ctx.divide = taus, divide
        return torch.from_numpy(_pairs_cpu.entropy_means(tn, taus, divide))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        m = t.shape[1] * (t.shape[1] - 1) // 2
        w = np.ascontiguousarray(grad.to(torch.float64).numpy()) / m
        return torch.from_numpy(
            _pairs_grad_cpu.entropy_grad(t.numpy(), ctx.taus, ctx.divide, w)
        ), None
