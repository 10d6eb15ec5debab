"""Recognise a file by its content (never its extension) and load it as a table.

Containers, tried in this order on the (gunzipped, when the first bytes are gzip's magic) bytes:

| container | recognised by |
|---|---|
| ``parquet`` | the magic ``PAR1`` at both ends |
| ``trec_run`` | the first 20 non-empty lines have 6 fields, the 4th an int, the 5th a float |
| ``trec_qrels`` | the first 20 non-empty lines have 4 fields, the 4th an int (relevance) |
| ``json`` | one JSON object ``{qid: {docid: score}}`` (the authors' score file) |
| ``jsonl`` | the first non-empty line is a JSON object |
| ``tsv`` / ``csv`` | a header line whose fields, split on tab (else comma), are names |

:func:`load_table` returns a DataFrame for the tabular containers; format readers then recognise
their layout from its columns.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

SNIFF_LINES = 20


@dataclass(frozen=True)
class Sniffed:
    """What :func:`sniff` found: the container, and for tables the column names."""

    path: Path
    container: str
    columns: tuple[str, ...] = ()


def open_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with gzip's magic (any name)."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_lines(text: str, n: int = SNIFF_LINES) -> list[str]:
    out = []
    for line in io.StringIO(text):
        if line.strip():
            out.append(line.rstrip("\r\n"))
            if len(out) == n:
                break
    return out


def looks_like_run(lines: list[str]) -> bool:
    """6 fields each, rank an int, score a float (``qid Q0 docid rank score tag``)."""
    for line in lines:
        f = line.split()
        if len(f) != 6 or not _is_int(f[3]) or not _is_float(f[4]):
            return False
    return bool(lines)


def looks_like_qrels(lines: list[str]) -> bool:
    """4 fields each, relevance an int (``qid iter docid rel``)."""
    return bool(lines) and all(
        len(f) == 4 and _is_int(f[3]) for f in (line.split() for line in lines)
    )


def sniff(path: str | os.PathLike) -> Sniffed:
    """The container of ``path`` (table above); ``ValueError`` when none fits."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no file at {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; a training or teacher file is one file")
    data = open_bytes(path)
    if data[:4] == b"PAR1" and data[-4:] == b"PAR1":
        import pyarrow.parquet as pq

        return Sniffed(path, "parquet", tuple(pq.read_schema(io.BytesIO(data)).names))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: neither Parquet nor UTF-8 text ({err})") from None
    lines = _first_lines(text)
    if not lines:
        raise ValueError(f"{path}: empty file")
    if looks_like_run(lines):
        return Sniffed(path, "trec_run", ("query_id", "doc_id", "rank", "score"))
    if looks_like_qrels(lines):
        return Sniffed(path, "trec_qrels", ("query_id", "doc_id", "relevance"))
    if lines[0].lstrip().startswith("{"):
        try:
            first = json.loads(lines[0])
        except json.JSONDecodeError:
            first = None
        if isinstance(first, dict) and first and all(isinstance(v, dict) for v in first.values()):
            return Sniffed(path, "json", ())  # a one-line {qid: {docid: score}}
        if isinstance(first, dict):
            return Sniffed(path, "jsonl", tuple(first))
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: starts like JSON but does not parse ({err})") from None
        if isinstance(whole, dict):
            return Sniffed(path, "json", ())
    for sep, name in (("\t", "tsv"), (",", "csv")):
        header = [h.strip() for h in lines[0].split(sep)]
        if len(header) >= 2 and all(h and not _is_float(h) for h in header):
            return Sniffed(path, name, tuple(header))
    raise ValueError(f"{path}: content is not a table, a run, qrels or JSON: {lines[0][:80]!r}")


def load_table(sniffed: Sniffed):
    """DataFrame of a ``parquet``/``jsonl``/``tsv``/``csv`` container (strings kept as str)."""
    import pandas as pd

    data = open_bytes(sniffed.path)
    if sniffed.container == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    if sniffed.container == "jsonl":
        rows = []
        for n, line in enumerate(io.StringIO(data.decode("utf-8")), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{sniffed.path}:{n}: not a JSON line ({err})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{sniffed.path}:{n}: a JSON line must be an object")
            rows.append(rec)
        return pd.DataFrame(rows)
    if sniffed.container in ("tsv", "csv"):
        sep = "\t" if sniffed.container == "tsv" else ","
        return pd.read_csv(
            io.BytesIO(data),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            # TSV: a quote is text (passages quote); CSV: the usual quoting
            quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL,
        )
    raise ValueError(f"{sniffed.path}: a {sniffed.container} is not a table")
