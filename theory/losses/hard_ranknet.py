"""Hard RankNet: soft RankNet with a zero-entropy teacher (p ∈ {0, 1})."""

from __future__ import annotations

from .. import _backend as B
from .. import _validate as V
from .._pair_kernels import hard_ranknet_sums
from ._common import student_teacher


def hard_ranknet(student, teacher):
    """Hard RankNet per query: mean over the pairs with t_i ≠ t_j of

        −ln σ(sign(t_i − t_j) · (s_i − s_j))

    i.e. soft RankNet with p = 1[t_i > t_j]; pairs tied in the teacher carry no label and are
    skipped. A group whose teacher ties every pair has no term: ValueError naming the group.
    Reference: Burges et al., "Learning to Rank using Gradient Descent" (2005).

    Inputs:

    | argument | shape    | layout                                             |
    |----------|----------|----------------------------------------------------|
    | student  | (..., k) | student scores                                     |
    | teacher  | (..., k) | teacher scores or graded labels (only order used)  |

    Output ``(...)``. numpy → numpy, torch → torch with autograd. k ≥ 2. A student margin beyond
    the dtype's range makes the loss not representable: ValueError naming the group.
    """
    s, t, kind, _ = student_teacher(student, teacher)
    lead, k = tuple(s.shape[:-1]), s.shape[-1]
    total, comparable = hard_ranknet_sums(s.reshape(-1, k), t.reshape(-1, k))
    total, comparable = total.reshape(lead), comparable.reshape(lead)
    if bool((comparable == 0).any()):
        idx = B.first_index(comparable == 0)
        raise ValueError(
            f"teacher: every pair is tied in {B.format_group(idx)}; hard RankNet has no term there"
        )
    return V.finish(total / comparable.to(total.dtype), kind, "hard_ranknet")
