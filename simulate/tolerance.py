"""The float-rounding allowance of an exact check (one definition for verify and transfer).

A statement that holds for every distribution holds exactly on the empirical measure
(THEORY.md), so its check allows only float64 rounding: ``lhs ≤ rhs (1 + RTOL) + RTOL``.
"""

from __future__ import annotations

import torch

#: relative float64 rounding allowance of an exact check
RTOL = 1e-12


def leq(lhs: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``lhs ≤ rhs`` up to float rounding (``rhs = inf`` always holds)."""
    return lhs <= rhs + RTOL * (1.0 + rhs.abs().nan_to_num(posinf=0.0))
