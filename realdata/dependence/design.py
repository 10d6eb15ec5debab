"""The dependence sweep's design: which knob levels, which student, which budget.

A :class:`KnobLevel` is one training distribution: a sampler's groups scored by one teacher
variant. Its ``label`` is the ``sampler`` value written in the condition columns of every table
(``dense@64``, ``ball@1.1``, ``random``; an entropy level ``bm25@64~tau=0.5``: the base sampler's
groups re-scored by the variant). A :class:`SweepDesign` crosses the levels with seeds and an n
axis and fixes one student, one loss and the grid's budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from locent.realdata.grid.presets import LR_CANDIDATES, Condition, Preset

from locent import results

#: separator of an entropy level's label: ``<base sampler>~<teacher variant>``
VARIANT_SEP = "~"
#: the knob of a level (``locality`` moves Δ̂_Q at the fixed teacher; ``entropy`` moves H(g) on the
#: fixed base sampler's groups)
LOCALITY, ENTROPY = "locality", "entropy"


@dataclass(frozen=True)
class KnobLevel:
    """One level of a knob: the groups of ``sampler`` scored by ``teacher_variant``."""

    knob: str
    sampler: str
    teacher_variant: str = "teacher"

    @property
    def label(self) -> str:
        """The condition's ``sampler`` value (the variant appended for entropy levels)."""
        if self.knob == ENTROPY and self.teacher_variant != "teacher":
            return f"{self.sampler}{VARIANT_SEP}{self.teacher_variant}"
        return self.sampler


def n_subset(n: int) -> str:
    """The condition ``subset`` of the n axis: the first ``n`` training queries."""
    return f"n={int(n)}"


def parse_n_subset(subset: str) -> int | None:
    """``n`` of an ``n=<n>`` subset; ``None`` for ``full``."""
    if subset == results.FULL_SUBSET:
        return None
    name, sep, value = subset.partition("=")
    if name != "n" or not sep or not value.isdigit():
        raise ValueError(f"dependence subset {subset!r}: expected 'full' or 'n=<int>'")
    return int(value)


@dataclass(frozen=True)
class SweepDesign:
    """The sweep: every level × seed at the full training set, and the n axis (fractions of the
    training queries) at the ``n_axis_levels`` (default: the first, middle and last locality
    level present, i.e. the most local, a middle and the least local)."""

    name: str
    student: tuple[str, str] = ("frozen", "cross")
    #: MarginMSE: Theorem 2.1 (iii) states ρ for it, and its risk is the trained loss itself
    loss: str = "margin_mse"
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 150
    batch_size: int = 16
    #: the held-out share of each level's groups (same ν): the gap's second half, so larger than
    #: the grid's tenth (10 queries would make the gap mostly noise)
    heldout_frac: float = 0.3
    #: fractions of the training queries on the n axis (1.0 is the full set, always trained)
    n_fractions: tuple[float, ...] = (0.25, 0.5)
    n_axis_levels: int = 3
    #: locality levels used (None: every knob level on disk, plus ``random``)
    locality: tuple[str, ...] | None = None
    #: teacher variants of the entropy knob (None: every variant on disk)
    variants: tuple[str, ...] | None = None
    learned_threshold: float = 0.2
    #: the test sets every cell is evaluated on (in-domain: the teacher scores them)
    test_sets: tuple[str, ...] = ("dl19", "dl20")
    #: learning-rate candidates of the grid's rule (:mod:`~locent.realdata.grid.lr_selection`)
    lr_candidates: tuple[float, ...] = LR_CANDIDATES
    #: ``True``: the rule chooses a rate per level on that level's own held-out *training*
    #: queries (each training distribution ν, and each teacher variant's loss scale, gets the rate
    #: that fits it: a τ = 0.25 teacher multiplies MarginMSE by 16); ``False``: one rate, chosen
    #: on the entropy knob's base level, for every level
    lr_per_level: bool = False

    def grid_preset(self, lr: float | str, samplers) -> Preset:
        """The grid preset that trains this sweep's cells (one student, one loss)."""
        return Preset(
            f"dependence-{self.name}",
            students=(self.student,),
            samplers=tuple(samplers),
            losses=(self.loss,),
            seeds=self.seeds,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=lr,
            lr_candidates=self.lr_candidates,
            heldout_frac=self.heldout_frac,
            learned_threshold=self.learned_threshold,
        )

    def conditions(self, levels, n_train: dict[str, int]) -> list[Condition]:
        """Every level at ``full``, and the n axis at the chosen locality levels (n = round of
        each fraction × that level's training count, at least 4 queries)."""
        student, arch = self.student
        out = [Condition(student, arch, self.loss, lv.label) for lv in levels]
        for lv in self.n_axis(levels):
            for frac in self.n_fractions:
                n = max(4, int(round(frac * n_train[lv.label])))
                if n < n_train[lv.label]:
                    out.append(Condition(student, arch, self.loss, lv.label, n_subset(n)))
        return out

    def n_axis(self, levels) -> list[KnobLevel]:
        """The locality levels that also train on the n axis (evenly spaced in the level list)."""
        local = [lv for lv in levels if lv.knob == LOCALITY]
        if not local or self.n_axis_levels <= 0:
            return []
        m = min(self.n_axis_levels, len(local))
        picks = sorted({round(i * (len(local) - 1) / max(1, m - 1)) for i in range(m)})
        return [local[i] for i in picks]


#: The default's levels: four depths of each depth family, three radii and ``random`` (12 locality
#: levels spanning the range), six teacher variants (H(g) 0.10–0.58 nats on MS MARCO).
DEFAULT_LOCALITY = (
    *(f"dense@{d}" for d in (16, 64, 256, 1024)),
    *(f"bm25@{d}" for d in (16, 64, 256, 1024)),
    "ball@0.9",
    "ball@1.1",
    "ball@1.3",
    "random",
)
DEFAULT_VARIANTS = ("tau=0.25", "tau=0.5", "tau=2", "tau=4", "noise=1", "mix-cosine=0.5")

#: Learning-rate candidates of the default and paper designs, one rate chosen per level: measured
#: on the MS MARCO store (400 training queries, 280 after the held-out 30%; validation
#: misordering on held-out training queries), 1e-3 was never the best of (1e-3, 3e-3, 1e-2, 3e-2)
#: on any of the 18 levels, and one rate for all (3e-3, chosen on bm25@64) left the τ = 0.25
#: teacher at 0.333 where its own rate reached 0.299 (MarginMSE × 16 on that teacher's scale).
SWEEP_LR_CANDIDATES = (3e-3, 1e-2, 3e-2)

#: smoke: seconds (tests). default: the cold ``locent run`` on a 2-core CPU: 24 conditions × 2
#: seeds at 400 steps × 32 groups. Measured on the MS MARCO store (100 training queries, 70 after
#: the held-out 30%): at the grid's 150 × 16 budget 8 of 105 cells learned (held-out misordering
#: 0.49 → 0.45); at 400 × 32 MarginMSE moved further than soft RankNet (learned fraction 0.09–0.29
#: against 0.10–0.18 on dense@16, bm25@64, random). With 400 training queries (the default since
#: then) 32 of 48 cells learned against 21 with 100. paper: every level on disk, five seeds (GPU).
DESIGNS = {
    "smoke": SweepDesign(
        "smoke", seeds=(0,), steps=20, batch_size=8, n_fractions=(0.5,), n_axis_levels=2
    ),
    "default": SweepDesign(
        "default",
        seeds=(0, 1),
        steps=400,
        batch_size=32,
        locality=DEFAULT_LOCALITY,
        variants=DEFAULT_VARIANTS,
        lr_candidates=SWEEP_LR_CANDIDATES,
        lr_per_level=True,
    ),
    "paper": SweepDesign(
        "paper",
        seeds=(0, 1, 2, 3, 4),
        steps=600,
        batch_size=32,
        lr_candidates=SWEEP_LR_CANDIDATES,
        lr_per_level=True,
    ),
}
