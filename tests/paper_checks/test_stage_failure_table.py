"""The docstring table of paper_checks/stage_failures.py matches the mapping the code derives."""

from __future__ import annotations

import re

from locent.paper_checks import stage_failures
from locent.paper_checks.checks import CHECKS

from locent.pipeline import STAGE_RESULTS


def _documented() -> dict[int, tuple[set, set]]:
    rows, current = {}, None
    for line in stage_failures.__doc__.splitlines():
        m = re.match(r"^(\d)\s{2,}(\S.*?)\s{2,}(\S.*)$", line)
        if m:
            current = int(m.group(1))
            rows[current] = (set(m.group(2).split(", ")), set(m.group(3).strip(",").split(", ")))
        elif current is not None and re.match(r"^\s{20,}\S", line):  # a wrapped stages cell
            rows[current][1].update(x for x in line.strip().strip(",").split(", ") if x)
        else:
            current = None if not line.strip() else current
    return rows


def test_docstring_table_matches_checks_and_stage_results():
    derived = {
        c.item: (
            set(c.files),
            {s for s, names in STAGE_RESULTS.items() if set(names) & set(c.files)},
        )
        for c in CHECKS
    }
    assert _documented() == derived
