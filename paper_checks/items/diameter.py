"""Item 6: elaborate miners do not make candidate sets more compact than BM25."""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.figures.tables import training_rows
from locent.paper_checks.items.common import (
    Judgement,
)
from locent.paper_checks.verdicts import MissingEvidence, Verdict, combine
from locent.theory import aggregate_diameter

from locent import results as R
from locent import stats as st


def judge_diameter_comparable(
    per_query: pd.DataFrame,
    margin: float = 0.05,
    alpha: float = 0.99,
    n_boot: int = 2000,
    seed: int = 0,
) -> Judgement:
    """Paired bootstrap over queries of Δ̂_Q(miner) − Δ̂_Q(bm25), Δ̂_Q = α-quantile (theory's
    ``aggregate_diameter``). PASS: 95% lower bound ≥ −margin for every miner; FAIL: an upper
    bound < −margin (significantly more compact by more than the margin)."""
    rows = training_rows(per_query)
    wide = rows.pivot_table(
        index=R.QUERY_ID, columns=R.SAMPLER, values=R.DIAMETER_99, aggfunc="first"
    )
    if "bm25" not in wide.columns:
        raise MissingEvidence("per_query.parquet has no bm25 sampler on MS MARCO")
    miners = [m for m in ("teacher", "ensemble", "dense") if m in wide.columns]
    if not miners:
        raise MissingEvidence("per_query.parquet has no elaborate miner (teacher/ensemble/dense)")
    rng = np.random.default_rng(seed)
    parts, notes, numbers = [], [], {"margin": margin, "alpha": alpha, "bootstrap": n_boot}
    for m in miners:
        both = wide[[m, "bm25"]].dropna()
        a, b = both[m].to_numpy(float), both["bm25"].to_numpy(float)
        lo, hi = st.bootstrap_ci(
            lambda u, v: np.asarray(aggregate_diameter(u, alpha) - aggregate_diameter(v, alpha)),
            a, b, n_resamples=n_boot, seed=rng,
        )  # fmt: skip
        point = float(aggregate_diameter(a, alpha) - aggregate_diameter(b, alpha))
        numbers.update(
            {
                f"diameter_Q[{m}]": float(aggregate_diameter(a, alpha)),
                f"diff_vs_bm25[{m}]": point,
                f"ci_low[{m}]": float(lo),
                f"ci_high[{m}]": float(hi),
                f"queries[{m}]": int(a.size),
            }
        )
        numbers["diameter_Q[bm25]"] = float(aggregate_diameter(b, alpha))
        if lo >= -margin:
            parts.append(Verdict.PASS)
        elif hi < -margin:
            parts.append(Verdict.FAIL)
        else:
            parts.append(Verdict.INCONCLUSIVE)
        notes.append(f"{m} − bm25: {point:+.4f} (95% CI {lo:+.4f}…{hi:+.4f})")
    return combine(parts), "; ".join(notes) + f"; margin {margin}", numbers
