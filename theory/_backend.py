"""numpy/torch dispatch and input validation shared by every theory function.

One implementation serves both array libraries: inputs are wrapped as torch tensors (numpy arrays
zero-copy through ``torch.from_numpy``), the computation runs in torch, and the result goes back
to the caller's type:

- any torch input  → torch output on the first tensor's device and dtype (autograd kept);
- numpy / list input → numpy output (a numpy scalar for a single group or 0-d input), in the
  arrays' floating dtype (float64 for integers and lists);
- Python / numpy scalars only (the bounds) → a Python ``float``.

float16 / bfloat16 data are computed in float32 and the result cast back to the input dtype.

Validation raises :class:`ValueError` whose message names the argument, the problem and, for
grouped inputs ``(..., k)``, the index of the first bad group over the leading axes.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

TORCH, NUMPY, SCALAR = "torch", "numpy", "scalar"

#: half-precision dtypes are computed in float32 (accuracy), then cast back on output
_WIDEN = {torch.float16: torch.float32, torch.bfloat16: torch.float32}
_NUMPY_OF = {torch.float32: np.float32, torch.float64: np.float64}


class Kind(NamedTuple):
    """Where a result goes back to: ``lib`` (torch / numpy / scalar) and ``dtype``, the floating
    dtype of the caller's data (results of that dtype; integer and boolean results keep theirs)."""

    lib: str
    dtype: torch.dtype


# --------------------------------------------------------------------------- dispatch


def output_kind(*xs) -> str:
    """Which library the result goes back to: torch > numpy > Python scalar."""
    if any(isinstance(x, torch.Tensor) for x in xs):
        return TORCH
    if any(isinstance(x, (np.ndarray, list, tuple)) for x in xs):
        return NUMPY
    return SCALAR


def target_of(*xs) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of the **result**.

    The first floating torch tensor fixes both; otherwise the numpy arrays' common floating dtype
    (float16 stays float16, float32 stays float32) when every array input is floating, else
    float64 (integers, lists, Python numbers). See :func:`compute_dtype` for the working dtype.
    """
    for x in xs:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.device, x.dtype
    for x in xs:
        if isinstance(x, torch.Tensor):
            return x.device, torch.float64
    arrays = [x for x in xs if isinstance(x, np.ndarray)]
    if arrays and all(a.dtype.kind == "f" for a in arrays):
        common = np.result_type(*arrays)
        if common == np.float16:
            return torch.device("cpu"), torch.float16
        if common == np.float32:
            return torch.device("cpu"), torch.float32
    return torch.device("cpu"), torch.float64


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the computation runs in: float16 / bfloat16 are widened to float32 (their 8-11
    bit mantissas and float16's 65504 range would lose pair margins and logits); float32 and
    float64 run as they are."""
    return _WIDEN.get(dtype, dtype)


def to_tensor(x, name: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Wrap ``x`` as a tensor on ``device`` with ``dtype`` (zero-copy for matching numpy).

    ``dtype`` is float32 or float64 (a :func:`compute_dtype`). The shape is kept, 0-d included.
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise ValueError(f"{name}: complex values are not supported")
        if x.device != device or x.dtype != dtype:
            x = x.to(device=device, dtype=dtype)
        return x
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged lists
        raise ValueError(f"{name}: cannot be read as a numeric array ({exc})") from exc
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    np_dtype = _NUMPY_OF[dtype]
    if arr.dtype != np_dtype or not arr.flags.c_contiguous:
        # np.asarray keeps a 0-d array 0-d (np.ascontiguousarray would make it (1,))
        arr = np.asarray(arr, dtype=np_dtype, order="C")
    with warnings.catch_warnings():  # read-only arrays: we never write into inputs
        warnings.simplefilter("ignore", UserWarning)
        t = torch.from_numpy(arr)
    return t.to(device) if device.type != "cpu" else t


def wrap(*named, extra=()):
    """Convert ``(value, name)`` pairs to tensors on a common device, in the working dtype.

    Returns ``(tensors, kind)``: a :class:`Kind` naming the caller's library and the result dtype.
    ``extra`` are further objects that only take part in choosing the output library and the
    device (e.g. a torch ``tau``).
    """
    values = [v for v, _ in named] + list(extra)
    device, dtype = target_of(*values)
    work = compute_dtype(dtype)
    kind = Kind(output_kind(*values), dtype)
    return [to_tensor(v, n, device, work) for v, n in named], kind


def restore(t: torch.Tensor, kind: Kind):
    """Give a result back in the caller's library and floating dtype (see module docstring).

    0-d stays 0-d: a numpy scalar for numpy input, a 0-d tensor for torch, a Python number for
    Python numbers.
    """
    if t.is_floating_point() and t.dtype != kind.dtype:
        t = t.to(kind.dtype)  # float16 / bfloat16 results computed in float32; autograd kept
    if kind.lib == TORCH:
        return t
    if kind.lib == NUMPY:
        arr = t.detach().cpu().numpy()
        return arr[()] if arr.ndim == 0 else arr
    if t.dtype == torch.bool:
        return bool(t)
    if not t.is_floating_point():
        return int(t)
    return float(t)


# --------------------------------------------------------------------------- messages


def format_group(index: Sequence[int]) -> str:
    """``group 3`` for a 2-D batch, ``group (1, 2)`` for deeper batches, ``the group`` for 1-D."""
    index = tuple(int(i) for i in index)
    if len(index) == 0:
        return "the group"
    if len(index) == 1:
        return f"group {index[0]}"
    return f"group {index}"


def first_index(mask: torch.Tensor) -> tuple[int, ...]:
    """Multi-index of the first True entry of ``mask`` (C order)."""
    flat = int(torch.nonzero(mask.reshape(-1), as_tuple=False)[0, 0])
    return tuple(int(i) for i in np.unravel_index(flat, tuple(mask.shape))) if mask.ndim else ()


# --------------------------------------------------------------------------- validation


def check_grouped(t: torch.Tensor, name: str, *, min_k: int = 2, event_dims: int = 1) -> float:
    """Scores ``(..., k)`` (``event_dims=1``) or embeddings ``(..., k, D)`` (``event_dims=2``).

    Raises if there are fewer than ``event_dims`` axes, fewer than ``min_k`` items per group, or a
    non-finite value (naming the first bad group over the leading axes). Returns the largest
    |value| (see :func:`check_finite`).
    """
    if t.ndim < event_dims:
        shape = "(..., k)" if event_dims == 1 else "(..., k, D)"
        raise ValueError(f"{name}: expected shape {shape}, got {tuple(t.shape)}")
    k = t.shape[-event_dims]
    if k < min_k:
        raise ValueError(f"{name}: a group needs k >= {min_k} items, got k={k}")
    return check_finite(t, name, event_dims=event_dims)


def check_finite(t: torch.Tensor, name: str, *, event_dims: int = 1) -> float:
    """Raise naming the first group (leading index) that holds NaN or ±inf.

    Returns max |value| as a Python float (0.0 for an empty tensor): one reduction both checks
    finiteness (NaN and inf propagate through the maximum) and tells the callers whether finite
    scores are so large that their differences could overflow (``_validate.score_scale``).
    """
    d = t.detach()
    if d.numel() == 0:
        return 0.0
    # one pass, no |d| temporary (aminmax propagates NaN): 12.8 MB of scores, 1.0 → 0.4 ms
    low, high = (float(v) for v in torch.aminmax(d))
    largest = max(abs(low), abs(high))
    if math.isfinite(low) and math.isfinite(high):
        return largest
    bad = ~torch.isfinite(d)
    if event_dims:
        bad = bad.reshape(*d.shape[: d.ndim - event_dims], -1).any(-1)
    idx = first_index(bad)
    raise ValueError(f"{name}: non-finite value (NaN or inf) in {format_group(idx)}")


def check_same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} shape {tuple(a.shape)} does not match {name_b} shape {tuple(b.shape)}"
        )


def check_tau(tau, name: str = "tau"):
    """A positive finite temperature: a number, or an array/tensor broadcastable to ``(...)``.

    Returns a Python float, or a tensor of the values (validated) for array-valued ``tau``.
    """
    if isinstance(tau, (torch.Tensor, np.ndarray)) and tau.ndim > 0:
        d = tau.detach() if isinstance(tau, torch.Tensor) else torch.as_tensor(tau)
        if not bool(torch.isfinite(d).all()) or not bool((d > 0).all()):
            bad = ~(torch.isfinite(d) & (d > 0))
            raise ValueError(
                f"{name} must be finite and > 0; bad value at index {first_index(bad)}"
            )
        return tau
    return positive(tau, name)


def as_float(x, name: str) -> float:
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(f"{name} must be a single number, got shape {tuple(x.shape)}")
        x = x.item()
    if isinstance(x, np.ndarray):
        if x.size != 1:
            raise ValueError(f"{name} must be a single number, got shape {x.shape}")
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def positive(x, name: str) -> float:
    x = as_float(x, name)
    if x <= 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    return x


def check_alpha(alpha) -> float:
    a = as_float(alpha, "alpha")
    if not 0.0 < a <= 1.0:
        raise ValueError(f"alpha must lie in (0, 1], got {a}")
    return a


def check_values(
    t: torch.Tensor,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
    slack: float = 0.0,
    note: str = "",
) -> None:
    """Element-wise range check; names the argument, the value and (arrays) the first bad index.

    ``slack`` widens the closed ends by that relative amount (float rounding of a quantity that
    lies exactly on an end, e.g. an entropy of ln 2 computed in float32); ``note`` is appended to
    the message (what the range means).
    """
    d = t.detach()
    ok = ~torch.isnan(d) if allow_inf else torch.isfinite(d)
    if low is not None:
        lo_ok = low if low_open else low - slack * abs(low)
        ok &= (d > lo_ok) if low_open else (d >= lo_ok)
    if high is not None:
        hi_ok = high if high_open else high + slack * abs(high)
        ok &= (d < hi_ok) if high_open else (d <= hi_ok)
    if bool(ok.all()):
        return
    bad = ~ok
    idx = first_index(bad)
    value = float(d[idx]) if d.ndim else float(d)
    lo = "" if low is None else ("(" if low_open else "[") + f"{low}"
    hi = "" if high is None else f"{high}" + (")" if high_open else "]")
    where = f" at index {idx}" if d.ndim else ""
    interval = f"{lo or '(-inf'}, {hi or ('inf]' if allow_inf else 'inf)')}"
    kind = "" if allow_inf else "finite and "
    note = f" ({note})" if note else ""
    raise ValueError(f"{name} must be {kind}in {interval}{note}, got {value}{where}")


def check_probabilities(t: torch.Tensor, name: str) -> None:
    """Values in [0, 1], naming the first bad index."""
    check_values(t, name, low=0.0, high=1.0)


def first_index_of_flat(flat: int, lead: tuple) -> tuple[int, ...]:
    """Multi-index over the leading shape ``lead`` of flat group number ``flat``."""
    return tuple(int(i) for i in np.unravel_index(flat, lead)) if lead else ()


def tau_for(tau, like: torch.Tensor):
    """Validated τ ready to divide ``(..., k)`` or ``(..., pairs)`` tensors.

    A number stays a float; an array/tensor τ must broadcast to the groups' shape ``(...)``
    (``like.shape[:-1]``; ValueError naming both shapes) and becomes ``(..., 1)`` on ``like``'s
    device and dtype so it broadcasts over the last axis.
    """
    tau = check_tau(tau)
    if isinstance(tau, float):
        return tau
    tt = tau if isinstance(tau, torch.Tensor) else torch.as_tensor(np.asarray(tau))
    lead = tuple(like.shape[:-1])
    try:
        tt = torch.broadcast_to(tt, lead)
    except RuntimeError:
        raise ValueError(
            f"tau of shape {tuple(tt.shape)} does not broadcast to the groups' shape {lead}"
        ) from None
    return tt.to(device=like.device, dtype=like.dtype).unsqueeze(-1)
