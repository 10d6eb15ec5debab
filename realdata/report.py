"""Table 1 of the grid: effectiveness by loss × sampler with paired significance marks.

Reads ``results.csv``, ``per_query.parquet`` and ``baselines.csv`` of a grid folder and writes

- ``table1.md`` / ``table1.csv``: rows student × loss × sampler (full training set), columns
  DL19/DL20 nDCG@10 and AP(rel=2) and out-of-domain nDCG@10, each ``mean ± std`` over seeds with
  a mark from the paired comparison against the reference sampler of the same loss;
- ``entropy_cuts.md`` / ``.csv``: the entropy-cut subsets against ``full`` (same marks);
- ``significance.csv``: every paired comparison (t-test, randomisation test, both Holm-adjusted
  within a loss × dataset × measure family, TOST with the declared margin);
- ``risk.csv``: per condition the held-out misordering and Bregman risk beside Δ̂_Q, H(g), κ_Q,
  the training / held-out risk and the Theorem 2.1 (iii) bound.

Baseline rows above the table: BM25, the teacher, the encoder's cosine (= the untrained
``frozen-bi`` student, so a reader sees whether training helped) and the shipped runs. When the
grid chose its learning rates (``lr_selection.csv``), a section lists them with their validation
criterion.

Marks: ▲ / ▼ significantly better / worse than the reference (paired t-test **and**
randomisation test over queries, per-query values averaged over seeds, Holm-adjusted p < α);
≈ equivalent within ±margin (TOST p < α); no mark: neither.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata.stats import paired_comparisons

from locent import results as results_contract
from locent.provenance import atomic_write_text, provenance_path, read_provenance

IN_DOMAIN = ("dl19", "dl20")
COLUMNS = (("dl19", "nDCG@10"), ("dl19", "AP(rel=2)"), ("dl20", "nDCG@10"), ("dl20", "AP(rel=2)"))
OOD_MEASURE = "nDCG@10"
#: the condition record without the seed: the key of rows that aggregate over seeds
RECORD = [c for c in results_contract.CONDITION_COLUMNS if c != results_contract.SEED]


def _columns(datasets) -> list[tuple[str, str]]:
    cols = [c for c in COLUMNS if c[0] in datasets]
    cols += [(d, OOD_MEASURE) for d in sorted(datasets) if d not in IN_DOMAIN]
    return cols


def _mark(row) -> str:
    if row is None:
        return ""
    if row["significant"]:
        return "▲" if row["mean_diff"] > 0 else "▼"
    return "≈" if row["equivalent"] else ""


def _comparisons(per_query, conds, reference_col, reference, margin, alpha, seed) -> pd.DataFrame:
    """Paired comparisons within student × loss (× sampler for cuts) × dataset × measure."""
    pq = per_query.merge(conds, on="condition")
    pq = pq.groupby(
        ["student_arch", "loss", "family_sampler", "dataset", "measure", reference_col, "query_id"],
        as_index=False,
    )["value"].mean()
    return paired_comparisons(
        pq,
        reference,
        ["student_arch", "loss", "family_sampler", "dataset", "measure"],
        reference_col,
        margin=margin,
        alpha=alpha,
        seed=seed,
    )


def build_tables(
    grid_dir,
    reference_sampler: str = "bm25",
    margin: float = 0.02,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict:
    grid_dir = Path(grid_dir)
    path = grid_dir / "results.csv"
    if not path.exists():
        raise FileNotFoundError(f"no grid results at {path}; run `locent realdata grid` first")
    results = pd.read_csv(path)
    # the record columns come back from ``conds`` (keyed by the condition label) below
    per_query = pd.read_parquet(grid_dir / "per_query.parquet").drop(
        columns=RECORD, errors="ignore"
    )
    baselines = (
        pd.read_csv(grid_dir / "baselines.csv") if (grid_dir / "baselines.csv").exists() else None
    )
    encoder = None
    if provenance_path(path).exists():
        encoder = read_provenance(path).get("encoder")
    lr_path = grid_dir / "lr_selection.csv"
    lr_selection = pd.read_csv(lr_path) if lr_path.exists() else None
    results["student_arch"] = results["student"] + "-" + results["arch"]
    results["family_sampler"] = np.where(results["subset"] == "full", "*", results["sampler"])
    conds = results[
        ["condition", "student_arch", "loss", "sampler", "subset", "family_sampler"]
    ].drop_duplicates()
    cols = _columns(set(results["dataset"]))

    # --- main table: full subsets, samplers against the reference sampler
    full = results[results["subset"] == "full"]
    samplers = sorted(full["sampler"].unique())
    reference = reference_sampler if reference_sampler in samplers else samplers[0]
    sig_main = _comparisons(
        per_query, conds[conds["subset"] == "full"], "sampler", reference, margin, alpha, seed
    )
    seeds = full.groupby(["student_arch", "loss", "sampler"])["seed"].nunique()
    table = _with_record(
        _wide(full, ["student_arch", "loss", "sampler"], cols, sig_main, "sampler"), results
    )
    # --- entropy cuts: subsets against full, within student × loss × sampler
    cut_conds = results[results["subset"] != "full"][
        ["student_arch", "loss", "sampler"]
    ].drop_duplicates()
    cuts = results.merge(cut_conds, on=["student_arch", "loss", "sampler"])
    cut_table, sig_cuts = None, pd.DataFrame()
    if len(cuts):
        cc = conds.merge(cut_conds, on=["student_arch", "loss", "sampler"]).copy()
        cc["family_sampler"] = cc["sampler"]
        sig_cuts = _comparisons(per_query, cc, "subset", "full", margin, alpha, seed)
        cut_table = _with_record(
            _wide(
                cuts.assign(family_sampler=cuts["sampler"]),
                ["student_arch", "loss", "sampler", "subset"],
                cols,
                sig_cuts,
                "subset",
            ),
            results,
        )
    # --- risk beside locality and entropy (in-domain test candidates, seed means)
    risk_cols = [
        "misordering",
        "bregman_risk",
        results_contract.DIAMETER_Q_99,
        results_contract.PAIRWISE_ENTROPY,
        results_contract.KAPPA_Q,
        "train_risk",
        "heldout_risk",
        "heldout_misordering",
        results_contract.BOUND_III,
        results_contract.LOSS_RANGE_Q,
        "lipschitz",
    ]
    risk_cols = [c for c in risk_cols if c in results.columns]
    risk = (
        results[results["dataset"].isin(IN_DOMAIN)]
        .groupby(["condition", *RECORD, "student_arch"], as_index=False)[risk_cols]
        .mean()
    )
    if "bound_iii_vacuous" in results.columns:
        vac = results.groupby("condition")["bound_iii_vacuous"].agg(
            lambda s: s.dropna().astype(str).unique().tolist()
        )
        risk["bound_iii_vacuous"] = risk["condition"].map(
            lambda c: ",".join(vac.get(c, [])) or "n/a"
        )
    return {
        "table": table,
        "cut_table": cut_table,
        "significance": pd.concat(
            [sig_main.assign(kind="sampler"), sig_cuts.assign(kind="entropy_cut")],
            ignore_index=True,
        ),
        "risk": risk,
        "baselines": baselines,
        "encoder": encoder,
        "lr_selection": lr_selection,
        "columns": cols,
        "reference": reference,
        "margin": margin,
        "alpha": alpha,
        "n_seeds": int(seeds.min()) if len(seeds) else 0,
    }


def _with_record(table: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """``table`` (keyed by ``student_arch``, loss, sampler[, subset]) with the condition record
    columns student, arch, subset added after ``student_arch`` (the display label), so readers
    never split the label."""
    if not len(table):
        return table
    names = results[["student_arch", "student", "arch"]].drop_duplicates()
    out = table.merge(names, on="student_arch", how="left", validate="many_to_one")
    if "subset" not in out.columns:
        out["subset"] = "full"
    first = ["student_arch", *RECORD]
    return out[first + [c for c in out.columns if c not in first]]


def _wide(results, keys, cols, sig, system_col) -> pd.DataFrame:
    measures = list(dict.fromkeys(m for _, m in cols))
    per_seed = results.groupby([*keys, "seed", "dataset"], as_index=False)[measures].mean()
    rows = []
    sig_index = {}
    for _, r in sig.iterrows():
        sig_index[
            (
                r["student_arch"],
                r["loss"],
                r["family_sampler"],
                r["dataset"],
                r["measure"],
                r["system"],
            )
        ] = r
    for key, grp in per_seed.groupby(keys, sort=True):
        row = dict(zip(keys, key))
        fam = row.get("sampler") if system_col == "subset" else "*"
        for dataset, measure in cols:
            vals = grp[grp["dataset"] == dataset][measure].dropna()
            name = f"{dataset} {measure}"
            row[f"{name} mean"] = float(vals.mean()) if len(vals) else np.nan
            row[f"{name} std"] = float(vals.std(ddof=1)) if len(vals) > 1 else np.nan
            s = sig_index.get(
                (row["student_arch"], row["loss"], fam, dataset, measure, row[system_col])
            )
            row[f"{name} mark"] = _mark(s)
        row["n_seeds"] = int(grp["seed"].nunique())
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(mean, std, mark) -> str:
    if not np.isfinite(mean):
        return "–"
    text = f"{mean:.3f}"
    if np.isfinite(std):
        text += f" ± {std:.3f}"
    return text + (f" {mark}" if mark else "")


def baseline_label(system: str, encoder: str | None = None) -> str:
    """Row label of a baseline system; ``encoder_cosine`` names the encoder (the student init)."""
    if system == "encoder_cosine":
        name = str(encoder).rsplit("/", 1)[-1] if encoder else "encoder"
        return f"{name} cosine (student init)"
    return system


def _markdown_table(table, keys, cols, baselines=None, encoder=None) -> str:
    head = [*keys, *(f"{d} {m}" for d, m in cols), "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    if baselines is not None:
        shown = r"^(bm25|teacher|encoder_cosine|run:.*)$"
        b = baselines[baselines["system"].astype(str).str.match(shown)]
        for system, grp in b.groupby("system", sort=False):
            cells = [f"baseline: {baseline_label(system, encoder)}"] + [""] * (len(keys) - 1)
            for d, m in cols:
                v = grp[grp["dataset"] == d][m]
                cells.append(
                    f"{float(v.iloc[0]):.3f}" if len(v) and np.isfinite(v.iloc[0]) else "–"
                )
            lines.append("| " + " | ".join([*cells, "–"]) + " |")
    for _, r in table.iterrows():
        cells = [str(r[k]) for k in keys]
        for d, m in cols:
            name = f"{d} {m}"
            cells.append(_fmt(r[f"{name} mean"], r[f"{name} std"], r[f"{name} mark"]))
        lines.append("| " + " | ".join([*cells, str(r["n_seeds"])]) + " |")
    return "\n".join(lines)


def legend(reference, margin, alpha, subject="sampler") -> str:
    return (
        f"Cells: mean ± std over seeds of the per-seed mean over queries. Marks compare each "
        f"{subject} with the reference ({reference}) of the same student and loss, paired over "
        f"queries (per-query values averaged over seeds): ▲/▼ = significantly better/worse "
        f"(paired t-test and paired randomisation test both with Holm-adjusted p < {alpha}, "
        f"family = the {subject}s of one loss × dataset × measure); ≈ = equivalent within "
        f"±{margin} (TOST, p < {alpha}); no mark = neither. Out-of-domain columns (vaswani, "
        f"cranfield) re-rank a bm25s top-100."
    )


def write_report(
    grid_dir, reference_sampler: str = "bm25", margin: float = 0.02, alpha: float = 0.05
) -> str:
    """Write the report files into ``grid_dir`` and return the Markdown text."""
    grid_dir = Path(grid_dir)
    t = build_tables(grid_dir, reference_sampler, margin, alpha)
    cols = t["columns"]
    md = [
        f"# Table 1 (grid `{grid_dir.name}`): effectiveness by loss × sampler",
        "",
        _markdown_table(
            t["table"], ["student_arch", "loss", "sampler"], cols, t["baselines"], t["encoder"]
        ),
        "",
        legend(t["reference"], t["margin"], t["alpha"]),
    ]
    if t["lr_selection"] is not None:
        md += ["", *_lr_section(t["lr_selection"])]
    atomic_write_text(grid_dir / "table1.csv", t["table"].to_csv(index=False))
    if t["cut_table"] is not None:
        cut_md = _markdown_table(
            t["cut_table"], ["student_arch", "loss", "sampler", "subset"], cols
        )
        md += [
            "",
            "## Entropy cuts (subsets named by what they keep)",
            "",
            cut_md,
            "",
            legend("full", t["margin"], t["alpha"], subject="subset"),
        ]
        atomic_write_text(grid_dir / "entropy_cuts.csv", t["cut_table"].to_csv(index=False))
        atomic_write_text(grid_dir / "entropy_cuts.md", cut_md + "\n")
    risk = t["risk"]
    md += [
        "",
        "## Risk beside locality and entropy (DL19+DL20 test candidates, seed means)",
        "",
        risk.drop(columns=["student_arch"]).to_markdown(index=False, floatfmt=".4g")
        if _has_tabulate()
        else risk.to_string(index=False),
    ]
    atomic_write_text(grid_dir / "risk.csv", risk.to_csv(index=False))
    atomic_write_text(grid_dir / "significance.csv", t["significance"].to_csv(index=False))
    text = "\n".join(md) + "\n"
    atomic_write_text(grid_dir / "table1.md", text)
    return text


def _lr_section(selection: pd.DataFrame) -> list[str]:
    """Markdown lines: the learning rate chosen per student × loss × sampler, every candidate's
    value."""
    lines = [
        "## Learning rates (chosen on held-out training queries, never on test qrels)",
        "",
        "| student_arch | loss | sampler | chosen lr | validation misordering per lr | untrained |",
        "|---|---|---|---|---|---|",
    ]
    for (student, arch, loss, sampler), grp in selection.groupby(
        ["student", "arch", "loss", "sampler"]
    ):
        grp = grp.sort_values("lr")
        values = ", ".join(
            f"{lr:g}: {v:.4f}" for lr, v in zip(grp["lr"], grp["validation_misordering"])
        )
        chosen = float(grp.loc[grp["chosen"].astype(bool), "lr"].iloc[0])
        init = float(grp["validation_misordering_init"].iloc[0])
        lines.append(
            f"| {student}-{arch} | {loss} | {sampler} | {chosen:g} | {values} | {init:.4f} |"
        )
    first = selection.iloc[0]
    lines += [
        "",
        f"Criterion: mean misordering rate against the teacher on {int(first['n_validation'])} "
        f"validation groups (trained on {int(first['n_fit'])}) of each sampler's own training "
        f"groups, seed {int(first['seed'])}; ties to the smaller lr; the chosen lr is used for "
        "every subset and seed of that sampler and loss. *untrained*: the student before "
        "training.",
    ]
    return lines


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
