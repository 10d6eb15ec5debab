"""Summary statistics: stratified Spearman, Clopper-Pearson, intermediate-locality detection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.simulate.analysis import clopper_pearson, intermediate_locality, stratified_spearman
from scipy import stats


def _strata_frame(sign: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s, offset in enumerate((0.0, 100.0, -50.0)):  # strata with very different levels
        x = rng.uniform(0, 1, 40)
        rows.append(pd.DataFrame({"x": x, "y": offset + sign * x, "s": s}))
    return pd.concat(rows, ignore_index=True)


def test_stratified_spearman_within_strata():
    up = stratified_spearman(_strata_frame(+1), "x", "y", ["s"], alternative="greater", n_boot=200)
    assert up["rho"] == pytest.approx(1.0)
    assert up["p"] < 1e-10 and up["ci"][0] > 0.99 and up["strata"] == 3
    down = stratified_spearman(
        _strata_frame(-1), "x", "y", ["s"], alternative="greater", n_boot=200
    )
    assert down["rho"] == pytest.approx(-1.0) and down["p"] > 0.99
    # pooled (unstratified) data would be dominated by the offsets; stratification removes them
    pooled = stats.spearmanr(_strata_frame(-1).x, _strata_frame(-1).y).statistic
    assert abs(pooled) < 0.5


def test_stratified_spearman_noise_ci_covers_zero():
    rng = np.random.default_rng(3)
    d = pd.DataFrame(
        {"x": rng.normal(size=300), "y": rng.normal(size=300), "s": rng.integers(0, 3, 300)}
    )
    r = stratified_spearman(d, "x", "y", ["s"], alternative="greater", n_boot=500, seed=1)
    assert r["ci"][0] < 0 < r["ci"][1]


def test_clopper_pearson_matches_beta_quantiles():
    lo, hi = clopper_pearson(3, 50)
    assert lo == pytest.approx(stats.beta.ppf(0.025, 3, 48))
    assert hi == pytest.approx(stats.beta.ppf(0.975, 4, 47))
    assert clopper_pearson(0, 10)[0] == 0.0


def _locality_table(curve: dict, seeds: int = 6, noise: float = 0.002) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for knob, level in curve.items():
        for s in range(seeds):
            family = "random" if knob == 1000 else "knn"
            rows.append(
                dict(
                    sampler_family=family,
                    knob_value=np.nan if family == "random" else float(knob),
                    tau_unit=0.1,
                    loss="soft_ranknet",
                    n=32,
                    seed=s,
                    misordering_mu=level + noise * rng.normal(),
                )
            )
    return pd.DataFrame(rows)


def test_intermediate_locality_detected_and_rejected():
    u_shape = _locality_table({8: 0.30, 64: 0.20, 256: 0.25, 1000: 0.31})
    res = intermediate_locality(u_shape, "knn", 1000)
    assert res["verdict"] is True and res["cells"][0]["argmin_knob"] == 64
    monotone = _locality_table({8: 0.30, 64: 0.28, 256: 0.25, 1000: 0.20})
    res = intermediate_locality(monotone, "knn", 1000)
    assert res["verdict"] is False and res["cells"][0]["argmin_knob"] == 1000
