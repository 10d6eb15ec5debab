"""The ``locent`` command: wires the parts together and owns nothing else.

Each part exposes ``register(subparsers)`` in its own ``cli`` module; registration only declares
arguments (cheap), and the heavy imports happen inside the handlers, so ``locent theory`` does
not pay for transformers or faiss.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, what it registers) in the order they appear in --help.
PART_CLIS = (
    "locent.theory.cli",
    "locent.simulate.cli",
    "locent.realdata.cli",
    "locent.paper_checks.run_cli",
)

DEFAULT_OUT = "locent-out"


def build_parser() -> argparse.ArgumentParser:
    from locent import __version__

    parser = argparse.ArgumentParser(
        prog="locent",
        description="Locality and entropy in ranking distillation: theory checks, simulation, "
        "real-data experiments, figures and the report.",
    )
    parser.add_argument("--version", action="version", version=f"locent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in PART_CLIS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:  # a real missing dependency inside the part: surface it
                raise
            continue  # the part is not built yet
        module.register(sub)
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
