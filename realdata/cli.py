"""``locent realdata prepare | measure | train | grid | report``: argument declarations only.

Each handler builds the stage's parameters (:mod:`locent.realdata.stages`, field names = the
option dests below, same defaults) and calls the stage function; ``train`` runs a one-condition
grid (:func:`locent.realdata.stages.grid_inputs` + :func:`locent.realdata.grid.run.run_grid`).

- ``prepare``: training groups per sampler (``realdata/groups/``) and pools on test queries;
- ``measure``: per sampler Δ̂_Q, H(g), κ_Q, coverage (``realdata/measure/``);
- ``train``: one condition (student × loss × sampler × subset) with one seed, trained and
  evaluated into ``<out>/realdata/grid/train/`` (``<out>/realdata/grid/<plan>/train/`` with
  ``--train``);
- ``grid --preset smoke|default|paper``: the whole grid into ``<out>/realdata/grid/<preset>/``
  (resumable; ``--fresh`` starts over; ``--synthetic``: the small synthetic world);
- ``report``: Table 1 (Markdown + CSV) of a grid, printed and written beside its results.

``--lr`` (train and grid): a number, or ``auto`` (chosen per student × loss × sampler on that
sampler's held-out training queries, :mod:`locent.realdata.grid.lr_selection`); default: the
preset's.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import pandas as pd
from locent.realdata import diagnose_cli, labelled_cli, stages
from locent.realdata.cli_checks import (
    learning_rate,
    plan_list,
    require_grid_results,
    require_groups_of,
    teacher_source,
)
from locent.realdata.dependence import cli as dependence_cli
from locent.realdata.encoders import PRECISIONS
from locent.realdata.entropy_cuts import SUBSETS
from locent.realdata.grid.inputs import TEST_SETS
from locent.realdata.grid.presets import PRESETS, Preset
from locent.realdata.grid.run import run_grid
from locent.realdata.knobs.build import parse_knobs
from locent.realdata.measure import require_groups
from locent.realdata.prepare import LABELLED_PLANS, PLANS, resolve_plan
from locent.realdata.samplers import DENSE_SOURCES, SAMPLERS
from locent.realdata.students import FAMILIES
from locent.theory import LOSSES

from locent.cli_types import (
    comma_choices,
    int_at_least,
    nonneg_float,
    nonneg_int,
    one_of,
    open_probability,
    positive_float,
    positive_int,
    writable_out_dir,
)
from locent.results import DEFAULT_OUT


def _default(params, name):
    return {f.name: f.default for f in dataclasses.fields(params)}[name]


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options every realdata command shares."""
    parser.add_argument(
        "--out",
        type=writable_out_dir,
        default=DEFAULT_OUT,
        help=f"output folder, a writable directory or creatable (default ./{DEFAULT_OUT})",
    )
    parser.add_argument("--seed", type=nonneg_int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="torch device"
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "realdata", help="MS MARCO through ir_datasets: groups, measurements, training, report"
    )
    sub = parser.add_subparsers(dest="realdata_command", metavar="STEP")
    _declare_prepare(sub)
    _declare_measure(sub)
    _declare_train(sub)
    _declare_grid(sub)
    _declare_report(sub)
    dependence_cli.register(sub, add_common)
    labelled_cli.register(sub, add_common)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
    diagnose_cli.register(subparsers)  # ``locent diagnose``: a top-level command of this part


def _selection(parser) -> None:
    parser.add_argument(
        "--datasets",
        type=plan_list({**PLANS, **LABELLED_PLANS}),
        default=",".join(PLANS),
        help=f"comma-separated plans among {','.join(PLANS)} (default all) or the labelled "
        f"plans {','.join(LABELLED_PLANS)}",
    )
    parser.add_argument(
        "--samplers",
        type=comma_choices(SAMPLERS, "sampler"),
        default=",".join(SAMPLERS),
        help=f"comma-separated samplers among {','.join(SAMPLERS)} (default all)",
    )


def _declare_prepare(sub) -> None:
    d = lambda name: _default(stages.PrepareParams, name)  # noqa: E731
    p = sub.add_parser(
        "prepare",
        help="build training groups per sampler (realdata/groups/) and pools on test queries",
    )
    add_common(p)
    _selection(p)
    p.add_argument(
        "--queries",
        type=nonneg_int,
        default=d("queries"),
        help=f"training queries per dataset (default {d('queries')}; 0 = all, e.g. "
        "6,980 for dev/small)",
    )
    p.add_argument(
        "--test-queries",
        type=nonneg_int,
        default=d("test_queries"),
        help="test queries per test dataset for kappa/coverage (default "
        f"{d('test_queries')}; 0 = all)",
    )
    p.add_argument(
        "--run-queries",
        type=int_at_least(-1, "-1 = all judged"),
        default=d("run_queries"),
        help="DL queries per test set on which the shipped first-stage runs become "
        f"samplers (default {d('run_queries')}; -1 = all judged, 0 = none)",
    )
    p.add_argument(
        "--k",
        type=int_at_least(2, "a group is a positive and at least one negative"),
        default=d("k"),
        help=f"group size (default {d('k')})",
    )
    p.add_argument("--depth", type=positive_int, default=d("depth"), help="BM25 pool depth d")
    p.add_argument(
        "--universe",
        type=positive_int,
        default=d("universe"),
        help=f"BM25 top-u re-ranked by the teacher (default {d('universe')})",
    )
    p.add_argument(
        "--rerank-depth",
        type=positive_int,
        default=d("rerank_depth"),
        help=f"teacher pool: top-d of the BM25 top-u (default {d('rerank_depth')})",
    )
    p.add_argument(
        "--dense-depth",
        type=positive_int,
        default=d("dense_depth"),
        help=f"dense pool: MiniLM top-d (default {d('dense_depth')})",
    )
    p.add_argument(
        "--dense-source",
        choices=DENSE_SOURCES,
        default=d("dense_source"),
        help="dense pool over the whole corpus (faiss; encodes the corpus once, "
        f"cached) or over the BM25 top-u (default {d('dense_source')})",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=d("precision"),
        help="encoder precision: auto = fp32 on every machine; bf16 autocast is opt-in (faster "
        "where the CPU does bf16 natively, but batch- and CPU-dependent) (default auto)",
    )
    p.add_argument(
        "--margin", type=nonneg_float, default=d("margin"), help="ensemble de-noising margin"
    )
    p.add_argument(
        "--teacher",
        type=teacher_source,
        default=d("teacher"),
        help="teacher: a model name or folder, a TREC run (.run/.trec) or a score file "
        "(.json[.gz])",
    )
    p.add_argument(
        "--teacher-mode",
        default=d("teacher_mode"),
        choices=("score", "rank"),
        help="a teacher file's score column, or g = -rank (a listwise re-ranker's permutation)",
    )
    _knobs_option(p, d("knobs"))
    p.add_argument("--encoder", default=d("encoder"), help="locality encoder")
    _any_collection(p)
    p.set_defaults(func=_prepare)


def _any_collection(p) -> None:
    """``--train ID --test ID[,ID] --collection FOLDER``: a plan for any collection."""
    p.add_argument(
        "--train",
        default=None,
        metavar="ID",
        help="training dataset: any ir_datasets ID, or local/<name> of a --collection; replaces "
        "--datasets by one plan named after the ID (measure it with --datasets ID)",
    )
    p.add_argument(
        "--test",
        dest="tests",
        default="",
        metavar="ID[,ID]",
        help="test datasets of the --train plan (default: the training dataset itself)",
    )
    p.add_argument(
        "--collection",
        dest="collections",
        action="append",
        default=[],
        metavar="FOLDER",
        help="a local collection (docs/queries/qrels files, or .ALL/.QRY/.REL) registered as "
        "local/<folder name>; repeatable",
    )


def _declare_measure(sub) -> None:
    d = lambda name: _default(stages.MeasureParams, name)  # noqa: E731
    p = sub.add_parser("measure", help="per sampler: diameter, entropy, kappa, coverage table")
    add_common(p)
    _selection(p)
    p.add_argument("--encoder", default=d("encoder"), help="locality encoder")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=d("precision"),
        help="encoder precision (see prepare)",
    )
    _knobs_option(p, _default(stages.MeasureParams, "knobs"))
    p.set_defaults(func=_measure)


def _knobs_type(value: str) -> tuple[str, ...]:
    try:
        return parse_knobs(value)
    except ValueError as err:  # argparse prints the message and exits 2
        raise argparse.ArgumentTypeError(str(err)) from None


def _knobs_option(p, default) -> None:
    p.add_argument(
        "--knobs",
        type=_knobs_type,
        default=default,
        help="knobs to build/measure: locality (dense@d, bm25@d, ball@r samplers), entropy "
        f"(teacher variants), comma-separated, or none (default {','.join(default)})",
    )


def _grid_options(p) -> None:
    p.add_argument(
        "--samplers",
        nargs="+",
        type=one_of(SAMPLERS, "sampler"),
        default=None,
        help="override the preset's samplers",
    )
    p.add_argument(
        "--lr",
        type=learning_rate,
        default=None,
        help="learning rate: a number, or 'auto' (chosen per student x loss on "
        "held-out training queries; see locent.realdata.grid.lr_selection); default: "
        "the preset's",
    )
    p.add_argument(
        "--test-sets",
        nargs="+",
        type=one_of(TEST_SETS, "test set"),
        default=None,
        help="test sets (default dl19 dl20 vaswani cranfield)",
    )
    p.add_argument("--steps", type=positive_int, default=None, help="optimiser steps per condition")
    p.add_argument(
        "--batch-size", type=positive_int, default=None, help="groups per optimiser step"
    )
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--teacher-sets",
        nargs="+",
        type=one_of(TEST_SETS, "test set"),
        default=None,
        help="test sets the teacher scores (default "
        f"{' '.join(stages.DEFAULT_TEACHER_SETS)}; costly on CPU for the others)",
    )
    p.add_argument("--synthetic", action="store_true", help="use the synthetic world (offline)")
    p.add_argument(
        "--train",
        default=None,
        metavar="ID",
        help="the plan written by `prepare --train ID` (its groups; its test datasets as the "
        "default test sets); results go to <out>/realdata/grid/<plan>/<preset>",
    )


def _declare_train(sub) -> None:
    p = sub.add_parser("train", help="train and evaluate one condition with one seed")
    add_common(p)
    p.add_argument("--sampler", required=True, type=one_of(SAMPLERS, "sampler"))
    p.add_argument("--loss", required=True, choices=tuple(LOSSES))
    p.add_argument("--student", default="frozen", choices=FAMILIES)
    p.add_argument("--arch", default="bi", choices=("bi", "cross"))
    p.add_argument(
        "--subset",
        default="full",
        type=one_of(SUBSETS, "entropy subset"),
        help=f"entropy subset, one of {', '.join(SUBSETS)}",
    )
    p.add_argument("--tau", type=positive_float, default=1.0, help="teacher temperature")
    _grid_options(p)
    p.set_defaults(func=_train)


def _declare_grid(sub) -> None:
    d = lambda name: _default(stages.GridParams, name)  # noqa: E731
    p = sub.add_parser("grid", help="the sampler x loss x student x seed grid (+ entropy cuts)")
    add_common(p)
    p.add_argument("--preset", default=d("preset"), choices=tuple(PRESETS))
    p.add_argument(
        "--student",
        default=None,
        choices=FAMILIES,
        help="override the student family of the preset",
    )
    p.add_argument("--fresh", action="store_true", help="discard finished cells and start over")
    _grid_options(p)
    p.set_defaults(func=_grid)


def _declare_report(sub) -> None:
    d = lambda name: _default(stages.ReportParams, name)  # noqa: E731
    p = sub.add_parser("report", help="Table 1 of a grid (Markdown + CSV)")
    add_common(p)
    p.add_argument("--preset", default=d("preset"), choices=(*PRESETS, "train"))
    p.add_argument(
        "--reference",
        type=one_of(SAMPLERS, "sampler"),
        default=d("reference"),
        help="reference sampler of the marks",
    )
    p.add_argument(
        "--margin", type=positive_float, default=d("margin"), help="TOST equivalence margin"
    )
    p.add_argument("--alpha", type=open_probability, default=d("alpha"), help="significance level")
    p.add_argument(
        "--train",
        default=None,
        metavar="ID",
        help="report the grid of this `prepare --train` plan (default: the MS MARCO grid)",
    )
    p.set_defaults(func=_report)


# ---------------------------------------------------------------------------------- handlers


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _params(cls, args, **converted):
    """``cls`` from the parsed ``args`` (same names), ``converted`` values replacing raw ones."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)}
    values.update(out=Path(args.out), **converted)
    return cls(**values)


def _tuple_or_none(values):
    return tuple(values) if values else None


def prepare_params(args) -> stages.PrepareParams:
    """The parameters of ``locent realdata prepare`` from its parsed options."""
    return _params(
        stages.PrepareParams,
        args,
        tests=_split(args.tests),
        collections=tuple(args.collections),
    )


def measure_params(args) -> stages.MeasureParams:
    """The parameters of ``locent realdata measure`` from its parsed options."""
    return _params(stages.MeasureParams, args)


def grid_params(args) -> stages.GridParams:
    """The parameters of ``locent realdata grid`` from its parsed options."""
    return _params(
        stages.GridParams,
        args,
        samplers=_tuple_or_none(args.samplers),
        test_sets=_tuple_or_none(args.test_sets),
        teacher_sets=_tuple_or_none(args.teacher_sets),
    )


def report_params(args) -> stages.ReportParams:
    """The parameters of ``locent realdata report`` from its parsed options."""
    return _params(stages.ReportParams, args)


def _prepare(args) -> int:
    print(stages.prepare_stage(prepare_params(args)))
    return 0


def _measure(args) -> int:
    p = measure_params(args)
    require_groups(p.out, p.datasets, p.samplers)  # before the stage loads the encoder
    summary = stages.measure_stage(p)
    print((p.out / "realdata" / "measure" / "samplers.txt").read_text(), end="")
    print(summary)
    return 0


def _grid(args) -> int:
    p = grid_params(args)
    if not p.synthetic:  # the groups are read first; name every missing one before any work
        needed = stages.grid_preset(p).needed_samplers()
        plan = resolve_plan(p.train, p.out) if p.train else PLANS["msmarco"]
        require_groups_of(plan.groups_dir(p.out), needed)
    print(stages.grid_stage(p))
    return 0


def _report(args) -> int:
    p = report_params(args)
    folder = stages.grid_dir(p.out, p.preset, p.train)
    require_grid_results(folder)
    summary = stages.report_stage(p)
    sys.stdout.write((folder / "table1.md").read_text())
    print(summary)
    return 0


def _train(args) -> int:
    """One condition × seed: a grid of one cell under ``<out>/realdata/grid/train``."""
    preset = Preset(
        "train",
        students=((args.student, args.arch),),
        samplers=(args.sampler,),
        losses=(args.loss,),
        seeds=(args.seed,),
        tau=args.tau,
    )
    changes = {
        k: v
        for k, v in (("steps", args.steps), ("batch_size", args.batch_size), ("lr", args.lr))
        if v is not None
    }
    if args.subset != "full":
        changes.update(cuts=((args.loss, args.sampler),), cut_subsets=(args.subset,))
    preset = dataclasses.replace(preset, **changes)
    p = grid_params(argparse.Namespace(**{**vars(args), "preset": "train", "fresh": False}))
    if not p.synthetic:
        plan = resolve_plan(p.train, p.out) if p.train else PLANS["msmarco"]
        require_groups_of(plan.groups_dir(p.out), preset.needed_samplers())
    inputs = stages.grid_inputs(p, preset.needed_samplers(), [args.student])
    out_dir = stages.grid_dir(args.out, "train", p.train)
    paths = run_grid(inputs, preset, out_dir, device=args.device, threads=args.threads)
    results = pd.read_csv(paths["results"])
    cols = ["condition", "seed", "dataset", "nDCG@10", "AP(rel=2)", "RR(rel=2)@10", "misordering"]
    print(results[cols].to_string(index=False))
    return 0
