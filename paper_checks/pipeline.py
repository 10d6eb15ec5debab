"""``locent run``: the main job as a sequence of stages with a resumable state file.

Stages: theory → simulate → realdata prepare → measure → grid → figures → checks → report. Each
stage calls another part through its Python entry point (``locent.paper_checks.cli.main(argv)``),
never a subprocess. A record per stage (status, wall time, parameters, detail) is written
atomically to ``<out>/run_state.json`` after every stage, so an interrupted run resumes:
``resume=True`` skips a stage whose last record is ``done`` with the same parameters, unless a
stage it depends on ran again in this invocation.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from locent.provenance import atomic_write_json

STATE_FILE = "run_state.json"


class StageError(RuntimeError):
    """A stage could not run (command missing, non-zero exit, exception)."""


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
        return 1 if self.failed else 0


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
    from locent.progress import progress

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = load_state(out) if resume else {"stages": {}}
    previous = state.get("stages", {})
    state = {"stages": dict(previous) if resume else {}}
    outcome = RunOutcome()
    ran_now: set[str] = set()
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate stage names in {names}")
    bar = progress(stages, desc="locent run", unit="stage", total=len(stages))
    for stage in bar:
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
# the real stages


def _command_parser(command: Sequence[str]):
    """The argparse parser of ``locent <command...>``, or None when the command is not registered
    (its part is not built)."""
    from locent.paper_checks.cli import build_parser

    parser = build_parser()
    for word in command:
        sub = next(
            (a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"), None
        )
        if sub is None or word not in sub.choices:
            return None
        parser = sub.choices[word]
    return parser


def cli_stage(command: Sequence[str], options: dict, quiet: bool = False) -> Callable[[Path], str]:
    """A stage that runs ``locent <command> --out OUT [options]`` in this process.

    Options the command does not declare are left out (a command without ``--seed`` is not
    random); a command that is not registered (its part is not built) is a :class:`StageError`.
    """

    def run(out: Path) -> str:
        from locent.paper_checks.cli import main

        parser = _command_parser(command)
        if parser is None:
            raise StageError(f"`locent {' '.join(command)}` is not available (part not built?)")
        argv = [*command, "--out", str(out)]
        passed = []
        for option, value in options.items():
            if value is None or value is False:
                continue
            if option in parser._option_string_actions:  # declared by the command
                if value is True:
                    argv.append(option)
                elif isinstance(value, (list, tuple)):
                    argv += [option, *map(str, value)]
                else:
                    argv += [option, str(value)]
                passed.append(option)
        buffer = io.StringIO()
        redirect = contextlib.redirect_stdout(buffer) if quiet else contextlib.nullcontext()
        try:
            with redirect:
                code = main(argv)
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 1
        if code:
            raise StageError(f"`locent {' '.join(argv)}` exited with {code}")
        return f"locent {' '.join(argv)}"

    return run


def figures_stage(sim_preset: str, grid_preset: str) -> Callable[[Path], str]:
    def run(out: Path) -> str:
        from locent.figures.build import build_figures

        records = build_figures(out, sim_preset=sim_preset, grid_preset=grid_preset)
        failed = [f"{r.name}: {r.error}" for r in records if r.status == "failed"]
        if failed:
            raise StageError("figure(s) failed: " + "; ".join(failed))
        written = sum(r.status == "written" for r in records)
        missing = [r.name for r in records if r.status == "missing"]
        return f"{written} written" + (f", missing inputs: {', '.join(missing)}" if missing else "")

    return run


def checks_stage(sim_preset: str, grid_preset: str) -> Callable[[Path], str]:
    def run(out: Path) -> str:
        from locent.paper_checks.checks import run_checks

        results = run_checks(out, sim_preset, grid_preset)
        atomic_write_json(out / "checks" / "verdicts.json", [r.to_dict() for r in results])
        return ", ".join(f"{r.item}:{r.verdict}" for r in results)

    return run


def report_stage(sim_preset: str, grid_preset: str) -> Callable[[Path], str]:
    def run(out: Path) -> str:
        from locent.figures.build import FigureRecord
        from locent.paper_checks.report import build_report
        from locent.paper_checks.verdicts import CheckResult, Evidence, Verdict

        checks_file = out / "checks" / "verdicts.json"
        index = out / "figures" / "index.json"
        if not checks_file.is_file():
            raise StageError(f"{checks_file} missing (the checks stage did not run)")
        checks = []
        for d in json.loads(checks_file.read_text()):
            d["verdict"] = Verdict(d["verdict"])
            d["evidence"] = [Evidence(**e) for e in d["evidence"]]
            checks.append(CheckResult(**d))
        figures = (
            [FigureRecord(**r) for r in json.loads(index.read_text())] if index.is_file() else []
        )
        written = build_report(out, checks, figures, sim_preset, grid_preset)
        return f"wrote {written['html']} and {written['md']}"

    return run


def main_job(seed: int = 0, device: str = "auto", quick: bool = False) -> list[Stage]:
    """The stages of ``locent run`` (``quick``: smoke presets, 16 MS MARCO queries, DL19)."""
    sim = "smoke" if quick else "paper"
    grid = "smoke" if quick else "default"
    common = {"--seed": seed, "--device": device}
    # quick: MS MARCO groups of 16 training queries, the dense sampler re-ranking the BM25 top-200
    # (no corpus encoding), no shipped-run samplers, and the grid tests on DL19 only (no DL20, no
    # out-of-domain sets).
    quick_data = (
        {"--datasets": "msmarco", "--queries": 16, "--dense-source": "bm25", "--run-queries": 0}
        if quick
        else {}
    )
    quick_tests = {"--test-sets": ["dl19"]} if quick else {}
    results = ("theory", "simulate", "realdata_measure", "realdata_grid")

    def on_results(name, make_run, outputs, **order) -> Stage:
        """A stage that reads the stored results of presets (sim, grid)."""
        return Stage(
            name, {"sim": sim, "grid": grid}, make_run(sim, grid), outputs=outputs, **order
        )

    return [
        Stage(
            "theory", {}, cli_stage(["theory"], {}, quiet=True), outputs=("theory/results.json",)
        ),
        Stage(
            "simulate",
            {"preset": sim, **common},
            cli_stage(["simulate"], {"--preset": sim, "--seed": seed, "--resume": True}),
            outputs=(f"simulate/{sim}/summary.json", f"simulate/{sim}/table.parquet"),
        ),
        Stage(
            "realdata_prepare",
            {**common, **quick_data},
            cli_stage(["realdata", "prepare"], {**common, **quick_data}),
            outputs=("realdata/groups",),
        ),
        Stage(
            "realdata_measure",
            {**common, **quick_data},
            cli_stage(["realdata", "measure"], {**common, **quick_data}),
            requires=("realdata_prepare",),
            outputs=("realdata/measure/samplers.csv", "realdata/measure/per_query.parquet"),
        ),
        Stage(
            "realdata_grid",
            {"preset": grid, **common, **quick_tests},
            cli_stage(["realdata", "grid"], {"--preset": grid, **common, **quick_tests}),
            requires=("realdata_prepare",),
            outputs=(f"realdata/grid/{grid}/results.csv",),
        ),
        on_results("figures", figures_stage, ("figures/index.json",), after=results),
        on_results("checks", checks_stage, ("checks/verdicts.json",), after=results),
        on_results(
            "report",
            report_stage,
            ("report/index.html", "report/REPORT.md"),
            requires=("checks",),
            after=("figures",),
        ),
    ]
