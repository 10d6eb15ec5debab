"""Summary evidence on Theorem 2.1 (iii) beyond its violation rate (THEORY.md §7 items 1 and 8).

- **Teeth** (item 1): the bound's complexity term against the Monte-Carlo Rademacher complexity of
  the class on the same sample (``rademacher_tightness``), the share of the bound's excess the
  estimation gap uses (``gap_fraction_iii``), the critical scale of the complexity term
  (``critical_scale_iii``), and the single-constant mutations of ``mutation`` (ρ, W, Λ, Δ_Q
  halved): how many runs catch each.
- **Vacuity on the n used** (item 8): W is a-priori (fixed from the preset before training and
  enforced by projection after every step: ``max_norm_ratio`` ≤ 1), L_g and Λ are stated upper
  bounds (``teachers.lipschitz_constant``, ``students.feature_lipschitz``), Δ_Q is the sampler's
  population diameter. Per loss: the share of runs whose bound is below the loss range B at each
  n, and the smallest non-vacuous n (``theory.smallest_non_vacuous_n``) a priori (R̂ = 0) and at
  the runs' R̂ (median).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from locent import results as R

from .mutation import mutation_summary


def _quantiles(values: pd.Series) -> dict:
    v = values.replace([np.inf, -np.inf], np.nan).dropna().to_numpy(float)
    if not v.size:
        return {"runs": 0, "min": math.nan, "median": math.nan, "q90": math.nan, "max": math.nan}
    return {
        "runs": int(v.size),
        "min": float(v.min()),
        "median": float(np.median(v)),
        "q90": float(np.quantile(v, 0.9)),
        "max": float(v.max()),
    }


def _finite_or_none(value: float):
    return float(value) if math.isfinite(value) else None


def theorem_iii_evidence(runs: pd.DataFrame, *, factor: float = 0.5) -> dict:
    """The item-1 teeth and item-8 vacuity keys of summary.json from the unique runs."""
    t3 = runs[np.isfinite(runs[R.BOUND_III])]
    out: dict = {
        "theorem_iii_rademacher_tightness": _quantiles(t3["rademacher_tightness"]),
        "theorem_iii_gap_fraction": _quantiles(t3["gap_fraction_iii"]),
        "theorem_iii_critical_scale": _quantiles(t3["critical_scale_iii"]),
        "theorem_iii_rademacher_check_violations": int(t3["rademacher_check_violated"].sum()),
        "theorem_iii_mutations": mutation_summary(t3, factor) if len(t3) else {},
        # per sampler: the random sampler's chunk is where the term is tightest
        "theorem_iii_mutations_by_sampler": {
            str(label): {
                "rademacher_tightness_median": float(d["rademacher_tightness"].median()),
                **mutation_summary(d, factor),
            }
            for label, d in t3.groupby(R.SAMPLER)
        },
    }
    by_loss = {}
    for loss, d in t3.groupby(R.LOSS):
        per_n = {}
        for n, dn in d.groupby("n"):
            per_n[str(int(n))] = {
                "runs": int(len(dn)),
                "non_vacuous_fraction": float(1.0 - dn[R.BOUND_III_VACUOUS].mean()),
                "bound_over_range_median": float(
                    np.median(dn[R.BOUND_III].to_numpy() / dn[R.LOSS_RANGE_Q].to_numpy())
                ),
            }
        prior = d["non_vacuous_n_iii_a_priori"].replace(np.inf, np.nan)
        by_loss[loss] = {
            "n_used": sorted(int(n) for n in d["n"].unique()),
            "smallest_non_vacuous_n_a_priori_median": _finite_or_none(float(prior.median())),
            "smallest_non_vacuous_n_a_priori_max": _finite_or_none(float(prior.max())),
            "smallest_non_vacuous_n_median": _finite_or_none(
                float(d["non_vacuous_n_iii"].median())
            ),
            "never_non_vacuous_runs": int(np.isinf(d["non_vacuous_n_iii"]).sum()),
            "by_n": per_n,
        }
    out["theorem_iii_vacuity_by_loss"] = by_loss
    return out
