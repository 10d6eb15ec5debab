"""Localised contrastive estimation (LCE): listwise cross-entropy with a one-hot target."""

from __future__ import annotations

from .. import _backend as B
from .. import _validate as V
from .._special import log_softmax


def lce(student):
    """LCE per query (the positive at index 0):

        L = −ln softmax(s)_0 = ln Σ_j e^{s_j} − s_0

    the listwise KL with a one-hot (zero-entropy) target, i.e. the contrastive limit of
    D_logsumexp. Reference: Gao, Dai, Callan, "Rethink Training of BERT Rerankers in Multi-Stage
    Retrieval Pipeline" (2021).

    Inputs:

    | argument | shape    | layout                                            |
    |----------|----------|---------------------------------------------------|
    | student  | (..., k) | student scores; index 0 positive, 1..k−1 negatives |

    Output ``(...)``. numpy → numpy, torch → torch with autograd. k ≥ 2.
    """
    (s,), kind = B.wrap((student, "student"))
    B.check_grouped(s, "student")
    return V.finish(-log_softmax(s)[..., 0], kind, "lce", hint="rescale the scores")
