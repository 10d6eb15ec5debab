"""A small synthetic retrieval world with the shapes of the real inputs (for tests and smoke runs).

Queries and documents are unit vectors in R^D; the teacher is g(q, x) = s·qᵀMx + noise with a
fixed random M (so it is Lipschitz in x); each training group is the teacher's best document
(the positive, item 0) plus k−1 negatives from a named sampler:

- ``random``: uniform over the corpus (non-local);
- ``bm25``: the nearest documents to q by cosine (a stand-in first stage: local);
- ``teacher``: the teacher's next-best documents (hard negatives);
- ``ensemble``: half from ``bm25``, half from ``teacher``.

Test sets re-rank each query's first-stage top-``depth`` (cosine); graded qrels (0–3) are the
teacher-score quartiles within the candidates plus label noise. Nothing here claims anything
about real data: it only exercises the code paths end to end in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.realdata.evaluation import Candidates
from locent.realdata.features import FrozenFeatures
from locent.realdata.grid.inputs import EvalSet, GridInputs
from locent.realdata.samplers import SAMPLERS as REAL_SAMPLERS
from locent.realdata.store import Groups

#: the samplers this world implements: those of the registry but ``dense`` (no encoder here)
SAMPLERS = tuple(s for s in REAL_SAMPLERS if s != "dense")


def _unit(rng, n, d):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic_inputs(
    seed: int = 0,
    n_train: int = 96,
    n_docs: int = 800,
    dim: int = 16,
    k: int = 8,
    n_test: int = 12,
    depth: int = 30,
    samplers=SAMPLERS,
    test_sets=("dl19", "dl20"),
) -> GridInputs:
    rng = np.random.default_rng(seed)
    docs = _unit(rng, n_docs, dim)
    n_q = n_train + n_test * len(test_sets)
    queries = _unit(rng, n_q, dim)
    m = np.eye(dim) + 0.5 * rng.normal(size=(dim, dim)) / np.sqrt(dim)
    teacher = 6.0 * queries @ m @ docs.T + 0.3 * rng.normal(size=(n_q, n_docs))
    cosine = queries @ docs.T
    doc_ids = np.array([f"d{i}" for i in range(n_docs)], dtype=object)
    query_ids = np.array([f"q{i}" for i in range(n_q)], dtype=object)
    features = FrozenFeatures(
        query_ids, queries.astype(np.float32), doc_ids, docs.astype(np.float32)
    )

    train = np.arange(n_train)
    positive = teacher[train].argmax(1)
    by_cos = np.argsort(-cosine[train], axis=1)
    by_teacher = np.argsort(-teacher[train], axis=1)
    groups = {}
    for sampler in samplers:
        if sampler == "random":
            neg = np.stack(
                [
                    rng.choice(np.delete(np.arange(n_docs), p), k - 1, replace=False)
                    for p in positive
                ]
            )
        elif sampler == "bm25":
            neg = np.stack([row[row != p][: k - 1] for row, p in zip(by_cos, positive)])
        elif sampler == "teacher":
            neg = by_teacher[:, 1:k]
        elif sampler == "ensemble":
            half = (k - 1) // 2
            neg = []
            for row_t, row_c, p in zip(by_teacher, by_cos, positive):
                chosen = list(row_t[1 : 1 + half])
                chosen += [d for d in row_c if d != p and d not in chosen][: k - 1 - half]
                neg.append(chosen)
            neg = np.array(neg)
        else:
            raise ValueError(f"unknown synthetic sampler {sampler!r}")
        items = np.concatenate([positive[:, None], neg], axis=1)
        n = len(train)
        groups[sampler] = Groups(
            sampler=sampler,
            query_ids=query_ids[train],
            doc_ids=doc_ids[items],
            teacher_scores=teacher[train[:, None], items],
            inclusion_probs=np.column_stack(
                [np.full(n, np.nan), np.full((n, k - 1), 1.0 / n_docs)]
            ),
            positive_source=np.full(n, "teacher_top", dtype=object),
            n_padded=np.zeros(n, dtype=np.int64),
            n_excluded=np.zeros(n, dtype=np.int64),
            provenance={"synthetic": True, "seed": seed},
        )
    eval_sets = []
    for t, name in enumerate(test_sets):
        qs = n_train + t * n_test + np.arange(n_test)
        top = np.argsort(-cosine[qs], axis=1)[:, :depth]
        frame = pd.DataFrame(
            {
                "query_id": np.repeat(query_ids[qs], depth),
                "doc_id": doc_ids[top].ravel(),
                "score": np.take_along_axis(cosine[qs], top, 1).ravel() * 10,
            }
        )
        cand = Candidates.from_frame(frame, name, depth)
        row = pd.Series(np.arange(n_q), index=query_ids)[cand.query_ids].to_numpy()
        col = pd.Series(np.arange(n_docs), index=doc_ids)[cand.doc_ids.ravel()].to_numpy()
        t_scores = teacher[np.repeat(row, cand.doc_ids.shape[1]), col].reshape(cand.doc_ids.shape)
        noisy = t_scores + rng.normal(0, 0.5, size=t_scores.shape)
        qcut = np.quantile(noisy, [0.5, 0.75, 0.9], axis=1).T
        rel = (noisy[:, :, None] > qcut[:, None, :]).sum(-1)
        qrels = pd.DataFrame(
            {
                "query_id": np.repeat(cand.query_ids, cand.doc_ids.shape[1]).astype(str),
                "doc_id": cand.doc_ids.ravel().astype(str),
                "relevance": rel.ravel().astype(int),
            }
        )
        eval_sets.append(EvalSet(name, cand, qrels, t_scores))
    return GridInputs(
        groups=groups,
        features={"frozen": features},
        eval_sets=eval_sets,
        provenance={"inputs": "synthetic", "seed": seed},
    )
