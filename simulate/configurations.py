"""The configuration axis A of a chunk (τ × loss) and the constants of the student class.

Every sample of a chunk is shared by A = |τ grid| × |losses| configurations, trained at once
(``training.train_batched``). The constants are those Theorem 2.1 (iii) and Lemma C need:

- L_g, the teacher's Lipschitz constant (``teachers.make_teacher``); τ = L_g · unit;
- Λ = √(1 + max_q ‖q‖_∞²), the feature map's Lipschitz constant (``students.feature_lipschitz``);
- W = factor · |a| · √D, the norm radius of the student weights;
- L = WΛ, every student's Lipschitz constant in x.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .presets import Preset
from .spaces import Space
from .students import feature_lipschitz
from .teachers import Teacher


class Configurations(NamedTuple):
    """The A axis (τ major, loss minor) and the class constants.

    ``taus``, ``losses``: length A (configuration a trains ``losses[a]`` at ``taus[a]``);
    ``tau_grid``: the preset's τ values in order; ``weight_norm`` W; ``feature_lipschitz`` Λ;
    ``student_lipschitz`` L = WΛ; ``teacher_lipschitz`` L_g; ``dim`` D; ``group_size`` k.
    """

    taus: tuple[float, ...]
    losses: tuple[str, ...]
    tau_grid: tuple[float, ...]
    weight_norm: float
    feature_lipschitz: float
    student_lipschitz: float
    teacher_lipschitz: float
    dim: int
    group_size: int


def configurations(preset: Preset, space: Space, teacher: Teacher) -> Configurations:
    """The configurations and constants of ``preset`` on ``space`` with ``teacher``."""
    D = space.items.shape[1]
    Lg = teacher.lipschitz
    Lam = feature_lipschitz(space.queries)
    W = preset.weight_norm_factor * abs(teacher.a) * math.sqrt(D)
    tau_grid = tuple(Lg * u for u in preset.tau_units)
    combos = [(t, loss) for t in tau_grid for loss in preset.losses]
    return Configurations(
        taus=tuple(c[0] for c in combos),
        losses=tuple(c[1] for c in combos),
        tau_grid=tau_grid,
        weight_norm=W,
        feature_lipschitz=Lam,
        student_lipschitz=W * Lam,
        teacher_lipschitz=Lg,
        dim=int(D),
        group_size=int(preset.group_size),
    )
