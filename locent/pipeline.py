"""``locent run``: the main job as a sequence of stages with a resumable state file.

Stages: theory → simulate → realdata prepare → measure → grid → Table 1 → figures → checks →
report. Each stage calls the same typed stage function as its own sub-command (``run_theory``,
``run_preset``, ``prepare_stage`` ..., ``build_figures``, ``run_checks``, ``build_report``); no
argv is built and no parser is consulted. A record per stage (status, wall time, parameters,
detail) is written atomically to ``<out>/run_state.json`` after every stage, so an interrupted
run resumes: ``resume=True`` skips a stage whose last record is ``done`` with the same
parameters and whose outputs exist, unless a stage it depends on ran again in this invocation.

A stage *fails* only when it could not run (it raised); a theory statement or a check that FAILs
is a finding, recorded in the results, and the run's exit code stays 0.
"""

from __future__ import annotations

import json
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from locent.figures.build import FigureRecord, build_figures
from locent.paper_checks.checks import run_checks
from locent.paper_checks.report import build_report
from locent.paper_checks.verdicts import CheckResult, Evidence, Verdict
from locent.progress import progress
from locent.provenance import atomic_write_json
from locent.realdata.stages import (
    GridParams,
    MeasureParams,
    PrepareParams,
    ReportParams,
    grid_stage,
    measure_stage,
    prepare_stage,
    report_stage,
)
from locent.results import DEFAULT_OUT, ResultPaths, read_json
from locent.simulate.runner import run_preset
from locent.theory.cli import run_theory

STATE_FILE = "run_state.json"


class StageError(RuntimeError):
    """A stage ran but could not do its job (e.g. a figure failed, a needed file is missing)."""


@dataclass
class Stage:
    """One step: ``run(out)`` does the work and returns a short detail string."""

    name: str
    params: dict
    run: Callable[[Path], str]
    #: stages that must have succeeded (otherwise this one is ``blocked``)
    requires: tuple[str, ...] = ()
    #: stages whose results this one reads; if one ran again, this one runs again on resume
    after: tuple[str, ...] = ()
    #: files/folders (relative to ``out``) the stage leaves; resume re-runs it if one is gone
    outputs: tuple[str, ...] = ()


@dataclass
class StageRecord:
    status: str  # done | failed | blocked | skipped
    wall_s: float
    params: dict
    detail: str = ""


@dataclass
class RunOutcome:
    records: dict[str, StageRecord] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [n for n, r in self.records.items() if r.status in ("failed", "blocked")]

    @property
    def exit_code(self) -> int:
        """0 when every stage ran (whatever the verdicts), 1 when one could not."""
        return 1 if self.failed else 0


@dataclass(frozen=True)
class RunParams:
    """The options of ``locent run``."""

    out: str = DEFAULT_OUT
    seed: int = 0
    device: str = "auto"
    #: smoke presets, 16 MS MARCO training queries, DL19 only
    quick: bool = False
    #: skip stages done before with the same parameters
    resume: bool = False


def load_state(out: Path) -> dict:
    path = out / STATE_FILE
    if not path.is_file():
        return {"stages": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}); delete it to start afresh") from err


def _canonical(params: dict) -> dict:
    return json.loads(json.dumps(params, sort_keys=True, default=str))


def run_stages(
    out: str | Path,
    stages: Sequence[Stage],
    resume: bool = False,
    log: Callable[[str], None] = print,
) -> RunOutcome:
    """Run ``stages`` in order under ``out``; the state file is rewritten after each stage."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    previous = load_state(out).get("stages", {}) if resume else {}
    state = {"stages": dict(previous)}
    outcome = RunOutcome()
    ran_now: set[str] = set()
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate stage names in {names}")
    bar = progress(stages, desc="locent run", unit="stage", total=len(stages))
    for number, stage in enumerate(bar, 1):
        bar.set_postfix_str(stage.name)
        params = _canonical(stage.params)
        old = previous.get(stage.name)
        unmet = [
            d
            for d in stage.requires
            if outcome.records.get(d) and outcome.records[d].status in ("failed", "blocked")
        ]
        if unmet:
            record = StageRecord("blocked", 0.0, params, f"needs {', '.join(unmet)}")
        elif (
            resume
            and old
            and old.get("status") in ("done", "skipped")
            and old.get("params") == params
            and not (set(stage.requires + stage.after) & ran_now)
            and all((out / o).exists() for o in stage.outputs)
        ):
            record = StageRecord(
                "skipped", 0.0, params, f"resumed: done before in {old.get('wall_s', 0):.1f} s"
            )
        else:
            log(f"[{number}/{len(stages)}] {stage.name} ...")
            start = time.perf_counter()
            try:
                detail = stage.run(out) or ""
                status = "done"
            except Exception as err:  # a stage failing is reported, and the run goes on
                detail = f"{type(err).__name__}: {err}"
                if not isinstance(err, StageError):
                    detail += " | " + traceback.format_exc(limit=3).splitlines()[-1]
                status = "failed"
            record = StageRecord(status, round(time.perf_counter() - start, 3), params, detail)
            ran_now.add(stage.name)
        outcome.records[stage.name] = record
        if record.status == "skipped" and old:
            state["stages"][stage.name] = old
        else:
            state["stages"][stage.name] = record.__dict__
        atomic_write_json(out / STATE_FILE, state)
        log(f"[{stage.name}] {record.status} ({record.wall_s:.1f} s) {record.detail}".rstrip())
    return outcome


# --------------------------------------------------------------------------------------------
# the stages of the main job: thin adapters from (out, params) to each part's stage function


def brief(result, limit: int = 160) -> str:
    """A stage's return value as one short line for the log and run_state.json (a summary dict
    or a table's text is cut, not printed whole)."""
    text = " ".join(str(result).split()) if result is not None else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def theory_step(out: Path) -> str:
    results = run_theory(out)
    n_pass = sum(r["result"] == "PASS" for r in results)
    return f"{len(results)} statements: {n_pass} PASS, {len(results) - n_pass} FAIL"


def simulate_step(preset: str, seed: int) -> Callable[[Path], str]:
    def run(out: Path) -> str:
        summary = run_preset(preset, out, seed=seed, resume=True)
        return (
            f"{summary['n_runs']} runs, {summary['exact_violations']} exact violations; "
            f"wrote {summary['table']}"
        )

    return run


def figures_step(sim_preset: str, grid_preset: str) -> Callable[[Path], str]:
    def run(out: Path) -> str:
        records = build_figures(out, sim_preset=sim_preset, grid_preset=grid_preset)
        failed = [f"{r.name}: {r.error}" for r in records if r.status == "failed"]
        if failed:
            raise StageError("figure(s) failed: " + "; ".join(failed))
        written = sum(r.status == "written" for r in records)
        missing = [r.name for r in records if r.status == "missing"]
        return f"{written} written" + (f", missing inputs: {', '.join(missing)}" if missing else "")

    return run


def checks_step(sim_preset: str, grid_preset: str) -> Callable[[Path], str]:
    def run(out: Path) -> str:
        results = run_checks(out, sim_preset, grid_preset)
        paths = ResultPaths.locate(out, sim_preset, grid_preset)
        atomic_write_json(paths.verdicts, [r.to_dict() for r in results])
        return ", ".join(f"{r.item}:{r.verdict}" for r in results)

    return run


def load_verdicts(path: Path) -> list[CheckResult]:
    """The check results written by the checks stage (``checks/verdicts.json``)."""
    checks = []
    for d in read_json(path):
        d["verdict"] = Verdict(d["verdict"])
        d["evidence"] = [Evidence(**e) for e in d["evidence"]]
        checks.append(CheckResult(**d))
    return checks


def report_step(sim_preset: str, grid_preset: str) -> Callable[[Path], str]:
    def run(out: Path) -> str:
        paths = ResultPaths.locate(out, sim_preset, grid_preset)
        if not paths.verdicts.is_file():
            raise StageError(f"{paths.verdicts} missing (the checks stage did not run)")
        checks = load_verdicts(paths.verdicts)
        index = paths.figure_index
        figures = [FigureRecord(**r) for r in read_json(index)] if index.is_file() else []
        written = build_report(out, checks, figures, sim_preset, grid_preset)
        return f"wrote {written['html']} and {written['md']}"

    return run


def main_job(seed: int = 0, device: str = "auto", quick: bool = False) -> list[Stage]:
    """The stages of ``locent run`` (``quick``: smoke presets, 16 MS MARCO queries, DL19)."""
    sim = "smoke" if quick else "paper"
    grid = "smoke" if quick else "default"
    common = {"seed": seed, "device": device}
    # quick: MS MARCO groups of 16 training queries, the dense sampler re-ranking the BM25 top-200
    # (no corpus encoding), no shipped-run samplers, and the grid tests on DL19 only (no DL20, no
    # out-of-domain sets). Otherwise every option keeps its default.
    quick_data = (
        {"datasets": ("msmarco",), "queries": 16, "dense_source": "bm25", "run_queries": 0}
        if quick
        else {}
    )
    measure_data = {k: v for k, v in quick_data.items() if k == "datasets"}
    quick_tests = {"test_sets": ("dl19",)} if quick else {}
    prepare = {**common, **quick_data}
    measure = {**common, **measure_data}
    grid_params = {"preset": grid, **common, **quick_tests}
    results = ("theory", "simulate", "realdata_measure", "realdata_grid")
    presets = {"sim": sim, "grid": grid}
    paths = ResultPaths(Path("."), sim, grid)  # relative outputs under --out

    def rel(*names: str) -> tuple[str, ...]:
        return tuple(str(p) for p in paths.files(names))

    return [
        Stage("theory", {}, theory_step, outputs=rel("theory_results")),
        Stage(
            "simulate",
            {"preset": sim, "seed": seed},
            simulate_step(sim, seed),
            outputs=rel("sim_summary", "sim_table"),
        ),
        Stage(
            "realdata_prepare",
            prepare,
            lambda out: brief(prepare_stage(PrepareParams(out=str(out), **prepare))),
            outputs=("realdata/groups",),
        ),
        Stage(
            "realdata_measure",
            measure,
            lambda out: brief(measure_stage(MeasureParams(out=str(out), **measure))),
            requires=("realdata_prepare",),
            outputs=rel("samplers", "measure_per_query"),
        ),
        Stage(
            "realdata_grid",
            grid_params,
            lambda out: brief(grid_stage(GridParams(out=str(out), **grid_params))),
            requires=("realdata_prepare",),
            outputs=rel("grid_results"),
        ),
        Stage(
            "realdata_report",
            {"preset": grid},
            lambda out: brief(report_stage(ReportParams(out=str(out), preset=grid))),
            requires=("realdata_grid",),
            outputs=(str(paths.grid / "table1.csv"),),
        ),
        Stage(
            "figures", presets, figures_step(sim, grid), after=results, outputs=rel("figure_index")
        ),
        Stage("checks", presets, checks_step(sim, grid), after=results, outputs=rel("verdicts")),
        Stage(
            "report",
            presets,
            report_step(sim, grid),
            requires=("checks",),
            after=("figures", "realdata_report"),  # the report shows realdata's Table 1
            outputs=(str(paths.report / "index.html"), str(paths.report / "REPORT.md")),
        ),
    ]


def summary(out: str | Path, outcome: RunOutcome) -> str:
    """A few lines: each stage's status and time, the verdict and theory counts, the report."""
    paths = ResultPaths.locate(out)
    total = sum(r.wall_s for r in outcome.records.values())
    lines = [f"locent run: {len(outcome.records)} stages, {total:.1f} s"]
    for name, r in outcome.records.items():
        lines.append(f"  {name:<18} {r.status:<8} {r.wall_s:8.1f} s")
    if paths.verdicts.is_file() and "checks" in outcome.records:
        counts = Counter(str(d["verdict"]) for d in read_json(paths.verdicts))
        lines.append("verdicts: " + ", ".join(f"{counts.get(str(v), 0)} {v}" for v in Verdict))
    if paths.theory_results.is_file() and "theory" in outcome.records:
        theory = read_json(paths.theory_results)
        n_pass = sum(r["result"] == "PASS" for r in theory)
        lines.append(f"theory: {n_pass} PASS, {len(theory) - n_pass} FAIL")
    if outcome.failed:
        lines.append("stage(s) that could not run:")
        lines += [f"  {n}: {outcome.records[n].detail}" for n in outcome.failed]
    index = paths.report / "index.html"
    if index.is_file():
        lines.append(f"report: {index}")
    return "\n".join(lines)


def run_main_job(params: RunParams, log: Callable[[str], None] = print) -> int:
    """``locent run``: every stage, then the summary; the exit code of :class:`RunOutcome`."""
    stages = main_job(params.seed, params.device, params.quick)
    outcome = run_stages(params.out, stages, params.resume, log=log)
    log(summary(params.out, outcome))
    return outcome.exit_code
