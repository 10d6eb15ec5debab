"""``locent figures``: declares its arguments; the handler calls :func:`build_figures`."""

from __future__ import annotations

import argparse

from locent.results import DEFAULT_OUT


def add_presets(parser: argparse.ArgumentParser) -> None:
    """``--sim-preset`` and ``--grid-preset``: which stored results figures and checks read."""
    parser.add_argument(
        "--sim-preset", default=None, help="simulation preset to read (default: paper, else smoke)"
    )
    parser.add_argument(
        "--grid-preset",
        default=None,
        help="real-data grid preset to read (default: default, else paper, smoke)",
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser("figures", help="regenerate every figure from stored results")
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})"
    )
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
    from locent.figures.build import build_figures

    records = build_figures(
        args.out, sim_preset=args.sim_preset, grid_preset=args.grid_preset, only=args.only
    )
    print_records(records)
    return 1 if any(r.status == "failed" for r in records) else 0
