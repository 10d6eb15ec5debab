"""The ir_datasets components of a local collection (docs, queries, qrels handlers).

Kept apart from :mod:`~locent.realdata.formats.local_collection` because importing this module
imports ir_datasets, which binds its built-in datasets to ``IR_DATASETS_HOME`` as it is at that
moment; :func:`~locent.realdata.formats.local_collection.register_local_collection` imports it
only after ``datasets.ensure_irds_home()``.
"""

from __future__ import annotations

from pathlib import Path

from ir_datasets.formats import BaseDocs, BaseQrels, BaseQueries, GenericQuery, TrecQrel
from ir_datasets.indices import DEFAULT_DOCSTORE_OPTIONS, PickleLz4FullStore


class LocalDocs(BaseDocs):
    """Documents re-read from the file on each iteration; ``docs_store`` built on first use."""

    def __init__(self, parse, doc_cls, store_dir: Path, count: int, namespace: str):
        super().__init__()
        self._parse, self._cls, self._store_dir = parse, doc_cls, store_dir
        self._count, self._namespace = count, namespace

    def docs_iter(self):
        return (doc for _, doc in self._parse())

    def docs_cls(self):
        return self._cls

    def docs_store(self, field="doc_id", options=DEFAULT_DOCSTORE_OPTIONS):
        self._store_dir.mkdir(parents=True, exist_ok=True)
        return PickleLz4FullStore(
            path=str(self._store_dir / "docs.pklz4"),
            init_iter_fn=self.docs_iter,
            data_cls=self._cls,
            lookup_field=field,
            index_fields=["doc_id"],
            count_hint=self._count,
            options=options,
        )

    def docs_count(self):
        return self._count

    def docs_namespace(self):
        return self._namespace

    def docs_lang(self):
        return None


class LocalQueries(BaseQueries):
    def __init__(self, queries: list, namespace: str):
        super().__init__()
        self._queries, self._namespace = queries, namespace

    def queries_iter(self):
        return iter(self._queries)

    def queries_cls(self):
        return GenericQuery

    def queries_namespace(self):
        return self._namespace

    def queries_lang(self):
        return None


class LocalQrels(BaseQrels):
    def __init__(self, qrels: list):
        self._qrels = qrels

    def qrels_iter(self):
        return iter(self._qrels)

    def qrels_cls(self):
        return TrecQrel

    def qrels_defs(self):
        return {}
