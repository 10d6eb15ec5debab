"""The predictions of THEORY.md §7 (items 1–8) as checks with computed verdicts.

Each check has a loader (result files under ``--out`` → plain data; a missing file raises
:class:`MissingEvidence`) and a pure ``judge`` function (data → verdict, explanation, numbers) in
:mod:`locent.paper_checks.items`, so the verdict is always computed from evidence and tests can
feed contradicting evidence directly. No verdict is typed in by hand. :func:`run_checks` is the
``checks`` stage of ``locent checks`` and ``locent run``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from locent.paper_checks.items.common import (
    Judgement,
    load_json,
    load_table,
    maybe,
    per_query_effectiveness,
)
from locent.paper_checks.items.diameter import judge_diameter_comparable
from locent.paper_checks.items.entropy_cuts import judge_entropy_cuts
from locent.paper_checks.items.sampler_gain import judge_sampler_gain
from locent.paper_checks.items.simulation import (
    judge_coupling,
    judge_exact_statements,
    judge_gap_and_floor,
    judge_intermediate_optimum,
)
from locent.paper_checks.items.vacuity import (
    form_iii_flags_grid,
    form_iii_flags_simulation,
    judge_vacuity,
)
from locent.paper_checks.verdicts import CheckResult, Evidence, MissingEvidence, Verdict

from locent.results import ResultPaths, read_table

__all__ = [
    "CHECKS",
    "Check",
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


@dataclass(frozen=True)
class Check:
    item: int
    name: str
    statement: str
    criterion: str
    files: tuple[str, ...]  # the ResultPaths properties read as evidence
    run: Callable[[ResultPaths], Judgement]
    figures: tuple[str, ...] = ()

    def evaluate(self, paths: ResultPaths) -> CheckResult:
        try:
            verdict, explanation, numbers = self.run(paths)
        except MissingEvidence as err:
            verdict, explanation, numbers = Verdict.INCONCLUSIVE, f"no evidence: {err}", {}
        except (ValueError, KeyError) as err:
            verdict = Verdict.INCONCLUSIVE
            explanation, numbers = f"evidence unreadable: {type(err).__name__}: {err}", {}
        return CheckResult(
            self.item,
            self.name,
            self.statement,
            self.criterion,
            verdict,
            explanation,
            numbers,
            [Evidence.of(f) for f in paths.files(self.files)],
            list(self.figures),
        )


def _exact(p: ResultPaths) -> Judgement:
    return judge_exact_statements(
        maybe(load_json, p.theory_results), maybe(load_json, p.sim_summary)
    )


def _summary(p: ResultPaths) -> dict:
    return load_json(p.sim_summary)


def _wide(p: ResultPaths) -> pd.DataFrame:
    return per_query_effectiveness(load_table(p.grid_per_query))


def _vacuity(p: ResultPaths) -> Judgement:
    """(iii) on the simulation's linear students; on the real-data grid when no simulation ran."""
    if p.sim_table.is_file():
        flags = form_iii_flags_simulation(read_table(p.sim_table))
        return judge_vacuity(flags, source="simulation")
    return judge_vacuity(form_iii_flags_grid(load_table(p.grid_results)), source="real-data")


CHECKS: tuple[Check, ...] = (
    Check(
        1,
        "exact_statements",
        "Lemmas A, B, C and Corollary 2.1 hold exactly on every sample; Theorem 2.1 (iii) is "
        "violated in at most a δ fraction of seeds.",
        "all theory checks PASS and 0 exact violations in the simulation; (iii) violation rate "
        "≤ δ (FAIL if an exact binomial test shows rate > δ at 0.05).",
        ("theory_results", "sim_summary"),
        _exact,
        ("bound_vs_risk",),
    ),
    Check(
        2,
        "gap_and_floor",
        "At a fixed teacher the estimation gap grows with Δ_Q; at a fixed sampler the "
        "misordering floor grows with H(g).",
        "both Spearman ρ > 0 with one-sided p < 0.05 (simulation sweep).",
        ("sim_summary",),
        lambda p: judge_gap_and_floor(_summary(p)),
        ("misordering_heatmap",),
    ),
    Check(
        3,
        "locality_entropy_coupling",
        "More local samplers have higher teacher entropy (simulation and MS MARCO).",
        "Spearman ρ(Δ̂_Q, H) < 0 with one-sided p < 0.05 in the simulation and across MS MARCO "
        "samplers (exact permutation test).",
        ("sim_summary", "samplers"),
        lambda p: judge_coupling(maybe(load_json, p.sim_summary), maybe(load_table, p.samplers)),
        ("locality_entropy_coupling", "sampler_violins"),
    ),
    Check(
        4,
        "intermediate_locality_optimum",
        "Total misordering risk is minimised at an intermediate locality.",
        "in more than half of the simulation's (τ, loss, n) cells, the test misordering under μ "
        "(mean over seeds) is minimal at an interior value of the locality knob and below both "
        "the most local and the least local setting (random sampling as the least local end; "
        "paired one-sided t-tests over seeds, p < 0.05 each).",
        ("sim_summary",),
        lambda p: judge_intermediate_optimum(_summary(p)),
        ("misordering_heatmap",),
    ),
    Check(
        5,
        "no_sampler_gain_under_distillation",
        "Under distillation losses, elaborate samplers give no significant gain over BM25 or "
        "random negatives; under LCE the sampler matters more.",
        "paired one-sided t-tests over DL19+DL20 queries (nDCG@10, mean over seeds), Holm: "
        "(a) no significant gain of teacher/ensemble over bm25/random, and every gain shown "
        "< 0.03 (non-superiority test; FAIL: a significant gain); (b) the spread of sampler "
        "means (max − min) is larger under LCE than under distillation losses (FAIL otherwise).",
        ("grid_per_query",),
        lambda p: judge_sampler_gain(_wide(p)),
        ("table1_effectiveness",),
    ),
    Check(
        6,
        "diameter_comparable",
        "Elaborate miners do not make candidate sets more compact than BM25 (Δ̂_Q comparable).",
        "paired bootstrap (2000, seed 0) over MS MARCO queries of Δ̂_Q(miner) − Δ̂_Q(bm25): "
        "95% lower bound ≥ −0.05 (FAIL if the upper bound < −0.05).",
        ("measure_per_query",),
        lambda p: judge_diameter_comparable(load_table(p.measure_per_query)),
        ("sampler_violins",),
    ),
    Check(
        7,
        "entropy_cuts",
        "Moderate-entropy training subsets match or beat the full set; extreme-entropy subsets "
        "hurt.",
        "paired over queries vs the full set, Holm: moderate subsets non-inferior (margin 0.02 "
        "nDCG@10; FAIL if significantly worse); extreme subsets (one half at the median, Tukey "
        "outliers) significantly worse (FAIL if shown non-inferior); both kinds must be present.",
        ("grid_per_query",),
        lambda p: judge_entropy_cuts(_wide(p)),
        ("table1_effectiveness",),
    ),
    Check(
        8,
        "vacuity",
        "Form (i) is vacuous at BERT scale; form (iii) is not, for linear students.",
        "(i) with d = W·layers·ln W (W = 1.1e8, 12 layers), n = 5e5, δ = 0.05 exceeds the "
        "[0, 1] range; (iii) is below the loss range in more than half of the linear-student "
        "runs.",
        ("sim_table", "grid_results"),
        _vacuity,
        ("bound_vs_risk",),
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
