"""From the tidy sweep table to the verdict numbers of THEORY.md §7 items 1–4 (summary.json).

- **Exact statements** (item 1): the sum of all Lemma A / A(MarginMSE) / B / C / Corollary 2.1
  violation counts; expected 0.
Rows flagged ``duplicate_run`` (a τ-free loss at a second τ: the same trained student) count in
the exact checks (their τ-dependent checks differ) but not in rates or correlations.

- **Theorem 2.1 (iii)** (item 1): violation rate over runs (configuration × seed) with a
  Clopper–Pearson interval (``scipy.stats.binomtest(...).proportion_ci('exact')``); "within δ"
  means the rate ≤ δ. Tightness = (bound − R̂)/(R − R̂), median over runs with a positive gap.
- **Spearman tests over independent units** (items 2–3, ``units``): the independent unit is
  the (sampler, seed) pair — Δ̂_Q depends on it only, and its τ strata and losses reuse the same
  samples — so every test first reduces the rows to one point per unit (duplicating rows leaves
  ρ and p unchanged). "At fixed τ" / "at fixed sampler" ranks within strata first.

  - gap vs diameter: y = estimation gap R^ν(f̂) − R̂(f̂), x = Δ̂_Q(0.99) of the fresh ν sample;
    strata τ × n × loss; between units (``units.unit_spearman``); predicted > 0. Also as a
    regression at fixed (n, τ, loss) with a cluster-bootstrap CI over units
    (``units.cluster_slope``), overall and per n.
  - floor vs entropy: y = misordering against the teacher on ν at the largest n, x = pairwise
    H(g), varied by τ inside each unit; losses that use τ only; the within-unit Spearman ρ per
    (unit, loss) averaged to one ρ per unit, sign-flip p over units
    (``units.within_unit_spearman``); predicted > 0.
  - entropy vs diameter (Lemma B coupling): x = Δ̂_Q(0.99), y = H(g) ranked within τ; between
    units; predicted < 0 (more local → higher entropy).
- **Intermediate locality** (item 4): along the locality family (k-NN with k increasing, then
  random as k = N), for each τ × loss × n the mean over seeds of the misordering on the target
  measure μ; an optimum is *intermediate* when its knob is not an end of the range and it is
  below both ends with one-sided paired t-tests over seeds (p < 0.05 each). The verdict is true
  when that holds for more than half of the τ × loss × n cells. ``intermediate_locality_split``
  chooses the optimum on the first half of the seeds and tests it on the other half only (no
  selection effect).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from locent import results as R
from locent import stats as st

from .theorem_iii_summary import theorem_iii_evidence
from .units import cluster_slope, unit_spearman, within_unit_spearman

#: the independent unit of every between-run test (see module docstring)
UNITS = [R.SAMPLER, R.SEED]

EXACT_COLUMNS = (
    "lemma_a_violations",
    "lemma_a_mm_violations",
    "lemma_b_violations",
    "lemma_c_violations",
    "corollary_violations",
    "corollary_trained_violations",
)
CHECK_COLUMNS = tuple(c.replace("violations", "checks") for c in EXACT_COLUMNS)


def stratified_spearman(
    df: pd.DataFrame,
    x: str,
    y: str,
    strata: list[str],
    *,
    alternative: str,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Spearman ρ of within-stratum percentile ranks, bootstrap CI, one-sided p.

    Rows are taken as independent (kept for reference; the summary uses ``units``: the rows of
    one (sampler, seed) are not independent, and these p-values are far too small there).
    """
    d = df[[x, y, *strata]].dropna()
    if len(d) < 3 or d[x].nunique() < 2 or d[y].nunique() < 2:
        return {"rho": math.nan, "ci": [math.nan, math.nan], "p": math.nan, "n": int(len(d))}
    codes = d.groupby(strata).ngroup().to_numpy()  # strata in groupby's sorted order
    res = st.stratified_spearman(
        d[x].to_numpy(), d[y].to_numpy(), codes, alternative=alternative, n_boot=n_boot, seed=seed
    )
    return {
        "rho": res.effect,
        "ci": list(res.ci),
        "p": res.p,
        "n": res.n,
        "strata": int(codes.max() + 1),
    }


def clopper_pearson(k: int, n: int, level: float = 0.95) -> list[float]:
    """:func:`locent.stats.clopper_pearson` as a JSON list; no runs give [nan, nan]."""
    return list(st.clopper_pearson(k, n, level)) if n else [math.nan, math.nan]


def intermediate_locality(
    df: pd.DataFrame, family: str, n_items: int, *, select_seeds=None, test_seeds=None
) -> dict:
    """Item 4 along the ``family`` knob (random appended as k = N). See module docstring.

    ``select_seeds`` / ``test_seeds``: the seeds whose mean picks the optimum and the seeds the
    paired tests use (both all seeds by default: the selection-biased original form).
    """
    d = df[(df.sampler_family == family) | (df.sampler_family == "random")].copy()
    d["locality_knob"] = np.where(d.sampler_family == "random", float(n_items), d.knob_value)
    knobs = sorted(d.locality_knob.unique())
    cells = []
    if len(knobs) < 3:
        return {"verdict": False, "cells": [], "reason": f"only {len(knobs)} knob values"}
    for key, cell in d.groupby(["tau_unit", "loss", "n"]):
        piv = cell.pivot_table(index="seed", columns="locality_knob", values="misordering_mu")
        piv = piv[knobs]
        chosen = piv if select_seeds is None else piv.loc[piv.index.isin(select_seeds)]
        tested = piv if test_seeds is None else piv.loc[piv.index.isin(test_seeds)]
        means = chosen.mean()
        best = float(means.idxmin())
        interior = best not in (knobs[0], knobs[-1])
        p_low = p_high = math.nan
        if interior and len(tested) >= 2:
            p_low = st.paired_loss_p(tested[best], tested[knobs[0]])
            p_high = st.paired_loss_p(tested[best], tested[knobs[-1]])
        ok = bool(interior and p_low < 0.05 and p_high < 0.05)
        cells.append(
            {
                "tau_unit": float(key[0]),
                "loss": key[1],
                "n": int(key[2]),
                "argmin_knob": best,
                "interior": bool(interior),
                "p_vs_most_local": p_low,
                "p_vs_least_local": p_high,
                "significant_intermediate": ok,
                "mean_misordering_mu": {f"{k:g}": float(v) for k, v in means.items()},
            }
        )
    n_ok = sum(c["significant_intermediate"] for c in cells)
    return {
        "verdict": bool(n_ok * 2 > len(cells)),
        "cells_significant": int(n_ok),
        "cells_interior": int(sum(c["interior"] for c in cells)),
        "cells": cells,
        "knobs": [float(k) for k in knobs],
    }


def intermediate_locality_split(df: pd.DataFrame, family: str, n_items: int) -> dict:
    """Item 4 without a selection effect: the optimum of each cell is the argmin of the mean over
    the first ⌊S/2⌋ seeds, and the paired tests use the other seeds only."""
    seeds = sorted(df[R.SEED].unique())
    half = len(seeds) // 2
    if half < 1 or len(seeds) - half < 2:
        return {"verdict": False, "cells": [], "reason": f"{len(seeds)} seeds (need >= 3)"}
    res = intermediate_locality(
        df, family, n_items, select_seeds=seeds[:half], test_seeds=seeds[half:]
    )
    return {
        **res,
        "select_seeds": [int(s) for s in seeds[:half]],
        "test_seeds": [int(s) for s in seeds[half:]],
    }


def gap_signal_to_noise(runs: pd.DataFrame) -> dict:
    """Per n: median estimation gap, median standard error of the fresh-sample risk, and the
    median of their ratio over runs (is the gap well above the population-risk noise?)."""
    out = {}
    for n, d in runs.groupby("n"):
        ratio = d[R.ESTIMATION_GAP] / d["population_risk_se"]
        out[str(int(n))] = {
            "runs": int(len(d)),
            "gap_median": float(d[R.ESTIMATION_GAP].median()),
            "risk_se_median": float(d["population_risk_se"].median()),
            "gap_over_se_median": float(ratio.median()),
        }
    return out


def gap_regression(runs: pd.DataFrame, seed: int) -> tuple[dict, dict]:
    """Item 2 as a regression at fixed (n, τ, loss), over all n and per n (units.cluster_slope)."""
    strata = ["tau_unit", "n", R.LOSS]
    d = runs.dropna(subset=[R.ESTIMATION_GAP, R.DIAMETER_Q_99])
    overall = cluster_slope(
        d, R.DIAMETER_Q_99, R.ESTIMATION_GAP, strata, UNITS, alternative="greater", seed=seed
    )
    by_n = {}
    for n, dn in d.groupby("n"):
        r = cluster_slope(
            dn, R.DIAMETER_Q_99, R.ESTIMATION_GAP, strata, UNITS, alternative="greater", seed=seed
        )
        by_n[str(int(n))] = {k: v for k, v in r.items() if k != "per_stratum"}
    return overall, by_n


def summarise(df: pd.DataFrame, *, delta: float, family: str, n_items: int, seed: int = 0) -> dict:
    """The summary dict written to ``summary.json`` (keys of docs/CONTRACTS.md)."""
    from locent.theory import LOSSES, is_vacuous

    exact = {c: int(df[c].sum()) for c in EXACT_COLUMNS}
    checks = {c: int(df[c].sum()) for c in CHECK_COLUMNS}
    norm_bad = int((df.max_norm_ratio > 1.0 + 1e-12).sum())
    runs = df[~df.duplicate_run]  # each trained student once (see tabulate.with_theorem_ii)
    t3 = runs[np.isfinite(runs.bound_iii)]
    k3, n3 = int(t3.bound_iii_violated.sum()), int(len(t3))
    # on μ only runs with κ_Q < ∞ have a finite bound (κ = ∞: nothing transfers, not a check)
    finite_mu = t3[np.isfinite(t3.bound_iii_mu)]
    k3mu, n3mu = int(finite_mu.bound_iii_mu_violated.sum()), int(len(finite_mu))
    rate = k3 / n3 if n3 else math.nan
    tight = t3.tightness_iii.dropna()

    gap = unit_spearman(
        runs,
        R.DIAMETER_Q_99,
        R.ESTIMATION_GAP,
        ["tau_unit", "n", R.LOSS],
        UNITS,
        alternative="greater",
        seed=seed,
    )
    uses_tau = [name for name, spec in LOSSES.items() if spec.uses_tau]
    big_n = df[(df.n == df.n.max()) & df[R.LOSS].isin(uses_tau)]
    floor = within_unit_spearman(
        big_n,
        R.PAIRWISE_ENTROPY,
        R.MISORDERING_NU,
        [R.LOSS, "n"],
        UNITS,
        alternative="greater",
        seed=seed + 1,
    )
    per_sampler = df.drop_duplicates([R.SAMPLER, "tau_unit", R.SEED])
    coupling = unit_spearman(
        per_sampler,
        R.DIAMETER_Q_99,
        R.PAIRWISE_ENTROPY,
        ["tau_unit"],
        UNITS,
        alternative="less",
        seed=seed + 2,
    )
    regression, regression_by_n = gap_regression(runs, seed + 3)
    split = intermediate_locality_split(runs, family, n_items)
    inter = intermediate_locality(runs, family, n_items)
    return {
        "n_runs": int(len(df)),
        "n_unique_runs": int(len(runs)),
        "exact_violations": int(sum(exact.values()) + norm_bad),
        "exact_violations_by_statement": {**exact, "norm_constraint": norm_bad},
        "exact_checks_by_statement": checks,
        "exact_checks": int(sum(checks.values())),
        "delta": float(delta),
        "theorem_iii_runs": n3,
        "theorem_iii_violations": k3,
        "theorem_iii_violation_rate": rate,
        "theorem_iii_violation_rate_ci": clopper_pearson(k3, n3),
        "theorem_iii_within_delta": bool(rate <= delta) if n3 else False,
        "theorem_iii_mu_runs_finite_kappa": n3mu,
        "theorem_iii_mu_violations": k3mu,
        "theorem_iii_mu_violation_rate": k3mu / n3mu if n3mu else math.nan,
        "theorem_iii_mu_violation_rate_ci": clopper_pearson(k3mu, n3mu),
        "theorem_iii_tightness_median": float(tight.median()) if len(tight) else math.nan,
        "theorem_iii_tightness_runs": int(len(tight)),
        "theorem_iii_vacuous_fraction": float(
            np.mean(np.asarray(is_vacuous(t3.bound_iii.to_numpy(), t3.loss_range_Q.to_numpy())))
        )
        if n3
        else math.nan,
        "spearman_gap_vs_diameter": gap["rho"],
        "spearman_gap_vs_diameter_ci": gap["ci"],
        "spearman_gap_vs_diameter_p": gap["p"],
        "spearman_gap_vs_diameter_n": gap["n"],
        "spearman_gap_vs_diameter_rows": gap.get("rows", 0),
        "spearman_floor_vs_entropy": floor["rho"],
        "spearman_floor_vs_entropy_ci": floor["ci"],
        "spearman_floor_vs_entropy_p": floor["p"],
        "spearman_floor_vs_entropy_n": floor["n"],
        "spearman_floor_vs_entropy_rows": floor.get("rows", 0),
        "spearman_entropy_vs_diameter": coupling["rho"],
        "spearman_entropy_vs_diameter_ci": coupling["ci"],
        "spearman_entropy_vs_diameter_p": coupling["p"],
        "spearman_entropy_vs_diameter_n": coupling["n"],
        "spearman_entropy_vs_diameter_rows": coupling.get("rows", 0),
        "spearman_unit": list(UNITS),
        "gap_vs_diameter_regression": regression,
        "gap_vs_diameter_regression_by_n": regression_by_n,
        "estimation_gap_signal_to_noise": gap_signal_to_noise(runs),
        "intermediate_locality_split_optimum": split["verdict"],
        "intermediate_locality_split_detail": split,
        "intermediate_locality_optimum": inter["verdict"],
        "intermediate_locality_detail": inter,
        **theorem_iii_evidence(runs),
        "predictions": {
            "item1_exact_statements_hold": bool(sum(exact.values()) + norm_bad == 0),
            "item1_theorem_iii_within_delta": bool(rate <= delta) if n3 else False,
            "item2_gap_grows_with_diameter": bool(gap["rho"] > 0 and gap["p"] < 0.05),
            "item2_floor_grows_with_entropy": bool(floor["rho"] > 0 and floor["p"] < 0.05),
            "item3_local_samplers_higher_entropy": bool(
                coupling["rho"] < 0 and coupling["p"] < 0.05
            ),
            "item4_intermediate_locality_optimum": inter["verdict"],
            "item4_intermediate_locality_optimum_split": split["verdict"],
        },
    }
