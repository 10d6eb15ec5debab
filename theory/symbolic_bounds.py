"""The bounds of THEORY.md §3-§5 as sympy expressions, and the signs of their derivatives.

Each bound is written once here from the THEORY.md text (independently of the numeric code in
``locent.theory``); :func:`numeric_twin` lambdifies it so the tests can compare it with the
hand-written numeric function on random inputs. The monotonicity proofs check the sign of every
partial derivative in Δ (essential diameter), H (teacher entropy), n (queries) and δ (confidence)
with sympy's assumption system; the open intervals δ ∈ (0, 1) and η ∈ (0, ½) are encoded by
δ = 1/(1 + w), η = 1/(2(1 + w)) with w > 0. Where sympy cannot decide a sign, the proof says so
in ``method`` and decides it on a dense positive grid instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import sympy as sp
from locent.theory.symbolic_base import ProofResult, binary_entropy, sigmoid, verdict
from locent.theory.symbolic_lemma_c import corner_value

# Declared parameters of the bounds (all positive reals).
H, R, eta, tau = sp.symbols("H R eta tau", positive=True)
L, L_g, Delta = sp.symbols("L L_g Delta", positive=True)
B, d, n, delta, C = sp.symbols("B d n delta C", positive=True)
rho, W, Lam, kappa, k = sp.symbols("rho W Lambda kappa k", positive=True)
w = sp.Symbol("w", positive=True)  # reparametrises the open intervals


def logit(q: sp.Expr) -> sp.Expr:
    return sp.log(q / (1 - q))


def vc_estimation_term(B_=B, d_=d, n_=n, delta_=delta, C_=C) -> sp.Expr:
    """2 B (C √(d/n) + √(ln(2/δ)/(2n))): the estimation gap of Theorem 2.1 (i)."""
    return 2 * B_ * (C_ * sp.sqrt(d_ / n_) + sp.sqrt(sp.log(2 / delta_) / (2 * n_)))


#: name -> (expression, argument symbols in the numeric function's positional order)
BOUND_EXPRESSIONS: dict[str, tuple[sp.Expr, tuple[sp.Symbol, ...]]] = {
    # Lemma A: H/h(½+η) + R/(2η²)
    "misordering_bound": (
        H / binary_entropy(sp.Rational(1, 2) + eta) + R / (2 * eta**2),
        (H, R, eta),
    ),
    # Lemma A, MarginMSE: H/h(½+η) + R_MM/(τ logit(½+η))²
    "misordering_bound_margin_mse": (
        H / binary_entropy(sp.Rational(1, 2) + eta)
        + R / (tau * logit(sp.Rational(1, 2) + eta)) ** 2,
        (H, R, eta, tau),
    ),
    # Lemma B: h(σ(L_g Δ/τ))
    "entropy_floor": (binary_entropy(sigmoid(L_g * Delta / tau)), (L_g, Delta, tau)),
    # Lemma C ranges
    "loss_range_margin_mse": ((L + L_g) ** 2 * Delta**2, (L, L_g, Delta, tau)),
    "loss_range_soft_ranknet": (
        corner_value(L * Delta / tau, L_g * Delta / tau),
        (L, L_g, Delta, tau),
    ),
    "loss_range_listwise_kl": ((L + L_g) * Delta / tau, (L, L_g, Delta, tau)),
    # Theorem 2.1 (i): the gap R(f̂) − R(f*)
    "generalisation_bound": (vc_estimation_term(), (B, d, n, delta, C)),
    # Theorem 2.1 (ii)
    "misordering_generalisation_bound": (
        H / binary_entropy(sp.Rational(1, 2) + eta) + (R + vc_estimation_term()) / (2 * eta**2),
        (H, R, B, d, n, delta, eta, C),
    ),
    # Theorem 2.1 (iii): R̂ + 2ρWΛΔ/√n + B √(ln(1/δ)/(2n))
    "rademacher_bound": (
        R + 2 * rho * W * Lam * Delta / sp.sqrt(n) + B * sp.sqrt(sp.log(1 / delta) / (2 * n)),
        (R, rho, W, Lam, Delta, n, delta, B),
    ),
    # Corollary 2.1: κ^k R
    "transfer_bound": (kappa**k * R, (R, kappa, k)),
}


@cache
def numeric_twin(name: str) -> Callable[..., np.ndarray]:
    """``sympy.lambdify`` of ``BOUND_EXPRESSIONS[name]`` (numpy backend, positional args)."""
    if name not in BOUND_EXPRESSIONS:
        raise ValueError(f"no symbolic expression named {name!r}; have {sorted(BOUND_EXPRESSIONS)}")
    expr, args = BOUND_EXPRESSIONS[name]
    return sp.lambdify(args, expr, modules="numpy")


# --- monotonicity ----------------------------------------------------------------------------

_OPEN_INTERVALS = {delta: 1 / (1 + w), eta: 1 / (2 * (1 + w))}


def _sign(expr: sp.Expr) -> int | None:
    """+1 / −1 when sympy's assumptions decide the sign of ``expr``, else None."""
    for cand in (expr, sp.simplify(expr), sp.factor(sp.simplify(expr))):
        if cand.is_positive:
            return 1
        if cand.is_negative:
            return -1
    return None


def _grid_sign(expr: sp.Expr, rng: np.random.Generator) -> int | None:
    """The sign of ``expr`` on 20,000 random positive points (log-uniform in [1e-2, 1e2])."""
    free = sorted(expr.free_symbols, key=str)
    fn = sp.lambdify(free, expr, modules="numpy")
    cols = [10 ** rng.uniform(-2, 2, 20000) for _ in free]
    with np.errstate(all="ignore"):
        vals = np.asarray(fn(*cols), dtype=np.float64) * np.ones(20000)
    vals = vals[np.isfinite(vals)]
    if vals.size < 10000:
        return None
    if np.all(vals > 0):
        return 1
    if np.all(vals < 0):
        return -1
    return None


def _monotone_cases():
    """(label, expression, variable, expected sign, soft-RankNet range substituted for B?)."""
    b_mm = (L + L_g) ** 2 * Delta**2
    b_kl = (L + L_g) * Delta / tau
    mis, _ = BOUND_EXPRESSIONS["misordering_bound"]
    mis_mm, _ = BOUND_EXPRESSIONS["misordering_bound_margin_mse"]
    floor, _ = BOUND_EXPRESSIONS["entropy_floor"]
    gen, _ = BOUND_EXPRESSIONS["generalisation_bound"]
    mgen, _ = BOUND_EXPRESSIONS["misordering_generalisation_bound"]
    rad, _ = BOUND_EXPRESSIONS["rademacher_bound"]
    transfer, _ = BOUND_EXPRESSIONS["transfer_bound"]
    rho_mm = 2 * (W * Lam + L_g) * Delta
    return [
        ("Lemma A misordering_bound", mis, H, +1, False),
        ("Lemma A misordering_bound", mis, R, +1, False),
        ("Lemma A (MarginMSE) misordering_bound_margin_mse", mis_mm, H, +1, False),
        ("Lemma B entropy_floor", floor, Delta, -1, False),
        ("Lemma C loss_range margin_mse", b_mm, Delta, +1, False),
        ("Lemma C loss_range soft_ranknet", B, Delta, +1, True),
        ("Lemma C loss_range listwise_kl", b_kl, Delta, +1, False),
        ("Thm 2.1 (i) generalisation_bound", gen, n, -1, False),
        ("Thm 2.1 (i) generalisation_bound", gen, delta, -1, False),
        ("Thm 2.1 (i) generalisation_bound", gen, d, +1, False),
        (
            "Thm 2.1 (i) generalisation_bound (B = MarginMSE range)",
            gen.subs(B, b_mm),
            Delta,
            +1,
            False,
        ),
        ("Thm 2.1 (i) generalisation_bound (B = soft RankNet range)", gen, Delta, +1, True),
        ("Thm 2.1 (ii) misordering_generalisation_bound", mgen, H, +1, False),
        ("Thm 2.1 (ii) misordering_generalisation_bound", mgen, n, -1, False),
        ("Thm 2.1 (ii) misordering_generalisation_bound", mgen, delta, -1, False),
        (
            "Thm 2.1 (ii) misordering_generalisation_bound (B = soft RankNet range)",
            mgen,
            Delta,
            +1,
            True,
        ),
        ("Thm 2.1 (iii) rademacher_bound", rad, n, -1, False),
        ("Thm 2.1 (iii) rademacher_bound", rad, delta, -1, False),
        (
            "Thm 2.1 (iii) rademacher_bound (soft RankNet, rho = 1/tau)",
            rad.subs(rho, 1 / tau),
            Delta,
            +1,
            True,
        ),
        (
            "Thm 2.1 (iii) rademacher_bound (MarginMSE, rho = 2(W Lambda + L_g) Delta)",
            rad.subs({rho: rho_mm, B: (W * Lam + L_g) ** 2 * Delta**2}),
            Delta,
            +1,
            False,
        ),
        ("Cor 2.1 transfer_bound", transfer, kappa, +1, False),
        ("Cor 2.1 transfer_bound", transfer, R, +1, False),
    ]


def _soft_ranknet_range_derivative_decomposes() -> bool:
    """d/dΔ B_RN = (L/τ)(σ(a) − σ(−b)) + (L_g/τ) σ'(−b)(a + b) with a = LΔ/τ, b = L_gΔ/τ.

    Both terms are ≥ 0 (σ increasing and a ≥ −b; σ' > 0; a + b > 0): sympy checks the identity.
    """
    a_ = L * Delta / tau
    b_ = L_g * Delta / tau
    deriv = sp.diff(corner_value(a_, b_), Delta)
    zz = sp.Symbol("zz", real=True)
    sig_prime = sp.diff(sigmoid(zz), zz).subs(zz, -b_)
    decomposition = (L / tau) * (sigmoid(a_) - sigmoid(-b_)) + (L_g / tau) * sig_prime * (a_ + b_)
    return sp.simplify(deriv - decomposition) == 0


def prove_monotonicity() -> list[ProofResult]:
    """One ProofResult per bound and variable: the sign of ∂bound/∂variable.

    Bounds that use the soft-RankNet range B_RN(Δ) go by the chain rule,
    d/dΔ bound = ∂_Δ bound + ∂_B bound · dB_RN/dΔ: sympy decides the signs of the two partials
    and proves dB_RN/dΔ ≥ 0 by an explicit decomposition into nonnegative terms.
    """
    rng = np.random.default_rng(11)
    b_rn = corner_value(L * Delta / tau, L_g * Delta / tau)
    rn_decomposes = _soft_ranknet_range_derivative_decomposes()
    results = []
    for label, expr, var, expected, via_rn_range in _monotone_cases():
        assumptions = "all parameters > 0, delta in (0,1), eta in (0,1/2)"
        if via_rn_range:
            partial_delta = sp.diff(expr, Delta).subs(_OPEN_INTERVALS)
            partial_b = sp.diff(expr, B).subs(_OPEN_INTERVALS)
            s_delta = 0 if partial_delta == 0 else _sign(partial_delta)
            s_b = _sign(partial_b)
            decided = rn_decomposes and s_b == 1 and s_delta in (0, 1)
            sym = 1 if decided else None
            how = (
                "sympy chain rule: dB_RN/dDelta = (L/tau)(sigma(a)-sigma(-b)) + "
                "(L_g/tau) sigma'(-b)(a+b) >= 0 (identity), d bound/dB > 0 and "
                f"d bound/dDelta|_B >= 0 by assumptions ({assumptions})"
            )
            deriv_w = sp.diff(expr.subs(B, b_rn), var).subs(_OPEN_INTERVALS)
        else:
            deriv_w = sp.diff(expr, var).subs(_OPEN_INTERVALS)
            sym = _sign(deriv_w)
            how = f"sympy sign of the derivative ({assumptions})"
        grid = _grid_sign(deriv_w, rng)
        decided_by = "sympy"
        if sym is None:
            decided_by = "dense grid only (sympy could not decide the sign)"
            how = "dense grid: 20,000 log-uniform positive points of the derivative"
        ok = (sym is None or sym == expected) and grid == expected
        word = "increasing" if expected > 0 else "decreasing"
        results.append(
            ProofResult(
                f"monotone: {label} is {word} in {var}",
                how + "; dense-grid witness",
                verdict(ok),
                f"d/d{var} sign decided by {decided_by}: sympy={sym}, grid={grid}, "
                f"expected={expected}",
            )
        )
    return results


PROOFS = (prove_monotonicity,)
