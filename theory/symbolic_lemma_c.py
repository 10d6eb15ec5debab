"""Symbolic proof of the soft-RankNet corner formula of Lemma C (THEORY.md §3).

D(x, y) = D_sp(x, y) = sp(x) − sp(y) − σ(y)(x − y), x = m_f/τ (student logit), y = m_g/τ
(teacher logit), over the box |x| ≤ a, |y| ≤ b with a = LΔ/τ, b = L_gΔ/τ (a, b ≥ 0).

1. D is convex in x (∂²D/∂x² = sp''(x) > 0), so the maximum over x is at x = ±a.
2. D(−x, −y) = D(x, y) (sp(−x) = sp(x) − x), so x = a suffices.
3. ∂D/∂y = −σ'(y)(x − y): at x = a it is ≤ 0 for y < a and ≥ 0 for y > a, so D(a, ·) is
   decreasing then increasing on [−b, b]: its maximum is at y = −b or y = b.
4. D(a, −b) − D(a, b) = a·tanh(b/2) ≥ 0: the maximum is at the opposite-sign corners,
   B_RN = D(a, −b) = sp(a) − sp(−b) − σ(−b)(a + b).
5. a = b = x gives B_RN = x·tanh(x/2).
6. B_RN ≤ (a + b)²/8 = (L + L_g)²Δ²/(8τ²): G(a) = (a + b)²/8 − D(a, −b) has G(−b) = 0,
   G'(−b) = 0 and G'' = ¼ − σ(a)(1 − σ(a)) = (σ(a) − ½)² ≥ 0.
A dense grid over (a, b) and the box backs every step numerically.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from locent.theory.symbolic_base import (
    ProofResult,
    is_identically_zero,
    sigmoid,
    softplus,
    verdict,
)

x, y = sp.symbols("x y", real=True)
a, b = sp.symbols("a b", nonnegative=True)


def d_sp(xx: sp.Expr, yy: sp.Expr) -> sp.Expr:
    """D_sp(x, y) = sp(x) − sp(y) − σ(y)(x − y)."""
    return softplus(xx) - softplus(yy) - sigmoid(yy) * (xx - yy)


def corner_value(a_: sp.Expr = a, b_: sp.Expr = b) -> sp.Expr:
    """B_RN = sp(a) − sp(−b) − σ(−b)(a + b) (THEORY.md Lemma C)."""
    return softplus(a_) - softplus(-b_) - sigmoid(-b_) * (a_ + b_)


def _np_d_sp(xx, yy):
    sig = 0.5 * (1 + np.tanh(0.5 * yy))
    return np.logaddexp(0, xx) - np.logaddexp(0, yy) - sig * (xx - yy)


def _grid_box_max(a_num: float, b_num: float, m: int = 201) -> float:
    xs = np.linspace(-a_num, a_num, m)
    ys = np.linspace(-b_num, b_num, m)
    return float(_np_d_sp(xs[:, None], ys[None, :]).max())


def prove_corner_formula() -> ProofResult:
    steps = {}
    steps["convex in x"] = is_identically_zero(
        sp.diff(d_sp(x, y), x, 2) - sigmoid(x) * (1 - sigmoid(x))
    )
    steps["D(-x,-y) = D(x,y)"] = (
        is_identically_zero(
            sp.expand_log(sp.expand(d_sp(-x, -y) - d_sp(x, y)).rewrite(sp.exp), force=True)
        )
        or sp.simplify(d_sp(-x, -y) - d_sp(x, y)) == 0
    )
    steps["dD/dy = -sigma'(y)(x-y)"] = is_identically_zero(
        sp.diff(d_sp(x, y), y) + sp.diff(sigmoid(y), y) * (x - y)
    )
    gap = sp.simplify(d_sp(a, -b) - d_sp(a, b) - a * sp.tanh(b / 2))
    steps["D(a,-b) - D(a,b) = a tanh(b/2)"] = gap == 0 or sp.simplify(gap.rewrite(sp.exp)) == 0
    steps["corner formula = D(a,-b)"] = sp.simplify(d_sp(a, -b) - corner_value()) == 0
    # grid: maximum over the box equals the corner value (to grid resolution it cannot exceed it)
    worst_excess, worst_shortfall = -np.inf, 0.0
    for a_num in (0.0, 0.3, 1.0, 2.5, 7.0, 20.0):
        for b_num in (0.0, 0.3, 1.0, 2.5, 7.0, 20.0):
            box = _grid_box_max(a_num, b_num)
            corner = float(_np_d_sp(np.float64(a_num), np.float64(-b_num)))
            worst_excess = max(worst_excess, box - corner)
            worst_shortfall = max(worst_shortfall, corner - box)
    grid_ok = worst_excess <= 1e-9 and worst_shortfall <= 1e-9
    ok = all(steps.values()) and grid_ok
    return ProofResult(
        "Lemma C (soft RankNet): max of D_sp over |m_f/tau|<=a, |m_g/tau|<=b is at the "
        "opposite-sign corners, B_RN = sp(a) - sp(-b) - sigma(-b)(a+b)",
        "sympy: convexity in x, symmetry, dD/dy sign change at y=x, D(a,-b)-D(a,b)=a tanh(b/2) "
        ">= 0; 201x201 box grid for 36 (a, b)",
        verdict(ok),
        "; ".join(f"{k}: {v}" for k, v in steps.items())
        + f"; grid max - corner <= {worst_excess:.1e}, corner attained (shortfall "
        f"{worst_shortfall:.1e})",
    )


def prove_corner_tanh() -> ProofResult:
    xx = sp.Symbol("x", nonnegative=True)
    diff = corner_value(xx, xx) - xx * sp.tanh(xx / 2)
    ok = sp.simplify(diff.rewrite(sp.exp)) == 0
    pts = np.linspace(0, 50, 1001)
    resid = float(np.max(np.abs(_np_d_sp(pts, -pts) - pts * np.tanh(pts / 2))))
    return ProofResult(
        "Lemma C: a = b = x gives B_RN = x tanh(x/2)",
        "sympy: simplify(B_RN(x, x) - x tanh(x/2)) == 0 (exp form); grid witness",
        verdict(ok and resid < 1e-10),
        f"symbolic: {ok}; max |B_RN(x,x) - x tanh(x/2)| on [0, 50] = {resid:.1e}",
    )


def prove_corner_quadratic_bound() -> ProofResult:
    g = (a + b) ** 2 / 8 - corner_value()
    aa = sp.Symbol("aa", real=True)  # a as a free real variable for the convexity argument
    g_free = g.subs(a, aa)
    at_minus_b = sp.simplify(g_free.subs(aa, -b).rewrite(sp.exp))
    g1 = sp.diff(g_free, aa)
    g1_at = sp.simplify(g1.subs(aa, -b).rewrite(sp.exp))
    g2 = sp.diff(g_free, aa, 2)
    s = sigmoid(aa)
    g2_square = is_identically_zero(g2 - (s - sp.Rational(1, 2)) ** 2)
    grid = np.linspace(0, 60, 601)
    aa_num, bb_num = np.meshgrid(grid, grid, indexing="ij")
    slack = float(np.min((aa_num + bb_num) ** 2 / 8 - _np_d_sp(aa_num, -bb_num)))
    ok = at_minus_b == 0 and g1_at == 0 and g2_square and slack >= -1e-9
    return ProofResult(
        "Lemma C: B_RN <= (L+L_g)^2 Delta^2 / (8 tau^2) = (a+b)^2/8",
        "sympy: G(a) = (a+b)^2/8 - B_RN has G(-b)=0, G'(-b)=0, G'' = (sigma(a)-1/2)^2 >= 0; "
        "601x601 grid witness",
        verdict(ok),
        f"G(-b) = {at_minus_b}; G'(-b) = {g1_at}; G'' square: {g2_square}; "
        f"min slack on grid = {slack:.3e}",
    )


PROOFS = (prove_corner_formula, prove_corner_tanh, prove_corner_quadratic_bound)
