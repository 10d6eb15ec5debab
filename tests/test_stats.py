"""locent.stats against scipy.stats and statsmodels, its degenerate cases and its seeds."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

from locent import stats as st

ALTS = ("two-sided", "greater", "less")


@pytest.fixture
def pairs():
    """Four paired samples of 30 queries: no shift, +0.05, −0.1, +0.01 (sd 0.08)."""
    rng = np.random.default_rng(7)
    a = rng.uniform(0.2, 0.9, size=(4, 30))
    b = a - rng.normal([[0.0], [0.05], [-0.1], [0.01]], 0.08, size=(4, 30))
    return a, b


# ------------------------------------------------------------------------------------------------
# paired t, non-inferiority, TOST


@pytest.mark.parametrize("alternative", ALTS)
def test_paired_t_matches_scipy(pairs, alternative):
    a, b = pairs
    for i in range(4):
        res = st.paired_t(a[i], b[i], alternative=alternative)
        ref = sps.ttest_rel(a[i], b[i], alternative=alternative)
        assert res.statistic == ref.statistic and res.p == ref.pvalue  # scipy's, to the bit
        ci = sps.ttest_rel(a[i], b[i]).confidence_interval(0.95)
        assert res.ci == pytest.approx((ci.low, ci.high), rel=1e-12)
        assert res.effect == pytest.approx(np.mean(a[i] - b[i])) and res.n == 30
    assert st.paired_t(a[2], b[2]).p < 1e-4  # a real shift of 0.1 is found


def test_paired_t_shift_and_noninferiority_match_scipy(pairs):
    a, b = pairs
    for i in range(4):
        d = a[i] - b[i]
        for shift in (-0.05, 0.02):
            res = st.paired_t(a[i], b[i], alternative="greater", shift=shift)
            ref = sps.ttest_1samp(d, shift, alternative="greater").pvalue
            assert res.p == pytest.approx(ref, rel=1e-9)
        ni = st.noninferiority(a[i], b[i], 0.02)
        assert ni.method == "non-inferiority"
        assert ni.p == sps.ttest_rel(a[i] + 0.02, b[i], alternative="greater").pvalue
    # shifted down by 0.1 (pairs[2]): not non-inferior at 0.02, non-inferior at 0.2
    assert st.noninferiority(a[2], b[2], 0.02).p > 0.5
    assert st.noninferiority(a[2], b[2], 0.2).p < 1e-4


def test_tost_matches_statsmodels(pairs):
    a, b = pairs
    for i in range(4):
        for margin in (0.02, 0.05, 0.2):
            res = st.tost(a[i], b[i], margin)
            ref_p, (_, ref_lo, _), (_, ref_up, _) = ttost_paired(a[i], b[i], -margin, margin)
            assert res.p == pytest.approx(ref_p, rel=1e-10)
            assert res.p_lower == pytest.approx(ref_lo, rel=1e-10)
            assert res.p_upper == pytest.approx(ref_up, rel=1e-10)
            # equivalence at α = 0.05 ⇔ the 90% interval lies inside ±margin
            assert (res.p < 0.05) == (-margin < res.ci.low and res.ci.high < margin)
    near = a[0] + 1e-3 * np.sin(np.arange(30))
    assert st.tost(a[0], near, 0.02).p < 0.05
    assert st.tost(a[2], b[2], 0.02).p > 0.5


def test_all_equal_differences_policy():
    a = np.linspace(0.1, 0.9, 12)
    # identical systems: t = 0/0 → p = 1 whatever the alternative, sign-flip agrees
    for alt in ALTS:
        assert st.paired_t(a, a, alternative=alt).p == 1.0
        assert st.randomisation_test(a, a, alternative=alt).p == 1.0
    # every difference +0.01: t = +∞ → p 0 for "greater" and two-sided, 1 for "less"
    b = a - 0.01
    assert st.paired_t(a, b, alternative="greater").p == 0.0
    assert st.paired_t(a, b).p == 0.0
    assert st.paired_t(a, b, alternative="less").p == 1.0
    assert st.paired_t(a, b, alternative="greater").statistic == np.inf
    # at the null after the shift (c = s): p = 1; inside the margin: equivalent, non-inferior
    assert st.paired_t(a, b, alternative="greater", shift=0.01).p == 1.0
    assert st.tost(a, b, 0.02).p == 0.0 and st.tost(a, b, 0.005).p == 1.0
    assert st.noninferiority(a, a, 0.02).p == 0.0
    # a real (tiny) spread is data, not a degenerate sample: scipy's t applies
    c = a + 1e-9 * np.arange(12)
    assert (
        st.paired_t(c, a, alternative="greater").p
        == sps.ttest_rel(c, a, alternative="greater").pvalue
    )


def test_bad_input_raises_naming_the_argument():
    with pytest.raises(ValueError, match="same shape"):
        st.paired_t(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="at least 2 pairs; got 1"):
        st.paired_t([1.0], [2.0])
    with pytest.raises(ValueError, match="at least 2 pairs; got 0"):
        st.randomisation_test([], [])
    with pytest.raises(ValueError, match=r"b\[2\] is nan"):
        st.tost(np.ones(4), [1.0, 2.0, np.nan, 1.0], 0.1)
    with pytest.raises(ValueError, match="margin"):
        st.tost(np.ones(3), np.ones(3), 0.0)
    with pytest.raises(ValueError, match="alternative"):
        st.paired_t(np.ones(3), np.zeros(3), alternative="bigger")


# ------------------------------------------------------------------------------------------------
# sign-flip randomisation


@pytest.mark.parametrize("alternative", ALTS)
def test_randomisation_exact_matches_scipy_permutation_test(alternative):
    rng = np.random.default_rng(3)
    a = rng.normal(size=10)
    b = a - rng.normal(0.4, 0.6, size=10)
    res = st.randomisation_test(a, b, alternative=alternative, n_resamples=2**10)
    ref = sps.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        alternative=alternative,
        n_resamples=np.inf,
    )
    assert res.p == pytest.approx(ref.pvalue, abs=1e-12)
    assert res.statistic == pytest.approx(np.mean(a - b))


def test_randomisation_monte_carlo_close_to_t_and_seeded(pairs):
    a, b = pairs
    for i in range(4):
        p = st.randomisation_test(a[i], b[i], n_resamples=20_000, seed=1).p
        assert p == pytest.approx(st.paired_t(a[i], b[i]).p, abs=0.03)
        assert p == st.randomisation_test(a[i], b[i], n_resamples=20_000, seed=1).p
    p0 = st.randomisation_test(a[0], b[0], n_resamples=2000, seed=0).p
    assert p0 != st.randomisation_test(a[0], b[0], n_resamples=2000, seed=5).p


# ------------------------------------------------------------------------------------------------
# Holm, Clopper–Pearson, binomial


def test_holm_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04])
    np.testing.assert_allclose(st.holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
    rows = np.random.default_rng(0).uniform(0, 0.2, size=(5, 7))
    for row, adjusted in zip(rows, st.holm(rows)):  # one family per row
        np.testing.assert_allclose(adjusted, multipletests(row, method="holm")[1], rtol=1e-12)
    assert st.holm([]).size == 0
    with pytest.raises(ValueError, match="p-values"):
        st.holm([0.1, 1.5])
    with pytest.raises(ValueError, match="p-values"):
        st.holm([0.1, np.nan])


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 50), (50, 50), (1, 1), (17, 200)])
def test_clopper_pearson_and_binomial_match_scipy(k, n):
    ci = st.clopper_pearson(k, n)
    ref = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert (ci.low, ci.high) == (ref.low, ref.high)
    lo, hi = st.clopper_pearson(k, n, 0.9)  # unpacks; the beta quantiles of the definition
    assert lo == pytest.approx(sps.beta.ppf(0.05, k, n - k + 1) if k else 0.0, abs=1e-12)
    assert hi == pytest.approx(sps.beta.ppf(0.95, k + 1, n - k) if k < n else 1.0, abs=1e-12)
    res = st.binomial_test(k, n, 0.05)
    assert res.p == sps.binomtest(k, n, 0.05, alternative="greater").pvalue
    assert res.effect == k / n and res.ci == ci and res.n == n
    assert st.binomial_exceeds_p(k, n, 0.05) == res.p


def test_proportions_reject_no_trials():
    with pytest.raises(ValueError, match="number of trials"):
        st.clopper_pearson(0, 0)
    with pytest.raises(ValueError, match="number of events"):
        st.binomial_test(5, 3, 0.1)


# ------------------------------------------------------------------------------------------------
# bootstrap


def _mean(v):
    return v.mean(-1)


def test_bootstrap_percentile_interval_and_seed():
    x = np.random.default_rng(0).normal(1.0, 2.0, size=400)
    ci = st.bootstrap_ci(_mean, x, n_resamples=4000, seed=3)
    t_ci = st.mean_ci(x, 0.95)
    assert ci.low == pytest.approx(t_ci.low, abs=0.03) and ci.high == pytest.approx(
        t_ci.high, abs=0.03
    )
    assert ci == st.bootstrap_ci(_mean, x, n_resamples=4000, seed=3)
    assert ci != st.bootstrap_ci(_mean, x, n_resamples=4000, seed=4)
    # by hand: the same draws, the percentile definition
    idx = np.random.default_rng(3).integers(0, x.size, size=(4000, x.size))
    assert ci == tuple(np.quantile(x[idx].mean(1), [0.025, 0.975]))
    # a Generator continues its stream: two intervals from one stream ≠ twice the first
    rng = np.random.default_rng(3)
    first, second = (st.bootstrap_ci(_mean, x, n_resamples=500, seed=rng) for _ in range(2))
    assert first == st.bootstrap_ci(_mean, x, n_resamples=500, seed=3) and second != first


def test_bootstrap_paired_samples_share_indices():
    rng = np.random.default_rng(1)
    a = rng.normal(size=50)
    b = a + 0.1  # a − b is the constant −0.1 in every resample only if rows stay paired
    ci = st.bootstrap_ci(lambda u, v: (u - v).mean(-1), a, b, n_resamples=200)
    assert ci == pytest.approx((-0.1, -0.1))


def test_cluster_bootstrap_resamples_whole_units():
    rng = np.random.default_rng(2)
    m, size = 12, 25
    unit_effect = rng.normal(0, 1.0, m)
    clusters = np.repeat(np.arange(m), size)
    x = unit_effect[clusters] + rng.normal(0, 0.1, m * size)
    by_unit = x.reshape(m, size).mean(1)
    cluster_ci = st.bootstrap_ci(_mean, x, clusters=clusters, seed=0)
    # equal sizes: resampling whole units = resampling the unit means, draw for draw
    assert cluster_ci == pytest.approx(st.bootstrap_ci(_mean, by_unit, seed=0), rel=1e-12)
    # the row bootstrap treats 300 correlated rows as independent: far too narrow
    row_ci = st.bootstrap_ci(_mean, x, seed=0)
    assert (row_ci.high - row_ci.low) < 0.3 * (cluster_ci.high - cluster_ci.low)
    # unequal sizes (one replicate at a time): duplicating every row leaves the interval
    shuffled = rng.permutation(np.repeat(np.arange(m), rng.integers(3, 9, m)))
    y = unit_effect[shuffled] + rng.normal(0, 0.1, shuffled.size)
    once = st.bootstrap_ci(_mean, y, clusters=shuffled, n_resamples=300, seed=1)
    twice = st.bootstrap_ci(
        _mean, np.repeat(y, 2), clusters=np.repeat(shuffled, 2), n_resamples=300, seed=1
    )
    assert twice == pytest.approx(once, rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        st.bootstrap_ci(_mean, x, clusters=np.zeros(x.size))
    with pytest.raises(ValueError, match="one label per row"):
        st.bootstrap_ci(_mean, x, clusters=clusters[:-1])
    with pytest.raises(ValueError, match="undefined"):
        st.bootstrap_ci(lambda v: np.where(v.min(-1) < 0, np.nan, 1.0), x)


# ------------------------------------------------------------------------------------------------
# Spearman


def _spearman_stat(x, y, axis=-1):
    return st.rank_correlation(x, y)


@pytest.mark.parametrize("alternative", ALTS)
def test_spearman_exact_permutation_matches_scipy(alternative):
    rng = np.random.default_rng(4)
    x = rng.normal(size=7)
    y = np.round(x + rng.normal(size=7))  # with ties
    res = st.spearman(x, y, alternative=alternative)  # 7! = 5040 ≤ 10 000: exact
    assert res.statistic == sps.spearmanr(x, y).statistic
    # reference: scipy's ρ for each of the 7! orderings of y, in a plain loop
    null = np.array([sps.spearmanr(x, perm).statistic for perm in itertools.permutations(y)])
    rho = res.statistic
    ref = {
        "less": np.mean(null <= rho + 1e-12),
        "greater": np.mean(null >= rho - 1e-12),
        "two-sided": np.mean(np.abs(null) >= abs(rho) - 1e-12),
    }[alternative]
    assert res.p == pytest.approx(ref, abs=1e-12)
    rho, p = st.spearman_exact([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], "less")
    assert rho == pytest.approx(-1.0) and p == pytest.approx(1 / 120)


def test_spearman_monte_carlo_close_to_scipy_and_seeded():
    rng = np.random.default_rng(5)
    x = rng.normal(size=40)
    y = 0.3 * x + rng.normal(size=40)
    res = st.spearman(x, y, alternative="greater", n_resamples=20_000, seed=2, n_boot=1000)
    assert res.p == pytest.approx(sps.spearmanr(x, y, alternative="greater").pvalue, abs=0.01)
    assert res == st.spearman(x, y, alternative="greater", n_resamples=20_000, seed=2, n_boot=1000)
    assert res.ci.low < res.effect < res.ci.high
    boot = sps.bootstrap((x, y), _spearman_stat, paired=True, vectorized=True, method="percentile")
    assert res.ci.low == pytest.approx(boot.confidence_interval.low, abs=0.06)


def test_duplicated_rows_leave_the_unit_level_p_unchanged():
    rng = np.random.default_rng(6)
    units = np.arange(8)  # e.g. sampler × seed; x = Δ̂_Q, constant within a unit
    x_unit = rng.normal(size=8)
    y_unit = 0.5 * x_unit + rng.normal(size=8)
    reps = rng.integers(1, 6, size=8)  # each unit repeated over τ strata and losses
    rows = np.repeat(units, reps)
    x = x_unit[rows]
    y = y_unit[rows] + rng.normal(0, 0.01, rows.size)
    once = st.spearman(x_unit, y_unit, alternative="greater", n_resamples=50_000)
    per_unit = st.spearman(x, y, units=rows, alternative="greater", n_resamples=50_000)
    doubled = st.spearman(
        np.r_[x, x], np.r_[y, y], units=np.r_[rows, rows], alternative="greater", n_resamples=50_000
    )
    assert per_unit.n == doubled.n == 8
    assert doubled.p == per_unit.p and doubled.effect == per_unit.effect
    assert per_unit.effect == pytest.approx(once.effect, abs=0.1)
    # rows as if independent: the same evidence looks far stronger (pseudo-replication)
    naive = st.spearman(np.r_[x, x], np.r_[y, y], alternative="greater")
    assert naive.n == 2 * rows.size and naive.p < per_unit.p / 5


def test_spearman_degenerate_inputs():
    with pytest.raises(ValueError, match="at least 3 points"):
        st.spearman([1.0, 2.0], [2.0, 1.0])
    with pytest.raises(ValueError, match="at least 3 points"):
        st.spearman([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.0, 3.0], units=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="y is constant"):
        st.spearman([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=r"x\[1\] is nan"):
        st.spearman([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])


def test_stratified_spearman_matches_pandas_reference():
    rng = np.random.default_rng(8)
    n = 120
    frame = pd.DataFrame({"s": rng.integers(0, 4, n), "x": rng.normal(size=n)})
    frame["y"] = 10.0 * frame.s - 1.0 * frame.x + rng.normal(size=n)  # offsets per stratum
    res = st.stratified_spearman(frame.x, frame.y, frame.s, alternative="less", n_boot=400)
    rx = frame.groupby("s")["x"].rank(pct=True)
    ry = frame.groupby("s")["y"].rank(pct=True)
    ref = sps.spearmanr(rx, ry, alternative="less")
    assert res.effect == ref.statistic and res.p == ref.pvalue and res.n == n
    assert res.ci.low < res.effect < res.ci.high < 0
    # pooling the strata would hide the negative within-stratum association
    assert sps.spearmanr(frame.x, frame.y).statistic > res.effect + 0.3


# ------------------------------------------------------------------------------------------------
# power


@pytest.mark.parametrize("alternative", ["greater", "two-sided"])
def test_detectable_effect_matches_noncentral_t(alternative):
    d = np.random.default_rng(9).normal(0.0, 0.05, size=25)
    res = st.detectable_effect(d, alternative=alternative, alpha=0.05, power=0.8, seed=0)
    ref = TTestPower().solve_power(
        nobs=25,
        alpha=0.05,
        power=0.8,
        alternative="larger" if alternative == "greater" else alternative,
    )
    assert res.effect == pytest.approx(ref * d.std(ddof=1), rel=0.04)
    assert res.achieved >= 0.8 and res.n == 25
    assert res == st.detectable_effect(d, alternative=alternative, seed=0)
    assert "power" in repr(res) and "paired t" in repr(res)


def test_detectable_effect_sign_flip_and_degenerate():
    d = np.random.default_rng(10).normal(0.0, 1.0, size=20)
    t = st.detectable_effect(d, seed=1)
    flip = st.detectable_effect(d, test="sign-flip", n_sim=400, n_resamples=499, seed=1)
    assert flip.effect == pytest.approx(t.effect, rel=0.15)  # nearly as efficient as t
    less = st.detectable_effect(d, alternative="less", seed=1)
    assert less.effect == pytest.approx(t.effect, rel=0.05)  # an effect size, not signed
    assert st.detectable_effect(np.full(10, 0.3)).effect == 0.0  # no noise: any shift shows
    more = st.detectable_effect(np.r_[d, d, d, d], seed=1)  # 4× the units: about half
    assert more.effect == pytest.approx(t.effect / 2, rel=0.15)
    with pytest.raises(ValueError, match="test must be"):
        st.detectable_effect(d, test="wilcoxon")
    with pytest.raises(ValueError, match="never reaches power"):
        st.detectable_effect(d[:4], test="sign-flip")  # 2⁴ orderings: p ≥ 1/16 > 0.05


def test_reprs_are_readable(pairs):
    a, b = pairs
    text = repr(st.paired_t(a[1], b[1], alternative="greater"))
    assert text.startswith("TestResult(paired t, greater: effect=") and "p=" in text
    assert "n=30" in text
    assert repr(st.tost(a[0], b[0], 0.05)).startswith("EquivalenceResult(TOST ±0.05")
    assert repr(st.clopper_pearson(1, 4)).startswith("Interval(low=")
    flip = repr(st.randomisation_test(a[0], b[0]))
    assert flip.startswith("TestResult(sign-flip, two-sided: effect=") and "CI" not in flip


def test_mean_ci_is_scipys_t_interval():
    v = np.random.default_rng(11).normal(0.4, 0.1, size=9)
    ref = sps.t.interval(0.9, 8, loc=v.mean(), scale=sps.sem(v))
    assert st.mean_ci(v, 0.9) == (ref[0], ref[1])
    assert st.mean_ci(np.full(4, 0.3), 0.95) == (0.3, 0.3)
    with pytest.raises(ValueError, match="at least 2 values"):
        st.mean_ci([0.5], 0.95)


def test_stats_imports_none_of_the_parts():
    """The root's statistics sit below every part: importing them loads no part."""
    import subprocess
    import sys

    code = (
        "import sys, locent.stats; "
        "print([m for m in sys.modules if m.split('.')[:2][-1] in "
        "('theory', 'simulate', 'realdata', 'figures', 'paper_checks')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
