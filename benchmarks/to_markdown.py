"""A pytest-benchmark JSON file as one Markdown table: the README's benchmark table is generated,
not typed.

    python -m pytest benchmarks/bench_theory_estimators.py --benchmark-only -p no:cacheprovider \\
        --benchmark-json=bench.json
    python benchmarks/to_markdown.py bench.json [bench-avx2.json ...] > tables.md

One row per benchmark: its name, the best round (pytest-benchmark's ``min``; the theory
estimators time process CPU seconds), then every ``extra_info`` number the benchmark recorded
(GB/s, speed-up against the reference measured in the same run, ours/floor, passages/s, ...).
The header states the machine (``machine_info``: CPU brand, cores) and the CPU features the
benchmarks recorded (AVX-512, bf16, and any instruction-set restriction such as
``benchmarks/isa_avx2.sh``), so a reader knows which machine a ratio belongs to. Several files
give one table each, in the order given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: ``extra_info`` keys shown as columns, in this order, when any row has them (others: ignored)
COLUMNS = (
    ("gb_per_s", "GB/s"),
    ("speedup_vs_reference", "× reference"),
    ("vs_floor", "ours / floor"),
    ("passages_per_s", "passages/s"),
    ("ratio", "ratio"),
    ("groups_per_s", "groups/s"),
    ("queries_per_s", "queries/s"),
    ("fast_path_groups", "fast-path groups"),
)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def to_markdown(data: dict) -> str:
    """The table of a pytest-benchmark JSON document (``json.load`` of ``--benchmark-json``)."""
    rows = data.get("benchmarks", [])
    if not rows:
        raise ValueError("no benchmarks in this file (was it written by --benchmark-json?)")
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {})
    features = sorted({str(r.get("extra_info", {}).get("cpu_features")) for r in rows} - {"None"})
    present = [
        (k, label) for k, label in COLUMNS if any(k in r.get("extra_info", {}) for r in rows)
    ]
    recorded = "; ".join(features) or "not recorded"
    lines = [
        f"Machine: {cpu.get('brand_raw', machine.get('processor', '?'))}, "
        f"{cpu.get('count', '?')} logical CPUs; CPU features: {recorded}; "
        f"{data.get('datetime', '')}, commit {data.get('commit_info', {}).get('id', '?')[:10]}.",
        "",
        "| benchmark | best (s) | " + " | ".join(label for _, label in present) + " |",
        "|---|---|" + "---|" * len(present),
    ]
    for r in rows:
        info = r.get("extra_info", {})
        cells = [_fmt(info.get(k)) for k, _ in present]
        lines.append(f"| {r['name']} | {r['stats']['min']:.4g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        print(
            "usage: python benchmarks/to_markdown.py BENCH.json [BENCH.json ...]", file=sys.stderr
        )
        return 2
    tables = []
    for arg in argv:
        path = Path(arg)
        try:
            tables.append(to_markdown(json.loads(path.read_text())))
        except (OSError, json.JSONDecodeError, ValueError) as err:
            print(f"{path}: cannot read a benchmark JSON ({err})", file=sys.stderr)
            return 2
    sys.stdout.write("\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
