"""Atomic artefact writes and provenance records shared by every part.

Every artefact is written to a temporary file in the destination folder and then renamed over
the target (``os.replace`` is atomic on POSIX), so an interrupted run never leaves a half-written
table that a resumed run would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

#: Distributions whose versions go into every provenance record (absent ones are skipped).
TRACKED_DISTRIBUTIONS = (
    "locent",
    "numpy",
    "scipy",
    "sympy",
    "torch",
    "pandas",
    "pyarrow",
    "ir_datasets",
    "ir_measures",
    "bm25s",
    "faiss-cpu",
    "transformers",
    "safetensors",
    "matplotlib",
)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600 files; artefacts (reports, figures, tables) are meant to be shared.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    # numpy scalars/arrays and paths appear in results; make them plain JSON.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, set):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default, allow_nan=True) + "\n"


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, to_json(obj))


def atomic_write_parquet(df, path: str | os.PathLike) -> Path:
    """Write a pandas DataFrame as Parquet atomically (index dropped)."""
    import io

    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    return atomic_write_bytes(path, buffer.getvalue())


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def git_commit(repo: str | os.PathLike | None = None) -> str | None:
    """The commit of the locent checkout (``None`` outside a git checkout)."""
    where = Path(repo) if repo else Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions(names: tuple[str, ...] = TRACKED_DISTRIBUTIONS) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance_record(**fields: Any) -> dict[str, Any]:
    """A provenance record: the given fields plus versions, commit, python and platform.

    No wall-clock time is added (artefacts must be reproducible byte for byte); pass one
    explicitly (e.g. ``wall_time_s``) where it is a result.
    """
    record: dict[str, Any] = dict(fields)
    record.setdefault("versions", package_versions())
    record.setdefault("git_commit", git_commit())
    record.setdefault("python", sys.version.split()[0])
    record.setdefault("platform", platform.platform())
    return record


def provenance_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".provenance.json")


def write_with_provenance(df, path: str | os.PathLike, **fields: Any) -> Path:
    """Write ``df`` as Parquet (or CSV when the suffix is .csv) plus ``<stem>.provenance.json``."""
    path = Path(path)
    if path.suffix == ".csv":
        atomic_write_text(path, df.to_csv(index=False))
    else:
        atomic_write_parquet(df, path)
    record = provenance_record(artefact=path.name, rows=int(len(df)), **fields)
    atomic_write_json(provenance_path(path), record)
    return path


def read_provenance(path: str | os.PathLike) -> Mapping[str, Any]:
    with open(provenance_path(path)) as handle:
        return json.load(handle)
