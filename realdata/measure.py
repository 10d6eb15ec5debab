"""``locent realdata measure``: per sampler, the quantities the theory is about (through theory/).

Per training group (``<groups>/<sampler>.parquet``):

- Δ̂_q(α), α ∈ {0.99, 1}: :func:`locent.theory.essential_diameter` of the group's MiniLM embeddings
  (unit norm along the embedding axis, chordal distance); Δ̂_Q(α) = :func:`aggregate_diameter`
  (α-quantile over queries), plus the mean and max over queries.
- Teacher entropy: :func:`pairwise_entropy` (Def. 2.3, τ = 1, nats) and :func:`listwise_entropy`
  (nats, and normalised by ln k) of the group's teacher scores.
- Local density around each group: mean distance to the 5th nearest neighbour inside the group
  (k-NN radius; smaller = denser) and the TwoNN intrinsic dimension (Facco et al. 2017 MLE,
  d̂ = k / Σ_i ln(r₂(i)/r₁(i)) over the k items of the group).
- Group statistics: positives from qrels, padded and excluded counts.

Per test query (``<groups>/pools/<test>/``): κ_q = :func:`density_ratio` (μ_q, ν_q) with μ_q uniform
over the target support (DL19/DL20 shipped BM25 top-100; bm25s top-100 for Vaswani/Cranfield) and
ν_q the sampler's recorded pool measure (the candidate measure without label exclusions: test time
has no labels); κ_Q = max over test queries (∞ when some test candidate is outside the pool:
domain shift). Coverage = share of μ_q's support inside supp ν_q, averaged over test queries.
With ``knobs``, ``knobs.csv``: one row per knob level (:mod:`locent.realdata.knobs.table`).

A whole-corpus pool (``random``) is represented exactly by the target items at 1/N plus one atom
holding the rest of its mass.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from locent.realdata import datasets
from locent.realdata.encoders import (
    DEFAULT_ENCODER,
    EmbeddingTables,
    Encoder,
    load_encoder,
    slug,
)
from locent.realdata.knobs.build import KNOBS, parse_knobs
from locent.realdata.knobs.table import knob_frame, plan_knob_rows
from locent.realdata.prepare import resolve_plan
from locent.realdata.samplers import SAMPLERS
from locent.realdata.store import read_groups
from locent.realdata.universe import target_support

from locent import results
from locent.errors import MissingResults
from locent.provenance import (
    atomic_write_json,
    atomic_write_text,
    provenance_record,
    write_with_provenance,
)

TABLE_COLUMNS = (
    results.DIAMETER_Q_99,
    results.PAIRWISE_ENTROPY,
    results.LISTWISE_ENTROPY,
    results.KAPPA_Q,
    "coverage",
)


def local_density(emb: np.ndarray, n_neighbors: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """``(knn_radius (n,), twonn_dimension (n,))`` of each group's embeddings ``(n, k, D)``.

    knn_radius = mean over items of the chordal distance to the ``n_neighbors``-th nearest other
    item; TwoNN d̂ = k / Σ_i ln(r₂/r₁) (duplicates with r₁ = 0 are skipped; NaN if none left).
    """
    import torch

    x = torch.as_tensor(np.asarray(emb, dtype=np.float64))
    x = torch.nn.functional.normalize(x, dim=-1)
    dist = torch.cdist(x, x)
    k = dist.shape[-1]
    dist = dist + torch.diag(torch.full((k,), math.inf, dtype=dist.dtype))
    srt = torch.sort(dist, dim=-1).values
    radius = srt[..., min(n_neighbors, k - 1) - 1].mean(-1)
    r1, r2 = srt[..., 0], srt[..., 1]
    ok = r1 > 1e-12
    logs = torch.where(ok, torch.log(r2 / torch.where(ok, r1, 1.0)), 0.0)
    denom = logs.sum(-1)
    twonn = torch.where(denom > 0, ok.sum(-1) / denom, torch.nan)
    return radius.numpy(), twonn.numpy()


def group_measures(groups, embeddings: np.ndarray) -> dict[str, np.ndarray]:
    """Per-query measures of one sampler's groups (arrays of shape (n,))."""
    from locent.theory import essential_diameter, listwise_entropy, pairwise_entropy

    radius, twonn = local_density(embeddings)
    # float64 (exact widening of float32 scores): the compiled kernels, whose bits do not depend
    # on the CPU (numpy's float32 exp differs in its last bit between AVX2 and AVX-512)
    teacher = np.asarray(groups.teacher_scores, dtype=np.float64)
    return {
        results.DIAMETER_99: essential_diameter(embeddings, alpha=0.99),
        results.DIAMETER_100: essential_diameter(embeddings, alpha=1.0),
        results.PAIRWISE_ENTROPY: pairwise_entropy(teacher, tau=1.0),
        results.LISTWISE_ENTROPY: listwise_entropy(teacher, tau=1.0),
        "listwise_entropy_norm": listwise_entropy(teacher, tau=1.0, normalise=True),
        "knn_radius": radius,
        "twonn_dimension": twonn,
    }


def kappa_coverage(target, pool) -> tuple[np.ndarray, np.ndarray]:
    """``(kappa (n,), coverage (n,))`` from the target and pool frames of one test dataset.

    ``target``: ``query_id, doc_ids`` (μ_q uniform over doc_ids); ``pool``: ``query_id, doc_ids,
    probs, support, corpus_size``. Builds, for every query, aligned (μ, ν) vectors over
    target ∪ pool (+ one rest atom for whole-corpus pools) and calls theory.density_ratio once.
    """
    from locent.theory import density_ratio

    t = target[["query_id", "doc_ids"]].explode("doc_ids").dropna()
    t = t.rename(columns={"doc_ids": "doc_id"}).drop_duplicates()
    t["mu"] = 1.0 / t.groupby("query_id")["doc_id"].transform("size")
    listed = pool[pool["support"] == "listed"]
    corpus = pool[pool["support"] == "corpus"]
    p = listed[["query_id", "doc_ids", "probs"]].explode(["doc_ids", "probs"]).dropna()
    p = p.rename(columns={"doc_ids": "doc_id", "probs": "nu"}).astype({"nu": float})
    if len(corpus):
        n_docs = corpus.set_index("query_id")["corpus_size"]
        tc = t[t.query_id.isin(n_docs.index)]
        atoms = tc.assign(nu=1.0 / tc.query_id.map(n_docs).to_numpy())[["query_id", "doc_id", "nu"]]
        rest = tc.groupby("query_id").size()
        rest = pd.DataFrame(
            {"query_id": rest.index, "doc_id": "\x00rest", "nu": 1.0 - rest / n_docs[rest.index]}
        )
        p = pd.concat([p, atoms, rest.reset_index(drop=True)], ignore_index=True)
    both = t.merge(p, on=["query_id", "doc_id"], how="outer").fillna({"mu": 0.0, "nu": 0.0})
    qids = list(target["query_id"])
    both = both[both.query_id.isin(set(qids))]
    both["slot"] = both.groupby("query_id").cumcount()
    width = int(both["slot"].max()) + 2  # last column: an atom for an empty pool
    row = {q: i for i, q in enumerate(qids)}
    mu = np.zeros((len(qids), width))
    nu = np.zeros((len(qids), width))
    r = both["query_id"].map(row).to_numpy()
    mu[r, both["slot"].to_numpy()] = both["mu"].to_numpy()
    nu[r, both["slot"].to_numpy()] = both["nu"].to_numpy()
    empty = nu.sum(1) == 0  # an empty pool: ν sits outside supp μ, nothing transfers
    nu[empty, -1] = 1.0
    kappa = density_ratio(mu, nu, atol=1e-6)
    covered = (mu > 0) & (nu > 0)
    coverage = covered.sum(1) / np.maximum((mu > 0).sum(1), 1)
    return kappa, coverage


def require_groups(out, plans, samplers) -> list[Path]:
    """The group files ``<groups>/<sampler>.parquet`` of ``plans`` × ``samplers`` that exist under
    ``out``; :class:`MissingResults` naming the folder and ``locent realdata prepare`` when there is
    none. Checked before the encoder loads (seconds), so an empty ``--out`` stops at once."""
    paths = [resolve_plan(p, out).groups_dir(out) / f"{s}.parquet" for p in plans for s in samplers]
    present = [path for path in paths if path.exists()]
    if not present:
        raise MissingResults(
            f"no groups of {', '.join(plans)} × {', '.join(samplers)} under "
            f"{Path(out) / 'realdata' / 'groups'}; run `locent realdata prepare` first"
        )
    return present


#: the columns of ``samplers.csv`` that show a partial teacher file's restriction (prepare's
#: ``teacher_coverage`` record; absent with a teacher model or a file that scores everything)
COVERAGE_COLUMNS = {
    "teacher_queries_restricted": "queries_restricted",
    "teacher_pairs_uncovered": "pairs_uncovered",
    "teacher_universe_min": "universe_min",
    "teacher_universe_median": "universe_median",
    "teacher_qrels_positives_unscored": "qrels_positives_unscored",
}


def _coverage_columns(record) -> dict:
    """The :data:`COVERAGE_COLUMNS` of one sampler's groups (empty without a record)."""
    if not isinstance(record, dict):
        return {}
    return {col: record[key] for col, key in COVERAGE_COLUMNS.items() if key in record}


def coverage_line(table: pd.DataFrame) -> str | None:
    """One line per plan whose teacher file restricted the universe (None when none did)."""
    if "teacher_queries_restricted" not in table.columns:
        return None
    rows = table[table["teacher_queries_restricted"].fillna(0) > 0].drop_duplicates("plan")
    lines = [
        f"Teacher file ({r['plan']}): the universe was restricted to the pairs it scores for "
        f"{int(r['teacher_queries_restricted'])} of {int(r['n_queries'])} training queries "
        f"({int(r['teacher_pairs_uncovered'])} pairs uncovered; universe min "
        f"{int(r['teacher_universe_min'])}, median {float(r['teacher_universe_median']):g})"
        for _, r in rows.iterrows()
    ]
    return "\n".join(lines) or None


def measure(
    out,
    plans=("msmarco", "vaswani", "cranfield"),
    samplers=SAMPLERS,
    encoder=DEFAULT_ENCODER,
    device="cpu",
    print_table=True,
    precision="auto",
    knobs=KNOBS,
) -> pd.DataFrame:
    """Measure every (plan, sampler) with groups on disk; write samplers.csv|json, per_query;
    with ``knobs`` also the knob table ``knobs.csv`` (:mod:`locent.realdata.knobs.table`)."""
    require_groups(out, plans, samplers)  # before anything is created or loaded
    datasets.ensure_irds_home(out)
    t0 = time.perf_counter()
    out = Path(out)
    rows, per_query, test_rows, missing = [], [], [], []
    enc = encoder if isinstance(encoder, Encoder) else load_encoder(encoder, device, precision)
    _table = EmbeddingTables(enc, out / "cache")  # one look-up per corpus for the whole call
    encoder = enc.name
    for plan_name in plans:
        plan = resolve_plan(plan_name, out)
        folder = plan.groups_dir(out)
        table = _table(plan.train)
        for sampler in samplers:
            path = folder / f"{sampler}.parquet"
            if not path.exists():
                missing.append(str(path))
                continue
            g = read_groups(path)
            m = group_measures(g, table(g.doc_ids))
            row = {
                results.DATASET: plan.train,
                "plan": plan_name,
                results.SAMPLER: sampler,
                "n_queries": g.n,
                "k": g.k,
                "encoder": encoder,
                "encoder_precision": enc.precision,
                results.DIAMETER_Q_99: float(_agg(m[results.DIAMETER_99], 0.99)),
                results.DIAMETER_Q_100: float(_agg(m[results.DIAMETER_100], 1.0)),
                results.DIAMETER_MEAN_99: float(np.mean(m[results.DIAMETER_99])),
                "diameter_max_99": float(np.max(m[results.DIAMETER_99])),
                results.PAIRWISE_ENTROPY: float(np.mean(m[results.PAIRWISE_ENTROPY])),
                results.LISTWISE_ENTROPY: float(np.mean(m[results.LISTWISE_ENTROPY])),
                "listwise_entropy_norm": float(np.mean(m["listwise_entropy_norm"])),
                "knn_radius": float(np.mean(m["knn_radius"])),
                "twonn_dimension": float(np.nanmean(m["twonn_dimension"])),
                "positive_from_qrels": int((g.positive_source == "qrels").sum()),
                "n_padded": int(g.n_padded.sum()),
                "n_excluded_mean": float(g.n_excluded.mean()),
                **_coverage_columns(g.provenance.get("teacher_coverage")),
            }
            kap, cov, ntest = [], [], 0
            for test in plan.tests:
                tdir = folder / "pools" / slug(test)
                if not (tdir / f"{sampler}.pool.parquet").exists():
                    missing.append(str(tdir / f"{sampler}.pool.parquet"))
                    continue
                target = pd.read_parquet(tdir / "target.parquet")
                k_q, c_q = kappa_coverage(target, pd.read_parquet(tdir / f"{sampler}.pool.parquet"))
                test_rows.append(
                    pd.DataFrame(
                        {
                            results.DATASET: test,
                            results.SAMPLER: sampler,
                            "query_id": target["query_id"].astype(str),
                            "role": "test",
                            results.KAPPA: k_q,
                            "coverage": c_q,
                        }
                    )
                )
                kap.append(k_q)
                cov.append(c_q)
                ntest += len(k_q)
            kap = np.concatenate(kap) if kap else np.array([np.nan])
            cov = np.concatenate(cov) if cov else np.array([np.nan])
            row.update(
                kappa_Q=float(np.max(kap)),
                kappa_median=float(np.median(kap)),
                kappa_finite_share=float(np.isfinite(kap).mean()),
                coverage=float(np.mean(cov)),
                n_test_queries=ntest,
                test_datasets="+".join(plan.tests),
            )
            rows.append(row)
            per_query.append(
                pd.DataFrame(
                    {
                        results.DATASET: plan.train,
                        results.SAMPLER: sampler,
                        "query_id": g.query_ids.astype(str),
                        "role": "train",
                        **{c: np.asarray(v) for c, v in m.items()},
                    }
                )
            )
    if not rows:
        raise FileNotFoundError(
            f"no groups under {out / 'realdata' / 'groups'}; run `locent realdata prepare` first"
        )
    table_df = pd.DataFrame(rows)
    # κ and coverage are per *test* query (role "test"); group measures per training query
    pq = pd.concat(per_query + test_rows, ignore_index=True)
    mdir = out / "realdata" / "measure"
    prov = dict(
        encoder=encoder,
        encoder_precision=enc.precision,
        plans=list(plans),
        samplers=list(samplers),
        missing=missing,
        wall_s=round(time.perf_counter() - t0, 2),
    )
    write_with_provenance(table_df, mdir / "samplers.csv", **prov)
    atomic_write_json(
        mdir / "samplers.json",
        {"rows": table_df.to_dict(orient="records"), "provenance": provenance_record(**prov)},
    )
    write_with_provenance(pq, mdir / "per_query.parquet", **prov)
    text = format_table(table_df)
    runs_df = _measure_run_sources(out, plans, lambda test, ids: _table(test)(ids))
    if runs_df is not None:
        write_with_provenance(runs_df, mdir / "first_stage_runs.csv", **prov)
        text += "\n\nShipped first-stage runs as samplers on DL queries:\n" + runs_df.to_string(
            index=False, float_format=lambda v: f"{v:.4g}"
        )
    if parse_knobs(knobs):
        knob_rows = [
            row
            for plan in (resolve_plan(name, out) for name in plans)
            for row in plan_knob_rows(
                plan,
                plan.groups_dir(out),
                _knob_summary(_table(plan.train)),
                kappa_coverage,
                missing,
            )  # fmt: skip
        ]
        knobs_df = knob_frame(knob_rows)
        write_with_provenance(knobs_df, mdir / "knobs.csv", **{**prov, "missing": missing})
        text += "\n\nKnobs (locality: sampler level; entropy: teacher variant):\n" + (
            knobs_df.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        )
    line = coverage_line(table_df)
    text += f"\n\n{line}" if line else ""
    atomic_write_text(mdir / "samplers.txt", text + "\n")
    if print_table:
        print(text)
        if missing:
            print(f"missing inputs ({len(missing)}): {missing[:3]}")
    return table_df


def measure_run_sources(folder: Path, embed) -> pd.DataFrame:
    """One row per (test set, system): Δ̂_Q, H(g), κ_Q and coverage of the run's groups and pools.

    ``embed(test, doc_ids) -> embeddings`` (the locality encoder's look-up). κ_q and coverage use
    μ_q = uniform over the shipped BM25 top-100 ``scoreddocs`` of the same queries.
    """
    rows = []
    for tdir in sorted((folder / "runs").glob("*")):
        for path in sorted(p for p in tdir.glob("*.parquet") if ".pool" not in p.name):
            g = read_groups(path)
            test = g.provenance["test_dataset"]
            m = group_measures(g, embed(test, g.doc_ids))
            qids = list(g.query_ids)
            target = target_support(test, qids, None)
            target = pd.DataFrame({"query_id": qids, "doc_ids": target["doc_ids"].tolist()})
            kappa, coverage = kappa_coverage(
                target, pd.read_parquet(tdir / f"{path.stem}.pool.parquet")
            )
            rows.append(
                {
                    results.DATASET: test,
                    "source": g.sampler,
                    "n_queries": g.n,
                    results.DIAMETER_Q_99: float(_agg(m[results.DIAMETER_99], 0.99)),
                    results.DIAMETER_MEAN_99: float(np.mean(m[results.DIAMETER_99])),
                    results.PAIRWISE_ENTROPY: float(np.mean(m[results.PAIRWISE_ENTROPY])),
                    results.LISTWISE_ENTROPY: float(np.mean(m[results.LISTWISE_ENTROPY])),
                    results.KAPPA_Q: float(np.max(kappa)),
                    "kappa_median": float(np.median(kappa)),
                    "kappa_finite_share": float(np.isfinite(kappa).mean()),
                    "coverage": float(np.mean(coverage)),
                    "n_missing_docs": int(g.provenance.get("n_missing_docs", 0)),
                    "n_padded": int(g.n_padded.sum()),
                }
            )
    return pd.DataFrame(rows)


def _measure_run_sources(out: Path, plans, embed):
    """The shipped runs' table (:mod:`locent.realdata.run_sources`), or None without run groups.

    ``embed(dataset_id, doc_ids)``: the caller's embedding look-up."""
    frames = [
        measure_run_sources(resolve_plan(p, out).groups_dir(out), embed)
        for p in plans
        if (resolve_plan(p, out).groups_dir(out) / "runs").is_dir()
    ]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def _knob_summary(embed):
    """``groups -> {Δ̂_Q(0.99), mean Δ̂_q(0.99), H(g)}`` for the knob table (``embed``: the
    corpus's embedding look-up)."""

    def summarise(groups) -> dict:
        m = group_measures(groups, embed(groups.doc_ids))
        return {
            results.DIAMETER_Q_99: float(_agg(m[results.DIAMETER_99], 0.99)),
            results.DIAMETER_MEAN_99: float(np.mean(m[results.DIAMETER_99])),
            results.PAIRWISE_ENTROPY: float(np.mean(m[results.PAIRWISE_ENTROPY])),
        }

    return summarise


def _agg(values, alpha):
    from locent.theory import aggregate_diameter

    return aggregate_diameter(np.asarray(values, dtype=np.float64), alpha=alpha)


def format_table(df) -> str:
    cols = [
        "dataset",
        "sampler",
        "n_queries",
        results.DIAMETER_Q_99,
        results.DIAMETER_MEAN_99,
        results.PAIRWISE_ENTROPY,
        results.LISTWISE_ENTROPY,
        results.KAPPA_Q,
        "coverage",
        "twonn_dimension",
    ]
    return df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
