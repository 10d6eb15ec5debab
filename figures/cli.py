"""``locent figures``: declares its arguments; the handler calls :func:`build_figures`."""

from __future__ import annotations

import argparse

from locent.cli_types import require_results, writable_out_dir
from locent.results import DEFAULT_OUT, GRID_PRESETS, SIM_PRESETS, ResultPaths


def add_presets(parser: argparse.ArgumentParser) -> None:
    """``--sim-preset`` and ``--grid-preset``: which stored results figures and checks read."""
    parser.add_argument(
        "--sim-preset",
        default=None,
        choices=SIM_PRESETS,
        help="simulation preset to read (default: paper, else smoke)",
    )
    parser.add_argument(
        "--grid-preset",
        default=None,
        choices=GRID_PRESETS,
        help="real-data grid preset to read (default: default, else paper, smoke)",
    )


def add_results_out(parser: argparse.ArgumentParser) -> None:
    """``--out``: the folder holding the results read, which also receives what is written."""
    parser.add_argument(
        "--out",
        type=writable_out_dir,
        default=DEFAULT_OUT,
        help=f"folder of the results, written to as well (default ./{DEFAULT_OUT})",
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser("figures", help="regenerate every figure from stored results")
    add_results_out(parser)
    add_presets(parser)
    parser.add_argument("--only", nargs="*", default=None, help="figure names to build")
    parser.set_defaults(func=_figures)


def print_records(records) -> None:
    """One line per figure: written (first file), skipped (missing inputs) or FAILED (error)."""
    for r in records:
        if r.status == "written":
            print(f"written  {r.name}: {r.files[0]}")
        elif r.status == "missing":
            print(f"skipped  {r.name}: missing {', '.join(r.missing)}")
        else:
            print(f"FAILED   {r.name}: {r.error}")


def _figures(args) -> int:
    from locent.figures.build import FIGURES, build_figures

    from locent.errors import UserError

    known = [spec.name for spec in FIGURES]
    unknown = [n for n in args.only or () if n not in known]
    if unknown:
        raise UserError(
            f"--only: unknown figure(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    # none of the results there (a typo'd --out, a fresh folder): exit 2 naming the producers
    require_results(ResultPaths.locate(args.out, args.sim_preset, args.grid_preset))
    records = build_figures(
        args.out, sim_preset=args.sim_preset, grid_preset=args.grid_preset, only=args.only
    )
    print_records(records)
    return 1 if any(r.status == "failed" for r in records) else 0
