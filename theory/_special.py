"""Numerically stable scalar functions on torch tensors (internal; no validation).

All forms avoid cancellation for large |z| so that margin gaps of 0.5, 20 and 1000 are exact to
float rounding (torch's own ``softplus`` switches to the identity above 20 and would lose the
e^{-20} ≈ 2e-9 term).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# |logit| at which σ has saturated in every working dtype: e^{−1e4} is 0 in float32 and float64,
# and so is e^{−1e4}·x for any finite x of either dtype. Clamping |z| there changes no finite
# result and turns an overflowed logit (±inf, from a margin/τ beyond the dtype's range) into a
# saturated one instead of a NaN (inf·0).
_SATURATED = 1e4


def softplus(z: torch.Tensor) -> torch.Tensor:
    """sp(z) = ln(1 + e^z) = −ln σ(−z), stable for every real z, exact gradient σ(z) everywhere."""
    return -F.logsigmoid(-z)


def binary_entropy_logit(z: torch.Tensor) -> torch.Tensor:
    """h(σ(z)) in nats, as the sum of two non-negative terms.

    With a = |z| (h is even in z) and e = e^{−a}:
    h(σ(z)) = sp(−a) + a·σ(−a) = log1p(e) + a·e/(1 + e).

    No cancellation: for large a both terms are ≈ e^{−a}, a·e^{−a}, which is the exact asymptote;
    one exp, one log1p, one division per element. |z| ≥ 1e4 (±inf included) gives exactly 0.
    """
    a = z.abs().clamp_(max=_SATURATED)  # in place: one pass less (abs saves its input)
    e = torch.exp(-a)
    return torch.log1p(e) + a * e / (1 + e)


# Below this |b − a| the Taylor series of D_sp is used: the closed form then cancels (its
# absolute error ~1e-16 is large relative to a divergence ~|b − a|²/8).
_SERIES_BELOW = 0.02


def kl_bernoulli_logits(
    a: torch.Tensor, b: torch.Tensor, *, saturate: bool = False
) -> torch.Tensor:
    """KL(Ber(σ(a)) ‖ Ber(σ(b))) = D_sp(b, a) = sp(b) − sp(a) − σ(a)(b − a), stable form.

    KL is invariant under (a, b) → (−a, −b), so with a ≥ 0 (after flipping) and
    sp(x) − sp(−x) = x it equals sp(−b) − sp(−a) + σ(−a)(b − a): nothing of size |a| cancels
    (gap 1000 gives ≈1000 exactly, gap 20 keeps its e^{−20} terms).

    For |δ| = |b − a| < 0.02 the Taylor series in δ is used instead (sp^{(n)} = σ^{(n−1)}):
    D = v δ²/2 + v(1−2s) δ³/6 + v(1−6v) δ⁴/24 + v(1−2s)(1−12v) δ⁵/120 + v(1−30v+120v²) δ⁶/720
    with s = σ(a), v = s(1 − s); the remainder is ≲ v δ⁷/5040, a relative error below 1e-12.

    An infinite teacher logit ``a`` (an overflowed margin/τ) is the saturated limit p ∈ {0, 1}:
    KL = sp(∓b). With ``saturate`` (callers whose logits may have overflowed), a student logit
    that overflowed in the direction of a saturated teacher logit (|a| ≥ 1e4) gives KL = 0, its
    value to float precision (e^{−|a|}·|b| underflows for any finite |b|). Any other infinite
    student logit leaves KL undetermined (inf or NaN); callers raise on it (``_validate.finish``).
    """
    # KL is unchanged by (a, b) → (−a, −b); flip so that a ≥ 0, then (using sp(x) − sp(−x) = x)
    # KL = sp(−b) − sp(−a) + σ(−a)(b − a): with a ≥ 0 every term is O(1) or a clean difference.
    a, b = torch.broadcast_tensors(a, b)
    if a.ndim == 0:  # boolean indexing below needs at least one axis
        return kl_bernoulli_logits(a.reshape(1), b.reshape(1), saturate=saturate).reshape(())
    af = a.abs().clamp_(max=_SATURATED)  # no finite value changes (see _SATURATED)
    bf = torch.where(a < 0, -b, b)
    if saturate:  # b = +inf beside a saturated a: KL(a, a) = 0 exactly, with a zero gradient
        bf = torch.where(torch.isposinf(bf) & (af >= _SATURATED), af, bf)
    e = torch.exp(-af)  # sp(−|a|) = log1p(e), σ(−|a|) = e/(1 + e): one exp for both
    closed = softplus(-bf) - torch.log1p(e) + e / (1 + e) * (bf - af)
    delta = b - a
    small = delta.abs() < _SERIES_BELOW
    if not bool(small.any()):
        return closed
    # series only where needed (usually a small fraction of the pairs); autograd flows through
    # index_put as through any indexing
    where = small.nonzero(as_tuple=True)
    a_s = a[where]
    d = delta[where]
    s_pos, s_neg = torch.sigmoid(a_s), torch.sigmoid(-a_s)
    v = s_pos * s_neg
    w = s_neg - s_pos  # 1 − 2s, accurate for |a| large
    series = (
        v
        * d**2
        * (
            0.5
            + d
            * (
                w / 6
                + d
                * (
                    (1 - 6 * v) / 24
                    + d * (w * (1 - 12 * v) / 120 + d * (1 - 30 * v + 120 * v**2) / 720)
                )
            )
        )
    )
    return closed.index_put(where, series)


def binary_entropy_prob(p: torch.Tensor) -> torch.Tensor:
    """h(p) = −p ln p − (1−p) ln(1−p) with ln(1−p) as log1p(−p) (accurate for p near 0)."""
    return -(torch.special.xlogy(p, p) + torch.special.xlog1py(1 - p, -p))


def softmax_entropy(logp: torch.Tensor) -> torch.Tensor:
    """−Σ_j π_j ln π_j over the last axis from log-probabilities, with 0·ln 0 = 0 (ln π = −inf:
    a probability that is exactly 0 in the dtype, see ``_validate.tempered_scores``)."""
    zero = torch.isneginf(logp)
    nil = torch.zeros((), dtype=logp.dtype, device=logp.device)
    safe = torch.where(zero, nil, logp)
    # 0 − Σ rather than −Σ: the same value, but +0.0 (not −0.0) for a one-hot distribution
    return 0.0 - torch.where(zero, nil, safe.exp() * safe).sum(-1)


def softmax_kl(lt: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
    """KL(π_t ‖ π_s) = Σ_j π_t,j (ln π_t,j − ln π_s,j) over the last axis from log-probabilities.

    Terms with π_t,j = 0 (ln π_t,j = −inf) are 0 (and get a zero, not NaN, gradient); a term with
    π_t,j > 0 and ln π_s,j = −inf is +inf (NaN if π_t,j underflows too): not representable, and
    the callers raise on it. Finite inputs give exactly Σ e^{lt}(lt − ls).
    """
    zero = torch.isneginf(lt)
    nil = torch.zeros((), dtype=lt.dtype, device=lt.device)
    lt_safe = torch.where(zero, nil, lt)
    ls_safe = torch.where(zero, nil, ls)
    return torch.where(zero, nil, lt_safe.exp() * (lt_safe - ls_safe)).sum(-1)


def log_softmax(z: torch.Tensor) -> torch.Tensor:
    """log softmax(z) along the last axis, accurate for the dominant item too.

    ln π_j = (z_j − z_max) − log1p(Σ_{i ≠ argmax} e^{z_i − z_max}).

    ``torch.log_softmax`` computes z_max − logsumexp(z) for the top item, a difference of two
    nearly equal numbers that loses relative accuracy when the others are far below (gap 20:
    ln π ≈ −2e−9 with ~1e−7 relative error). The log1p form is exact to rounding; it is the same
    function, so autograd gives the usual gradient.
    """
    m, idx = z.max(dim=-1, keepdim=True)
    d = z - m
    others = torch.exp(d).scatter(-1, idx, 0.0).sum(-1, keepdim=True)
    return d - torch.log1p(others)
