"""``locent realdata train | grid | report``: argument declarations only; work in the handlers.

- ``train``: one condition (student × loss × sampler × subset) with one seed, trained and
  evaluated into ``<out>/realdata/grid/train/``.
- ``grid --preset smoke|default|paper``: the whole grid into ``<out>/realdata/grid/<preset>/``
  (resumable: finished cells are kept; ``--fresh`` starts over). ``--synthetic`` runs on the small
  synthetic world of :mod:`locent.realdata.training_synthetic` (no prepared data needed).
- ``report``: Table 1 (Markdown + CSV) of a grid, printed and written beside its results.

``--lr`` (train and grid): a number, or ``auto`` (chosen per student × loss on held-out training
queries, :mod:`locent.realdata.lr_selection`); default: the preset's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from locent.realdata.cli import add_common

LOSS_CHOICES = ("lce", "soft_ranknet", "hard_ranknet", "margin_mse", "listwise_kl")
PRESET_CHOICES = ("smoke", "default", "paper")


def learning_rate(value: str) -> float | str:
    """``--lr``: a number > 0, or ``auto`` (chosen on held-out training queries)."""
    if value == "auto":
        return value
    try:
        lr = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--lr must be a number or 'auto'; got {value!r}"
        ) from None
    if not lr > 0:
        raise argparse.ArgumentTypeError(f"--lr must be > 0; got {value!r}")
    return lr


def _grid_options(p) -> None:
    p.add_argument("--samplers", nargs="+", default=None, help="override the preset's samplers")
    p.add_argument(
        "--lr",
        type=learning_rate,
        default=None,
        help="learning rate: a number, or 'auto' (chosen per student x loss on held-out "
        "training queries; see locent.realdata.lr_selection); default: the preset's",
    )
    p.add_argument(
        "--test-sets",
        nargs="+",
        default=None,
        help="test sets (default dl19 dl20 vaswani cranfield)",
    )
    p.add_argument("--steps", type=int, default=None, help="optimiser steps per condition")
    p.add_argument("--batch-size", type=int, default=None, help="groups per optimiser step")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--teacher-sets",
        nargs="+",
        default=None,
        help="test sets the teacher scores (default dl19 dl20; costly on CPU for the others)",
    )
    p.add_argument(
        "--synthetic", action="store_true", help="use the synthetic world (offline smoke)"
    )


def register(sub) -> None:
    p = sub.add_parser("train", help="train and evaluate one condition with one seed")
    add_common(p)
    p.add_argument("--sampler", required=True)
    p.add_argument("--loss", required=True, choices=LOSS_CHOICES)
    p.add_argument("--student", default="frozen", choices=("frozen", "transformer"))
    p.add_argument("--arch", default="bi", choices=("bi", "cross"))
    p.add_argument("--subset", default="full", help="entropy subset (entropy_cuts.SUBSETS)")
    p.add_argument("--tau", type=float, default=1.0)
    _grid_options(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("grid", help="the sampler x loss x student x seed grid (+ entropy cuts)")
    add_common(p)
    p.add_argument("--preset", default="default", choices=PRESET_CHOICES)
    p.add_argument(
        "--student",
        default=None,
        choices=("frozen", "transformer"),
        help="override the student family of the preset",
    )
    p.add_argument("--fresh", action="store_true", help="discard finished cells and start over")
    _grid_options(p)
    p.set_defaults(func=_grid)

    p = sub.add_parser("report", help="Table 1 of a grid (Markdown + CSV)")
    add_common(p)
    p.add_argument("--preset", default="default", choices=(*PRESET_CHOICES, "train"))
    p.add_argument("--reference", default="bm25", help="reference sampler of the marks")
    p.add_argument("--margin", type=float, default=0.02, help="TOST equivalence margin")
    p.add_argument("--alpha", type=float, default=0.05)
    p.set_defaults(func=_report)


def _inputs(args, samplers, students):
    if args.synthetic:
        from locent.realdata.training_synthetic import synthetic_inputs

        kw = {"samplers": samplers}
        if args.test_sets:
            kw["test_sets"] = tuple(args.test_sets)
        return synthetic_inputs(seed=args.seed, **kw)
    from locent.realdata.training_inputs import TEST_SETS, load_real_inputs

    return load_real_inputs(
        args.out,
        samplers,
        students,
        tuple(args.test_sets or TEST_SETS),
        device="cuda" if args.device == "cuda" else "cpu",
        teacher_sets=tuple(args.teacher_sets or ("dl19", "dl20")),
    )


def _apply_overrides(preset, args):
    changes = {}
    if args.samplers:
        changes["samplers"] = tuple(args.samplers)
        changes["cuts"] = tuple((l, s) for l, s in preset.cuts if s in args.samplers)
    for name in ("steps", "batch_size", "lr"):
        if getattr(args, name, None) is not None:
            changes[name] = getattr(args, name)
    if getattr(args, "student", None) and args.student != preset.students[0][0]:
        changes["students"] = tuple((args.student, arch) for _, arch in preset.students)
    return dataclasses.replace(preset, **changes)


def _grid(args) -> int:
    from locent.realdata.grid import PRESETS, run_grid
    from locent.realdata.report import write_report

    preset = _apply_overrides(PRESETS[args.preset], args)
    preset = dataclasses.replace(preset, seeds=tuple(args.seed + s for s in preset.seeds))
    inputs = _inputs(args, preset.needed_samplers(), sorted({s for s, _ in preset.students}))
    out_dir = Path(args.out) / "realdata" / "grid" / preset.name
    paths = run_grid(
        inputs, preset, out_dir, device=args.device, resume=not args.fresh, threads=args.threads
    )
    print(write_report(out_dir))
    print(json.dumps({k: str(v) for k, v in paths.items()}, indent=2))
    return 0


def _train(args) -> int:
    from locent.realdata.grid import Preset, run_grid

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
    inputs = _inputs(args, preset.needed_samplers(), [args.student])
    out_dir = Path(args.out) / "realdata" / "grid" / "train"
    paths = run_grid(inputs, preset, out_dir, device=args.device, threads=args.threads)
    import pandas as pd

    results = pd.read_csv(paths["results"])
    cols = ["condition", "seed", "dataset", "nDCG@10", "AP(rel=2)", "RR(rel=2)@10", "misordering"]
    print(results[cols].to_string(index=False))
    return 0


def _report(args) -> int:
    from locent.realdata.report import write_report

    grid_dir = Path(args.out) / "realdata" / "grid" / args.preset
    text = write_report(grid_dir, args.reference, args.margin, args.alpha)
    sys.stdout.write(text)
    return 0
