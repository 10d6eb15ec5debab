"""``locent realdata labelled``: the options of :class:`locent.realdata.stages.LabelledParams`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from locent.realdata import stages
from locent.realdata.prepare import LABELLED_PLANS
from locent.realdata.samplers import DENSE_SOURCES, SAMPLERS

from locent.cli_types import comma_choices, nonneg_int, one_of, positive_int


def _default(name):
    return {f.name: f.default for f in dataclasses.fields(stages.LabelledParams)}[name]


def register(sub, add_common) -> None:
    """Declare the sub-command on the ``realdata`` sub-parsers (``add_common``: --out/--seed/
    --device, shared with the other realdata steps)."""
    _declare_labelled(sub, add_common)


def _declare_labelled(sub, add_common) -> None:
    d = _default
    p = sub.add_parser(
        "labelled",
        help="prepare and grid the labelled plans (qrels positives, disjoint test queries) into "
        "realdata/labelled/",
    )
    add_common(p)
    p.add_argument(
        "--plans",
        type=comma_choices(LABELLED_PLANS, "labelled plan"),
        default=",".join(LABELLED_PLANS),
        help=f"comma-separated labelled plans (default {','.join(LABELLED_PLANS)})",
    )
    p.add_argument(
        "--queries",
        type=nonneg_int,
        default=d("queries"),
        help=f"training queries per plan (default {d('queries')}; 0 = all)",
    )
    p.add_argument(
        "--test-queries",
        type=nonneg_int,
        default=d("test_queries"),
        help=f"test queries per test dataset for the pools (default {d('test_queries')})",
    )
    p.add_argument(
        "--samplers",
        nargs="+",
        type=one_of(SAMPLERS, "sampler"),
        default=None,
        help="override the labelled preset's samplers",
    )
    p.add_argument("--steps", type=positive_int, default=None, help="optimiser steps per cell")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    p.add_argument("--fresh", action="store_true", help="discard finished cells and start over")
    p.add_argument(
        "--dense-source",
        choices=DENSE_SOURCES,
        default=d("dense_source"),
        help=f"dense pool over the whole corpus or the BM25 top-u (default {d('dense_source')})",
    )
    p.set_defaults(func=_labelled)


def labelled_params(args) -> stages.LabelledParams:
    """The parameters of ``locent realdata labelled`` from its parsed options."""
    options = ("seed", "device", "queries", "test_queries", "steps", "threads", "fresh")
    return stages.LabelledParams(
        out=Path(args.out),
        plans=tuple(args.plans),
        samplers=tuple(args.samplers) if args.samplers else None,
        dense_source=args.dense_source,
        **{name: getattr(args, name) for name in options},
    )


def _labelled(args) -> int:
    """Every labelled plan prepared and run through the ``labelled`` preset."""
    print(stages.labelled_stage(labelled_params(args)))
    return 0
