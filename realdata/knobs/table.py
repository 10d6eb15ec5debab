"""The knob table: ``realdata/measure/knobs.csv``, one row per (dataset, knob level).

Columns: ``dataset, knob_name, knob_value, sampler, teacher_variant, teacher_tau,
diameter_Q_99, diameter_mean_99, pairwise_entropy, kappa_Q, coverage, n_queries`` (the measures
of :func:`locent.realdata.measure.group_measures` and :func:`kappa_coverage`, aggregated as in
``samplers.csv``).

- locality rows (``knob_name`` ``dense_depth`` / ``bm25_depth`` / ``ball_radius``): one per knob
  sampler with groups on disk, plus the listed ``random`` sampler as the last level of each depth
  family (``knob_value`` = N for depths, 2 for the radius: the whole corpus); teacher variant
  ``teacher``.
- entropy rows (``teacher_tau``, ``score_noise``, ``mix_cosine``, ``mix_bm25``): one per
  re-scored copy of the base groups; κ and coverage are the base sampler's (same pools).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from locent.realdata.encoders import slug
from locent.realdata.knobs.entropy import parse_variant
from locent.realdata.samplers import parse_knob_sampler
from locent.realdata.store import read_groups

from locent import results

LOCALITY_KNOB_NAMES = {"dense": "dense_depth", "bm25": "bm25_depth", "ball": "ball_radius"}
KNOB_COLUMNS = (
    results.DATASET,
    results.KNOB_NAME,
    results.KNOB_VALUE,
    results.SAMPLER,
    results.TEACHER_VARIANT,
    results.TEACHER_TAU,
    results.DIAMETER_Q_99,
    results.DIAMETER_MEAN_99,
    results.PAIRWISE_ENTROPY,
    results.KAPPA_Q,
    results.COVERAGE,
    "n_queries",
)


def _knob_sampler_files(folder) -> list[tuple[str, str, float]]:
    """``(name, family, value)`` of every knob sampler's groups in ``folder``."""
    found = []
    for path in folder.glob("*@*.parquet"):
        if path.name.endswith(".pool.parquet"):
            continue
        family, value = parse_knob_sampler(path.name[: -len(".parquet")])
        found.append((path.name[: -len(".parquet")], family, value))
    return sorted(found, key=lambda t: (t[1], t[2]))


def _kappa(folder, tests, sampler, missing, kappa_coverage) -> tuple[float, float]:
    """κ_Q (max over test queries) and mean coverage of ``sampler``'s pools on ``tests``."""
    kap, cov = [], []
    for test in tests:
        tdir = folder / "pools" / slug(test)
        path = tdir / f"{sampler}.pool.parquet"
        if not path.exists():
            missing.append(str(path))
            continue
        k_q, c_q = kappa_coverage(pd.read_parquet(tdir / "target.parquet"), pd.read_parquet(path))
        kap.append(k_q)
        cov.append(c_q)
    if not kap:
        return float("nan"), float("nan")
    return float(np.max(np.concatenate(kap))), float(np.mean(np.concatenate(cov)))


def _row(dataset, knob_name, knob_value, sampler, variant, groups, summarise) -> dict:
    return {
        results.DATASET: dataset,
        results.KNOB_NAME: knob_name,
        results.KNOB_VALUE: float(knob_value),
        results.SAMPLER: sampler,
        results.TEACHER_VARIANT: variant.name,
        results.TEACHER_TAU: variant.tau,
        **summarise(groups),
        "n_queries": groups.n,
    }


def plan_knob_rows(plan, folder, summarise, kappa_coverage, missing: list) -> list[dict]:
    """The knob rows of one plan's groups folder; paths of absent test pools are appended to
    ``missing``. The measures come from the caller (:mod:`locent.realdata.measure`, which
    imports this module): ``summarise(groups) -> {diameter_Q_99, diameter_mean_99,
    pairwise_entropy}`` and ``kappa_coverage(target, pool) -> (κ (n,), coverage (n,))``."""
    teacher = parse_variant("teacher")
    rows = []
    files = _knob_sampler_files(folder)
    corpus_size = 0
    if files:  # N, as recorded in a knob pool
        pool = pd.read_parquet(folder / f"{files[0][0]}.pool.parquet", columns=["corpus_size"])
        corpus_size = int(pool["corpus_size"].iloc[0])
    for name, family, value in files:
        row = _row(plan.train, LOCALITY_KNOB_NAMES[family], value, name, teacher,
                   read_groups(folder / f"{name}.parquet"), summarise)  # fmt: skip
        kappa, coverage = _kappa(folder, plan.tests, name, missing, kappa_coverage)
        rows.append({**row, results.KAPPA_Q: kappa, results.COVERAGE: coverage})
    if rows and (folder / "random.parquet").exists():
        random = read_groups(folder / "random.parquet")
        base = _row(plan.train, "", corpus_size, "random", teacher, random, summarise)
        kappa, coverage = _kappa(folder, plan.tests, "random", missing, kappa_coverage)
        # random = depth N = radius 2 (the whole corpus): the last level of every family
        ends = {"dense_depth": corpus_size, "bm25_depth": corpus_size, "ball_radius": 2.0}
        for knob, end in ends.items():
            if any(r[results.KNOB_NAME] == knob for r in rows):
                rows.append({**base, results.KNOB_NAME: knob, results.KNOB_VALUE: float(end),
                             results.KAPPA_Q: kappa, results.COVERAGE: coverage})  # fmt: skip
    for path in sorted((folder / "entropy").glob("*+*.parquet")):
        g = read_groups(path)
        v = parse_variant(path.name[: -len(".parquet")].split("+", 1)[1])
        kappa, coverage = _kappa(folder, plan.tests, g.sampler, missing, kappa_coverage)
        rows.append(
            {**_row(plan.train, v.knob_name, v.value, g.sampler, v, g, summarise),
             results.KAPPA_Q: kappa, results.COVERAGE: coverage}
        )  # fmt: skip
    return rows


def knob_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows in :data:`KNOB_COLUMNS` order, sorted by dataset, knob and level."""
    df = pd.DataFrame(rows, columns=list(KNOB_COLUMNS))
    return df.sort_values(
        [results.DATASET, results.KNOB_NAME, results.KNOB_VALUE, results.TEACHER_VARIANT],
        kind="stable",
    ).reset_index(drop=True)
