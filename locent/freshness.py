"""Freshness by content: what a stage wrote and read, as sha256 digests, and whether it still is.

A stage of ``locent run`` is *current* only if the files it read still have the digests recorded
when it ran and the files it wrote still verify (:func:`verify_artifact`: present, the recorded
size and sha256, and, for Parquet, the file opens and holds the recorded number of rows). The
digests live in the run record (``<out>/run_state.json``), never inside the artefacts, so evidence
files stay byte-for-byte reproducible.

A *digest* is ``{"sha256": str, "bytes": int}`` plus ``"rows": int`` for Parquet files; a
*manifest* maps paths relative to ``--out`` (POSIX form) to digests. A stage output may be a file
or a folder (every file below it, hidden temporary files of interrupted atomic writes excluded).

:func:`verify_artifact` also works without a record: then it checks the file's structure (JSON
parses, Parquet opens, reads through and, when a ``<stem>.provenance.json`` records ``rows``, has
that many rows), which is what a cache's own freshness test should call before trusting a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from locent.provenance import file_sha256, provenance_path

__all__ = [
    "digest",
    "manifest",
    "parquet_rows",
    "remove_corrupt",
    "stage_files",
    "verify_artifact",
    "verify_manifest",
]


def parquet_rows(path: str | os.PathLike, read_through: bool = False) -> int:
    """The row count in a Parquet file's footer; with ``read_through`` every row group is also
    decoded (a damaged data page raises). Raises when the file is not readable Parquet."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as handle:
        rows = handle.metadata.num_rows
        if read_through:
            for group in range(handle.num_row_groups):
                handle.read_row_group(group)
    return int(rows)


def digest(path: str | os.PathLike) -> dict:
    """``{"sha256", "bytes"}`` of a file, plus ``"rows"`` for a Parquet file (which must open;
    its data pages are not decoded here: check the structure first with :func:`verify_artifact`)."""
    path = Path(path)
    record = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    if path.suffix == ".parquet":
        record["rows"] = parquet_rows(path)
    return record


def _structure_problem(path: Path, deep: bool) -> str | None:
    """Why the file's own structure is broken (``None`` if it is not); ``deep`` reads Parquet
    data pages too."""
    if path.stat().st_size == 0:
        return "empty file"
    if path.suffix == ".parquet":
        try:
            rows = parquet_rows(path, read_through=deep)
        except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... on a damaged file
            return f"not a readable Parquet file ({type(err).__name__}: {err})"
        recorded = _provenance_rows(path)
        if recorded is not None and recorded != rows:
            return f"{rows} rows, its provenance record says {recorded}"
    elif path.suffix == ".json":
        try:
            json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            return f"not valid JSON ({err})"
    return None


def _provenance_rows(path: Path) -> int | None:
    record = provenance_path(path)
    if not record.is_file():
        return None
    try:
        rows = json.loads(record.read_text()).get("rows")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None
    return rows if isinstance(rows, int) else None


def verify_artifact(path: str | os.PathLike, expected: Mapping | None = None) -> str | None:
    """``None`` when the file at ``path`` verifies, else the reason, e.g. ``"missing"``, ``"not a
    readable Parquet file (...)"``, ``"content changed since it was written (sha256 ...)"``.

    Without ``expected`` the file's structure is checked: not empty; ``.json`` parses;
    ``.parquet`` opens, every row group decodes, and the row count equals ``rows`` in the
    ``<stem>.provenance.json`` beside it when that exists. With ``expected`` (a :func:`digest`)
    the size and sha256 must match it too (then a Parquet file whose bytes match is known good
    and only its footer is opened), and the row count must equal the recorded ``rows``.
    """
    path = Path(path)
    if not path.is_file():
        return "missing" if not path.exists() else "not a file"
    problem = _structure_problem(path, deep=expected is None)
    if problem or expected is None:
        return problem
    size = path.stat().st_size
    if "bytes" in expected and size != expected["bytes"]:
        return f"{size} bytes, {expected['bytes']} when it was written"
    sha = file_sha256(path)
    if sha != expected.get("sha256"):
        return (
            f"content changed since it was written (sha256 {sha[:12]}…, "
            f"recorded {str(expected.get('sha256'))[:12]}…)"
        )
    if "rows" in expected and parquet_rows(path) != expected["rows"]:
        return f"{parquet_rows(path)} rows, {expected['rows']} when it was written"
    return None


def stage_files(out: Path, outputs: Iterable[str]) -> list[str]:
    """The files (relative to ``out``, POSIX form, sorted) of the outputs ``outputs``: a file
    itself, or every file below a folder except hidden ones (temporary files of atomic writes)."""
    files = set()
    for rel in outputs:
        path = out / rel
        if path.is_file():
            files.add(Path(rel).as_posix())
        elif path.is_dir():
            for f in path.rglob("*"):
                parts = f.relative_to(out).parts
                if f.is_file() and not any(p.startswith(".") for p in parts):
                    files.add(Path(*parts).as_posix())
    return sorted(files)


def manifest(out: Path, outputs: Iterable[str]) -> dict[str, dict]:
    """``{relative path: digest}`` of every file of ``outputs`` under ``out``."""
    return {rel: digest(out / rel) for rel in stage_files(out, outputs)}


def verify_manifest(out: Path, recorded: Mapping[str, Mapping]) -> dict[str, str]:
    """``{relative path: reason}`` for every file of a recorded manifest that no longer verifies
    (empty when all do)."""
    problems = {}
    for rel, expected in recorded.items():
        reason = verify_artifact(out / rel, expected)
        if reason:
            problems[rel] = reason
    return problems


def remove_corrupt(
    out: Path, outputs: Iterable[str], recorded: Mapping[str, Mapping] | None = None
) -> dict[str, str]:
    """Delete the files of ``outputs`` whose structure is broken, so the stage that writes them
    rebuilds them instead of trusting them; returns ``{relative path: reason}`` of those removed.

    A file whose bytes still match ``recorded`` is known good and not re-read. A file that is
    merely *different* from the record but intact (rewritten by a stand-alone command) is kept:
    it makes the stage not current, but it is not corrupt.
    """
    recorded = recorded or {}
    removed = {}
    for rel in stage_files(out, outputs):
        path = out / rel
        expected = recorded.get(rel)
        if expected and verify_artifact(path, expected) is None:
            continue
        reason = verify_artifact(path)
        if reason:
            path.unlink()
            removed[rel] = reason
    return removed
