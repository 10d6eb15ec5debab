"""Reference systems on every test set: BM25, the teacher, the encoder's cosine, shipped runs.

``encoder_cosine`` (when the grid has frozen features): cos(q, x) of the frozen encoder, the
score of the untrained ``frozen-bi`` student, so a reader sees whether training helped. Baseline
rows are not trained models: their condition label is ``baseline:<system>``, seed −1, and the
condition record columns are empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.realdata import evaluation
from locent.realdata.grid.inputs import EvalSet, GridInputs
from locent.realdata.grid.state import GridState, eval_data

from locent import results

#: The dataset whose score-at-rank curves are kept (the paper's Figs 2 and 4 use DL19).
SCORE_AT_RANK_DATASET = "dl19"
#: the condition record of a row that is no trained model (baselines, the teacher)
NO_CONDITION = {c: None for c in results.CONDITION_COLUMNS if c != results.SEED}


def agreement(scores, es: EvalSet, tau: float) -> pd.DataFrame:
    """Per test query: misordering and Bregman risk of ``scores`` ``(n, k)`` against the
    teacher; NaN when the set is unscored."""
    if es.teacher is None:
        nan = np.full(es.candidates.n, np.nan)
        return pd.DataFrame({results.MISORDERING: nan, results.BREGMAN_RISK: nan})
    return evaluation.teacher_agreement(scores, es.teacher, es.candidates.valid, tau)


def baselines(
    inputs: GridInputs, tau: float, state: GridState | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """BM25 (first stage), the teacher, the encoder's cosine and the shipped runs on every set.

    ``state`` (of the grid) supplies the resolved test candidates; without it they are resolved.
    Returns (summary rows, per-query rows, teacher score-at-rank rows).
    """
    rows, per_query, sar = [], [], []
    resolved = state.eval_data if state is not None else {}
    for es in inputs.eval_sets:
        cand = es.candidates
        systems = {
            "bm25": evaluation.run_frame(
                cand.query_ids, cand.doc_ids, cand.first_stage, cand.valid
            ),
        }
        if es.teacher is not None:
            systems["teacher"] = evaluation.run_frame(
                cand.query_ids, cand.doc_ids, es.teacher, cand.valid
            )
        cosine = None
        if "frozen" in inputs.features:
            data = resolved.get(("frozen", es.name))
            data = data if data is not None else eval_data(es, inputs.features["frozen"])
            cosine = data.features.cosine(data.resolved)
            systems["encoder_cosine"] = evaluation.run_frame(
                cand.query_ids, cand.doc_ids, cosine, cand.valid
            )
        systems.update({f"run:{k}": v for k, v in es.shipped_runs.items()})
        for system, run in systems.items():
            pq, missed = evaluation.evaluate_run(run, es.qrels)
            per_query.append(
                pq.assign(
                    condition=f"baseline:{system}",
                    system=system,
                    dataset=es.name,
                    **NO_CONDITION,
                    seed=-1,
                )
            )
            means = pq.groupby("measure")["value"].mean()
            rows.append(
                {
                    "system": system,
                    results.DATASET: es.name,
                    **{m: float(means.get(m, np.nan)) for m in evaluation.MEASURES},
                    "n_queries": int(pq[results.QUERY_ID].nunique()),
                    "n_missed_queries": missed,
                }
            )
        for system, scores in (("bm25", cand.first_stage), ("encoder_cosine", cosine)):
            if scores is None:
                continue
            rows.append(
                {
                    "system": f"{system}:misordering_vs_teacher",
                    results.DATASET: es.name,
                    results.MISORDERING: float(
                        agreement(scores, es, tau)[results.MISORDERING].mean()
                    ),
                }
            )
        if es.name == SCORE_AT_RANK_DATASET and es.teacher is not None:
            s = evaluation.score_at_rank(cand.query_ids, es.teacher, cand.valid)
            sar.append(
                s.assign(
                    model="teacher",
                    condition="teacher",
                    system="teacher",
                    dataset=es.name,
                    **NO_CONDITION,
                    seed=-1,
                )
            )
    return (
        pd.DataFrame(rows),
        pd.concat(per_query, ignore_index=True),
        pd.concat(sar, ignore_index=True) if sar else pd.DataFrame(),
    )
