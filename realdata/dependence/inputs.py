"""What the dependence sweep trains on: the knob levels and their groups.

- :func:`real_sweep_inputs`: the MS MARCO plan's knob groups written by ``locent realdata prepare``
  (``<out>/realdata/groups/<level>.parquet`` for the locality levels and ``random``;
  ``entropy/<base>+<variant>.parquet`` for the entropy levels; :mod:`locent.realdata.knobs.build`),
  the frozen MiniLM features, and the in-domain test sets (the teacher scores them).
- :func:`synthetic_sweep_inputs`: a small synthetic knob world (unit vectors, a Lipschitz
  teacher) with the same shapes, for tests and smoke runs; it claims nothing about real data.

Both return ``(GridInputs, levels)``: ``inputs.groups`` keyed by :attr:`KnobLevel.label`, and the
levels ordered by their measured Δ̂_Q(0.99) (most local first) for the locality knob, then the
entropy levels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from locent.realdata.dependence.design import ENTROPY, LOCALITY, KnobLevel, SweepDesign
from locent.realdata.features import GroupData
from locent.realdata.grid.inputs import GridInputs, load_real_inputs
from locent.realdata.grid.synthetic import synthetic_inputs
from locent.realdata.knobs.build import ENTROPY_BASE
from locent.realdata.samplers import knob_sampler_name, parse_knob_sampler
from locent.realdata.store import Groups, read_groups
from locent.theory import aggregate_diameter, essential_diameter

#: the listed sampler that ends every depth family (the whole corpus)
RANDOM = "random"


def level_diameter(groups: Groups, features) -> float:
    """Δ̂_Q(0.99) of a level's groups in the frozen feature space (orders the levels)."""
    data = GroupData.from_groups(groups, features)
    emb = data.features.item_embeddings(data.resolved).astype(np.float64)
    return float(aggregate_diameter(np.asarray(essential_diameter(emb, alpha=0.99)), alpha=0.99))


def ordered_levels(inputs: GridInputs, levels: list[KnobLevel]) -> list[KnobLevel]:
    """Locality levels by measured Δ̂_Q (ties by label), then the entropy levels by label."""
    feats = inputs.features["frozen"]
    local = [lv for lv in levels if lv.knob == LOCALITY]
    diam = {lv.label: level_diameter(inputs.groups[lv.label], feats) for lv in local}
    local.sort(key=lambda lv: (diam[lv.label], lv.label))
    return local + sorted((lv for lv in levels if lv.knob == ENTROPY), key=lambda lv: lv.label)


def store_levels(group_dir: Path, design: SweepDesign) -> list[KnobLevel]:
    """The knob levels with groups in ``group_dir`` (the design's subset when it names one).

    A level the design names but the store lacks is an error naming the file; the entropy knob's
    ``teacher`` variant is the base sampler's own level (one cell, read by both fits)."""
    found = sorted(
        p.name[: -len(".parquet")]
        for p in group_dir.glob("*@*.parquet")
        if not p.name.endswith(".pool.parquet")
    )
    for name in found:
        parse_knob_sampler(name)
    if (group_dir / f"{RANDOM}.parquet").exists():
        found.append(RANDOM)
    wanted = list(design.locality) if design.locality is not None else found
    missing = [s for s in wanted if s not in found]
    if missing:
        raise FileNotFoundError(
            f"dependence sweep: no groups for locality levels {missing} in {group_dir} "
            "(run `locent realdata prepare --knobs locality`)"
        )
    levels = [KnobLevel(LOCALITY, s) for s in wanted]
    edir = group_dir / "entropy"
    variants = sorted(
        p.name[len(ENTROPY_BASE) + 1 : -len(".parquet")]
        for p in edir.glob(f"{ENTROPY_BASE}+*.parquet")
    )
    wanted_v = list(design.variants) if design.variants is not None else variants
    missing = [v for v in wanted_v if v not in variants]
    if missing:
        raise FileNotFoundError(
            f"dependence sweep: no entropy groups for variants {missing} in {edir} "
            "(run `locent realdata prepare --knobs entropy`)"
        )
    if wanted_v and ENTROPY_BASE not in wanted:
        levels.append(KnobLevel(ENTROPY, ENTROPY_BASE, "teacher"))
    levels += [KnobLevel(ENTROPY, ENTROPY_BASE, v) for v in wanted_v if v != "teacher"]
    return levels


def real_sweep_inputs(out, design: SweepDesign, device: str = "cpu"):
    """``(GridInputs, levels)`` from the MS MARCO plan's knob groups under ``out``."""
    group_dir = Path(out) / "realdata" / "groups"
    levels = store_levels(group_dir, design)
    # the base sampler's groups carry the docs every entropy level re-scores: load them too
    samplers = sorted({lv.sampler for lv in levels})
    inputs = load_real_inputs(
        out,
        samplers,
        ("frozen",),
        design.test_sets,
        device=device,
        teacher_sets=design.test_sets,
    )
    groups = {}
    for lv in levels:
        if lv.knob == ENTROPY and lv.teacher_variant != "teacher":
            path = group_dir / "entropy" / f"{lv.sampler}+{lv.teacher_variant}.parquet"
            groups[lv.label] = read_groups(path)
        else:
            groups[lv.label] = inputs.groups[lv.sampler]
    inputs.groups = groups
    inputs.provenance = {**inputs.provenance, "samplers": [lv.label for lv in levels]}
    return inputs, ordered_levels(inputs, levels)


def synthetic_sweep_inputs(
    seed: int = 0,
    depths=(8, 16, 32, 64, 128),
    taus=(0.25, 4.0),
    n_train: int = 60,
    n_docs: int = 400,
    k: int = 8,
    dim: int = 16,
):
    """``(GridInputs, levels)`` of a synthetic knob world (tests and smoke runs).

    Features and test sets are those of :func:`synthetic_inputs`; the training teacher is
    g(q, x) = 6·qᵀx (Lipschitz in x). Locality level ``dense@d``: the positive (teacher's best)
    and k − 1 negatives drawn uniformly from the query's cosine top-d; ``random``: from the whole
    corpus. Entropy level ``dense@<d₀>~tau=τ``: the ``dense@d₀`` groups (d₀ = the middle depth)
    with scores g/τ."""
    base = synthetic_inputs(
        seed=seed, n_train=n_train, n_docs=n_docs, dim=dim, k=k, samplers=("random",)
    )
    feats = base.features["frozen"]
    rng = np.random.default_rng([seed, 13])
    q_ids = base.groups[RANDOM].query_ids
    row = {q: i for i, q in enumerate(feats.query_ids)}
    q = feats.query_vecs[[row[x] for x in q_ids]].astype(np.float64)
    docs = feats.doc_vecs.astype(np.float64)
    teacher = 6.0 * q @ docs.T
    order = np.argsort(-(q @ docs.T), axis=1)
    positive = teacher.argmax(1)
    groups, levels = {}, []
    for d in (*depths, n_docs):
        neg = np.stack(
            [
                rng.choice(np.setdiff1d(order[i, :d], [positive[i]]), k - 1, replace=False)
                for i in range(len(q_ids))
            ]
        )
        items = np.concatenate([positive[:, None], neg], axis=1)
        name = RANDOM if d == n_docs else knob_sampler_name("dense", d)
        groups[name] = _groups(name, q_ids, feats.doc_ids[items], teacher, items, d, n_docs)
        levels.append(KnobLevel(LOCALITY, name))
    mid = knob_sampler_name("dense", depths[len(depths) // 2])
    for tau in taus:
        lv = KnobLevel(ENTROPY, mid, f"tau={tau:g}")
        g = groups[mid]
        groups[lv.label] = Groups(
            sampler=mid, query_ids=g.query_ids, doc_ids=g.doc_ids,
            teacher_scores=g.teacher_scores / tau, inclusion_probs=g.inclusion_probs,
            positive_source=g.positive_source, n_padded=g.n_padded, n_excluded=g.n_excluded,
            provenance={**g.provenance, "teacher_variant": lv.teacher_variant},
        )  # fmt: skip
        levels.append(lv)
    inputs = GridInputs(
        groups, base.features, base.eval_sets, provenance={"inputs": "synthetic", "seed": seed}
    )
    return inputs, ordered_levels(inputs, levels)


def _groups(name, q_ids, doc_ids, teacher, items, depth, n_docs) -> Groups:
    n, k = items.shape
    return Groups(
        sampler=name,
        query_ids=q_ids,
        doc_ids=doc_ids,
        teacher_scores=np.take_along_axis(teacher, items, axis=1),
        inclusion_probs=np.column_stack([np.full(n, np.nan), np.full((n, k - 1), 1.0 / depth)]),
        positive_source=np.full(n, "teacher_top", dtype=object),
        n_padded=np.zeros(n, dtype=np.int64),
        n_excluded=np.zeros(n, dtype=np.int64),
        provenance={"synthetic": True, "depth": int(min(depth, n_docs))},
    )
