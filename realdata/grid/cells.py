"""One grid cell (condition × seed): train, measure the training groups, evaluate every test set.

Risk beside locality and entropy, per cell (``results.csv``, one row per test set):

- ``diameter_Q_99`` = Δ̂_Q(0.99): the 0.99-quantile over training queries of each group's
  0.99-essential diameter in the encoder space; ``pairwise_entropy`` = H(g), the mean teacher
  pairwise entropy of the training groups; ``kappa_Q`` from ``realdata/measure/samplers.csv``
  when present; ``teacher_lipschitz`` = max over pairs |t_i − t_j| / ‖e_i − e_j‖ (a lower
  estimate of L_g).
- ``train_risk`` = R̂: the mean trained loss over the training groups; ``heldout_risk``: the same
  on a held-out tenth of the sampler's groups (same ν), the quantity Theorem 2.1 (iii) bounds by
  ``bound_iii`` (δ = ``BOUND_DELTA``); ``heldout_misordering``: the student's misordering rate
  against the teacher on those groups; ``loss_range_Q`` = B_φ at Δ̂_Q (Lemma C).
- How far the cell moved: ``heldout_misordering_init`` (the untrained student, same seed, same
  held-out groups), ``learned_fraction`` = 1 − heldout_misordering / heldout_misordering_init and
  ``learned`` = learned_fraction ≥ ``Preset.learned_threshold`` (:func:`learned_fraction`). Only
  held-out *training* queries and teacher scores are read, never test qrels. A cell with
  ``learned`` False "did not learn": it is kept in the tables but left out of the checks' inputs
  (``per_query.parquet`` carries the flag on every row of the cell).
- On the test candidates: the ir_measures of :data:`evaluation.MEASURES`, ``misordering`` and
  ``bregman_risk`` against the teacher (NaN for an unscored set, counted in
  ``n_no_comparable``).

A cell writes ``cells/<condition>.<seed>/`` and marks it done last (``done.json``), so an
interrupted grid resumes from the finished cells (and the unfinished one from its checkpoint).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from locent.realdata import evaluation
from locent.realdata.entropy_cuts import query_entropies
from locent.realdata.features import GroupData
from locent.realdata.grid.baselines import SCORE_AT_RANK_DATASET, agreement
from locent.realdata.grid.inputs import GridInputs
from locent.realdata.grid.lr_selection import mean_misordering
from locent.realdata.grid.presets import Condition, Preset
from locent.realdata.grid.state import GridState, with_features
from locent.realdata.students import build_student
from locent.realdata.trainer import TrainConfig, train
from locent.theory import (
    LOSSES,
    aggregate_diameter,
    essential_diameter,
    is_vacuous,
    loss_range,
    pair_index,
    rademacher_bound,
    rademacher_rho,
)

from locent import results
from locent.provenance import atomic_write_json, atomic_write_parquet

#: confidence parameter δ of the Theorem 2.1 (iii) bound
BOUND_DELTA = 0.05
#: ``logs.parquet``: the trained loss per optimiser step (the trainer's ``loss`` column)
STEP_LOSS = results.STEP_LOSS


@dataclass(frozen=True)
class GroupStatistics:
    """Locality and entropy of a cell's training groups."""

    pairwise_entropy: float
    diameter_Q_99: float
    teacher_lipschitz: float
    n_zero_distance_pairs: int


@dataclass(frozen=True)
class BoundIII:
    """Theorem 2.1 (iii) for a student: the bound, whether it is vacuous, which form was used."""

    bound_iii: float = np.nan
    bound_iii_vacuous: bool | None = None
    bound_iii_form: str = "n/a"
    loss_range_Q: float = np.nan


@dataclass(frozen=True)
class ResultRow:
    """One row of ``results.csv``: a trained condition × seed on one test set."""

    condition: Condition
    seed: int
    dataset: str
    measures: dict
    misordering: float
    bregman_risk: float
    stats: GroupStatistics
    kappa_Q: float
    bound: BoundIII
    n_train: int
    steps: int
    lr: float
    items: int
    train_risk: float
    heldout_risk: float
    heldout_misordering: float
    heldout_misordering_init: float
    learned_fraction: float
    learned: bool
    lipschitz: float
    n_missed_queries: int
    n_no_comparable: int

    def to_record(self) -> dict:
        """The row as ``{column: value}`` (columns of ``tables.RESULT_COLUMNS`` first)."""
        return {
            **self.condition.record(self.seed),
            results.DATASET: self.dataset,
            **{m: float(self.measures.get(m, np.nan)) for m in evaluation.MEASURES},
            results.MISORDERING: self.misordering,
            results.BREGMAN_RISK: self.bregman_risk,
            results.DIAMETER_Q_99: self.stats.diameter_Q_99,
            results.PAIRWISE_ENTROPY: self.stats.pairwise_entropy,
            results.KAPPA_Q: self.kappa_Q,
            results.BOUND_III: self.bound.bound_iii,
            results.BOUND_III_VACUOUS: self.bound.bound_iii_vacuous,
            "condition": self.condition.name,
            "n_train": self.n_train,
            "steps": self.steps,
            "lr": self.lr,
            "items": self.items,
            "train_risk": self.train_risk,
            "heldout_risk": self.heldout_risk,
            results.HELDOUT_MISORDERING: self.heldout_misordering,
            results.HELDOUT_MISORDERING_INIT: self.heldout_misordering_init,
            results.LEARNED_FRACTION: self.learned_fraction,
            results.LEARNED: self.learned,
            results.LOSS_RANGE_Q: self.bound.loss_range_Q,
            "lipschitz": self.lipschitz,
            results.TEACHER_LIPSCHITZ: self.stats.teacher_lipschitz,
            "bound_iii_form": self.bound.bound_iii_form,
            "n_missed_queries": self.n_missed_queries,
            "n_no_comparable": self.n_no_comparable,
        }


def learned_fraction(init: float, after: float) -> float:
    """1 − after / init: the relative fall of the held-out misordering through training.

    1 = the student now orders every held-out pair as the teacher does; 0 = it did not move;
    < 0 = training made it worse. NaN when either value is NaN or ``init`` is 0 (nothing to fall).
    """
    if not (np.isfinite(init) and np.isfinite(after)) or init <= 0:
        return float("nan")
    return float(1.0 - after / init)


def empirical_teacher_lipschitz(teacher, item_emb) -> tuple[float, int]:
    """max over pairs |t_i − t_j| / ‖e_i − e_j‖ (a lower estimate of L_g), #pairs skipped (d≈0).

    ``teacher`` ``(n, k)``, ``item_emb`` ``(n, k, D)``."""
    i, j = pair_index(teacher.shape[1])
    dt = np.abs(teacher[:, i] - teacher[:, j])
    d = np.linalg.norm(item_emb[:, i] - item_emb[:, j], axis=-1)
    ok = d > 1e-6
    return float((dt[ok] / d[ok]).max()) if ok.any() else float("nan"), int((~ok).sum())


def group_statistics(data: GroupData, tau: float) -> GroupStatistics:
    """Δ̂_Q(0.99), H(g) and the empirical teacher Lipschitz constant of training groups (NaN
    locality for feature sources without embeddings, e.g. texts)."""
    entropy = float(query_entropies(data.teacher_scores, tau).mean())
    if not hasattr(data.features, "item_embeddings"):
        return GroupStatistics(entropy, np.nan, np.nan, 0)
    emb = data.features.item_embeddings(data.resolved).astype(np.float64)
    per_query = np.asarray(essential_diameter(emb, alpha=0.99))
    lip, n_zero = empirical_teacher_lipschitz(data.teacher_scores, emb)
    return GroupStatistics(entropy, float(aggregate_diameter(per_query, alpha=0.99)), lip, n_zero)


@torch.no_grad()
def mean_loss(student, data: GroupData, config: TrainConfig, device, batch: int = 256) -> float:
    """Mean per-query training loss over all groups of ``data`` (the empirical risk R̂)."""
    student.eval()
    total = 0.0
    for start in range(0, data.n, batch):
        b = data.batch(np.arange(start, min(start + batch, data.n))).to(device)
        total += float(
            LOSSES[config.loss](student.score(b).float(), b.teacher, tau=config.tau).sum()
        )
    return total / max(1, data.n)


def theorem_iii(student, loss, tau, train_risk, stats: GroupStatistics, n) -> BoundIII:
    """Theorem 2.1 (iii) for a frozen student: bound, vacuous flag, and which form was used."""
    lin = student.linear_constants()
    if lin is not None:
        weight_norm, feature_lip, form = lin[0], lin[1], "linear"
    elif student.lipschitz_bound() is not None:
        weight_norm, feature_lip, form = (
            student.lipschitz_bound(),
            1.0,
            "lipschitz-product (heuristic)",
        )
    else:
        return BoundIII()
    L_g, diam = stats.teacher_lipschitz, stats.diameter_Q_99
    if not (np.isfinite(L_g) and np.isfinite(diam)):
        return BoundIII()
    try:
        rho = float(rademacher_rho(loss, tau, weight_norm, feature_lip, L_g, diam))
        rng = float(loss_range(loss, weight_norm * feature_lip, L_g, diam, tau))
    except ValueError:  # no ρ / range for this loss (contrastive, listwise): not evaluated
        return BoundIII(bound_iii_form=f"{form}: not stated for {loss}")
    bound = float(
        rademacher_bound(train_risk, rho, weight_norm, feature_lip, diam, n, BOUND_DELTA, rng)
    )
    return BoundIII(bound, bool(is_vacuous(bound, rng)), form, rng)


def kappa_of(measures: pd.DataFrame | None, sampler: str, dataset: str | None = None) -> float:
    """κ_Q of ``sampler`` from the measure table (rows of the training dataset when named)."""
    if measures is None or results.KAPPA_Q not in measures.columns:
        return np.nan
    rows = measures[measures[results.SAMPLER] == sampler]
    if dataset is not None and "dataset" in rows.columns and (rows["dataset"] == dataset).any():
        rows = rows[rows["dataset"] == dataset]
    return float(rows[results.KAPPA_Q].iloc[0]) if len(rows) else np.nan


def _skip(cell: Path, cond: Condition, seed: int, reason: str) -> None:
    """Record a cell that cannot train (reported in summary.json, never silently dropped)."""
    atomic_write_json(
        cell / "done.json",
        {"condition": cond.name, "seed": seed, "seconds": 0.0, "skipped": reason},
    )


def run_cell(
    cond: Condition,
    seed: int,
    inputs: GridInputs,
    preset: Preset,
    out_dir: Path,
    device,
    state: GridState,
) -> None:
    """Train one condition with one seed, evaluate it, write ``cells/<name>.<seed>/``."""
    cell = out_dir / "cells" / f"{cond.name}.{seed}"
    if (cell / "done.json").exists():
        return
    t0 = time.perf_counter()
    features = inputs.features[cond.student]
    split = state.splits[cond.sampler]
    train_data, heldout_data = split.train, split.heldout
    if cond.subset != "full":
        mask = split.masks[cond.subset]
        if not mask.any():
            reason = f"entropy subset {cond.subset!r} of sampler {cond.sampler!r} is empty"
            return _skip(cell, cond, seed, reason)
        train_data = train_data.subset(np.flatnonzero(mask))
    train_data = with_features(train_data, features)
    heldout_data = with_features(heldout_data, features)
    config = preset.train_config(
        cond.loss, seed, state.learning_rates[(cond.student, cond.arch, cond.loss, cond.sampler)]
    )
    torch.manual_seed(seed)
    student = build_student(cond.student, cond.arch, dim=getattr(features, "dim", None))
    # the untrained student's held-out misordering: the reference for "did it learn"
    heldout_init = mean_misordering(student, heldout_data, device) if heldout_data.n else np.nan
    ckpt = out_dir / "checkpoints" / f"{cond.name}.{seed}"
    result = train(student, train_data, config, device, ckpt, desc=f"{cond.name} s{seed}")
    stats = group_statistics(train_data, preset.tau)
    train_risk = mean_loss(student, train_data, config, device)
    heldout_risk = mean_loss(student, heldout_data, config, device) if heldout_data.n else np.nan
    heldout_mis = mean_misordering(student, heldout_data, device) if heldout_data.n else np.nan
    fraction = learned_fraction(heldout_init, heldout_mis)
    learned = bool(fraction >= preset.learned_threshold)  # NaN → False: no evidence it moved
    bound = theorem_iii(student, cond.loss, preset.tau, train_risk, stats, train_data.n)
    lipschitz = student.lipschitz_bound()
    kappa = kappa_of(inputs.sampler_measures, cond.sampler, inputs.provenance.get("train_dataset"))
    record = cond.record(seed)

    rows, per_query, sar = [], [], []
    for es in inputs.eval_sets:
        data = state.eval_data[(cond.student, es.name)]
        scores = evaluation.score_candidates(student, data, preset.eval_batch, device)
        run = evaluation.run_frame(
            es.candidates.query_ids, es.candidates.doc_ids, scores, es.candidates.valid
        )
        evaluation.write_trec_run(
            out_dir / "runs" / f"{cond.name}.{seed}.{es.name}.run", run, "locent"
        )
        pq, missed = evaluation.evaluate_run(run, es.qrels)
        agree = agreement(scores, es, preset.tau)
        agree.insert(0, results.QUERY_ID, es.candidates.query_ids.astype(str))
        extra = agree.melt(
            results.QUERY_ID, [results.MISORDERING, results.BREGMAN_RISK], "measure", "value"
        )
        pq = pd.concat([pq, extra.dropna(subset=["value"])], ignore_index=True)
        per_query.append(
            pq.assign(condition=cond.name, dataset=es.name, **record, **{results.LEARNED: learned})
        )
        means = pq.groupby("measure")["value"].mean()
        row = ResultRow(
            condition=cond,
            seed=seed,
            dataset=es.name,
            measures={m: means.get(m, np.nan) for m in evaluation.MEASURES},
            misordering=float(agree[results.MISORDERING].mean()),
            bregman_risk=float(agree[results.BREGMAN_RISK].mean()),
            stats=stats,
            kappa_Q=kappa,
            bound=bound,
            n_train=train_data.n,
            steps=result.steps_done,
            lr=config.lr,
            items=config.items_per_run,
            train_risk=train_risk,
            heldout_risk=heldout_risk,
            heldout_misordering=heldout_mis,
            heldout_misordering_init=heldout_init,
            learned_fraction=fraction,
            learned=learned,
            lipschitz=np.nan if lipschitz is None else lipschitz,
            n_missed_queries=missed,
            n_no_comparable=int(agree[results.MISORDERING].isna().sum()),
        )
        rows.append(row.to_record())
        if es.name == SCORE_AT_RANK_DATASET:
            s = evaluation.score_at_rank(es.candidates.query_ids, scores, es.candidates.valid)
            sar.append(s.assign(model=cond.name, condition=cond.name, dataset=es.name, **record))
    # the step log's ``loss`` value becomes ``step_loss``: ``loss`` is the condition's loss name
    logs = result.logs.rename(columns={"loss": STEP_LOSS}).assign(condition=cond.name, **record)
    atomic_write_parquet(pd.DataFrame(rows), cell / "results.parquet")
    atomic_write_parquet(pd.concat(per_query, ignore_index=True), cell / "per_query.parquet")
    atomic_write_parquet(logs, cell / "logs.parquet")
    if sar:
        atomic_write_parquet(pd.concat(sar, ignore_index=True), cell / "score_at_rank.parquet")
    atomic_write_json(
        cell / "done.json",
        {
            "condition": cond.name,
            "seed": seed,
            "seconds": time.perf_counter() - t0,
            "pairwise_entropy": stats.pairwise_entropy,
            results.DIAMETER_Q_99: stats.diameter_Q_99,
            "teacher_lipschitz": stats.teacher_lipschitz,
            "n_zero_distance_pairs": stats.n_zero_distance_pairs,
            results.HELDOUT_MISORDERING_INIT: heldout_init,
            results.HELDOUT_MISORDERING: heldout_mis,
            results.LEARNED_FRACTION: fraction,
            results.LEARNED: learned,
        },
    )
    shutil.rmtree(ckpt, ignore_errors=True)
