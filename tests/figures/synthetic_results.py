"""A tiny synthetic result tree under ``--out`` in the layout and column names of locent.results.

Used by the figure, check, report and pipeline tests. ``contradict`` names the predictions
(THEORY.md §7 items) whose evidence is generated to contradict them; by default every prediction
is supported, so each check's verdict must flip from PASS to FAIL when its item is contradicted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SAMPLERS = ("random", "bm25", "dense", "teacher", "ensemble")
GRID_SAMPLERS = ("random", "bm25", "teacher", "ensemble")
LOSSES = ("margin_mse", "soft_ranknet", "lce")
DATASETS = {"msmarco-passage/trec-dl-2019/judged": 43, "msmarco-passage/trec-dl-2020/judged": 54}


def _h(p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def write_theory(out: Path, contradict=()) -> None:
    rows = [
        {"statement": s, "method": "exhaustive grid", "result": "PASS", "detail": "0 violations"}
        for s in ("Lemma A", "Lemma B", "Lemma C", "Corollary 2.1", "Theorem 2.1 (iii)")
    ]
    if 1 in contradict:
        rows[1]["result"] = "FAIL"
    (out / "theory").mkdir(parents=True, exist_ok=True)
    (out / "theory" / "results.json").write_text(json.dumps(rows))


def write_simulation(out: Path, preset: str = "smoke", contradict=(), seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    knobs = (0.2, 0.5, 1.0, 1.5)
    for s_i, sampler in enumerate(("knn", "ball", "softmax", "random")):
        for knob in knobs:
            for tau in (0.5, 1.0):
                for run_seed in range(3):
                    diameter = 0.3 + 0.4 * knob + 0.1 * s_i + 0.02 * rng.standard_normal()
                    lg = 2.0
                    floor = float(_h(_sigmoid(lg * diameter / tau)))
                    entropy = floor + 0.05 + 0.01 * rng.random()
                    risk = 0.05 + 0.02 * diameter + 0.01 * rng.random()
                    loss_range = 0.5 + diameter
                    bound_iii = risk + 0.3 * diameter + 0.1
                    mis = 0.1 + 0.2 * (knob - 0.8) ** 2 + 0.1 * entropy + 0.01 * rng.random()
                    rows.append(
                        dict(
                            space="sphere",
                            sampler=f"{sampler}({knob:g})",
                            sampler_family=sampler,
                            knob=knob,
                            tau=tau,
                            teacher_lipschitz=lg,
                            n=256,
                            loss="soft_ranknet",
                            seed=run_seed,
                            diameter_Q_99=diameter,
                            pairwise_entropy=entropy,
                            kappa_Q=1.0 + knob,
                            population_risk=risk,
                            bound_iii=bound_iii,
                            loss_range_Q=loss_range,
                            misordering_nu=mis,
                            bound_ii=mis + 0.2 + entropy,
                        )
                    )
    table = pd.DataFrame(rows)
    if 8 in contradict:  # every (iii) bound above its loss range
        table["bound_iii"] = table["loss_range_Q"] + 1.0
    summary = {
        "n_runs": len(table),
        "exact_violations": 0,
        "theorem_iii_violation_rate": 0.01,
        "delta": 0.05,
        "spearman_gap_vs_diameter": 0.62,
        "spearman_gap_vs_diameter_p": 0.001,
        "spearman_floor_vs_entropy": 0.71,
        "spearman_floor_vs_entropy_p": 0.0004,
        "spearman_entropy_vs_diameter": -0.83,
        "spearman_entropy_vs_diameter_p": 1e-6,
        "intermediate_locality_optimum": True,
        "table": "table.parquet",
    }
    summary.update(_issue12_evidence(len(table), contradict))
    if 1 in contradict:
        summary["theorem_iii_violation_rate"] = 0.5
    if 2 in contradict:
        summary["spearman_gap_vs_diameter"] = -0.4
        summary["gap_vs_diameter_regression"].update(slope_std=-0.4, ci=[-0.6, -0.2], p=0.999)
    if 3 in contradict:
        summary.update(spearman_entropy_vs_diameter=0.5, spearman_entropy_vs_diameter_p=0.999)
        summary["spearman_entropy_vs_diameter_ci"] = [0.3, 0.7]
    if 4 in contradict:
        summary["intermediate_locality_optimum"] = False
    significant = 1 if 4 in contradict else 3  # of 4 (τ, loss, n) cells; > half passes
    summary["intermediate_locality_detail"] = {
        "cells": [{"tau_unit": t} for t in (0.5, 1.0, 1.5, 2.0)],
        "cells_interior": 4,
        "cells_significant": significant,
        "knobs": list(knobs),
    }
    folder = out / "simulate" / preset
    folder.mkdir(parents=True, exist_ok=True)
    table.to_parquet(folder / "table.parquet", index=False)
    (folder / "summary.json").write_text(json.dumps(summary))


def _issue12_evidence(runs: int, contradict=()) -> dict:
    """The unit-level, split-half, Rademacher and a-priori vacuity keys of summary.json
    (simulate/analysis.py), supporting items 1, 2, 4 and 8 unless contradicted."""
    mutation = {
        "factor": 0.5,
        "runs": runs,
        "gap_violations": 0,
        "gap_violation_rate": 0.0,
        "rademacher_violations": runs // 3,
        "rademacher_violation_rate": (runs // 3) / runs,
    }
    cells = [
        {
            "tau_unit": tau,
            "loss": "soft_ranknet",
            "n": n,
            "argmin_knob": 0.5 if 4 not in contradict else 1.5,
            "interior": 4 not in contradict,
            "significant_intermediate": 4 not in contradict,
        }
        for tau in (0.5, 1.0)
        for n in (16, 64, 256)
    ]
    return {
        "spearman_gap_vs_diameter_n": 48,
        "spearman_gap_vs_diameter_ci": [0.4, 0.8],
        "spearman_floor_vs_entropy_n": 48,
        "spearman_floor_vs_entropy_ci": [0.5, 0.85],
        "spearman_entropy_vs_diameter_n": 48,
        "spearman_entropy_vs_diameter_ci": [-0.9, -0.7],
        "gap_vs_diameter_regression": {
            "slope_std": 0.45,
            "ci": [0.25, 0.65],
            "p": 0.001,
            "n": 48,
            "strata": 6,
        },
        "theorem_iii_rademacher_check_violations": 0,
        "theorem_iii_rademacher_tightness": {"runs": runs, "median": 2.5, "max": 4.0},
        "theorem_iii_mutations": {s: dict(mutation) for s in ("rho", "W", "Lambda", "Delta")},
        "intermediate_locality_split_optimum": 4 not in contradict,
        "intermediate_locality_split_detail": {
            "verdict": 4 not in contradict,
            "cells": cells,
            "knobs": [0.2, 0.5, 1.0, 1.5],
            "select_seeds": [0],
            "test_seeds": [1, 2],
        },
        "theorem_iii_vacuity_by_loss": {
            "soft_ranknet": {
                "n_used": [256],
                "smallest_non_vacuous_n_a_priori_max": 40.0,
                "by_n": {
                    "256": {
                        "runs": runs,
                        "non_vacuous_fraction": 0.0 if 8 in contradict else 0.9,
                        "bound_over_range_median": 1.5 if 8 in contradict else 0.4,
                    }
                },
            }
        },
    }


def write_measure(out: Path, contradict=(), seed: int = 0, n_queries: int = 60) -> None:
    rng = np.random.default_rng(seed + 1)
    diam = {"random": 1.35, "bm25": 1.20, "dense": 1.10, "teacher": 1.16, "ensemble": 1.13}
    ent = {"random": 0.30, "bm25": 0.50, "dense": 0.62, "teacher": 0.55, "ensemble": 0.58}
    if 3 in contradict:
        ent = {k: 1.0 - v for k, v in ent.items()}
    base = 1.2 + 0.03 * rng.standard_normal(n_queries)
    rows = []
    for s in SAMPLERS:
        shift = diam[s] - diam["bm25"] if s in ("random",) else -0.01 if s != "bm25" else 0.0
        if 6 in contradict and s == "teacher":
            shift = -0.4
        d = base + shift + 0.005 * rng.standard_normal(n_queries)
        h = ent[s] + 0.02 * rng.standard_normal(n_queries)
        kappa = np.where(rng.random(n_queries) < 0.1, np.inf, 1 + 5 * rng.random(n_queries))
        for q in range(n_queries):
            rows.append(
                dict(
                    dataset="msmarco-passage/dev/small",
                    sampler=s,
                    query_id=str(q),
                    diameter_99=float(d[q]),
                    diameter_100=float(d[q]) + 0.01,
                    pairwise_entropy=float(h[q]),
                    listwise_entropy=float(h[q]) * 2,
                    kappa=float(kappa[q]),
                )
            )
    per_query = pd.DataFrame(rows)
    samplers = pd.DataFrame(
        [
            dict(
                dataset="msmarco-passage/dev/small",
                sampler=s,
                diameter_Q_99=diam[s],
                diameter_Q_100=diam[s] + 0.02,
                diameter_mean_99=diam[s] - 0.1,
                pairwise_entropy=ent[s],
                listwise_entropy=2 * ent[s],
                kappa_Q=float(i + 2),
                coverage=0.5 + 0.1 * i,
            )
            for i, s in enumerate(SAMPLERS)
        ]
    )
    folder = out / "realdata" / "measure"
    folder.mkdir(parents=True, exist_ok=True)
    per_query.to_parquet(folder / "per_query.parquet", index=False)
    samplers.to_csv(folder / "samplers.csv", index=False)


def _conditions():
    """(condition columns without the seed, loss, sampler, subset) of every trained condition."""
    conds = []
    for loss in LOSSES:
        for s in GRID_SAMPLERS:
            conds.append((_condition(loss, s, "full"), loss, s, "full"))
    for subset in ("keep_tukey_inliers", "drop_upper_quartile", "keep_tukey_outliers"):
        conds.append((_condition("soft_ranknet", "bm25", subset), "soft_ranknet", "bm25", subset))
    return conds


def _condition(loss, sampler, subset):
    return {
        "student": "frozen",
        "arch": "bi",
        "loss": loss,
        "sampler": sampler,
        "subset": subset,
    }


def write_grid(out: Path, preset: str = "smoke", contradict=(), seed: int = 0) -> None:
    rng = np.random.default_rng(seed + 2)
    lce_effect = {"random": -0.10, "bm25": 0.0, "teacher": 0.05, "ensemble": 0.04}
    subset_effect = {
        "full": 0.0,
        "keep_tukey_inliers": 0.005,
        "drop_upper_quartile": 0.0,
        "keep_tukey_outliers": -0.08,
    }
    if 7 in contradict:
        subset_effect["keep_tukey_outliers"] = 0.01
    base = {ds: rng.uniform(0.3, 0.7, n) for ds, n in DATASETS.items()}
    pq_rows, res_rows, log_rows, sar_rows = [], [], [], []
    for cond, loss, sampler, subset in _conditions():
        effect = lce_effect[sampler] if loss == "lce" else 0.0
        if 5 in contradict and loss == "soft_ranknet" and sampler == "teacher":
            effect = 0.1
        effect += subset_effect[subset]
        for run_seed in (0, 1):
            for ds, n in DATASETS.items():
                values = np.clip(base[ds] + effect + 0.01 * rng.standard_normal(n), 0, 1)
                for q in range(n):
                    pq_rows.append(
                        dict(
                            **cond,
                            seed=run_seed,
                            dataset=ds,
                            query_id=f"{ds[-11:-7]}{q}",
                            measure="nDCG@10",
                            value=float(values[q]),
                        )
                    )
                res_rows.append(
                    {
                        **cond,
                        "seed": run_seed,
                        "dataset": ds,
                        "nDCG@10": float(values.mean()),
                        "AP(rel=2)": float(values.mean()) - 0.1,
                        "RR(rel=2)@10": float(values.mean()) + 0.1,
                        "misordering": 0.2,
                        "bregman_risk": 0.1,
                        "diameter_Q_99": 1.2,
                        "pairwise_entropy": 0.5,
                        "kappa_Q": 3.0,
                        "bound_iii": 0.4,
                        "bound_iii_vacuous": False,
                        "n_train": 200 if subset == "full" else 100,
                    }
                )
            steps = np.arange(0, 50, 5)
            for step in steps:
                log_rows.append(
                    dict(
                        **cond,
                        seed=run_seed,
                        step=int(step),
                        step_loss=float(1 / (1 + step)),
                        kl=float(0.5 / (1 + step)),
                        grad_norm=float(2.0 / np.sqrt(1 + step)),
                        lr=1e-3,
                    )
                )
    for system, shift in (("bm25", -0.1), ("teacher", 0.15)):
        for ds, n in DATASETS.items():
            for q in range(n):
                pq_rows.append(
                    dict(
                        system=system,
                        dataset=ds,
                        query_id=f"{ds[-11:-7]}{q}",
                        measure="nDCG@10",
                        value=float(np.clip(base[ds][q] + shift, 0, 1)),
                    )
                )
    ranks = np.arange(1, 21)
    for ds in DATASETS:
        for q in range(5):
            teacher = 10 * (ranks / 20.0) ** -0.3 + 0.1 * rng.random(20)
            for r, sc in zip(ranks, np.sort(teacher)[::-1]):
                sar_rows.append(
                    dict(
                        system="teacher",
                        dataset=ds,
                        query_id=str(q),
                        rank=int(r),
                        score=float(sc),
                    )
                )
            for cond, _loss, _sampler, subset in _conditions():
                if subset != "full":
                    continue
                scores = np.sort(2 - 0.1 * ranks + 0.05 * rng.standard_normal(20))[::-1]
                for r, sc in zip(ranks, scores):
                    sar_rows.append(
                        dict(
                            **cond,
                            seed=0,
                            dataset=ds,
                            query_id=str(q),
                            rank=int(r),
                            score=float(sc),
                        )
                    )
    folder = out / "realdata" / "grid" / preset
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(pq_rows).to_parquet(folder / "per_query.parquet", index=False)
    pd.DataFrame(res_rows).to_csv(folder / "results.csv", index=False)
    pd.DataFrame(log_rows).to_parquet(folder / "logs.parquet", index=False)
    pd.DataFrame(sar_rows).to_parquet(folder / "score_at_rank.parquet", index=False)
    write_grid_report(folder, pd.DataFrame(pq_rows), pd.DataFrame(res_rows))
    (folder / "summary.json").write_text(json.dumps({"device": "cpu", "preset": preset}))


def write_grid_report(folder: Path, per_query: pd.DataFrame, results: pd.DataFrame) -> None:
    """The grid report's tables (realdata/report.py layout): table1.csv (mean ± std over seeds
    per student × loss × sampler on the full set), significance.csv (each sampler against bm25,
    paired t over queries) and baselines.csv (untrained systems; the student initialisation's
    misordering against the teacher, above the trained students' 0.2: they learned)."""
    from scipy import stats

    trained = per_query[per_query["system"].isna() & (per_query["subset"] == "full")]
    wide = trained.pivot_table(
        index=["loss", "dataset", "query_id"], columns="sampler", values="value", aggfunc="mean"
    )
    sig = []
    for (loss, ds), part in wide.groupby(level=["loss", "dataset"]):
        for sampler in (s for s in GRID_SAMPLERS if s != "bm25"):
            d = part[sampler] - part["bm25"]
            t = stats.ttest_rel(part[sampler], part["bm25"])
            sig.append(
                {
                    "student_arch": "frozen-bi",
                    "loss": loss,
                    "family_sampler": "*",
                    "dataset": ds,
                    "measure": "nDCG@10",
                    "system": sampler,
                    "reference": "bm25",
                    "mean_diff": d.mean(),
                    "t": t.statistic,
                    "p_t": t.pvalue,
                    "p_t_holm": min(1.0, 3 * t.pvalue),
                    "margin": 0.02,
                    "n_queries": len(d),
                    "significant": bool(3 * t.pvalue < 0.05),
                    "equivalent": False,
                    "kind": "sampler",
                }
            )
    marks = {
        (r["loss"], r["dataset"], r["system"]): ("▲" if r["mean_diff"] > 0 else "▼")
        for r in sig
        if r["significant"]
    }
    full = results[results["subset"] == "full"]
    rows = []
    for (loss, sampler), part in full.groupby(["loss", "sampler"]):
        row = {"student_arch": "frozen-bi", "loss": loss, "sampler": sampler}
        for ds in DATASETS:
            v = part.loc[part["dataset"] == ds, "nDCG@10"]
            row.update({f"{ds} nDCG@10 mean": v.mean(), f"{ds} nDCG@10 std": v.std(ddof=1)})
            row[f"{ds} nDCG@10 mark"] = marks.get((loss, ds, sampler), "")
        rows.append({**row, "n_seeds": part["seed"].nunique()})
    pd.DataFrame(rows).to_csv(folder / "table1.csv", index=False)
    cuts = results[(results["loss"] == "soft_ranknet") & (results["sampler"] == "bm25")]
    cut_rows = []
    for subset, part in cuts.groupby("subset"):
        row = {"student_arch": "frozen-bi", "loss": "soft_ranknet", "sampler": "bm25"}
        for ds in DATASETS:
            v = part.loc[part["dataset"] == ds, "nDCG@10"]
            row.update({f"{ds} nDCG@10 mean": v.mean(), f"{ds} nDCG@10 std": v.std(ddof=1)})
            row[f"{ds} nDCG@10 mark"] = ""
        cut_rows.append({**row, "subset": subset, "n_seeds": part["seed"].nunique()})
        if subset == "full":
            continue
        for ds in DATASETS:
            pair = per_query[
                per_query["system"].isna()
                & (per_query["loss"] == "soft_ranknet")
                & (per_query["sampler"] == "bm25")
                & (per_query["dataset"] == ds)
            ].pivot_table(index="query_id", columns="subset", values="value", aggfunc="mean")
            t = stats.ttest_rel(pair[subset], pair["full"])
            sig.append(
                {
                    "student_arch": "frozen-bi",
                    "loss": "soft_ranknet",
                    "family_sampler": "bm25",
                    "dataset": ds,
                    "measure": "nDCG@10",
                    "system": subset,
                    "reference": "full",
                    "mean_diff": (pair[subset] - pair["full"]).mean(),
                    "t": t.statistic,
                    "n_queries": len(pair),
                    "kind": "entropy_cut",
                }
            )
    pd.DataFrame(cut_rows).to_csv(folder / "entropy_cuts.csv", index=False)
    pd.DataFrame(sig).to_csv(folder / "significance.csv", index=False)
    base = [
        {"system": s, "dataset": ds, "nDCG@10": v + 0.01 * i}
        for i, ds in enumerate(DATASETS)
        for s, v in (("bm25", 0.4), ("run:bm25", 0.4), ("teacher", 0.65), ("encoder_cosine", 0.5))
    ]
    base += [
        {"system": "encoder_cosine:misordering_vs_teacher", "dataset": ds, "misordering": 0.3}
        for ds in DATASETS
    ]
    pd.DataFrame(base).to_csv(folder / "baselines.csv", index=False)


def dependence_cells(contradict=(), seed: int = 0) -> pd.DataFrame:
    """The dependence sweep's cells.csv: 8 locality levels (gap rising with Δ̂_Q/√n, or falling
    when item 2 is contradicted) and 6 teacher variants of ``dense@64`` (floor rising with H)."""
    rng = np.random.default_rng(seed + 5)
    sign = -1.0 if 2 in contradict else 1.0
    rows = []
    common = {"student": "frozen", "arch": "cross", "loss": "margin_mse", "learned": True,
              "bregman_risk": 0.5, "nDCG@10": 0.5, "train_risk": 1.0}  # fmt: skip
    for i in range(8):
        diam, level = 1.40 + 0.02 * i, ("dense@64" if i == 2 else f"bm25@{16 * 2**i}")
        bias = rng.normal(0, 0.002)
        for s, n in ((0, 70), (1, 70), (0, 35)):
            gap = sign * 0.5 * diam / np.sqrt(n) + bias + rng.normal(0, 0.001)
            rows.append({**common, "sampler": level, "knob": "locality", "knob_sampler": level,
                         "teacher_variant": "teacher", "subset": "full" if n == 70 else f"n={n}",
                         "seed": s, "dataset": "dl19", "n_train": n, "diameter_Q_99": diam,
                         "pairwise_entropy": 0.3, "estimation_gap": gap,
                         "heldout_risk": 1.0 + gap,
                         "heldout_misordering": 0.2 + sign * 0.3 * 0.3})  # fmt: skip
    for j, h in enumerate((0.1, 0.2, 0.4, 0.5, 0.6)):
        bias = rng.normal(0, 0.005)
        for s in (0, 1):
            rows.append({**common, "sampler": f"dense@64~v{j}", "knob": "entropy",
                         "knob_sampler": "dense@64", "teacher_variant": f"v{j}", "subset": "full",
                         "seed": s, "dataset": "dl19", "n_train": 70, "diameter_Q_99": 1.44,
                         "pairwise_entropy": h, "estimation_gap": 0.0, "heldout_risk": 1.0,
                         "heldout_misordering": 0.2 + sign * 0.3 * h + bias})  # fmt: skip
    return pd.DataFrame(rows)


def write_dependence(out: Path, preset: str = "smoke", contradict=(), seed: int = 0) -> None:
    """``realdata/dependence/<preset>/cells.csv`` and its fit (the real fitting code)."""
    from locent.realdata.dependence.fit import fit_dependence

    folder = out / "realdata" / "dependence" / preset
    folder.mkdir(parents=True, exist_ok=True)
    cells = dependence_cells(contradict, seed)
    cells.to_csv(folder / "cells.csv", index=False)
    fit = fit_dependence(cells, "dl19", "dense@64")
    fit.to_csv(folder / "fit.csv", index=False)  # no provenance: the tree's records are fixed


def write_all(out: Path, contradict=(), seed: int = 0) -> Path:
    out = Path(out)
    write_theory(out, contradict)
    write_simulation(out, contradict=contradict, seed=seed)
    write_measure(out, contradict=contradict, seed=seed)
    write_grid(out, contradict=contradict, seed=seed)
    write_dependence(out, contradict=contradict, seed=seed)
    return out
