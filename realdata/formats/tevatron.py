"""Tevatron train JSONL → :class:`TrainingFile`.

One line per query: ``{"query_id": str, "query": str, "positive_passages": [{"docid", "title",
"text"}, ...], "negative_passages": [...]}``. One group per positive passage holding all the
negatives in file order (several positives → several groups, counted in ``duplicate_queries``,
never merged). A passage's text is ``title + " " + text`` (just ``text`` when the title is
empty), as ``datasets._doc_text`` joins ir_datasets records. A passage without ``docid`` gets
:func:`~locent.realdata.formats.training_file.text_id` of that text; a line without
``query_id`` gets the id of its query text. Teacher scores: none (Tevatron carries none).
"""

from __future__ import annotations

import numpy as np
from locent.realdata.formats.training_file import (
    TEXT_ID_SCHEME,
    TextTable,
    TrainingFile,
    fixed_k,
)

TEVATRON_KEYS = ("query", "positive_passages", "negative_passages")


def is_tevatron(columns) -> bool:
    return all(c in columns for c in TEVATRON_KEYS)


def _passage_text(p: dict) -> str | None:
    title = str(p.get("title") or "").strip()
    text = p.get("text")
    if text is None:
        return None
    return f"{title} {text}" if title else str(text)


def read_tevatron(df, source: str, k: int | None = None, drop_short: bool = False):
    missing = [c for c in TEVATRON_KEYS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: Tevatron train JSONL lacks field(s) {missing}")
    has_qid = "query_id" in df.columns
    queries, docs = TextTable("query", source), TextTable("doc", source)
    schemes = {"query": "file" if has_qid else TEXT_ID_SCHEME, "doc": set()}
    qids, items = [], []
    for line, rec in enumerate(df.to_dict("records"), 1):
        where = f" line {line}"
        if not isinstance(rec["query"], str):
            raise ValueError(f"{source}{where}: field 'query' must be a string")
        q = queries.id_for(rec["query_id"] if has_qid else None, rec["query"], where)
        group = {}
        for side in ("positive_passages", "negative_passages"):
            passages = rec[side]
            if not isinstance(passages, list):
                raise ValueError(f"{source}{where}: {side} must be a list of passages")
            ids = []
            for p in passages:
                if not isinstance(p, dict):
                    raise ValueError(f"{source}{where}: each of {side} must be an object")
                text = _passage_text(p)
                if p.get("docid") is None and text is None:
                    raise ValueError(
                        f"{source}{where}: a passage of {side} has no docid and no text"
                    )
                schemes["doc"].add("file" if p.get("docid") is not None else TEXT_ID_SCHEME)
                ids.append(docs.id_for(p.get("docid"), text, where))
            group[side] = ids
        if not group["positive_passages"]:
            raise ValueError(f"{source}{where}: query {q!r} has no positive passage")
        for pos in group["positive_passages"]:
            qids.append(q)
            items.append([pos, *group["negative_passages"]])
    labels = [[1.0] + [0.0] * (len(g) - 1) for g in items]
    qids_a, doc_ids, arrays, counts = fixed_k(
        source, qids, items, {"labels": labels}, k=k, drop_short=drop_short
    )
    return TrainingFile(
        format="tevatron",
        query_ids=qids_a,
        doc_ids=doc_ids,
        teacher_scores=None,
        labels=arrays["labels"],
        positive_source=np.full(len(qids_a), "file", dtype=object),
        query_texts=queries.texts,
        doc_texts=docs.texts,
        provenance={
            "format": "tevatron",
            "path": source,
            "query_id_scheme": schemes["query"],
            "doc_id_scheme": "+".join(sorted(schemes["doc"])),
            **counts,
        },
    )
