"""``locent realdata prepare``: training groups per sampler, and sampler pools on test queries.

For each *plan* (a training dataset and the test datasets whose target measure μ the samplers are
compared with):

- ``msmarco``: training queries ``msmarco-passage/dev/small``; test queries DL19 + DL20 judged;
  μ_q uniform over the shipped BM25 top-100 ``scoreddocs``; files in ``realdata/groups/``.
- ``vaswani`` / ``cranfield``: training and test queries of the dataset itself; μ_q uniform over
  the bm25s top-100 of the whole corpus; files in ``realdata/groups/<name>/``.

Per query the *universe* is the bm25s top-``universe`` over the corpus, scored by the teacher
(g) and by MiniLM (cosine). Only the passages that occur in universes and groups are encoded
(cached), never a whole 8.8M corpus. Positive: the judged-relevant passage of highest grade that
is in the corpus (seeded choice among ties; ``positive_source="qrels"``), else the teacher's top
universe item (``"teacher_top"``); dev/small positives are mostly outside the 28,606-passage
subset, so most msmarco groups are ``teacher_top``.

κ and coverage need ν_q on the **test** queries: every sampler is run on the test queries too
(pool without label exclusions) and the pools go to ``<groups>/pools/<test>/<sampler>.pool.parquet``
beside ``target.parquet`` (the support of μ_q, uniform).

With ``knobs`` (default ``("locality", "entropy")``) the knob samplers' groups and pools
(``dense@d``, ``bm25@d``, ``ball@r``) and the entropy knob's re-scored groups are written too
(:mod:`locent.realdata.knobs.build`); knob sampler names may also be listed in ``samplers``.

Files are skipped when they exist with the same ``inputs_key`` (dataset hashes, parameters,
models, query ids) in their provenance, so a re-run reuses them.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from locent.realdata import datasets
from locent.realdata.encoders import DEFAULT_ENCODER, resolve_precision, slug
from locent.realdata.indexes import stemming
from locent.realdata.knobs.build import KNOBS, prepare_knobs
from locent.realdata.run_sources import DEFAULT_RUN_QUERIES, prepare_run_sources
from locent.realdata.samplers import (
    SAMPLERS,
    SamplerConfig,
    candidate_pools,
    is_sampler,
    sample_groups,
)
from locent.realdata.store import write_groups
from locent.realdata.teachers import DEFAULT_TEACHER
from locent.realdata.universe import (
    Resources,
    build_universe,
    inputs_key,
    is_current,
    pool_frame,
    scored_groups,
    select_queries,
    target_support,
)

from locent.progress import progress
from locent.provenance import atomic_write_json, write_with_provenance

#: Default number of training queries per plan (dev/small has 6,980; Vaswani all 93; Cranfield
#: 100 of 225). Cost on the 2-core CPU, cold (whole default prepare 500–512 s): the teacher scores
#: ≈ 280 universe items per query, each distinct passage once (MS MARCO ≈ 0.3 s per query,
#: Cranfield ≈ 0.1 s: 1,397 passages serve 20,000 pairs); the MiniLM encoding of the corpora for
#: the whole-corpus dense sampler is a fixed ≈ 400 s (28,606 + 11,429 + 1,400 passages at
#: 50–170 passages/s, bf16), cached afterwards.
DEFAULT_TRAIN_QUERIES = 100
#: Default number of test queries per test dataset used for κ and coverage.
DEFAULT_TEST_QUERIES = 6


@dataclass(frozen=True)
class Plan:
    name: str
    train: str
    tests: tuple[str, ...]
    subdir: str

    def groups_dir(self, out) -> Path:
        base = Path(out) / "realdata" / "groups"
        return base / self.subdir if self.subdir else base


PLANS = {
    "msmarco": Plan("msmarco", datasets.DEV_SMALL, datasets.TEST_DATASETS, ""),
    "vaswani": Plan("vaswani", "vaswani", ("vaswani",), "vaswani"),
    "cranfield": Plan("cranfield", "cranfield", ("cranfield",), "cranfield"),
}


def prepare_plan(
    plan: Plan,
    cfg: SamplerConfig,
    res: Resources,
    samplers=SAMPLERS,
    n_queries: int | None = DEFAULT_TRAIN_QUERIES,
    n_test_queries: int | None = DEFAULT_TEST_QUERIES,
    n_run_queries: int | None = DEFAULT_RUN_QUERIES,
    knobs=KNOBS,
) -> dict:
    """Build and write the groups and pools of one plan; returns a summary (counts, timings).

    ``n_run_queries``: test queries per DL test set on which the shipped first-stage runs are
    turned into groups (:mod:`locent.realdata.run_sources`; ``None`` = all, 0 = none).
    ``knobs``: the knob groups to build too (:mod:`locent.realdata.knobs.build`); knob sampler
    names among ``samplers`` (``dense@64``) are built as extra locality levels."""
    unknown = [s for s in samplers if not is_sampler(s)]
    if unknown:
        raise ValueError(
            f"unknown sampler {unknown[0]!r}; choose from {SAMPLERS} or a knob sampler "
            "(dense@d, bm25@d, ball@r)"
        )
    knob_levels = tuple(s for s in samplers if s not in SAMPLERS)
    samplers = tuple(s for s in samplers if s in SAMPLERS)
    folder = plan.groups_dir(res.out)
    summary: dict = {"plan": plan.name, "samplers": {}, "tests": {}}
    t0 = time.perf_counter()
    qids = select_queries(plan.train, n_queries, cfg.seed)
    fingerprint = datasets.dataset_fingerprint(plan.train)
    common = dict(
        plan=plan.name,
        train_dataset=plan.train,
        dataset_fingerprint=fingerprint,
        teacher=res.teacher_name,
        encoder=res.encoder_name,
        sampler_config=cfg.as_dict(),
        bm25_stemming=stemming(),
        encoder_precision=resolve_precision(res.precision, res.device),
        query_ids_sha256=hashlib.sha256("\n".join(qids).encode()).hexdigest(),
        n_queries=len(qids),
    )
    built: dict = {}

    def universe():  # the labelled universe, built at most once and only when needed
        if "uni" not in built:
            built["uni"] = build_universe(plan.train, qids, cfg, res, labels=True)
        return built["uni"]

    todo = []
    for sampler in samplers:
        key = inputs_key(sampler=sampler, **common)
        if not is_current(folder / f"{sampler}.parquet", key):
            todo.append((sampler, key))
        else:
            summary["samplers"][sampler] = "reused"
    if todo:
        uni = universe()
        for sampler, key in progress(todo, desc=f"{plan.name} groups", unit="sampler"):
            sg = sample_groups(uni, sampler, cfg)
            groups = scored_groups(
                plan.train, sampler, uni, sg, res, inputs_key=key, seed=cfg.seed, **common
            )
            prov = groups.provenance
            write_groups(groups, folder / f"{sampler}.parquet")
            pool = pool_frame(qids, sg.pool_ids or [None] * len(qids), sg.corpus_size)
            write_with_provenance(
                pool, folder / f"{sampler}.pool.parquet", **{**prov, "artefact_of": sampler}
            )
            summary["samplers"][sampler] = {
                "groups": len(qids),
                "padded": int(sg.n_padded.sum()),
                "excluded": int(sg.n_excluded.sum()),
                "positive_from_qrels": int((uni.positive_source == "qrels").sum()),
            }
    for test in plan.tests:
        tdir = folder / "pools" / slug(test)
        if test == plan.train:  # same queries: the first test queries are training queries
            tq = qids[: n_test_queries or len(qids)]
        else:
            tq = select_queries(test, n_test_queries, cfg.seed)
        tcommon = dict(
            common,
            test_dataset=test,
            test_fingerprint=datasets.dataset_fingerprint(test),
            test_query_ids_sha256=hashlib.sha256("\n".join(tq).encode()).hexdigest(),
        )
        tkey = inputs_key(samplers=list(samplers), **tcommon)
        if all(is_current(tdir / f"{s}.pool.parquet", tkey) for s in samplers) and is_current(
            tdir / "target.parquet", tkey
        ):
            summary["tests"][test] = "reused"
            continue
        uni = build_universe(test, tq, cfg, res, labels=False)
        target = target_support(test, tq, uni)
        prov = dict(inputs_key=tkey, target_measure=target.attrs["measure"], **tcommon)
        write_with_provenance(
            pd.DataFrame({"query_id": tq, "doc_ids": target["doc_ids"].tolist()}),
            tdir / "target.parquet",
            **prov,
        )
        for sampler in samplers:
            pools = candidate_pools(uni, sampler, cfg)
            frame = pool_frame(tq, pools or [None] * len(tq), len(uni.corpus_ids))
            write_with_provenance(frame, tdir / f"{sampler}.pool.parquet", sampler=sampler, **prov)
        summary["tests"][test] = {"queries": len(tq)}
    if knobs or knob_levels:
        summary["knobs"] = prepare_knobs(
            plan, cfg, res, folder, common, qids, universe, knobs, knob_levels
        )
    if n_run_queries != 0:
        summary["runs"] = prepare_run_sources(
            folder, plan.tests, cfg, res, n_run_queries or None, common
        )
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    atomic_write_json(folder / "prepare_summary.json", summary)
    return summary


def prepare(
    out,
    plans=("msmarco", "vaswani", "cranfield"),
    samplers=SAMPLERS,
    cfg: SamplerConfig | None = None,
    n_queries: int | None = DEFAULT_TRAIN_QUERIES,
    n_test_queries: int | None = DEFAULT_TEST_QUERIES,
    teacher=DEFAULT_TEACHER,
    encoder=DEFAULT_ENCODER,
    device="cpu",
    precision="auto",
    n_run_queries: int | None = DEFAULT_RUN_QUERIES,
    knobs=KNOBS,
) -> dict:
    """Run :func:`prepare_plan` for each plan; returns ``{plan: summary}``."""
    datasets.ensure_irds_home(out)
    cfg = cfg or SamplerConfig()
    res = Resources(out, teacher, encoder, device, precision)
    unknown = [p for p in plans if p not in PLANS]
    if unknown:
        raise ValueError(f"unknown plan {unknown[0]!r}; choose from {tuple(PLANS)}")
    return {
        p: prepare_plan(
            PLANS[p], cfg, res, samplers, n_queries, n_test_queries, n_run_queries, knobs
        )
        for p in plans
    }
