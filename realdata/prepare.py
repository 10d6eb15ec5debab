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

With a teacher **file** (``--teacher FILE``: a TREC run, score JSON or PyTerrier table, which
scores only the pairs it lists), each query set's universe is the BM25 top-``universe``
restricted to the docs the file scores, and every coverage problem of the training and test
queries is found before anything is encoded (:mod:`locent.realdata.teacher_cover`); the
restriction goes to ``prepare_summary.json`` (``teacher_coverage``), the groups' and pools'
provenance and one stderr line. Samplers that draw from the whole corpus are refused before any
work (``random``, knob samplers; ``dense``/``ensemble`` with ``dense_source="corpus"``); the
``--knobs`` groups and the shipped first-stage runs are skipped, the reason in the summary.

Files are skipped when they exist with the same ``inputs_key`` (dataset hashes, parameters,
models, query ids) in their provenance **and** still verify (:func:`is_reusable`: a truncated or
unreadable file is named on stderr and rebuilt), so a re-run reuses them.
"""

from __future__ import annotations

import hashlib
import json
import sys
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
from locent.realdata.splits import split_id
from locent.realdata.store import write_groups
from locent.realdata.teacher_cover import check_teacher_covers, teacher_file
from locent.realdata.teachers import DEFAULT_TEACHER, teacher_file_record
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

from locent.freshness import verify_artifact
from locent.progress import progress
from locent.provenance import atomic_write_json, write_with_provenance

#: Default number of training queries per plan (dev/small has 6,980; Vaswani all 93; Cranfield
#: all 225). Why 400 on MS MARCO: with 100 (70 after the sweep's held-out 30%) the students fit
#: their few training groups and barely generalised (dependence sweep: 21 of 48 cells learned,
#: nDCG@10 ≤ 0.37 on DL19); with 400 (280) 32 of 48 learned and nDCG@10 reached 0.55–0.60 on the
#: BM25 and random levels. Cost on the 2-core CPU: the teacher scores ≈ 280 universe items per
#: query, each distinct passage once (MS MARCO ≈ 0.3 s per query, Cranfield ≈ 0.1 s); prepare of
#: MS MARCO with 400 queries and the knob groups took 152 s with the corpus embeddings cached. The
#: MiniLM encoding of the corpora for the whole-corpus dense sampler is a fixed one-off (28,606 +
#: 11,429 + 1,400 passages), cached afterwards.
DEFAULT_TRAIN_QUERIES = 400
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
#: labelled plans (:mod:`locent.realdata.labelled`): positives from qrels, test queries disjoint
#: from the training queries (DL19 → DL20; the halves of a :mod:`~locent.realdata.splits` split).
#: Named by ``--datasets`` / ``grid --train``, never among the default plans.
LABELLED_PLANS = {
    "msmarco-cross-year": Plan(
        "msmarco-cross-year", datasets.DL19, (datasets.DL20,), "msmarco-cross-year"
    ),
    **{
        f"{name}-split": Plan(
            f"{name}-split", split_id(name, "train"), (split_id(name, "test"),), f"{name}-split"
        )
        for name in ("vaswani", "cranfield")
    },
}
#: the record a custom plan leaves in its folder, so later steps (measure) find it by name
PLAN_RECORD = "plan.json"


def custom_plan(train: str, tests=(), collections=()) -> Plan:
    """A plan for any ir_datasets IDs (``local/<name>`` included): train on ``train``, test on
    ``tests`` (default: ``train`` itself, its first test queries, as for Vaswani/Cranfield).

    Its name and folder are the slug of the train ID (``local/cisi`` → ``local_cisi``, files in
    ``realdata/groups/local_cisi/``). ``collections``: local collection folders registered first
    (their ``local/<name>`` IDs may then be used as train or test IDs)."""
    register_collections(collections)
    for dataset_id in (train, *tests):
        datasets.load(dataset_id)  # an unknown ID fails here, before any work
    name = slug(train)
    if name in PLANS:
        raise ValueError(
            f"--train {train!r}: its plan name {name!r} is a built-in plan; use --datasets {name}"
        )
    from locent.realdata.grid.presets import PRESETS  # late: the grid package imports this one

    if name in (*PRESETS, "train"):
        raise ValueError(
            f"--train {train!r}: its plan name {name!r} is a grid preset's name; the plan's grid "
            "folder realdata/grid/<plan>/ would sit inside that preset's (register the "
            "collection under another name)"
        )
    return Plan(name, train, tuple(tests) or (train,), name)


def register_collections(collections) -> dict[str, str]:
    """Register local collection folders; ``{local/<name>: folder}``."""
    from locent.realdata.formats import register_local_collection

    return {
        register_local_collection(Path(f)).dataset_id: str(Path(f).resolve()) for f in collections
    }


def write_plan_record(plan: Plan, out, collections=()) -> None:
    """``<groups>/<plan>/plan.json``: the plan and the local collection folders it needs."""
    atomic_write_json(
        plan.groups_dir(out) / PLAN_RECORD,
        {
            "name": plan.name,
            "train": plan.train,
            "tests": list(plan.tests),
            "collections": register_collections(collections),
        },
    )


def resolve_plan(name: str, out) -> Plan:
    """A built-in plan, or a custom one written by ``prepare --train`` (name or train ID); its
    local collections are registered again (a registration lives in one process only)."""
    if name in PLANS or name in LABELLED_PLANS:
        return {**PLANS, **LABELLED_PLANS}[name]
    record = Path(out) / "realdata" / "groups" / slug(name) / PLAN_RECORD
    if not record.exists():
        raise ValueError(
            f"unknown plan {name!r}: not among {tuple(PLANS)} and no {record} (write one with "
            "`locent realdata prepare --train ID [--test ID,...] [--collection FOLDER]`)"
        )
    data = json.loads(record.read_text())
    missing = [f for f in data.get("collections", {}).values() if not Path(f).is_dir()]
    if missing:
        raise ValueError(f"{record}: local collection folder {missing[0]} is gone")
    register_collections(data.get("collections", {}).values())
    return Plan(data["name"], data["train"], tuple(data["tests"]), data["name"])


def is_reusable(path: Path, key: str) -> bool:
    """Whether the file at ``path`` can be reused: written from the same inputs (its provenance
    holds ``inputs_key == key``, :func:`locent.realdata.universe.is_current`) and intact
    (:func:`locent.freshness.verify_artifact`: not empty, Parquet that decodes with the row count
    of its provenance). A file that fails the second test is named on stderr, to be rebuilt."""
    if not is_current(path, key):
        return False
    problem = verify_artifact(path)
    if problem:
        print(f"prepare: {path} does not verify ({problem}); rebuilding it", file=sys.stderr)
        return False
    return True


@dataclass(frozen=True)
class PlanTest:
    """One test set of a plan: its query ids and the reuse key of its pools and target."""

    test: str
    qids: list
    common: dict
    key: str

    def folder(self, groups_dir: Path) -> Path:
        return groups_dir / "pools" / slug(self.test)

    def reusable(self, groups_dir: Path, samplers) -> bool:
        tdir = self.folder(groups_dir)
        names = [f"{s}.pool.parquet" for s in samplers] + ["target.parquet"]
        return all(is_reusable(tdir / name, self.key) for name in names)


def _test_inputs(plan: Plan, test: str, qids, n_test_queries, cfg, common, samplers) -> PlanTest:
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
    return PlanTest(test, list(tq), tcommon, inputs_key(samplers=list(samplers), **tcommon))


def _coverage_summary(covers: dict) -> dict:
    """``{"train": counts, "tests": {test: counts}}`` of the teacher file's covers (empty with a
    teacher model); prints one stderr line per query set it restricts."""
    out: dict = {}
    for name, cover in covers.items():
        if cover is None:
            continue
        if cover.line():
            print(cover.line(), file=sys.stderr)
        if name == "train":
            out["train"] = cover.summary()
        else:
            out.setdefault("tests", {})[name] = cover.summary()
    return out


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
    recorded = teacher_file_record(res._teacher)
    if recorded:  # a teacher file: later steps re-read it by path + mode, its sha256 checked
        common["teacher_file"] = recorded
    built: dict = {}
    covers: dict = {}  # a teacher file's TeacherCover per query set ("train", test IDs)

    def universe():  # the labelled universe, built at most once and only when needed
        if "uni" not in built:
            cover = covers.get("train")
            built["uni"] = build_universe(plan.train, qids, cfg, res, labels=True, cover=cover)
        return built["uni"]

    todo = []
    for sampler in samplers:
        key = inputs_key(sampler=sampler, **common)
        # the pool file is written with the groups and read by measure: both must be intact
        if not all(
            is_reusable(folder / name, key)
            for name in (f"{sampler}.parquet", f"{sampler}.pool.parquet")
        ):
            todo.append((sampler, key))
        else:
            summary["samplers"][sampler] = "reused"
    tests = [_test_inputs(plan, t, qids, n_test_queries, cfg, common, samplers) for t in plan.tests]
    # a teacher file: every coverage problem of every query set, before anything is encoded
    if todo:
        covers["train"] = check_teacher_covers(res, plan.train, qids, cfg, samplers)
    for t in tests:
        if not t.reusable(folder, samplers):
            covers[t.test] = check_teacher_covers(res, t.test, t.qids, cfg, role="test")
    coverage = _coverage_summary(covers)
    if coverage:
        summary["teacher_coverage"] = coverage
    if todo:
        uni = universe()
        extra = {"teacher_coverage": coverage["train"]} if "train" in coverage else {}
        for sampler, key in progress(todo, desc=f"{plan.name} groups", unit="sampler"):
            sg = sample_groups(uni, sampler, cfg)
            groups = scored_groups(
                plan.train, sampler, uni, sg, res, inputs_key=key, seed=cfg.seed, **extra, **common
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
    for t in tests:
        if t.test not in covers:
            summary["tests"][t.test] = "reused"
            continue
        cover = covers[t.test]
        uni = build_universe(t.test, t.qids, cfg, res, labels=False, cover=cover)
        target = target_support(t.test, t.qids, uni, cover.bm25_ids if cover else None)
        prov = dict(inputs_key=t.key, target_measure=target.attrs["measure"], **t.common)
        if cover is not None:
            prov["teacher_coverage"] = coverage["tests"][t.test]
        write_with_provenance(
            pd.DataFrame({"query_id": t.qids, "doc_ids": target["doc_ids"].tolist()}),
            t.folder(folder) / "target.parquet",
            **prov,
        )
        for sampler in samplers:
            pools = candidate_pools(uni, sampler, cfg)
            frame = pool_frame(t.qids, pools or [None] * len(t.qids), len(uni.corpus_ids))
            path = t.folder(folder) / f"{sampler}.pool.parquet"
            write_with_provenance(frame, path, sampler=sampler, **prov)
        summary["tests"][t.test] = {"queries": len(t.qids)}
    if knobs or knob_levels:
        summary["knobs"] = prepare_knobs(
            plan, cfg, res, folder, common, qids, universe, knobs, knob_levels
        )
    if n_run_queries != 0 and recorded and any(datasets.shipped_runs(t) for t in plan.tests):
        # the shipped runs' top-100s are candidates a teacher file was not checked against
        why = f"teacher file {recorded['path']} scores only the pairs it lists"
        summary["runs"] = {
            "skipped": f"shipped first-stage runs as samplers need a teacher model ({why})"
        }
        print(f"prepare: {plan.name}: {summary['runs']['skipped']}", file=sys.stderr)
    elif n_run_queries != 0:
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
    teacher_mode: str = "score",
    knobs=KNOBS,
) -> dict:
    """Run :func:`prepare_plan` for each plan (a name of :data:`PLANS`, or a :class:`Plan` from
    :func:`custom_plan`); returns ``{plan name: summary}``. ``teacher``: a model name, or a
    teacher file (TREC run, score JSON, PyTerrier table; read in ``teacher_mode``)."""
    datasets.ensure_irds_home(out)
    cfg = cfg or SamplerConfig()
    res = Resources(out, teacher, encoder, device, precision)
    table = teacher_file(teacher, samplers, cfg, teacher_mode)
    if table is not None:  # the file, read by content, instead of load_teacher's name rules
        res._teacher = table
    named = {**PLANS, **LABELLED_PLANS}
    unknown = [p for p in plans if not isinstance(p, Plan) and p not in named]
    if unknown:
        raise ValueError(f"unknown plan {unknown[0]!r}; choose from {tuple(named)}")
    plans = [p if isinstance(p, Plan) else named[p] for p in plans]
    return {
        p.name: prepare_plan(p, cfg, res, samplers, n_queries, n_test_queries, n_run_queries, knobs)
        for p in plans
    }
