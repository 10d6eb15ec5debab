"""Local collections from plain files, registered in ir_datasets under ``local/<name>``.

:func:`register_local_collection` validates the files once, then registers an ir_datasets
``Dataset`` built from ir_datasets' own component classes (``BaseDocs``/``BaseQueries``/
``BaseQrels`` subclasses yielding NamedTuples, the docs store a ``PickleLz4FullStore`` under
``$IR_DATASETS_HOME/local/<name>/<files hash>/``), so ``ir_datasets.load("local/<name>")`` — and
so every locent step (``datasets.load``, ``queries``, ``qrels``, ``doc_texts``, ``corpus``) —
works unchanged.

Layouts of a folder (``layout="auto"`` picks the one present):

- ``classic``: exactly one ``*.ALL``, ``*.QRY``, ``*.REL`` (CISI/CACM/MED/Cranfield; see
  :mod:`~locent.realdata.formats.classic`).
- ``plain``: documents ``docs|corpus|collection`` ``.tsv|.jsonl`` (gz allowed), queries
  ``queries|topics`` ``.tsv|.jsonl``, qrels ``qrels|qrels.txt|qrels.trec|qrels.tsv|qrels/test.tsv``
  (see :mod:`~locent.realdata.formats.collection_files`). Or pass ``docs=``, ``queries=``,
  ``qrels=`` paths.

Checks (never a silent drop): a record without id or text, and a repeated document or query id
raise, naming file and line. Qrels naming an unknown document or query raise
(``on_unknown="raise"``) or are dropped, counted in the returned :class:`LocalCollection` and
warned about (``on_unknown="drop"``). Repeated qrels lines with the same grade are counted and
kept once; with different grades they raise. Documents without text (classic titles-only
entries) and queries without judgements are counted.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from locent.realdata.formats import classic
from locent.realdata.formats.collection_files import LocalDoc, iter_docs, iter_qrels, iter_queries

PREFIX = "local/"
_PLAIN = {
    "docs": ("docs", "corpus", "collection"),
    "queries": ("queries", "topics"),
}
_QRELS = ("qrels", "qrels.txt", "qrels.trec", "qrels.tsv", "qrels/test.tsv")
_REGISTERED: dict[str, LocalCollection] = {}


@dataclass
class LocalCollection:
    """What was registered: the ir_datasets ID, the files, and the counts of every check."""

    dataset_id: str
    layout: str
    files: dict[str, str]
    fingerprint: str
    n_docs: int
    n_queries: int
    n_qrels: int
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _find(folder: Path, stems, suffixes=(".tsv", ".jsonl", ".tsv.gz", ".jsonl.gz")) -> Path | None:
    hits = [folder / f"{s}{x}" for s in stems for x in suffixes if (folder / f"{s}{x}").is_file()]
    if len(hits) > 1:
        raise ValueError(f"{folder}: several candidate files {[h.name for h in hits]}; pass paths")
    return hits[0] if hits else None


def locate_files(folder, layout: str = "auto", docs=None, queries=None, qrels=None):
    """``(layout, {"docs", "queries", "qrels": Path})`` of a collection folder."""
    if layout not in ("auto", "classic", "plain"):
        raise ValueError(f"layout must be 'auto', 'classic' or 'plain'; got {layout!r}")
    given = {"docs": docs, "queries": queries, "qrels": qrels}
    folder = None if folder is None else Path(folder)
    if folder is not None and not folder.is_dir():
        raise FileNotFoundError(f"no collection folder at {folder}")
    files = None
    if folder is not None and layout in ("auto", "classic") and not any(given.values()):
        files = classic.find_classic_files(folder)
        if files is None and layout == "classic":
            raise ValueError(f"{folder}: no .ALL/.QRY/.REL files for a classic collection")
        if files is not None:
            layout = "classic"
    if files is None:
        layout = "classic" if layout == "classic" else "plain"
        files = {}
        for key in ("docs", "queries", "qrels"):
            if given[key] is not None:
                files[key] = Path(given[key])
            elif folder is None:
                files[key] = None
            elif key == "qrels":
                files[key] = next((folder / q for q in _QRELS if (folder / q).is_file()), None)
            else:
                files[key] = _find(folder, _PLAIN[key])
    missing = [k for k, p in files.items() if p is None or not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(
            f"collection {folder or ''}: no {', '.join(missing)} file (looked for "
            f"docs|corpus|collection.tsv|jsonl, queries|topics.tsv|jsonl, {'|'.join(_QRELS)}, "
            "or one each of *.ALL, *.QRY, *.REL)"
        )
    return layout, {k: Path(p) for k, p in files.items()}


def _fingerprint(files: dict[str, Path], options: dict) -> str:
    digest = hashlib.sha256(repr(sorted(options.items())).encode())
    for key in sorted(files):
        digest.update(key.encode())
        digest.update(files[key].read_bytes())
    return digest.hexdigest()


def _unique(pairs, what: str, path: Path) -> tuple[dict, int]:
    """``({id: line}, number of records without text)`` of ``(line, record)`` pairs.

    A repeated id raises naming both lines. The records themselves are not kept (a corpus need
    not fit in memory to be checked).
    """
    seen: dict = {}
    n_without_text = 0
    for n, rec in pairs:
        if rec[0] in seen:
            raise ValueError(
                f"{path}:{n}: duplicate {what} id {rec[0]!r} (first at line {seen[rec[0]]})"
            )
        seen[rec[0]] = n
        n_without_text += not rec.text.strip()
    return seen, n_without_text


def _parsers(layout: str, files: dict, query_numbering: str):
    """``(doc_cls, parse_docs, parse_queries)``: callables re-reading the files each time."""
    if layout == "classic":
        return (
            classic.ClassicDoc,
            lambda: classic.iter_classic_docs(files["docs"]),
            lambda: classic.iter_classic_queries(files["queries"], query_numbering),
        )
    return LocalDoc, lambda: iter_docs(files["docs"]), lambda: iter_queries(files["queries"])


def register_local_collection(
    folder=None,
    name: str | None = None,
    *,
    layout: str = "auto",
    docs=None,
    queries=None,
    qrels=None,
    on_unknown: str = "raise",
    qrels_layout: str = "auto",
    query_numbering: str = "as_given",
) -> LocalCollection:
    """Validate a local collection and register it as ``local/<name>`` (name: the folder's).

    Registering the same files again returns the same record; other files under a name already
    taken raise. Returns the :class:`LocalCollection` with the counts of every check.
    """
    if on_unknown not in ("raise", "drop"):
        raise ValueError(f"on_unknown must be 'raise' or 'drop'; got {on_unknown!r}")
    layout, files = locate_files(folder, layout, docs, queries, qrels)
    name = name or (Path(folder).name if folder is not None else None)
    if not name or "/" in name:
        raise ValueError(f"a local collection needs a name without '/'; got {name!r}")
    dataset_id = PREFIX + name
    options = {"layout": layout, "qrels_layout": qrels_layout, "query_numbering": query_numbering}
    fingerprint = _fingerprint(files, options)
    if dataset_id in _REGISTERED:
        if _REGISTERED[dataset_id].fingerprint == fingerprint:
            return _REGISTERED[dataset_id]
        raise ValueError(
            f"{dataset_id!r} is already registered from other files "
            f"({_REGISTERED[dataset_id].files}); choose another name"
        )
    # ir_datasets binds its built-in datasets to the home it sees when first imported: import it
    # only after locent has chosen that home (as datasets.load does), never at module import
    from locent.realdata.datasets import ensure_irds_home

    ensure_irds_home()
    import ir_datasets
    from ir_datasets.datasets.base import Dataset
    from locent.realdata.formats.irds_components import LocalDocs, LocalQrels, LocalQueries

    if dataset_id in ir_datasets.registry:
        raise ValueError(f"{dataset_id!r} is already an ir_datasets ID; choose another name")

    doc_cls, parse_docs, parse_queries = _parsers(layout, files, query_numbering)
    doc_lines, n_docs_without_text = _unique(parse_docs(), "document", files["docs"])
    counts = {"n_docs_without_text": n_docs_without_text}
    query_lines, n_queries_without_text = _unique(parse_queries(), "query", files["queries"])
    if n_queries_without_text:
        first = next(n for n, q in parse_queries() if not q.text.strip())
        raise ValueError(f"{files['queries']}:{first}: a query has no text")
    if counts["n_docs_without_text"]:
        warnings.warn(
            f"{dataset_id}: {counts['n_docs_without_text']} documents have no text "
            "(kept with their title)",
            stacklevel=2,
        )
    qrels_lines = iter_qrels(files["qrels"], qrels_layout)
    if layout == "classic":  # ids written "01" in one file and "1" in another are one id
        qrels_lines = (
            (
                n,
                q._replace(
                    query_id=classic.normalise_id(q.query_id), doc_id=classic.normalise_id(q.doc_id)
                ),
            )
            for n, q in qrels_lines
        )
    kept = _check_qrels(qrels_lines, doc_lines, query_lines, files["qrels"], counts)
    unknown = counts["n_qrels_unknown_doc"] + counts["n_qrels_unknown_query"]
    if unknown:
        first = counts.pop("first_unknown")
        message = (
            f"{files['qrels']}: {counts['n_qrels_unknown_doc']} qrels name unknown documents and "
            f"{counts['n_qrels_unknown_query']} unknown queries, first {first}"
        )
        if on_unknown == "raise":
            hint = (
                " (Cranfield numbers its qrels queries 1..n in file order: "
                "query_numbering='sequential')"
                if counts["n_qrels_unknown_query"] and layout == "classic"
                else ""
            )
            raise ValueError(message + hint + "; pass on_unknown='drop' to drop them (counted)")
        warnings.warn(message + "; dropped (counted)", stacklevel=2)
    counts.pop("first_unknown", None)
    counts["n_queries_unjudged"] = len(set(query_lines) - {q.query_id for q in kept})

    store_dir = ir_datasets.util.home_path() / "local" / name / fingerprint[:16]
    dataset = Dataset(
        LocalDocs(parse_docs, doc_cls, store_dir, len(doc_lines), dataset_id),
        LocalQueries([q for _, q in parse_queries()], dataset_id),
        LocalQrels(kept),
    )
    ir_datasets.registry.register(dataset_id, dataset)
    record = LocalCollection(
        dataset_id=dataset_id,
        layout=layout,
        files={k: str(p) for k, p in files.items()},
        fingerprint=fingerprint,
        n_docs=len(doc_lines),
        n_queries=len(query_lines),
        n_qrels=len(kept),
        counts=counts,
    )
    _REGISTERED[dataset_id] = record
    return record


def _check_qrels(pairs, doc_lines, query_lines, path, counts):
    """Qrels whose query and document exist; unknown ones and repeats counted (module doc)."""
    kept, grades = [], {}  # grades: (query, doc) → (line, relevance) of its first judgement
    counts.update(n_qrels_unknown_doc=0, n_qrels_unknown_query=0, n_qrels_repeated=0)
    first = None
    for n, qrel in pairs:
        key = (qrel.query_id, qrel.doc_id)
        if key in grades:
            if grades[key][1] != qrel.relevance:
                raise ValueError(
                    f"{path}:{n}: query {key[0]!r} doc {key[1]!r} judged {qrel.relevance} here and "
                    f"{grades[key][1]} at line {grades[key][0]}"
                )
            counts["n_qrels_repeated"] += 1
            continue
        grades[key] = (n, qrel.relevance)
        bad_doc, bad_query = qrel.doc_id not in doc_lines, qrel.query_id not in query_lines
        counts["n_qrels_unknown_doc"] += bad_doc
        counts["n_qrels_unknown_query"] += bad_query and not bad_doc
        if bad_doc or bad_query:
            first = first or (
                f"line {n}: query {qrel.query_id!r}"
                + (" (unknown)" if bad_query else "")
                + f" doc {qrel.doc_id!r}"
                + (" (unknown)" if bad_doc else "")
            )
            continue
        kept.append(qrel)
    counts["first_unknown"] = first
    return kept


def registered(dataset_id: str) -> LocalCollection | None:
    """The record of a local collection registered in this process, else ``None``."""
    return _REGISTERED.get(dataset_id)


def is_local(dataset_id: str) -> bool:
    return isinstance(dataset_id, str) and dataset_id.startswith(PREFIX)
