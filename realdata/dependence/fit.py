"""The fitted dependence of risk on locality and entropy, beside what THEORY.md predicts.

Each :class:`FitSpec` regresses one response on one or two regressors over the dependence
sweep's cells (``cells.csv``, one test set's rows, so each trained model counts once) by ordinary
least squares,

    y_c = a + b · x_c (+ b₂ · x₂_c) + ε_c,     c = cells that learned,

and states the slope b with a t interval and one-sided t p-values (``p_support``: the slope is
on the predicted side of 0; ``p_against``: on the other) whose unit is the **knob level**: the
seeds of one level share its groups (Δ̂_Q and H(g) are properties of the level, not of the seed),
so they are averaged per level, or, on the n axis, enter a cluster-robust variance with the
level as the cluster (:func:`slope_inference`). The verdict per fit compares the CI with the
predicted sign: ``supports`` (CI on the predicted side of 0), ``contradicts`` (CI on the other
side) or ``cannot decide`` (CI covers 0), with the smallest slope the design detects (80% power
at two-sided α: (t_{1−α/2, df} + t_{0.8, df}) · SE). ``slope_std`` = b · ``std_scale``, with
``std_scale`` = sd(x) / sd(y) (the standardised slope, comparable with the simulation's
``gap_vs_diameter_regression``).

Predictions (THEORY.md §4, §7 item 2):

- ``gap ~ Δ̂_Q/√n`` (locality levels and the n axis, fixed teacher): Theorem 2.1 (iii) bounds the
  estimation gap R − R̂ by a term linear in Δ_Q/√n, so the gap should grow with it (b > 0);
- ``gap ~ Δ̂_Q`` at the full n: the same at fixed n;
- ``floor ~ H(g)`` (entropy levels at the fixed base sampler): Theorem 2.1 (ii), Lemma A: the
  held-out misordering against the teacher has a floor growing with H(g) (b > 0);
- ``mu-risk ~ Δ̂_Q`` (effectiveness on a fixed test-time μ, descriptive: no sign predicted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats as sps
from locent.realdata.dependence.design import ENTROPY, LOCALITY

from locent import results

#: the regressor Δ̂_Q/√n (the estimation term's shape in Theorem 2.1 (iii))
DIAMETER_OVER_ROOT_N = "diameter_over_root_n"
FIT_COLUMNS = (
    "fit",
    "response",
    "regressor",
    "knob",
    "predicted_sign",
    "slope",
    "ci_low",
    "ci_high",
    "slope_std",
    "std_scale",
    "detectable_slope",
    "p_support",
    "p_against",
    "verdict",
    "n_cells",
    "n_levels",
    "n_excluded_not_learned",
    "dataset",
    "basis",
)


@dataclass(frozen=True)
class FitSpec:
    """One regression of ``response`` on ``regressor`` (optionally with a ``covariate``)."""

    name: str
    response: str
    regressor: str
    knob: str
    #: +1 / −1: the sign THEORY.md predicts; 0: descriptive (no prediction)
    predicted_sign: int
    full_n_only: bool = False
    covariate: str | None = None
    basis: str = ""


FITS = (
    FitSpec(
        "gap_on_locality",
        results.ESTIMATION_GAP,
        DIAMETER_OVER_ROOT_N,
        LOCALITY,
        +1,
        basis="Theorem 2.1 (iii): gap ≤ 2ρWΛΔ_Q/√n + B√(ln(1/δ)/2n)",
    ),
    FitSpec(
        "gap_on_locality_full_n",
        results.ESTIMATION_GAP,
        results.DIAMETER_Q_99,
        LOCALITY,
        +1,
        full_n_only=True,
        basis="Theorem 2.1 (iii) at fixed n",
    ),
    FitSpec(
        "gap_on_locality_given_entropy",
        results.ESTIMATION_GAP,
        DIAMETER_OVER_ROOT_N,
        LOCALITY,
        +1,
        covariate=results.PAIRWISE_ENTROPY,
        basis="Theorem 2.1 (iii), H(g) held as a covariate (Lemma B couples them)",
    ),
    FitSpec(
        "floor_on_entropy",
        results.HELDOUT_MISORDERING,
        results.PAIRWISE_ENTROPY,
        ENTROPY,
        +1,
        full_n_only=True,
        basis="Theorem 2.1 (ii), Lemma A: misordering ≤ H(g)/h(½+η) + ...",
    ),
    FitSpec(
        "mu_risk_on_locality",
        results.BREGMAN_RISK,
        results.DIAMETER_Q_99,
        LOCALITY,
        0,
        full_n_only=True,
        basis="descriptive: soft-RankNet risk against the teacher on the test candidates (μ)",
    ),
    FitSpec(
        "ndcg_on_locality",
        results.NDCG_10,
        results.DIAMETER_Q_99,
        LOCALITY,
        0,
        full_n_only=True,
        basis="descriptive: effectiveness on the test set",
    ),
)


def with_diameter_over_root_n(cells: pd.DataFrame) -> pd.DataFrame:
    """``cells`` with the regressor Δ̂_Q(0.99)/√n (column :data:`DIAMETER_OVER_ROOT_N`): the
    shape of Theorem 2.1 (iii)'s estimation term, one definition for the fit and its figure."""
    return cells.assign(
        **{DIAMETER_OVER_ROOT_N: cells[results.DIAMETER_Q_99] / np.sqrt(cells["n_train"])}
    )


def learned_count(cells: pd.DataFrame) -> tuple[int, int]:
    """``(learned, trained)``: cells (level × subset × seed, each counted once over its test-set
    rows) whose held-out misordering fell enough (``results.LEARNED``), and all cells."""
    per_cell = cells.drop_duplicates([results.SAMPLER, results.SUBSET, results.SEED])
    return int(per_cell[results.LEARNED].astype(bool).sum()), len(per_cell)


def knob_cells(cells: pd.DataFrame, knob: str, base_sampler: str | None) -> pd.DataFrame:
    """The cells a knob's fit reads: locality = every level trained by the fixed teacher;
    entropy = every teacher variant of the base sampler (its ``teacher`` level included)."""
    if knob == LOCALITY:
        return cells[(cells["knob"] == LOCALITY)]
    return cells[cells["knob_sampler"] == base_sampler] if base_sampler else cells.iloc[:0]


def ols(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of y ``(n,)`` on [1, X] (X ``(n, p)``); NaN if rank-deficient."""
    A = np.column_stack([np.ones(len(y)), X])
    if len(y) <= A.shape[1] or np.linalg.matrix_rank(A) < A.shape[1]:
        return np.full(A.shape[1], np.nan)
    return np.linalg.lstsq(A, y, rcond=None)[0]


def level_means(y: np.ndarray, X: np.ndarray, labels: np.ndarray):
    """``(ȳ_g, X̄_g)``: the cells averaged within each level g (seeds of a level share its
    groups, so the level is the independent unit)."""
    codes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse).astype(float)
    ybar = np.bincount(inverse, weights=y) / counts
    Xbar = np.column_stack(
        [np.bincount(inverse, weights=X[:, j]) / counts for j in range(X.shape[1])]
    )
    return ybar, Xbar


def slope_inference(y: np.ndarray, X: np.ndarray, labels: np.ndarray) -> tuple[float, float, int]:
    """``(b, SE(b), df)`` of the first regressor's slope with the level as the unit.

    When every level has one value of the regressors (full-n fits), the cells are averaged per
    level and the slope is the OLS slope over the G level means with its classical standard
    error and G − p − 1 degrees of freedom (exact t inference under normal level errors).
    Otherwise (the n axis varies Δ̂_Q/√n within a level) the slope is the OLS slope over the
    cells with the cluster-robust CR1 variance
    (X'X)⁻¹ (Σ_g X_g' û_g û_g' X_g) (X'X)⁻¹ · G/(G−1) · (N−1)/(N−p−1), and G − 1 degrees of freedom.
    A cluster bootstrap with few levels is too liberal (measured: 16% false "supports" or
    "contradicts" at a nominal 5% with 6 levels), hence the t forms.
    """
    groups = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    G, p = len(groups), X.shape[1]
    constant_within = all(np.ptp(X[idx], axis=0).max() == 0 for idx in groups)
    if constant_within:
        ybar, Xbar = level_means(y, X, labels)
        A = np.column_stack([np.ones(G), Xbar])
        df = G - p - 1
        if df < 1 or np.linalg.matrix_rank(A) < A.shape[1]:
            return np.nan, np.nan, max(df, 0)
        coef, *_ = np.linalg.lstsq(A, ybar, rcond=None)
        resid = ybar - A @ coef
        cov = np.linalg.inv(A.T @ A) * float(resid @ resid) / df
        return float(coef[1]), float(np.sqrt(cov[1, 1])), df
    A = np.column_stack([np.ones(len(y)), X])
    N, K = A.shape
    if G < 3 or np.linalg.matrix_rank(A) < K:
        return np.nan, np.nan, max(G - 1, 0)
    bread = np.linalg.inv(A.T @ A)
    coef = bread @ A.T @ y
    u = y - A @ coef
    meat = sum(np.outer(A[idx].T @ u[idx], A[idx].T @ u[idx]) for idx in groups)
    cov = bread @ meat @ bread * (G / (G - 1)) * ((N - 1) / (N - K))
    return float(coef[1]), float(np.sqrt(cov[1, 1])), G - 1


def fit_one(spec: FitSpec, cells: pd.DataFrame, dataset: str, base_sampler, alpha: float = 0.05):
    """One row of the fit table (see the module docstring)."""
    data = knob_cells(cells[cells[results.DATASET] == dataset], spec.knob, base_sampler)
    if spec.full_n_only:
        data = data[data[results.SUBSET] == results.FULL_SUBSET]
    data = with_diameter_over_root_n(data)
    learned = data[results.LEARNED].astype(bool)
    excluded = int((~learned).sum())
    cols = [spec.response, spec.regressor] + ([spec.covariate] if spec.covariate else [])
    data = data[learned].dropna(subset=cols)
    row = {
        "fit": spec.name,
        "response": spec.response,
        "regressor": spec.regressor + (f" + {spec.covariate}" if spec.covariate else ""),
        "knob": spec.knob,
        "predicted_sign": spec.predicted_sign,
        "n_cells": len(data),
        "n_levels": int(data[results.SAMPLER].nunique()),
        "n_excluded_not_learned": excluded,
        "dataset": dataset,
        "basis": spec.basis,
    }
    nan = {
        k: np.nan
        for k in (
            "slope", "ci_low", "ci_high", "slope_std", "std_scale", "detectable_slope",
            "p_support", "p_against",
        )
    }  # fmt: skip
    if row["n_levels"] < 3:
        return {**row, **nan, "verdict": "cannot decide (fewer than 3 levels that learned)"}
    y = data[spec.response].to_numpy(float)
    X = data[cols[1:]].to_numpy(float)
    if np.ptp(y) == 0 or np.ptp(X[:, 0]) == 0:  # nothing to regress: say so, not a 0 ± 0 slope
        return {**row, **nan, "verdict": "cannot decide (response or regressor constant)"}
    slope, se, df = slope_inference(y, X, data[results.SAMPLER].to_numpy())
    if not (np.isfinite(slope) and np.isfinite(se)) or df < 1:
        return {**row, **nan, "verdict": "cannot decide (too few levels for the regressors)"}
    sd_y = float(y.std(ddof=1))
    scale = float(X[:, 0].std(ddof=1)) / sd_y if sd_y > 0 else np.nan
    t_crit = float(sps.t.ppf(1 - alpha / 2, df))
    lo, hi = slope - t_crit * se, slope + t_crit * se
    sign = spec.predicted_sign or 1
    t_stat = sign * slope / se if se > 0 else np.sign(sign * slope) * np.inf
    return {
        **row,
        "slope": slope,
        "ci_low": lo,
        "ci_high": hi,
        "slope_std": slope * scale,
        "std_scale": scale,
        # 80% power at two-sided α: (t_{1−α/2, df} + t_{0.8, df}) · SE
        "detectable_slope": (t_crit + float(sps.t.ppf(0.8, df))) * se,
        "p_support": float(sps.t.sf(t_stat, df)),
        "p_against": float(sps.t.cdf(t_stat, df)),
        "verdict": verdict(lo, hi, spec.predicted_sign),
    }


def verdict(lo: float, hi: float, predicted_sign: int) -> str:
    """``supports`` / ``contradicts`` / ``cannot decide`` of a CI against the predicted sign;
    a descriptive fit (sign 0) says ``increasing`` / ``decreasing`` / ``flat within CI``."""
    if predicted_sign == 0:
        return "increasing" if lo > 0 else "decreasing" if hi < 0 else "flat within CI"
    if lo > 0:
        return "supports" if predicted_sign > 0 else "contradicts"
    if hi < 0:
        return "supports" if predicted_sign < 0 else "contradicts"
    return "cannot decide"


def fit_dependence(
    cells: pd.DataFrame,
    dataset: str,
    base_sampler: str | None,
    fits=FITS,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The fit table (:data:`FIT_COLUMNS`), one row per :class:`FitSpec`, on ``dataset``'s rows
    (the gap and the training-side quantities are the same on every test set's rows)."""
    rows = [fit_one(s, cells, dataset, base_sampler, alpha) for s in fits]
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))
