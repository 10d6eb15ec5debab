"""The distillation losses (Bregman divergences) and the contrastive baselines, one per file.

``LOSSES[name](student, teacher, tau=...)`` calls any of them with one signature.
"""

from __future__ import annotations

from ..bregman import LOGSUMEXP, SOFTPLUS, SQUARE
from ._common import LossSpec
from .hard_ranknet import hard_ranknet
from .lce import lce
from .listwise_kl import listwise_kl
from .margin_mse import margin_mse
from .soft_ranknet import soft_ranknet

LOSSES: dict[str, LossSpec] = {
    "margin_mse": LossSpec("margin_mse", margin_mse, True, SQUARE),
    "soft_ranknet": LossSpec("soft_ranknet", soft_ranknet, True, SOFTPLUS),
    "listwise_kl": LossSpec("listwise_kl", listwise_kl, True, LOGSUMEXP),
    "lce": LossSpec("lce", lce, False, LOGSUMEXP),
    "hard_ranknet": LossSpec("hard_ranknet", hard_ranknet, False, SOFTPLUS),
}


def get_loss(loss) -> LossSpec:
    """A :class:`LossSpec` from its registry name (or the spec itself)."""
    if isinstance(loss, LossSpec):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")


__all__ = [
    "LOSSES",
    "LossSpec",
    "get_loss",
    "hard_ranknet",
    "lce",
    "listwise_kl",
    "margin_mse",
    "soft_ranknet",
]
