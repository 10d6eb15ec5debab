"""``locent run``, ``locent figures`` and ``locent checks`` (registered by paper_checks/cli.py).

Registration only declares arguments; the handlers import the figure, check and pipeline modules.
"""

from __future__ import annotations

import argparse

DEFAULT_OUT = "locent-out"


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default ./locent-out)")


def _presets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sim-preset", default=None, help="simulation preset to read (default: paper, else smoke)"
    )
    parser.add_argument(
        "--grid-preset",
        default=None,
        help="real-data grid preset to read (default: default, else paper, smoke)",
    )


def register(subparsers) -> None:
    run = subparsers.add_parser(
        "run", help="the main job: theory, simulation, real data, figures, verdicts, report"
    )
    _out(run)
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="torch device for the real-data stages",
    )
    run.add_argument(
        "--quick",
        action="store_true",
        help="smoke presets (simulation and grid), MS MARCO groups, DL19/DL20 tests only",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="skip stages already finished with the same parameters",
    )
    run.set_defaults(func=_run)

    figures = subparsers.add_parser("figures", help="regenerate every figure from stored results")
    _out(figures)
    _presets(figures)
    figures.add_argument("--only", nargs="*", default=None, help="figure names to build")
    figures.set_defaults(func=_figures)

    checks = subparsers.add_parser(
        "checks", help="judge the predictions of THEORY.md §7 and write the report"
    )
    _out(checks)
    _presets(checks)
    checks.add_argument("--no-report", action="store_true", help="print verdicts only")
    checks.set_defaults(func=_checks)


def _run(args) -> int:
    from locent.paper_checks.pipeline import main_job, run_stages

    outcome = run_stages(args.out, main_job(args.seed, args.device, args.quick), args.resume)
    if outcome.failed:
        print("locent run: stage(s) could not run:")
        for name in outcome.failed:
            print(f"  {name}: {outcome.records[name].detail}")
    else:
        print(f"locent run: done; report at {args.out}/report/index.html")
    return outcome.exit_code


def _figures(args) -> int:
    from locent.figures.build import build_figures

    records = build_figures(
        args.out, sim_preset=args.sim_preset, grid_preset=args.grid_preset, only=args.only
    )
    for r in records:
        if r.status == "written":
            print(f"written  {r.name}: {r.files[0]}")
        elif r.status == "missing":
            print(f"skipped  {r.name}: missing {', '.join(r.missing)}")
        else:
            print(f"FAILED   {r.name}: {r.error}")
    return 1 if any(r.status == "failed" for r in records) else 0


def _checks(args) -> int:
    from locent.figures.build import build_figures
    from locent.paper_checks.checks import run_checks
    from locent.paper_checks.report import build_report

    results = run_checks(args.out, args.sim_preset, args.grid_preset)
    for r in results:
        print(f"{r.item}. {r.name:36s} {str(r.verdict):13s} {r.explanation}")
    if not args.no_report:
        figures = build_figures(args.out, sim_preset=args.sim_preset, grid_preset=args.grid_preset)
        paths = build_report(args.out, results, figures, args.sim_preset, args.grid_preset)
        print(f"report: {paths['html']}")
    return 0
