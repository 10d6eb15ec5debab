"""All symbolic proofs of THEORY.md, and the lambdified numeric twins of the symbolic losses.

``run_proofs()`` runs every proof of the ``symbolic_*`` modules and returns their
:class:`~locent.theory.symbolic_base.ProofResult` records (statement, method, PASS/FAIL, detail):

- ``symbolic_losses``: each distillation loss equals its Bregman form (Definition 2.2);
- ``symbolic_inequalities``: ζ of every potential, Pinsker, min(p, 1−p) ≤ h/(2 ln 2), h facts;
- ``symbolic_lemma_c``: the corner formula of Lemma C, x·tanh(x/2), the quadratic bound;
- ``symbolic_bounds``: monotonicity of every bound in Δ, H, n, δ.

``loss_twin(name, k)`` lambdifies the symbolic per-query loss for a group of ``k`` items, so the
tests compare it with the hand-written ``locent.theory`` losses on random inputs;
``symbolic_bounds.numeric_twin`` does the same for the bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from itertools import combinations

import numpy as np
import sympy as sp
from locent.theory import symbolic_bounds, symbolic_inequalities, symbolic_lemma_c, symbolic_losses
from locent.theory.symbolic_base import (
    FAIL,
    ProofResult,
    binary_entropy,
    bregman,
    neg_entropy,
    sigmoid,
    softplus,
)
from locent.theory.symbolic_bounds import numeric_twin

__all__ = ["ProofResult", "run_proofs", "loss_twin", "potential_twin", "numeric_twin", "LOSS_TWINS"]

_MODULES = (symbolic_losses, symbolic_inequalities, symbolic_lemma_c, symbolic_bounds)


def run_proofs() -> list[ProofResult]:
    """Run every symbolic proof; an exception inside a proof is a FAIL with the error."""
    results: list[ProofResult] = []
    for module in _MODULES:
        for proof in module.PROOFS:
            try:
                out = proof()
            except Exception as err:  # a crashing proof is a failed proof, reported, not hidden
                out = ProofResult(
                    f"{module.__name__}.{proof.__name__}",
                    "sympy",
                    FAIL,
                    f"raised {type(err).__name__}: {err}",
                )
            results.extend(out if isinstance(out, list) else [out])
    return results


# --- symbolic per-query losses (the paper forms, written from THEORY.md) ---------------------


def _margin_mse(s, t, tau):
    """Paper form: item 0 is the positive; mean over j ≥ 1 of ((s_0 − s_j) − (t_0 − t_j))²."""
    k = len(s)
    return sum(((s[0] - s[j]) - (t[0] - t[j])) ** 2 for j in range(1, k)) / (k - 1)


def _soft_ranknet(s, t, tau):
    """Mean over i<j of D_sp((s_i − s_j)/τ, (t_i − t_j)/τ) (= KL of Bernoullis)."""
    pairs = list(combinations(range(len(s)), 2))
    return sum(
        symbolic_losses.softplus_bregman((s[i] - s[j]) / tau, (t[i] - t[j]) / tau) for i, j in pairs
    ) / len(pairs)


def _listwise_kl(s, t, tau):
    return symbolic_losses.logsumexp_bregman(list(s), list(t), tau)


def _pairwise_entropy(s, t, tau):
    """Mean over i<j of h(σ((t_i − t_j)/τ)) (Definition 2.3); ``s`` unused."""
    pairs = list(combinations(range(len(t)), 2))
    return sum(binary_entropy(sigmoid((t[i] - t[j]) / tau)) for i, j in pairs) / len(pairs)


def _listwise_entropy(s, t, tau):
    """Shannon entropy of softmax(t/τ); ``s`` unused."""
    denom = sum(sp.exp(tj / tau) for tj in t)
    probs = [sp.exp(tj / tau) / denom for tj in t]
    return -sum(pj * sp.log(pj) for pj in probs)


LOSS_TWINS: dict[str, Callable] = {
    "margin_mse": _margin_mse,
    "soft_ranknet": _soft_ranknet,
    "listwise_kl": _listwise_kl,
    "pairwise_entropy": _pairwise_entropy,
    "listwise_entropy": _listwise_entropy,
}


@cache
def potential_twin(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Lambdified D_φ(a, b) = φ(a) − φ(b) − φ'(b)(a − b) for the scalar potentials
    ``SQUARE`` (u²), ``SOFTPLUS`` (sp) and ``NEG_ENTROPY`` (ψ), element-wise on float64 arrays."""
    potentials = {
        "SQUARE": lambda u: u**2,
        "SOFTPLUS": softplus,
        "NEG_ENTROPY": neg_entropy,
    }
    if name not in potentials:
        raise ValueError(f"no scalar potential twin {name!r}; have {sorted(potentials)}")
    a, b = sp.symbols("a b", real=True)
    return sp.lambdify((a, b), bregman(potentials[name], a, b), modules="numpy")


@cache
def loss_twin(
    name: str, k: int, backend: str = "numpy"
) -> Callable[[np.ndarray, np.ndarray, float], np.ndarray]:
    """Lambdified symbolic twin of ``name`` for a group of ``k`` items.

    Returns ``fn(student, teacher, tau)`` with ``student``, ``teacher`` of shape ``(..., k)``
    and a float64 result of shape ``(...)``.

    ``backend="numpy"`` evaluates the textbook formulas in float64 (vectorised; accurate while
    the logit gaps stay moderate, |Δ/τ| ≲ 15: 1 − σ(z) cancels beyond). ``backend="mpmath"``
    evaluates them at 60 (+ gap/τ/ln 10) digits group by group (slow; for extreme gaps such as
    20 and 1000).
    """
    if name not in LOSS_TWINS:
        raise ValueError(f"no symbolic twin named {name!r}; have {sorted(LOSS_TWINS)}")
    if backend not in ("numpy", "mpmath"):
        raise ValueError(f"backend must be 'numpy' or 'mpmath', got {backend!r}")
    if k < 2:
        raise ValueError(f"k must be >= 2, got {k}")
    s = sp.symbols(f"s0:{k}", real=True)
    t = sp.symbols(f"t0:{k}", real=True)
    tau = sp.Symbol("tau", positive=True)
    fn = sp.lambdify((*s, *t, tau), LOSS_TWINS[name](s, t, tau), modules=backend)

    def twin(student, teacher, tau_value=1.0):
        student = np.asarray(student, dtype=np.float64)
        teacher = np.asarray(teacher, dtype=np.float64)
        if student.shape[-1] != k or teacher.shape[-1] != k:
            raise ValueError(f"twin {name!r} built for k={k}, got {student.shape}, {teacher.shape}")
        shape = np.broadcast_shapes(student.shape[:-1], teacher.shape[:-1])
        if backend == "numpy":
            cols = [student[..., i] for i in range(k)] + [teacher[..., i] for i in range(k)]
            return np.broadcast_to(fn(*cols, tau_value), shape)
        import mpmath

        s_b = np.broadcast_to(student, (*shape, k)).reshape(-1, k)
        t_b = np.broadcast_to(teacher, (*shape, k)).reshape(-1, k)
        out = np.empty(len(s_b))
        for row, (si, ti) in enumerate(zip(s_b, t_b)):
            # 1 − σ(z) needs z/ln 10 extra digits to keep 60 (z up to the largest gap / τ)
            spread = max(np.ptp(si), np.ptp(ti)) / float(tau_value)
            with mpmath.workdps(60 + int(spread / 2.3)):
                args = [mpmath.mpf(float(v)) for v in (*si, *ti)]
                out[row] = float(fn(*args, mpmath.mpf(float(tau_value))))
        return out.reshape(shape)

    return twin
