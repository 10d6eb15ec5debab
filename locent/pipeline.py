"""``locent run``: the main job as a sequence of stages with a resumable state file.

Stages: theory → simulate → simulate_regime (the ``regime`` preset; full run only, not
``--quick``) → realdata prepare → measure → grid → dependence (the knob sweep of
:mod:`locent.realdata.dependence`; full run only) → Table 1 → figures → checks → report. Each
stage calls the same typed stage function as its own sub-command (``run_theory``,
``run_preset``, ``prepare_stage`` ..., ``build_figures``, ``run_checks``, ``build_report``); no
argv is built and no parser is consulted. :mod:`locent.stage_runner` runs them: a record per stage
in ``<out>/run_state.json`` with the sha256 of what it read and wrote; ``resume=True`` skips a
stage only while it is current by content, and a corrupt output (a truncated Parquet file) is
removed, named and rebuilt.

A stage *fails* only when it could not run (it raised); a theory statement or a check that FAILs
is a finding, recorded in the results, and the run's exit code stays 0. A check that reads the
results of a stage that failed in this run is INCONCLUSIVE, and ``checks/verdicts.json`` lists the
failed stages under ``stages_failed`` (:mod:`locent.paper_checks.stage_failures`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from locent.errors import UserError
from locent.figures.build import FigureRecord, build_figures
from locent.paper_checks.checks import REGIME_PRESET, run_checks
from locent.paper_checks.report import build_report
from locent.paper_checks.stage_failures import (
    downgrade_for_failed_stages,
    read_verdicts,
    write_verdicts,
)
from locent.paper_checks.verdicts import Verdict
from locent.realdata.dependence.stage import DependenceParams, dependence_stage
from locent.realdata.stages import (
    GridParams,
    LabelledParams,
    MeasureParams,
    PrepareParams,
    ReportParams,
    grid_stage,
    labelled_stage,
    measure_stage,
    prepare_stage,
    report_stage,
)
from locent.results import DEFAULT_OUT, ResultPaths, read_json
from locent.simulate.runner import run_preset
from locent.stage_runner import (  # re-exported: the stage runner's names as part of run's API
    STATE_FILE,
    RunOutcome,
    Stage,
    StageError,
    StageRecord,
    load_state,
    run_stages,
)
from locent.theory.cli import run_theory

#: where the labelled stage writes, relative to --out (``locent.realdata.stages.labelled_stage``)
LABELLED_DIR = Path("realdata") / "labelled"

__all__ = [
    "STAGE_RESULTS",
    "STATE_FILE",
    "RunOutcome",
    "RunParams",
    "Stage",
    "StageError",
    "StageRecord",
    "load_state",
    "main_job",
    "preflight",
    "run_main_job",
    "run_stages",
    "summary",
]


@dataclass(frozen=True)
class RunParams:
    """The options of ``locent run``."""

    out: str = DEFAULT_OUT
    seed: int = 0
    device: str = "auto"
    #: smoke presets, 16 MS MARCO training queries, DL19 only
    quick: bool = False
    #: skip stages done before with the same parameters whose inputs and outputs still verify
    resume: bool = False
    #: the locality encoder's precision in prepare and measure (``auto`` = fp32; ``bf16`` to
    #: compare verdicts across encodings, issue 12 item 9)
    precision: str = "auto"
    #: also train the labelled plans (``locent realdata labelled``: qrels positives, DL19 → DL20,
    #: Vaswani and Cranfield splits) as the stage ``realdata_labelled``; off by default: it adds
    #: 10–27 min on the 2-core CPU, beyond the default run's 30-minute budget
    labelled: bool = False


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


#: the result files (``ResultPaths`` names) each stage writes: a check reading one of them is
#: INCONCLUSIVE when that stage failed or was blocked in this run
STAGE_RESULTS: dict[str, tuple[str, ...]] = {
    "theory": ("theory_results",),
    "simulate": ("sim_summary", "sim_table"),
    # the regime preset's summary (``paper_checks.checks.REGIME_SUMMARY``, read by items 1, 2, 4, 8)
    "simulate_regime": ("regime_summary",),
    "realdata_measure": ("samplers", "measure_per_query"),
    "realdata_grid": ("grid_results", "grid_per_query", "grid_logs", "score_at_rank"),
    "realdata_dependence": ("dependence_cells", "dependence_fit"),
}


def checks_step(sim_preset: str, grid_preset: str) -> Callable[[Path, dict], str]:
    def run(out: Path, failed: dict[str, str]) -> str:
        results = run_checks(out, sim_preset, grid_preset)
        results = downgrade_for_failed_stages(
            results, {s: (why, STAGE_RESULTS.get(s, ())) for s, why in failed.items()}
        )
        paths = ResultPaths.locate(out, sim_preset, grid_preset)
        write_verdicts(paths.verdicts, out, results, failed)
        return ", ".join(f"{r.item}:{r.verdict}" for r in results)

    return run


def report_step(sim_preset: str, grid_preset: str) -> Callable[[Path], str]:
    def run(out: Path) -> str:
        paths = ResultPaths.locate(out, sim_preset, grid_preset)
        if not paths.verdicts.is_file():
            raise StageError(f"{paths.verdicts} missing (the checks stage did not run)")
        checks, _ = read_verdicts(paths.verdicts, out)  # the report reads stages_failed itself
        index = paths.figure_index
        figures = [FigureRecord(**r) for r in read_json(index)] if index.is_file() else []
        written = build_report(out, checks, figures, sim_preset, grid_preset)
        return f"wrote {written['html']} and {written['md']}"

    return run


def main_job(
    seed: int = 0,
    device: str = "auto",
    quick: bool = False,
    precision: str = "auto",
    labelled: bool = False,
) -> list[Stage]:
    """The stages of ``locent run`` (``quick``: smoke presets, 16 MS MARCO queries, DL19;
    ``precision``: the encoder's in prepare and measure, recorded in their parameters only when
    not ``auto`` so that a default run's state stays as it was; ``labelled``: the stage
    ``realdata_labelled`` after the dependence sweep, its table in the report, no check reads
    it)."""
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
    encoding = {"precision": precision} if precision != "auto" else {}
    prepare = {**common, **quick_data, **encoding}
    measure = {**common, **measure_data, **encoding}
    grid_params = {"preset": grid, **common, **quick_tests}
    # the full run also simulates the regime preset (n axis 8–256: items 1, 2, 4 read it) and
    # trains the dependence sweep on the knob levels (--quick prepares no knob groups)
    regime = () if quick else ("simulate_regime",)
    dependence = () if quick else ("realdata_dependence",)
    dependence_params = {"design": grid, **common}
    labelled_stage_names = ("realdata_labelled",) if labelled else ()
    results = ("theory", "simulate", *regime, "realdata_measure", "realdata_grid", *dependence)
    presets = {"sim": sim, "grid": grid}
    paths = ResultPaths(Path("."), sim, grid)  # relative outputs under --out
    regime_paths = ResultPaths(Path("."), REGIME_PRESET, grid)

    def rel(*names: str) -> tuple[str, ...]:
        return tuple(str(p) for p in paths.files(names))

    def simulation(name: str, p: ResultPaths) -> Stage:
        return Stage(
            name,
            {"preset": p.sim_preset, "seed": seed},
            simulate_step(p.sim_preset, seed),
            # the chunk files too: the simulation reuses them, so a corrupt one must be caught
            outputs=(str(p.sim_summary), str(p.sim_table), str(p.sim_table.parent / "chunks")),
        )

    return [
        Stage("theory", {}, theory_step, outputs=rel(*STAGE_RESULTS["theory"])),
        simulation("simulate", paths),
        *(simulation(name, regime_paths) for name in regime),
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
            outputs=rel(*STAGE_RESULTS["realdata_measure"]),
        ),
        Stage(
            "realdata_grid",
            grid_params,
            lambda out: brief(grid_stage(GridParams(out=str(out), **grid_params))),
            requires=("realdata_prepare",),
            outputs=rel("grid_results"),
        ),
        *(
            Stage(
                name,
                dependence_params,
                lambda out: brief(
                    dependence_stage(DependenceParams(out=Path(out), **dependence_params))
                ),
                requires=("realdata_prepare",),
                outputs=rel(*STAGE_RESULTS[name]),
            )
            for name in dependence
        ),
        *(
            Stage(
                name,
                common,
                lambda out: brief(labelled_stage(LabelledParams(out=Path(out), **common))),
                outputs=(str(LABELLED_DIR / "results.csv"), str(LABELLED_DIR / "summary.json")),
            )
            for name in labelled_stage_names
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
        Stage(
            "checks",
            presets,
            checks_step(sim, grid),
            after=results,
            outputs=rel("verdicts"),
            wants_failures=True,
        ),
        Stage(
            "report",
            presets,
            report_step(sim, grid),
            requires=("checks",),
            # the report shows realdata's Table 1 (and the labelled table when that stage ran)
            after=("figures", "realdata_report", *labelled_stage_names),
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

    def ran(name: str) -> bool:
        return name in outcome.records and outcome.records[name].status in ("done", "skipped")

    if paths.verdicts.is_file() and ran("checks"):
        counts = Counter(str(d["verdict"]) for d in read_json(paths.verdicts)["checks"])
        lines.append("verdicts: " + ", ".join(f"{counts.get(str(v), 0)} {v}" for v in Verdict))
    if paths.theory_results.is_file() and ran("theory"):
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


def preflight(params: RunParams) -> None:
    """Refuse what would fail late, before any work: :class:`UserError` for a ``--out`` that is
    a file or cannot be created or written, ``--device cuda`` without CUDA, ``--labelled`` with
    ``--quick``, and (with resume) a state file that is not valid JSON."""
    out = Path(params.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {params.out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".locent-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserError(f"--out {params.out} is not a writable folder ({err.strerror})") from err
    if params.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda: torch sees no CUDA device (use --device cpu or auto)")
    if params.labelled and params.quick:
        raise UserError(
            "--labelled trains the full labelled plans (10-27 min); it is not part of --quick "
            "(run `locent realdata labelled --queries 16 --steps 20` for a small one)"
        )
    if params.resume:
        load_state(out)


def run_main_job(params: RunParams, log: Callable[[str], None] = print) -> int:
    """``locent run``: the preflight, every stage, then the summary; the exit code of
    :class:`RunOutcome`."""
    preflight(params)
    stages = main_job(params.seed, params.device, params.quick, params.precision, params.labelled)
    outcome = run_stages(params.out, stages, params.resume, log=log)
    log(summary(params.out, outcome))
    return outcome.exit_code
