"""The report: ``report/index.html`` (one static offline file) and ``report/REPORT.md``.

Order: the verdict table first, then each check with its figure(s) and numbers, the theory proofs
summary, the sampler table, the Table-1 analogue, the paper's figures, and provenance (data IDs and
hashes, models, seeds, versions, commit, wall time per stage). Images are embedded in the HTML as
base64 data URIs; the CSS is inline; there is no script.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from locent.figures.build import FigureRecord
from locent.paper_checks.verdicts import CheckResult

from locent.provenance import atomic_write_json, atomic_write_text, provenance_record
from locent.results import ResultPaths

#: The verdict table sits on this background (the headless-browser test looks for it).
VERDICT_BACKGROUND = "#fde9a9"
VERDICT_COLOURS = {"PASS": "#2e7d32", "FAIL": "#c62828", "INCONCLUSIVE": "#6d6d6d"}

CSS = f"""
body {{ font-family: 'DejaVu Sans', Arial, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 0 16px 40px; color: #1d1d1d; background: #ffffff; font-size: 14px; }}
h1 {{ font-size: 22px; margin: 12px 0 6px; }}
h2 {{ font-size: 18px; border-bottom: 1px solid #ccc; margin-top: 28px; }}
#verdicts {{ background: {VERDICT_BACKGROUND}; padding: 10px 14px 14px; border-radius: 4px; }}
#verdicts table {{ background: {VERDICT_BACKGROUND}; }}
table {{ border-collapse: collapse; margin: 6px 0; }}
th, td {{ border: 1px solid #bbb; padding: 3px 7px; text-align: left; vertical-align: top; }}
th {{ background: rgba(0,0,0,0.06); }}
.verdict {{ font-weight: bold; color: #fff; padding: 1px 6px; border-radius: 3px; }}
.PASS {{ background: {VERDICT_COLOURS["PASS"]}; }}
.FAIL {{ background: {VERDICT_COLOURS["FAIL"]}; }}
.INCONCLUSIVE {{ background: {VERDICT_COLOURS["INCONCLUSIVE"]}; }}
img {{ max-width: 100%; border: 1px solid #eee; }}
.numbers td {{ font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; }}
.note {{ color: #555; font-size: 12px; }}
"""


def _esc(x) -> str:
    return html.escape(str(x))


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _html_table(df: pd.DataFrame, cls: str = "") -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [_fmt(v).replace("|", "\\|").replace("\n", " ") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict_frame(results: Sequence[CheckResult]) -> pd.DataFrame:
    return pd.DataFrame(
        [(r.item, r.name, str(r.verdict), r.explanation) for r in results],
        columns=["item", "check", "verdict", "explanation"],
    )


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def provenance_rows(out: Path) -> pd.DataFrame:
    """One row per ``*.provenance.json`` under ``out``: artefact, data IDs/hashes, models, seed."""
    rows = []
    for path in sorted(out.rglob("*.provenance.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            rows.append({"file": str(path.relative_to(out)), "detail": f"unreadable: {err}"})
            continue
        keep = {
            k: v
            for k, v in record.items()
            if k not in ("versions", "python", "platform") and not isinstance(v, (dict, list))
        }
        nested = {
            k: json.dumps(v, sort_keys=True)[:160]
            for k, v in record.items()
            if k not in ("versions",) and isinstance(v, (dict, list))
        }
        detail = ", ".join(f"{k}={v}" for k, v in sorted({**keep, **nested}.items()))
        rows.append({"file": str(path.relative_to(out)), "detail": detail})
    return pd.DataFrame(rows, columns=["file", "detail"])


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


def build_report(
    out: str | os.PathLike,
    checks: Sequence[CheckResult],
    figures: Sequence[FigureRecord],
    sim_preset: str | None = None,
    grid_preset: str | None = None,
) -> dict[str, Path]:
    """Write ``<out>/report/index.html`` and ``REPORT.md``; returns their paths."""
    out = Path(out)
    paths = ResultPaths.locate(out, sim_preset, grid_preset)
    report_dir = out / "report"
    figure_png = {r.name: Path(r.files[0]) for r in figures if r.status == "written" and r.files}
    figure_title = {r.name: r.title for r in figures}
    h: list[str] = []
    md: list[str] = []
    counts = verdict_frame(checks)["verdict"].value_counts().to_dict()
    summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in ("PASS", "FAIL", "INCONCLUSIVE"))

    h.append("<h1>locent: locality and entropy in ranking distillation</h1>")
    md.append("# locent: locality and entropy in ranking distillation\n")
    # 1. verdict table
    rows = "".join(
        f"<tr><td>{r.item}</td><td><a href='#check-{r.item}'>{_esc(r.name)}</a></td>"
        f"<td><span class='verdict {r.verdict}'>{r.verdict}</span></td>"
        f"<td>{_esc(r.explanation)}</td></tr>"
        for r in checks
    )
    h.append(
        f"<section id='verdicts'><h2>Verdicts (THEORY.md §7): {_esc(summary)}</h2>"
        f"<table><tr><th>item</th><th>check</th><th>verdict</th><th>explanation</th></tr>"
        f"{rows}</table><p class='note'>Verdicts are computed from the evidence files listed "
        f"under each check; a FAIL is a finding, INCONCLUSIVE means the evidence was missing or "
        f"undecided.</p></section>"
    )
    md.append(f"## Verdicts (THEORY.md §7): {summary}\n")
    md.append(_md_table(verdict_frame(checks)) + "\n")

    # 2. each check
    h.append("<h2>Checks</h2>")
    md.append("## Checks\n")
    for r in checks:
        h.append(
            f"<h3 id='check-{r.item}'>{r.item}. {_esc(r.name)} "
            f"<span class='verdict {r.verdict}'>{r.verdict}</span></h3>"
            f"<p><b>Statement.</b> {_esc(r.statement)}</p>"
            f"<p><b>Criterion.</b> {_esc(r.criterion)}</p>"
            f"<p><b>Result.</b> {_esc(r.explanation)}</p>"
        )
        md.append(f"### {r.item}. {r.name}: **{r.verdict}**\n")
        md.append(
            f"- Statement: {r.statement}\n- Criterion: {r.criterion}\n- Result: {r.explanation}\n"
        )
        if r.numbers:
            nums = pd.DataFrame(sorted(r.numbers.items()), columns=["number", "value"])
            h.append(_html_table(nums, "numbers"))
            md.append(_md_table(nums) + "\n")
        ev = pd.DataFrame(
            [(os.path.relpath(e.path, out), e.sha256 or "absent") for e in r.evidence],
            columns=["evidence file", "sha256"],
        )
        h.append(_html_table(ev, "numbers"))
        md.append(_md_table(ev) + "\n")
        for name in r.figures:
            if name in figure_png:
                h.append(
                    f"<figure><img alt='{_esc(name)}' src='{_data_uri(figure_png[name])}'>"
                    f"<figcaption>{_esc(figure_title.get(name, name))}</figcaption></figure>"
                )
                md.append(f"![{figure_title.get(name, name)}](../figures/{name}.png)\n")
            else:
                h.append(f"<p class='note'>figure {_esc(name)} not available</p>")
                md.append(f"_figure {name} not available_\n")

    # 3. theory proofs summary
    h.append("<h2>Theory: statements and how each is checked</h2>")
    md.append("## Theory: statements and how each is checked\n")
    if paths.theory_results.is_file():
        theory = pd.DataFrame(json.loads(paths.theory_results.read_text()))
        cols = [c for c in ("statement", "method", "result", "detail") if c in theory.columns]
        h.append(_html_table(theory[cols]))
        md.append(_md_table(theory[cols]) + "\n")
    else:
        h.append("<p class='note'>theory/results.json missing (run <code>locent theory</code>)</p>")
        md.append("_theory/results.json missing_\n")

    # 4. sampler table
    h.append("<h2>Samplers on real data</h2>")
    md.append("## Samplers on real data\n")
    samplers = _read_csv(paths.samplers)
    if samplers is not None:
        h.append(_html_table(samplers))
        md.append(_md_table(samplers) + "\n")
    else:
        h.append("<p class='note'>realdata/measure/samplers.csv missing</p>")
        md.append("_realdata/measure/samplers.csv missing_\n")

    # 5. Table 1 analogue
    h.append("<h2>Table 1 analogue (effectiveness)</h2>")
    md.append("## Table 1 analogue (effectiveness)\n")
    table1 = _read_csv(paths.grid / "table1.csv")
    if table1 is not None:
        h.append(_html_table(table1))
        md.append(_md_table(table1) + "\n")
    t1md = paths.grid / "table1.md"
    if t1md.is_file():
        md.append(t1md.read_text() + "\n")
    if "table1_effectiveness" in figure_png:
        h.append(f"<img alt='table1' src='{_data_uri(figure_png['table1_effectiveness'])}'>")
        md.append("![Table 1 with CIs](../figures/table1_effectiveness.png)\n")
    if table1 is None and "table1_effectiveness" not in figure_png:
        h.append("<p class='note'>grid results missing</p>")
        md.append("_grid results missing_\n")

    # 6. all figures with their numbers
    h.append("<h2>Figures</h2>")
    md.append("## Figures\n")
    for r in figures:
        if r.status == "written":
            h.append(
                f"<h3>{_esc(r.title)}</h3><img alt='{_esc(r.name)}' "
                f"src='{_data_uri(Path(r.files[0]))}'>"
            )
            md.append(f"### {r.title}\n\n![{r.name}](../figures/{r.name}.png)\n")
            if r.numbers:
                nums = pd.DataFrame(sorted(r.numbers.items()), columns=["number", "value"])
                h.append(_html_table(nums, "numbers"))
                md.append(_md_table(nums) + "\n")
        else:
            why = r.error or "missing " + ", ".join(os.path.relpath(m, out) for m in r.missing)
            h.append(f"<h3>{_esc(r.title)}</h3><p class='note'>{r.status}: {_esc(why)}</p>")
            md.append(f"### {r.title}\n\n_{r.status}: {why}_\n")

    # 7. provenance
    h.append("<h2>Provenance</h2>")
    md.append("## Provenance\n")
    stages = stage_rows(out)
    if stages is not None:
        h.append("<h3>Stages (wall time)</h3>" + _html_table(stages))
        md.append("### Stages (wall time)\n\n" + _md_table(stages) + "\n")
    record = provenance_record(artefact="report")
    versions = pd.DataFrame(sorted(record["versions"].items()), columns=["package", "version"])
    h.append(
        f"<p>commit <code>{_esc(record['git_commit'])}</code>, python "
        f"{_esc(record['python'])}, {_esc(record['platform'])}</p>"
    )
    h.append(_html_table(versions))
    md.append(
        f"commit `{record['git_commit']}`, python {record['python']}, "
        f"{record['platform']}\n\n" + _md_table(versions) + "\n"
    )
    prov = provenance_rows(out)
    h.append("<h3>Artefacts (data IDs, hashes, models, seeds)</h3>" + _html_table(prov, "numbers"))
    md.append("### Artefacts (data IDs, hashes, models, seeds)\n\n" + _md_table(prov) + "\n")

    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>locent report</title>"
        f"<style>{CSS}</style></head><body>" + "\n".join(h) + "</body></html>\n"
    )
    html_path = atomic_write_text(report_dir / "index.html", page)
    md_path = atomic_write_text(report_dir / "REPORT.md", "\n".join(md))
    atomic_write_json(report_dir / "verdicts.json", [r.to_dict() for r in checks])
    return {"html": html_path, "md": md_path}
