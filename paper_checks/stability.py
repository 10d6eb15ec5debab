"""Stable verdicts (issue 12 item 9): how often a real-data verdict survives resampling its queries.

A real-data verdict is a function of a per-query input table (one or more rows per query). Its
**stability** is the fraction of perturbed inputs on which the same judge returns the same
verdict:

    stability = (1/R) Σ_r 1[judge(table_r) = verdict],   R = B + S,

over B bootstrap replicates r = 1..B (the query units drawn with replacement, ``n_units`` draws,
generator ``numpy.random.default_rng(seed)``) and, where the check has several training seeds,
the S leave-one-seed-out inputs (the table rebuilt without seed s). A replicate is one query
unit drawn k times → k distinct queries (its id gets the suffix ``#<draw>``), so a judge that
pivots on the query id keeps every copy. A replicate the judge cannot decide (it raises
:class:`MissingEvidence`, ``ValueError`` or ``KeyError``, e.g. too few queries left) counts as
INCONCLUSIVE, as :meth:`Check.evaluate` would report it. The verdict is **fragile** when
stability < ``threshold`` (0.9).

Each re-judgement may run the check's own bootstrap / power simulation with fewer resamples
(``inner_resamples``, declared) so that B re-judgements take seconds; the verdict itself is
always the one the check computed with its declared parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from locent.paper_checks.verdicts import MissingEvidence, Verdict

from locent import results as R


@dataclass(frozen=True)
class StabilityParams:
    """Declared parameters: ``resamples`` B, the generator ``seed``, the fragility
    ``threshold`` and the resamples of each re-judgement's own tests (``inner_resamples``)."""

    resamples: int = 50
    seed: int = 0
    threshold: float = 0.9
    inner_resamples: int = 200

    def __post_init__(self) -> None:
        if self.resamples < 1:
            raise ValueError(f"stability needs at least 1 resample; got {self.resamples}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"stability threshold must be in (0, 1]; got {self.threshold}")


#: the default of ``locent checks`` / ``locent run`` (B = 50)
STABILITY_PARAMS = StabilityParams()


@dataclass(frozen=True)
class Stability:
    """Agreement of the re-judged verdicts with the verdict: overall, bootstrap and
    leave-one-seed-out (NaN when there are no seed replicates), and the verdict counts."""

    verdict: str
    fraction: float
    fragile: bool
    bootstrap_fraction: float
    seed_fraction: float
    counts: dict = field(default_factory=dict)
    resamples: int = 0
    seeds_left_out: int = 0

    def numbers(self) -> dict:
        """The ``numbers`` entries of a CheckResult (``stability_*``)."""
        return {
            "stability": self.fraction,
            "stability_bootstrap": self.bootstrap_fraction,
            "stability_leave_one_seed_out": self.seed_fraction,
            "stability_resamples": self.resamples,
            "stability_seeds_left_out": self.seeds_left_out,
            **{f"stability_count[{v}]": n for v, n in sorted(self.counts.items())},
        }


def _key_frame(table: pd.DataFrame, key: Sequence[str]) -> pd.DataFrame:
    """The columns or index levels named by ``key`` as a frame aligned with the rows."""
    flat = table.reset_index()
    missing = [k for k in key if k not in flat.columns]
    if missing:
        raise KeyError(f"query key {missing} is neither a column nor an index level of the table")
    return flat[list(key)]


def bootstrap_queries(
    table: pd.DataFrame, key: Sequence[str], rng: np.random.Generator
) -> pd.DataFrame:
    """One bootstrap replicate of ``table``: its query units (distinct values of ``key``, columns
    or index levels) drawn with replacement, all rows of a unit kept together; the last key
    field of the j-th draw becomes ``"<id>#<j>"`` so repeated units stay distinct queries.
    ``table.attrs`` are kept."""
    keys = _key_frame(table, key)
    codes, _ = pd.MultiIndex.from_frame(keys).factorize()
    n = int(codes.max()) + 1 if len(codes) else 0
    if n == 0:
        raise ValueError("no queries to resample")
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n)
    starts = np.cumsum(counts) - counts
    draw = rng.integers(0, n, size=n)
    c = counts[draw]
    # row r of the replicate: draw j = rep[r], its offs[r]-th row of unit draw[j]
    rep = np.repeat(np.arange(n), c)
    offs = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
    rows = order[np.repeat(starts[draw], c) + offs]
    out = table.iloc[rows].copy()
    last = key[-1]
    relabelled = keys[last].to_numpy()[rows].astype(str).astype(object) + "#" + rep.astype(str)
    if last in table.columns:
        out[last] = relabelled
    else:
        index = out.index.to_frame(index=False)
        index[last] = relabelled
        out.index = (
            pd.MultiIndex.from_frame(index)
            if index.shape[1] > 1
            else pd.Index(index[last], name=last)
        )
    out.attrs = dict(table.attrs)
    return out


def _rejudge(judge: Callable[[pd.DataFrame], Verdict], table: pd.DataFrame) -> str:
    try:
        return str(judge(table))
    except (MissingEvidence, ValueError, KeyError):
        return str(Verdict.INCONCLUSIVE)


def stability(
    judge: Callable[[pd.DataFrame], Verdict],
    table: pd.DataFrame,
    verdict: Verdict | str,
    key: Sequence[str],
    params: StabilityParams = STABILITY_PARAMS,
    leave_one_seed_out: Sequence[pd.DataFrame] = (),
) -> Stability:
    """Re-judge ``table`` on ``params.resamples`` bootstrap replicates of its queries (``key``)
    and on each ``leave_one_seed_out`` table; the fraction agreeing with ``verdict``."""
    rng = np.random.default_rng(params.seed)
    boot = [_rejudge(judge, bootstrap_queries(table, key, rng)) for _ in range(params.resamples)]
    seeds = [_rejudge(judge, t) for t in leave_one_seed_out]
    verdict = str(verdict)
    every = boot + seeds
    fraction = float(np.mean([v == verdict for v in every]))
    return Stability(
        verdict=verdict,
        fraction=fraction,
        fragile=bool(fraction < params.threshold),
        bootstrap_fraction=float(np.mean([v == verdict for v in boot])),
        seed_fraction=float(np.mean([v == verdict for v in seeds])) if seeds else float("nan"),
        counts={v: every.count(v) for v in sorted(set(every))},
        resamples=params.resamples,
        seeds_left_out=len(seeds),
    )


def samplers_from_per_query(per_query: pd.DataFrame) -> pd.DataFrame:
    """Item 3's MS MARCO evidence (``realdata/measure/samplers.csv``) rebuilt from the per-query
    measures, so that its across-sampler verdict can be re-judged on query bootstraps.

    One row per (dataset, sampler) over its training queries (``role == "train"`` where the
    column exists; the test rows carry κ only):

        Δ̂_Q(0.99) = aggregate_diameter({Δ̂_q(0.99)}_q, α = 0.99),   H = (1/n) Σ_q H_q(pairwise),

    exactly as ``locent realdata measure`` computes them. A missing or non-finite measure raises
    ``ValueError`` naming the dataset and sampler.
    """
    from locent.theory import aggregate_diameter

    need = (R.DATASET, R.SAMPLER, R.QUERY_ID, R.DIAMETER_99, R.PAIRWISE_ENTROPY)
    missing = [c for c in need if c not in per_query.columns]
    if missing:
        raise KeyError(f"per-query measurement table lacks columns {missing}")
    train = per_query[per_query["role"] == "train"] if "role" in per_query else per_query
    rows = []
    for (dataset, sampler), g in train.groupby([R.DATASET, R.SAMPLER], sort=True):
        d = g[R.DIAMETER_99].to_numpy(dtype=np.float64)
        h = g[R.PAIRWISE_ENTROPY].to_numpy(dtype=np.float64)
        if not (np.isfinite(d).all() and np.isfinite(h).all()):
            raise ValueError(
                f"per-query measures of {dataset}/{sampler}: non-finite {R.DIAMETER_99} or "
                f"{R.PAIRWISE_ENTROPY} for {int((~np.isfinite(d + h)).sum())} queries"
            )
        rows.append(
            {
                R.DATASET: dataset,
                R.SAMPLER: sampler,
                "n_queries": len(g),
                R.DIAMETER_Q_99: float(aggregate_diameter(d, alpha=0.99)),
                R.PAIRWISE_ENTROPY: float(np.mean(h)),
            }
        )
    if not rows:
        raise ValueError("per-query measurement table has no training rows")
    return pd.DataFrame(rows)
