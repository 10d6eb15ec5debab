"""The grid's design: conditions (student × arch × loss × sampler × entropy subset) and presets.

A :class:`Condition` is the record that identifies a trained model; with a seed it is written as
the columns ``results.CONDITION_COLUMNS`` (student, arch, loss, sampler, subset, seed) in every
grid table, and :attr:`Condition.name` (``<student>-<arch>+<loss>+<sampler>+<subset>``) is only a
display label and file-name key, never parsed back.

A :class:`Preset` fixes the design and the budget: every condition runs ``steps`` optimiser steps
of ``batch_size`` groups, with one learning rate per student × architecture × loss (a number, or
``"auto"``: chosen by :mod:`locent.realdata.grid.lr_selection`).
"""

from __future__ import annotations

from dataclasses import dataclass

from locent.realdata.entropy_cuts import SUBSETS
from locent.realdata.trainer import TrainConfig

from locent import results

#: Declared candidate learning rates of ``lr="auto"`` (AdamW, linear warmup then decay).
#: 3e-5 brackets the search from below: on 96 MS MARCO queries the optimum sat at 1e-4, the
#: smallest of the first list (3 of 4 losses). 1e-2 and 3e-2 bracket it from above: with 400
#: training queries the cross MLP chose 3e-3, the largest of the former list, in all 16 of its
#: selections; with these two added it chose 1e-2 or 3e-2 in 14 of 16, and its DL19 nDCG@10 (default
#: grid, full sets, seed means) rose from 0.43 / 0.46 / 0.36 / 0.53 to 0.50 / 0.54 / 0.55 / 0.55
#: (LCE / listwise KL / MarginMSE / soft RankNet), for ~16% more grid time (32 × 2 more short
#: trainings).
LR_CANDIDATES = (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


@dataclass(frozen=True)
class Condition:
    """One trained configuration (without its seed)."""

    student: str
    arch: str
    loss: str
    sampler: str
    subset: str = "full"

    @property
    def name(self) -> str:
        """Display label and file-name key (never parsed: the record is in the columns)."""
        return f"{self.student}-{self.arch}+{self.loss}+{self.sampler}+{self.subset}"

    def record(self, seed: int) -> dict:
        """The condition record ``{column: value}`` of ``results.CONDITION_COLUMNS``."""
        return {
            results.STUDENT: self.student,
            results.ARCH: self.arch,
            results.LOSS: self.loss,
            results.SAMPLER: self.sampler,
            results.SUBSET: self.subset,
            results.SEED: int(seed),
        }


@dataclass
class Preset:
    name: str
    students: tuple = (("frozen", "bi"),)
    samplers: tuple = ("random", "bm25", "teacher", "ensemble")
    losses: tuple = ("lce", "soft_ranknet", "margin_mse", "listwise_kl")
    seeds: tuple = (0, 1, 2)
    steps: int = 300
    batch_size: int = 32
    #: a number, or "auto": chosen per student × loss × sampler on that sampler's held-out
    #: training queries (never test qrels)
    lr: float | str = 2e-3
    tau: float = 1.0
    #: entropy cuts: (loss, sampler) pairs trained on every subset, for each student.
    cuts: tuple = ()
    #: which entropy subsets the cuts train (default: all of ``entropy_cuts.SUBSETS``)
    cut_subsets: tuple | None = None
    #: architectures whose students train the cuts (default None: every student); by arch so
    #: that ``--student transformer`` (which swaps the family, keeps the archs) still applies
    cut_archs: tuple | None = None
    heldout_frac: float = 0.1
    eval_batch: int = 64
    #: ``lr="auto"``: candidates and validation fraction / seed (:mod:`.lr_selection`); the
    #: selection runs on each sampler's own groups, at the preset's first seed.
    lr_candidates: tuple = LR_CANDIDATES
    validation_frac: float = 0.2
    validation_seed: int = 0
    #: a cell "learned" when its held-out misordering fell by at least this fraction of its
    #: untrained value (1 − after/init ≥ ``learned_threshold``); cells that did not are flagged
    #: and left out of the checks' inputs (a student that did not move shows no sampler effect).
    learned_threshold: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.learned_threshold < 1:
            raise ValueError(
                f"preset {self.name!r}: learned_threshold must be in (0, 1); "
                f"got {self.learned_threshold!r}"
            )
        if self.lr != "auto" and not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(
                f"preset {self.name!r}: lr must be a number > 0 or 'auto'; got {self.lr!r}"
            )

    def needed_samplers(self) -> list[str]:
        """Samplers whose groups the grid reads: those of the conditions (the learning-rate
        selection of ``lr="auto"`` runs on each of them)."""
        return sorted({c.sampler for c in self.conditions()})

    def conditions(self) -> list[Condition]:
        out = [
            Condition(s, a, loss, sampler)
            for s, a in self.students
            for loss in self.losses
            for sampler in self.samplers
        ]
        subsets = SUBSETS if self.cut_subsets is None else self.cut_subsets
        unknown = sorted(set(subsets) - set(SUBSETS))
        if unknown:
            raise ValueError(f"unknown entropy subsets {unknown}; known: {SUBSETS}")
        archs = {a for _, a in self.students} if self.cut_archs is None else set(self.cut_archs)
        unknown = sorted(archs - {a for _, a in self.students})
        if unknown:
            raise ValueError(f"cut_archs {unknown}: no student of preset {self.name!r} has them")
        for s, a in (sa for sa in self.students if sa[1] in archs):
            for loss, sampler in self.cuts:
                out += [Condition(s, a, loss, sampler, sub) for sub in subsets if sub != "full"]
                if Condition(s, a, loss, sampler) not in out:
                    out.append(Condition(s, a, loss, sampler))
        return out

    def train_config(self, loss: str, seed: int, lr: float) -> TrainConfig:
        """The trainer's configuration of one cell: this budget, ``loss``, ``seed``, ``lr``."""
        return TrainConfig(
            loss=loss,
            tau=self.tau,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=lr,
            seed=seed,
            checkpoint_every=max(1, self.steps // 4),
        )


#: smoke: seconds, for tests (synthetic world). default: the cross MLP trained from scratch on
#: frozen features (a student that learns) and the frozen bilinear head as a control (it ended
#: within ±0.01 nDCG@10 of its untrained start in every cell of the former default), 4 samplers x
#: 4 losses x 3 seeds each + the entropy cuts of (soft_ranknet, bm25) on the cross student only:
#: 114 cells, 150 steps x 16 groups. The former bilinear-only default (66 cells) took 183-207 s
#: wall on this 2-core CPU (100 training queries, test sets dl19 dl20 cranfield vaswani, lr
#: selection included); a cross cell costs about a bilinear cell (1.9 vs 2.0 s each, measured on
#: the synthetic world at D = 384, k = 8), so the new default is about 1.75x that (114 cells +
#: 40 lr-selection trainings against 66 + 20). A fine-tuned BERT-tiny student costs 1.6-2.1 s per
#: step of 16 groups x 8 passages on one CPU thread (300 s a cell): GPU only.
#: paper: frozen bilinear + cross MLP students (2 architectures) x 4 x 4 x 3 seeds + cuts of
#: (soft_ranknet, bm25) and (listwise_kl, teacher): 168 cells, 300 steps x 32; measured 963 s
#: wall on the same store.
#: Pass ``--student transformer`` on a GPU for the paper's fine-tuned students.
#: Learning rate: default and paper choose it (``"auto"``, per student × loss × sampler, on that
#: sampler's held-out training queries). Measured before the per-sampler rule, on the 96-query
#: store, default preset, all 48 full-set cells: mean held-out misordering 0.325 with "auto"
#: (1e-4, 3e-4 for soft RankNet) against 0.343 with the former fixed 2e-3 (better in 34 of 48
#: cells). smoke keeps a fixed 2e-3 for speed.
PRESETS = {
    "smoke": Preset(
        "smoke",
        samplers=("random", "bm25"),
        losses=("lce", "soft_ranknet"),
        seeds=(0, 1),
        steps=12,
        batch_size=8,
        cuts=(("soft_ranknet", "bm25"),),
        cut_subsets=("keep_below_median", "keep_tukey_inliers"),
    ),
    "default": Preset(
        "default",
        students=(("frozen", "cross"), ("frozen", "bi")),
        steps=150,
        batch_size=16,
        lr="auto",
        cuts=(("soft_ranknet", "bm25"),),
        cut_archs=("cross",),
    ),
    "paper": Preset(
        "paper",
        students=(("frozen", "bi"), ("frozen", "cross")),
        lr="auto",
        cuts=(("soft_ranknet", "bm25"), ("listwise_kl", "teacher")),
    ),
    # labelled: the labelled plans (realdata/labelled.py: DL19 -> DL20, Vaswani and Cranfield
    # query splits), where LCE's positive is a judged passage. Only the student that learns (the
    # cross MLP from scratch; the frozen bilinear head barely moves), LCE beside two
    # distillation losses, no entropy cuts; lr "auto" over three candidates on each sampler's
    # held-out training queries. 36 cells + 36 lr trainings per plan; grid seconds per plan,
    # measured on the loaded 2-core CPU (teacher scoring of the test candidates included):
    # cranfield-split 207 (91 training groups), vaswani-split 70 (42), msmarco-cross-year 106
    # (40). Whole stage cold: see locent.realdata.labelled.
    "labelled": Preset(
        "labelled",
        students=(("frozen", "cross"),),
        samplers=("random", "bm25", "dense", "ensemble"),
        losses=("lce", "margin_mse", "soft_ranknet"),
        steps=100,
        batch_size=16,
        lr="auto",
        lr_candidates=(3e-4, 1e-3, 3e-3),
    ),
}
