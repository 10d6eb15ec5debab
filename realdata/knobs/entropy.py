"""The entropy knob: teachers of different sharpness on the same groups (THEORY.md §3, §5).

H(g) = mean over queries of the pairwise entropy H_q(g) (Definition 2.3, τ = 1 on the scores
below). Every variant re-scores the *same* candidates (doc ids and inclusion probabilities of a
fixed sampler's groups are untouched), so Δ̂_Q and κ stay fixed while H(g) moves.

| variant | scores g'(q, x) |
|---|---|
| ``teacher`` | g(q, x) (splade-tiny, τ = 1) |
| ``tau=τ`` | g(q, x) / τ: the teacher at temperature τ (τ > 1 flatter, higher H) |
| ``noise=σ`` | g(q, x) + σ ε, ε ~ N(0, 1) i.i.d. per item (seeded): a noisier teacher |
| ``mix-cosine=λ`` | (1 − λ) g + λ cos(e(q), e(x)): mixed with the MiniLM cosine (weak, flat) |
| ``mix-bm25=λ`` | (1 − λ) g + λ BM25(q, x): mixed with BM25 (raw scores, sharper) |

The mixtures use raw scores, so a mixture's sharpness is set by the spread of the weaker
scorer's scores *within a group*: the cosine lies in [−1, 1] and differs little between the
items of a group, so mixing it in flattens the teacher (higher H); BM25 differs more, but on the
candidates of a dense sampler it too flattened splade-tiny on Cranfield (H 0.21 → 0.28 nats at
λ = 0.5). Score noise makes the teacher noisier *and* more confident: H falls as σ grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: variant families and the meaning of their parameter
VARIANT_FAMILIES = {
    "teacher": "the teacher itself (no parameter)",
    "tau": "temperature τ > 0",
    "noise": "noise standard deviation σ >= 0 (teacher score units)",
    "mix-cosine": "weight λ in [0, 1] of the MiniLM cosine",
    "mix-bm25": "weight λ in [0, 1] of the BM25 score",
}
#: the knob_name of each family in the knob table
KNOB_NAMES = {
    "teacher": "teacher_tau",
    "tau": "teacher_tau",
    "noise": "score_noise",
    "mix-cosine": "mix_cosine",
    "mix-bm25": "mix_bm25",
}


@dataclass(frozen=True)
class TeacherVariant:
    """One parsed teacher variant: ``family`` and ``value`` (τ, σ or λ; 1.0 for ``teacher``)."""

    family: str
    value: float

    @property
    def name(self) -> str:
        return "teacher" if self.family == "teacher" else f"{self.family}={self.value:g}"

    @property
    def tau(self) -> float:
        """The temperature the teacher's scores are divided by (1 except for ``tau=``)."""
        return self.value if self.family == "tau" else 1.0

    @property
    def knob_name(self) -> str:
        return KNOB_NAMES[self.family]


def parse_variant(name: str) -> TeacherVariant:
    """``TeacherVariant`` of ``teacher``, ``tau=0.5``, ``noise=2``, ``mix-cosine=0.5`` ...;
    ``ValueError`` naming the variant for an unknown family or an out-of-range value."""
    if name == "teacher":
        return TeacherVariant("teacher", 1.0)
    family, sep, raw = str(name).partition("=")
    if not sep or family not in VARIANT_FAMILIES or family == "teacher":
        raise ValueError(
            f"teacher variant {name!r}: expected 'teacher' or family=value with family in "
            f"{tuple(f for f in VARIANT_FAMILIES if f != 'teacher')}"
        )
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"teacher variant {name!r}: value {raw!r} is not a number") from None
    ok = {
        "tau": value > 0,
        "noise": value >= 0,
        "mix-cosine": 0 <= value <= 1,
        "mix-bm25": 0 <= value <= 1,
    }[family]
    if not (ok and np.isfinite(value)):
        raise ValueError(f"teacher variant {name!r}: {VARIANT_FAMILIES[family]}; got {raw!r}")
    return TeacherVariant(family, value)


def variant_scores(
    variant: str | TeacherVariant,
    teacher: np.ndarray,
    cosine: np.ndarray | None = None,
    bm25: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """``(n, k)`` scores of ``variant`` from the teacher's ``teacher (n, k)`` on the same items.

    ``cosine`` / ``bm25`` ``(n, k)``: the weaker scorers' scores of the same items (needed only
    by the ``mix-`` variants)."""
    v = variant if isinstance(variant, TeacherVariant) else parse_variant(variant)
    g = np.asarray(teacher, dtype=np.float64)
    if v.family == "teacher":
        return g.copy()
    if v.family == "tau":
        return g / v.value
    if v.family == "noise":
        rng = np.random.default_rng([seed, 2000, int(round(v.value * 1000))])
        return g + v.value * rng.standard_normal(g.shape)
    other = cosine if v.family == "mix-cosine" else bm25
    if other is None:
        raise ValueError(f"teacher variant {v.name!r} needs the {v.family[4:]} scores of the items")
    other = np.asarray(other, dtype=np.float64)
    if other.shape != g.shape:
        raise ValueError(f"teacher variant {v.name!r}: scores {other.shape} != teacher {g.shape}")
    return (1.0 - v.value) * g + v.value * other
