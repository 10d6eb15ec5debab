"""Listwise KL: the Bregman divergence of log-sum-exp on the group's scaled scores."""

from __future__ import annotations

from .. import _backend as B
from .. import _validate as V
from .._special import log_softmax, softmax_kl
from ._common import student_teacher


def listwise_kl(student, teacher, tau=1.0):
    """Listwise KL per query:

        L = KL(softmax(t/τ) ‖ softmax(s/τ)) = D_A(s/τ, t/τ),  A(z) = ln Σ_j e^{z_j}

    in log-softmax form (stable at any gap; shift-invariant in s and in t; finite extreme scores
    are shifted before dividing by τ, ``_validate.tempered_scores``). Reference: Cao et al.,
    "Learning to Rank: From Pairwise Approach to Listwise Approach" (ListNet, 2007);
    THEORY.md Definition 2.2.

    Inputs:

    | argument | shape    | layout                                 |
    |----------|----------|----------------------------------------|
    | student  | (..., k) | student scores of the group            |
    | teacher  | (..., k) | teacher scores, same order             |
    | tau      | scalar or (...) | temperature τ > 0               |

    Output ``(...)``. numpy → numpy, torch → torch with autograd. k ≥ 2.
    """
    s, t, kind, largest = student_teacher(student, teacher, tau)
    tv = B.tau_for(tau, s)
    lt = log_softmax(V.tempered_scores(t, tv, largest))
    ls = log_softmax(V.tempered_scores(s, tv, largest))
    return V.finish(softmax_kl(lt, ls), kind, "listwise_kl")
