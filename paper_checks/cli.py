"""``locent checks``: declares its arguments; the handler calls :func:`run_checks`, then
:func:`build_figures` and :func:`build_report` (the same functions as ``locent run``'s stages)."""

from __future__ import annotations

from locent.figures.cli import add_presets

from locent.results import DEFAULT_OUT


def register(subparsers) -> None:
    checks = subparsers.add_parser(
        "checks", help="judge the predictions of THEORY.md §7 and write the report"
    )
    checks.add_argument(
        "--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})"
    )
    add_presets(checks)
    checks.add_argument("--no-report", action="store_true", help="print verdicts only")
    checks.set_defaults(func=_checks)


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
