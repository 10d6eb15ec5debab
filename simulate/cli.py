"""``locent simulate``: run a simulation preset (smoke | paper), list spaces and presets."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Declare ``locent simulate`` (cheap: heavy imports happen in the handler)."""
    parser = subparsers.add_parser(
        "simulate",
        help="synthetic sweep over samplers, temperatures, n, losses and seeds",
        description="Train batched linear students on synthetic spaces, check Lemmas A-C, "
        "Corollary 2.1 and Theorem 2.1 (iii) on every run, and write "
        "<out>/simulate/<preset>/table.parquet and summary.json.",
    )
    parser.add_argument("--preset", default="smoke", help="smoke (< 1 min) or paper (< 10 min)")
    parser.add_argument("--out", default="locent-out", help="output folder (default ./locent-out)")
    parser.add_argument("--seed", type=int, default=0, help="base seed of every draw")
    parser.add_argument("--resume", action="store_true", help="reuse finished chunk files")
    parser.add_argument("--list", action="store_true", help="list spaces and presets, then exit")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    import json

    from .presets import PRESETS
    from .spaces import list_spaces

    if args.list:
        print("spaces:")
        for line in list_spaces():
            print(f"  {line}")
        print("presets:")
        for name, p in PRESETS.items():
            print(
                f"  {name}\t{p.space_id}\t{len(p.samplers)} samplers x {len(p.tau_units)} tau x "
                f"{len(p.ns)} n x {len(p.losses)} losses x {p.seeds} seeds"
            )
        return 0
    from .runner import run_preset

    summary = run_preset(args.preset, args.out, seed=args.seed, resume=args.resume)
    keys = (
        "n_runs",
        "exact_violations",
        "theorem_iii_violation_rate",
        "theorem_iii_violation_rate_ci",
        "delta",
        "spearman_gap_vs_diameter",
        "spearman_floor_vs_entropy",
        "spearman_entropy_vs_diameter",
        "intermediate_locality_optimum",
        "table",
        "wall_time_s",
    )
    print(json.dumps({k: summary[k] for k in keys}, indent=2))
    return 0
