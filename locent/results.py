"""The result contracts every part shares: the result files and one column name per quantity.

Simulation and real data write these names; figures and checks read exactly these names (no
alternative spellings). A newcomer finds every use of a quantity by grepping its constant or
its column string. Units: distances are chordal (``[0, 2]``), entropies in nats.

This module imports nothing of the parts (it sits at the bottom of the layers, beside
``locent.provenance``), so theory, simulate, realdata, figures and checks can all import it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

#: default output folder of every command (``--out``)
DEFAULT_OUT = "locent-out"

# --- locality (THEORY.md §1, §6): essential diameter --------------------------------------
#: Δ̂_q(0.99) of one group (per-query tables)
DIAMETER_99 = "diameter_99"
#: Δ̂_q(1), the empirical diameter of one group
DIAMETER_100 = "diameter_100"
#: Δ̂_Q(0.99): 0.99-quantile over queries of Δ̂_q(0.99)
DIAMETER_Q_99 = "diameter_Q_99"
#: Δ̂_Q(1): max over queries of Δ̂_q(1)
DIAMETER_Q_100 = "diameter_Q_100"
#: mean over queries of Δ̂_q(0.99)
DIAMETER_MEAN_99 = "diameter_mean_99"

# --- entropy (Definitions 2.3/2.4) ---------------------------------------------------------
#: H(g): mean over queries of the teacher's pairwise entropy H_q(g) (nats)
PAIRWISE_ENTROPY = "pairwise_entropy"
#: pairwise entropy on the training sample (simulation)
PAIRWISE_ENTROPY_TRAIN = "pairwise_entropy_train"
#: listwise entropy of softmax(t/τ) over the group (nats)
LISTWISE_ENTROPY = "listwise_entropy"

# --- the knobs of real data (issue 13): one row per knob level in realdata/measure/knobs.csv --
#: which knob a row moves (``dense_depth``, ``bm25_depth``, ``ball_radius``; ``teacher_tau``,
#: ``score_noise``, ``mix_cosine``, ``mix_bm25``)
KNOB_NAME = "knob_name"
#: the knob's setting (depth d, radius r, temperature τ, noise σ, mixture weight λ)
KNOB_VALUE = "knob_value"
#: the teacher's variant that scored the groups (``teacher``, ``tau=2``, ``mix-bm25=0.5`` ...)
TEACHER_VARIANT = "teacher_variant"
#: the temperature the teacher's scores were divided by
TEACHER_TAU = "teacher_tau"
#: share of μ_q's support inside supp ν_q, mean over test queries
COVERAGE = "coverage"

# --- density ratio (Corollary 2.1) ---------------------------------------------------------
#: κ_Q: sup over queries of κ_q (∞ when μ is not ≪ ν)
KAPPA_Q = "kappa_Q"
#: κ_q of one query
KAPPA = "kappa"
#: mean over queries of κ_q
KAPPA_MEAN = "kappa_mean"

# --- risks and bounds (Definition 2.1, Theorem 2.1) ----------------------------------------
#: misordering against the teacher under the sampler measure ν (held-out, simulation)
MISORDERING_NU = "misordering_nu"
#: misordering against the teacher under the target measure μ (simulation)
MISORDERING_MU = "misordering_mu"
#: misordering against the teacher on the test candidates (real data)
MISORDERING = "misordering"
#: population Bregman risk R^ν_φ(f̂) (simulation, exact under ν)
POPULATION_RISK = "population_risk"
#: empirical Bregman risk R̂_φ(f̂) on the real test candidates
BREGMAN_RISK = "bregman_risk"
#: R^ν(f̂) − R̂(f̂): the estimation gap
ESTIMATION_GAP = "estimation_gap"
#: B_φ at Δ_Q (Lemma C)
LOSS_RANGE_Q = "loss_range_Q"
#: Theorem 2.1 (ii) right-hand side
BOUND_II = "bound_ii"
#: Theorem 2.1 (iii) right-hand side
BOUND_III = "bound_iii"
#: whether (iii) exceeds the loss range
BOUND_III_VACUOUS = "bound_iii_vacuous"
#: teacher Lipschitz constant L_g
TEACHER_LIPSCHITZ = "teacher_lipschitz"
#: held-out teacher-agreement misordering of the trained student (held-out training queries)
HELDOUT_MISORDERING = "heldout_misordering"
#: the same for the untrained student (same initialisation seed, same held-out groups)
HELDOUT_MISORDERING_INIT = "heldout_misordering_init"
#: 1 − heldout_misordering / heldout_misordering_init: how far training moved the student
LEARNED_FRACTION = "learned_fraction"
#: whether the cell learned (learned_fraction ≥ the preset's threshold); False = "did not learn"
LEARNED = "learned"
#: label temperature τ
TAU = "tau"

# --- the condition record (one column each, never parsed from a string) -------------------
STUDENT = "student"
ARCH = "arch"
LOSS = "loss"
SAMPLER = "sampler"
SUBSET = "subset"
SEED = "seed"
DATASET = "dataset"
QUERY_ID = "query_id"
#: the columns that identify a trained condition × seed in every grid table
CONDITION_COLUMNS = (STUDENT, ARCH, LOSS, SAMPLER, SUBSET, SEED)
#: the training subset that keeps every query (the other subsets are entropy cuts)
FULL_SUBSET = "full"
#: the untrained system a baseline row measures (``bm25``, ``teacher``, ``encoder_cosine``, a
#: shipped run) in the grid's per_query and score_at_rank tables; null on the rows of trained
#: conditions, whose condition columns are null on baseline rows
SYSTEM = "system"
#: the simulation's sampler family (the registry name; ``sampler`` is the labelled knob setting)
SAMPLER_FAMILY = "sampler_family"

# --- long tables of the real-data grid -------------------------------------------------------
#: per_query.parquet: an ir_measures measure name (``nDCG@10``) and its value for one query
MEASURE = "measure"
VALUE = "value"
#: the effectiveness measure of Table 1 and of items 5 and 7
NDCG_10 = "nDCG@10"
#: score_at_rank.parquet: rank (1-based) and the mean-able score at that rank
RANK = "rank"
SCORE = "score"
#: logs.parquet: optimiser step, training-loss value (not ``loss``, which names the condition's
#: loss function), KL to the teacher, gradient norm
STEP = "step"
STEP_LOSS = "step_loss"
KL = "kl"
GRAD_NORM = "grad_norm"


# --- the result files under --out -------------------------------------------------------------

#: presets read by figures and checks, first present first (``locate``)
SIM_PRESETS = ("paper", "smoke")
GRID_PRESETS = ("default", "paper", "smoke")


@dataclass(frozen=True)
class ResultPaths:
    """The result files under ``out``; the writers (theory, simulate, realdata) and the readers
    (figures, checks, the report) take their paths from here.

    ``sim_preset`` / ``grid_preset`` name the simulation and grid presets whose files are meant;
    :meth:`locate` picks the first of :data:`SIM_PRESETS` / :data:`GRID_PRESETS` present.
    """

    out: Path
    sim_preset: str
    grid_preset: str

    @classmethod
    def locate(
        cls, out: str | os.PathLike, sim_preset: str | None = None, grid_preset: str | None = None
    ) -> ResultPaths:
        out = Path(out)

        def first(folder: Path, presets: Sequence[str]) -> str:
            for p in presets:
                if (folder / p).is_dir():
                    return p
            return presets[0]

        return cls(
            out=out,
            sim_preset=sim_preset or first(out / "simulate", SIM_PRESETS),
            grid_preset=grid_preset or first(out / "realdata" / "grid", GRID_PRESETS),
        )

    @property
    def theory_results(self) -> Path:
        """list of ``{statement, method, result, detail}`` (``locent theory``)"""
        return self.out / "theory" / "results.json"

    @property
    def sim_table(self) -> Path:
        """one row per simulation configuration × seed"""
        return self.out / "simulate" / self.sim_preset / "table.parquet"

    @property
    def sim_summary(self) -> Path:
        """the simulation's statistics (Spearman ρ with one-sided p, violation rates)"""
        return self.out / "simulate" / self.sim_preset / "summary.json"

    @property
    def samplers(self) -> Path:
        """one row per dataset × sampler: Δ̂_Q, H(g), κ_Q, coverage"""
        return self.out / "realdata" / "measure" / "samplers.csv"

    @property
    def measure_per_query(self) -> Path:
        """one row per dataset × sampler × query: Δ̂_q, H_q, κ_q"""
        return self.out / "realdata" / "measure" / "per_query.parquet"

    @property
    def grid(self) -> Path:
        return self.out / "realdata" / "grid" / self.grid_preset

    @property
    def grid_results(self) -> Path:
        """one row per condition × seed × evaluation dataset"""
        return self.grid / "results.csv"

    @property
    def grid_per_query(self) -> Path:
        """condition columns (or ``system``), dataset, query_id, measure, value"""
        return self.grid / "per_query.parquet"

    @property
    def grid_logs(self) -> Path:
        """condition columns, step, loss, kl, grad_norm, lr"""
        return self.grid / "logs.parquet"

    @property
    def score_at_rank(self) -> Path:
        """condition columns (or ``system``), dataset, query_id, rank, score"""
        return self.grid / "score_at_rank.parquet"

    @property
    def dependence(self) -> Path:
        """the dependence sweep of the grid preset's design (``locent realdata dependence``)"""
        return self.out / "realdata" / "dependence" / self.grid_preset

    @property
    def dependence_cells(self) -> Path:
        """one row per knob level × subset (n axis) × seed × test set: risks, Δ̂_Q, H(g), gap"""
        return self.dependence / "cells.csv"

    @property
    def dependence_fit(self) -> Path:
        """one row per fitted dependence: slope, cluster CI, verdict against THEORY.md's sign"""
        return self.dependence / "fit.csv"

    @property
    def figures(self) -> Path:
        return self.out / "figures"

    @property
    def figure_index(self) -> Path:
        """the records of ``build_figures`` (name, status, files, numbers)"""
        return self.figures / "index.json"

    @property
    def verdicts(self) -> Path:
        """the check results of ``locent run``'s checks stage, read by its report stage"""
        return self.out / "checks" / "verdicts.json"

    @property
    def report(self) -> Path:
        return self.out / "report"

    def files(self, names: Sequence[str]) -> list[Path]:
        """The paths of the properties ``names`` (e.g. ``("sim_table", "grid_results")``)."""
        return [getattr(self, name) for name in names]


def read_table(path: Path) -> pd.DataFrame:
    """A result table (``.csv`` or Parquet); ``FileNotFoundError`` naming the path."""
    if not path.is_file():
        raise FileNotFoundError(f"result file not found: {path}")
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def read_json(path: Path):
    """A JSON result file; ``FileNotFoundError`` naming the path."""
    if not path.is_file():
        raise FileNotFoundError(f"result file not found: {path}")
    with open(path) as handle:
        return json.load(handle)
