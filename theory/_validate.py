"""Argument and result checks shared by every public theory function (internal).

``_backend`` converts inputs and checks their shape and finiteness; this module holds the rest of
the contract in one place:

- :data:`BOUND_RANGES`: the admissible range of every bound argument (THEORY.md §3–§5), checked
  and broadcast by :func:`bound_inputs` (a broadcast mismatch is a ValueError naming every shape);
- :func:`integer`: integer parameters (Python or numpy integers);
- finite but extreme scores: :func:`score_scale` (an exact power-of-two rescale so that score
  differences never overflow) and :func:`tempered_scores` (t/τ for a softmax, shift-first when
  (t_i − t_j)/τ could overflow);
- :func:`finish`: the result guarantee. Inputs are finite, so a NaN or ±inf in a result means an
  intermediate overflowed; the function raises ValueError naming the first group instead of
  returning it. Only the bounds may return +inf (a trivially true, vacuous upper bound; e.g.
  κ = ∞ in Corollary 2.1); they still never return NaN.

Range decisions (documented in docs/CONTRACTS.md "Theory API"):

- entropy H in [0, ln 2] nats (the largest binary entropy); κ ≥ 1 (ess sup dμ/dν of two
  probability measures) or ∞. Both closed ends allow a relative rounding slack
  max(1e-6, √eps) of the data's dtype: an all-tied group's entropy computed in float32 is
  fl(ln 2) > ln 2, and a κ from :func:`density_ratio` of normalised float32 vectors may be 1 − 1e-6.
- n ≥ 1 queries and vc_dim ≥ 1 (real numbers: curves over n are allowed), δ ∈ (0, 1),
  η ∈ (0, ½), τ > 0, C > 0; risks, Lipschitz constants, norms, ρ and loss ranges ≥ 0.
- diameter Δ ≥ 0 without an upper end: the bounds hold on any metric space (X, d) (THEORY.md §1);
  only chordal distances of unit embeddings, what :func:`essential_diameter` returns, lie in
  [0, 2].
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np
import torch

from . import _backend as B

LN2 = math.log(2.0)


def rounding_slack(dtype: torch.dtype) -> float:
    """Relative slack on the closed ends H ≤ ln 2 and κ ≥ 1: max(1e-6, √eps) of ``dtype``
    (1e-6 for float64 — a typed-in 0.6931472 passes — 3.5e-4 for float32)."""
    return max(1e-6, math.sqrt(torch.finfo(dtype).eps))


@dataclass(frozen=True)
class Range:
    """An admissible interval for one argument (see :func:`_backend.check_values`)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    allow_inf: bool = False
    rounding: bool = False  # closed ends get :func:`rounding_slack`
    note: str = ""

    def check(self, t: torch.Tensor, name: str, dtype: torch.dtype) -> None:
        B.check_values(
            t,
            name,
            low=self.low,
            high=self.high,
            low_open=self.low_open,
            high_open=self.high_open,
            allow_inf=self.allow_inf,
            slack=rounding_slack(dtype) if self.rounding else 0.0,
            note=self.note,
        )


_NON_NEGATIVE = Range(low=0.0)

#: every bound argument by name (the names the bound functions and objects use)
BOUND_RANGES: dict[str, Range] = {
    "entropy": Range(
        low=0.0, high=LN2, rounding=True, note="teacher pairwise entropy in nats, at most ln 2"
    ),
    "kl_risk": _NON_NEGATIVE,
    "mm_risk": _NON_NEGATIVE,
    "best_risk": _NON_NEGATIVE,
    "empirical_risk": _NON_NEGATIVE,
    "risk": _NON_NEGATIVE,
    "eta": Range(low=0.0, high=0.5, low_open=True, high_open=True),
    "tau": Range(low=0.0, low_open=True),
    "teacher_lipschitz": _NON_NEGATIVE,
    "student_lipschitz": _NON_NEGATIVE,
    "diameter": _NON_NEGATIVE,
    "loss_range": _NON_NEGATIVE,
    "vc_dim": Range(low=1.0, note="pseudo-dimension"),
    "n": Range(low=1.0, note="number of training queries"),
    "delta": Range(low=0.0, high=1.0, low_open=True, high_open=True),
    "C": Range(low=0.0, low_open=True),
    "rho": _NON_NEGATIVE,
    "weight_norm": _NON_NEGATIVE,
    "feature_lipschitz": _NON_NEGATIVE,
    "kappa": Range(
        low=1.0,
        allow_inf=True,
        rounding=True,
        note="density ratio of probability measures; inf when mu is not << nu",
    ),
    "bound": Range(allow_inf=True),
}


def check_bound_argument(value, name: str) -> float:
    """A bound object's declared parameter (δ, η, τ, C): a finite number in its range."""
    x = B.as_float(value, name)
    BOUND_RANGES[name].check(torch.tensor(x, dtype=torch.float64), name, torch.float64)
    return x


def broadcast(tensors: list[torch.Tensor], names: list[str]) -> list[torch.Tensor]:
    """Broadcast arguments against each other; ValueError naming every argument's shape."""
    try:
        return list(torch.broadcast_tensors(*tensors))
    except RuntimeError:
        shapes = ", ".join(f"{n} {tuple(t.shape)}" for n, t in zip(names, tensors) if t.ndim)
        raise ValueError(f"arguments do not broadcast together: {shapes}") from None


def bound_inputs(**named):
    """Wrap, range-check (by argument name, :data:`BOUND_RANGES`) and broadcast bound inputs.

    Returns ``(tensors, kind)`` as :func:`_backend.wrap`.
    """
    names = list(named)
    tensors, kind = B.wrap(*[(v, k) for k, v in named.items()])
    for name, t in zip(names, tensors):
        BOUND_RANGES[name].check(t, name, kind.dtype)
    return broadcast(tensors, names), kind


def integer(x, name: str, low: int) -> int:
    """An integer parameter ≥ ``low``: Python or numpy integers (and 0-d integer arrays/tensors);
    booleans and floats are refused."""
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer >= {low}, got {x!r}")
    try:
        v = operator.index(x)
    except TypeError:
        raise ValueError(f"{name} must be an integer >= {low}, got {x!r}") from None
    if v < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {v}")
    return v


# --------------------------------------------------------------------------- extreme scores


def score_scale(largest: float, dtype: torch.dtype) -> float:
    """1.0, or ¼ when the largest |score| exceeds a quarter of the dtype's range.

    Multiplying by a power of two is exact (bar subnormals, far below any margin that matters
    next to scores near the range's end), and with |c·t| ≤ max/4 every margin c(t_i − t_j) and
    every difference of two margins is finite. Callers scale τ by the same c (so (t_i − t_j)/τ is
    unchanged) or undo it on the result (MarginMSE: ÷c²). Ordinary scores take c = 1 and run
    exactly as before.
    """
    return 1.0 if largest <= torch.finfo(dtype).max / 4 else 0.25


def logits_may_overflow(largest: float, tau, dtype: torch.dtype) -> bool:
    """Whether some (t_i − t_j)/τ could exceed the dtype's range: 2·max|t|/min τ ≥ max/2
    (``tau`` a float or a tensor; evaluated in Python floats, where overflow gives inf)."""
    if isinstance(tau, (torch.Tensor, np.ndarray)):
        if (tau.size if isinstance(tau, np.ndarray) else tau.numel()) == 0:
            return False
        tau_min = float(tau.min())
    else:
        tau_min = float(tau)
    return 2.0 * largest / tau_min >= torch.finfo(dtype).max / 2


def tempered_scores(t: torch.Tensor, tau, largest: float) -> torch.Tensor:
    """z = t/τ for a softmax over the last axis (``tau`` a float or ``(..., 1)`` tensor).

    When (t_i − t_j)/τ could overflow (2·max|t|/min τ ≥ max/2), z is instead the shift-invariant
    (t − max_j t_j)/τ with the exact rescale of :func:`score_scale`: z ∈ [−inf, 0], and −inf means
    a softmax probability that is exactly 0 in this dtype (the :mod:`._special` softmax sums treat
    0·(−inf) as 0). Otherwise t/τ, bit-identical to before.
    """
    if not logits_may_overflow(largest, tau, t.dtype):
        return t / tau
    c = score_scale(largest, t.dtype)
    tc = t * c
    return (tc - tc.detach().amax(-1, keepdim=True)) / (tau * c)


# --------------------------------------------------------------------------- results


def finish(
    t: torch.Tensor,
    kind: B.Kind,
    what: str,
    *,
    grouped: bool = True,
    event_dims: int = 0,
    bound: bool = False,
    hint: str = "rescale the scores (or raise tau)",
):
    """Check a result computed from finite inputs, then give it back (:func:`_backend.restore`).

    The result is first cast to the caller's dtype (so float16 overflow on output counts too).
    NaN, and for non-bounds ±inf, means the value is not representable: an intermediate (a margin,
    a margin/τ, a square) overflowed the dtype. Raise ValueError naming ``what``, the dtype and the
    first bad group (``grouped``; ``event_dims`` trailing axes belong to the group, e.g. the pairs
    of :func:`pair_margins`) or index, never a silent NaN. Bounds (``bound=True``) may be +inf.
    """
    if t.is_floating_point():
        if t.dtype != kind.dtype:
            t = t.to(kind.dtype)
        d = t.detach()
        ok = ~torch.isnan(d) if bound else torch.isfinite(d)
        if not bool(ok.all()):
            bad = ~ok
            if event_dims:
                bad = bad.reshape(*bad.shape[: bad.ndim - event_dims], -1).any(-1)
            idx = B.first_index(bad)
            where = B.format_group(idx) if grouped else (f"index {idx}" if idx else "the result")
            dtype = str(kind.dtype).replace("torch.", "")
            if bound:
                raise ValueError(
                    f"{what}: NaN at {where} from finite arguments (an intermediate overflowed "
                    f"{dtype}: inf·0 or inf − inf); the arguments are too extreme"
                )
            raise ValueError(
                f"{what}: the value is not representable in {dtype} in {where} although the "
                f"inputs are finite (an intermediate overflows)" + (f"; {hint}" if hint else "")
            )
    return B.restore(t, kind)
