"""Entropy cuts: training subsets chosen by the teacher's pairwise entropy of each query's group.

Per training query i: H_i = mean over pairs j<l of h(σ((t_j − t_l)/τ)) (Definition 2.3, via
``locent.theory.pairwise_entropy``). With quartiles Q1, median Q2, Q3 and IQR = Q3 − Q1 of the
H_i, the subsets are named by what they **keep**:

| name | kept queries |
|---|---|
| ``full`` | all |
| ``keep_below_median`` | H ≤ Q2 |
| ``keep_above_median`` | H > Q2 |
| ``drop_lower_quartile`` | H ≥ Q1 |
| ``drop_upper_quartile`` | H ≤ Q3 |
| ``keep_tukey_inliers`` | Q1 − 1.5 IQR ≤ H ≤ Q3 + 1.5 IQR |
| ``keep_tukey_outliers`` | H < Q1 − 1.5 IQR or H > Q3 + 1.5 IQR |

Every subset is trained with the same optimiser-step and group budget as the full set (the
trainer cycles through a subset's permutations), so only *which* groups are seen changes.
"""

from __future__ import annotations

import numpy as np

SUBSETS = (
    "full",
    "keep_below_median",
    "keep_above_median",
    "drop_lower_quartile",
    "drop_upper_quartile",
    "keep_tukey_inliers",
    "keep_tukey_outliers",
)


def query_entropies(teacher_scores, tau: float = 1.0) -> np.ndarray:
    """Teacher pairwise entropy H_i (nats) of each group, shape (n,)."""
    from locent.theory import pairwise_entropy

    return np.asarray(pairwise_entropy(np.asarray(teacher_scores, dtype=np.float64), tau=tau))


def entropy_thresholds(entropies) -> dict[str, float]:
    """Quartiles, IQR and Tukey fences (1.5 IQR) of the per-query entropies."""
    h = np.asarray(entropies, dtype=np.float64)
    if h.ndim != 1 or len(h) < 4:
        raise ValueError(f"entropy cuts need >= 4 queries (1-D); got shape {h.shape}")
    if not np.isfinite(h).all():
        raise ValueError(
            f"entropies contain NaN/inf at query index {int(np.flatnonzero(~np.isfinite(h))[0])}"
        )
    q1, q2, q3 = np.quantile(h, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    return {
        "q1": float(q1),
        "median": float(q2),
        "q3": float(q3),
        "iqr": float(iqr),
        "tukey_low": float(q1 - 1.5 * iqr),
        "tukey_high": float(q3 + 1.5 * iqr),
    }


def entropy_subsets(entropies) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Boolean masks (n,) per subset name, and the thresholds that define them."""
    h = np.asarray(entropies, dtype=np.float64)
    th = entropy_thresholds(h)
    inlier = (h >= th["tukey_low"]) & (h <= th["tukey_high"])
    masks = {
        "full": np.ones(len(h), dtype=bool),
        "keep_below_median": h <= th["median"],
        "keep_above_median": h > th["median"],
        "drop_lower_quartile": h >= th["q1"],
        "drop_upper_quartile": h <= th["q3"],
        "keep_tukey_inliers": inlier,
        "keep_tukey_outliers": ~inlier,
    }
    return masks, th
