"""The ``locent`` command: the app shell; it wires the parts' arguments to their stage functions.

Each part's ``cli`` module has ``register(subparsers)``, which only declares its arguments (and a
thin handler that calls the part's stage function); ``locent run`` is declared here and calls
:func:`locent.pipeline.run_main_job`, which calls the same stage functions.
"""

from __future__ import annotations

import argparse
import sys

from locent import __version__
from locent.figures import cli as figures_cli
from locent.paper_checks import cli as checks_cli
from locent.realdata import cli as realdata_cli
from locent.results import DEFAULT_OUT
from locent.simulate import cli as simulate_cli
from locent.theory import cli as theory_cli


def register_run(subparsers) -> None:
    """``locent run``: the main job (:mod:`locent.pipeline`)."""
    run = subparsers.add_parser(
        "run", help="the main job: theory, simulation, real data, figures, verdicts, report"
    )
    run.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})")
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
        help="smoke presets (simulation and grid), MS MARCO groups, DL19 tests only",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="skip stages already finished with the same parameters",
    )
    run.set_defaults(func=_run)


def _run(args) -> int:
    # imported here: the pipeline imports every stage (torch, the real-data stack), which
    # ``locent theory bound`` and ``--help`` need not pay for
    from locent.pipeline import RunParams, run_main_job

    return run_main_job(
        RunParams(
            out=args.out, seed=args.seed, device=args.device, quick=args.quick, resume=args.resume
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locent",
        description="Locality and entropy in ranking distillation: theory checks, simulation, "
        "real-data experiments, figures and the report.",
    )
    parser.add_argument("--version", action="version", version=f"locent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    theory_cli.register(sub)
    simulate_cli.register(sub)
    realdata_cli.register(sub)
    register_run(sub)
    figures_cli.register(sub)
    checks_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
