"""The stage runner of ``locent run``: stages in order, a record per stage in ``run_state.json``,
freshness by content (:mod:`locent.freshness`), resume.

A record per stage (status, wall time, parameters, detail, the digests of what it read and
wrote) is written atomically to ``<out>/run_state.json`` after every stage, so an interrupted run
resumes: ``resume=True`` skips a stage only when it is *current* (:func:`why_not_current`). A
stage whose ``requires`` failed is ``blocked``; a stage that reads a failed stage's results
(``after``) still runs, and one declared ``wants_failures`` (the checks) is told which failed.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from locent.errors import UserError
from locent.freshness import (
    manifest,
    remove_corrupt,
    stage_files,
    verify_artifact,
    verify_manifest,
)
from locent.progress import progress
from locent.provenance import atomic_write_json, file_sha256

STATE_FILE = "run_state.json"


class StageError(RuntimeError):
    """A stage ran but could not do its job (e.g. a figure failed, a needed file is missing)."""


@dataclass
class Stage:
    """One step: ``run(out)`` does the work and returns a short detail string (with
    ``wants_failures``, ``run(out, failed)`` also gets ``{stage: why}`` of the stages that failed
    or were blocked earlier in this run)."""

    name: str
    params: dict
    run: Callable[..., str]
    #: stages that must have succeeded (otherwise this one is ``blocked``)
    requires: tuple[str, ...] = ()
    #: stages whose results this one reads; if one ran again, this one runs again on resume
    after: tuple[str, ...] = ()
    #: files/folders (relative to ``out``) the stage leaves; it fails if one is missing or does
    #: not verify afterwards, and resume re-runs it if one no longer verifies
    outputs: tuple[str, ...] = ()
    #: call ``run(out, failed)`` (the checks stage, which marks dependent verdicts INCONCLUSIVE)
    wants_failures: bool = False


@dataclass
class StageRecord:
    status: str  # done | failed | blocked | skipped
    wall_s: float
    params: dict
    detail: str = ""
    #: {path under out: sha256} of the outputs of the stages it read (requires + after)
    inputs: dict = field(default_factory=dict)
    #: {path under out: {sha256, bytes[, rows]}} of every file it wrote (only when ``done``)
    outputs: dict = field(default_factory=dict)


@dataclass
class RunOutcome:
    records: dict[str, StageRecord] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [n for n, r in self.records.items() if r.status in ("failed", "blocked")]

    @property
    def exit_code(self) -> int:
        """0 when every stage ran (whatever the verdicts), 1 when one could not."""
        return 1 if self.failed else 0


def load_state(out: Path) -> dict:
    path = out / STATE_FILE
    if not path.is_file():
        return {"stages": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err}); delete it to start afresh") from err


def _canonical(params: dict) -> dict:
    return json.loads(json.dumps(params, sort_keys=True, default=str))


def _inputs(out: Path, state: dict, upstream: Sequence[str], memo: dict) -> dict[str, str]:
    """``{path: sha256}`` (``"missing"`` if gone) of the files the ``upstream`` stages wrote, as
    they are on disk now: a file changed by hand or by a stand-alone command counts as changed.
    ``memo`` caches digests by (path, size, mtime) within one run."""
    inputs = {}
    for name in upstream:
        for rel in state["stages"].get(name, {}).get("outputs", {}):
            path = out / rel
            if not path.is_file():
                inputs[rel] = "missing"
                continue
            stat = path.stat()
            key = (rel, stat.st_size, stat.st_mtime_ns)
            if key not in memo:
                memo[key] = file_sha256(path)
            inputs[rel] = memo[key]
    return dict(sorted(inputs.items()))


def why_not_current(
    out: Path, stage: Stage, old: dict, params: dict, inputs: dict, ran_now: set[str]
) -> str | None:
    """``None`` when the stage's last record is still current, else the first reason it is not."""
    if old.get("status") not in ("done", "skipped"):
        return f"its last run {old.get('status', 'did not finish')}"
    if old.get("params") != params:
        return "its parameters changed"
    again = [n for n in stage.requires + stage.after if n in ran_now]
    if again:
        return f"{', '.join(again)} ran again"
    if "outputs" not in old:
        return "its record predates content hashes"
    if old.get("inputs", {}) != inputs:
        changed = sorted(set(old.get("inputs", {}).items()) ^ set(inputs.items()))
        return f"its input {changed[0][0]} changed"
    missing = [o for o in stage.outputs if not (out / o).exists()]
    if missing:
        return f"its output {missing[0]} is missing"
    problems = verify_manifest(out, old["outputs"])
    if problems:
        rel, reason = next(iter(problems.items()))
        return f"its output {rel} does not verify: {reason}"
    return None


def _record_outputs(out: Path, stage: Stage) -> dict:
    """The manifest of what the stage wrote; :class:`StageError` naming a missing or broken one."""
    missing = [o for o in stage.outputs if not (out / o).exists()]
    if missing:
        raise StageError(f"it wrote no {', '.join(missing)}")
    for rel in stage_files(out, stage.outputs):
        reason = verify_artifact(out / rel)
        if reason:
            raise StageError(f"it wrote {rel}, which does not verify: {reason}")
    return manifest(out, stage.outputs)


def _run_one(out: Path, stage: Stage, failed: dict[str, str]) -> tuple[str, str, dict]:
    """Run the stage: ``(status, detail, outputs manifest)``."""
    try:
        detail = (stage.run(out, failed) if stage.wants_failures else stage.run(out)) or ""
        return "done", detail, _record_outputs(out, stage)
    except Exception as err:  # a stage failing is reported, and the run goes on
        detail = f"{type(err).__name__}: {err}"
        if not isinstance(err, (StageError, UserError)):
            detail += " | " + traceback.format_exc(limit=3).splitlines()[-1]
        return "failed", detail, {}


def _last_records(out: Path, resume: bool, log: Callable[[str], None]) -> dict:
    """The stage records of the last run (its manifests name the files to check for
    corruption even without ``resume``; a broken state file only matters with ``resume``)."""
    try:
        return load_state(out).get("stages", {})
    except UserError as err:
        if resume:
            raise
        log(f"ignoring {err}")
        return {}


def run_stages(
    out: str | Path,
    stages: Sequence[Stage],
    resume: bool = False,
    log: Callable[[str], None] = print,
) -> RunOutcome:
    """Run ``stages`` in order under ``out``; the state file is rewritten after each stage.

    Before a stage runs, every file of its outputs whose structure is broken (a truncated
    Parquet file, invalid JSON) is removed and named in the log, so the stage rebuilds it
    instead of trusting it. With ``resume`` a stage is skipped only when :func:`why_not_current`
    finds nothing: same parameters, no upstream stage ran again, the same input digests, every
    output present and verifying.
    """
    out = Path(out)
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate stage names in {names}")
    out.mkdir(parents=True, exist_ok=True)
    last = _last_records(out, resume, log)
    previous = last if resume else {}
    state = {"stages": dict(previous)}
    outcome = RunOutcome()
    ran_now: set[str] = set()
    failed: dict[str, str] = {}
    memo: dict = {}
    bar = progress(stages, desc="locent run", unit="stage", total=len(stages))
    for number, stage in enumerate(bar, 1):
        bar.set_postfix_str(stage.name)
        params = _canonical(stage.params)
        old = previous.get(stage.name)
        inputs = _inputs(out, state, stage.requires + stage.after, memo)
        unmet = [d for d in stage.requires if d in failed]
        stale = "new"  # why the stage runs (``previous`` is empty without resume)
        if old and not unmet:
            stale = why_not_current(out, stage, old, params, inputs, ran_now)
        if unmet:
            record = StageRecord("blocked", 0.0, params, f"needs {', '.join(unmet)}", inputs)
        elif stale is None:
            record = StageRecord(
                "skipped", 0.0, params, f"resumed: done before in {old.get('wall_s', 0):.1f} s"
            )
        else:
            if old:
                log(f"[{stage.name}] not current: {stale}")
            recorded = last.get(stage.name, {}).get("outputs")
            for rel, reason in remove_corrupt(out, stage.outputs, recorded).items():
                log(f"[{stage.name}] removed corrupt {rel} ({reason}); this stage rebuilds it")
            log(f"[{number}/{len(stages)}] {stage.name} ...")
            start = time.perf_counter()
            status, detail, written = _run_one(out, stage, dict(failed))
            wall = round(time.perf_counter() - start, 3)
            record = StageRecord(status, wall, params, detail, inputs, written)
            ran_now.add(stage.name)
        if record.status in ("failed", "blocked"):
            failed[stage.name] = record.detail
        outcome.records[stage.name] = record
        state["stages"][stage.name] = old if record.status == "skipped" else record.__dict__
        atomic_write_json(out / STATE_FILE, state)
        log(f"[{stage.name}] {record.status} ({record.wall_s:.1f} s) {record.detail}".rstrip())
    return outcome
