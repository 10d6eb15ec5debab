"""The ``locent`` command: the app shell; it wires the parts' arguments to their stage functions.

Each part's ``cli`` module has ``register(subparsers)``, which only declares its arguments (and a
thin handler that calls the part's stage function); ``locent run`` is declared here and calls
:func:`locent.pipeline.run_main_job`, which calls the same stage functions.

:func:`main` is the one error boundary: a :class:`locent.errors.UserError` (or a ``ValueError``,
``FileNotFoundError``, ``PermissionError``, ``NotADirectoryError``) raised by a handler ends as
``locent <command>: error: <message>`` on stderr with exit 2, like argparse's own errors (bad
arguments are refused by the ``type=`` helpers of :mod:`locent.cli_types` while parsing, before
any work). ``locent --debug`` (or ``LOCENT_DEBUG=1``) re-raises instead, with the traceback.
Ctrl-C ends with exit 130 and the command that resumes, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from locent import __version__
from locent.cli_types import writable_out_dir
from locent.errors import INTERRUPT_EXIT, USER_ERROR_EXIT, UserError
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
    run.add_argument(
        "--out",
        type=writable_out_dir,
        default=DEFAULT_OUT,
        help=f"output folder, a writable directory or creatable (default ./{DEFAULT_OUT})",
    )
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
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16"),
        help="the locality encoder's precision in prepare and measure (default auto = fp32; "
        "bf16 to check that the verdicts do not move with the encoding)",
    )
    run.add_argument(
        "--labelled",
        action="store_true",
        help="also train the labelled plans (qrels positives: DL19 -> DL20, Vaswani and "
        "Cranfield query splits; `locent realdata labelled`); adds 10-27 min on 2 CPU cores",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="skip stages finished before with the same parameters whose inputs and outputs "
        "still verify (sha256 in run_state.json)",
    )
    run.set_defaults(func=_run)


def _run(args) -> int:
    # imported here: the pipeline imports every stage (torch, the real-data stack), which
    # ``locent theory bound`` and ``--help`` need not pay for
    from locent.pipeline import RunParams, run_main_job

    return run_main_job(
        RunParams(
            out=args.out,
            seed=args.seed,
            device=args.device,
            quick=args.quick,
            resume=args.resume,
            precision=args.precision,
            labelled=args.labelled,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locent",
        description="Locality and entropy in ranking distillation: theory checks, simulation, "
        "real-data experiments, figures and the report.",
    )
    parser.add_argument("--version", action="version", version=f"locent {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error (also LOCENT_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    theory_cli.register(sub)
    simulate_cli.register(sub)
    realdata_cli.register(sub)
    register_run(sub)
    figures_cli.register(sub)
    checks_cli.register(sub)
    return parser


#: the exceptions that, raised by a handler, are the user's mistake (a bad value, a file that is
#: not there or not readable) and so end as a message instead of a traceback
USER_ERRORS = (UserError, ValueError, FileNotFoundError, PermissionError, NotADirectoryError)


def command_name(args: argparse.Namespace) -> str:
    """``locent theory bound``, ``locent realdata prepare``, ...: the words of the command."""
    words = ["locent", args.command]
    words += [v for k, v in sorted(vars(args).items()) if k.endswith("_command") and v]
    return " ".join(w for w in words if w)


def resume_hint(args: argparse.Namespace) -> str:
    """The command line that continues after an interruption."""
    if args.command == "run":
        words = ["locent", "run", "--resume", "--out", str(args.out)]
        words += ["--quick"] if args.quick else []
        words += ["--seed", str(args.seed)] if args.seed else []
        words += ["--device", args.device] if args.device != "auto" else []
        precision = getattr(args, "precision", "auto")
        words += ["--precision", precision] if precision != "auto" else []
        words += ["--labelled"] if getattr(args, "labelled", False) else []
        return "resume with: " + shlex.join(words)
    if args.command == "simulate":
        words = ["locent", "simulate", "--preset", args.preset, "--resume", "--out", args.out]
        return "resume with: " + shlex.join(words)
    return "files finished before the interruption are kept; run the same command again"


def _error(command: str, message: str) -> None:
    print(f"{command}: error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Parse, run the handler, and turn user errors and Ctrl-C into a message and exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad argument: usage + error on stderr, SystemExit(2)
    if not getattr(args, "func", None):
        parser.print_help()
        return USER_ERROR_EXIT
    debug = args.debug or os.environ.get("LOCENT_DEBUG", "") not in ("", "0")
    command = command_name(args)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print(file=sys.stderr)
        _error(command, f"interrupted (Ctrl-C); {resume_hint(args)}")
        return INTERRUPT_EXIT
    except USER_ERRORS as err:
        if debug:
            raise
        message = str(err) or type(err).__name__
        if isinstance(err, OSError) and err.filename and str(err.filename) not in message:
            message = f"{message}: {err.filename}"
        if not isinstance(err, UserError):  # raised deep inside: say where the traceback is
            message += f" (`locent --debug {args.command} ...` shows the traceback)"
        _error(command, message)
        return USER_ERROR_EXIT


if __name__ == "__main__":
    sys.exit(main())
