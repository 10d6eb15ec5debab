"""``locent realdata dependence``: the options of :class:`.stage.DependenceParams`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from locent.realdata.dependence.design import DESIGNS
from locent.realdata.dependence.stage import DependenceParams, dependence_stage

from locent.cli_types import positive_int


def register(sub, add_common) -> None:
    """Declare the sub-command on the ``realdata`` sub-parsers (``add_common``: --out/--seed/
    --device, shared with the other realdata steps)."""
    p = sub.add_parser(
        "dependence",
        help="train one student on every locality and entropy knob level; fit risk and gap "
        "against Δ̂_Q and H(g)",
    )
    add_common(p)
    p.add_argument("--design", default="default", choices=tuple(DESIGNS))
    p.add_argument("--fresh", action="store_true", help="discard finished cells and start over")
    p.add_argument(
        "--synthetic",
        action="store_true",
        help="the synthetic knob world instead of the prepared store (seconds; claims nothing)",
    )
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    fields = {f.name for f in dataclasses.fields(DependenceParams)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    print(dependence_stage(DependenceParams(**{**values, "out": Path(args.out)})))
    return 0
