"""The ir_datasets components of a query split (:mod:`locent.realdata.splits`).

Kept apart because importing it imports ir_datasets, which binds its built-in datasets to
``IR_DATASETS_HOME`` as it is at that moment; :func:`locent.realdata.splits.register` runs only
after ``datasets.ensure_irds_home()``.

Each component keeps the parent's handler as an attribute (so the file check of
:func:`locent.realdata.datasets.check_component` walks into the parent's cache files) and filters
its records by the part's query ids, computed on first use (``ids()``, a frozenset).
"""

from __future__ import annotations

from ir_datasets.datasets.base import Dataset
from ir_datasets.formats import BaseQrels, BaseQueries, BaseScoredDocs


class SplitQueries(BaseQueries):
    """``parent_qrels`` is kept for the file check only: the partition reads the parent's qrels
    (which queries are judged)."""

    def __init__(self, parent, parent_qrels, ids, namespace: str):
        self._parent, self._parent_qrels = parent, parent_qrels
        self._ids, self._namespace = ids, namespace

    def queries_iter(self):
        keep = self._ids()
        return (q for q in self._parent.queries_iter() if q.query_id in keep)

    def queries_cls(self):
        return self._parent.queries_cls()

    def queries_namespace(self):
        return self._namespace

    def queries_lang(self):
        return self._parent.queries_lang()


class SplitQrels(BaseQrels):
    def __init__(self, parent, ids):
        self._parent, self._ids = parent, ids

    def qrels_iter(self):
        keep = self._ids()
        return (q for q in self._parent.qrels_iter() if q.query_id in keep)

    def qrels_cls(self):
        return self._parent.qrels_cls()

    def qrels_defs(self):
        return self._parent.qrels_defs()


class SplitScoredDocs(BaseScoredDocs):
    def __init__(self, parent, ids):
        self._parent, self._ids = parent, ids

    def scoreddocs_iter(self):
        keep = self._ids()
        return (s for s in self._parent.scoreddocs_iter() if s.query_id in keep)

    def scoreddocs_cls(self):
        return self._parent.scoreddocs_cls()


def split_dataset(parent, ids, dataset_id: str) -> Dataset:
    """The split's :class:`Dataset`: the parent's docs handler itself (one corpus), and queries,
    qrels and (when the parent has them) scoreddocs filtered to ``ids()``."""
    parts = [
        parent.docs_handler() if parent.has_docs() else None,
        SplitQueries(parent.queries_handler(), parent.qrels_handler(), ids, dataset_id),
        SplitQrels(parent.qrels_handler(), ids),
        SplitScoredDocs(parent.scoreddocs_handler(), ids) if parent.has_scoreddocs() else None,
    ]
    return Dataset(*parts)
