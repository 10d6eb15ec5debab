"""Mutation tests of Theorem 2.1 (iii): the bound recomputed from the table with one constant wrong.

A check has power against wrong constants when a bound with ρ, W, Λ or Δ_Q scaled by c < 1 is
caught. :func:`mutated_bound_iii` recomputes, from a run's stored columns, the bound with one
symbol scaled, and everything that symbol enters scaled with it (the bound is what a reader would
compute from a wrong constant):

- ``"rho"``: ρ' = cρ (the loss's Lipschitz constant in m_f);
- ``"W"``, ``"Lambda"``: the class radius W or the feature map's Lipschitz constant Λ; the
  student's Lipschitz constant L = WΛ changes, hence B (Lemma C) and, for MarginMSE,
  ρ = 2(WΛ + L_g)Δ_Q (``theory.rademacher_rho``, ``theory.loss_range``);
- ``"Delta"``: Δ_Q, which enters the complexity term, B and the MarginMSE ρ.

:func:`mutation_violations` says which runs catch the mutated bound, by two criteria:

- ``gap``: the fresh-sample risk exceeds the mutated bound (what ``bound_iii_violated`` says of the
  true bound). The estimation gap is rarely more than a fraction of the complexity term
  (``critical_scale_iii``), so this criterion catches only gross errors;
- ``rademacher``: the mutated complexity term 2ρ'W'Λ'Δ'/√n falls below the class's measured
  complexity on the run's own training sample, 2ρ·W·(Ê‖Σσ_iΔϕ_i‖/n − z·SE) with the *true*
  ρ and W (``rademacher_margin_mc``; the true term never does, up to the Monte-Carlo margin z).
  A constant too small by c is caught on every run whose ``rademacher_tightness`` < 1/c.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.theory import loss_range, rademacher_bound, rademacher_rho

from locent import results as R

from .tabulate import MC_Z

SYMBOLS = ("rho", "W", "Lambda", "Delta")
#: the stored columns the recomputation reads
NEEDED = (
    "train_loss",
    R.POPULATION_RISK,
    R.LOSS,
    R.TAU,
    "n",
    "weight_norm",
    "feature_lipschitz",
    R.TEACHER_LIPSCHITZ,
    "delta_Q_population",
    "bound_iii_rho",
    "confidence_delta",
    "rademacher_margin_mc",
    "rademacher_margin_mc_se",
)


def _require(df: pd.DataFrame) -> None:
    missing = [c for c in NEEDED if c not in df.columns]
    if missing:
        raise ValueError(f"simulation table lacks column(s) {missing} for the mutation test")


def mutated_bound_iii(df: pd.DataFrame, symbol: str, factor: float) -> pd.DataFrame:
    """The Theorem 2.1 (iii) bound of every row with ``symbol`` scaled by ``factor``.

    Returns a frame (the rows' index) with ``bound`` (NaN where the loss has no ρ),
    ``complexity_term`` 2ρ'W'Λ'Δ'/√n, ``rho``, ``loss_range``. ``factor`` = 1 reproduces
    ``bound_iii`` and ``complexity_term_iii`` (tested).
    """
    if symbol not in SYMBOLS:
        raise ValueError(f"symbol must be one of {SYMBOLS}, got {symbol!r}")
    if not factor > 0:
        raise ValueError(f"factor={factor} must be > 0")
    _require(df)
    scale = {s: (float(factor) if s == symbol else 1.0) for s in SYMBOLS}
    W = df["weight_norm"].to_numpy(float) * scale["W"]
    Lam = df["feature_lipschitz"].to_numpy(float) * scale["Lambda"]
    Dq = df["delta_Q_population"].to_numpy(float) * scale["Delta"]
    Lg = df[R.TEACHER_LIPSCHITZ].to_numpy(float)
    tau = df[R.TAU].to_numpy(float)
    n = df["n"].to_numpy(float)
    has = np.isfinite(df["bound_iii_rho"].to_numpy(float))
    rho = np.full(len(df), np.nan)
    rng = np.full(len(df), np.nan)
    losses = df[R.LOSS].to_numpy()
    for name in np.unique(losses[has]):
        m = has & (losses == name)
        rho[m] = np.asarray(rademacher_rho(name, tau[m], W[m], Lam[m], Lg[m], Dq[m]), float)
        rng[m] = np.asarray(loss_range(name, W[m] * Lam[m], Lg[m], Dq[m], tau=tau[m]), float)
    rho = rho * scale["rho"]
    bound = np.full(len(df), np.nan)
    if has.any():
        bound[has] = np.asarray(
            rademacher_bound(
                np.clip(df["train_loss"].to_numpy(float)[has], 0.0, None),
                rho[has],
                W[has],
                Lam[has],
                Dq[has],
                n[has],
                df["confidence_delta"].to_numpy(float)[has],
                rng[has],
            ),
            float,
        )
    complexity = 2 * rho * W * Lam * Dq / np.sqrt(n)
    return pd.DataFrame(
        {"bound": bound, "complexity_term": complexity, "rho": rho, "loss_range": rng},
        index=df.index,
    )


def mutation_violations(df: pd.DataFrame, symbol: str, factor: float) -> pd.DataFrame:
    """Per row (runs with a (iii) bound only): ``gap`` (R^ν > mutated bound) and ``rademacher``
    (mutated complexity term < 2ρ·(measured complexity − z·SE), true ρ); see module docstring."""
    mutated = mutated_bound_iii(df, symbol, factor)
    keep = np.isfinite(mutated["bound"].to_numpy())
    d, m = df[keep], mutated[keep]
    rho_true = d["bound_iii_rho"].to_numpy(float)
    floor = (
        2
        * rho_true
        * (
            d["rademacher_margin_mc"].to_numpy(float)
            - MC_Z * d["rademacher_margin_mc_se"].to_numpy()
        )
    )
    return pd.DataFrame(
        {
            "gap": d[R.POPULATION_RISK].to_numpy(float) > m["bound"].to_numpy(),
            "rademacher": m["complexity_term"].to_numpy() < floor,
        },
        index=d.index,
    )


def mutation_summary(df: pd.DataFrame, factor: float = 0.5) -> dict:
    """Violation counts and rates of each single-symbol mutation by ``factor`` (summary.json)."""
    out = {}
    for symbol in SYMBOLS:
        v = mutation_violations(df, symbol, factor)
        runs = int(len(v))
        out[symbol] = {
            "factor": float(factor),
            "runs": runs,
            "gap_violations": int(v["gap"].sum()),
            "gap_violation_rate": float(v["gap"].mean()) if runs else float("nan"),
            "rademacher_violations": int(v["rademacher"].sum()),
            "rademacher_violation_rate": float(v["rademacher"].mean()) if runs else float("nan"),
        }
    return out
