"""MarginMSE: the Bregman divergence of the square potential on margins."""

from __future__ import annotations

from .. import _validate as V
from ._common import student_teacher


def margin_mse(student, teacher):
    """MarginMSE per query, paper form (item 0 is the positive):

        L = (1/(k−1)) Σ_{j≥1} ((s_0 − s_j) − (t_0 − t_j))² = mean_j D_{u²}(m_f(0, j), m_g(0, j))

    Reference: Hofstätter et al., "Improving Efficient Neural Ranking Models with
    Cross-Architecture Knowledge Distillation" (2020); THEORY.md Definition 2.2.

    Inputs:

    | argument  | shape      | layout                                      |
    |-----------|------------|---------------------------------------------|
    | student   | (..., k)   | student scores; index 0 = labelled positive |
    | teacher   | (..., k)   | teacher scores, same layout                 |

    Output ``(...)``. numpy → numpy, torch → torch with autograd. k ≥ 2. A loss beyond the
    dtype's range is not representable: ValueError naming the group (never inf or NaN).
    """
    s, t, kind, largest = student_teacher(student, teacher)
    c = V.score_scale(largest, s.dtype)
    if c != 1.0:  # exact power-of-two rescale: margins and their differences stay finite
        s, t = s * c, t * c
    ms = s[..., :1] - s[..., 1:]
    mt = t[..., :1] - t[..., 1:]
    loss = ((ms - mt) ** 2).mean(-1)
    if c != 1.0:
        loss = loss / (c * c)
    return V.finish(loss, kind, "margin_mse", hint="rescale the scores")
