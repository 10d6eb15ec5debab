"""``locent diagnose``: locality, entropy, κ and the theory's verdicts for *your* training files.

For each training file (any layout :func:`~locent.realdata.formats.read_training_file` reads)
and, when the collection is known, for locent's reference samplers on the same queries, one row:

- Δ̂_q(α) = :func:`locent.theory.essential_diameter` of each group's embeddings (chordal, unit
  norm); the row holds the mean, the 0.9- and 0.99-quantiles over queries of Δ̂_q(0.99)
  (:func:`locent.theory.aggregate_diameter`; the 0.99 one is Δ̂_Q(0.99) of ``measure``) and
  Δ̂_Q(1) = max_q Δ̂_q(1). Same function as ``locent realdata measure``
  (:func:`locent.realdata.measure.group_measures`), so the same groups give the same numbers.
- H(g): mean over queries of the pairwise (Def. 2.3) and listwise entropies, τ given (nats).
- L̂_g = max over pairs of |g(q,x) − g(q,x')| / d(x, x') (the grid's
  :func:`~locent.realdata.grid.cells.empirical_teacher_lipschitz`): the smallest L_g for which
  Lemma B's hypothesis holds on the file, so its floor is a true lower bound there:
  H_q(g) ≥ h(σ(L̂_g Δ̂_q(1)/τ)) = :func:`locent.theory.entropy_floor`; the row holds the mean
  floor over queries (``entropy_floor``), the per-query table each floor.
- κ_Q against a stated test-time μ (``target``: a TREC run, μ_q uniform over its top-k) on the
  queries the file and the run share: ν_q = uniform over the file's candidates of q (the file's
  inclusion probabilities are unknown; stated in provenance);
  :func:`locent.realdata.measure.kappa_coverage`. Without a target: NaN, "not given".
- Theorem 2.1 (iii) for a stated linear student class (‖w‖ ≤ W, ϕ Λ-Lipschitz, loss, δ) at
  Δ_Q = Δ̂_Q(0.99), L_g = L̂_g, n = the file's queries and R̂ = 0 (the a-priori estimation term):
  :func:`locent.theory.rademacher_bound`, its vacuity and
  :func:`locent.theory.smallest_non_vacuous_n` (form iii).

Every check on the inputs (format, doc ids in the collection, teacher coverage of every candidate
pair) runs before anything is encoded. Errors name the file and the field or id at fault.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata.diagnose_inputs import (
    REFERENCE_SAMPLERS,
    DiagnoseInput,
    load_inputs,
    reference_groups,
    target_frame,
)
from locent.realdata.encoders import DEFAULT_ENCODER
from locent.realdata.measure import group_measures, kappa_coverage

from locent import results
from locent.provenance import atomic_write_json, provenance_record, write_with_provenance

#: extra columns of the diagnosis table (the others are :mod:`locent.results` constants)
DIAMETER_Q90_99 = "diameter_Q90_99"
ENTROPY_FLOOR = "entropy_floor"
SMALLEST_N_III = "smallest_non_vacuous_n_iii"
COVERAGE = "coverage"
SOURCE = "source"
#: the columns printed by ``locent diagnose`` (side by side, one column per file)
SHOWN = (
    "n_queries",
    "k",
    results.DIAMETER_MEAN_99,
    DIAMETER_Q90_99,
    results.DIAMETER_Q_99,
    results.PAIRWISE_ENTROPY,
    results.LISTWISE_ENTROPY,
    results.TEACHER_LIPSCHITZ,
    ENTROPY_FLOOR,
    results.KAPPA_Q,
    COVERAGE,
    results.LOSS_RANGE_Q,
    results.BOUND_III,
    results.BOUND_III_VACUOUS,
    SMALLEST_N_III,
)


@dataclass(frozen=True)
class StudentClass:
    """A linear student class F = {⟨w, ϕ(q,x)⟩ : ‖w‖₂ ≤ W}, ‖ϕ(q,x) − ϕ(q,x')‖ ≤ Λ d(x,x'),
    trained with ``loss`` (``soft_ranknet`` or ``margin_mse``: the losses Theorem 2.1 (iii)
    states ρ for); the bound holds with probability ≥ 1 − ``delta``."""

    weight_norm: float
    feature_lipschitz: float
    loss: str = "soft_ranknet"
    delta: float = 0.05

    def __post_init__(self):
        for name in ("weight_norm", "feature_lipschitz"):
            if not getattr(self, name) > 0:
                raise ValueError(f"student class: {name} must be > 0; got {getattr(self, name)}")
        if self.loss not in ("soft_ranknet", "margin_mse"):
            raise ValueError(
                f"student class: Theorem 2.1 (iii) states rho for soft_ranknet and margin_mse "
                f"only; got loss {self.loss!r}"
            )
        if not 0 < self.delta < 1:
            raise ValueError(f"student class: delta must be in (0, 1); got {self.delta}")

    def describe(self) -> str:
        return (
            f"linear, W={self.weight_norm:g}, Lambda={self.feature_lipschitz:g}, "
            f"{self.loss}, delta={self.delta:g}"
        )


def theorem_iii(student: StudentClass | None, lipschitz: float, diameter: float, n: int, tau):
    """Theorem 2.1 (iii) at R̂ = 0: ``{loss_range_Q, bound_iii, bound_iii_vacuous, smallest n}``
    (NaN without a student class or without a finite L̂_g, Δ̂_Q)."""
    from locent.theory import (
        is_vacuous,
        loss_range,
        rademacher_bound,
        rademacher_rho,
        smallest_non_vacuous_n,
    )

    row = {
        results.LOSS_RANGE_Q: np.nan,
        results.BOUND_III: np.nan,
        results.BOUND_III_VACUOUS: None,
        SMALLEST_N_III: np.nan,
    }
    if student is None or not (np.isfinite(lipschitz) and np.isfinite(diameter)):
        return row
    W, lam = student.weight_norm, student.feature_lipschitz
    rho = float(rademacher_rho(student.loss, tau, W, lam, lipschitz, diameter))
    b = float(loss_range(student.loss, W * lam, lipschitz, diameter, tau))
    bound = float(rademacher_bound(0.0, rho, W, lam, diameter, n, student.delta, b))
    n_min = smallest_non_vacuous_n(
        "iii",
        loss_range=b,
        delta=student.delta,
        empirical_risk=0.0,
        rho=rho,
        weight_norm=W,
        feature_lipschitz=lam,
        diameter=diameter,
    )
    row.update(
        {
            results.LOSS_RANGE_Q: b,
            results.BOUND_III: bound,
            results.BOUND_III_VACUOUS: bool(is_vacuous(bound, b)),
            SMALLEST_N_III: float(n_min),
        }
    )
    return row


def pool_of_file(groups, query_ids) -> pd.DataFrame:
    """ν_q of a file on ``query_ids``: uniform over the distinct candidates it lists for q (all
    its groups of q; the file's own inclusion probabilities are unknown)."""
    items = pd.DataFrame(
        {
            "query_id": np.repeat(groups.query_ids.astype(str), groups.k),
            "doc_id": groups.doc_ids.astype(str).reshape(-1),
        }
    ).drop_duplicates()
    listed = items.groupby("query_id", sort=False)["doc_id"].apply(list)
    ids = [listed[q] for q in query_ids]
    return pd.DataFrame(
        {
            "query_id": list(query_ids),
            "doc_ids": ids,
            "probs": [[1.0 / len(x)] * len(x) for x in ids],
            "support": "listed",
            "corpus_size": 0,
        }
    )


def measure_one(item: DiagnoseInput, target, student, tau: float) -> tuple[dict, pd.DataFrame]:
    """The row and the per-query frame of one input (a file or a reference sampler)."""
    from locent.realdata.grid.cells import empirical_teacher_lipschitz
    from locent.theory import aggregate_diameter, entropy_floor

    g, emb = item.groups, item.embeddings
    m = group_measures(g, emb)
    if tau != 1.0:  # group_measures states H at τ = 1 (as measure does); recompute at τ
        from locent.theory import listwise_entropy, pairwise_entropy

        teacher = np.asarray(g.teacher_scores, dtype=np.float64)  # as group_measures
        m[results.PAIRWISE_ENTROPY] = pairwise_entropy(teacher, tau=tau)
        m[results.LISTWISE_ENTROPY] = listwise_entropy(teacher, tau=tau)
    # float64 before any aggregate, as measure does (essential_diameter keeps float32 input)
    d99 = np.asarray(m[results.DIAMETER_99], dtype=np.float64)
    d100 = np.asarray(m[results.DIAMETER_100], dtype=np.float64)
    unit = emb / np.linalg.norm(emb, axis=-1, keepdims=True)  # chordal, as essential_diameter
    lip, n_zero = empirical_teacher_lipschitz(np.asarray(g.teacher_scores, np.float64), unit)
    floor = np.asarray(entropy_floor(lip, d100, tau)) if np.isfinite(lip) else np.full(g.n, np.nan)
    diameter_q = float(aggregate_diameter(d99, alpha=0.99))
    row = {
        SOURCE: item.name,
        "kind": item.kind,
        "format": item.format,
        "n_queries": g.n,
        "k": g.k,
        "teacher": item.teacher,
        results.DIAMETER_MEAN_99: float(np.mean(d99)),
        DIAMETER_Q90_99: float(aggregate_diameter(d99, alpha=0.9)),
        results.DIAMETER_Q_99: diameter_q,
        results.DIAMETER_Q_100: float(np.max(d100)),
        results.PAIRWISE_ENTROPY: float(np.mean(m[results.PAIRWISE_ENTROPY])),
        results.LISTWISE_ENTROPY: float(np.mean(m[results.LISTWISE_ENTROPY])),
        results.TEACHER_LIPSCHITZ: lip,
        "n_zero_distance_pairs": n_zero,
        ENTROPY_FLOOR: float(np.mean(floor)),
        results.KAPPA_Q: np.nan,
        "kappa_median": np.nan,
        COVERAGE: np.nan,
        "n_kappa_queries": 0,
    }
    if target is not None:
        shared = [q for q in target["query_id"] if q in set(g.query_ids.astype(str))]
        if not shared:
            raise ValueError(
                f"{item.name}: no query in common with the target run (file queries e.g. "
                f"{g.query_ids[0]!r}, run queries e.g. {target['query_id'].iloc[0]!r})"
            )
        tq = target.set_index("query_id").loc[shared].reset_index()
        pool = item.pool if item.pool is not None else pool_of_file(g, shared)
        pool = pool[pool["query_id"].isin(set(shared))]
        kappa, cov = kappa_coverage(tq, pool)
        row.update(
            {
                results.KAPPA_Q: float(np.max(kappa)),
                "kappa_median": float(np.median(kappa)),
                COVERAGE: float(np.mean(cov)),
                "n_kappa_queries": len(shared),
            }
        )
    row.update(theorem_iii(student, lip, diameter_q, g.n, tau))
    per_query = pd.DataFrame(
        {
            SOURCE: item.name,
            results.QUERY_ID: g.query_ids.astype(str),
            results.DIAMETER_99: d99,
            results.DIAMETER_100: d100,
            results.PAIRWISE_ENTROPY: np.asarray(m[results.PAIRWISE_ENTROPY]),
            results.LISTWISE_ENTROPY: np.asarray(m[results.LISTWISE_ENTROPY]),
            ENTROPY_FLOOR: floor,
        }
    )
    return row, per_query


def diagnose(
    files,
    *,
    dataset: str | None = None,
    format: str = "auto",
    scores=None,
    mode: str = "score",
    k: int | None = None,
    drop_short: bool = False,
    teacher=None,
    teacher_mode: str = "score",
    encoder=DEFAULT_ENCODER,
    target=None,
    target_k: int = 100,
    student: StudentClass | None = None,
    references=(),
    tau: float = 1.0,
    out=None,
    device: str = "cpu",
    precision: str = "auto",
    seed: int = 0,
) -> pd.DataFrame:
    """Diagnose training files; one row per file (then per reference sampler), see module doc.

    ``files``: a path, a DataFrame (PyTerrier columns, sentence-transformers tables) or a list of
    them, or ``{name: source}``. ``dataset``: the ir_datasets ID (``local/<name>`` included) the
    ids come from — needed when a file holds ids without texts, and for ``references``
    (samplers among ``bm25, random, dense``, run on the files' queries with the teacher model).
    ``teacher``: a teacher file (TREC run, score JSON, PyTerrier table; read by content, in
    ``teacher_mode`` ``score`` or ``rank``) or a model name; default the files' own scores.
    ``target``: a TREC run whose top-``target_k`` per query is the test-time μ. ``out``: write
    ``<out>/diagnose/`` (CSV + JSON with provenance, per-query CSV, HTML). The frame's
    ``attrs["per_query"]`` holds the per-query values.
    """
    t0 = time.perf_counter()
    tau = float(tau)
    if not tau > 0:
        raise ValueError(f"tau must be > 0; got {tau}")
    unknown = [s for s in references if s not in REFERENCE_SAMPLERS]
    if unknown:
        raise ValueError(
            f"unknown reference sampler {unknown[0]!r}; choose from {REFERENCE_SAMPLERS}"
        )
    target_df = None if target is None else target_frame(target, target_k)
    inputs, prov, runtime = load_inputs(
        files,
        dataset=dataset,
        format=format,
        scores=scores,
        mode=mode,
        k=k,
        drop_short=drop_short,
        teacher=teacher,
        teacher_mode=teacher_mode,
        encoder=encoder,
        references=tuple(references),
        out=out,
        device=device,
        precision=precision,
    )
    if references:
        inputs += reference_groups(inputs, references, prov, runtime, seed=seed)
    rows, per_query = [], []
    for item in inputs:
        row, pq = measure_one(item, target_df, student, tau)
        rows.append(row)
        per_query.append(pq)
    table = pd.DataFrame(rows)
    table.attrs["per_query"] = pd.concat(per_query, ignore_index=True)
    table.attrs["provenance"] = {
        **prov,
        "tau": tau,
        "target": "not given" if target is None else f"{os.fspath(target)} top-{target_k}",
        "nu_of_files": "uniform over the file's candidates of q (inclusion probabilities unknown)",
        "student_class": "not given" if student is None else student.describe(),
        "theorem_iii": "R_hat = 0, Delta_Q = diameter_Q_99, L_g = teacher_lipschitz, n = n_queries",
        "wall_s": round(time.perf_counter() - t0, 2),
    }
    if out is not None:
        write_diagnosis(table, Path(out) / "diagnose")
    return table


def write_diagnosis(table: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """``diagnose.csv`` + ``.json`` (with provenance), ``per_query.csv``, ``diagnose.html``;
    each written atomically."""
    from locent.realdata.diagnose_html import html_page

    from locent.provenance import atomic_write_text

    prov = dict(table.attrs.get("provenance", {}))
    per_query = table.attrs.get("per_query")
    plain = pd.DataFrame(table.to_dict(orient="list"))  # attrs dropped: they are not columns
    paths = {
        "csv": write_with_provenance(plain, folder / "diagnose.csv", **prov),
        "json": atomic_write_json(
            folder / "diagnose.json",
            {"rows": _records(plain), "provenance": provenance_record(**prov)},
        ),
        "per_query": write_with_provenance(per_query, folder / "per_query.csv", **prov),
        "html": atomic_write_text(
            folder / "diagnose.html", html_page(side_by_side(plain), per_query, prov)
        ),
    }
    return paths


def _plain(value):
    """JSON value: NaN → None (JSON has no NaN), numpy scalars → Python."""
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]


def side_by_side(table: pd.DataFrame) -> str:
    """The printed table: one column per source, one row per quantity."""
    shown = table.set_index(SOURCE)[[c for c in SHOWN if c in table.columns]].T

    def fmt(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "—"
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)

    return shown.map(fmt).to_string()
