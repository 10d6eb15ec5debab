"""Shared input handling of the per-query losses (internal)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from .. import _backend as B


def student_teacher(student, teacher, tau=None):
    """Validate and wrap ``student``/``teacher`` scores ``(..., k)`` of one shape, k ≥ 2.

    Returns ``(s, t, kind, largest)``; ``largest`` = max |score| of both (for
    ``_validate.score_scale`` / ``tempered_scores``).
    """
    extra = () if tau is None else (tau,)
    (s, t), kind = B.wrap((student, "student"), (teacher, "teacher"), extra=extra)
    B.check_same_shape(s, t, "student", "teacher")
    largest = max(B.check_grouped(s, "student"), B.check_grouped(t, "teacher"))
    return s, t, kind, largest


@dataclass(frozen=True)
class LossSpec:
    """A registered per-query loss.

    ``name``: registry key; ``fn``: the loss function; ``distillation``: True for Bregman
    distillation losses (soft teacher labels), False for the contrastive baselines;
    ``potential``: the Bregman potential the loss is (or is the limit of).

    Call as ``spec(student, teacher, tau=...)``: arguments a loss does not use (the teacher for
    LCE, τ for MarginMSE / hard RankNet / LCE) are accepted and ignored, so every loss can be
    swapped in one line.
    """

    name: str
    fn: Callable
    distillation: bool
    potential: object

    def __call__(self, student, teacher=None, tau=1.0):
        params = inspect.signature(self.fn).parameters
        args = [student]
        if "teacher" in params:
            if teacher is None:
                raise ValueError(f"{self.name}: teacher scores are required")
            args.append(teacher)
        kwargs = {"tau": tau} if "tau" in params else {}
        return self.fn(*args, **kwargs)

    @property
    def uses_tau(self) -> bool:
        return "tau" in inspect.signature(self.fn).parameters
