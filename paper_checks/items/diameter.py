"""Item 6: elaborate miners do not make candidate sets more compact than BM25.

The statistics are ones the bootstrap handles: the **mean** and the **median** over MS MARCO
training queries of the per-query diameter Δ̂_q (``diameter_99``), paired over queries
(miner − bm25), percentile bootstrap over queries (``resamples``, ``seed``). Non-inferiority with
``margin``: PASS when the bootstrap p (1 + #{diff* ≤ −margin})/(1 + B) < α, FAIL when the same p
of diff* ≥ −margin is < α (significantly more compact by more than the margin) or when the test
was powered (the bootstrap SE gives a detectable shift ≤ margin) and did not show
non-inferiority. The 0.99 quantile Δ̂_Q(0.99) — a
near-maximum, where the n-out-of-n bootstrap is inconsistent — is reported with an m-out-of-n
bootstrap (m = ⌈n^{2/3}⌉) and not judged.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from locent.figures.tables import training_rows
from locent.paper_checks.items.decision import TestOutcome, bootstrap_p, summarise
from locent.paper_checks.verdicts import CheckParams, MissingEvidence, combine
from locent.theory import aggregate_diameter
from scipy import stats

from locent import results as R

DIAMETER_PARAMS = CheckParams(alpha=0.05, margin=0.05, resamples=2000, seed=0)
STATISTICS = {"mean": lambda v: np.mean(v, axis=-1), "median": lambda v: np.median(v, axis=-1)}


def _outcome(label, point, boots, params: CheckParams, n: int) -> TestOutcome:
    lo, hi = np.quantile(boots, [0.025, 0.975])
    se = float(np.std(boots, ddof=1))
    detectable = (stats.norm.ppf(1 - params.alpha) + stats.norm.ppf(params.power)) * se
    return TestOutcome(
        label=label,
        effect=float(point),
        ci=(float(lo), float(hi)),
        p_support=bootstrap_p(boots, -params.margin, "above"),
        p_against=bootstrap_p(boots, -params.margin, "below"),
        detectable=float(detectable),
        needed=float(params.margin),
        alpha=params.alpha,
        units=n,
        unit_name="queries",
    )


def judge_diameter_comparable(per_query: pd.DataFrame, params: CheckParams = DIAMETER_PARAMS):
    rows = training_rows(per_query)
    wide = rows.pivot_table(
        index=R.QUERY_ID, columns=R.SAMPLER, values=R.DIAMETER_99, aggfunc="first"
    )
    if "bm25" not in wide.columns:
        raise MissingEvidence("per_query.parquet has no bm25 sampler on MS MARCO")
    miners = [m for m in ("teacher", "ensemble", "dense") if m in wide.columns]
    if not miners:
        raise MissingEvidence("per_query.parquet has no elaborate miner (teacher/ensemble/dense)")
    rng = np.random.default_rng(params.seed)
    outcomes, numbers, notes = [], {}, []
    for m in miners:
        both = wide[[m, "bm25"]].dropna()
        a, b = both[m].to_numpy(float), both["bm25"].to_numpy(float)
        n = a.size
        if n < 3:
            raise MissingEvidence(f"only {n} MS MARCO queries with both {m} and bm25 diameters")
        idx = rng.integers(0, n, size=(params.resamples, n))
        for name, f in STATISTICS.items():
            point = float(f(a) - f(b))
            boots = f(a[idx]) - f(b[idx])
            outcomes.append(_outcome(f"{name} Δ̂_q: {m} − bm25", point, boots, params, n))
        # the 0.99 quantile: m-out-of-n bootstrap, reported only
        k = int(math.ceil(n ** (2 / 3)))
        sub = rng.integers(0, n, size=(params.resamples, k))
        q99 = np.asarray(aggregate_diameter(a[sub], 0.99)) - np.asarray(
            aggregate_diameter(b[sub], 0.99)
        )
        point99 = float(aggregate_diameter(a, 0.99) - aggregate_diameter(b, 0.99))
        lo99, hi99 = np.quantile(q99 - np.median(q99), [0.025, 0.975]) * math.sqrt(k / n)
        numbers.update(
            {
                f"diameter_Q_99_diff[{m}]": point99,
                f"diameter_Q_99_diff_ci_low_m_of_n[{m}]": point99 - float(hi99),
                f"diameter_Q_99_diff_ci_high_m_of_n[{m}]": point99 - float(lo99),
                f"queries[{m}]": n,
            }
        )
        notes.append(
            f"Δ̂_Q(0.99) {m} − bm25 {point99:+.4f} (m-out-of-n CI "
            f"{point99 - hi99:+.4f}…{point99 - lo99:+.4f}, m = {k}; reported, not judged)"
        )
    power = {}
    for o in outcomes:
        numbers.update(o.numbers(o.label))
        power[o.label] = o.detectable
    text = f"{summarise(outcomes)}; margin {params.margin}; " + "; ".join(notes)
    parts = [o.part(f"{o.label} ≥ −{params.margin:g}") for o in outcomes]
    return combine([o.verdict for o in outcomes]), text, numbers, power, parts
