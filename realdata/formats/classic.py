"""The classic SMART test-collection layout: ``X.ALL`` (documents), ``X.QRY`` (queries), ``X.REL``.

Records start with ``.I <id>``; a line that is only a field marker starts that field, and the
lines up to the next marker are its value:

| marker | field | kept as |
|---|---|---|
| ``.T`` | title | ``title`` |
| ``.W`` | abstract / query text | ``text`` |
| ``.A`` | authors | ``author`` |
| ``.B`` | bibliographic source | ``bib`` |
| ``.X`` | cross-references (CISI: ``docid 1 docid`` lines) | dropped (not text) |
| ``.K`` | keywords (CACM) | ``keywords`` |
| ``.C`` ``.N`` | categories, entry date (CACM) | dropped |

Variants handled (CISI, CACM, MED, Cranfield):

- ids are integers written with or without leading zeros (Cranfield ``.I 001``, CACM qrels
  ``01``); ids of digits are normalised to ``str(int(id))`` in all three files.
- ``.REL`` lines: see :mod:`~locent.realdata.formats.collection_files` (``cisi``
  ``qid docid 0 0.0`` for CISI/CACM, ``trec`` ``qid 0 docid rel`` for MED, ``three``
  ``qid docid grade`` for Cranfield).
- Cranfield's ``cran.qry`` numbers its 225 queries 1, 2, 4, 8, ... while ``cranqrel`` numbers
  them 1..225 in file order: ``query_numbering="sequential"`` gives query i the id ``i`` (as
  ir_datasets' ``cranfield`` loader does); the default ``"as_given"`` keeps the ``.I`` ids.
- A query's text is its ``.W`` (with its ``.T`` in front when a query has one, as some CISI
  queries do). A document without ``.W`` (many CACM entries are titles only) keeps its title
  and is counted (``n_docs_without_text``).

Unknown markers (``.Z``), text before the first ``.I``, a record without an id, or a repeated id
raise a ``ValueError`` naming file and line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from locent.realdata.formats.collection_files import text_lines

MARKERS = {"T": "title", "W": "text", "A": "author", "B": "bib", "K": "keywords"}
DROPPED = {"X", "C", "N"}
_MARKER = re.compile(r"^\.([A-Z])(?:\s+(.*))?$")


class ClassicDoc(NamedTuple):
    """A document of a classic collection (empty strings for absent fields)."""

    doc_id: str
    title: str
    text: str
    author: str
    bib: str
    keywords: str

    def default_text(self) -> str:
        return f"{self.title} {self.text}".strip()


def normalise_id(raw: str) -> str:
    """``"001"`` → ``"1"``; ids that are not all digits unchanged."""
    raw = raw.strip()
    return str(int(raw)) if raw.isdigit() else raw


def iter_records(path: Path):
    """``(line_number, {"id": str, field: text})`` per ``.I`` record of a classic file."""
    path = Path(path)
    record: dict | None = None
    field: str | None = None
    parts: dict[str, list[str]] = {}

    def finish():
        return record | {f: " ".join(" ".join(v).split()) for f, v in parts.items()}

    for n, line in text_lines(path):
        m = _MARKER.match(line.rstrip())
        if m and m.group(1) == "I":
            if record is not None:
                yield record["line"], finish()
            if not (m.group(2) or "").strip():
                raise ValueError(f"{path}:{n}: '.I' without an id")
            record, field, parts = {"id": normalise_id(m.group(2)), "line": n}, None, {}
            continue
        if m and m.group(2) is None:
            letter = m.group(1)
            if letter not in MARKERS and letter not in DROPPED:
                raise ValueError(
                    f"{path}:{n}: unknown field marker '.{letter}' (known: .I, "
                    + ", ".join(f".{x}" for x in sorted(set(MARKERS) | DROPPED))
                    + ")"
                )
            if record is None:
                raise ValueError(f"{path}:{n}: field '.{letter}' before the first '.I'")
            field = MARKERS.get(letter)  # None: a dropped field
            if field is not None:
                parts.setdefault(field, [])
            continue
        if record is None:
            raise ValueError(f"{path}:{n}: text before the first '.I' record")
        if field is not None:
            parts[field].append(line.strip())
    if record is not None:
        yield record["line"], finish()


def iter_classic_docs(path: Path):
    """``(line_number, ClassicDoc)`` of an ``.ALL`` file."""
    for n, rec in iter_records(path):
        yield (
            n,
            ClassicDoc(
                rec["id"],
                rec.get("title", ""),
                rec.get("text", ""),
                rec.get("author", ""),
                rec.get("bib", ""),
                rec.get("keywords", ""),
            ),
        )


def iter_classic_queries(path: Path, query_numbering: str = "as_given"):
    """``(line_number, GenericQuery)`` of a ``.QRY`` file (text = ``.T`` + ``.W``)."""
    from ir_datasets.formats import GenericQuery  # not at module import: see irds_components

    if query_numbering not in ("as_given", "sequential"):
        raise ValueError(
            f"query_numbering must be 'as_given' or 'sequential'; got {query_numbering!r}"
        )
    for i, (n, rec) in enumerate(iter_records(path), 1):
        text = " ".join(t for t in (rec.get("title", ""), rec.get("text", "")) if t)
        qid = str(i) if query_numbering == "sequential" else rec["id"]
        yield n, GenericQuery(qid, text)


def find_classic_files(folder: Path) -> dict[str, Path] | None:
    """``{"docs": X.ALL, "queries": X.QRY, "qrels": X.REL}`` when the folder has exactly one of
    each (suffix case-insensitive), else ``None``."""
    found: dict[str, list[Path]] = {"docs": [], "queries": [], "qrels": []}
    for p in sorted(Path(folder).iterdir()):
        suffix = p.suffix.upper()
        key = {".ALL": "docs", ".QRY": "queries", ".REL": "qrels"}.get(suffix)
        if key and p.is_file():
            found[key].append(p)
    if not any(found.values()):
        return None
    bad = {k: [x.name for x in v] for k, v in found.items() if len(v) != 1}
    if bad:
        raise ValueError(
            f"{folder}: a classic collection needs exactly one .ALL, .QRY and .REL file; "
            f"found {bad}"
        )
    return {k: v[0] for k, v in found.items()}
