"""numpy kernels of the soft RankNet loss: the fast float64 path (teacher-sorted pairs,
log-products) and the per-pair kernel (:func:`per_pair_means`) for what it does not keep.

Per group of k items (m = k(k − 1)/2 pairs), with the items sorted by teacher score (ascending),
every pair i < j has a teacher logit a = (t_j − t_i)/τ ≥ 0, a student logit b = (s_j − s_i)/τ
and δ = b − a = D_i − D_j with the per-item gap D = (t − s)/τ. KL is unchanged by the order of
the two items of a pair, so this orientation is the "flip to a ≥ 0" of
``_special.kl_bernoulli_logits``, found once per group by a sort instead of per pair:

    KL(a, b) = sp(−b) − sp(−a) + σ(−a)·δ = log((1 + y)/(1 + e)) + e/(1 + e)·δ,
    e = e^{−a} = P_i·Q_j,   y = e^{−b} = e^{−a}·e^{−δ} = U_i·V_j,

with per-item P = e^{x}, Q = 1/P, x = (t − t_min)/τ ∈ [0, R_T], and U = P·e^{−(D − mid)},
V = Q·e^{D − mid} (mid the centre of D): both exponentials of a pair are products of per-item
ones (2k exps per group instead of 2m), and the pair sums of the logs are the logs of products
(``Σ_p log f_p = log Π_p f_p``), so no transcendental runs per pair. Passes over the (pairs, c)
buffers: δ, e, y, 1 + y, 1 + e, two block products, σ(−a) = e/(1 + e), σ·δ, a halving sum.
No series for small δ either: every error below is absolute, so a pair with tiny δ and KL is
as accurate as the others and the group sum is judged as a whole.

**Error bound** (``_error_bound``, per group, in units of u = 2⁻⁵³, of |computed − exact| for the
exact KL sum of the given float inputs; R_T = range of t/τ, R_D = range of D, exps within 4 ulp):

- δ as computed (``fl(D_i − D_j)``, D = ``fl(fl(t − s)/τ)``) is within u·(4·max|D| + R_D) of
  the exact δ, and |∂KL/∂δ| = |σ(−a) − σ(−b)| ≤ 1;
- e = fl(P_i·Q_j) is e^{−a'} with |a' − a| ≤ u·(10 + 4·R_T) (rounded x, two exps, a
  reciprocal, a product). At fixed δ, with φ(z) = sp(−z), KL = φ(a + δ) − φ(a) − φ'(a)·δ and
  ∂KL/∂a = ∫₀^δ (φ''(a + s) − φ''(a)) ds; as φ'' = σ(z)σ(−z) has |φ'''| ≤ φ'', the integrand is
  at most ∫₀^s φ''(a + r) dr in size, so |∂KL/∂a| ≤ ∫₀^δ (δ − r)·φ''(a + r) dr = KL: this term
  is relative, ≤ u·(10 + 4·R_T) of the exact sum (≤ 3.2e-13 for R_T ≤ 700);
- y = fl(U_i·V_j) is e'·e^{−δ'} (e' the same P_i·Q_j before its rounding) with
  |δ' − fl(δ)| ≤ u·(14 + 3·R_D): the log(1 + y) term must see the δ of the linear term σ·δ (a
  mismatch costs σ(−b)·|δ' − δ| ≤ |δ' − δ|, not O(δ²)), and these errors are absolute — which is
  why the series is not needed;
- fl(1 + y), fl(1 + e) and the two products' roundings: ≤ 4u per pair; the logs of the B block
  products (4 ulp each) and their halving sum: ≤ (4 + ⌈log₂ B⌉)·u·(log Π (1 + y) +
  log Π (1 + e)), both ≥ 0; σ·δ rounds by ≤ 1.5u·|δ|, its halving sum (``_tree_sum``) by
  ≤ ⌈log₂ m⌉·u·Σ|σδ| ≤ ⌈log₂ m⌉·u·m·R_D/2, the final two additions by ≤ u·m·R_D plus the
  logs' share.

Summed: m·(24 + 4·max|D| + 12·R_D) + ⌈log₂ m⌉·m·R_D/2 + (4 + ⌈log₂ B⌉)·(the logs), plus
(10 + 4·R_T) times the exact sum (itself ≤ the computed sum + the bound).

A group is kept when that bound is within ``_ACCEPT`` of its KL sum (2⁻⁴⁰ ≈ 9e-13 relative,
below the ~1e-12 accuracy of the per-pair closed form of ``_special``); otherwise — a student
close to the teacher (a small KL sum), a logit range R_T + R_D > ``_MAX_RANGE`` (the per-item
exponentials would leave the normal range; overflowed logits give inf), a non-finite sum — the
caller recomputes it with the per-pair kernel. ``test_soft_ranknet_fast`` checks kept groups
against mpmath on extreme inputs.

Which groups are kept, on 100,000 groups of 16, teacher N(0, 9), student = teacher + noise
(process CPU time, one core; the per-pair kernel alone in brackets): noise 1 (the benchmark)
all, 45 ms (76); noise 0.3 (mean KL 0.008) 76%, 69 ms (78); noise 0.1 and 0.01 (mean KL 9e-4,
9e-6) none, 90 and 170 ms (85 and 161). A KL sum below ~(24 + 12·R_D)·m·u/2⁻⁴⁰ cannot pass,
so such groups are not tried: :func:`_hopeful` after the sort skips their pair passes, and once a
chunk had one, :func:`_rows_worth_sorting` (two matrix-vector products) skips their sort too, a
chunk with a majority of them as a whole. The rest is the price of the close-student regime.
"""

from __future__ import annotations

import numpy as np

from . import _np_chunks as pk
from ._special import _SATURATED, _SERIES_BELOW

# Per-item exponentials e^{±x} with |x| ≤ 700 stay normal in float64 (e^{±709.78} is the limit).
_MAX_RANGE = 700.0
# A group's KL sum is kept when its error bound is within this fraction of it.
_ACCEPT = 2.0**-40
_U = 2.0**-53


def soft_ranknet_sums(
    s: np.ndarray, t: np.ndarray, tau, buffer_elements: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group Σ_p KL(Ber(σ(a)) ‖ Ber(σ(b))) and whether it is kept; float64 ``(n, k)``.

    ``tau``: a float or a float64 array ``(n,)``. Returns ``(sums (n,), kept (n,) bool)``; a group
    not kept must be recomputed by the per-pair kernel (its sum is unspecified). Groups whose sum
    cannot pass the bound (:func:`_hopeful`) skip the pair passes; the hopeful groups of chunks
    that hold both are gathered into full chunks (a ufunc call costs the same for any width).
    """
    n, k = s.shape
    m = k * (k - 1) // 2
    cols = max(1, min(n, buffer_elements // m))
    bufs = [np.empty((m, cols)) for _ in range(4)]
    base = np.arange(cols) * k
    sums = np.zeros(n)
    kept = np.zeros(n, dtype=bool)
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (groups, x, D)
    prefilter = False  # on once a chunk had hopeless groups, off again when one has none
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, n, cols):
            sl = slice(start, min(n, start + cols))
            sc, tc, tau_c = s[sl], t[sl], tau if isinstance(tau, float) else tau[sl]
            rows = _rows_worth_sorting(sc, tc, tau_c, m) if prefilter else None
            prefilter = rows is not None
            if rows is not None:
                # fewer than half: a student close to its teacher, where even the groups that
                # pass this filter mostly fail the bound (student noise 0.1 on a N(0, 9) teacher:
                # 37% pass, none kept); the chunk goes to the per-pair kernel without a try
                if 2 * rows.size < len(tc):
                    continue
                sc, tc = sc[rows], tc[rows]
                tau_c = tau_c if isinstance(tau_c, float) else tau_c[rows]
            big_t, gap = _sorted_items(sc, tc, tau_c, base[: len(tc)])
            hope = _hopeful(gap, m)
            if rows is None and hope.all():
                _kept_sums(big_t, gap, bufs, sums, kept, sl)
                continue
            prefilter = True
            where = np.flatnonzero(hope)
            at = start + (where if rows is None else rows[where])
            pending.append((at, big_t[:, where], gap[:, where]))
            if sum(p[0].size for p in pending) >= cols:
                _flush(pending, cols, bufs, sums, kept, final=False)
        _flush(pending, cols, bufs, sums, kept, final=True)
    return sums, kept


def _rows_worth_sorting(s, t, tau, m: int):
    """The rows of a chunk ``(c, k)`` that may pass :func:`_hopeful`, or None for all, from two
    matrix-vector products (Σ D, Σ D²) instead of a sort: max|D| ≥ √(Σ D²/k) and, as
    Σ_{i<j} (D_i − D_j)² ≤ m·R_D², R_D ≥ √(Σ_{i<j} (D_i − D_j)²/m) bound the floor from below."""
    d = np.subtract(t, s)
    if not isinstance(tau, float) or tau != 1.0:
        d /= tau if isinstance(tau, float) else tau[:, None]
    k = d.shape[1]
    ones = np.ones(k)
    total = d @ ones
    np.multiply(d, d, out=d)
    squares = d @ ones
    pair_sq = np.maximum(k * squares - total * total, 0.0)  # Σ_{i<j} (D_i − D_j)²
    floor = _U * m * (24.0 + 4.0 * np.sqrt(squares / k) + 12.0 * np.sqrt(pair_sq / m))
    ok = pair_sq / 8 * _ACCEPT >= 0.9 * floor  # 0.9: rounding
    return None if ok.all() else np.flatnonzero(ok)


def _flush(pending: list, cols: int, bufs, sums, kept, *, final: bool) -> None:
    """Run the pending hopeful groups in full chunks of ``cols`` (all of them when ``final``)."""
    if not pending:
        return
    at, big_t, gap = (np.concatenate(v, axis=-1) for v in zip(*pending))
    pending.clear()
    done = at.size if final else at.size - at.size % cols
    for j in range(0, done, cols):
        part = slice(j, j + cols)
        _kept_sums(big_t[:, part], gap[:, part], bufs, sums, kept, at[part])
    if done < at.size:
        pending.append((at[done:], big_t[:, done:], gap[:, done:]))


def _kept_sums(big_t, gap, bufs, sums, kept, at) -> None:
    """``sums[at]``, ``kept[at]`` for the sorted items x, D ``(k, c)`` of c groups."""
    m, c = bufs[0].shape[0], gap.shape[1]
    if not c:
        return
    hi, lo = gap.max(axis=0), gap.min(axis=0)
    r_t, r_d = big_t[-1], hi - lo
    got, logs = _chunk_sums(big_t, gap, r_t, r_d, *(b[:, :c] for b in bufs))
    bound = _error_bound(m, r_t, r_d, np.maximum(hi, -lo), logs, got)
    sums[at] = got
    kept[at] = (r_t + r_d <= _MAX_RANGE) & (bound <= _ACCEPT * got) & np.isfinite(got)


def _sorted_items(s, t, tau, base):
    """Items of a chunk ``(c, k)`` sorted by teacher score, transposed to ``(k, c)``: returns
    x = (t − t_min)/τ and the gap D = (t − s)/τ in that order."""
    order = np.argsort(t, axis=1)
    idx = order.T + base[None, :]  # flat positions of the sorted items, transposed
    big_t = t.reshape(-1).take(idx)
    gap = np.subtract(big_t, s.reshape(-1).take(idx))
    np.subtract(big_t, big_t[0], out=big_t)
    if not isinstance(tau, float) or tau != 1.0:
        np.divide(big_t, tau, out=big_t)
        np.divide(gap, tau, out=gap)
    return big_t, gap


def _hopeful(gap: np.ndarray, m: int) -> np.ndarray:
    """Per group (column of the gaps D ``(k, c)``): whether its KL sum can pass the bound at all.

    KL(a, a + δ) = ∫₀^δ (δ − r)·σ(a + r)σ(−a − r) dr ≤ δ²/8 and Σ_{i<j} (D_i − D_j)² =
    k·Σ D² − (Σ D)², so Σ_p KL ≤ (k·Σ D² − (Σ D)²)/8, while the bound is at least
    u·m·(24 + 4·max|D| + 12·R_D). A group below is rejected anyway (a student close to the
    teacher): this check skips its pair passes.
    """
    k = gap.shape[0]
    sum_sq = k * np.einsum("ij,ij->j", gap, gap) - np.square(np.add.reduce(gap, axis=0))
    hi, lo = gap.max(axis=0), gap.min(axis=0)
    floor = _U * m * (24.0 + 4.0 * np.maximum(hi, -lo) + 12.0 * (hi - lo))
    return sum_sq / 8 * _ACCEPT >= 0.9 * floor  # 0.9: the rounding of sum_sq


def _pair_op(op, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """``out[p] = op(x_i, y_j)`` for the pairs i < j of ``(k, c)`` items, diagonal order."""
    k, off = x.shape[0], 0
    for r in range(1, k):
        op(x[: k - r], y[r:], out=out[off : off + k - r])
        off += k - r


def _chunk_sums(big_t, gap, r_t, r_d, d, e, g, x):
    """Σ_p KL per group of the chunk and (|log Π (1 + e·G)| + |log Π (1 + e)|) for the bound."""
    p_t = np.exp(big_t)  # e^{(t − t_min)/τ} ∈ [1, e^{R_T}]
    q_t = np.reciprocal(p_t)
    mid = gap.max(axis=0) - r_d / 2  # centre of D: |D − mid| ≤ R_D/2
    p_d = np.exp(gap - mid)
    u_b = np.multiply(p_t, np.reciprocal(p_d))  # e^{x_i − (D_i − mid)}
    v_b = np.multiply(q_t, p_d)  # e^{−x_j + (D_j − mid)}
    _pair_op(np.subtract, gap, gap, d)  # δ = D_i − D_j = b − a
    _pair_op(np.multiply, p_t, q_t, e)  # e^{−a}, a = (t_j − t_i)/τ ≥ 0
    _pair_op(np.multiply, u_b, v_b, g)  # e^{−a}·e^{−δ} = e^{−b}
    np.add(g, 1.0, out=g)  # 1 + e^{−b}
    np.add(e, 1.0, out=x)  # 1 + e^{−a} ∈ [1, 2]
    # 1 + e^{−b} ≤ 1 + e^{R_S}, R_S ≤ R_T + R_D: rows per product so that none overflows
    worst = float(np.max(r_t + r_d, initial=0.0))
    log_b, depth = _log_product(g, max(1, int(_MAX_RANGE // (min(worst, _MAX_RANGE) + 1.0))))
    log_a, _ = _log_product(x, 1000)  # factors ≤ 2: 2^1000 is finite, one product up to k = 45
    np.divide(e, x, out=e)  # σ(−a)
    np.multiply(e, d, out=e)
    total = _tree_sum(e)
    total += log_b
    total -= log_a
    return total, (4 + depth) * (log_b + log_a)


def _tree_sum(f: np.ndarray) -> np.ndarray:
    """Column sums of ``f`` (overwritten) by halving the rows: ⌈log₂ m⌉ roundings per term
    instead of the m − 1 of numpy's row-by-row reduction along axis 0."""
    m = f.shape[0]
    while m > 1:
        half = m // 2
        np.add(f[:half], f[m - half : m], out=f[:half])  # an odd middle row stays in place
        m -= half
    return f[0].copy()


def _log_product(f: np.ndarray, rows: int) -> tuple[np.ndarray, int]:
    """Σ_p log f_p per column (f ≥ 1) as the halving sum of the logs of products of ``rows``
    rows, and that sum's rounding depth."""
    m, c = f.shape
    full = m - m % rows
    parts = []
    if full:
        parts.append(np.multiply.reduce(f[:full].reshape(full // rows, rows, c), axis=1))
    if full < m:
        parts.append(np.multiply.reduce(f[full:], axis=0)[None, :])
    logs = np.log(parts[0]) if len(parts) == 1 else np.log(np.concatenate(parts))
    return _tree_sum(logs), _depth(len(logs))


def _error_bound(m: int, r_t, r_d, max_d, logs, sums) -> np.ndarray:
    """The module docstring's bound on |computed − exact| of each group's KL sum ``sums``."""
    absolute = _U * (m * (24.0 + 4.0 * max_d + 12.0 * r_d) + _depth(m) * m * r_d / 2 + logs)
    relative = _U * (10.0 + 4.0 * r_t)  # of the exact sum, ≤ computed + bound
    return (absolute + relative * np.abs(sums)) / (1.0 - relative)


def _depth(m: int) -> int:
    """Roundings per term of :func:`_tree_sum` over m rows: ⌈log₂ m⌉."""
    return max(0, (m - 1).bit_length())


# --------------------------------------------------------------------------- per pair


def per_pair_means(sn: np.ndarray, tn: np.ndarray, tau, saturate: bool) -> np.ndarray:
    """Per group mean KL, pair by pair: the formula of ``_special.kl_bernoulli_logits`` (see
    ``_pair_kernels.soft_ranknet_mean``), any float dtype, ``saturate``; ``(n, k)`` → ``(n,)``."""
    uint, sign = pk._sign_bit(sn.dtype)
    ch = pk._Chunks([sn, tn], 5, bool_buffers=2 if saturate else 0, contiguous=True)
    zero = np.zeros((1, ch.cols), dtype=sn.dtype)
    out = np.empty(ch.n, dtype=sn.dtype)
    for sl, (si, ti), (a, b, e, z, w), masks in ch:
        ch.margins(ti, a)
        ch.margins(si, b)
        pk._divide_tau(a, tau, sl)
        pk._divide_tau(b, tau, sl)
        np.subtract(b, a, out=w)  # δ
        np.abs(w, out=w)
        # flat indices: the chunk's buffers are contiguous (``_leading``), ravel() is a view
        small = np.flatnonzero(w < _SERIES_BELOW)
        a_small = a.ravel()[small] if small.size else None
        d_small = (b.ravel()[small] - a_small) if small.size else None
        av, bv = a.view(uint), b.view(uint)
        np.bitwise_and(av, sign, out=w.view(uint))
        np.bitwise_xor(bv, w.view(uint), out=bv)  # bf = b·sign(a)
        np.bitwise_and(av, ~sign, out=av)  # af = |a|
        if saturate:
            _saturate_logits(a, b, *masks)
        pk._neg_abs(b, z)
        np.exp(z, out=z)
        np.log1p(z, out=z)
        np.minimum(b, zero[:, : b.shape[1]], out=w)
        np.subtract(z, w, out=z)  # sp(−bf)
        pk._neg_abs(a, e)
        np.exp(e, out=e)  # e = e^{−af}
        np.log1p(e, out=w)
        np.subtract(z, w, out=z)  # sp(−bf) − sp(−af)
        np.add(e, 1.0, out=w)
        np.divide(e, w, out=e)  # σ(−af)
        np.subtract(b, a, out=w)
        np.multiply(e, w, out=e)
        np.add(z, e, out=z)
        if small.size:
            z.ravel()[small] = _kl_series(a_small, d_small)
        np.add.reduce(z, axis=0, out=out[sl])
    out /= ch.pairs
    return out


def _saturate_logits(af: np.ndarray, bf: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> None:
    """In place, as ``kl_bernoulli_logits(..., saturate=True)``: af ← min(af, 1e4), and
    bf ← af where bf = +inf and af is saturated (a student logit overflowed towards the teacher's
    saturated one: KL(a, a) = 0 to float precision)."""
    np.minimum(af, _SATURATED, out=af)
    np.greater_equal(af, _SATURATED, out=m1)
    np.isposinf(bf, out=m2)
    np.logical_and(m1, m2, out=m1)
    np.copyto(bf, af, where=m1)


def _kl_series(a: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Taylor series of D_sp in δ (see ``_special.kl_bernoulli_logits``), numpy."""
    with np.errstate(over="ignore"):
        s_pos = 1.0 / (1.0 + np.exp(-a))
        s_neg = 1.0 / (1.0 + np.exp(a))
    v = s_pos * s_neg
    w = s_neg - s_pos
    inner = (1 - 6 * v) / 24 + d * (w * (1 - 12 * v) / 120 + d * (1 - 30 * v + 120 * v**2) / 720)
    return v * d**2 * (0.5 + d * (w / 6 + d * inner))
