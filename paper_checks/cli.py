"""``locent checks``: declares its arguments; the handler calls :func:`run_checks`, then
:func:`build_figures` and :func:`build_report` (the same functions as ``locent run``'s stages),
and writes ``checks/verdicts.json`` like ``locent run`` (``stages_failed`` empty: no stage ran)."""

from __future__ import annotations

from locent.figures.cli import add_presets, add_results_out


def register(subparsers) -> None:
    checks = subparsers.add_parser(
        "checks", help="judge the predictions of THEORY.md §7 and write the report"
    )
    add_results_out(checks)
    add_presets(checks)
    checks.add_argument("--no-report", action="store_true", help="print verdicts only")
    checks.set_defaults(func=_checks)


def _checks(args) -> int:
    from locent.figures.build import build_figures
    from locent.paper_checks.checks import run_checks
    from locent.paper_checks.report import build_report
    from locent.paper_checks.stage_failures import write_verdicts

    from locent.cli_types import require_results
    from locent.results import ResultPaths

    paths = ResultPaths.locate(args.out, args.sim_preset, args.grid_preset)
    # none of the evidence there: exit 2 naming the commands that write it (not 8 INCONCLUSIVE)
    require_results(paths)
    results = run_checks(args.out, args.sim_preset, args.grid_preset)
    write_verdicts(paths.verdicts, args.out, results)
    for r in results:
        print(f"{r.item}. {r.name:36s} {str(r.verdict):13s} {r.explanation}")
    if not args.no_report:
        figures = build_figures(args.out, sim_preset=args.sim_preset, grid_preset=args.grid_preset)
        written = build_report(args.out, results, figures, args.sim_preset, args.grid_preset)
        print(f"report: {written['html']}")
    return 0
