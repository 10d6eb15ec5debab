"""Golden regression values for every bound, computed with mpmath at 50 digits.

The formulas below are written a second time, independently, from the THEORY.md text (they do
not call the numeric code of ``locent.theory``). :func:`compute_golden` evaluates them on a small
fixed table of inputs; the result is committed as ``theory/golden_bounds.json``, and the tests

1. compare every numeric bound function with the committed value at a relative tolerance of
   1e-10 (so a change to a bound formula fails CI), and
2. recompute the table with mpmath and check it equals the committed file byte for byte.

Regenerate (only when THEORY.md changes): ``python -m locent.theory.golden --write``.

Formulas (THEORY.md §3-§5; h binary entropy in nats, σ logistic, sp softplus):

- Lemma A: H/h(½+η) + R/(2η²); MarginMSE: H/h(½+η) + R/(τ·logit(½+η))²; optimal η minimises
  the first over (0, ½) (unique root of the increasing derivative).
- Lemma B: h(σ(L_g Δ/τ)).
- Lemma C: MarginMSE (L+L_g)²Δ²; soft RankNet sp(a) − sp(−b) − σ(−b)(a+b), a = LΔ/τ,
  b = L_gΔ/τ; listwise KL (L+L_g)Δ/τ.
- Theorem 2.1 (i): 2B(C√(d/n) + √(ln(2/δ)/(2n))); (ii): H/h(½+η) + [R* + (i)]/(2η²);
  (iii): R̂ + 2ρWΛΔ/√n + B√(ln(1/δ)/(2n)), ρ = 1/τ (soft RankNet) or 2(WΛ+L_g)Δ (MarginMSE).
- Corollary 2.1: κ^k R.
- Vacuity of (i): non-vacuous iff the gap < B ⟺ n > 4(C√d + √(ln(2/δ)/2))²; the smallest such
  integer n.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import mpmath as mp

GOLDEN_PATH = Path(__file__).with_name("golden_bounds.json")
DPS = 50
DIGITS = 30  # significant digits stored (far beyond float64; deterministic strings)
REL_TOL = 1e-10
#: the minimiser η* of a smooth function is fixed by float arithmetic only to ~√eps (the bound
#: value at it is exact to rounding), so η* is compared at this looser tolerance.
REL_TOL_OUTPUT = {"eta": 1e-6}


def _f(x) -> mp.mpf:
    """The exact binary value of the float input (what the numeric code receives)."""
    return mp.mpf(float(x))


def h(p: mp.mpf) -> mp.mpf:
    return -p * mp.log(p) - (1 - p) * mp.log(1 - p)


def sigma(z: mp.mpf) -> mp.mpf:
    return 1 / (1 + mp.exp(-z))


def softplus(z: mp.mpf) -> mp.mpf:
    return mp.log1p(mp.exp(z))


def mp_misordering_bound(entropy, kl_risk, eta) -> mp.mpf:
    H, R, e = _f(entropy), _f(kl_risk), _f(eta)
    return H / h(mp.mpf(1) / 2 + e) + R / (2 * e**2)


def mp_misordering_bound_margin_mse(entropy, mm_risk, eta, tau) -> mp.mpf:
    H, R, e, t = _f(entropy), _f(mm_risk), _f(eta), _f(tau)
    q = mp.mpf(1) / 2 + e
    return H / h(q) + R / (t * mp.log(q / (1 - q))) ** 2


def mp_optimal_eta(entropy, kl_risk) -> tuple[mp.mpf, mp.mpf]:
    """argmin over η ∈ (0, ½) of H/h(½+η) + R/(2η²) for H, R > 0.

    The derivative H·ln((½+η)/(½−η))/h(½+η)² − R/η³ is strictly increasing from −∞ to +∞, so
    bisection on its sign finds the unique minimiser to 50 digits.
    """
    H, R = _f(entropy), _f(kl_risk)
    if H <= 0 or R <= 0:
        raise ValueError("golden optimal_eta needs entropy > 0 and kl_risk > 0 (interior optimum)")
    half = mp.mpf(1) / 2

    def deriv(e):
        return H * mp.log((half + e) / (half - e)) / h(half + e) ** 2 - R / e**3

    lo, hi = mp.mpf(10) ** -30, half - mp.mpf(10) ** -30
    for _ in range(400):
        mid = (lo + hi) / 2
        if deriv(mid) > 0:
            hi = mid
        else:
            lo = mid
    eta = (lo + hi) / 2
    return eta, H / h(half + eta) + R / (2 * eta**2)


def mp_entropy_floor(teacher_lipschitz, diameter, tau) -> mp.mpf:
    """h(σ(z)), z = L_gΔ/τ, by the textbook formula at enough extra digits that ln σ(z) ≈ −e^{−z}
    keeps 50 of them (σ(z) = 1 − e^{−z}… loses z/ln 10 digits)."""
    z = _f(teacher_lipschitz) * _f(diameter) / _f(tau)
    with mp.workdps(DPS + int(abs(z) / mp.log(10)) + 10):
        p = sigma(z)
        return +h(p)


def mp_loss_range(loss, student_lipschitz, teacher_lipschitz, diameter, tau) -> mp.mpf:
    L, Lg, D, t = _f(student_lipschitz), _f(teacher_lipschitz), _f(diameter), _f(tau)
    if loss == "margin_mse":
        return (L + Lg) ** 2 * D**2
    if loss == "soft_ranknet":
        a, b = L * D / t, Lg * D / t
        return softplus(a) - softplus(-b) - sigma(-b) * (a + b)
    if loss == "listwise_kl":
        return (L + Lg) * D / t
    raise ValueError(f"no golden loss range for {loss!r}")


def _vc_term(loss_range, vc_dim, n, delta, C) -> mp.mpf:
    B, d, nn, de, c = _f(loss_range), _f(vc_dim), _f(n), _f(delta), _f(C)
    return 2 * B * (c * mp.sqrt(d / nn) + mp.sqrt(mp.log(2 / de) / (2 * nn)))


def mp_generalisation_bound(loss_range, vc_dim, n, delta, C) -> mp.mpf:
    return _vc_term(loss_range, vc_dim, n, delta, C)


def mp_misordering_generalisation_bound(
    entropy, best_risk, loss_range, vc_dim, n, delta, eta, C
) -> mp.mpf:
    H, R, e = _f(entropy), _f(best_risk), _f(eta)
    return H / h(mp.mpf(1) / 2 + e) + (R + _vc_term(loss_range, vc_dim, n, delta, C)) / (2 * e**2)


def mp_rademacher_bound(
    empirical_risk, rho, weight_norm, feature_lipschitz, diameter, n, delta, loss_range
) -> mp.mpf:
    R, r, W, Lam, D = map(_f, (empirical_risk, rho, weight_norm, feature_lipschitz, diameter))
    nn, de, B = _f(n), _f(delta), _f(loss_range)
    return R + 2 * r * W * Lam * D / mp.sqrt(nn) + B * mp.sqrt(mp.log(1 / de) / (2 * nn))


def mp_rademacher_rho(loss, tau, weight_norm, feature_lipschitz, teacher_lipschitz, diameter):
    if loss == "soft_ranknet":
        return 1 / _f(tau)
    if loss == "margin_mse":
        W, Lam, Lg, D = map(_f, (weight_norm, feature_lipschitz, teacher_lipschitz, diameter))
        return 2 * (W * Lam + Lg) * D
    raise ValueError(f"no golden rho for {loss!r}")


def mp_transfer_bound(risk, kappa, group_size) -> mp.mpf:
    return _f(kappa) ** int(group_size) * _f(risk)


def mp_smallest_non_vacuous_n(
    form,
    *,
    loss_range,
    delta,
    vc_dim=None,
    C=1.0,
    empirical_risk=0.0,
    rho=None,
    weight_norm=None,
    feature_lipschitz=None,
    diameter=None,
) -> int:
    """Smallest integer n whose bound is below the loss range B (non-vacuous).

    (i): 2B(C√(d/n) + √(ln(2/δ)/(2n))) < B ⟺ √n > 2(C√d + √(ln(2/δ)/2)).
    (iii): R̂ + (2ρWΛΔ + B√(ln(1/δ)/2))/√n < B ⟺ √n > (2ρWΛΔ + B√(ln(1/δ)/2))/(B − R̂).
    """
    B, de = _f(loss_range), _f(delta)
    if form == "i":
        root = 2 * (_f(C) * mp.sqrt(_f(vc_dim)) + mp.sqrt(mp.log(2 / de) / 2))
    elif form == "iii":
        c = 2 * _f(rho) * _f(weight_norm) * _f(feature_lipschitz) * _f(diameter)
        c += B * mp.sqrt(mp.log(1 / de) / 2)
        root = c / (B - _f(empirical_risk))
    else:
        raise ValueError(f"no golden vacuity form {form!r}")
    return int(mp.floor(root**2)) + 1


# --- the table ---------------------------------------------------------------------------

_ETAS = (0.01, 0.1, 0.25, 0.45)


def _cases() -> list[tuple[str, dict[str, Any], Any]]:
    """(numeric function name, keyword arguments, mpmath evaluator returning dict of outputs)."""
    cases: list[tuple[str, dict[str, Any], Any]] = []
    for H, R in ((0.05, 0.001), (0.3, 0.02), (0.69, 0.5)):
        for eta in _ETAS:
            kw = dict(entropy=H, kl_risk=R, eta=eta)
            cases.append(("misordering_bound", kw, {"value": mp_misordering_bound(**kw)}))
    for H, R, tau in ((0.05, 0.001, 1.0), (0.3, 2.0, 0.5), (0.6, 40.0, 3.0)):
        for eta in (0.05, 0.3):
            kw = dict(entropy=H, mm_risk=R, eta=eta, tau=tau)
            cases.append(
                (
                    "misordering_bound_margin_mse",
                    kw,
                    {"value": mp_misordering_bound_margin_mse(**kw)},
                )
            )
    for H, R in ((0.05, 0.001), (0.3, 0.02), (0.69, 0.5), (0.01, 1e-6)):
        eta, bound = mp_optimal_eta(H, R)
        cases.append(("optimal_eta", dict(entropy=H, kl_risk=R), {"eta": eta, "bound": bound}))
    for Lg, D, tau in ((1.0, 0.1, 1.0), (2.0, 1.5, 0.5), (5.0, 2.0, 0.1), (0.3, 0.7, 2.0)):
        kw = dict(teacher_lipschitz=Lg, diameter=D, tau=tau)
        cases.append(("entropy_floor", kw, {"value": mp_entropy_floor(**kw)}))
    for loss in ("margin_mse", "soft_ranknet", "listwise_kl"):
        for L, Lg, D, tau in ((1.0, 1.0, 0.5, 1.0), (3.0, 0.5, 1.2, 0.25), (10.0, 4.0, 2.0, 0.1)):
            kw = dict(loss=loss, student_lipschitz=L, teacher_lipschitz=Lg, diameter=D, tau=tau)
            cases.append(("loss_range", kw, {"value": mp_loss_range(**kw)}))
    gen_inputs = (
        (1.0, 10.0, 1000, 0.05, 1.0),
        (0.25, 1e10, 5e5, 0.01, 1.0),
        (3.5, 50.0, 20000, 0.1, 0.5),
    )
    for B, d, n, delta, C in gen_inputs:
        kw = dict(loss_range=B, vc_dim=d, n=n, delta=delta, C=C)
        cases.append(("generalisation_bound", kw, {"value": mp_generalisation_bound(**kw)}))
    for B, d, n, delta, C in gen_inputs:
        kw = dict(
            entropy=0.2, best_risk=0.01, loss_range=B, vc_dim=d, n=n, delta=delta, eta=0.2, C=C
        )
        cases.append(
            (
                "misordering_generalisation_bound",
                kw,
                {"value": mp_misordering_generalisation_bound(**kw)},
            )
        )
    for R, rho, W, Lam, D, n, delta, B in (
        (0.1, 1.0, 1.0, 1.0, 1.0, 1000, 0.05, 1.2),
        (0.02, 4.0, 2.0, 0.5, 1.5, 50000, 0.01, 3.0),
        (0.3, 0.5, 10.0, 3.0, 0.2, 100, 0.2, 0.8),
    ):
        kw = dict(
            empirical_risk=R,
            rho=rho,
            weight_norm=W,
            feature_lipschitz=Lam,
            diameter=D,
            n=n,
            delta=delta,
            loss_range=B,
        )
        cases.append(("rademacher_bound", kw, {"value": mp_rademacher_bound(**kw)}))
    for loss, tau, W, Lam, Lg, D in (
        ("soft_ranknet", 0.5, 2.0, 1.0, 1.0, 1.0),
        ("margin_mse", 1.0, 2.0, 0.5, 1.5, 1.2),
    ):
        kw = dict(
            loss=loss,
            tau=tau,
            weight_norm=W,
            feature_lipschitz=Lam,
            teacher_lipschitz=Lg,
            diameter=D,
        )
        cases.append(("rademacher_rho", kw, {"value": mp_rademacher_rho(**kw)}))
    for risk, kappa, k in ((0.1, 1.0, 2), (0.05, 1.7, 2), (0.01, 3.0, 5), (0.2, 1.25, 16)):
        kw = dict(risk=risk, kappa=kappa, group_size=k)
        cases.append(("transfer_bound", kw, {"value": mp_transfer_bound(**kw)}))
    for kw in (
        dict(form="i", loss_range=1.0, delta=0.05, vc_dim=10.0, C=1.0),
        dict(form="i", loss_range=1.0, delta=0.05, vc_dim=2.4e10, C=1.0),
        dict(form="i", loss_range=0.3, delta=0.01, vc_dim=123.0, C=0.5),
        dict(
            form="iii",
            loss_range=1.2,
            delta=0.05,
            empirical_risk=0.1,
            rho=1.0,
            weight_norm=1.0,
            feature_lipschitz=1.0,
            diameter=1.0,
        ),
        dict(
            form="iii",
            loss_range=3.0,
            delta=0.01,
            empirical_risk=0.5,
            rho=4.0,
            weight_norm=2.0,
            feature_lipschitz=0.5,
            diameter=1.5,
        ),
    ):
        cases.append(("smallest_non_vacuous_n", kw, {"value": mp_smallest_non_vacuous_n(**kw)}))
    return cases


def _fmt(value) -> Any:
    if isinstance(value, int):
        return value
    return mp.nstr(value, DIGITS, min_fixed=-mp.inf, max_fixed=mp.inf)


def compute_golden() -> dict[str, Any]:
    """The golden table as a JSON-ready dict (deterministic: no timestamps)."""
    with mp.workdps(DPS):
        rows = []
        for i, (fn, kwargs, outputs) in enumerate(_cases()):
            rows.append(
                {
                    "id": f"{i:03d}-{fn}",
                    "function": fn,
                    "kwargs": kwargs,
                    "expected": {k: _fmt(v) for k, v in outputs.items()},
                }
            )
    return {
        "description": "Golden values of the THEORY.md bounds, mpmath at 50 digits "
        "(locent.theory.golden); numeric functions must match at rel_tol.",
        "dps": DPS,
        "rel_tol": REL_TOL,
        "rel_tol_output": REL_TOL_OUTPUT,
        "cases": rows,
    }


def golden_text() -> str:
    return json.dumps(compute_golden(), indent=1, sort_keys=True) + "\n"


def load_golden(path: str | Path = GOLDEN_PATH) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"golden table not found: {path}")
    with open(path) as handle:
        return json.load(handle)


def compare_with_numeric(theory=None, golden: dict | None = None, rel_tol: float = REL_TOL):
    """Evaluate every case with the numeric ``locent.theory`` functions.

    Returns a list of ``(case id, output name, expected, got, relative error)`` for every output
    and a separate list of mismatches (relative error > ``rel_tol`` or an exception).
    """
    if theory is None:
        import locent.theory as theory
    golden = golden or load_golden()
    rows, bad = [], []
    for case in golden["cases"]:
        fn = getattr(theory, case["function"])
        try:
            out = fn(**case["kwargs"])
        except Exception as err:  # reported as a mismatch, never skipped
            bad.append((case["id"], "*", case["expected"], repr(err), float("inf")))
            continue
        if case["function"] == "optimal_eta":
            got = {"eta": out[0], "bound": out[1]}
        else:
            got = {"value": out}
        for name, expected in case["expected"].items():
            exp = float(expected)
            val = float(got[name])
            rel = abs(val - exp) / max(abs(exp), 1e-300)
            rows.append((case["id"], name, exp, val, rel))
            if not rel <= max(rel_tol, golden.get("rel_tol_output", {}).get(name, 0.0)):
                bad.append((case["id"], name, exp, val, rel))
    return rows, bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {GOLDEN_PATH.name}")
    args = parser.parse_args(argv)
    text = golden_text()
    if args.write:
        from locent.provenance import atomic_write_text

        atomic_write_text(GOLDEN_PATH, text)
        print(f"wrote {GOLDEN_PATH}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
