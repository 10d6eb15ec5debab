"""Learning-rate selection on held-out *training* queries, never on test qrels.

The grid trains every condition with one learning rate per (student family, architecture, loss).
With ``lr="auto"`` that rate is chosen by the declared rule below, once, on a reference condition
(one sampler, one seed), and then used for every sampler, subset and seed of that loss, so the
comparisons the grid makes keep equal steps, equal groups and equal learning rates.

1. **Validation split** (:func:`validation_split`). The distinct training query ids are ordered by
   h(q) = CRC32(``"<seed>:<query id>"``) (ties by id); the first
   n_val = max(``min_queries``, round(``frac`` · n_q)) are the validation queries, the rest fit the
   student. Deterministic, disjoint, and an error names the counts when fewer than
   n_val + 1 queries exist.
2. **Criterion** (:func:`mean_misordering`). Each candidate learning rate η trains the
   student (same initialisation seed, the grid's budget of steps × groups) on the fit groups; the
   criterion is the mean over the validation groups V of the teacher-agreement misordering rate
   (Definition 2.1, :func:`locent.theory.misordering_rate`)

       R̂_mis(η) = (1/|V|) Σ_{q∈V} #{i<j : (s_i − s_j)(t_i − t_j) < 0} / #{i<j : t_i ≠ t_j},

   s = student scores, t = teacher scores of the group's k items. Only groups and teacher scores
   are read: no qrels, no test candidates.
3. **Choice** (:func:`select_learning_rate`): η* = argmin R̂_mis(η) over the candidates, ties to the
   smaller η. The table keeps every candidate's value and the untrained student's value
   (``validation_misordering_init``), so a reader sees whether training helped on validation.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from locent.realdata.students import Student
from locent.realdata.training import TrainConfig, train
from locent.realdata.training_data import GroupData

#: Declared candidate learning rates of ``lr="auto"`` (AdamW, linear warmup then decay).
#: 3e-5 brackets the search from below: on 96 MS MARCO queries the optimum sat at 1e-4, the
#: smallest of the first list (3 of 4 losses).
LR_CANDIDATES = (3e-5, 1e-4, 3e-4, 1e-3, 3e-3)
SELECTION_COLUMNS = (
    "student",
    "arch",
    "loss",
    "lr",
    "validation_misordering",
    "validation_misordering_init",
    "chosen",
)


def validation_split(query_ids, frac: float = 0.2, seed: int = 0, min_queries: int = 2):
    """Boolean mask ``(n,)`` over the rows of ``query_ids``: True = validation query.

    Rule: order the distinct ids by (CRC32(f"{seed}:{id}"), id) and take the first
    n_val = max(min_queries, round(frac · n_q)); all rows of a query fall on the same side.
    Raises ValueError naming the counts when n_q < n_val + 1 (no query left to fit on) or when
    ``frac`` is outside (0, 1).
    """
    if not 0 < frac < 1:
        raise ValueError(f"validation fraction must be in (0, 1); got {frac}")
    query_ids = np.asarray(query_ids).astype(str)
    unique = np.unique(query_ids)
    n_val = max(int(min_queries), int(round(frac * len(unique))))
    if len(unique) < n_val + 1:
        raise ValueError(
            f"validation split needs at least {n_val + 1} distinct training queries "
            f"({n_val} validation, >= 1 to fit; fraction {frac}, minimum {min_queries}); "
            f"got {len(unique)}"
        )
    hashes = np.array([zlib.crc32(f"{seed}:{q}".encode()) for q in unique], dtype=np.int64)
    order = np.lexsort((unique, hashes))
    return np.isin(query_ids, unique[order[:n_val]])


@torch.no_grad()
def mean_misordering(student: Student, data: GroupData, device, batch: int = 256) -> float:
    """Mean over the groups of ``data`` of the misordering rate of the student vs the teacher.

    Scores ``(n, k)`` of the student against ``data.teacher_scores`` ``(n, k)``; returns
    (1/n) Σ_q misordering_rate(s_q, t_q) (a group whose teacher ties every pair raises).
    """
    from locent.realdata.evaluation import score_candidates
    from locent.theory import misordering_rate

    scores = score_candidates(student, data, batch, device)
    return float(np.mean(misordering_rate(scores, data.teacher_scores)))


def select_learning_rate(
    make_student: Callable[[], Student],
    fit: GroupData,
    validation: GroupData,
    config: TrainConfig,
    device,
    candidates=LR_CANDIDATES,
) -> pd.DataFrame:
    """Train one student per candidate η on ``fit``; score each on ``validation``; pick η*.

    ``make_student()`` builds a fresh untrained student; it is called after
    ``torch.manual_seed(config.seed)`` so every candidate starts from the same weights.
    ``config`` fixes everything but the learning rate (its ``lr`` is replaced).
    Returns one row per candidate: ``lr, validation_misordering, validation_misordering_init,
    chosen`` (exactly one True: the smallest criterion, ties to the smaller η).
    """
    if not candidates:
        raise ValueError("no candidate learning rates")
    if any(not (lr > 0) for lr in candidates):
        raise ValueError(f"candidate learning rates must be > 0; got {tuple(candidates)}")
    torch.manual_seed(config.seed)
    init = mean_misordering(make_student(), validation, device)
    rows = []
    for lr in sorted(float(c) for c in candidates):
        torch.manual_seed(config.seed)
        student = make_student()
        train(student, fit, dataclasses.replace(config, lr=lr), device, show_progress=False)
        rows.append(
            {
                "lr": lr,
                "validation_misordering": mean_misordering(student, validation, device),
            }
        )
    table = pd.DataFrame(rows)
    table["validation_misordering_init"] = init
    # sorted by lr ascending, so idxmin's first minimum is the smaller lr on ties
    table["chosen"] = table.index == table["validation_misordering"].idxmin()
    return table
