"""The checks ``locent realdata`` makes before any work, where they know the part's formats
(the generic argument types are in :mod:`locent.cli_types`):

- argument types: ``--lr``, and ``--teacher`` (a teacher file's first lines are checked while
  parsing, so a typo or a malformed run stops the command before BM25 and the encoders run);
- the inputs a step reads: :func:`require_groups_of` (``grid``, ``train``) and
  :func:`require_grid_results` (``report``), each refused naming the command that writes them.
"""

from __future__ import annotations

import argparse
import gzip
import math
from pathlib import Path

from locent.errors import MissingResults

__all__ = ["learning_rate", "require_grid_results", "require_groups_of", "teacher_source"]


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
    if not (lr > 0 and math.isfinite(lr)):
        raise argparse.ArgumentTypeError(f"--lr must be a finite number > 0; got {value!r}")
    return lr


#: teacher files :func:`locent.realdata.teachers.load_teacher` reads, by how their name ends
RUN_SUFFIXES = (".run", ".trec")
SCORE_SUFFIXES = (".json", ".json.gz")
#: suffixes that mark a --teacher value as a file name, not a model name
FILE_SUFFIXES = (*RUN_SUFFIXES, *SCORE_SUFFIXES, ".gz", ".txt", ".tsv", ".csv")
#: lines of a teacher run checked while parsing (the whole file is read by the stage)
CHECKED_LINES = 5


def _looks_like_a_file(text: str) -> bool:
    """A file-like ``--teacher`` value: a file suffix, or a path (``/x``, ``./x``, ``~/x``, two or
    more separators); a model name is ``name`` or ``org/name`` (Hugging Face) or a folder."""
    return (
        text.lower().endswith(FILE_SUFFIXES)
        or text.startswith(("/", ".", "~"))
        or text.count("/") > 1
        or "\\" in text
    )


def _run_line_problem(fields: list[str]) -> str | None:
    """Why a TREC run line ``qid Q0 docid rank score tag`` (split) is malformed, or ``None``."""
    if len(fields) != 6:
        return f"expected 6 fields (qid Q0 docid rank score tag), got {len(fields)}"
    try:
        int(fields[3])
        score = float(fields[4])
    except ValueError:
        return f"rank {fields[3]!r} must be an integer and score {fields[4]!r} a number"
    return None if math.isfinite(score) else f"score {fields[4]!r} is not finite"


def teacher_source(text: str) -> str:
    """``--teacher``: a model name (or model folder), or an existing teacher file recognised by
    its CONTENT, whatever its name (a TREC run: its first :data:`CHECKED_LINES` lines have 6
    fields with an integer rank and a finite score; a score file ``{qid: {docid: score}}``; a
    PyTerrier table with qid, docno and score or rank). A file-like value that does not exist is
    refused naming it. Returns ``text`` unchanged; the stage reads the whole file."""
    path = Path(text).expanduser()
    if path.is_dir():
        return text  # a local model folder
    if not path.exists():
        if _looks_like_a_file(text):
            raise argparse.ArgumentTypeError(f"no such teacher file: {text}")
        return text  # a model name, resolved (and downloaded if allowed) by the stage
    try:  # a cheap look at the head only: the stage reads (and fully checks) the whole file
        with path.open("rb") as raw:
            magic = raw.read(4)
        if magic == b"PAR1":
            return text  # a PyTerrier table in Parquet; its columns are checked by the stage
        opener = gzip.open if magic[:2] == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            lines = [line for _, line in zip(range(CHECKED_LINES + 1), handle)]
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise argparse.ArgumentTypeError(f"teacher file {text} cannot be read ({err})") from None
    head = "".join(lines).lstrip()
    if head.startswith("{"):
        return text  # a score file {qid: {docid: score}}
    if head.startswith(("[", '"')):
        raise argparse.ArgumentTypeError(
            f"teacher score file {text} is not a JSON object {{qid: {{docid: score}}}}"
        )
    first = next((line for line in lines if line.strip()), "")
    header = {c.strip().strip('"') for c in first.replace("\t", ",").split(",")}
    if {"qid", "docno"} <= header and ({"score", "rank"} & header):
        return text  # a PyTerrier table as TSV/CSV
    checked = 0
    for lineno, line in enumerate(lines[:CHECKED_LINES], 1):
        if not line.strip():
            continue
        problem = _run_line_problem(line.split())
        if problem:
            raise argparse.ArgumentTypeError(
                f"teacher run {text}:{lineno}: malformed line ({problem}): {line.rstrip()[:120]!r}"
                " (a teacher file is a TREC run, a score file {qid: {docid: score}} or a "
                "PyTerrier table with qid, docno, score|rank)"
            )
        checked += 1
    if not checked:
        raise argparse.ArgumentTypeError(f"teacher run {text} is empty")
    return text


def require_groups_of(group_dir: Path, samplers) -> None:
    """Every ``<group_dir>/<sampler>.parquet`` of ``samplers`` exists, else :class:`MissingResults`
    naming the samplers, the folder and ``locent realdata prepare``."""
    missing = [s for s in samplers if not (Path(group_dir) / f"{s}.parquet").exists()]
    if missing:
        raise MissingResults(
            f"no groups of sampler{'s' if len(missing) > 1 else ''} {', '.join(missing)} under "
            f"{group_dir}; run `locent realdata prepare` first (with the same --out)"
        )


def require_grid_results(grid_dir: Path) -> None:
    """``<grid_dir>/results.csv`` exists, else :class:`MissingResults` naming it and
    ``locent realdata grid``."""
    path = Path(grid_dir) / "results.csv"
    if not path.is_file():
        raise MissingResults(
            f"no grid results at {path}; run `locent realdata grid` first (with the same --out "
            "and --preset)"
        )


def plan_list(builtin) -> callable:
    """``--datasets``: comma-separated plan names. A built-in plan (``builtin``) is checked here;
    a custom plan written by ``prepare --train ID`` is named by its ir_datasets ID (it contains a
    ``/``, e.g. ``local/cisi`` or ``beir/scifact``) and is resolved before any work by
    :func:`locent.realdata.prepare.resolve_plan`, which needs ``--out`` (not known while parsing).
    Returns the names as a tuple."""

    def parse(text: str) -> tuple[str, ...]:
        known = tuple(builtin)
        names = tuple(v.strip() for v in text.split(",") if v.strip())
        if not names:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of plans among {', '.join(known)} "
                "(or ir_datasets IDs written by `prepare --train`)"
            )
        unknown = [n for n in names if n not in known and "/" not in n]
        if unknown:
            plural = "s" if len(unknown) > 1 else ""
            raise argparse.ArgumentTypeError(
                f"unknown dataset{plural} {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(known)}, or the ir_datasets ID of a `prepare --train` plan"
            )
        return names

    parse.__name__ = "dataset list"
    return parse
