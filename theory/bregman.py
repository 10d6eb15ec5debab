"""Bregman divergences and the potentials of the distillation losses (Definition 2.2).

D_φ(a, b) = φ(a) − φ(b) − ⟨∇φ(b), a − b⟩ ≥ 0, with equality iff a = b.

| potential     | statistic              | φ                         | ζ (margin units)   |
|---------------|------------------------|---------------------------|--------------------|
| SQUARE        | margin m               | u²                        | 2 (equality)       |
| SOFTPLUS      | pair logit m/τ         | sp(z) = ln(1 + e^z)       | 1/(4τ²)            |
| NEG_ENTROPY   | pair probability σ(m/τ)| ψ(p) = p ln p + (1−p)ln(1−p) | 1/(4τ²) (dual of sp) |
| LOGSUMEXP     | scores/τ (vector)      | A(z) = ln Σ_j e^{z_j}     | 1/(2τ²)            |

ζ is the smoothness in margin units: D_φ ≤ (ζ/2)·(gap of the statistic, in margins)².
SQUARE: D = (a − b)² exactly. SOFTPLUS: sp'' = σ(1 − σ) ≤ ¼ so D ≤ (m_f − m_g)²/(8τ²).
NEG_ENTROPY: D_ψ(p, r) = D_sp(logit r, logit p) (convex conjugates), the same bound in margins.
LOGSUMEXP: ‖∇²A‖ ≤ ½ on the centred subspace, D_A ≤ ¼‖c(s − t)‖²/τ².
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import _backend as B
from . import _validate as V
from ._special import kl_bernoulli_logits, log_softmax, softmax_kl, softplus


@dataclass(frozen=True)
class Potential:
    """A strictly convex potential φ with its gradient, a stable divergence and ζ(τ).

    ``vector``: True when the last axis is the vector axis (LOGSUMEXP); otherwise element-wise.
    ``domain``: "real" or "unit" ((0, 1) for NEG_ENTROPY).
    """

    name: str
    phi: Callable[[torch.Tensor], torch.Tensor]
    grad: Callable[[torch.Tensor], torch.Tensor]
    divergence: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    zeta_fn: Callable[[float], float]
    vector: bool = False
    domain: str = "real"

    def zeta(self, tau: float = 1.0) -> float:
        """Smoothness constant ζ_φ in margin units at temperature τ (see module table)."""
        return self.zeta_fn(B.positive(tau, "tau"))

    def __repr__(self) -> str:
        return self.name


def _div_square(a, b):
    return (a - b) ** 2


def _neg_entropy(p):
    return torch.special.xlogy(p, p) + torch.special.xlog1py(1 - p, -p)


def _div_neg_entropy(p, r):
    # D_ψ(p, r) = KL(Ber(p) ‖ Ber(r)); xlogy keeps p ∈ {0, 1} exact.
    return (
        torch.special.xlogy(p, p)
        - torch.special.xlogy(p, r)
        + torch.special.xlog1py(1 - p, -p)
        - torch.special.xlog1py(1 - p, -r)
    )


def _div_softplus(a, b):
    # D_sp(a, b) = KL(Ber(σ(b)) ‖ Ber(σ(a))): stable form in _special.
    return kl_bernoulli_logits(b, a)


def _div_logsumexp(a, b):
    # D_A(a, b) = KL(softmax(b) ‖ softmax(a)) = Σ π_b (log π_b − log π_a)
    return softmax_kl(log_softmax(b), log_softmax(a))


SQUARE = Potential("SQUARE", lambda u: u**2, lambda u: 2 * u, _div_square, lambda tau: 2.0)
SOFTPLUS = Potential(
    "SOFTPLUS", softplus, torch.sigmoid, _div_softplus, lambda tau: 1.0 / (4.0 * tau**2)
)
NEG_ENTROPY = Potential(
    "NEG_ENTROPY",
    _neg_entropy,
    torch.logit,
    _div_neg_entropy,
    lambda tau: 1.0 / (4.0 * tau**2),
    domain="unit",
)
LOGSUMEXP = Potential(
    "LOGSUMEXP",
    lambda z: torch.logsumexp(z, dim=-1),
    lambda z: torch.softmax(z, dim=-1),
    _div_logsumexp,
    lambda tau: 1.0 / (2.0 * tau**2),
    vector=True,
)

POTENTIALS = {p.name: p for p in (SQUARE, SOFTPLUS, NEG_ENTROPY, LOGSUMEXP)}


def get_potential(potential) -> Potential:
    if isinstance(potential, Potential):
        return potential
    if isinstance(potential, str) and potential.upper() in POTENTIALS:
        return POTENTIALS[potential.upper()]
    raise ValueError(f"potential must be one of {sorted(POTENTIALS)}, got {potential!r}")


def bregman_divergence(potential, a, b):
    """D_φ(a, b) = φ(a) − φ(b) − ⟨∇φ(b), a − b⟩, evaluated in a numerically stable form.

    Inputs: ``potential`` (a :class:`Potential` or its name); ``a``, ``b`` of the same shape.
    Element-wise for SQUARE / SOFTPLUS / NEG_ENTROPY (output shape = input shape; NEG_ENTROPY
    needs values in [0, 1], with ``b`` in (0, 1) wherever the divergence is finite); for LOGSUMEXP
    the last axis is the vector axis (output ``(...)``, input ``(..., k)``). A divergence beyond
    the dtype's range is not representable: ValueError naming the index (never inf or NaN).
    """
    pot = get_potential(potential)
    (ta, tb), kind = B.wrap((a, "a"), (b, "b"))
    B.check_same_shape(ta, tb, "a", "b")
    for t, name in ((ta, "a"), (tb, "b")):
        if pot.vector:
            B.check_grouped(t, name, min_k=1)
        else:
            B.check_finite(t, name, event_dims=0)
        if pot.domain == "unit":
            B.check_probabilities(t, name)
    return V.finish(
        pot.divergence(ta, tb),
        kind,
        f"bregman_divergence({pot.name})",
        grouped=pot.vector,
        hint="rescale the inputs",
    )


def potential_value(potential, z):
    """φ(z) for a potential (element-wise, or over the last axis for LOGSUMEXP)."""
    pot = get_potential(potential)
    (t,), kind = B.wrap((z, "z"))
    B.check_finite(t, "z", event_dims=1 if pot.vector else 0)
    return V.finish(
        pot.phi(t), kind, f"potential_value({pot.name})", grouped=pot.vector, hint="rescale z"
    )


__all__ = [
    "Potential",
    "SQUARE",
    "SOFTPLUS",
    "NEG_ENTROPY",
    "LOGSUMEXP",
    "POTENTIALS",
    "get_potential",
    "bregman_divergence",
    "potential_value",
]
