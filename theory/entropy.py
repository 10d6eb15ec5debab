"""Teacher entropy (Definition 2.3) and the binary entropy h used by Lemmas A and B."""

from __future__ import annotations

import math

from . import _backend as B
from ._chunks import per_group_tau
from ._pair_kernels import pairwise_entropy_mean
from ._special import binary_entropy_prob, log_softmax


def _log_base(base) -> float:
    b = B.positive(base, "base")
    if b == 1.0:
        raise ValueError("base must be > 0 and != 1, got 1.0")
    return math.log(b)


def binary_entropy(p, base=math.e):
    """h(p) = −p ln p − (1−p) ln(1−p), divided by ln(base) (nats by default; base=2 gives bits).

    ``p`` is any array of probabilities in [0, 1] (h(0) = h(1) = 0). Element-wise, shape kept.
    """
    (t,), kind = B.wrap((p, "p"))
    B.check_probabilities(t, "p")
    h = binary_entropy_prob(t)
    return B.restore(h / _log_base(base), kind)


def pairwise_entropy(scores, tau=1.0, base=math.e):
    """Pairwise teacher entropy Ĥ_q(g) (Definition 2.3) of each group.

    Ĥ_q = (2 / (k(k−1))) Σ_{i<j} h(σ((t_i − t_j)/τ)) / ln(base)

    computed from the logit with the stable form h(σ(z)) = σ(z)sp(−z) + σ(−z)sp(z). Invariant to
    shifting the scores; defined for any real scores (negative log-probabilities included).

    Inputs: ``scores`` ``(..., k)`` teacher scores, k ≥ 2; ``tau`` > 0 (number or broadcastable to
    ``(...)``); ``base`` of the logarithm. Output ``(...)``.
    """
    (t,), kind = B.wrap((scores, "scores"), extra=(tau,))
    B.check_grouped(t, "scores")
    lead = tuple(t.shape[:-1])
    flat = t.reshape(-1, t.shape[-1])
    h = pairwise_entropy_mean(flat, per_group_tau(tau, lead, t)).reshape(lead)
    return B.restore(h / _log_base(base), kind)


def listwise_entropy(scores, tau=1.0, normalise=False):
    """Listwise entropy of softmax(t/τ) over the group, in nats (÷ ln k when ``normalise``).

    H = −Σ_j π_j ln π_j,  π = softmax(t/τ)  (log-softmax form: stable for any gap).

    Inputs: ``scores`` ``(..., k)``, k ≥ 2; ``tau`` > 0. Output ``(...)``, in [0, ln k].
    """
    (t,), kind = B.wrap((scores, "scores"), extra=(tau,))
    B.check_grouped(t, "scores")
    logp = log_softmax(t / B.tau_for(tau, t))
    h = -(logp.exp() * logp).sum(-1)
    if normalise:
        h = h / math.log(t.shape[-1])
    return B.restore(h, kind)
