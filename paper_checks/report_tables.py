"""The report's tables, read from the result files (no statistic is recomputed here).

- :func:`table1_differences`: the grid's Table 1 (``table1.csv``) as differences to the
  reference sampler with their confidence intervals and marks (``significance.csv``);
- :func:`baseline_table`: the untrained systems, each listed once, with a legend;
- :func:`numbers_tables`: a check's numbers as a small table of scalars plus one row per compared
  thing (``gain[teacher vs bm25]`` … become one row ``teacher vs bm25`` with a ``gain`` column);
- :func:`provenance_groups`: provenance records as readable key–value rows, each pair once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from locent.figures.tables import dataset_label
from scipy import stats

from locent import results as R

# significance.csv of the grid (realdata/report.py): one paired comparison per row
SIG_SYSTEM, SIG_REFERENCE, SIG_DIFF, SIG_T, SIG_N = (
    "system",
    "reference",
    "mean_diff",
    "t",
    "n_queries",
)
SIG_KIND, SIG_CI_LOW, SIG_CI_HIGH, SIG_MARGIN = "kind", "ci_low", "ci_high", "margin"
#: the grid's label of a student (``frozen-bi``) in table1.csv and significance.csv
STUDENT_ARCH = "student_arch"
CONFIDENCE = 0.95

#: What each untrained system of the grid's baselines.csv is.
BASELINE_LEGEND = {
    "bm25": "BM25 ranking of the test candidates (the first stage every system re-ranks)",
    "teacher": "the teacher re-ranking the candidates (what the students distil)",
    "encoder_cosine": "the encoder's cosine similarity = the frozen-bi student before training",
}
RUN_LEGEND = "a published run of the test collection ({name}), evaluated as shipped"


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def difference_ci(row: pd.Series) -> tuple[float, float]:
    """95% interval of a paired mean difference d̄ from the grid's comparison row.

    The grid's ``ci_low``/``ci_high`` when it wrote them; else the paired t-interval implied by
    its own t statistic: se = d̄ / t, d̄ ± t_{0.975, n−1}·se (the interval that inverts the
    paired t-test the marks come from). NaN when t = 0 (se not recoverable).
    """
    if SIG_CI_LOW in row and SIG_CI_HIGH in row:
        return float(row[SIG_CI_LOW]), float(row[SIG_CI_HIGH])
    d, t, n = float(row[SIG_DIFF]), float(row[SIG_T]), int(row[SIG_N])
    if not np.isfinite(t):
        return d, d  # no spread: every query differs by d̄
    if t == 0 or n < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * abs(d / t)
    return d - half, d + half


def _signed(x: float) -> str:
    return f"{x:+.4f}".replace("-", "−")


#: The two comparison tables of the grid report: (file, significance kind, compared column).
TABLE1 = ("table1.csv", "sampler", R.SAMPLER)
ENTROPY_CUTS = ("entropy_cuts.csv", "entropy_cut", R.SUBSET)


def table1_differences(
    grid: Path, measure: str = R.NDCG_10, which: tuple[str, str, str] = TABLE1
) -> tuple[pd.DataFrame, str] | None:
    """The grid's Table 1 (or, with ``which=ENTROPY_CUTS``, its entropy-cut table) with
    differences. Rows: student, loss, sampler (and subset). Per test set: ``mean ± sd`` over
    seeds (the table's own cells) and, for every row but the reference, ``Δ [95% CI] mark``
    against the reference (bm25 sampler, resp. the full set) of the same student and loss
    (significance.csv). Returns (table, reference name) or None when the table is absent."""
    name, kind, compared = which
    table, sig = _read(grid / name), _read(grid / "significance.csv")
    if table is None:
        return None
    datasets = [
        m.group(1)
        for c in table.columns
        if (m := re.fullmatch(rf"(\S+) {re.escape(measure)} mean", c))
    ]
    if sig is not None and SIG_KIND in sig.columns:
        sig = sig[sig[SIG_KIND] == kind]
    if sig is not None:
        sig = sig[sig["measure"] == measure]
    reference = str(sig[SIG_REFERENCE].iloc[0]) if sig is not None and len(sig) else "reference"
    keys = [R.LOSS, R.SAMPLER] + ([R.SUBSET] if compared == R.SUBSET else [])
    rows = []
    for r in table.to_dict("records"):
        out = {"student": r[STUDENT_ARCH], **{k: r[k] for k in keys}}
        for ds in datasets:
            mean, sd = r.get(f"{ds} {measure} mean"), r.get(f"{ds} {measure} std")
            label = dataset_label(ds)
            cell = "–" if pd.isna(mean) else f"{mean:.3f}" + ("" if pd.isna(sd) else f" ± {sd:.3f}")
            out[f"{label} {measure}"] = cell
            out[f"{label} Δ vs {reference} [95% CI]"] = _difference_cell(
                sig, r, ds, compared, reference, r.get(f"{ds} {measure} mark")
            )
        out["seeds"] = r.get("n_seeds", "–")
        rows.append(out)
    return pd.DataFrame(rows), reference


def _difference_cell(sig, r: dict, ds: str, compared: str, reference: str, mark) -> str:
    if str(r[compared]) == reference:
        return "reference"
    if sig is None:
        return "–"
    match = sig[
        (sig[STUDENT_ARCH] == r[STUDENT_ARCH])
        & (sig[R.LOSS] == r[R.LOSS])
        & (sig[R.DATASET] == ds)
        & (sig[SIG_SYSTEM] == r[compared])
    ]
    if compared == R.SUBSET and "family_sampler" in sig.columns:
        match = match[match["family_sampler"] == r[R.SAMPLER]]  # cuts: within one sampler
    if match.empty:
        return "–"
    row = match.iloc[0]
    lo, hi = difference_ci(row)
    ci = "" if not np.isfinite(lo) else f" [{_signed(lo)}, {_signed(hi)}]"
    mark = "" if pd.isna(mark) or not str(mark).strip() else f" {mark}"
    return f"{_signed(float(row[SIG_DIFF]))}{ci}{mark}"


def table1_legend(grid: Path, reference: str, subject: str = "sampler") -> str:
    within = "student and loss" if subject == "sampler" else "student, loss and sampler"
    sig = _read(grid / "significance.csv")
    margin = (
        f"±{float(sig[SIG_MARGIN].iloc[0]):g}"
        if sig is not None and SIG_MARGIN in sig.columns and len(sig)
        else "the grid's margin"
    )
    return (
        f"Each cell: mean ± sd over seeds of the per-seed mean over queries. Δ: paired mean "
        f"difference to the reference {subject} ({reference}) of the same {within}, over "
        f"the test queries (per-query values averaged over seeds), with its 95% paired "
        f"t-interval. Marks (the grid's): ▲ / ▼ significantly better / worse (paired t-test and "
        f"randomisation test, both Holm-adjusted p < α); ≈ equivalent within {margin} (TOST, "
        f"p < α); no mark: neither shown. – : not available."
    )


def baseline_table(grid: Path, measure: str = R.NDCG_10) -> pd.DataFrame | None:
    """One row per untrained system (systems with equal values everywhere share a row), its
    ``measure`` per test set, and what it is."""
    base = _read(grid / "baselines.csv")
    if base is None or measure not in base.columns:
        return None
    base = base[~base["system"].astype(str).str.contains(":misordering_vs_teacher")]
    base = base.assign(label=base[R.DATASET].astype(str).map(dataset_label))
    wide = base.pivot_table(index="system", columns="label", values=measure, aggfunc="mean")
    if wide.empty:
        return None
    groups: dict[tuple, list[str]] = {}
    for system, row in wide.iterrows():
        groups.setdefault(tuple(np.round(row.to_numpy(float), 6)), []).append(str(system))
    rows = []
    for key, names in sorted(groups.items(), key=lambda kv: -np.nanmax(kv[0])):
        row = {"system": " = ".join(names)}
        row.update({f"{ds} {measure}": v for ds, v in zip(wide.columns, key)})
        row["what it is"] = "; ".join(_legend(n) for n in names)
        rows.append(row)
    return pd.DataFrame(rows)


def _legend(system: str) -> str:
    if system.startswith("run:"):
        return RUN_LEGEND.format(name=system.removeprefix("run:"))
    return BASELINE_LEGEND.get(system, system)


def numbers_tables(numbers: dict) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(scalars, keyed): ``name`` numbers as rows ``number, value``; ``name[key]`` numbers as
    one row per ``key`` with a column per ``name`` (None when there are none)."""
    scalars, keyed = [], {}
    for name, value in sorted(numbers.items()):
        match = re.fullmatch(r"([^\[]+)\[(.*)\]", name)
        if match:
            keyed.setdefault(match.group(2), {})[match.group(1)] = value
        else:
            scalars.append((name, value))
    scalar_df = pd.DataFrame(scalars, columns=["number", "value"])
    if not keyed:
        return scalar_df, None
    keyed_df = pd.DataFrame.from_dict(keyed, orient="index")
    keyed_df.index.name = "compared"
    return scalar_df, keyed_df.reset_index()


def _flatten(value, prefix: str = "") -> list[tuple[str, str]]:
    """Nested records as ``(dotted.key, readable value)`` rows; lists of scalars joined."""
    if isinstance(value, dict):
        rows = []
        for k in sorted(value, key=str):
            rows += _flatten(value[k], f"{prefix}.{k}" if prefix else str(k))
        return rows
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return [(prefix, ", ".join(map(str, value)))]
        rows = []
        for i, v in enumerate(value):
            rows += _flatten(v, f"{prefix}[{i}]")
        return rows
    return [(prefix, "–" if value is None else str(value))]


def _common(records: list[dict[str, str]]) -> dict[str, str]:
    """The (key, value) pairs every one of ``records`` has."""
    first, *rest = records
    return {k: v for k, v in first.items() if all(r.get(k) == v for r in rest)}


def provenance_groups(out: Path) -> list[tuple[str, pd.DataFrame]]:
    """Every ``*.provenance.json`` under ``out`` as readable key–value rows, without repeats:
    first the pairs all records share, then per folder the pairs its records share, then per
    record the rest. Returns ``[(title, rows[key, value]), …]`` (empty tables left out); an
    unreadable record is one row saying so."""
    records: dict[str, dict[str, str]] = {}
    for path in sorted(out.rglob("*.provenance.json")):
        name = str(path.relative_to(out)).removesuffix(".provenance.json")
        try:
            records[name] = dict(_flatten(json.loads(path.read_text())))
        except (OSError, ValueError) as err:
            records[name] = {"unreadable": f"{type(err).__name__}: {err}"}
    if not records:
        return []
    shared = _common(list(records.values())) if len(records) > 1 else {}
    groups = [(f"shared by all {len(records)} records", shared)]
    folders: dict[str, list[str]] = {}
    for name in records:
        folders.setdefault(str(Path(name).parent), []).append(name)
    for folder, names in folders.items():
        rest = {n: {k: v for k, v in records[n].items() if k not in shared} for n in names}
        common = _common(list(rest.values())) if len(names) > 1 else {}
        groups.append((f"{folder}/ (shared by its {len(names)} records)", common))
        for n in names:
            groups.append((n, {k: v for k, v in rest[n].items() if k not in common}))
    return [
        (title, pd.DataFrame(sorted(pairs.items()), columns=["key", "value"]))
        for title, pairs in groups
        if pairs
    ]
