"""From the tidy sweep table to the verdict numbers of THEORY.md §7 items 1–4 (summary.json).

- **Exact statements** (item 1): the sum of all Lemma A / A(MarginMSE) / B / C / Corollary 2.1
  violation counts; expected 0.
Rows flagged ``duplicate_run`` (a τ-free loss at a second τ: the same trained student) count in
the exact checks (their τ-dependent checks differ) but not in rates or correlations.

- **Theorem 2.1 (iii)** (item 1): violation rate over runs (configuration × seed) with a
  Clopper–Pearson interval (``scipy.stats.binomtest(...).proportion_ci('exact')``); "within δ"
  means the rate ≤ δ. Tightness = (bound − R̂)/(R − R̂), median over runs with a positive gap.
- **Stratified Spearman** (items 2–3): "at fixed τ" / "at fixed sampler" is implemented by
  ranking x and y *within* each stratum (percentile ranks) and correlating the pooled ranks with
  ``scipy.stats.spearmanr`` (one-sided p-value in the predicted direction); the CI is a
  percentile bootstrap resampling rows (with their within-stratum ranks) within strata.

  - gap vs diameter: y = estimation gap R^ν(f̂) − R̂(f̂) (the quantity Theorem 2.1 bounds),
    x = Δ̂_Q(0.99) of the fresh ν sample; strata τ × n × loss; predicted > 0.
  - floor vs entropy: y = misordering against the teacher on ν at the largest n (closest to the
    floor), x = pairwise H(g); strata sampler × loss × n; losses that use τ only (the MarginMSE,
    LCE and hard-RankNet students do not depend on τ, so H(g) cannot move them); predicted > 0.
  - entropy vs diameter (Lemma B coupling): one point per sampler × τ × seed, x = Δ̂_Q(0.99),
    y = H(g); strata τ; predicted < 0 (more local → higher entropy).
- **Intermediate locality** (item 4): along the locality family (k-NN with k increasing, then
  random as k = N), for each τ × loss × n the mean over seeds of the misordering on the target
  measure μ; an optimum is *intermediate* when its knob is not an end of the range and it is
  below both ends with one-sided paired t-tests over seeds (p < 0.05 each). The verdict is true
  when that holds for more than half of the τ × loss × n cells.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from locent import stats as st

EXACT_COLUMNS = (
    "lemma_a_violations",
    "lemma_a_mm_violations",
    "lemma_b_violations",
    "lemma_c_violations",
    "corollary_violations",
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
    """:func:`locent.stats.stratified_spearman` of columns ``x``, ``y`` of ``df`` within the
    ``strata`` columns, as the summary's dict (rho, ci, p, n, strata). Rows with a missing value
    are left out (their count is ``n``); fewer than 3 rows, or a column that is constant, give
    NaN numbers: the prediction then reads as not shown."""
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


def intermediate_locality(df: pd.DataFrame, family: str, n_items: int) -> dict:
    """Item 4 along the ``family`` knob (random appended as k = N). See module docstring."""
    d = df[(df.sampler_family == family) | (df.sampler_family == "random")].copy()
    d["locality_knob"] = np.where(d.sampler_family == "random", float(n_items), d.knob_value)
    knobs = sorted(d.locality_knob.unique())
    cells = []
    if len(knobs) < 3:
        return {"verdict": False, "cells": [], "reason": f"only {len(knobs)} knob values"}
    for key, cell in d.groupby(["tau_unit", "loss", "n"]):
        piv = cell.pivot_table(index="seed", columns="locality_knob", values="misordering_mu")
        piv = piv[knobs]
        means = piv.mean()
        best = float(means.idxmin())
        interior = best not in (knobs[0], knobs[-1])
        p_low = p_high = math.nan
        if interior and len(piv) >= 2:
            p_low = st.paired_loss_p(piv[best], piv[knobs[0]])
            p_high = st.paired_loss_p(piv[best], piv[knobs[-1]])
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


def summarise(df: pd.DataFrame, *, delta: float, family: str, n_items: int, seed: int = 0) -> dict:
    """The summary dict written to ``summary.json`` (keys of docs/CONTRACTS.md)."""
    from locent.theory import LOSSES, is_vacuous

    exact = {c: int(df[c].sum()) for c in EXACT_COLUMNS}
    checks = {c: int(df[c].sum()) for c in CHECK_COLUMNS}
    norm_bad = int((df.max_norm_ratio > 1.0 + 1e-12).sum())
    runs = df[~df.duplicate_run]  # each trained student once (see sweep.run_chunk)
    t3 = runs[np.isfinite(runs.bound_iii)]
    k3, n3 = int(t3.bound_iii_violated.sum()), int(len(t3))
    # on μ only runs with κ_Q < ∞ have a finite bound (κ = ∞: nothing transfers, not a check)
    finite_mu = t3[np.isfinite(t3.bound_iii_mu)]
    k3mu, n3mu = int(finite_mu.bound_iii_mu_violated.sum()), int(len(finite_mu))
    rate = k3 / n3 if n3 else math.nan
    tight = t3.tightness_iii.dropna()

    gap = stratified_spearman(
        runs,
        "delta_hat_Q_99",
        "estimation_gap",
        ["tau_unit", "n", "loss"],
        alternative="greater",
        seed=seed,
    )
    uses_tau = [name for name, spec in LOSSES.items() if spec.uses_tau]
    big_n = df[(df.n == df.n.max()) & df.loss.isin(uses_tau)]
    floor = stratified_spearman(
        big_n,
        "entropy_pairwise",
        "misordering_nu",
        ["sampler", "loss", "n"],
        alternative="greater",
        seed=seed + 1,
    )
    per_sampler = df.drop_duplicates(["sampler", "tau_unit", "seed"])
    coupling = stratified_spearman(
        per_sampler,
        "delta_hat_Q_99",
        "entropy_pairwise",
        ["tau_unit"],
        alternative="less",
        seed=seed + 2,
    )
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
        "spearman_floor_vs_entropy": floor["rho"],
        "spearman_floor_vs_entropy_ci": floor["ci"],
        "spearman_floor_vs_entropy_p": floor["p"],
        "spearman_floor_vs_entropy_n": floor["n"],
        "spearman_entropy_vs_diameter": coupling["rho"],
        "spearman_entropy_vs_diameter_ci": coupling["ci"],
        "spearman_entropy_vs_diameter_p": coupling["p"],
        "spearman_entropy_vs_diameter_n": coupling["n"],
        "intermediate_locality_optimum": inter["verdict"],
        "intermediate_locality_detail": inter,
        "predictions": {
            "item1_exact_statements_hold": bool(sum(exact.values()) + norm_bad == 0),
            "item1_theorem_iii_within_delta": bool(rate <= delta) if n3 else False,
            "item2_gap_grows_with_diameter": bool(gap["rho"] > 0 and gap["p"] < 0.05),
            "item2_floor_grows_with_entropy": bool(floor["rho"] > 0 and floor["p"] < 0.05),
            "item3_local_samplers_higher_entropy": bool(
                coupling["rho"] < 0 and coupling["p"] < 0.05
            ),
            "item4_intermediate_locality_optimum": inter["verdict"],
        },
    }
