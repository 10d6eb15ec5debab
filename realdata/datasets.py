"""Real IR data through ir_datasets, offline-safe.

Every read goes through ``ir_datasets`` with its ordinary IDs
(``msmarco-passage/trec-dl-2019/judged``, ``msmarco-passage/dev/small``, ``vaswani``, ``cranfield``,
...), so a user with internet and the full collection runs the same code. Offline, ir_datasets
reads a **writable copy** of the shared home:

- ``IR_DATASETS_HOME`` set → used as it is;
- otherwise ``$LOCENT_SHARED_DATA/ir_datasets_home`` (default ``<repo>/../shared/data``) is
  copied once into ``<out>/irds_home`` and ``IR_DATASETS_HOME`` is pointed at the copy.

Before a component (docs, queries, qrels, scoreddocs) is read, the files it needs are checked: a
file that is absent would make ir_datasets start a download, so :func:`load` raises a
``FileNotFoundError`` naming the dataset, component and path instead (fail fast, never hang). Set
``LOCENT_ALLOW_DOWNLOAD=1`` to let ir_datasets download (a user with internet).

Traps handled here: ``docs_store().get`` raises ``KeyError`` for a judged passage outside the
28,606-passage subset and ``get_many`` silently drops it; :func:`doc_texts` raises naming the id,
or, with ``missing="count"``, returns ``None`` for it and the number of misses.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from locent.resources import shared_data_dir
from locent.results import DEFAULT_OUT

COMPONENTS = ("docs", "queries", "qrels", "scoreddocs")

#: The datasets this project uses (any other ir_datasets ID is accepted too).
DL19 = "msmarco-passage/trec-dl-2019/judged"
DL20 = "msmarco-passage/trec-dl-2020/judged"
DEV_SMALL = "msmarco-passage/dev/small"
TEST_DATASETS = (DL19, DL20)


def runs_dir() -> Path:
    """Folder of the shipped first-stage runs (``runs/msmarco-passage/*.run``)."""
    return shared_data_dir() / "runs"


def ensure_irds_home(out: str | os.PathLike | None = None) -> Path:
    """Return the ir_datasets home to use, creating a writable copy of the shared one if needed.

    Sets ``IR_DATASETS_HOME`` and ``IR_DATASETS_SKIP_DISK_FREE=true`` (the msmarco-passage loader
    otherwise asks for 14 GB free) before ir_datasets is used.
    """
    os.environ.setdefault("IR_DATASETS_SKIP_DISK_FREE", "true")
    env = os.environ.get("IR_DATASETS_HOME")
    if env:
        return Path(env)
    source = shared_data_dir() / "ir_datasets_home"
    if not source.is_dir():
        raise FileNotFoundError(
            f"no ir_datasets home: IR_DATASETS_HOME is unset and {source} does not exist "
            "(set IR_DATASETS_HOME, or LOCENT_SHARED_DATA to the folder holding ir_datasets_home)"
        )
    target = Path(out if out is not None else DEFAULT_OUT) / "irds_home"
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".irds_home.", dir=target.parent))
        shutil.copytree(source, tmp / "home")
        for path in [tmp / "home", *(tmp / "home").rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        try:
            os.replace(tmp / "home", target)
        except OSError:
            if not target.is_dir():  # a concurrent copy won otherwise
                raise
        shutil.rmtree(tmp, ignore_errors=True)
    os.environ["IR_DATASETS_HOME"] = str(target.resolve())
    return target.resolve()


def _missing_paths(obj, seen: set[int] | None = None, depth: int = 0) -> list[str]:
    """Cache files that a component handler would have to download (walks its attributes)."""
    from ir_datasets.util import Cache
    from ir_datasets.util.download import Download

    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 12 or obj is None or isinstance(obj, str | bytes | int | float):
        return []
    seen.add(id(obj))
    if isinstance(obj, Cache):
        return [] if Path(obj._path).exists() else [str(obj._path)]
    if isinstance(obj, Download):
        cache = getattr(obj, "_cache_path", None)
        if cache is not None:
            return [] if Path(cache).exists() else [str(cache)]
        return ["<network download>"]
    children = []
    if isinstance(obj, list | tuple):
        children = list(obj)
    elif isinstance(obj, dict):
        children = list(obj.values())
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    missing: list[str] = []
    for child in children:
        missing += _missing_paths(child, seen, depth + 1)
    return missing


@cache
def _load(dataset_id: str):
    ensure_irds_home()
    import ir_datasets
    from locent.realdata import splits

    splits.register()  # <parent>/locent-split/<part> IDs (query splits), once per process
    try:
        return ir_datasets.load(dataset_id)
    except KeyError as err:
        raise ValueError(
            f"unknown ir_datasets ID {dataset_id!r} (see https://ir-datasets.com for the catalogue)"
        ) from err


def load(dataset_id: str, *components: str):
    """The ir_datasets dataset for ``dataset_id``, with the files of ``components`` checked.

    Raises ``ValueError`` for an unknown ID or a component the dataset does not provide, and
    ``FileNotFoundError`` (naming the file) when a needed file is absent and downloads are not
    allowed (``LOCENT_ALLOW_DOWNLOAD`` unset).
    """
    if not isinstance(dataset_id, str) or not dataset_id:
        raise ValueError(f"dataset_id must be a non-empty string; got {dataset_id!r}")
    dataset = _load(dataset_id)
    for component in components:
        check_component(dataset_id, component)
    return dataset


def check_component(dataset_id: str, component: str) -> None:
    """Raise unless ``component`` of ``dataset_id`` can be read without a download."""
    if component not in COMPONENTS:
        raise ValueError(f"component must be one of {COMPONENTS}; got {component!r}")
    dataset = _load(dataset_id)
    if not getattr(dataset, f"has_{component}")():
        raise ValueError(f"dataset {dataset_id!r} provides no {component}")
    if os.environ.get("LOCENT_ALLOW_DOWNLOAD", "") == "1":
        return
    missing = _missing_paths(getattr(dataset, f"{component}_handler")())
    if missing:
        raise FileNotFoundError(
            f"{dataset_id!r} {component}: file(s) absent from IR_DATASETS_HOME="
            f"{os.environ.get('IR_DATASETS_HOME')}: {missing[:3]}; ir_datasets would download "
            "them. Provide the files, or set LOCENT_ALLOW_DOWNLOAD=1 to let it download."
        )


@lru_cache(maxsize=16)
def _queries(dataset_id: str) -> tuple[tuple[str, str], ...]:
    dataset = load(dataset_id, "queries")
    return tuple((q.query_id, q.text) for q in dataset.queries_iter())


def queries(dataset_id: str) -> dict[str, str]:
    """``{query_id: text}`` in the dataset's order."""
    return dict(_queries(dataset_id))


@lru_cache(maxsize=16)
def _qrels(dataset_id: str):
    import pandas as pd

    dataset = load(dataset_id, "qrels")
    rows = [(q.query_id, q.doc_id, int(q.relevance)) for q in dataset.qrels_iter()]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "relevance"])


def qrels(dataset_id: str):
    """DataFrame ``(query_id, doc_id, relevance)`` (a copy; callers may modify it)."""
    return _qrels(dataset_id).copy()


@lru_cache(maxsize=16)
def _scoreddocs(dataset_id: str):
    import pandas as pd

    dataset = load(dataset_id, "scoreddocs")
    rows = [(s.query_id, s.doc_id, float(s.score)) for s in dataset.scoreddocs_iter()]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])


def scoreddocs(dataset_id: str):
    """DataFrame ``(query_id, doc_id, score)``: the dataset's first-stage candidates."""
    return _scoreddocs(dataset_id).copy()


def docs_store(dataset_id: str):
    return load(dataset_id, "docs").docs_store()


def _doc_text(doc) -> str:
    """Text of an ir_datasets doc record (``text``, or title + body for Cranfield/Vaswani-like)."""
    fields = doc._fields
    parts = [getattr(doc, f) for f in ("title", "text", "body") if f in fields]
    parts = [p for p in parts if p]
    return " ".join(parts) if parts else str(getattr(doc, fields[1]))


def doc_texts(dataset_id: str, doc_ids, missing: str = "raise"):
    """Texts of ``doc_ids`` in order.

    ``missing="raise"`` (default): ``KeyError`` naming the first absent doc id (the 28,606-passage
    subset lacks most judged passages of the full collection). ``missing="count"``: returns
    ``(texts, n_missing)`` with ``None`` for each absent id.
    """
    if missing not in ("raise", "count"):
        raise ValueError(f"missing must be 'raise' or 'count'; got {missing!r}")
    doc_ids = [str(d) for d in doc_ids]
    found = docs_store(dataset_id).get_many(doc_ids)
    texts = [None if d not in found else _doc_text(found[d]) for d in doc_ids]
    n_missing = sum(t is None for t in texts)
    if missing == "raise":
        if n_missing:
            first = next(d for d, t in zip(doc_ids, texts, strict=True) if t is None)
            raise KeyError(
                f"doc id {first!r} is not in the {dataset_id!r} corpus "
                f"({n_missing} of {len(doc_ids)} requested ids are absent)"
            )
        return texts
    return texts, n_missing


def doc_text_matrix(dataset_id: str, doc_ids) -> np.ndarray:
    """Texts of an array of doc ids (any shape, object) → object array of the same shape.

    Each distinct id is read from the docs store once; ``""`` (the padding id) maps to ``""``.
    An id absent from the corpus raises as in :func:`doc_texts`.
    """
    doc_ids = np.asarray(doc_ids, dtype=object)
    uniq = sorted({str(d) for d in doc_ids.ravel()} - {""})
    text_of = dict(zip(uniq, doc_texts(dataset_id, uniq), strict=True))
    text_of[""] = ""
    return np.vectorize(lambda d: text_of[str(d)], otypes=[object])(doc_ids)


@lru_cache(maxsize=8)
def _corpus(dataset_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    dataset = load(dataset_id, "docs")
    ids, texts = [], []
    for doc in dataset.docs_iter():
        ids.append(doc.doc_id)
        texts.append(_doc_text(doc))
    return tuple(ids), tuple(texts)


def corpus(dataset_id: str) -> tuple[list[str], list[str]]:
    """``(doc_ids, texts)`` of the whole corpus available for ``dataset_id`` (docs order)."""
    ids, texts = _corpus(dataset_id)
    return list(ids), list(texts)


def corpus_id(dataset_id: str) -> str:
    """ID of the docs collection behind ``dataset_id`` (e.g. ``msmarco-passage``).

    Datasets that share a docs handler share a corpus (and its indexes and embedding caches).
    """
    dataset = _load(dataset_id)
    parent = dataset_id.split("/")[0]
    if dataset_id != parent:
        try:
            if _load(parent).docs_handler() is dataset.docs_handler():
                return parent
        except ValueError:
            pass
    return dataset_id


@lru_cache(maxsize=8)
def corpus_hash(dataset_id: str) -> str:
    """sha256 over the corpus doc ids and texts (keys index and embedding caches)."""
    ids, texts = _corpus(dataset_id)
    digest = hashlib.sha256()
    for doc_id, text in zip(ids, texts, strict=True):
        digest.update(doc_id.encode())
        digest.update(b"\t")
        digest.update(text.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def dataset_fingerprint(dataset_id: str) -> dict:
    """Dataset ID plus hashes of what is present: queries, qrels, scoreddocs, corpus (ids+texts)."""
    record: dict = {"dataset_id": dataset_id}
    dataset = _load(dataset_id)
    for component, fn in (("queries", _queries), ("qrels", _qrels), ("scoreddocs", _scoreddocs)):
        if not getattr(dataset, f"has_{component}")():
            continue
        try:
            value = fn(dataset_id)
        except FileNotFoundError:
            record[f"{component}_sha256"] = None
            continue
        blob = repr(value).encode() if component == "queries" else value.to_csv().encode()
        record[f"{component}_sha256"] = hashlib.sha256(blob).hexdigest()
        record[f"n_{component}"] = len(value)
    if dataset.has_docs():
        try:
            record["corpus_sha256"] = corpus_hash(corpus_id(dataset_id))
            record["n_docs"] = len(_corpus(corpus_id(dataset_id))[0])
        except FileNotFoundError:
            record["corpus_sha256"] = None
    return record


def read_trec_run(path: str | os.PathLike):
    """A TREC run file (6 columns) as DataFrame ``(query_id, doc_id, rank, score)``.

    One parser for the whole project: :func:`locent.realdata.evaluation.read_run`, which names the
    file and line of a malformed row.
    """
    from locent.realdata.evaluation import read_run

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no run file at {path}")
    return read_run(path)


def shipped_runs(dataset_id: str) -> dict[str, Path]:
    """``{system: path}`` of the shipped first-stage runs for DL19/DL20 (empty for others)."""
    tag = {DL19: "trec-dl-2019", DL20: "trec-dl-2020"}.get(dataset_id)
    if tag is None:
        return {}
    folder = runs_dir() / "msmarco-passage"
    return {p.name.split(".")[1]: p for p in sorted(folder.glob(f"{tag}.*.top100.run"))}
