"""Teacher entropy (Definition 2.3) and the binary entropy h used by Lemmas A and B."""

from __future__ import annotations

import math

from . import _backend as B
from . import _validate as V
from ._chunks import per_group_tau
from ._pair_kernels import pairwise_entropy_mean
from ._special import binary_entropy_prob, log_softmax, softmax_entropy


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
    return V.finish(h / _log_base(base), kind, "binary_entropy", grouped=False)


def pairwise_entropy(scores, tau=1.0, base=math.e):
    """Pairwise teacher entropy Ĥ_q(g) (Definition 2.3) of each group.

    Ĥ_q = (2 / (k(k−1))) Σ_{i<j} h(σ((t_i − t_j)/τ)) / ln(base)

    computed from the logit with the stable form h(σ(z)) = σ(z)sp(−z) + σ(−z)sp(z). Invariant to
    shifting the scores; defined for any real scores (negative log-probabilities included).
    Finite extreme scores are exact too: margins never overflow (``_validate.score_scale``) and a
    margin/τ beyond the dtype's range contributes h = 0, its exact value.

    Inputs: ``scores`` ``(..., k)`` teacher scores, k ≥ 2; ``tau`` > 0 (number or broadcastable to
    ``(...)``); ``base`` of the logarithm. Output ``(...)``.
    """
    (t,), kind = B.wrap((scores, "scores"), extra=(tau,))
    largest = B.check_grouped(t, "scores")
    lead = tuple(t.shape[:-1])
    tau = per_group_tau(tau, lead, t)
    overflow = V.logits_may_overflow(largest, tau, t.dtype)  # margin/τ may be ±inf: h = 0 there
    c = V.score_scale(largest, t.dtype)
    if c != 1.0:  # exact power-of-two rescale of scores and τ: the same logits, finite margins
        t, tau = t * c, tau * c
    h = pairwise_entropy_mean(t.reshape(-1, t.shape[-1]), tau, saturate=overflow).reshape(lead)
    return V.finish(h / _log_base(base), kind, "pairwise_entropy")


def listwise_entropy(scores, tau=1.0, normalise=False):
    """Listwise entropy of softmax(t/τ) over the group, in nats (÷ ln k when ``normalise``).

    H = −Σ_j π_j ln π_j,  π = softmax(t/τ)  (log-softmax form: stable for any gap; finite extreme
    scores are shifted before dividing by τ, ``_validate.tempered_scores``).

    Inputs: ``scores`` ``(..., k)``, k ≥ 2; ``tau`` > 0 (number or broadcastable to ``(...)``).
    Output ``(...)``, in [0, ln k].
    """
    (t,), kind = B.wrap((scores, "scores"), extra=(tau,))
    largest = B.check_grouped(t, "scores")
    logp = log_softmax(V.tempered_scores(t, B.tau_for(tau, t), largest))
    h = softmax_entropy(logp)
    if normalise:
        h = h / math.log(t.shape[-1])
    return V.finish(h, kind, "listwise_entropy")
