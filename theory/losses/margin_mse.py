"""MarginMSE: the Bregman divergence of the square potential on margins."""

from __future__ import annotations

from .. import _backend as B
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

    Output ``(...)``. numpy → numpy, torch → torch with autograd. k ≥ 2.
    """
    s, t, kind = student_teacher(student, teacher)
    ms = s[..., :1] - s[..., 1:]
    mt = t[..., :1] - t[..., 1:]
    return B.restore(((ms - mt) ** 2).mean(-1), kind)
