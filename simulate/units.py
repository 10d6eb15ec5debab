"""Statistics over independent units (no pseudo-replication) for the simulation summary.

A simulated run is one row per (sampler, τ, n, loss, seed), but rows are not independent: Δ̂_Q of
the fresh ν sample depends on (sampler, seed) only, and every τ stratum and loss of that
(sampler, seed) reuses the same training and evaluation samples. The independent unit is the
(sampler, seed) pair; every test here reduces the rows to **one point per unit** first, so
duplicating rows leaves ρ, the CI and p unchanged (tested).

- :func:`unit_spearman` (between units; x constant within a unit, as Δ̂_Q): each row's x and y
  become within-stratum mid-percentile ranks (rank − ½)/m (invariant to duplicating rows), each
  unit's point is the mean of its rows' ranks, then Spearman ρ across units with a permutation
  p-value over units (exact when units! ≤ the resample count) and a percentile bootstrap CI
  resampling units.
- :func:`within_unit_spearman` (a design factor varied inside each unit, as τ for the entropy
  floor): Spearman ρ of x and y across the rows of each unit × stratum cell, averaged to one ρ
  per unit; the mean over units with a sign-flip randomisation p-value and a bootstrap CI.
- :func:`cluster_slope` (item 2 as a regression): per stratum the standardised OLS slope of y on
  x across units (the Pearson r), averaged over strata; CI by resampling units (a unit keeps all
  its strata: cluster bootstrap), p by permuting x across units.

Statistics come from scipy; once ``locent.stats`` is merged, :func:`unit_spearman` is its
``spearman(units=...)`` on the percentile ranks.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats

#: resamples of every permutation / bootstrap here
RESAMPLES = 4000


def _mid_percentile(d: pd.DataFrame, column: str, strata: list[str]) -> np.ndarray:
    """(average rank − ½) / stratum size, per row (duplicating every row leaves it unchanged)."""
    grouped = d.groupby(strata)[column]
    return ((grouped.rank() - 0.5) / grouped.transform("size")).to_numpy()


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman ρ over the last axis (NaN where x or y is all ties)."""
    rx = stats.rankdata(x, axis=-1)
    ry = stats.rankdata(y, axis=-1)
    rx -= rx.mean(-1, keepdims=True)
    ry -= ry.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(-1) / np.sqrt((rx**2).sum(-1) * (ry**2).sum(-1))


def _p_value(null: np.ndarray, observed: float, alternative: str, exact: bool) -> float:
    tie = 1e-12
    if alternative == "greater":
        hits = null >= observed - tie
    elif alternative == "less":
        hits = null <= observed + tie
    else:
        hits = np.abs(null) >= abs(observed) - tie
    if exact:
        return float(hits.mean())
    return float((1 + hits.sum()) / (1 + null.size))


def _ci(boots: np.ndarray) -> list[float]:
    boots = boots[np.isfinite(boots)]
    if not boots.size:
        return [math.nan, math.nan]
    return [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))]


def _empty(n: int, reason: str) -> dict:
    return {"rho": math.nan, "ci": [math.nan, math.nan], "p": math.nan, "n": n, "reason": reason}


def unit_spearman(
    df: pd.DataFrame,
    x: str,
    y: str,
    strata: list[str],
    units: list[str],
    *,
    alternative: str,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict:
    """Between-unit Spearman of within-stratum ranks, one point per unit (module docstring).

    Returns ``rho``, ``ci`` (95%), ``p`` (one-sided per ``alternative``), ``n`` (units),
    ``rows`` and ``strata``.
    """
    d = df[[x, y, *strata, *units]].dropna()
    if d.empty:
        return _empty(0, "no rows")
    d = d.assign(_rx=_mid_percentile(d, x, strata), _ry=_mid_percentile(d, y, strata))
    points = d.groupby(units)[["_rx", "_ry"]].mean()
    n = len(points)
    if n < 3:
        return _empty(n, f"{n} units (need 3)")
    # rounded so that ties between unit means do not depend on summation order (a duplicated row
    # changes the rounding of (rank − ½)/m in the last bit, which would break or make a tie)
    px, py = (points[c].to_numpy().round(12) for c in ("_rx", "_ry"))
    if np.ptp(px) == 0 or np.ptp(py) == 0:
        return _empty(n, "x or y constant across units")
    rho = float(_spearman_rows(px, py))
    rng = np.random.default_rng(seed)
    exact = math.factorial(n) <= resamples
    if exact:
        perms = np.array(list(itertools.permutations(range(n))))
    else:
        perms = rng.permuted(np.tile(np.arange(n), (resamples, 1)), axis=1)
    null = _spearman_rows(np.broadcast_to(px, perms.shape), py[perms])
    boot_idx = rng.integers(0, n, (resamples, n))
    boots = _spearman_rows(px[boot_idx], py[boot_idx])
    return {
        "rho": rho,
        "ci": _ci(boots),
        "p": _p_value(null, rho, alternative, exact),
        "n": int(n),
        "rows": int(len(d)),
        "strata": int(d.groupby(strata).ngroups),
    }


def within_unit_spearman(
    df: pd.DataFrame,
    x: str,
    y: str,
    cells: list[str],
    units: list[str],
    *,
    alternative: str,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict:
    """Mean over units of the within-unit Spearman ρ (x varied inside each unit × ``cells``
    cell); sign-flip p over units, bootstrap CI over units. Cells with < 2 distinct x or y values
    have no ρ and are left out (counted in ``cells_without_rho``)."""
    d = df[[x, y, *cells, *units]].dropna()
    per_cell = []
    dropped = 0
    for key, cell in d.groupby(units + cells):
        if cell[x].nunique() < 2 or cell[y].nunique() < 2:
            dropped += 1
            continue
        unit = key[: len(units)]
        per_cell.append((unit, float(_spearman_rows(cell[x].to_numpy(), cell[y].to_numpy()))))
    if not per_cell:
        return {**_empty(0, "no cell with 2 distinct values"), "cells_without_rho": dropped}
    frame = pd.DataFrame(per_cell, columns=["unit", "rho"])
    r = frame.groupby("unit")["rho"].mean().to_numpy()
    n = r.size
    mean = float(r.mean())
    rng = np.random.default_rng(seed)
    exact = 2**n <= resamples
    if exact:
        signs = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))
    else:
        signs = rng.choice((-1.0, 1.0), size=(resamples, n))
    null = (signs * r).mean(-1)
    boots = r[rng.integers(0, n, (resamples, n))].mean(-1)
    return {
        "rho": mean,
        "ci": _ci(boots) if n > 1 else [math.nan, math.nan],
        "p": _p_value(null, mean, alternative, exact) if n > 1 else math.nan,
        "n": int(n),
        "rows": int(len(d)),
        "cells_without_rho": int(dropped),
    }


def _plain(value):
    """A JSON-ready scalar (numpy scalars → Python)."""
    return value.item() if hasattr(value, "item") else value


def _nanmean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean over ``axis`` of the finite entries; NaN (no warning) where there is none."""
    finite = np.isfinite(values)
    count = finite.sum(axis)
    total = np.where(finite, values, 0.0).sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _standardised_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r over the last axis of ``x, y`` ``(..., units)`` (NaN where one is constant)."""
    xc = x - x.mean(-1, keepdims=True)
    yc = y - y.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc * yc).sum(-1) / np.sqrt((xc**2).sum(-1) * (yc**2).sum(-1))


def cluster_slope(
    df: pd.DataFrame,
    x: str,
    y: str,
    strata: list[str],
    units: list[str],
    *,
    alternative: str = "greater",
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict:
    """Item 2 as a regression: y on x at fixed stratum, one point per unit in each stratum.

    Every unit must have exactly one row per stratum (the sweep's design; ValueError otherwise).
    Returns ``slope_std`` (mean over strata of the standardised slope r), its cluster-bootstrap
    ``ci``, permutation ``p``, ``n`` units, ``strata``, and ``per_stratum``: the raw OLS slope
    (y units per x unit) and r of each stratum.
    """
    d = df[[x, y, *strata, *units]].dropna()
    if d.empty:
        return {"slope_std": math.nan, "ci": [math.nan] * 2, "p": math.nan, "n": 0, "strata": 0}
    wide = d.pivot_table(index=units, columns=strata, values=y, aggfunc="count")
    if not (wide.fillna(0) == 1).all().all():
        raise ValueError(f"cluster_slope: every unit needs exactly one row per stratum of {strata}")
    Y = d.pivot_table(index=units, columns=strata, values=y).to_numpy().T  # (strata, units)
    xs = d.groupby(units)[x].agg(["min", "max"])
    if not np.allclose(xs["min"], xs["max"], rtol=0, atol=0):
        raise ValueError(f"cluster_slope: {x} must be constant within each unit {units}")
    X = xs["min"].to_numpy()
    n = X.size
    keys = list(d.pivot_table(index=units, columns=strata, values=y).columns)
    r = _standardised_slopes(np.broadcast_to(X, Y.shape), Y)
    xc = X - X.mean()
    raw = ((Y - Y.mean(-1, keepdims=True)) * xc).sum(-1) / (xc**2).sum()
    stat = float(_nanmean(r))
    rng = np.random.default_rng(seed)
    perm = rng.permuted(np.tile(np.arange(n), (resamples, 1)), axis=1)
    null = _nanmean(_standardised_slopes(X[perm][:, None, :], Y[None]))
    idx = rng.integers(0, n, (resamples, n))
    boots = _nanmean(_standardised_slopes(X[idx][:, None, :], Y[:, idx].transpose(1, 0, 2)))
    return {
        "slope_std": stat,
        "ci": _ci(boots),
        "p": _p_value(null, stat, alternative, False),
        "n": int(n),
        "strata": int(len(keys)),
        "per_stratum": [
            {
                **{s: _plain(k[i] if isinstance(k, tuple) else k) for i, s in enumerate(strata)},
                "slope": float(raw[j]),
                "r": float(r[j]),
            }
            for j, k in enumerate(keys)
        ],
    }
