"""The predictions of THEORY.md §7 (items 1–8) as checks with computed verdicts.

Each check is a small object with **declared parameters** (:class:`CheckParams`: α, margin,
resamples, seed, minimal effect of interest, power), ir_measures style: its ``criterion`` text is
rendered from those parameters and the same parameters are passed to its pure ``judge`` function
(:mod:`locent.paper_checks.items`), so text and decision rule cannot disagree;
``repr(check)`` reads ``diameter_comparable(α=0.05, margin=0.05, resamples=2000, seed=0, ...)``.
A loader turns result files under ``--out`` into plain data (a missing file raises
:class:`MissingEvidence` → INCONCLUSIVE); tests feed contradicting evidence directly.

Items 1, 2 and 4 read the ``regime`` simulation (n axis 8–256, ``simulate_regime`` stage of the
full run) when it is present and the main simulation otherwise. :func:`run_checks` is the
``checks`` stage of ``locent checks`` and ``locent run``.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from locent.figures.tables import training_rows
from locent.paper_checks.items.common import (
    Judgement,
    load_json,
    load_table,
    maybe,
)
from locent.paper_checks.items.dependence import fit_outcomes
from locent.paper_checks.items.diameter import DIAMETER_PARAMS, judge_diameter_comparable
from locent.paper_checks.items.entropy_cuts import (
    ENTROPY_CUT_PARAMS,
    judge_entropy_cuts,
    subset_sizes,
)
from locent.paper_checks.items.exact import EXACT_PARAMS, judge_exact_statements
from locent.paper_checks.items.learned import learned_effectiveness
from locent.paper_checks.items.sampler_gain import SAMPLER_GAIN_PARAMS, judge_sampler_gain
from locent.paper_checks.items.simulation import (
    SIMULATION_PARAMS,
    judge_coupling,
    judge_gap_and_floor,
    judge_intermediate_optimum,
)
from locent.paper_checks.items.vacuity import (
    VACUITY_PARAMS,
    form_iii_flags_grid,
    judge_vacuity,
)
from locent.paper_checks.stability import (
    STABILITY_PARAMS,
    StabilityParams,
    samplers_from_per_query,
    stability,
)
from locent.paper_checks.verdicts import (
    CheckParams,
    CheckResult,
    Evidence,
    MissingEvidence,
    Verdict,
)

from locent import results as R
from locent.results import ResultPaths

#: what a real-data check re-judges for its stability: ``(judge(table) -> Verdict, per-query
#: table, query key (columns / index levels), leave-one-seed-out tables)``
StabilityInput = tuple[Callable[[pd.DataFrame], Verdict], pd.DataFrame, tuple, list]

__all__ = [
    "CHECKS",
    "REGIME_PRESET",
    "Check",
    "CheckParams",
    "judge_coupling",
    "judge_diameter_comparable",
    "judge_entropy_cuts",
    "judge_exact_statements",
    "judge_gap_and_floor",
    "judge_intermediate_optimum",
    "judge_sampler_gain",
    "judge_vacuity",
    "run_checks",
]

#: the simulation preset built to show items 1, 2 and 4 (small n, an n axis)
REGIME_PRESET = "regime"
#: evidence name of the regime summary (not a ResultPaths property: see :func:`evidence_path`)
REGIME_SUMMARY = "regime_summary"
#: evidence files a check reads only when present (listed in its evidence then)
OPTIONAL = frozenset({REGIME_SUMMARY, "dependence_fit"})


def evidence_path(paths: ResultPaths, name: str) -> Path:
    """The file of evidence ``name``: a ResultPaths property, or the regime summary."""
    if name == REGIME_SUMMARY:
        return dataclasses.replace(paths, sim_preset=REGIME_PRESET).sim_summary
    return getattr(paths, name)


@dataclass(frozen=True)
class Check:
    """One prediction: its statement, declared parameters, criterion (rendered from them), the
    evidence it reads (``files``: ResultPaths names) and its judge ``run(paths, params)``."""

    item: int
    name: str
    statement: str
    criterion_template: str
    files: tuple[str, ...]
    run: Callable[[ResultPaths, CheckParams], Judgement]
    figures: tuple[str, ...] = ()
    params: CheckParams = CheckParams()
    #: real-data checks: ``(paths, params re-judged with) -> StabilityInput`` (issue 12 item 9)
    resample: Callable[[ResultPaths, CheckParams], StabilityInput] | None = None
    stability_params: StabilityParams = STABILITY_PARAMS

    @property
    def criterion(self) -> str:
        """The decision rule in words, with the declared parameter values filled in."""
        return self.criterion_template.format(**dataclasses.asdict(self.params))

    def __repr__(self) -> str:
        return f"{self.name}({self.params!r})"

    def with_params(self, **changes) -> Check:
        """The same check with some declared parameters changed (``alpha=0.01``)."""
        return dataclasses.replace(self, params=dataclasses.replace(self.params, **changes))

    def stability_of(self, paths: ResultPaths, verdict: Verdict):
        """:func:`.stability.stability` of ``verdict`` (None for a check without ``resample``);
        each re-judgement runs with ``inner_resamples`` bootstrap / power simulations."""
        if self.resample is None:
            return None
        inner = dataclasses.replace(
            self.params,
            resamples=min(self.params.resamples, self.stability_params.inner_resamples),
        )
        got = self.resample(paths, inner)
        if got is None:  # no resamplable evidence for this verdict (item 3 without MS MARCO)
            return None
        judge, table, key, loso = got
        return stability(judge, table, verdict, key, self.stability_params, loso)

    def evaluate(self, paths: ResultPaths) -> CheckResult:
        power, parts, stable = {}, [], None
        try:
            verdict, explanation, numbers, *rest = self.run(paths, self.params)
            power = rest[0] if rest else {}
            parts = rest[1] if len(rest) > 1 else []
            stable = self.stability_of(paths, verdict)
            if stable is not None:
                numbers = {**numbers, **stable.numbers()}
                explanation += (
                    f"; stability {stable.fraction:.0%} of {stable.resamples} query bootstraps"
                    + (
                        f" + {stable.seeds_left_out} leave-one-seed-out"
                        if stable.seeds_left_out
                        else ""
                    )
                    + (" agree: FRAGILE" if stable.fragile else " agree")
                )
        except MissingEvidence as err:
            verdict, explanation, numbers = Verdict.INCONCLUSIVE, f"no evidence: {err}", {}
        except (ValueError, KeyError) as err:
            verdict = Verdict.INCONCLUSIVE
            explanation, numbers = f"evidence unreadable: {type(err).__name__}: {err}", {}
        files = [evidence_path(paths, f) for f in self.files]
        files = [f for n, f in zip(self.files, files) if n not in OPTIONAL or f.is_file()]
        return CheckResult(
            self.item,
            self.name,
            self.statement,
            self.criterion,
            verdict,
            explanation,
            numbers,
            [Evidence.of(f) for f in files],
            list(self.figures),
            parameters=dataclasses.asdict(self.params),
            power=power,
            parts=parts,
            stability=None if stable is None else stable.fraction,
            fragile=False if stable is None else stable.fragile,
        )


# --------------------------------------------------------------------------------------------
# loaders: result files → the judges' inputs


def _regime_or_main(p: ResultPaths) -> tuple[dict, str]:
    """The regime summary when it is present, else the main simulation's."""
    regime = maybe(load_json, evidence_path(p, REGIME_SUMMARY))
    if regime is not None:
        return regime, REGIME_PRESET
    return load_json(p.sim_summary), p.sim_preset


def _exact(p: ResultPaths, params: CheckParams) -> Judgement:
    return judge_exact_statements(
        maybe(load_json, p.theory_results),
        maybe(load_json, p.sim_summary),
        params,
        regime=maybe(load_json, evidence_path(p, REGIME_SUMMARY)),
    )


def _gap_and_floor(p: ResultPaths, params: CheckParams) -> Judgement:
    summary, source = _regime_or_main(p)
    fit = maybe(load_table, p.dependence_fit)
    real = fit_outcomes(fit, params) if fit is not None else None
    return judge_gap_and_floor(summary, params, source=source, real=real)


def _optimum(p: ResultPaths, params: CheckParams) -> Judgement:
    summary, source = _regime_or_main(p)
    return judge_intermediate_optimum(summary, params, source=source)


def _wide(p: ResultPaths) -> pd.DataFrame:
    return learned_effectiveness(load_table(p.grid_per_query))  # "did not learn" cells dropped


def _entropy_cuts(p: ResultPaths, params: CheckParams) -> Judgement:
    return judge_entropy_cuts(_wide(p), subset_sizes(maybe(load_table, p.grid_results)), params)


def _vacuity(p: ResultPaths, params: CheckParams) -> Judgement:
    """(iii) with a-priori constants on the simulation (main, and regime when present); the
    real-data grid's post-hoc bound is reported only."""
    summary = load_json(p.sim_summary)
    by_loss = {}
    for source, s in (
        (p.sim_preset, summary),
        (REGIME_PRESET, maybe(load_json, evidence_path(p, REGIME_SUMMARY))),
    ):
        if s and s.get("theorem_iii_vacuity_by_loss"):
            by_loss.update(
                {f"{source}/{k}": v for k, v in s["theorem_iii_vacuity_by_loss"].items()}
            )
    if not by_loss:
        raise MissingEvidence(
            f"{p.sim_summary} has no 'theorem_iii_vacuity_by_loss' (a-priori (iii) evidence)"
        )
    grid = maybe(load_table, p.grid_results)
    flags = form_iii_flags_grid(grid) if grid is not None and "bound_iii_vacuous" in grid else None
    return judge_vacuity(by_loss, flags, params, source="simulation")


def _leave_one_seed_out(per_query: pd.DataFrame) -> list[pd.DataFrame]:
    """The seed-mean effectiveness table rebuilt without each seed (none with < 2 seeds)."""
    seeds = sorted(per_query[R.SEED].dropna().unique()) if R.SEED in per_query else []
    if len(seeds) < 2:
        return []
    return [learned_effectiveness(per_query[per_query[R.SEED] != s]) for s in seeds]


def _resample_sampler_gain(p: ResultPaths, params: CheckParams) -> StabilityInput:
    pq = load_table(p.grid_per_query)
    return (
        lambda w: judge_sampler_gain(w, params)[0],
        learned_effectiveness(pq),
        ("label", R.QUERY_ID),
        _leave_one_seed_out(pq),
    )


def _resample_entropy_cuts(p: ResultPaths, params: CheckParams) -> StabilityInput:
    pq = load_table(p.grid_per_query)
    sizes = subset_sizes(maybe(load_table, p.grid_results))
    return (
        lambda w: judge_entropy_cuts(w, sizes, params)[0],
        learned_effectiveness(pq),
        ("label", R.QUERY_ID),
        _leave_one_seed_out(pq),
    )


def _resample_diameter(p: ResultPaths, params: CheckParams) -> StabilityInput:
    table = load_table(p.measure_per_query)
    return (
        lambda t: judge_diameter_comparable(t, params)[0],
        table,
        (R.DATASET, R.QUERY_ID),
        [],
    )


def _resample_coupling(p: ResultPaths, params: CheckParams) -> StabilityInput | None:
    """Item 3's MS MARCO part re-judged on a paired query bootstrap: the same (dataset, query)
    units drawn for every sampler, samplers.csv rebuilt from the per-query measures
    (:func:`samplers_from_per_query`), the simulation summary held fixed (it has no queries).
    None (no stability, shown as "—") when samplers.csv is absent (that part is INCONCLUSIVE,
    nothing to resample) or when the per-query file does not reproduce it (a warning names the
    sampler: resampling other numbers than the judged ones would be meaningless; the verdict
    itself still stands on samplers.csv)."""
    samplers = maybe(load_table, p.samplers)
    if samplers is None:
        return None
    per_query = load_table(p.measure_per_query)
    mismatch = _rebuild_mismatch(samplers, samplers_from_per_query(per_query), p)
    if mismatch:
        warnings.warn(f"item 3 stability not computed: {mismatch}", stacklevel=2)
        return None
    summary = maybe(load_json, p.sim_summary)
    return (
        lambda t: judge_coupling(summary, samplers_from_per_query(t), params)[0],
        per_query,
        (R.DATASET, R.QUERY_ID),
        [],
    )


def _rebuild_mismatch(samplers: pd.DataFrame, rebuilt: pd.DataFrame, p: ResultPaths) -> str:
    """The bootstrap must resample the judged numbers: on the full sample the rebuild equals
    samplers.csv's Δ̂_Q(0.99) and H (relative 1e-9: CSV round-trip) for every sampler; the
    first difference in words, or "" when there is none."""
    cols = [R.DIAMETER_Q_99, R.PAIRWISE_ENTROPY]
    judged = training_rows(samplers).dropna(subset=cols)  # the rows judge_coupling reads
    both = judged.merge(rebuilt, on=[R.DATASET, R.SAMPLER], how="left", suffixes=("", "_pq"))
    for c in cols:
        a, b = both[c].to_numpy(float), both[f"{c}_pq"].to_numpy(float)
        bad = ~((a == b) | np.isclose(a, b, rtol=1e-9, atol=0.0) | (np.isnan(a) & np.isnan(b)))
        if bad.any():
            r = both[bad].iloc[0]
            return (
                f"{p.measure_per_query} does not reproduce {p.samplers}: {c} of "
                f"{r[R.DATASET]}/{r[R.SAMPLER]} is {float(r[c])!r} there, "
                f"{float(r[f'{c}_pq'])!r} rebuilt"
            )
    return ""


_POWER = "FAIL needs a significant effect against the prediction, or {power:.0%} power for"

CHECKS: tuple[Check, ...] = (
    Check(
        1,
        "exact_statements",
        "Lemmas A, B, C and Corollary 2.1 hold exactly on every sample; Theorem 2.1 (iii) is "
        "violated in at most a δ fraction of seeds.",
        "all theory checks PASS and 0 exact violations in the simulation; (iii) violation rate "
        "≤ δ (FAIL if an exact binomial test shows rate > δ at α = {alpha:g}); Rademacher level "
        "(regime simulation when present): the complexity term is never below the Monte-Carlo "
        "Rademacher complexity of the class (FAIL if a binomial test at α = {alpha:g} shows "
        "more violations than the Monte-Carlo false-alarm rate), judged only when ρ, W, Λ and Δ "
        "each halved would FAIL it; power at {power:.0%} stated for both rates.",
        ("theory_results", "sim_summary", REGIME_SUMMARY),
        _exact,
        ("bound_vs_risk",),
        EXACT_PARAMS,
    ),
    Check(
        2,
        "gap_and_floor",
        "At a fixed teacher the estimation gap grows with Δ_Q; at a fixed sampler the "
        "misordering floor grows with H(g).",
        "over (sampler, seed) units (regime simulation when present): the standardised slope "
        "of the estimation gap on Δ̂_Q at fixed (n, τ, loss) and the within-unit ρ(H, floor) "
        "both > 0 with one-sided p < {alpha:g}; on real data (dependence sweep, when run) the "
        "standardised slopes of the gap on Δ̂_Q at the full n over locality knob levels and of "
        "the held-out misordering on H(g) over teacher variants, t inference on level means "
        "(the knob level is the unit), same rule; "
        + _POWER
        + " an effect of {min_effect:g} ({resamples} simulations, seed {seed}).",
        ("sim_summary", REGIME_SUMMARY, "dependence_fit"),
        _gap_and_floor,
        ("misordering_heatmap", "risk_gap_vs_locality", "gap_vs_n"),
        SIMULATION_PARAMS,
    ),
    Check(
        3,
        "locality_entropy_coupling",
        "More local samplers have higher teacher entropy (simulation and MS MARCO).",
        "Spearman ρ(Δ̂_Q, H) < 0 with one-sided p < {alpha:g} over simulation (sampler, seed) "
        "units and across MS MARCO samplers (exact permutation test); "
        + _POWER
        + " |ρ| = {min_effect:g} ({resamples} simulations, seed {seed}).",
        ("sim_summary", "samplers", "measure_per_query"),
        lambda p, params: judge_coupling(
            maybe(load_json, p.sim_summary), maybe(load_table, p.samplers), params
        ),
        ("locality_entropy_coupling", "sampler_violins"),
        SIMULATION_PARAMS,
        _resample_coupling,
    ),
    Check(
        4,
        "intermediate_locality_optimum",
        "Total misordering risk is minimised at an intermediate locality.",
        "split-half (regime simulation when present): in each (τ, loss, n) cell the optimum is "
        "chosen on half the seeds and tested on the others by paired one-sided t-tests over "
        "seeds against both ends of the locality range; more than half of the cells "
        "significantly interior, "
        "binomial over cells at α = {alpha:g}; FAIL if significantly more than half of the "
        "cells have their optimum at an end of the locality range, or with {power:.0%} power "
        "for an all-cells effect.",
        ("sim_summary", REGIME_SUMMARY),
        _optimum,
        ("misordering_heatmap",),
        SIMULATION_PARAMS,
    ),
    Check(
        5,
        "no_sampler_gain_under_distillation",
        "Under distillation losses, elaborate samplers give no significant gain over BM25 or "
        "random negatives; under LCE the sampler matters more.",
        "(a) paired over DL19+DL20 queries (nDCG@10, mean over seeds), Holm: every gain < "
        "{margin:g} (non-superiority, α = {alpha:g}); FAIL on a significant gain or with "
        "{power:.0%} power for a gain of 0; (b) paired bootstrap over queries ({resamples} "
        "resamples, seed {seed}) of the sampler spread under LCE (teacher-top positives on MS "
        "MARCO) minus under each distillation loss: > 0 with one-sided p < {alpha:g}; "
        + _POWER
        + " {min_effect:g} nDCG@10.",
        ("grid_per_query",),
        lambda p, params: judge_sampler_gain(_wide(p), params),
        ("table1_effectiveness",),
        SAMPLER_GAIN_PARAMS,
        _resample_sampler_gain,
    ),
    Check(
        6,
        "diameter_comparable",
        "Elaborate miners do not make candidate sets more compact than BM25 (Δ̂_Q comparable).",
        "paired bootstrap ({resamples}, seed {seed}) over MS MARCO queries of the mean and the "
        "median of Δ̂_q(miner) − Δ̂_q(bm25): non-inferior within {margin:g} at α = {alpha:g} "
        "(FAIL if significantly below −{margin:g}, or with {power:.0%} power for a difference "
        "of 0); Δ̂_Q(0.99) reported with an m-out-of-n bootstrap, not judged.",
        ("measure_per_query",),
        lambda p, params: judge_diameter_comparable(load_table(p.measure_per_query), params),
        ("sampler_violins",),
        DIAMETER_PARAMS,
        _resample_diameter,
    ),
    Check(
        7,
        "entropy_cuts",
        "Moderate-entropy training subsets match or beat the full set; extreme-entropy subsets "
        "hurt.",
        "paired over queries vs the full set, Holm at α = {alpha:g}: moderate subsets "
        "non-inferior (margin {margin:g} nDCG@10); extreme subsets (one half at the median, "
        "Tukey outliers) significantly worse (FAIL if shown non-inferior); "
        + _POWER
        + " {min_effect:g} nDCG@10 ({resamples} "
        "simulations, seed {seed}). A subset identical to the full set or empty is "
        "INCONCLUSIVE; sizes (n_train) reported.",
        ("grid_per_query", "grid_results"),
        _entropy_cuts,
        ("table1_effectiveness",),
        ENTROPY_CUT_PARAMS,
        _resample_entropy_cuts,
    ),
    Check(
        8,
        "vacuity",
        "Form (i) is vacuous at BERT scale; form (iii) is not, for linear students.",
        "(i) with d = W·layers·ln W (W = 1.1e8, 12 layers), n = 5e5, δ = 0.05 exceeds the "
        "[0, 1] range; (iii) with an a-priori class radius and stated Lipschitz bounds is below "
        "the loss range in more than half of the runs at the n used, per loss (binomial over "
        "runs at α = {alpha:g}; FAIL if significantly fewer, or with {power:.0%} power for a "
        "share of 1); smallest non-vacuous n reported; the real-data post-hoc bound reported "
        "only.",
        ("sim_summary", REGIME_SUMMARY, "grid_results"),
        _vacuity,
        ("bound_vs_risk",),
        VACUITY_PARAMS,
    ),
)


def run_checks(
    out,
    sim_preset: str | None = None,
    grid_preset: str | None = None,
    only: Sequence[int] | None = None,
) -> list[CheckResult]:
    """Evaluate every check (or those of items ``only``) on the results under ``out``."""
    paths = ResultPaths.locate(out, sim_preset, grid_preset)
    return [c.evaluate(paths) for c in CHECKS if not only or c.item in only]
