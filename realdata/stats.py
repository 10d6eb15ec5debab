"""Paired statistics over queries: t-test, randomisation test, Holm, TOST, seed summaries.

The unit of pairing is the **query**: two systems are compared on the same queries, per-query
differences d_i = a_i − b_i (i = 1..n). All functions are vectorised over leading axes
(``a, b: (..., n)``), so every comparison of a table is tested in one call.

- Paired t-test: t = d̄ / (s_d/√n), two-sided p = 2·F_{t,n−1}(−|t|).
- Paired randomisation (sign-flip) test: statistic |mean(ε ⊙ d)| over sign vectors ε ∈ {±1}ⁿ;
  p = #{ε : |mean(ε d)| ≥ |d̄|} / 2ⁿ exactly when 2ⁿ ≤ ``n_resamples``, else the Monte-Carlo
  estimate (1 + #hits)/(1 + R) over R seeded random sign vectors.
- Holm step-down: sorted p₍ᵢ₎, adjusted p̃₍ᵢ₎ = max_{j≤i} min(1, (m − j + 1) p₍ⱼ₎).
- TOST (two one-sided paired t-tests) with equivalence margin δ: H₀ d̄ ≤ −δ or d̄ ≥ δ;
  p = max(p_lower, p_upper); equivalence is declared when p < α.

Checked in tests against scipy.stats and statsmodels on known inputs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats as sps


def _differences(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same shape; got {a.shape} and {b.shape}")
    if a.shape[-1] < 2:
        raise ValueError(f"paired tests need at least 2 queries; got {a.shape[-1]}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("paired samples contain NaN/inf")
    return a - b


def _t_statistic(d: np.ndarray, shift=0.0) -> np.ndarray:
    n = d.shape[-1]
    mean = d.mean(-1) - shift
    sd = d.std(-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / np.sqrt(n))
    # identical samples (d ≡ shift): no evidence either way.
    return np.where((sd == 0) & (mean == 0), 0.0, t)


def paired_ttest(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided paired t-test over the last axis: (t, p), each of shape ``a.shape[:-1]``."""
    d = _differences(a, b)
    t = _t_statistic(d)
    p = 2.0 * sps.t.sf(np.abs(t), d.shape[-1] - 1)
    return t, np.minimum(p, 1.0)


def randomisation_test(a, b, n_resamples: int = 10_000, seed: int = 0) -> np.ndarray:
    """Two-sided paired sign-flip test of mean(a − b) = 0; p of shape ``a.shape[:-1]``."""
    d = _differences(a, b)
    n = d.shape[-1]
    observed = np.abs(d.mean(-1))
    tol = 1e-12 * np.maximum(1.0, observed)
    if 2**n <= n_resamples:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))  # (2ⁿ, n)
        null = np.abs(d @ signs.T / n)  # (..., 2ⁿ)
        return (null >= (observed - tol)[..., None]).mean(-1)
    rng = np.random.default_rng(seed)
    hits = np.zeros(observed.shape)
    chunk = 2048
    for start in range(0, n_resamples, chunk):
        m = min(chunk, n_resamples - start)
        signs = rng.choice((-1.0, 1.0), size=(m, n))
        null = np.abs(d @ signs.T / n)
        hits += (null >= (observed - tol)[..., None]).sum(-1)
    return (1.0 + hits) / (1.0 + n_resamples)


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values over the last axis (family = last axis)."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size == 0:
        return p
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p-values must lie in [0, 1] (no NaN)")
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(p, order, -1)
    scaled = np.minimum(1.0, (m - np.arange(m)) * sorted_p)
    adjusted_sorted = np.maximum.accumulate(scaled, axis=-1)
    out = np.empty_like(p)
    np.put_along_axis(out, order, adjusted_sorted, -1)
    return out


def tost_paired(a, b, margin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TOST equivalence of paired samples within ±``margin``: (p, p_lower, p_upper).

    p_lower tests H₀ mean(a − b) ≤ −margin, p_upper tests H₀ mean(a − b) ≥ margin.
    """
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be > 0; got {margin}")
    d = _differences(a, b)
    df = d.shape[-1] - 1
    p_lower = sps.t.sf(_t_statistic(d, -margin), df)
    p_upper = sps.t.cdf(_t_statistic(d, margin), df)
    return np.maximum(p_lower, p_upper), p_lower, p_upper


def seed_summary(
    frame: pd.DataFrame, by: list[str], value: str, seed: str = "seed"
) -> pd.DataFrame:
    """Mean, sample std (ddof=1) and number of seeds of ``value`` over ``seed`` within ``by``."""
    missing = [c for c in [*by, value, seed] if c not in frame.columns]
    if missing:
        raise ValueError(f"seed_summary: table lacks columns {missing}")
    grouped = frame.groupby(by, sort=True, dropna=False)[value]
    out = grouped.agg(mean="mean", std=lambda s: s.std(ddof=1), n_seeds="count").reset_index()
    return out


def paired_comparisons(
    per_query: pd.DataFrame,
    reference: str,
    group_cols: list[str],
    system_col: str,
    margin: float,
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Every system against ``reference`` within each ``group_cols`` family, paired over queries.

    ``per_query`` has columns ``group_cols + [system_col, "query_id", "value"]`` (one value per
    query, e.g. the mean over seeds). Only queries present for both systems are paired (their
    number is reported as ``n_queries``). Holm correction runs over the systems of one family, for
    the t-test and the randomisation test separately. Columns out: family, system, reference,
    ``mean_diff, t, p_t, p_t_holm, p_rand, p_rand_holm, p_tost, equivalent, n_queries``.
    """
    rows = []
    for key, family in per_query.groupby(group_cols, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        wide = family.pivot_table(index="query_id", columns=system_col, values="value")
        if reference not in wide.columns:
            continue
        others = [s for s in wide.columns if s != reference]
        if not others:
            continue
        stats_rows = []
        for system in others:
            pair = wide[[reference, system]].dropna()
            a, b = pair[system].to_numpy(), pair[reference].to_numpy()
            if len(pair) < 2:
                raise ValueError(f"{key} {system} vs {reference}: fewer than 2 paired queries")
            t, p_t = paired_ttest(a, b)
            p_rand = randomisation_test(a, b, n_resamples=n_resamples, seed=seed)
            p_tost = tost_paired(a, b, margin)[0]
            stats_rows.append(
                {
                    **dict(zip(group_cols, key)),
                    "system": system,
                    "reference": reference,
                    "mean_diff": float((a - b).mean()),
                    "t": float(t),
                    "p_t": float(p_t),
                    "p_rand": float(p_rand),
                    "p_tost": float(p_tost),
                    "margin": margin,
                    "n_queries": len(pair),
                }
            )
        p_t_holm = holm([r["p_t"] for r in stats_rows])
        p_rand_holm = holm([r["p_rand"] for r in stats_rows])
        for r, pt, pr in zip(stats_rows, p_t_holm, p_rand_holm):
            r["p_t_holm"], r["p_rand_holm"] = float(pt), float(pr)
            r["significant"] = bool(pt < alpha and pr < alpha)
            r["equivalent"] = bool(r["p_tost"] < alpha)
        rows.extend(stats_rows)
    return pd.DataFrame(rows)
