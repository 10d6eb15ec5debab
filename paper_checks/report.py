"""The report: ``report/index.html`` (one static offline file) and ``report/REPORT.md``.

Order, for a reader with one minute: a banner naming failed stages (when ``locent run`` recorded
any), the scope banner (presets, queries, seeds, whether the students learned, hardware:
:mod:`.report_scope`), then the verdict table, each row naming the sub-criterion that decided it
(:mod:`.report_parts`). Below: each check (statement, criterion, its parts, numbers and evidence
collapsed), Table 1 as differences to the reference sampler with CIs and the baselines listed
once (:mod:`.report_tables`), the sampler table, the theory statements, every figure once, and
the provenance collapsed as key–value rows. Images are embedded once each as base64 data URIs;
the CSS is inline; there is no script.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from locent.figures.build import FigureRecord
from locent.paper_checks import report_html as H
from locent.paper_checks.report_html import VERDICT_BACKGROUND, VERDICT_COLOURS
from locent.paper_checks.report_parts import decided_by, parts_of
from locent.paper_checks.report_scope import failed_stages, scope_facts
from locent.paper_checks.report_tables import (
    ENTROPY_CUTS,
    baseline_table,
    numbers_tables,
    provenance_groups,
    table1_differences,
    table1_legend,
)
from locent.paper_checks.verdicts import CheckResult
from locent.realdata.dependence.fit import learned_count

from locent import results as R
from locent.provenance import atomic_write_json, atomic_write_text, provenance_record
from locent.results import ResultPaths

__all__ = ["VERDICT_BACKGROUND", "VERDICT_COLOURS", "build_report", "verdict_frame"]

#: Number tables longer than this are collapsed.
LONG = 10


def verdict_frame(results: Sequence[CheckResult]) -> pd.DataFrame:
    """The verdict table: item, check, verdict, its stability (share of query-bootstrap and
    leave-one-seed-out re-judgements that agree; "fragile" below 90%; "—" where not computed)
    and the sub-criterion that decided it."""
    return pd.DataFrame(
        [(r.item, r.name, str(r.verdict), _stability(r), decided_by(r)) for r in results],
        columns=["item", "check", "verdict", "stability", "decided by"],
    )


def _stability(r: CheckResult) -> str:
    if getattr(r, "stability", None) is None:
        return "—"
    return f"{r.stability:.0%}" + (" fragile" if r.fragile else "")


def stage_rows(out: Path) -> pd.DataFrame | None:
    state = out / "run_state.json"
    if not state.is_file():
        return None
    stages = json.loads(state.read_text()).get("stages", {})
    return pd.DataFrame(
        [
            (name, s.get("status"), s.get("wall_s"), s.get("detail", ""))
            for name, s in stages.items()
        ],
        columns=["stage", "status", "wall_s", "detail"],
    )


class _Doc:
    """The HTML and Markdown bodies, written side by side."""

    def __init__(self) -> None:
        self.h: list[str] = []
        self.md: list[str] = []

    def heading(self, level: int, text: str, anchor: str = "") -> None:
        ident = f" id='{H.esc(anchor)}'" if anchor else ""
        self.h.append(f"<h{level}{ident}>{H.esc(text)}</h{level}>")
        self.md.append(f"{'#' * level} {text}\n")

    def note(self, text: str) -> None:
        self.h.append(f"<p class='note'>{H.esc(text)}</p>")
        self.md.append(f"_{text}_\n")

    def table(
        self, df: pd.DataFrame, cls: str = "", summary: str | None = None, long: int = LONG
    ) -> None:
        """``df``; collapsed under ``summary`` when given or when longer than ``long`` rows."""
        if summary is None and len(df) > long:
            summary = f"{len(df)} rows"
        body = H.table(df, cls)
        if summary is None:
            self.h.append(body)
            self.md.append(H.md_table(df) + "\n")
        else:
            self.h.append(H.details(H.esc(summary), body))
            self.md.append(
                f"<details><summary>{summary}</summary>\n\n{H.md_table(df)}\n\n</details>\n"
            )


def _banners(doc: _Doc, paths: ResultPaths) -> None:
    failed = failed_stages(paths)
    if failed:
        items = "".join(
            f"<li><b>{H.esc(s)}</b>{': ' + H.esc(why) if why else ''}</li>" for s, why in failed
        )
        doc.h.append(
            "<section id='stages-failed'><b>Stages failed in this run</b> — the verdicts that "
            f"depend on them are INCONCLUSIVE:<ul>{items}</ul></section>"
        )
        doc.md.append(
            "> **Stages failed in this run** (dependent verdicts are INCONCLUSIVE): "
            + "; ".join(f"{s}{': ' + why if why else ''}" for s, why in failed)
            + "\n"
        )
    facts = scope_facts(paths)
    items = "".join(
        f"<li><b>{H.esc(f.label)}:</b> "
        + (f"<strong>{H.esc(f.text)}</strong>" if f.warn else H.esc(f.text))
        + "</li>"
        for f in facts
    )
    doc.h.append(f"<section id='scope'><b>Scope of this run</b><ul>{items}</ul></section>")
    doc.md.append(
        "**Scope of this run**\n\n" + "".join(f"- **{f.label}:** {f.text}\n" for f in facts)
    )


def _verdicts(doc: _Doc, checks: Sequence[CheckResult]) -> None:
    frame = verdict_frame(checks)
    counts = frame["verdict"].value_counts().to_dict()
    summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in ("PASS", "FAIL", "INCONCLUSIVE"))
    rows = "".join(
        f"<tr><td>{r.item}</td><td><a href='#check-{r.item}'>{H.esc(r.name)}</a></td>"
        f"<td>{H.badge(r.verdict)}</td><td>{H.esc(st)}</td><td>{H.esc(why)}</td></tr>"
        for r, st, why in zip(checks, frame["stability"], frame["decided by"])
    )
    doc.h.append(
        f"<section id='verdicts'><h2>Verdicts (THEORY.md §7): {H.esc(summary)}</h2>"
        "<div class='scroll'><table><tr><th>item</th><th>check</th><th>verdict</th>"
        f"<th>stability</th><th>decided by</th></tr>{rows}</table></div><p class='note'>"
        "Computed from the evidence files under each check. A FAIL is a finding; INCONCLUSIVE: "
        "evidence missing or undecided. “stability”: share of query-bootstrap and "
        "leave-one-seed-out re-judgements that agree (fragile below 90%). “decided by” names "
        "the sub-criterion that set the verdict.</p></section>"
    )
    doc.md.append(f"## Verdicts (THEORY.md §7): {summary}\n")
    doc.md.append(H.md_table(frame) + "\n")


def _check(doc: _Doc, r: CheckResult, out: Path, figure_title: dict) -> None:
    doc.h.append(
        f"<h3 id='check-{r.item}'>{r.item}. {H.esc(r.name)} {H.badge(r.verdict)}</h3>"
        f"<p><b>Statement.</b> {H.esc(r.statement)}</p>"
        f"<p><b>Criterion.</b> {H.esc(r.criterion)}</p>"
    )
    doc.md.append(
        f"### {r.item}. {r.name}: **{r.verdict}**\n\n- Statement: {r.statement}\n"
        f"- Criterion: {r.criterion}\n"
    )
    parts = parts_of(r)
    if parts:
        frame = pd.DataFrame(
            [(p.label, str(p.verdict), p.note) for p in parts],
            columns=["sub-criterion", "verdict", "numbers"],
        )
        doc.table(frame)
    doc.h.append(f"<p><b>Check's explanation.</b> {H.esc(r.explanation)}</p>")
    doc.md.append(f"- Check's explanation: {r.explanation}\n")
    if r.numbers:
        scalars, keyed = numbers_tables(r.numbers)
        if len(scalars):
            doc.table(scalars, "numbers", summary=f"numbers ({len(scalars)})")
        if keyed is not None:
            doc.table(keyed, "numbers", summary=f"per comparison ({len(keyed)} rows)")
    evidence = pd.DataFrame(
        [(os.path.relpath(e.path, out), e.sha256 or "absent") for e in r.evidence],
        columns=["evidence file", "sha256"],
    )
    doc.table(evidence, "numbers", summary=f"evidence files ({len(evidence)})")
    for name in r.figures:
        title = figure_title.get(name)
        if title is None:
            doc.note(f"figure {name} not available")
        else:
            doc.h.append(f"<p>Figure: <a href='#fig-{H.esc(name)}'>{H.esc(title)}</a></p>")
            doc.md.append(f"- Figure: [{title}](../figures/{name}.png)\n")


def _table1(doc: _Doc, paths: ResultPaths) -> None:
    doc.heading(2, "Table 1 analogue (effectiveness)", "table1")
    found = table1_differences(paths.grid)
    if found is None:
        doc.note(f"{os.path.relpath(paths.grid / 'table1.csv', paths.out)} missing (grid report)")
    else:
        table, reference = found
        doc.table(table, "nowrap", long=30)  # the headline table: open unless very long
        doc.note(table1_legend(paths.grid, reference))
    cuts = table1_differences(paths.grid, which=ENTROPY_CUTS)
    if cuts is not None:
        doc.heading(3, "Entropy cuts (training subsets named by what they keep; item 7)")
        doc.table(cuts[0], "nowrap", long=30)
        doc.note(table1_legend(paths.grid, cuts[1], subject="subset"))
    baselines = baseline_table(paths.grid)
    if baselines is not None:
        doc.heading(3, "Baselines (untrained systems, each listed once)")
        doc.table(baselines)
    sig = paths.grid / "significance.csv"
    if sig.is_file():
        doc.table(
            pd.read_csv(sig),
            "numbers nowrap",
            summary="every paired comparison of the grid (significance.csv)",
        )


#: the columns of the dependence fit shown in the report (all of them are in fit.csv)
DEPENDENCE_COLUMNS = (
    "fit", "response", "regressor", "predicted_sign", "slope", "ci_low", "ci_high", "slope_std",
    "detectable_slope", "p_support", "verdict", "n_cells", "n_levels", "n_excluded_not_learned",
)  # fmt: skip


def _dependence(doc: _Doc, paths: ResultPaths) -> None:
    """The real-data dependence sweep: how many cells learned, and the fitted slopes."""
    doc.heading(2, "Risk against locality and entropy (real data)", "dependence")
    if not paths.dependence_fit.is_file():
        doc.note(
            f"{os.path.relpath(paths.dependence_fit, paths.out)} missing (`locent realdata "
            "dependence`; a full `locent run` runs it, `--quick` does not)"
        )
        return
    fit = pd.read_csv(paths.dependence_fit)
    if paths.dependence_cells.is_file():
        n_learned, n_cells = learned_count(pd.read_csv(paths.dependence_cells))
        doc.note(
            f"{n_learned} of {n_cells} cells learned (held-out "
            "misordering fell by ≥ 20%); only those enter the fits. The unit is the knob level."
        )
    doc.table(fit[[c for c in DEPENDENCE_COLUMNS if c in fit.columns]], "numbers nowrap")


def _labelled(doc: _Doc, out: Path) -> None:
    """The labelled plans (qrels positives), when ``locent run --labelled`` or ``locent realdata
    labelled`` wrote them: per plan, test set, loss and sampler the mean nDCG@10 over the seeds
    whose cell learned, and how many did."""
    doc.heading(2, "Labelled training: real positives (real data)", "labelled")
    folder = out / "realdata" / "labelled"
    if not (folder / "results.csv").is_file():
        doc.note(
            "not run (`locent run --labelled`, or `locent realdata labelled`): qrels positives "
            "on DL19 → DL20 and on Vaswani and Cranfield query splits"
        )
        return
    table = pd.read_csv(folder / "results.csv")
    keys = ["plan", R.DATASET, R.LOSS, R.SAMPLER, "positive_source"]
    learned = table[table[R.LEARNED].astype(bool)] if R.LEARNED in table else table.iloc[:0]
    rows = table.groupby(keys, dropna=False)[R.SEED].nunique().rename("seeds").to_frame()
    rows["seeds_learned"] = learned.groupby(keys, dropna=False)[R.SEED].nunique()
    rows[f"{R.NDCG_10} (learned)"] = learned.groupby(keys, dropna=False)[R.NDCG_10].mean()
    rows = rows.fillna({"seeds_learned": 0}).reset_index()
    cell = ["plan", *R.CONDITION_COLUMNS]
    n_cells = table.drop_duplicates(cell).shape[0]
    n_learned = learned.drop_duplicates(cell).shape[0]
    doc.note(
        f"{n_learned} of {n_cells} cells learned (held-out misordering fell by ≥ 20%); nDCG@10 "
        "is averaged over the seeds that learned (blank: none did)."
    )
    doc.table(rows, "numbers nowrap", summary=f"labelled plans ({len(rows)} rows)")


def _figures(doc: _Doc, figures: Sequence[FigureRecord], out: Path) -> None:
    doc.heading(2, "Figures", "figures")
    for r in figures:
        if r.status == "written":
            doc.h.append(H.figure_html(r.name, Path(r.files[0]), r.title))
            doc.md.append(f"### {r.title}\n\n![{r.name}](../figures/{r.name}.png)\n")
            if r.numbers:
                nums = pd.DataFrame(sorted(r.numbers.items()), columns=["number", "value"])
                doc.table(nums, "numbers", summary=f"numbers of this figure ({len(nums)})")
        else:
            why = r.error or "missing " + ", ".join(os.path.relpath(m, out) for m in r.missing)
            doc.heading(3, r.title)
            doc.note(f"{r.status}: {why}")


def _provenance(doc: _Doc, out: Path) -> None:
    doc.heading(2, "Provenance", "provenance")
    stages = stage_rows(out)
    if stages is not None:
        doc.table(stages, summary=f"Stages (wall time) of the last run: {len(stages)}, seconds")
    record = provenance_record(artefact="report")
    env = pd.DataFrame(
        [
            ("git commit", record["git_commit"]),
            ("python", record["python"]),
            ("platform", record["platform"]),
            *sorted(record["versions"].items()),
        ],
        columns=["key", "value"],
    )
    doc.table(env, summary="environment of this report (commit, python, package versions)")
    doc.heading(3, "Artefacts: data IDs, hashes, models, seeds (provenance records)")
    for title, rows in provenance_groups(out):
        doc.table(rows, summary=f"{title} ({len(rows)} keys)")


def build_report(
    out: str | os.PathLike,
    checks: Sequence[CheckResult],
    figures: Sequence[FigureRecord],
    sim_preset: str | None = None,
    grid_preset: str | None = None,
) -> dict[str, Path]:
    """Write ``<out>/report/index.html``, ``REPORT.md`` and ``verdicts.json``; returns the paths
    of the first two (``{"html": …, "md": …}``)."""
    out = Path(out)
    paths = ResultPaths.locate(out, sim_preset, grid_preset)
    figure_title = {r.name: r.title for r in figures if r.status == "written" and r.files}
    doc = _Doc()
    doc.heading(1, "locent: locality and entropy in ranking distillation")
    _banners(doc, paths)
    _verdicts(doc, checks)

    doc.heading(2, "Checks", "checks")
    for r in checks:
        _check(doc, r, out, figure_title)

    _table1(doc, paths)
    _dependence(doc, paths)
    _labelled(doc, out)

    doc.heading(2, "Samplers on real data", "samplers")
    if paths.samplers.is_file():
        doc.table(pd.read_csv(paths.samplers), "nowrap")
    else:
        doc.note(f"{os.path.relpath(paths.samplers, out)} missing (run `locent realdata measure`)")

    doc.heading(2, "Theory: statements and how each is checked", "theory")
    if paths.theory_results.is_file():
        theory = pd.DataFrame(json.loads(paths.theory_results.read_text()))
        cols = [c for c in ("statement", "method", "result", "detail") if c in theory.columns]
        passed = int((theory.get("result") == "PASS").sum()) if "result" in theory else 0
        doc.table(theory[cols], summary=f"{len(theory)} statements, {passed} PASS")
    else:
        doc.note("theory/results.json missing (run `locent theory`)")

    _figures(doc, figures, out)
    _provenance(doc, out)

    report_dir = paths.report
    html_path = atomic_write_text(report_dir / "index.html", H.page("locent report", doc.h))
    md_path = atomic_write_text(report_dir / "REPORT.md", "\n".join(doc.md))
    atomic_write_json(report_dir / "verdicts.json", [r.to_dict() for r in checks])
    return {"html": html_path, "md": md_path}
