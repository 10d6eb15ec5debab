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
    """``prepare`` (groups per sampler + pools on test queries) and ``measure`` (sampler table)."""
    from locent.realdata.encoders import PRECISIONS
    from locent.realdata.prepare import DEFAULT_TEST_QUERIES, DEFAULT_TRAIN_QUERIES
    from locent.realdata.run_sources import DEFAULT_RUN_QUERIES
    from locent.realdata.samplers import DENSE_SOURCES, SAMPLERS, SamplerConfig

    defaults = SamplerConfig()
    plans = ("msmarco", "vaswani", "cranfield")
    prep = sub.add_parser(
        "prepare",
        help="build training groups per sampler (realdata/groups/) and pools on test queries",
    )
    add_common(prep)
    _add_selection(prep, plans, SAMPLERS)
    prep.add_argument(
        "--queries",
        type=int,
        default=DEFAULT_TRAIN_QUERIES,
        help=f"training queries per dataset (default {DEFAULT_TRAIN_QUERIES}; 0 = all, e.g. "
        "6,980 for dev/small)",
    )
    prep.add_argument(
        "--test-queries",
        type=int,
        default=DEFAULT_TEST_QUERIES,
        help=f"test queries per test dataset for kappa/coverage (default {DEFAULT_TEST_QUERIES}; "
        "0 = all)",
    )
    prep.add_argument(
        "--run-queries",
        type=int,
        default=DEFAULT_RUN_QUERIES,
        help="DL queries per test set on which the shipped first-stage runs become samplers "
        f"(default {DEFAULT_RUN_QUERIES}; -1 = all judged, 0 = none)",
    )
    prep.add_argument("--k", type=int, default=defaults.k, help="group size (default 16)")
    prep.add_argument("--depth", type=int, default=defaults.depth, help="BM25 pool depth d")
    prep.add_argument(
        "--universe",
        type=int,
        default=defaults.universe,
        help=f"BM25 top-u re-ranked by the teacher (default {defaults.universe})",
    )
    prep.add_argument(
        "--rerank-depth",
        type=int,
        default=defaults.rerank_depth,
        help=f"teacher pool: top-d of the BM25 top-u (default {defaults.rerank_depth})",
    )
    prep.add_argument(
        "--dense-depth",
        type=int,
        default=defaults.dense_depth,
        help=f"dense pool: MiniLM top-d (default {defaults.dense_depth})",
    )
    prep.add_argument(
        "--dense-source",
        choices=DENSE_SOURCES,
        default=defaults.dense_source,
        help="dense pool over the whole corpus (faiss; encodes the corpus once, cached) or over "
        f"the BM25 top-u (default {defaults.dense_source})",
    )
    prep.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="encoder precision: auto = fp32 on every machine; bf16 autocast is opt-in (faster "
        "where the CPU does bf16 natively, but batch- and CPU-dependent) (default auto)",
    )
    prep.add_argument(
        "--margin", type=float, default=defaults.margin, help="ensemble de-noising margin"
    )
    prep.add_argument("--teacher", default="rasyosef/splade-tiny", help="teacher model or run file")
    prep.add_argument(
        "--encoder", default="sentence-transformers/all-MiniLM-L6-v2", help="locality encoder"
    )
    prep.set_defaults(func=_cmd_prepare)

    meas = sub.add_parser("measure", help="per sampler: diameter, entropy, kappa, coverage table")
    add_common(meas)
    _add_selection(meas, plans, SAMPLERS)
    meas.add_argument(
        "--encoder", default="sentence-transformers/all-MiniLM-L6-v2", help="locality encoder"
    )
    meas.add_argument(
        "--precision", choices=PRECISIONS, default="auto", help="encoder precision (see prepare)"
    )
    meas.set_defaults(func=_cmd_measure)


def _add_selection(parser, plans, samplers) -> None:
    parser.add_argument(
        "--datasets",
        default=",".join(plans),
        help=f"comma-separated plans among {','.join(plans)} (default all)",
    )
    parser.add_argument(
        "--samplers",
        default=",".join(samplers),
        help=f"comma-separated samplers among {','.join(samplers)} (default all)",
    )


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _device(name: str) -> str:
    from locent.realdata.encoders import resolve_device

    return resolve_device(name)


def _cmd_prepare(args) -> int:
    import json
    import time

    from locent.realdata.prepare import prepare
    from locent.realdata.samplers import SamplerConfig

    cfg = SamplerConfig(
        k=args.k,
        depth=args.depth,
        universe=args.universe,
        rerank_depth=args.rerank_depth,
        dense_depth=args.dense_depth,
        dense_source=args.dense_source,
        margin=args.margin,
        seed=args.seed,
    )
    start = time.perf_counter()
    summary = prepare(
        args.out,
        plans=_split(args.datasets),
        samplers=_split(args.samplers),
        cfg=cfg,
        n_queries=args.queries or None,
        n_test_queries=args.test_queries or None,
        n_run_queries=None if args.run_queries < 0 else args.run_queries,
        teacher=args.teacher,
        encoder=args.encoder,
        device=_device(args.device),
        precision=args.precision,
    )
    print(json.dumps(summary, indent=1, default=str))
    print(f"prepare: {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_measure(args) -> int:
    import time

    from locent.realdata.measure import measure

    start = time.perf_counter()
    measure(
        args.out,
        plans=_split(args.datasets),
        samplers=_split(args.samplers),
        encoder=args.encoder,
        device=_device(args.device),
        precision=args.precision,
    )
    print(f"measure: {time.perf_counter() - start:.1f} s")
    return 0
