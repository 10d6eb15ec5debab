"""Symbolic proofs of the pointwise inequalities of THEORY.md §2 (ζ, Pinsker, entropy facts).

- ζ of each potential: sp'' = σ(1 − σ) ≤ ¼ (so D_sp ≤ (a − b)²/8, ζ = 1/(4τ²) in margin units);
  MarginMSE D = (ζ/2)(gap)² with ζ = 2 (equality); ‖∇²A‖ ≤ ½ for log-sum-exp (Gershgorin for
  k = 2, 3 symbolically, eigenvalues on a grid of random softmax vectors for larger k).
- Pinsker for Bernoullis: KL(p ‖ r) ≥ 2(p − r)², by the derivative-sign argument.
- min(p, 1 − p) ≤ h(p)/(2 ln 2): concavity of h plus the chord through (0, 0), (½, ln 2).
- h symmetric about ½ and strictly decreasing in |p − ½|.

Each inequality is reduced by sympy to a sum of squares or a sign that sympy's assumptions decide;
the ``detail`` also reports a dense-grid minimum of the slack as a numeric witness.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from locent.theory.symbolic_base import (
    ProofResult,
    binary_entropy,
    grid_min,
    is_identically_zero,
    sigmoid,
    softplus,
    verdict,
)

z = sp.Symbol("z", real=True)
x, y = sp.symbols("x y", real=True)
p, r = sp.symbols("p r", positive=True)

_P_GRID = np.linspace(1e-6, 1 - 1e-6, 2001)
_Z_GRID = np.linspace(-40.0, 40.0, 401)


def _np_sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def _np_softplus(t):
    return np.logaddexp(0.0, t)


def _np_entropy(q):
    return -q * np.log(q) - (1 - q) * np.log1p(-q)


def prove_softplus_smoothness() -> ProofResult:
    """sp'' = σ(1−σ) = ¼ − (σ − ½)² ≤ ¼, hence D_sp(a, b) ≤ (a − b)²/8."""
    second = sp.diff(softplus(z), z, 2)
    s = sigmoid(z)
    is_sig = is_identically_zero(second - s * (1 - s))
    # ¼ − σ(1 − σ) = (σ − ½)²: a square, so ≥ 0 (the whole inequality, exactly)
    sq = sp.Symbol("s", real=True)
    is_square = sp.expand(sp.Rational(1, 4) - sq * (1 - sq) - (sq - sp.Rational(1, 2)) ** 2) == 0
    # grid witness of D_sp(a, b) ≤ (a − b)²/8 (Taylor's remainder with sp'' ≤ ¼)
    slack, where = grid_min(
        lambda aa, bb: (
            (aa - bb) ** 2 / 8 - (_np_softplus(aa) - _np_softplus(bb) - _np_sigmoid(bb) * (aa - bb))
        ),
        (_Z_GRID, _Z_GRID),
    )
    ok = is_sig and is_square and slack >= -1e-9
    return ProofResult(
        "softplus smoothness: sp'' = sigma(1-sigma) <= 1/4, so D_sp <= (m_f-m_g)^2/(8 tau^2), "
        "zeta = 1/(4 tau^2)",
        "sympy: sp'' - sigma(1-sigma) == 0 and 1/4 - s(1-s) = (s-1/2)^2 (square); "
        "Taylor remainder; dense grid witness",
        verdict(ok),
        f"sp'' identity: {is_sig}; square form: {is_square}; "
        f"min over 401x401 grid in [-40,40]^2 of (a-b)^2/8 - D_sp = {slack:.3e} at {where}",
    )


def prove_margin_mse_zeta() -> ProofResult:
    """φ(u) = u²: D_φ = (a − b)² = (ζ/2)(a − b)² with ζ = φ'' = 2, equality everywhere."""
    phi = x**2
    zeta = sp.diff(phi, x, 2)
    d = phi - phi.subs(x, y) - sp.diff(phi, x).subs(x, y) * (x - y)
    ok = zeta == 2 and sp.expand(d - zeta / 2 * (x - y) ** 2) == 0
    return ProofResult(
        "MarginMSE smoothness: D_phi = (zeta/2)(m_f - m_g)^2 with zeta = 2 (equality)",
        "sympy: phi'' == 2 and expand(D_phi - (m_f-m_g)^2) == 0",
        verdict(ok),
        f"phi'' = {zeta}",
    )


def _softmax_hessian(k: int):
    zs = sp.symbols(f"z0:{k}", real=True)
    a_pot = sp.log(sum(sp.exp(zi) for zi in zs))
    return zs, sp.hessian(a_pot, zs)


def prove_logsumexp_hessian() -> ProofResult:
    """‖∇²A(z)‖ ≤ ½: ∇²A = diag(π) − ππᵀ, Gershgorin row sums 2π_i(1 − π_i) ≤ ½, and ∇²A·1 = 0.

    Symbolic for k = 2 and 3: sympy checks the Hessian equals diag(π) − ππᵀ, annihilates the
    ones vector (shift invariance: only the centred gap counts), and that every Gershgorin bound
    π_i(1−π_i) + Σ_{j≠i} π_iπ_j = 2π_i(1−π_i) = ½ − 2(π_i − ½)² ≤ ½. For k up to 64: the largest
    eigenvalue over random softmax vectors (dense grid for k = 2).
    """
    details = []
    sym_ok = True
    for k in (2, 3):
        zs, hess = _softmax_hessian(k)
        denom = sum(sp.exp(zi) for zi in zs)
        pi = [sp.exp(zi) / denom for zi in zs]
        expected = sp.diag(*pi) - sp.Matrix(pi) * sp.Matrix(pi).T
        same = all(is_identically_zero(e) for e in (hess - expected))
        kills_ones = all(is_identically_zero(e) for e in hess * sp.ones(k, 1))
        # Gershgorin in terms of free probabilities q_i (Σ q = 1 enforced by substitution)
        q = sp.symbols(f"q0:{k}", positive=True)
        qs = list(q[:-1]) + [1 - sum(q[:-1])]
        row_ok = True
        for i in range(k):
            radius = sum(qs[i] * qs[j] for j in range(k) if j != i)
            centre = qs[i] * (1 - qs[i])
            bound = sp.expand(centre + radius)
            row_ok &= sp.expand(bound - 2 * qs[i] * (1 - qs[i])) == 0
            row_ok &= (
                sp.expand(sp.Rational(1, 2) - bound - 2 * (qs[i] - sp.Rational(1, 2)) ** 2) == 0
            )
        details.append(
            f"k={k}: hessian=diag(pi)-pi pi^T {same}, H1=0 {kills_ones}, Gershgorin<=1/2 {row_ok}"
        )
        sym_ok &= same and kills_ones and row_ok
    rng = np.random.default_rng(3)
    worst = 0.0
    for k in (2, 3, 8, 64):
        logits = rng.normal(0, 4, (2000, k))
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        hess = probs[:, :, None] * np.eye(k) - probs[:, :, None] * probs[:, None, :]
        worst = max(worst, float(np.linalg.eigvalsh(hess)[:, -1].max()))
    # k = 2 dense grid: the only eigenvalue is 2π(1−π)
    p_two = _P_GRID
    worst = max(worst, float((2 * p_two * (1 - p_two)).max()))
    ok = sym_ok and worst <= 0.5 + 1e-12
    return ProofResult(
        "logsumexp smoothness: ||Hessian of A|| <= 1/2, so D_A <= (1/4)||c(s-t)||^2/tau^2",
        "sympy: Hessian = diag(pi)-pi pi^T, H 1 = 0, Gershgorin rows = 1/2 - 2(pi_i-1/2)^2 "
        "(k=2,3); eigenvalues on 2000 random softmax vectors each for k=2,3,8,64",
        verdict(ok),
        "; ".join(details) + f"; largest eigenvalue seen = {worst:.6f}",
    )


def bernoulli_kl_expr(p_, r_):
    return p_ * sp.log(p_ / r_) + (1 - p_) * sp.log((1 - p_) / (1 - r_))


def prove_pinsker_bernoulli() -> ProofResult:
    """g(r) = KL(p ‖ r) − 2(p − r)²: g(p) = 0 and g'(r) = (r − p)(2r − 1)²/(r(1 − r)).

    So g decreases for r < p and increases for r > p: its minimum is g(p) = 0.
    """
    g = bernoulli_kl_expr(p, r) - 2 * (p - r) ** 2
    at_p = sp.simplify(g.subs(r, p))
    dg = sp.diff(g, r)
    factor_ok = is_identically_zero(sp.together(dg - (r - p) * (2 * r - 1) ** 2 / (r * (1 - r))))
    slack, where = grid_min(
        lambda pp, rr: (
            pp * np.log(pp / rr) + (1 - pp) * np.log((1 - pp) / (1 - rr)) - 2 * (pp - rr) ** 2
        ),
        (_P_GRID[::4], _P_GRID[::4]),
    )
    ok = at_p == 0 and factor_ok and slack >= -1e-12
    return ProofResult(
        "Pinsker for Bernoullis: KL(Ber(p)||Ber(r)) >= 2 (p - r)^2",
        "sympy: derivative-sign argument, g(p)=0 and dg/dr = (r-p)(2r-1)^2/(r(1-r)) "
        "(sign of r-p); dense grid witness",
        verdict(ok),
        f"g(p) = {at_p}; factorisation: {factor_ok}; "
        f"min over 501x501 grid of KL - 2(p-r)^2 = {slack:.3e} at {where}",
    )


def prove_teacher_misorder_entropy() -> ProofResult:
    """min(p, 1−p) ≤ h(p)/(2 ln 2): h concave, h(0⁺) = 0, h(½) = ln 2, so on [0, ½] h lies above
    the chord 2p ln 2; symmetry of h gives (½, 1]."""
    h = binary_entropy(p)
    h2 = sp.simplify(sp.diff(h, p, 2))
    concave = is_identically_zero(sp.together(h2 + 1 / (p * (1 - p))))  # h'' = −1/(p(1−p)) < 0
    limit0 = sp.limit(h, p, 0, "+")
    half = sp.simplify(sp.expand_log(h.subs(p, sp.Rational(1, 2)), force=True))
    symmetric = is_identically_zero(sp.expand_log(h - h.subs(p, 1 - p), force=True))
    pp = _P_GRID
    slack = float(np.min(_np_entropy(pp) / (2 * math.log(2)) - np.minimum(pp, 1 - pp)))
    ok = concave and limit0 == 0 and sp.simplify(half - sp.log(2)) == 0 and symmetric
    ok = ok and slack >= -1e-12
    return ProofResult(
        "teacher misordering: min(p, 1-p) <= h(p)/(2 ln 2)",
        "sympy: h'' = -1/(p(1-p)) < 0 (concave), h(0+) = 0, h(1/2) = ln 2 (chord), h symmetric; "
        "dense grid witness",
        verdict(ok),
        f"h'' = {h2}; h(0+) = {limit0}; h(1/2) = {half}; min slack on 2001 points = {slack:.3e}",
    )


def prove_entropy_symmetric_decreasing() -> ProofResult:
    """h(½ + x) = h(½ − x) and d/dx h(½ + x) = ln((1 − 2x)/(1 + 2x)) < 0 for x ∈ (0, ½).

    x ∈ (0, ½) is written x = 1/(2(1 + w)), w > 0, so the argument of the log is w/(w + 2) and
    sympy's assumptions decide w/(w + 2) − 1 = −2/(w + 2) < 0.
    """
    xx = sp.Symbol("x", positive=True)
    w = sp.Symbol("w", positive=True)
    h_plus = binary_entropy(sp.Rational(1, 2) + xx)
    h_minus = binary_entropy(sp.Rational(1, 2) - xx)
    symmetric = is_identically_zero(sp.expand_log(h_plus - h_minus, force=True))
    deriv = sp.diff(h_plus, xx)
    half = sp.Rational(1, 2)
    expected = sp.log(half - xx) - sp.log(half + xx)  # = ln((1 − 2x)/(1 + 2x))
    deriv_ok = is_identically_zero(sp.expand(deriv - expected))
    ratio = sp.simplify(((half - xx) / (half + xx)).subs(xx, 1 / (2 * (1 + w))))
    below_one = sp.simplify(ratio - 1).is_negative
    pp = np.linspace(0.5, 1 - 1e-9, 5001)
    mono = bool(np.all(np.diff(_np_entropy(pp)) < 0))
    ok = symmetric and deriv_ok and bool(below_one) and mono
    return ProofResult(
        "h symmetric about 1/2 and strictly decreasing in |p - 1/2| "
        "(so |p-1/2| <= eta  <=>  h(p) >= h(1/2+eta))",
        "sympy: h(1/2+x) - h(1/2-x) == 0; dh/dx = log((1-2x)/(1+2x)), argument - 1 < 0 "
        "by assumptions; grid witness",
        verdict(ok),
        f"symmetric: {symmetric}; derivative: {deriv_ok}; ratio = {ratio} < 1: {below_one}; "
        f"strictly decreasing on 5001 points of [1/2, 1): {mono}",
    )


PROOFS = (
    prove_softplus_smoothness,
    prove_margin_mse_zeta,
    prove_logsumexp_hessian,
    prove_pinsker_bernoulli,
    prove_teacher_misorder_entropy,
    prove_entropy_symmetric_decreasing,
)
