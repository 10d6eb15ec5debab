"""``locent realdata ...``: prepare and measure (part 1) and train / grid / report (part 2).

Part 2 registers its sub-commands from ``locent.realdata.training_cli.register(sub)``, so the two
halves can evolve in their own modules.
"""

from __future__ import annotations

import argparse
import importlib

DEFAULT_OUT = "locent-out"


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options every realdata command shares."""
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default ./locent-out)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="torch device"
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "realdata", help="MS MARCO through ir_datasets: groups, measurements, training, report"
    )
    sub = parser.add_subparsers(dest="realdata_command", metavar="STEP")
    _register_part1(sub)
    try:
        training_cli = importlib.import_module("locent.realdata.training_cli")
    except ModuleNotFoundError as err:
        if err.name != "locent.realdata.training_cli":
            raise
    else:
        training_cli.register(sub)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _register_part1(sub) -> None:
    """prepare / measure; filled in by realdata part 1."""
