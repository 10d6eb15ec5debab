"""realdata.stats against scipy.stats and statsmodels on known inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from locent.realdata import stats
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired


@pytest.fixture
def paired():
    rng = np.random.default_rng(7)
    a = rng.uniform(0.2, 0.9, size=(4, 30))
    b = a + rng.normal([[0.0], [0.05], [-0.1], [0.01]], 0.08, size=(4, 30))
    return a, b


def test_paired_ttest_matches_scipy(paired):
    a, b = paired
    t, p = stats.paired_ttest(a, b)
    ref = sps.ttest_rel(a, b, axis=-1)
    np.testing.assert_allclose(t, ref.statistic, rtol=1e-10)
    np.testing.assert_allclose(p, ref.pvalue, rtol=1e-10)
    assert p[2] < 1e-4  # a real shift of 0.1 is detected


def test_randomisation_exact_matches_scipy_permutation_test():
    rng = np.random.default_rng(3)
    a = rng.normal(size=10)
    b = a + rng.normal(0.4, 0.6, size=10)
    p = stats.randomisation_test(a, b, n_resamples=2**10)
    ref = sps.permutation_test(
        (a, b),
        lambda x, y, axis: np.abs(np.mean(x - y, axis=axis)),
        permutation_type="samples",
        alternative="greater",
        n_resamples=np.inf,
    )
    assert p == pytest.approx(ref.pvalue, abs=1e-12)


def test_randomisation_monte_carlo_close_to_t_test(paired):
    a, b = paired
    p = stats.randomisation_test(a, b, n_resamples=20_000, seed=1)
    _, p_t = stats.paired_ttest(a, b)
    # large-sample agreement of the two paired tests; and reproducible by seed
    np.testing.assert_allclose(p, p_t, atol=0.03)
    np.testing.assert_array_equal(p, stats.randomisation_test(a, b, n_resamples=20_000, seed=1))


def test_holm_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04])
    ours = stats.holm(p)
    ref = multipletests(p, method="holm")[1]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    with pytest.raises(ValueError, match="p-values"):
        stats.holm([0.1, 1.5])


def test_tost_matches_statsmodels(paired):
    a, b = paired
    for i in range(a.shape[0]):
        for margin in (0.02, 0.05, 0.2):
            p, p_lo, p_up = stats.tost_paired(a[i], b[i], margin)
            ref_p, (_, ref_lo, _), (_, ref_up, _) = ttost_paired(a[i], b[i], -margin, margin)
            assert p == pytest.approx(ref_p, rel=1e-10)
            assert p_lo == pytest.approx(ref_lo, rel=1e-10)
            assert p_up == pytest.approx(ref_up, rel=1e-10)
    # equal systems are equivalent within a sensible margin; shifted ones are not
    assert stats.tost_paired(a[0], a[0] + 1e-3 * np.sin(np.arange(30)), 0.02)[0] < 0.05
    assert stats.tost_paired(a[2], b[2], 0.02)[0] > 0.5


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="same shape"):
        stats.paired_ttest(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="margin"):
        stats.tost_paired(np.ones(3), np.ones(3), 0.0)
    with pytest.raises(ValueError, match="NaN"):
        stats.paired_ttest(np.array([1.0, np.nan]), np.ones(2))


def test_seed_summary_and_comparisons():
    rng = np.random.default_rng(0)
    rows = []
    for sampler, shift in (("bm25", 0.0), ("random", 0.0), ("teacher", 0.15)):
        for seed in range(3):
            for q in range(25):
                base = 0.3 + 0.02 * q
                rows.append(("lce", sampler, seed, f"q{q}", base + shift + rng.normal(0, 0.01)))
    df = pd.DataFrame(rows, columns=["loss", "sampler", "seed", "query_id", "value"])
    summary = stats.seed_summary(
        df.groupby(["loss", "sampler", "seed"], as_index=False)["value"].mean(),
        ["loss", "sampler"],
        "value",
    )
    assert list(summary["n_seeds"]) == [3, 3, 3]
    assert (summary["std"] > 0).all()
    per_query = df.groupby(["loss", "sampler", "query_id"], as_index=False)["value"].mean()
    comp = stats.paired_comparisons(per_query, "bm25", ["loss"], "sampler", margin=0.02)
    by = comp.set_index("system")
    assert by.loc["teacher", "significant"] and not by.loc["teacher", "equivalent"]
    assert by.loc["random", "equivalent"] and not by.loc["random", "significant"]
    assert (by["p_t_holm"] >= by["p_t"]).all()
