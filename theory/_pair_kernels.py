"""Compute cores of the pair-based estimators and losses, numpy (CPU) and torch (internal).

Every function takes validated tensors ``(n, k)`` (groups flattened) and returns per-group tensors
``(n,)``. Dispatch: a CPU input that needs no gradient runs, in float64, the **compiled** kernel of
``_pairs_cpu`` (pairwise entropy, hard and soft RankNet; while :data:`COMPILED` is on) and otherwise
the **numpy** kernel on a zero-copy view; a CUDA input, or one that needs a gradient, runs the
**torch** kernel (the formulas of ``_special``, chunked on CPU by ``_chunks.map_groups``). A CPU
float64 input that needs a gradient (the student in soft or hard RankNet, the teacher in the
pairwise entropy; a fixed τ) takes the compiled kernels with their closed-form derivatives
(``_pairs_autograd``) instead of the torch kernel. All evaluate the same element-wise formulas; they
differ only in the exp/log1p implementation and the summation order, i.e. by float rounding. The
compiled kernels give the same bits on every CPU (``_pairs_cpu``); numpy's exp/log1p do not.

Why the numpy kernel is fast (5–10× the per-pair torch code on one core):

- layout ``(pairs, groups)``: a chunk of c groups is transposed to ``(k, c)``; the margins of
  the pairs at offset r = j − i are then one subtraction of two contiguous ``(k − r, c)`` blocks
  (k − 1 calls, no gather), and every later pass runs over long contiguous rows;
- a few pre-allocated ``(pairs, c)`` buffers reused for every chunk, every ufunc writes
  ``out=`` in place: no temporaries, no page faults; c is chosen so the buffers stay in cache;
- −|x| is one integer OR of the sign bit, x·sign(y) one AND and one XOR (no abs, negate, sign
  or ``where=``, which is ~20× slower in numpy); misordering compares scores (no subtraction,
  no sign function);
- numpy's SIMD exp/log1p are about twice as fast as torch's on CPU.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from . import _pairs_autograd, _pairs_cpu
from ._chunks import map_groups
from ._np_chunks import _Chunks, _divide_tau, _neg_abs, _sign_bit
from ._special import _SATURATED, binary_entropy_logit, kl_bernoulli_logits
from .pairs import margins_any_order as torch_margins

# The compiled float64 kernels (``_pairs_cpu``) serve CPU input; off, float64 takes the numpy
# kernels as float32 does (tests switch it to cover both).
COMPILED = True


def _compiled(x: np.ndarray) -> bool:
    return COMPILED and x.dtype == np.float64


def use_numpy(*tensors: torch.Tensor) -> bool:
    """The numpy kernel serves CPU float inputs that need no gradient."""
    return all(
        t.device.type == "cpu" and not t.requires_grad and t.dtype in (torch.float32, torch.float64)
        for t in tensors
    )


def _quiet(fn):
    """No numpy warnings for overflowing margins (±inf is their value, as in torch)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(*args, **kwargs)

    return wrapped


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().numpy())


def _tau_np(tau):
    return tau if isinstance(tau, float) else _np(tau)


# --------------------------------------------------------------------------- pairwise entropy


@_quiet
def pairwise_entropy_mean(t: torch.Tensor, tau, *, saturate: bool = False) -> torch.Tensor:
    """Mean over the pairs of h(σ((t_i − t_j)/τ)) per group, ``(n, k)`` → ``(n,)`` (nats).

    h(σ(z)) = log1p(e) + a·e/(1 + e), a = |z|, e = e^{−a} (``_special.binary_entropy_logit``).
    ``saturate``: some (t_i − t_j)/τ may have overflowed to ±inf
    (``_validate.logits_may_overflow``); a is then clamped at ``_special._SATURATED`` as in
    ``binary_entropy_logit`` (h = 0 there, its exact value, not inf·0 = NaN). The clamp changes no
    finite result, so ordinary input skips it.

    float64 CPU input (:data:`COMPILED`): ``_pairs_cpu.entropy_sums``, the same log-product form
    compiled, with the clamp always on; its groups outside the bound take log1p per pair there.

    numpy kernel (float32): the pair sum Σ_p log1p(e_p) is taken as log Π_p (1 + e_p) — the factors
    1 + e_p are needed for σ(−a) = e/(1 + e) anyway, so one product reduction replaces a log1p per
    pair (measured on 100,000 groups of 16, one core: 30 → 23 ms; log1p alone is ~7 ms of 12M
    pairs). Its error is bounded per group (:func:`_log_product_bound`); a group whose bound exceeds
    ``_ULPS_OF_SUM`` ulps of its pair sum (float64, k = 16: a mean entropy below ~0.008 nats, an
    almost deterministic teacher) is recomputed with log1p per pair, bit for bit the former result.
    Measured (100,000 groups of 16, scores N(0, σ²)): σ = 3, 10, 20 → no group recomputed, ~25 ms
    against ~30 before; σ = 60 (mean entropy 0.015 nats) → 17% recomputed, 32 ms as before. Results
    move from the former ones by float rounding only (≤ 3e-14 relative in float64 over k = 2…50, σ =
    0.01…100; float32 ≤ 2e-6).
    """
    if COMPILED and _pairs_autograd.applies(t, t.detach(), tau, saturate):
        return _pairs_autograd.EntropyMean.apply(t, tau)
    if not use_numpy(t):
        k = t.shape[-1]

        def per_chunk(tc, tau_c):
            return binary_entropy_logit(torch_margins(tc) / tau_c).mean(-1)

        return map_groups(per_chunk, [t], (t.shape[0],), cost_per_group=k * (k - 1) // 2, tau=tau)
    x, tau = _np(t), _tau_np(tau)
    if _compiled(x):
        # the saturating clamp is always on in the compiled kernel: it changes no finite result
        return torch.from_numpy(_pairs_cpu.entropy_means(x, *_pairs_cpu.tau_array(tau, len(x))))
    ch = _Chunks([x], 3)
    out = np.empty(ch.n, dtype=x.dtype)
    rows = _PRODUCT_ROWS[x.dtype.type]
    blocks = -(-ch.pairs // rows)
    ulps = _ULPS_OF_SUM[x.dtype.type]
    # the first-order bound needs 2m·u small; beyond (float32, k > ~300) every group goes per pair
    usable = 2 * ch.pairs * np.finfo(x.dtype).eps / 2 <= 1e-3
    for sl, (items,), (m, e, w), _ in ch:
        _neg_abs_margins(ch, items, m, tau, sl, saturate)  # m = −a
        np.exp(m, out=e)  # e = e^{−a}
        np.add(e, 1.0, out=w)
        total = out[sl]
        total[:] = 0.0
        for r0 in range(0, ch.pairs, rows):  # Π (1 + e) ≤ 2^rows: no overflow
            total += np.log(np.multiply.reduce(w[r0 : r0 + rows], axis=0))
        np.divide(e, w, out=e)  # σ(−a)
        np.multiply(m, e, out=m)  # −a·σ(−a)
        total -= np.add.reduce(m, axis=0)
        # per group: the product's error bound (in ulps of 1) must stay within _ULPS_OF_SUM ulps
        # of the pair sum, else log1p per pair (total − S ≥ log P ≥ 0 bounds log P from above)
        bound = _log_product_bound(ch.pairs, blocks, np.maximum(total, 0.0))
        redo = np.flatnonzero(~(total * ulps >= bound) | (not usable))
        if redo.size:
            total[redo] = _entropy_sums_log1p(ch, items[:, redo], tau, sl, redo, saturate)
    out /= ch.pairs
    return torch.from_numpy(out)


# Rows per product in pairwise_entropy_mean: a product of 1 + e ∈ [1, 2] factors stays finite.
_PRODUCT_ROWS = {np.float64: 1000, np.float32: 100}


def _log_product_bound(m: int, blocks: int, log_p):
    """|log fl(Π_p fl(1 + e_p)) − Σ_p log1p(e_p)| in units of the dtype's u (unit roundoff).

    Each fl(1 + e) is (1 + e)(1 + δ) with |δ| ≤ u (1 + e ∈ [1, 2]); the m − blocks products add
    at most as many relative roundings: first-order (2m − 1)·u, times 1.001 while 2m·u ≤ 10⁻³.
    Each block's log is within 4 ulp of its value (numpy's SIMD log) and adding the block logs
    rounds once per block: (4 + blocks)·u·log P with log P ≤ ``log_p``. ``log_p`` may be an
    array (one bound per group).
    """
    return (2 * m - 1) * 1.001 + (4 + blocks) * log_p


# A group takes the product path when its bound is within this many ulps of its pair sum:
# float64 5.7e-14 relative (within the 1e-13 agreement asserted with the torch path); float32
# 9.5e-7, close to the per-pair formula's own accuracy in float32 (256 ulps would be 1.5e-5).
_ULPS_OF_SUM = {np.float64: 256, np.float32: 16}


def _neg_abs_margins(ch, items, m, tau, sl, saturate: bool) -> None:
    """m = −|t_i − t_j|/τ for the pairs (clamped at −``_SATURATED`` when ``saturate``)."""
    ch.margins(items, m)
    _divide_tau(m, tau, sl)
    _neg_abs(m, m)
    if saturate:
        np.maximum(m, -_SATURATED, out=m)


def _entropy_sums_log1p(ch, items, tau, sl, cols, saturate: bool) -> np.ndarray:
    """Σ_p h per group with log1p per pair, for the groups ``cols`` of the chunk ``sl``."""
    c = items.shape[1]
    m, e, h = (np.empty((ch.pairs, c), dtype=items.dtype) for _ in range(3))
    tau_c = tau if isinstance(tau, float) else tau[sl][cols]
    _neg_abs_margins(ch, np.ascontiguousarray(items), m, tau_c, slice(None), saturate)
    np.exp(m, out=e)
    np.log1p(e, out=h)
    np.multiply(m, e, out=m)  # −a·e
    np.add(e, 1.0, out=e)
    np.divide(m, e, out=m)  # −a·e/(1 + e)
    np.subtract(h, m, out=h)
    return np.add.reduce(h, axis=0)


# --------------------------------------------------------------------------- misordering


@_quiet
def misordering_counts(s: torch.Tensor, t: torch.Tensor):
    """Per group (misordered, comparable, student_ties) int64 counts, ``(n, k)`` → 3 × ``(n,)``.

    With comparisons only: a pair is comparable when t_i ≠ t_j, misordered when
    (s_i > s_j and t_i < t_j) or (s_i < s_j and t_i > t_j), a student tie when comparable and
    s_i = s_j. (For finite floats, sign(x − y) is the comparison of x and y.)

    Counts have no gradient, so an input that needs one is detached first: on CPU it then takes
    the numpy kernel (twice the torch path's speed), on CUDA the torch kernel.
    """
    s, t = s.detach(), t.detach()
    if not use_numpy(s, t):
        k = s.shape[-1]
        return map_groups(
            _torch_counts, [s.detach(), t.detach()], (s.shape[0],), cost_per_group=k * (k - 1) // 2
        )
    sn, tn = _np(s), _np(t)
    if sn.dtype != tn.dtype:
        tn = tn.astype(sn.dtype)
    ch = _Chunks([sn, tn], 0, bool_buffers=5)
    mis, comp, ties = (np.empty(ch.n, dtype=np.int64) for _ in range(3))
    for sl, (si, ti), _, (gs, ls, gt, lt, w) in ch:
        ch.compare(si, np.greater, gs)
        ch.compare(si, np.less, ls)
        ch.compare(ti, np.greater, gt)
        ch.compare(ti, np.less, lt)
        np.logical_and(gs, lt, out=w)
        np.logical_and(ls, gt, out=lt)  # lt is free after this
        np.logical_or(w, lt, out=w)
        np.add.reduce(w, axis=0, dtype=np.int64, out=mis[sl])
        ch.compare(ti, np.not_equal, gt)  # comparable: the teacher differs
        np.add.reduce(gt, axis=0, dtype=np.int64, out=comp[sl])
        np.logical_or(gs, ls, out=w)  # the student differs
        np.greater(gt, w, out=w)  # comparable and a student tie
        np.add.reduce(w, axis=0, dtype=np.int64, out=ties[sl])
    return torch.from_numpy(mis), torch.from_numpy(comp), torch.from_numpy(ties)


def _torch_counts(sc: torch.Tensor, tc: torch.Tensor):
    ds = torch.sign(torch_margins(sc))
    dt = torch.sign(torch_margins(tc))
    teacher_differs = dt != 0
    comparable = teacher_differs.sum(-1)
    misordered = (ds * dt < 0).sum(-1)
    ties = ((ds == 0) & teacher_differs).sum(-1)
    return misordered, comparable, ties


# --------------------------------------------------------------------------- RankNet losses


@_quiet
def soft_ranknet_mean(s: torch.Tensor, t: torch.Tensor, tau, *, saturate: bool = False):
    """Mean over the pairs of KL(Ber(σ(a)) ‖ Ber(σ(b))), a = m_g/τ, b = m_f/τ; ``(n,)``.

    The formula of ``_special.kl_bernoulli_logits``: with af = |a|, bf = b·sign(a), e = e^{−af},
    KL = sp(−bf) − log1p(e) + e/(1 + e)·(bf − af), sp(−x) = log1p(e^{−|x|}) − min(x, 0); the
    Taylor series in δ = b − a where |δ| < 0.02.

    ``saturate``: logits may have overflowed to ±inf (``_validate.logits_may_overflow``); as in
    ``kl_bernoulli_logits(..., saturate=True)``, af is clamped at ``_special._SATURATED`` (an
    infinite teacher logit is the saturated p ∈ {0, 1}: KL = sp(−bf)) and bf = +inf beside a
    saturated af becomes af (KL = 0). Both change no finite result, so ordinary input skips them.

    CPU paths. float64: the compiled kernel ``_pairs_cpu.soft_sums`` (the closed form with the
    two log1p sums as log-products, under a proven per-group bound); a group outside 2⁻⁴⁰ of its
    sum (a student close to the teacher, an overflowed logit) is recomputed pair by pair by
    ``_pairs_cpu.soft_sums_per_pair`` (the closed form with ``log1p64``, the series where
    |δ| < 0.02). float32, or :data:`COMPILED` off: the numpy per-pair kernel
    ``_soft_ranknet_np.per_pair_means`` (the same formula).

    Speed (issue 15: ≥ 0.5 GB/s of input scores per core on any CPU): see ``_pairs_cpu`` and
    ``docs/BENCHMARKS.md``.
    """
    if COMPILED and _pairs_autograd.applies(s, t, tau, saturate):
        return _pairs_autograd.SoftRankNetMean.apply(s, t, tau)
    if not use_numpy(s, t):
        k = s.shape[-1]

        def per_chunk(sc, tc, tau_c):
            a, b = torch_margins(tc) / tau_c, torch_margins(sc) / tau_c
            return kl_bernoulli_logits(a, b, saturate=saturate).mean(-1)

        cost = k * (k - 1) // 2
        return map_groups(per_chunk, [s, t], (s.shape[0],), cost_per_group=cost, tau=tau)
    sn, tn, tau = _np(s), _np(t), _tau_np(tau)
    if sn.dtype != tn.dtype:
        tn = tn.astype(sn.dtype)
    # imported here: ``_soft_ranknet_np`` uses this module's chunks and bit tricks
    from ._soft_ranknet_np import per_pair_means

    if not _compiled(sn):
        return torch.from_numpy(per_pair_means(sn, tn, tau, saturate))
    taus, divide = _pairs_cpu.tau_array(tau, sn.shape[0])
    return torch.from_numpy(_pairs_cpu.soft_means(sn, tn, taus, divide, saturate))


@_quiet
def hard_ranknet_sums(s: torch.Tensor, t: torch.Tensor):
    """Per group (Σ over pairs with t_i ≠ t_j of −ln σ(sign(t_i − t_j)(s_i − s_j)), their count).

    −ln σ(x) = log1p(e^{−|x|}) − min(x, 0) (torch's ``logsigmoid``, negated). float64 CPU
    input (:data:`COMPILED`): ``_pairs_cpu.hard_sums`` (Σ log1p as a log-product under its bound,
    log1p per pair for the groups outside it); float32: the numpy kernel below.
    """
    if COMPILED and _pairs_autograd.applies(s, t, 1.0):
        return _pairs_autograd.HardRankNetSums.apply(s, t)
    if not use_numpy(s, t):
        k = s.shape[-1]
        return map_groups(_torch_hard, [s, t], (s.shape[0],), cost_per_group=k * (k - 1) // 2)
    sn, tn = _np(s), _np(t)
    if sn.dtype != tn.dtype:
        tn = tn.astype(sn.dtype)
    if _compiled(sn):
        return _compiled_hard(s, t, sn, tn)
    uint, sign = _sign_bit(sn.dtype)
    ch = _Chunks([sn, tn], 3, bool_buffers=1)
    zero = np.zeros((1, ch.cols), dtype=sn.dtype)
    total = np.empty(ch.n, dtype=sn.dtype)
    comparable = np.empty(ch.n, dtype=np.int64)
    for sl, (si, ti), (x, z, w), (differs,) in ch:
        ch.margins(si, x)
        ch.margins(ti, w)
        np.not_equal(w, 0.0, out=differs)  # t_i ≠ t_j
        np.bitwise_and(w.view(uint), sign, out=w.view(uint))
        np.bitwise_xor(x.view(uint), w.view(uint), out=x.view(uint))  # sign(t_i − t_j)·(s_i − s_j)
        _neg_abs(x, z)
        np.exp(z, out=z)
        np.log1p(z, out=z)
        np.minimum(x, zero[:, : x.shape[1]], out=w)
        np.subtract(z, w, out=z)
        if differs.all():
            # No teacher tie in the chunk (the usual case for real-valued scores): every pair is
            # comparable and z·1 = z, so the mask product and the boolean count — ~8 of ~45 ms
            # on 100,000 groups of 16, mixed bool/float passes — are skipped; same bits.
            comparable[sl] = ch.pairs
        else:
            np.multiply(z, differs, out=z)  # teacher ties carry no label
            np.add.reduce(differs, axis=0, dtype=np.int64, out=comparable[sl])
        np.add.reduce(z, axis=0, out=total[sl])
    bad = ~np.isfinite(total)
    if bad.any():  # an infinite student margin on a teacher tie gives inf·0: exact torch path
        rows = torch.from_numpy(np.flatnonzero(bad))
        fixed, _ = _torch_hard(s[rows], t[rows])
        total[bad] = fixed.numpy()
    return torch.from_numpy(total), torch.from_numpy(comparable)


def _compiled_hard(s, t, sn: np.ndarray, tn: np.ndarray):
    """hard_ranknet_sums by ``_pairs_cpu`` (groups outside its log-product bound: log1p per
    pair; a non-finite sum, e.g. opposite infinite student scores: the torch path)."""
    total, comparable = _pairs_cpu.hard_totals(sn, tn)
    bad = np.flatnonzero(~np.isfinite(total))
    if bad.size:
        rows = torch.from_numpy(bad)
        total[bad] = _torch_hard(s[rows], t[rows])[0].numpy()
    return torch.from_numpy(total), torch.from_numpy(comparable)


def _torch_hard(sc: torch.Tensor, tc: torch.Tensor):
    import torch.nn.functional as F

    sign = torch.sign(torch_margins(tc.detach()))
    comparable = (sign != 0).sum(-1)
    terms = -F.logsigmoid(sign * torch_margins(sc))
    zero = torch.zeros((), dtype=terms.dtype, device=terms.device)
    return torch.where(sign != 0, terms, zero).sum(-1), comparable
