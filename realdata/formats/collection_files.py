"""Parsers for the plain files of a local collection: documents, queries, qrels.

Each parser yields ``(line_number, record)`` with ir_datasets' own record types, so a bad line is
named by file and line. Plain text or gzipped (recognised by the magic bytes).

- **Documents**: TSV ``doc_id<TAB>text`` or ``doc_id<TAB>title<TAB>text`` (an optional header
  whose first field is ``doc_id``/``docid``/``id``/``_id`` names the columns), or JSONL with an id
  (``doc_id``, ``docid``, ``_id``, ``id``), a text (``text``, ``contents``, ``body``) and an
  optional ``title`` (BEIR's ``corpus.jsonl``). Records: :class:`LocalDoc` ``(doc_id, title,
  text)`` — locent joins title and text, as for Cranfield.
- **Queries**: TSV ``query_id<TAB>text`` (optional header) or JSONL with an id (``query_id``,
  ``qid``, ``_id``, ``id``) and ``text``/``query``. Records: ``GenericQuery``.
- **Qrels** (:func:`iter_qrels`), ``layout``:

  | layout | line | relevance |
  |---|---|---|
  | ``trec`` | ``qid iter docid rel`` (TREC; also MED.REL) | ``rel`` |
  | ``cisi`` | ``qid docid 0 0.000000`` (CISI.REL, CACM ``qrels.text``) | 1 for every listed pair |
  | ``three`` | ``qid docid rel`` (Cranfield ``cranqrel``; BEIR TSV) | ``rel`` as given |
  | ``auto`` | decided from all lines, see :func:`qrels_layout` | |

  Cranfield's original grades run 1 (complete answer) .. 5 (no interest), the inverse of TREC's
  order; ``three`` keeps them as given (as ir_datasets' ``cranfield`` does), so map them first
  when a metric needs "higher is more relevant".
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import NamedTuple

from locent.realdata.formats.sniff import open_bytes

DOC_ID_FIELDS = ("doc_id", "docid", "_id", "id")
DOC_TEXT_FIELDS = ("text", "contents", "body")
QUERY_ID_FIELDS = ("query_id", "qid", "_id", "id")
QUERY_TEXT_FIELDS = ("text", "query")
QRELS_LAYOUTS = ("auto", "trec", "cisi", "three")


class LocalDoc(NamedTuple):
    """A document of a local collection (``title`` empty when the files have none)."""

    doc_id: str
    title: str
    text: str

    def default_text(self) -> str:
        return f"{self.title} {self.text}" if self.title else self.text


def text_lines(path: Path):
    """``(line_number, line)`` of the non-empty lines (newline stripped)."""
    for n, line in enumerate(io.StringIO(open_bytes(path).decode("utf-8")), 1):
        line = line.rstrip("\r\n")
        if line.strip():
            yield n, line


def is_jsonl(path: Path) -> bool:
    first = next(text_lines(path), (0, ""))[1]
    return first.lstrip().startswith("{")


def _pick(rec: dict, names, path, n, what):
    for name in names:
        if name in rec and rec[name] is not None:
            return str(rec[name])
    raise ValueError(f"{path}:{n}: missing {what} field (one of {list(names)})")


def iter_docs(path: Path):
    path = Path(path)
    if is_jsonl(path):
        for n, line in text_lines(path):
            rec = _json(line, path, n)
            doc_id = _pick(rec, DOC_ID_FIELDS, path, n, "document id")
            text = _pick(rec, DOC_TEXT_FIELDS, path, n, "document text")
            yield n, LocalDoc(doc_id, str(rec.get("title") or ""), text)
        return
    columns = None
    for n, line in text_lines(path):
        fields = line.split("\t")
        if columns is None:
            columns = fields if fields[0].strip().lower() in DOC_ID_FIELDS else ()
            if columns:
                if len(columns) not in (2, 3):
                    raise ValueError(f"{path}:{n}: a docs header has 2 or 3 columns; got {columns}")
                continue
        if len(fields) not in (2, 3) or (columns and len(fields) != len(columns)):
            raise ValueError(
                f"{path}:{n}: expected doc_id<TAB>text or doc_id<TAB>title<TAB>text, "
                f"got {len(fields)} fields"
            )
        if not fields[0].strip():
            raise ValueError(f"{path}:{n}: empty document id")
        title, text = ("", fields[1]) if len(fields) == 2 else (fields[1], fields[2])
        yield n, LocalDoc(fields[0].strip(), title, text)


def iter_queries(path: Path):
    from ir_datasets.formats import GenericQuery  # not at module import: see irds_components

    path = Path(path)
    if is_jsonl(path):
        for n, line in text_lines(path):
            rec = _json(line, path, n)
            yield (
                n,
                GenericQuery(
                    _pick(rec, QUERY_ID_FIELDS, path, n, "query id"),
                    _pick(rec, QUERY_TEXT_FIELDS, path, n, "query text"),
                ),
            )
        return
    first = True
    for n, line in text_lines(path):
        fields = line.split("\t")
        if first and fields[0].strip().lower() in QUERY_ID_FIELDS:
            first = False
            continue
        first = False
        if len(fields) != 2:
            raise ValueError(f"{path}:{n}: expected query_id<TAB>text, got {len(fields)} fields")
        yield n, GenericQuery(fields[0].strip(), fields[1])


def _json(line: str, path, n) -> dict:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{n}: not a JSON line ({err})") from None
    if not isinstance(rec, dict):
        raise ValueError(f"{path}:{n}: a JSON line must be an object")
    return rec


def _zero(text: str) -> bool:
    try:
        return float(text) == 0.0
    except ValueError:
        return False


def _int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def qrels_layout(rows: list[list[str]], path) -> str:
    """``trec`` / ``cisi`` / ``three`` from every line's fields; ambiguity is an error.

    4 fields: ``cisi`` when fields 3 and 4 are zero on every line, ``trec`` when field 2 is
    ``0``/``Q0`` and field 4 an int on every line; both or neither → ``ValueError``.
    """
    widths = {len(r) for r in rows}
    if widths == {3}:
        return "three"
    if widths != {4}:
        raise ValueError(f"{path}: qrels lines must all have 3 or 4 fields; found {sorted(widths)}")
    cisi = all(_zero(r[2]) and _zero(r[3]) for r in rows)
    trec = all(r[1] in ("0", "Q0") and _int(r[3]) for r in rows)
    if cisi != trec:
        return "cisi" if cisi else "trec"
    raise ValueError(
        f"{path}: cannot tell the qrels layout ("
        + ("both 'qid docid 0 0' (CISI) and 'qid 0 docid rel' (TREC) fit" if cisi else "neither")
        + f"); pass qrels_layout= one of {QRELS_LAYOUTS[1:]}"
    )


def iter_qrels(path: Path, layout: str = "auto"):
    """``(line_number, TrecQrel)``; a BEIR header (``query-id corpus-id score``) is skipped."""
    from ir_datasets.formats import TrecQrel  # not at module import: see irds_components

    if layout not in QRELS_LAYOUTS:
        raise ValueError(f"qrels layout must be one of {QRELS_LAYOUTS}; got {layout!r}")
    path = Path(path)
    lines = list(text_lines(path))
    if lines and not _int(lines[0][1].split()[-1]) and not _zero(lines[0][1].split()[-1]):
        lines = lines[1:]  # a header line (BEIR: query-id corpus-id score)
    if not lines:
        raise ValueError(f"{path}: empty qrels file")
    rows = [line.split() for _, line in lines]
    if layout == "auto":
        layout = qrels_layout(rows, path)
    width = {"trec": 4, "cisi": 4, "three": 3}[layout]
    for (n, line), f in zip(lines, rows, strict=True):
        if len(f) != width:
            raise ValueError(f"{path}:{n}: {layout} qrels need {width} fields: {line!r}")
        if layout == "trec":
            q, d, rel = f[0], f[2], f[3]
        elif layout == "cisi":
            q, d, rel = f[0], f[1], "1"
        else:
            q, d, rel = f
        try:
            yield n, TrecQrel(q, d, int(rel), "0")
        except ValueError:
            raise ValueError(f"{path}:{n}: relevance {rel!r} is not an integer") from None
