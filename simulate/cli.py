"""``locent simulate``: declare the arguments; the handler calls ``runner.run_preset``.

Registration is cheap (argparse only): the simulation modules (torch, scipy) are imported when
the handler runs, so ``locent --help`` and the other sub-commands do not pay for them.
"""

from __future__ import annotations

import argparse
import json

from locent.cli_types import nonneg_int, one_of, writable_out_dir
from locent.results import DEFAULT_OUT

#: the summary keys ``locent simulate`` prints (the full summary is in summary.json)
PRINTED_KEYS = (
    "n_runs",
    "exact_violations",
    "theorem_iii_violation_rate",
    "theorem_iii_violation_rate_ci",
    "delta",
    "spearman_gap_vs_diameter",
    "spearman_floor_vs_entropy",
    "spearman_entropy_vs_diameter",
    "intermediate_locality_optimum",
)
#: the run record ``locent simulate`` prints after the summary (not in summary.json: a path and
#: a wall time would make identical runs' evidence differ; see ``runner.RUN_RECORD_KEYS``)
PRINTED_RUN_KEYS = ("table", "chunks_reused", "wall_time_s")


def _preset_names() -> list[str]:
    # imported at parse time, not at registration: presets import the theory (torch)
    from .presets import PRESETS

    return list(PRESETS)


def register(subparsers) -> None:
    """Declare ``locent simulate``."""
    parser = subparsers.add_parser(
        "simulate",
        help="synthetic sweep over samplers, temperatures, n, losses and seeds",
        description="Train batched linear students on synthetic spaces, check Lemmas A-C, "
        "Corollary 2.1 and Theorem 2.1 (iii) on every run, and write "
        "<out>/simulate/<preset>/table.parquet and summary.json.",
    )
    parser.add_argument(
        "--preset",
        default="smoke",
        type=one_of(_preset_names, "preset"),
        help="smoke (< 1 min), paper (< 10 min) or regime (the n axis 8-256 for items 2 and 4 "
        "and the (iii) mutation tests, < 3 min)",
    )
    parser.add_argument(
        "--out",
        type=writable_out_dir,
        default=DEFAULT_OUT,
        help=f"output folder, a writable directory or creatable (default ./{DEFAULT_OUT})",
    )
    parser.add_argument("--seed", type=nonneg_int, default=0, help="base seed of every draw")
    parser.add_argument(
        "--device",
        default="cpu",
        help="where students train: cpu (default; bit-reproducible) or cuda",
    )
    parser.add_argument("--resume", action="store_true", help="reuse finished chunk files")
    parser.add_argument("--list", action="store_true", help="list spaces and presets, then exit")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    # imported here, not at the top, only to keep registration cheap (no import cycle behind it)
    from .presets import describe_presets
    from .runner import run_preset
    from .spaces import list_spaces

    if args.list:
        print("\n".join(["spaces:", *(f"  {s}" for s in list_spaces())]))
        print("\n".join(["presets:", *(f"  {p}" for p in describe_presets())]))
        return 0
    summary = run_preset(
        args.preset, args.out, seed=args.seed, device=args.device, resume=args.resume
    )
    print(json.dumps({k: summary[k] for k in (*PRINTED_KEYS, *PRINTED_RUN_KEYS)}, indent=2))
    return 0
