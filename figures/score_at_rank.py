"""Average score at rank and its power-law fit (Figs. 2 and 4 of the paper).

For a model (teacher or student) and a dataset, the curve is s̄(r) = mean over queries of the score
at rank r (ranks 1..K of the re-ranked candidates). The rank ratio is r/K. A power law
s̄ ≈ a·(r/K)^b is a straight line on log-log axes; its exponent b is fitted by least squares on
(log(r/K), log s̄).

Scores of a student need not be positive, and a log axis needs them to be. A curve with a
non-positive minimum is therefore shifted by ``shift = -min + 0.01·range`` before it is drawn and
fitted (the shift is returned so that a reader can undo it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from locent.figures.tables import require_columns
from scipy import stats


@dataclass(frozen=True)
class ScoreCurve:
    """Mean score at rank: ``rank`` (K,), ``rank_ratio`` (K,), ``score`` (K,) after ``shift``."""

    label: str
    rank: np.ndarray
    rank_ratio: np.ndarray
    score: np.ndarray
    shift: float
    n_queries: int


@dataclass(frozen=True)
class PowerLaw:
    """log s = log a + b·log(r/K): ``exponent`` b, ``prefactor`` a, ``r2`` of the log-log fit."""

    exponent: float
    prefactor: float
    r2: float

    def __call__(self, rank_ratio: np.ndarray) -> np.ndarray:
        return self.prefactor * np.asarray(rank_ratio, dtype=float) ** self.exponent


def score_curve(rows: pd.DataFrame, label: str) -> ScoreCurve:
    """Mean score at each rank over the queries in ``rows`` (``query_id, rank, score``)."""
    require_columns(rows, ("query_id", "rank", "score"), f"score_at_rank rows for {label}")
    if rows.empty:
        raise ValueError(f"score_at_rank: no rows for {label}")
    if not np.isfinite(rows["score"].to_numpy(dtype=float)).all():
        bad = rows.loc[~np.isfinite(rows["score"].to_numpy(dtype=float)), "query_id"].iloc[0]
        raise ValueError(f"score_at_rank: non-finite score for {label}, query {bad}")
    mean = rows.groupby("rank")["score"].mean().sort_index()
    rank = mean.index.to_numpy(dtype=float)
    score = mean.to_numpy(dtype=float)
    low, high = float(score.min()), float(score.max())
    shift = 0.0 if low > 0 else -low + 0.01 * max(high - low, 1e-12)
    return ScoreCurve(
        label=label,
        rank=rank,
        rank_ratio=rank / rank.max(),
        score=score + shift,
        shift=shift,
        n_queries=int(rows["query_id"].nunique()),
    )


def fit_power_law(curve: ScoreCurve) -> PowerLaw:
    """Least-squares fit of log s̄ on log(r/K) (needs ≥ 2 distinct ranks)."""
    if len(curve.rank) < 2:
        raise ValueError(f"power-law fit for {curve.label}: needs at least 2 ranks")
    fit = stats.linregress(np.log(curve.rank_ratio), np.log(curve.score))
    return PowerLaw(
        exponent=float(fit.slope), prefactor=float(np.exp(fit.intercept)), r2=float(fit.rvalue**2)
    )
