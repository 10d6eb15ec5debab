"""Verdicts after a failed stage, and the verdicts file ``checks/verdicts.json``.

When a stage of ``locent run`` fails (or is blocked by one that failed), the result files it
writes are missing or left over from an earlier run; a verdict judged on them would be stale. So
:func:`downgrade_for_failed_stages` turns every verdict that reads a file of such a stage into
INCONCLUSIVE, explaining "stage X failed in this run". Which items depend on which stages follows
from each check's evidence files (:data:`locent.paper_checks.checks.CHECKS`, ``Check.files``) and
the files each stage writes (``locent.pipeline.STAGE_RESULTS``):

====  ================================================  ==========================================
item  evidence files                                    stages (a failed prepare blocks the rest)
====  ================================================  ==========================================
1     theory_results, sim_summary, regime_summary       theory, simulate, simulate_regime
2     sim_summary, regime_summary, dependence_fit       simulate, simulate_regime,
                                                        realdata_dependence
3     sim_summary, samplers, measure_per_query          simulate, realdata_measure
4     sim_summary, regime_summary                       simulate, simulate_regime
5     grid_per_query                                    realdata_grid
6     measure_per_query                                 realdata_measure
7     grid_per_query, grid_results                      realdata_grid
8     sim_summary, regime_summary, grid_results         simulate, simulate_regime, realdata_grid
====  ================================================  ==========================================

(``tests/paper_checks/test_stage_failure_table.py`` derives the mapping from the code and fails
when this table no longer matches it.)

``checks/verdicts.json`` is ``{"stages_failed": [{"stage", "reason"}], "checks": [CheckResult
as dict]}`` with evidence paths relative to ``--out`` (so identical runs in two folders write
identical files); ``stages_failed`` lists the stages that failed or were blocked in the run that
judged (empty for ``locent checks`` on its own). The report shows it as a banner.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from locent.paper_checks.checks import CHECKS
from locent.paper_checks.verdicts import CheckResult, Evidence, Verdict

from locent.provenance import atomic_write_json
from locent.results import read_json

#: the longest part of a stage's failure detail quoted in a verdict's explanation
_REASON_CHARS = 200


def _short(reason: str) -> str:
    reason = " ".join(reason.split())
    return reason if len(reason) <= _REASON_CHARS else reason[: _REASON_CHARS - 1] + "…"


def downgrade_for_failed_stages(
    results: Sequence[CheckResult], failed: Mapping[str, tuple[str, Sequence[str]]]
) -> list[CheckResult]:
    """``results`` with every verdict that reads a file of a failed stage made INCONCLUSIVE.

    ``failed`` maps a stage that failed or was blocked in this run to ``(reason, the
    ResultPaths names of the files it writes)``. The explanation of a downgraded check names the
    stage(s) and their reason; its numbers and evidence are kept (they show what was on disk).
    """
    files_of = {c.item: set(c.files) for c in CHECKS}
    out = []
    for r in results:
        hit = [s for s, (_, names) in failed.items() if files_of.get(r.item, set()) & set(names)]
        if not hit:
            out.append(r)
            continue
        why = "; ".join(f"stage {s} failed in this run ({_short(failed[s][0])})" for s in hit)
        explanation = (
            f"{why}. Its result files are missing or left from an earlier run, so this item is "
            "not judged."
        )
        out.append(replace(r, verdict=Verdict.INCONCLUSIVE, explanation=explanation))
    return out


def _relative(path: str, out: Path) -> str:
    p = Path(path)
    try:
        return p.relative_to(out).as_posix() if p.is_absolute() == out.is_absolute() else path
    except ValueError:
        return path


def _without_out_prefix(value, prefix: re.Pattern):
    """``value`` (a JSON-like tree) with the ``<out>/`` prefix removed wherever a path under
    ``--out`` was quoted (e.g. "no evidence: missing <out>/realdata/...")."""
    if isinstance(value, str):
        return prefix.sub("", value)
    if isinstance(value, dict):
        return {k: _without_out_prefix(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_out_prefix(v, prefix) for v in value]
    return value


def write_verdicts(
    path: str | os.PathLike,
    out: str | os.PathLike,
    results: Sequence[CheckResult],
    stages_failed: Mapping[str, str] | None = None,
) -> Path:
    """Write ``checks/verdicts.json`` (format in the module docstring); paths under ``out`` are
    written relative to it, in the evidence list and in explanations alike."""
    out = Path(out)
    # ``out`` as typed and as an absolute path, each only where a path starts (not inside a word)
    spellings = sorted({f"{out}{os.sep}", f"{out.absolute()}{os.sep}"}, key=len, reverse=True)
    prefixes = re.compile(r"(?<![\w./~-])(?:" + "|".join(map(re.escape, spellings)) + ")")
    checks = []
    for r in results:
        d = r.to_dict()
        d["evidence"] = [{**e, "path": _relative(e["path"], out)} for e in d["evidence"]]
        checks.append(_without_out_prefix(d, prefixes))
    failed = [{"stage": s, "reason": why} for s, why in (stages_failed or {}).items()]
    return atomic_write_json(path, {"stages_failed": failed, "checks": checks})


def read_verdicts(
    path: str | os.PathLike, out: str | os.PathLike
) -> tuple[list[CheckResult], list[dict]]:
    """The check results (evidence paths joined to ``out`` again) and ``stages_failed``."""
    data = read_json(Path(path))
    if not isinstance(data, dict) or "checks" not in data:
        raise ValueError(f"{path}: not a verdicts file (expected keys stages_failed, checks)")
    checks = []
    for d in data["checks"]:
        d["verdict"] = Verdict(d["verdict"])
        d["evidence"] = [
            Evidence(
                str(Path(out) / e["path"]) if not os.path.isabs(e["path"]) else e["path"],
                e["sha256"],
            )
            for e in d["evidence"]
        ]
        checks.append(CheckResult(**d))
    return checks, list(data.get("stages_failed", []))
