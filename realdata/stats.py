"""Tables of paired comparisons over queries for the real-data report; the tests are
:mod:`locent.stats`'s.

The unit of pairing is the **query**: two systems are compared on the same queries (one value
per query, e.g. the mean over seeds). Each family is Holm-corrected over its systems, separately
for the paired t-test and the sign-flip randomisation test; TOST gives equivalence within a
margin.
"""

from __future__ import annotations

import pandas as pd

from locent import stats as st


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
            t_test = st.paired_t(a, b)
            p_rand = st.randomisation_test(a, b, n_resamples=n_resamples, seed=seed).p
            p_tost = st.tost(a, b, margin).p
            stats_rows.append(
                {
                    **dict(zip(group_cols, key)),
                    "system": system,
                    "reference": reference,
                    "mean_diff": float((a - b).mean()),
                    "t": t_test.statistic,
                    "p_t": t_test.p,
                    "p_rand": float(p_rand),
                    "p_tost": float(p_tost),
                    "margin": margin,
                    "n_queries": len(pair),
                }
            )
        p_t_holm = st.holm([r["p_t"] for r in stats_rows])
        p_rand_holm = st.holm([r["p_rand"] for r in stats_rows])
        for r, pt, pr in zip(stats_rows, p_t_holm, p_rand_holm):
            r["p_t_holm"], r["p_rand_holm"] = float(pt), float(pr)
            r["significant"] = bool(pt < alpha and pr < alpha)
            r["equivalent"] = bool(r["p_tost"] < alpha)
        rows.extend(stats_rows)
    return pd.DataFrame(rows)
