"""What a grid's finished cells were trained on, so that a resume never mixes in stale cells.

A cell folder (``cells/<condition>.<seed>/done.json``) records neither the groups nor the budget
it was trained with. :func:`grid_record` states them once per grid: the preset (or any design
dict) and, per sampler, a sha256 of its training groups' content (query ids, doc ids, teacher
scores), plus the test sets and feature families. :func:`drop_stale_cells` compares it with the
``grid.json`` a previous call left: on any difference the finished cells, their checkpoints and
the learning-rate table are removed (said on stderr) and everything is trained again. Without
this, a ``locent run --precision bf16 --resume`` over an fp32 store re-used the fp32 cells for
the bf16 groups (measured: all 114 cells of the default grid "resumed" in 4 s).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from locent.provenance import atomic_write_json, to_json

RECORD = "grid.json"
#: what a stale record invalidates (relative to the grid folder)
STALE = ("cells", "checkpoints", "lr_selection.csv", "lr_selection.provenance.json")


def groups_sha256(groups) -> str:
    """sha256 of a Groups' content: query ids, doc ids ``(n, k)`` and teacher scores ``(n, k)``."""
    h = hashlib.sha256()
    h.update("\n".join(map(str, groups.query_ids)).encode())
    h.update("\n".join(map(str, np.asarray(groups.doc_ids).ravel())).encode())
    h.update(np.ascontiguousarray(groups.teacher_scores, dtype=np.float64).tobytes())
    return h.hexdigest()


def grid_record(inputs, design: dict) -> dict:
    """The record of what ``inputs`` and ``design`` train (JSON-normalised)."""
    record = {
        "design": design,
        "groups": {s: groups_sha256(g) for s, g in sorted(inputs.groups.items())},
        "test_sets": [es.name for es in inputs.eval_sets],
        "features": sorted(inputs.features),
    }
    return json.loads(to_json(record))


def drop_stale_cells(out_dir: Path, record: dict) -> bool:
    """Remove the finished work of ``out_dir`` when its record differs from ``record``; write
    ``record``. Returns True when something was removed."""
    out_dir = Path(out_dir)
    path = out_dir / RECORD
    previous = json.loads(path.read_text()) if path.exists() else None
    stale = [out_dir / name for name in STALE if (out_dir / name).exists()]
    removed = False
    if stale and previous != record:
        why = (
            "no record of what they were trained on"
            if previous is None
            else "other inputs (groups, design or test sets changed)"
        )
        print(f"grid {out_dir}: finished cells have {why}; removed and trained again",
              file=sys.stderr)  # fmt: skip
        for p in stale:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        removed = True
    atomic_write_json(path, record)
    return removed
