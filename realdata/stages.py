"""The real-data stages as plain functions with typed parameters.

``locent realdata prepare|measure|grid|report`` and ``locent run`` call the same four functions:
:func:`prepare_stage`, :func:`measure_stage`, :func:`grid_stage`, :func:`report_stage`, each
taking a frozen dataclass whose field names are the CLI option dests (``--dense-source`` →
``dense_source``) with the CLI's defaults, and returning a one-line summary. Lists are tuples;
``queries=0`` / ``test_queries=0`` mean all, ``run_queries=-1`` all judged and 0 none (as on the
command line).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from locent.realdata import datasets, labelled
from locent.realdata.encoders import DEFAULT_ENCODER
from locent.realdata.grid.inputs import (
    TEST_SETS,
    eval_set_name,
    load_real_inputs,
    read_sampler_measures,
    register_test_set,
)
from locent.realdata.grid.presets import PRESETS, Preset
from locent.realdata.grid.run import run_grid
from locent.realdata.grid.synthetic import synthetic_inputs
from locent.realdata.knobs.build import KNOBS
from locent.realdata.measure import measure
from locent.realdata.prepare import (
    DEFAULT_TEST_QUERIES,
    DEFAULT_TRAIN_QUERIES,
    LABELLED_PLANS,
    PLANS,
    custom_plan,
    prepare,
    resolve_plan,
    write_plan_record,
)
from locent.realdata.report import write_report
from locent.realdata.run_sources import DEFAULT_RUN_QUERIES
from locent.realdata.samplers import SAMPLERS, SamplerConfig
from locent.realdata.teachers import DEFAULT_TEACHER

from locent.resources import resolve_device
from locent.results import DEFAULT_OUT

_SAMPLER_DEFAULTS = SamplerConfig()
#: the grid's default test sets and the sets the teacher scores (costly on CPU for the others)
DEFAULT_TEACHER_SETS = ("dl19", "dl20")


@dataclass(frozen=True)
class PrepareParams:
    """``locent realdata prepare``: training groups per sampler and pools on test queries."""

    out: Path = Path(DEFAULT_OUT)
    seed: int = 0
    device: str = "auto"
    datasets: tuple[str, ...] = tuple(PLANS)
    samplers: tuple[str, ...] = SAMPLERS
    queries: int = DEFAULT_TRAIN_QUERIES
    test_queries: int = DEFAULT_TEST_QUERIES
    run_queries: int = DEFAULT_RUN_QUERIES
    k: int = _SAMPLER_DEFAULTS.k
    depth: int = _SAMPLER_DEFAULTS.depth
    universe: int = _SAMPLER_DEFAULTS.universe
    rerank_depth: int = _SAMPLER_DEFAULTS.rerank_depth
    dense_depth: int = _SAMPLER_DEFAULTS.dense_depth
    dense_source: str = _SAMPLER_DEFAULTS.dense_source
    precision: str = "auto"
    margin: float = _SAMPLER_DEFAULTS.margin
    teacher: str = DEFAULT_TEACHER
    encoder: str = DEFAULT_ENCODER
    #: any collection: ``train`` an ir_datasets ID (or ``local/<name>``) replaces ``datasets``
    #: by one custom plan tested on ``tests`` (default ``train``); ``collections``: local folders
    train: str | None = None
    tests: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    teacher_mode: str = "score"
    knobs: tuple[str, ...] = KNOBS


@dataclass(frozen=True)
class MeasureParams:
    """``locent realdata measure``: per sampler Δ̂_Q, H(g), κ_Q and coverage."""

    out: Path = Path(DEFAULT_OUT)
    seed: int = 0
    device: str = "auto"
    datasets: tuple[str, ...] = tuple(PLANS)
    samplers: tuple[str, ...] = SAMPLERS
    encoder: str = DEFAULT_ENCODER
    precision: str = "auto"
    knobs: tuple[str, ...] = KNOBS


@dataclass(frozen=True)
class GridParams:
    """``locent realdata grid``: the preset's grid (``None`` = the preset's own value)."""

    out: Path = Path(DEFAULT_OUT)
    seed: int = 0
    device: str = "auto"
    preset: str = "default"
    student: str | None = None
    fresh: bool = False
    samplers: tuple[str, ...] | None = None
    lr: float | str | None = None
    test_sets: tuple[str, ...] | None = None
    steps: int | None = None
    batch_size: int | None = None
    threads: int = 1
    teacher_sets: tuple[str, ...] | None = None
    synthetic: bool = False
    #: a ``prepare --train`` plan (its name or train ID): its groups, its tests as test sets
    train: str | None = None


@dataclass(frozen=True)
class ReportParams:
    """``locent realdata report``: Table 1 and its companions of a grid."""

    out: Path = Path(DEFAULT_OUT)
    seed: int = 0
    device: str = "auto"
    preset: str = "default"
    reference: str = "bm25"
    margin: float = 0.02
    alpha: float = 0.05
    #: the ``--train`` plan whose grid to report (None: the MS MARCO grid)
    train: str | None = None


def prepare_stage(p: PrepareParams) -> str:
    """Write the groups and pools of every plan; returns a one-line summary."""
    cfg = SamplerConfig(
        k=p.k,
        depth=p.depth,
        universe=p.universe,
        rerank_depth=p.rerank_depth,
        dense_depth=p.dense_depth,
        dense_source=p.dense_source,
        margin=p.margin,
        seed=p.seed,
    )
    start = time.perf_counter()
    plans = tuple(p.datasets)
    if p.train is not None:
        datasets.ensure_irds_home(p.out)  # local collections store their docs in this home
        plan = custom_plan(p.train, p.tests, p.collections)
        write_plan_record(plan, p.out, p.collections)
        plans = (plan,)
    elif p.tests or p.collections:
        raise ValueError("--test and --collection go with --train (the training dataset ID)")
    summary = prepare(
        p.out,
        plans=plans,
        samplers=tuple(p.samplers),
        cfg=cfg,
        n_queries=p.queries or None,
        n_test_queries=p.test_queries or None,
        n_run_queries=None if p.run_queries < 0 else p.run_queries,
        teacher=p.teacher,
        encoder=p.encoder,
        device=str(resolve_device(p.device)),
        precision=p.precision,
        teacher_mode=p.teacher_mode,
        knobs=tuple(p.knobs),
    )
    parts = []
    for plan, s in summary.items():
        reused = sum(v == "reused" for v in s["samplers"].values())
        parts.append(
            f"{plan} {len(s['samplers'])} samplers ({reused} reused), {len(s['tests'])} tests"
        )
    return f"prepare: {'; '.join(parts)}; {time.perf_counter() - start:.1f} s"


def measure_stage(p: MeasureParams) -> str:
    """Write ``realdata/measure/``; returns a one-line summary."""
    start = time.perf_counter()
    table = measure(
        p.out,
        plans=tuple(p.datasets),
        samplers=tuple(p.samplers),
        encoder=p.encoder,
        device=str(resolve_device(p.device)),
        precision=p.precision,
        print_table=False,
        knobs=tuple(p.knobs),
    )
    return (
        f"measure: {len(table)} sampler rows over {table['dataset'].nunique()} datasets; "
        f"{time.perf_counter() - start:.1f} s"
    )


def grid_preset(p: GridParams) -> Preset:
    """The preset named by ``p`` with its overrides, seeds shifted by ``p.seed``."""
    if p.preset not in PRESETS:
        raise ValueError(f"unknown grid preset {p.preset!r}; choose from {tuple(PRESETS)}")
    preset = PRESETS[p.preset]
    changes: dict = {}
    if p.samplers:
        changes["samplers"] = tuple(p.samplers)
        changes["cuts"] = tuple((loss, s) for loss, s in preset.cuts if s in p.samplers)
    for name in ("steps", "batch_size", "lr"):
        if getattr(p, name) is not None:
            changes[name] = getattr(p, name)
    if p.student and p.student != preset.students[0][0]:
        changes["students"] = tuple((p.student, arch) for _, arch in preset.students)
    preset = dataclasses.replace(preset, **changes)
    return dataclasses.replace(preset, seeds=tuple(p.seed + s for s in preset.seeds))


def grid_inputs(p, samplers, students):
    """The synthetic world or the real store of ``p.out`` (``p``: grid parameters)."""
    if p.synthetic:
        kw = {"test_sets": tuple(p.test_sets)} if p.test_sets else {}
        return synthetic_inputs(seed=p.seed, samplers=samplers, **kw)
    group_dir, test_sets = None, tuple(p.test_sets or TEST_SETS)
    if getattr(p, "train", None):
        plan = resolve_plan(p.train, p.out)
        for test in plan.tests:
            register_test_set(eval_set_name(test), test)
        group_dir = plan.groups_dir(p.out)
        test_sets = tuple(p.test_sets or (eval_set_name(t) for t in plan.tests))
    return load_real_inputs(
        p.out,
        samplers,
        students,
        test_sets,
        device="cuda" if p.device == "cuda" else "cpu",
        teacher_sets=tuple(p.teacher_sets or DEFAULT_TEACHER_SETS),
        group_dir=group_dir,
    )


def grid_dir(out, preset: str, train: str | None = None) -> Path:
    """Where a grid's results go: ``<out>/realdata/grid/<preset>`` for the MS MARCO plan (the
    grid the figures, checks and report read), ``<out>/realdata/grid/<plan>/<preset>`` for the
    plan of ``--train`` (``msmarco-cross-year``, ``vaswani-split``, ``local_cisi``): one folder
    per plan, so a plan's grid never resumes from, or overwrites, another plan's cells."""
    base = Path(out) / "realdata" / "grid"
    if not train or train == "msmarco":
        return base / preset
    return base / resolve_plan(train, out).name / preset


def grid_stage(p: GridParams) -> str:
    """Train and evaluate the grid, then write its report; returns a one-line summary."""
    preset = grid_preset(p)
    inputs = grid_inputs(p, preset.needed_samplers(), sorted({s for s, _ in preset.students}))
    out_dir = grid_dir(p.out, preset.name, p.train)
    paths = run_grid(
        inputs, preset, out_dir, device=p.device, resume=not p.fresh, threads=p.threads
    )
    write_report(out_dir)
    summary = json.loads((out_dir / "summary.json").read_text())
    return (
        f"grid {preset.name}: {summary['n_cells']} cells ({len(summary['skipped_cells'])} "
        f"skipped) on {summary['device']}, {summary['seconds_this_call']:.1f} s; "
        f"{paths['results']}"
    )


def report_stage(p: ReportParams) -> str:
    """Write Table 1 and its companions into the grid folder; returns a one-line summary."""
    folder = grid_dir(p.out, p.preset, p.train)
    write_report(folder, p.reference, p.margin, p.alpha)
    return f"report: {folder / 'table1.md'} (reference sampler {p.reference})"


@dataclass(frozen=True)
class LabelledParams:
    """``locent realdata labelled``: prepare and grid every labelled plan
    (:mod:`locent.realdata.labelled`; ``None`` = the ``labelled`` preset's value,
    ``queries=0`` / ``test_queries=0`` mean all)."""

    out: Path = Path(DEFAULT_OUT)
    seed: int = 0
    device: str = "auto"
    plans: tuple[str, ...] = tuple(LABELLED_PLANS)
    queries: int = labelled.DEFAULT_QUERIES
    test_queries: int = DEFAULT_TEST_QUERIES
    samplers: tuple[str, ...] | None = None
    steps: int | None = None
    threads: int = 1
    fresh: bool = False
    dense_source: str = _SAMPLER_DEFAULTS.dense_source
    precision: str = "auto"
    teacher: str = DEFAULT_TEACHER
    encoder: str = DEFAULT_ENCODER
    #: test sets the teacher scores (teacher agreement on test); None = every plan's test sets
    teacher_sets: tuple[str, ...] | None = None


def labelled_stage(p: LabelledParams) -> str:
    """Per labelled plan: prepare (reused when current; no knobs, no run sources), refuse
    training queries among the test queries, run the ``labelled`` preset into
    ``<out>/realdata/labelled/<plan>/``; then write the combined ``results.csv`` (``plan``
    column, the positive's source per row) and ``summary.json`` (seconds, cells learned,
    positive-source counts). Returns a one-line summary."""
    unknown = [n for n in p.plans if n not in LABELLED_PLANS]
    if unknown:
        raise ValueError(
            f"unknown labelled plan {unknown[0]!r}; choose from {tuple(LABELLED_PLANS)}"
        )
    preset = PRESETS[labelled.PRESET]
    samplers = tuple(p.samplers or preset.samplers)
    base = Path(p.out) / "realdata" / "labelled"
    tables, summary = [], {"preset": labelled.PRESET, "plans": {}}
    start = time.perf_counter()
    for name in p.plans:
        plan = LABELLED_PLANS[name]
        t0 = time.perf_counter()
        prepare_stage(
            PrepareParams(
                out=p.out,
                seed=p.seed,
                device=p.device,
                datasets=(name,),
                samplers=samplers,
                queries=p.queries,
                test_queries=p.test_queries,
                run_queries=0,
                dense_source=p.dense_source,
                precision=p.precision,
                teacher=p.teacher,
                encoder=p.encoder,
                knobs=(),
            )
        )
        t1 = time.perf_counter()
        group_dir = plan.groups_dir(p.out)
        disjoint = labelled.check_disjoint(plan, group_dir, samplers)
        names = labelled.test_set_names(plan)
        gp = GridParams(
            out=p.out,
            seed=p.seed,
            device=p.device,
            preset=labelled.PRESET,
            fresh=p.fresh,
            samplers=p.samplers,
            steps=p.steps,
            threads=p.threads,
            test_sets=names,
            teacher_sets=names if p.teacher_sets is None else p.teacher_sets,
            train=name,
        )
        plan_grid = base / name
        plan_preset = grid_preset(gp)
        inputs = grid_inputs(gp, plan_preset.needed_samplers(), ["frozen"])
        run_grid(inputs, plan_preset, plan_grid, p.device, resume=not p.fresh, threads=p.threads)
        seconds = {"prepare": t1 - t0, "grid": time.perf_counter() - t1}
        seconds["total"] = seconds["prepare"] + seconds["grid"]
        sources = labelled.positive_sources(group_dir, samplers, plan_preset.heldout_frac)
        measures = read_sampler_measures(p.out)
        tables.append(labelled.labelled_rows(plan, plan_grid, sources, measures))
        grid = json.loads((plan_grid / "summary.json").read_text())
        summary["plans"][name] = labelled.plan_summary(plan, grid, seconds, sources, disjoint)
    summary["seconds_total"] = round(time.perf_counter() - start, 1)
    params = {k: str(v) for k, v in dataclasses.asdict(p).items()}
    path = labelled.write_labelled(base, tables, summary, params)
    plans = summary["plans"].values()
    per_plan = ", ".join(f"{n} {s['seconds']['total']:.0f} s" for n, s in summary["plans"].items())
    return (
        f"labelled: {len(p.plans)} plans, {sum(s['n_learned_cells'] for s in plans)} of "
        f"{sum(s['n_cells'] for s in plans)} cells learned; {per_plan}; {path}"
    )
