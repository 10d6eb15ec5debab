"""The training grid: student × loss × sampler × entropy subset × seed, trained, evaluated, tabled.

``run_grid(inputs, preset, out_dir)`` trains every condition of a :class:`Preset` on the stored
groups, re-ranks every test set, and writes under ``out_dir`` (= ``<out>/realdata/grid/<preset>``):

- ``results.csv``: one row per condition × seed × test dataset (columns of docs/CONTRACTS.md plus
  ``condition, n_train, steps, lr, items, train_risk, heldout_risk, heldout_misordering,
  lipschitz, teacher_lipschitz, bound_iii_form, n_missed_queries, n_no_comparable``);
- ``lr_selection.csv`` (+ provenance) when the preset's ``lr`` is ``"auto"``: per student ×
  architecture × loss and candidate learning rate, the validation misordering against the teacher
  (:mod:`locent.realdata.lr_selection`; held-out *training* queries, never test qrels) and which
  one was chosen;
- ``per_query.parquet`` (``condition, seed, dataset, query_id, measure, value``; baselines have
  condition ``baseline:<system>`` and seed −1), ``logs.parquet``, ``score_at_rank.parquet``,
  ``baselines.csv`` (BM25, teacher, ``encoder_cosine`` = the untrained frozen-bi student, shipped
  runs), ``entropy_thresholds.json``, ``runs/<condition>.<seed>.<dataset>.run``.

Each cell (condition × seed) is written to ``cells/<condition>.<seed>/`` and marked done last,
so an interrupted grid resumes from the finished cells (and the unfinished cell from its
training checkpoint). Budgets: every condition runs ``preset.steps`` optimiser steps of
``preset.batch_size`` groups, whatever its sampler or subset, with one learning rate per
student × architecture × loss (the preset's number, or the ``"auto"`` choice made once on the
reference sampler and first seed).

Risk beside locality and entropy: ``diameter_Q`` = Δ̂_Q (α = 0.99 quantile over training queries
of each group's 0.99-essential diameter in the encoder space), ``pairwise_entropy`` = mean
teacher pairwise entropy H(g) of the training groups, ``kappa_Q`` from
``realdata/measure/samplers.csv`` when present. ``heldout_risk`` is the trained loss on a held-out
tenth of the sampler's groups (same ν), the quantity Theorem 2.1 (iii) bounds by ``bound_iii``;
``heldout_misordering`` the student's misordering rate against the teacher on those groups.
"""

from __future__ import annotations

import functools
import json
import shutil
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from locent.realdata import evaluation
from locent.realdata.entropy_cuts import entropy_subsets, query_entropies
from locent.realdata.lr_selection import (
    LR_CANDIDATES,
    SELECTION_COLUMNS,
    mean_misordering,
    select_learning_rate,
    validation_split,
)
from locent.realdata.students import build_student
from locent.realdata.training import TrainConfig, resolve_device, train
from locent.realdata.training_data import GroupData

from locent.progress import progress
from locent.provenance import (
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    provenance_record,
    read_provenance,
    to_json,
    write_with_provenance,
)

RESULT_COLUMNS = [
    "student",
    "arch",
    "loss",
    "sampler",
    "subset",
    "seed",
    "dataset",
    *evaluation.MEASURES,
    "misordering",
    "bregman_risk",
    "diameter_Q",
    "pairwise_entropy",
    "kappa_Q",
    "bound_iii",
    "bound_iii_vacuous",
]
#: The dataset whose score-at-rank curves are kept (the paper's Figs 2 and 4 use DL19).
SCORE_AT_RANK_DATASET = "dl19"
BOUND_DELTA = 0.05


@dataclass
class EvalSet:
    """A test set: candidates, qrels, teacher scores on the candidates ``(nq, k)``.

    ``teacher`` may be None (not scored, e.g. out-of-domain sets on a slow CPU): then teacher
    agreement is NaN for this set (counted in ``n_no_comparable``) and no teacher row is written.
    """

    name: str
    candidates: evaluation.Candidates
    qrels: pd.DataFrame
    teacher: np.ndarray
    shipped_runs: dict = field(default_factory=dict)


@dataclass
class GridInputs:
    """What a grid trains and tests on (real: :mod:`locent.realdata.training_inputs`)."""

    groups: dict
    features: dict
    eval_sets: list
    sampler_measures: pd.DataFrame | None = None
    provenance: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    student: str
    arch: str
    loss: str
    sampler: str
    subset: str = "full"

    @property
    def name(self) -> str:
        return f"{self.student}-{self.arch}+{self.loss}+{self.sampler}+{self.subset}"


@dataclass
class Preset:
    name: str
    students: tuple = (("frozen", "bi"),)
    samplers: tuple = ("random", "bm25", "teacher", "ensemble")
    losses: tuple = ("lce", "soft_ranknet", "margin_mse", "listwise_kl")
    seeds: tuple = (0, 1, 2)
    steps: int = 300
    batch_size: int = 32
    #: a number, or "auto": chosen per student × loss on held-out training queries
    lr: float | str = 2e-3
    tau: float = 1.0
    #: entropy cuts: (loss, sampler) pairs trained on every subset, for each student.
    cuts: tuple = ()
    #: which entropy subsets the cuts train (default: all of ``entropy_cuts.SUBSETS``)
    cut_subsets: tuple | None = None
    heldout_frac: float = 0.1
    eval_batch: int = 64
    #: ``lr="auto"``: candidates, validation fraction / seed (:mod:`locent.realdata.lr_selection`)
    #: and the reference sampler; the reference seed is the preset's first seed.
    lr_candidates: tuple = LR_CANDIDATES
    validation_frac: float = 0.2
    validation_seed: int = 0
    lr_reference_sampler: str = "bm25"

    def __post_init__(self) -> None:
        if self.lr != "auto" and not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(
                f"preset {self.name!r}: lr must be a number > 0 or 'auto'; got {self.lr!r}"
            )

    def needed_samplers(self) -> list[str]:
        """Samplers whose groups the grid reads: those of the conditions, plus the reference
        sampler of the learning-rate selection when ``lr="auto"``."""
        needed = {c.sampler for c in self.conditions()}
        if self.lr == "auto":
            needed.add(self.lr_reference_sampler)
        return sorted(needed)

    def conditions(self) -> list[Condition]:
        out = [
            Condition(s, a, loss, sampler)
            for s, a in self.students
            for loss in self.losses
            for sampler in self.samplers
        ]
        from locent.realdata.entropy_cuts import SUBSETS

        subsets = SUBSETS if self.cut_subsets is None else self.cut_subsets
        unknown = sorted(set(subsets) - set(SUBSETS))
        if unknown:
            raise ValueError(f"unknown entropy subsets {unknown}; known: {SUBSETS}")
        for s, a in self.students:
            for loss, sampler in self.cuts:
                out += [Condition(s, a, loss, sampler, sub) for sub in subsets if sub != "full"]
                if Condition(s, a, loss, sampler) not in out:
                    out.append(Condition(s, a, loss, sampler))
        return out


#: smoke: seconds, for tests (synthetic world). default: frozen bilinear student, 4 samplers x 4
#: losses x 3 seeds + the entropy cuts of (soft_ranknet, bm25): 66 cells, 150 steps x 16 groups;
#: measured 207 s wall on this 2-core CPU after a cold prepare (100 training queries, test sets
#: dl19 dl20 cranfield vaswani, learning-rate selection included). paper: frozen bilinear + cross
#: MLP students (2 architectures) x 4 x 4 x 3 seeds + cuts of (soft_ranknet, bm25) and
#: (listwise_kl, teacher): 168 cells, 300 steps x 32; measured 963 s wall on the same store.
#: Pass ``--student transformer`` on a GPU for the paper's fine-tuned students.
#: Learning rate: default and paper choose it (``"auto"``, per student × loss, on held-out training
#: queries of the bm25 groups). Measured on the 96-query store, default preset, all 48 full-set
#: cells: mean held-out misordering 0.325 with "auto" (1e-4, 3e-4 for soft RankNet) against 0.343
#: with the former fixed 2e-3 (better in 34 of 48 cells). smoke keeps a fixed 2e-3 for speed.
PRESETS = {
    "smoke": Preset(
        "smoke",
        samplers=("random", "bm25"),
        losses=("lce", "soft_ranknet"),
        seeds=(0, 1),
        steps=12,
        batch_size=8,
        cuts=(("soft_ranknet", "bm25"),),
        cut_subsets=("keep_below_median", "keep_tukey_inliers"),
    ),
    "default": Preset(
        "default", steps=150, batch_size=16, lr="auto", cuts=(("soft_ranknet", "bm25"),)
    ),
    "paper": Preset(
        "paper",
        students=(("frozen", "bi"), ("frozen", "cross")),
        lr="auto",
        cuts=(("soft_ranknet", "bm25"), ("listwise_kl", "teacher")),
    ),
}


# --------------------------------------------------------------------------- pieces of a cell


def heldout_mask(query_ids, frac: float) -> np.ndarray:
    """Deterministic held-out split by a CRC32 hash of the query id (same for every seed)."""
    h = np.array([zlib.crc32(str(q).encode()) for q in query_ids], dtype=np.int64)
    return (h % 1000) < int(round(frac * 1000))


def empirical_teacher_lipschitz(teacher, item_emb) -> tuple[float, int]:
    """max over pairs |t_i − t_j| / ‖e_i − e_j‖ (a lower estimate of L_g), #pairs skipped (d≈0)."""
    from locent.theory import pair_index

    i, j = pair_index(teacher.shape[1])
    dt = np.abs(teacher[:, i] - teacher[:, j])
    d = np.linalg.norm(item_emb[:, i] - item_emb[:, j], axis=-1)
    ok = d > 1e-6
    return float((dt[ok] / d[ok]).max()) if ok.any() else float("nan"), int((~ok).sum())


def group_statistics(data: GroupData, tau: float) -> dict:
    """Δ̂_Q, H(g) and the empirical teacher Lipschitz constant of training groups."""
    from locent.theory import aggregate_diameter, essential_diameter

    out = {"pairwise_entropy": float(query_entropies(data.teacher_scores, tau).mean())}
    if hasattr(data.features, "item_embeddings"):
        emb = data.features.item_embeddings(data.resolved).astype(np.float64)
        per_query = np.asarray(essential_diameter(emb, alpha=0.99))
        out["diameter_Q"] = float(aggregate_diameter(per_query, alpha=0.99))
        out["teacher_lipschitz"], out["n_zero_distance_pairs"] = empirical_teacher_lipschitz(
            data.teacher_scores, emb
        )
    else:
        out.update(diameter_Q=np.nan, teacher_lipschitz=np.nan, n_zero_distance_pairs=0)
    return out


@torch.no_grad()
def mean_loss(student, data: GroupData, config: TrainConfig, device, batch: int = 256) -> float:
    """Mean per-query training loss over all groups of ``data`` (the empirical risk R̂)."""
    from locent.theory import LOSSES

    student.eval()
    total = 0.0
    for start in range(0, data.n, batch):
        b = data.batch(np.arange(start, min(start + batch, data.n))).to(device)
        total += float(
            LOSSES[config.loss](student.score(b).float(), b.teacher, tau=config.tau).sum()
        )
    return total / max(1, data.n)


def theorem_iii(student, loss, tau, train_risk, stats, n) -> dict:
    """Theorem 2.1 (iii) for a frozen student: bound, vacuous flag, and which form was used."""
    from locent.theory import is_vacuous, loss_range, rademacher_bound, rademacher_rho

    nan = {
        "bound_iii": np.nan,
        "bound_iii_vacuous": None,
        "bound_iii_form": "n/a",
        "loss_range": np.nan,
    }
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
        return nan
    L_g, diam = stats["teacher_lipschitz"], stats["diameter_Q"]
    if not (np.isfinite(L_g) and np.isfinite(diam)):
        return nan
    try:
        rho = float(rademacher_rho(loss, tau, weight_norm, feature_lip, L_g, diam))
        rng = float(loss_range(loss, weight_norm * feature_lip, L_g, diam, tau))
    except ValueError:  # no ρ / range for this loss (contrastive, listwise): not evaluated
        return {**nan, "bound_iii_form": f"{form}: not stated for {loss}"}
    bound = float(
        rademacher_bound(train_risk, rho, weight_norm, feature_lip, diam, n, BOUND_DELTA, rng)
    )
    return {
        "bound_iii": bound,
        "bound_iii_vacuous": bool(is_vacuous(bound, rng)),
        "bound_iii_form": form,
        "loss_range": rng,
    }


def with_features(data: GroupData, features) -> GroupData:
    """``data`` resolved against ``features`` (itself when it already uses them)."""
    if data.features is features:
        return data
    return GroupData(data.query_ids, data.doc_ids, data.teacher_scores, features, data.valid)


def train_config(preset: Preset, loss: str, seed: int, lr: float) -> TrainConfig:
    """The trainer's configuration of one cell: the preset's budget, ``loss``, ``seed``, ``lr``."""
    return TrainConfig(
        loss=loss,
        tau=preset.tau,
        steps=preset.steps,
        batch_size=preset.batch_size,
        lr=lr,
        seed=seed,
        checkpoint_every=max(1, preset.steps // 4),
    )


def learning_rates(inputs: GridInputs, preset: Preset, out_dir: Path, device, cache) -> dict:
    """(student, arch, loss) → learning rate: the preset's number, or the ``"auto"`` selection.

    ``"auto"`` (rule in :mod:`locent.realdata.lr_selection`): on the reference sampler's training
    groups (the held-out tenth already removed), split by :func:`validation_split`, train each
    candidate with the preset's budget and first seed, choose by validation misordering against
    the teacher. Writes ``lr_selection.csv`` (+ provenance with the rule and the validation query
    ids); a table written under the same rule is reused on resume.
    """
    keys = sorted({(c.student, c.arch, c.loss) for c in preset.conditions()})
    if preset.lr != "auto":
        return {key: float(preset.lr) for key in keys}
    reference = cache["splits"][preset.lr_reference_sampler]["train"]
    is_val = validation_split(reference.query_ids, preset.validation_frac, preset.validation_seed)
    seed = preset.seeds[0]
    rule = json.loads(
        to_json(
            {
                "candidates": sorted(float(c) for c in preset.lr_candidates),
                "criterion": "mean validation misordering rate vs teacher; ties -> smaller lr",
                "split": "first max(2, round(frac*n)) query ids by CRC32('<seed>:<id>')",
                "validation_frac": preset.validation_frac,
                "validation_seed": preset.validation_seed,
                "reference_sampler": preset.lr_reference_sampler,
                "reference_seed": seed,
                "steps": preset.steps,
                "batch_size": preset.batch_size,
                "tau": preset.tau,
                "families_losses": [list(k) for k in keys],
                "n_fit": int((~is_val).sum()),
                "validation_query_ids": sorted(np.unique(reference.query_ids[is_val]).tolist()),
            }
        )
    )
    path = out_dir / "lr_selection.csv"
    if path.exists() and read_provenance(path).get("selection") == rule:
        table = pd.read_csv(path)
    else:
        tables = []
        for student, arch, loss in progress(keys, desc="lr selection", unit="loss"):
            features = inputs.features[student]
            fit = with_features(reference.subset(np.flatnonzero(~is_val)), features)
            validation = with_features(reference.subset(np.flatnonzero(is_val)), features)
            dim = getattr(features, "dim", None)
            table = select_learning_rate(
                functools.partial(build_student, student, arch, dim=dim),
                fit,
                validation,
                train_config(preset, loss, seed, lr=1.0),  # lr replaced by each candidate
                device,
                preset.lr_candidates,
            )
            tables.append(table.assign(student=student, arch=arch, loss=loss))
        table = pd.concat(tables, ignore_index=True)
        table = table.assign(
            reference_sampler=preset.lr_reference_sampler,
            reference_seed=seed,
            n_fit=int((~is_val).sum()),
            n_validation=int(is_val.sum()),
        )[[*SELECTION_COLUMNS, "reference_sampler", "reference_seed", "n_fit", "n_validation"]]
        write_with_provenance(table, path, preset=preset.name, selection=rule, **inputs.provenance)
    chosen = table[table["chosen"].astype(bool)]
    return {(r.student, r.arch, r.loss): float(r.lr) for r in chosen.itertuples()}


def _eval_data(es: EvalSet, features) -> GroupData:
    cand = es.candidates
    teacher = es.teacher if es.teacher is not None else np.zeros(cand.doc_ids.shape)
    return GroupData(cand.query_ids, cand.fill_padding(), teacher, features, cand.valid)


def _agreement(scores, es: EvalSet, tau: float) -> pd.DataFrame:
    if es.teacher is None:
        nan = np.full(es.candidates.n, np.nan)
        return pd.DataFrame({"misordering": nan, "bregman_risk": nan})
    return evaluation.teacher_agreement(scores, es.teacher, es.candidates.valid, tau)


def _kappa(measures: pd.DataFrame | None, sampler: str, dataset: str | None = None) -> float:
    """κ_Q of ``sampler`` from the measure table (rows of the training dataset when named)."""
    if measures is None or "kappa_Q" not in measures.columns:
        return np.nan
    rows = measures[measures["sampler"] == sampler]
    if dataset is not None and "dataset" in rows.columns and (rows["dataset"] == dataset).any():
        rows = rows[rows["dataset"] == dataset]
    return float(rows["kappa_Q"].iloc[0]) if len(rows) else np.nan


def run_cell(
    cond: Condition, seed: int, inputs: GridInputs, preset: Preset, out_dir: Path, device, cache
) -> None:
    """Train one condition with one seed, evaluate it, write ``cells/<name>.<seed>/``."""
    cell = out_dir / "cells" / f"{cond.name}.{seed}"
    if (cell / "done.json").exists():
        return
    t0 = time.perf_counter()
    features = inputs.features[cond.student]
    split = cache["splits"][cond.sampler]
    train_data, heldout_data = split["train"], split["heldout"]
    if cond.subset != "full":
        mask = split["masks"][cond.subset]
        if not mask.any():  # recorded and reported in summary.json, never silently dropped
            reason = f"entropy subset {cond.subset!r} of sampler {cond.sampler!r} is empty"
            atomic_write_json(
                cell / "done.json",
                {"condition": cond.name, "seed": seed, "seconds": 0.0, "skipped": reason},
            )
            return
        train_data = train_data.subset(np.flatnonzero(mask))
    train_data, heldout_data = (
        with_features(train_data, features),
        with_features(heldout_data, features),
    )
    config = train_config(
        preset, cond.loss, seed, cache["lr"][(cond.student, cond.arch, cond.loss)]
    )
    torch.manual_seed(seed)
    student = build_student(cond.student, cond.arch, dim=getattr(features, "dim", None))
    ckpt = out_dir / "checkpoints" / f"{cond.name}.{seed}"
    result = train(student, train_data, config, device, ckpt, desc=f"{cond.name} s{seed}")
    stats = group_statistics(train_data, preset.tau)
    train_risk = mean_loss(student, train_data, config, device)
    heldout_risk = mean_loss(student, heldout_data, config, device) if heldout_data.n else np.nan
    heldout_mis = mean_misordering(student, heldout_data, device) if heldout_data.n else np.nan
    bound = theorem_iii(student, cond.loss, preset.tau, train_risk, stats, train_data.n)
    lipschitz = student.lipschitz_bound()

    rows, per_query, sar = [], [], []
    for es in inputs.eval_sets:
        data = cache["eval"][(cond.student, es.name)]
        scores = evaluation.score_candidates(student, data, preset.eval_batch, device)
        run = evaluation.run_frame(
            es.candidates.query_ids, es.candidates.doc_ids, scores, es.candidates.valid
        )
        evaluation.write_trec_run(
            out_dir / "runs" / f"{cond.name}.{seed}.{es.name}.run", run, "locent"
        )
        pq, missed = evaluation.evaluate_run(run, es.qrels)
        agree = _agreement(scores, es, preset.tau)
        agree.insert(0, "query_id", es.candidates.query_ids.astype(str))
        extra = agree.melt("query_id", ["misordering", "bregman_risk"], "measure", "value")
        pq = pd.concat([pq, extra.dropna(subset=["value"])], ignore_index=True)
        per_query.append(pq.assign(condition=cond.name, seed=seed, dataset=es.name))
        means = pq.groupby("measure")["value"].mean()
        rows.append(
            {
                **asdict(cond),
                "seed": seed,
                "dataset": es.name,
                **{m: float(means.get(m, np.nan)) for m in evaluation.MEASURES},
                "misordering": float(agree["misordering"].mean()),
                "bregman_risk": float(agree["bregman_risk"].mean()),
                "diameter_Q": stats["diameter_Q"],
                "pairwise_entropy": stats["pairwise_entropy"],
                "kappa_Q": _kappa(
                    inputs.sampler_measures, cond.sampler, inputs.provenance.get("train_dataset")
                ),
                "bound_iii": bound["bound_iii"],
                "bound_iii_vacuous": bound["bound_iii_vacuous"],
                "condition": cond.name,
                "n_train": train_data.n,
                "steps": result.steps_done,
                "lr": config.lr,
                "items": config.items_per_run,
                "train_risk": train_risk,
                "heldout_risk": heldout_risk,
                "heldout_misordering": heldout_mis,
                "loss_range": bound["loss_range"],
                "lipschitz": np.nan if lipschitz is None else lipschitz,
                "teacher_lipschitz": stats["teacher_lipschitz"],
                "bound_iii_form": bound["bound_iii_form"],
                "n_missed_queries": missed,
                "n_no_comparable": int(agree["misordering"].isna().sum()),
            }
        )
        if es.name == SCORE_AT_RANK_DATASET:
            s = evaluation.score_at_rank(es.candidates.query_ids, scores, es.candidates.valid)
            sar.append(s.assign(model=cond.name, condition=cond.name, dataset=es.name))
    logs = result.logs.assign(condition=cond.name, seed=seed)
    atomic_write_parquet(pd.DataFrame(rows), cell / "results.parquet")
    atomic_write_parquet(pd.concat(per_query, ignore_index=True), cell / "per_query.parquet")
    atomic_write_parquet(logs, cell / "logs.parquet")
    if sar:
        atomic_write_parquet(pd.concat(sar, ignore_index=True), cell / "score_at_rank.parquet")
    atomic_write_json(
        cell / "done.json",
        {"condition": cond.name, "seed": seed, "seconds": time.perf_counter() - t0, **stats},
    )
    shutil.rmtree(ckpt, ignore_errors=True)


# --------------------------------------------------------------------------- baselines, grid


def baselines(
    inputs: GridInputs, tau: float, cache: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """BM25 (first stage), the teacher, the encoder's cosine and the shipped runs on every test set.

    ``encoder_cosine`` (when the grid has frozen features): cos(q, x) of the frozen encoder, the
    score of the untrained ``frozen-bi`` student, so a reader sees whether training helped.
    ``cache`` (of the grid) supplies the resolved test candidates; without it they are resolved.
    Returns (summary rows, per-query rows, teacher score-at-rank rows).
    """
    rows, per_query, sar = [], [], []
    for es in inputs.eval_sets:
        cand = es.candidates
        systems = {
            "bm25": evaluation.run_frame(
                cand.query_ids, cand.doc_ids, cand.first_stage, cand.valid
            ),
        }
        if es.teacher is not None:
            systems["teacher"] = evaluation.run_frame(
                cand.query_ids, cand.doc_ids, es.teacher, cand.valid
            )
        cosine = None
        if "frozen" in inputs.features:
            data = (cache or {}).get("eval", {}).get(("frozen", es.name))
            data = data if data is not None else _eval_data(es, inputs.features["frozen"])
            cosine = data.features.cosine(data.resolved)
            systems["encoder_cosine"] = evaluation.run_frame(
                cand.query_ids, cand.doc_ids, cosine, cand.valid
            )
        systems.update({f"run:{k}": v for k, v in es.shipped_runs.items()})
        for system, run in systems.items():
            pq, missed = evaluation.evaluate_run(run, es.qrels)
            per_query.append(pq.assign(condition=f"baseline:{system}", seed=-1, dataset=es.name))
            means = pq.groupby("measure")["value"].mean()
            rows.append(
                {
                    "system": system,
                    "dataset": es.name,
                    **{m: float(means.get(m, np.nan)) for m in evaluation.MEASURES},
                    "n_queries": int(pq["query_id"].nunique()),
                    "n_missed_queries": missed,
                }
            )
        for system, scores in (("bm25", cand.first_stage), ("encoder_cosine", cosine)):
            if scores is None:
                continue
            rows.append(
                {
                    "system": f"{system}:misordering_vs_teacher",
                    "dataset": es.name,
                    "misordering": float(_agreement(scores, es, tau)["misordering"].mean()),
                }
            )
        if es.name == SCORE_AT_RANK_DATASET and es.teacher is not None:
            s = evaluation.score_at_rank(cand.query_ids, es.teacher, cand.valid)
            sar.append(s.assign(model="teacher", condition="teacher", dataset=es.name))
    return (
        pd.DataFrame(rows),
        pd.concat(per_query, ignore_index=True),
        pd.concat(sar, ignore_index=True) if sar else pd.DataFrame(),
    )


def _prepare_cache(inputs: GridInputs, preset: Preset, conds: list[Condition]) -> tuple[dict, dict]:
    missing = sorted(set(preset.needed_samplers()) - set(inputs.groups))
    if missing:
        raise ValueError(
            f"preset {preset.name!r} needs groups of samplers {missing}; found "
            f"{sorted(inputs.groups)} (run `locent realdata prepare`, or pass --samplers)"
        )
    cache: dict = {"splits": {}, "eval": {}}
    thresholds = {}
    for sampler in preset.needed_samplers():
        groups = inputs.groups[sampler]
        held = heldout_mask(groups.query_ids, preset.heldout_frac)
        # resolved against the first family's features; run_cell re-resolves for another family
        feats = inputs.features[conds[0].student]
        train_g, held_g = groups.subset(~held), groups.subset(held)
        entry = {
            "train": GroupData.from_groups(train_g, feats),
            "heldout": GroupData.from_groups(held_g, feats),
        }
        if any(c.sampler == sampler and c.subset != "full" for c in conds):
            masks, th = entropy_subsets(query_entropies(train_g.teacher_scores, preset.tau))
            entry["masks"] = masks
            thresholds[sampler] = {
                **th,
                "tau": preset.tau,
                "n_train": int(train_g.n),
                "kept": {name: int(m.sum()) for name, m in masks.items()},
            }
        cache["splits"][sampler] = entry
    for student in sorted({c.student for c in conds}):
        for es in inputs.eval_sets:
            cache["eval"][(student, es.name)] = _eval_data(es, inputs.features[student])
    return cache, thresholds


def run_grid(
    inputs: GridInputs,
    preset: Preset,
    out_dir,
    device: str = "auto",
    resume: bool = True,
    threads: int | None = 1,
) -> dict:
    """Run (or resume) every cell of ``preset`` and assemble the tables; returns their paths.

    ``threads``: torch intra-op threads while the grid runs (default 1: the frozen students are
    tiny and many threads on a small shared machine mostly wait on each other; None: unchanged).
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run_grid(inputs, preset, Path(out_dir), device, resume)
    finally:
        torch.set_num_threads(previous)


def _run_grid(inputs: GridInputs, preset: Preset, out_dir: Path, device, resume: bool) -> dict:
    if not resume and out_dir.exists():
        shutil.rmtree(out_dir)
    device = resolve_device(device)
    conds = preset.conditions()
    cache, thresholds = _prepare_cache(inputs, preset, conds)
    atomic_write_json(out_dir / "entropy_thresholds.json", thresholds)
    t0 = time.perf_counter()
    cache["lr"] = learning_rates(inputs, preset, out_dir, device, cache)
    cells = [(c, s) for c in conds for s in preset.seeds]
    for cond, seed in progress(cells, desc=f"grid {preset.name}", unit="run"):
        run_cell(cond, seed, inputs, preset, out_dir, device, cache)
    base, base_pq, teacher_sar = baselines(inputs, preset.tau, cache)
    paths = assemble(out_dir, cells, base, base_pq, teacher_sar, preset, inputs)
    summary = {
        "preset": preset.name,
        "n_cells": len(cells),
        "seconds_this_call": time.perf_counter() - t0,
        "skipped_cells": {
            f"{c.name}.{s}": done["skipped"]
            for c, s in cells
            if "skipped"
            in (done := json.loads((out_dir / "cells" / f"{c.name}.{s}" / "done.json").read_text()))
        },
        "cell_seconds_total": sum(
            json.loads((out_dir / "cells" / f"{c.name}.{s}" / "done.json").read_text())["seconds"]
            for c, s in cells
        ),
        "device": str(device),
        "learning_rates": {f"{s}-{a}+{loss}": lr for (s, a, loss), lr in cache["lr"].items()},
        "preset_config": asdict(preset),
    }
    atomic_write_json(out_dir / "summary.json", summary)
    return paths


def assemble(out_dir: Path, cells, base, base_pq, teacher_sar, preset, inputs) -> dict:
    """Concatenate the finished cells into the grid tables (each with provenance)."""

    def gather(name):
        frames = [
            pd.read_parquet(out_dir / "cells" / f"{c.name}.{s}" / name)
            for c, s in cells
            if (out_dir / "cells" / f"{c.name}.{s}" / name).exists()
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    prov = {"preset": preset.name, "preset_config": asdict(preset), **inputs.provenance}
    results = gather("results.parquet")
    extra = [c for c in results.columns if c not in RESULT_COLUMNS]
    results = results[RESULT_COLUMNS + extra]
    paths = {"results": out_dir / "results.csv"}
    atomic_write_text(paths["results"], results.to_csv(index=False))
    atomic_write_json(out_dir / "results.provenance.json", provenance_record(**prov))
    per_query = pd.concat([gather("per_query.parquet"), base_pq], ignore_index=True)
    per_query = per_query[["condition", "seed", "dataset", "query_id", "measure", "value"]]
    sar = pd.concat([teacher_sar, gather("score_at_rank.parquet")], ignore_index=True)
    if len(sar):
        sar = sar[["model", "condition", "dataset", "query_id", "rank", "score"]]
    logs = gather("logs.parquet")[["condition", "seed", "step", "loss", "kl", "grad_norm", "lr"]]
    for name, frame in (("per_query", per_query), ("logs", logs), ("score_at_rank", sar)):
        paths[name] = out_dir / f"{name}.parquet"
        write_with_provenance(frame, paths[name], **prov)
    paths["baselines"] = out_dir / "baselines.csv"
    atomic_write_text(paths["baselines"], base.to_csv(index=False))
    atomic_write_json(out_dir / "baselines.provenance.json", provenance_record(**prov))
    return paths
