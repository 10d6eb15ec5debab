"""Item 2's real-data parts: the dependence sweep's fitted slopes as test outcomes.

``realdata/dependence/<design>/fit.csv`` (:mod:`locent.realdata.dependence.fit`) holds, per fit, the
OLS slope with its interval over knob levels (a t interval on level means at full n; CR1
cluster-robust with the level as cluster on the n axis) and one-sided p-values. The outcome is
stated on the standardised slope (slope · sd(x)/sd(y)), the unit of the simulation's part, so one
effect of interest (``CheckParams.min_effect``) serves both.

Which fits judge item 2: the prediction is "at a fixed teacher the gap grows with Δ_Q", so the
locality part is the fit at **full n** across the locality levels (``gap_on_locality_full_n``).
The fit on Δ̂_Q/√n over the n axis (``gap_on_locality``, Theorem 2.1 (iii)'s shape) is not used
here: on real samplers Δ̂_Q moves by a few percent while n moves by 4×, so its slope is carried by
n and could support the prediction with a gap that falls with Δ̂_Q. It stays in ``fit.md``.
"""

from __future__ import annotations

import math

import pandas as pd
from locent.paper_checks.items.decision import TestOutcome
from locent.paper_checks.items.simulation import detectable_from_ci
from locent.paper_checks.verdicts import CheckParams

#: the fits that carry a prediction of item 2, and their labels
ITEM2_FITS = {
    "gap_on_locality_full_n": "real data: estimation gap on Δ̂_Q at full n (std. slope, knob "
    "levels)",
    "floor_on_entropy": "real data: misordering floor on H(g) at the fixed sampler (std. slope)",
}


def fit_outcomes(fit: pd.DataFrame, params: CheckParams) -> dict[str, TestOutcome]:
    """One :class:`TestOutcome` per fit of :data:`ITEM2_FITS` present in ``fit`` (a fit that
    could not be made, e.g. fewer than 3 levels learned, is INCONCLUSIVE with NaN numbers)."""
    out = {}
    for name, label in ITEM2_FITS.items():
        rows = fit[fit["fit"] == name]
        if rows.empty:
            continue
        r = rows.iloc[0]
        scale = float(r["std_scale"])
        ci = (float(r["ci_low"]) * scale, float(r["ci_high"]) * scale)
        finite = math.isfinite(scale)
        out[f"real_{name}"] = TestOutcome(
            label=label,
            effect=float(r["slope_std"]),
            ci=ci if finite else (math.nan, math.nan),
            p_support=float(r["p_support"]),
            p_against=float(r["p_against"]),
            detectable=detectable_from_ci(ci, params.alpha, params.power) if finite else math.nan,
            needed=float(params.min_effect),
            alpha=params.alpha,
            units=int(r["n_levels"]),
            unit_name=f"knob levels ({int(r['n_cells'])} cells that learned; level = unit)",
        )
    return out
