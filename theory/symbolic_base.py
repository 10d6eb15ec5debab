"""Shared pieces of the symbolic proofs: the result record, the sympy potentials, grid backing.

Every proof in ``locent.theory.symbolic_*`` returns a :class:`ProofResult`. Its ``method`` says
how the statement was closed: ``"sympy: ..."`` when sympy proved it (an identity simplified to 0,
or an inequality reduced to a sum of squares / a derivative-sign argument that sympy checked), and
``"... + dense grid"`` when sympy could not close it alone and a dense grid (and the property
tests under ``tests/theory``) back it. Nothing is ever backed by nothing.

Symbols and functions (THEORY.md §1-§2):

- σ(z) = 1/(1+e^{−z}), sp(z) = ln(1+e^z) (softplus), ψ(p) = p ln p + (1−p) ln(1−p) (negative
  entropy), h(p) = −ψ(p) (binary entropy, nats), A(z) = ln Σ_j e^{z_j} (log-sum-exp).
- D_φ(a, b) = φ(a) − φ(b) − ⟨∇φ(b), a − b⟩ (Bregman divergence, Definition 2.2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import sympy as sp

PASS = "PASS"
FAIL = "FAIL"


class ProofResult(NamedTuple):
    """One checked statement: what, how, PASS/FAIL, and the evidence (numbers, residuals)."""

    statement: str
    method: str
    result: str
    detail: str

    @property
    def passed(self) -> bool:
        return self.result == PASS

    def as_dict(self) -> dict[str, str]:
        return dict(self._asdict())


def verdict(ok: bool) -> str:
    return PASS if bool(ok) else FAIL


# --- the potentials, as sympy expressions -------------------------------------------------


def sigmoid(z: sp.Expr) -> sp.Expr:
    """σ(z) = 1 / (1 + e^{−z})."""
    return 1 / (1 + sp.exp(-z))


def softplus(z: sp.Expr) -> sp.Expr:
    """sp(z) = ln(1 + e^z); sp' = σ, sp'' = σ(1 − σ)."""
    return sp.log(1 + sp.exp(z))


def neg_entropy(p: sp.Expr) -> sp.Expr:
    """ψ(p) = p ln p + (1 − p) ln(1 − p), the convex conjugate of softplus."""
    return p * sp.log(p) + (1 - p) * sp.log(1 - p)


def binary_entropy(p: sp.Expr) -> sp.Expr:
    """h(p) = −p ln p − (1 − p) ln(1 − p) (nats)."""
    return -neg_entropy(p)


def logsumexp(z: Sequence[sp.Expr]) -> sp.Expr:
    """A(z) = ln Σ_j e^{z_j}."""
    return sp.log(sum(sp.exp(zj) for zj in z))


def bregman(phi: Callable, a, b) -> sp.Expr:
    """D_φ(a, b) = φ(a) − φ(b) − ⟨∇φ(b), a − b⟩ for scalar or vector (sequence) arguments.

    For vectors, ``phi`` takes a sequence and the gradient is taken with respect to fresh
    symbols then evaluated at ``b``.
    """
    if isinstance(a, (list, tuple)):
        x = sp.symbols(f"_x0:{len(a)}", real=True)
        grad = [sp.diff(phi(list(x)), xi) for xi in x]
        at_b = dict(zip(x, b))
        inner = sum(g.subs(at_b) * (ai - bi) for g, ai, bi in zip(grad, a, b))
        return phi(list(a)) - phi(list(b)) - inner
    x = sp.Symbol("_x", real=True)
    grad = sp.diff(phi(x), x).subs(x, b)
    return phi(a) - phi(b) - grad * (a - b)


def is_identically_zero(expr: sp.Expr, positive_logs: bool = True) -> bool:
    """True when sympy reduces ``expr`` to exactly 0.

    Tries cheap rewrites first (expand, log expansion with positive arguments, cancel) and only
    then ``simplify``; returns False when none closes it (the caller then reports FAIL or backs
    the statement otherwise).
    """
    candidates = [expr]
    if positive_logs:
        candidates.append(sp.expand_log(sp.expand(expr), force=True))
    for cand in candidates:
        for rewrite in (sp.expand, sp.cancel, sp.together):
            try:
                if sp.expand(rewrite(cand)) == 0:
                    return True
            except (TypeError, ValueError, sp.PolynomialError):
                continue
    try:
        return sp.simplify(candidates[-1]) == 0
    except (TypeError, ValueError):
        return False


def random_residual(
    expr: sp.Expr, symbols: Sequence[sp.Symbol], sampler: Callable[[np.random.Generator], list]
) -> float:
    """Max |expr| over 20 random points at 50 digits: a numeric witness printed in ``detail``."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(20):
        point = {sym: sp.Float(val, 50) for sym, val in zip(symbols, sampler(rng))}
        worst = max(worst, abs(float(expr.evalf(50, subs=point))))
    return worst


def grid_min(
    fn: Callable[..., np.ndarray], axes: Sequence[np.ndarray]
) -> tuple[float, tuple[float, ...]]:
    """Minimum of a vectorised ``fn`` over the Cartesian grid ``axes`` and where it occurs."""
    mesh = np.meshgrid(*axes, indexing="ij")
    values = np.asarray(fn(*mesh), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        bad = int(np.sum(~np.isfinite(values)))
        raise ValueError(f"grid check produced {bad} non-finite values")
    where = np.unravel_index(int(np.argmin(values)), values.shape)
    return float(values[where]), tuple(float(m[where]) for m in mesh)
