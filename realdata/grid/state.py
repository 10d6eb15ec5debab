"""The grid's working state, built once per grid: sampler splits, resolved test sets, rates.

:class:`GridState` replaces an untyped cache: per needed sampler a :class:`SamplerSplit` (the
training groups, the held-out tenth chosen by :func:`heldout_mask`, and the entropy-subset masks
when a cut uses the sampler), per (student family, test set) the test candidates resolved against
that family's features, the entropy thresholds, and the learning rate per (student, arch, loss).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
from locent.realdata.entropy_cuts import entropy_subsets, query_entropies
from locent.realdata.features import GroupData
from locent.realdata.grid.inputs import EvalSet, GridInputs
from locent.realdata.grid.presets import Condition, Preset


def heldout_mask(query_ids, frac: float) -> np.ndarray:
    """Deterministic held-out split by a CRC32 hash of the query id (same for every seed)."""
    h = np.array([zlib.crc32(str(q).encode()) for q in query_ids], dtype=np.int64)
    return (h % 1000) < int(round(frac * 1000))


def with_features(data: GroupData, features) -> GroupData:
    """``data`` resolved against ``features`` (itself when it already uses them)."""
    if data.features is features:
        return data
    return GroupData(data.query_ids, data.doc_ids, data.teacher_scores, features, data.valid)


def eval_data(es: EvalSet, features) -> GroupData:
    """The candidates of ``es`` as groups ``(n_queries, depth)`` with their ``valid`` mask; the
    teacher scores are zeros when the set is unscored (never used for agreement then)."""
    cand = es.candidates
    teacher = es.teacher if es.teacher is not None else np.zeros(cand.doc_ids.shape)
    return GroupData(cand.query_ids, cand.fill_padding(), teacher, features, cand.valid)


@dataclass
class SamplerSplit:
    """One sampler's training groups, its held-out groups (same ν) and the entropy-subset masks
    over the training groups (``None`` when no cut uses this sampler)."""

    train: GroupData
    heldout: GroupData
    masks: dict[str, np.ndarray] | None = None


@dataclass
class GridState:
    splits: dict[str, SamplerSplit]
    #: (student family, test-set name) → the test candidates resolved against its features
    eval_data: dict[tuple[str, str], GroupData]
    #: per cut sampler: the entropy thresholds, τ, the training count and the kept counts
    thresholds: dict[str, dict]
    #: (student, arch, loss, sampler) → learning rate (:func:`.lr_selection.learning_rates`)
    learning_rates: dict[tuple[str, str, str, str], float] = field(default_factory=dict)

    @classmethod
    def build(cls, inputs: GridInputs, preset: Preset, conds: list[Condition]) -> GridState:
        """Split every needed sampler's groups, compute the entropy masks the cuts need, resolve
        every test set for every student family. Raises ValueError naming missing samplers."""
        missing = sorted(set(preset.needed_samplers()) - set(inputs.groups))
        if missing:
            raise ValueError(
                f"preset {preset.name!r} needs groups of samplers {missing}; found "
                f"{sorted(inputs.groups)} (run `locent realdata prepare`, or pass --samplers)"
            )
        splits, thresholds = {}, {}
        for sampler in preset.needed_samplers():
            groups = inputs.groups[sampler]
            held = heldout_mask(groups.query_ids, preset.heldout_frac)
            # resolved against the first family's features; a cell re-resolves for another family
            feats = inputs.features[conds[0].student]
            train_g, held_g = groups.subset(~held), groups.subset(held)
            split = SamplerSplit(
                GroupData.from_groups(train_g, feats), GroupData.from_groups(held_g, feats)
            )
            if any(c.sampler == sampler and c.subset != "full" for c in conds):
                masks, th = entropy_subsets(query_entropies(train_g.teacher_scores, preset.tau))
                split.masks = masks
                thresholds[sampler] = {
                    **th,
                    "tau": preset.tau,
                    "n_train": int(train_g.n),
                    "kept": {name: int(m.sum()) for name, m in masks.items()},
                }
            splits[sampler] = split
        resolved = {
            (student, es.name): eval_data(es, inputs.features[student])
            for student in sorted({c.student for c in conds})
            for es in inputs.eval_sets
        }
        return cls(splits, resolved, thresholds)
