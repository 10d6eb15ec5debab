"""Essential diameter Δ̂ and density ratio κ̂ (THEORY.md §1, §5, §6)."""

from __future__ import annotations

import numpy as np
import torch

from . import _backend as B
from . import _diameter as D
from . import _validate as V
from .pairs import pair_index_torch

# The tensor path (CUDA, or CPU with ``_diameter.CPU_KERNEL`` off) works in chunks of groups of
# about this many float32 bytes: on CPU small enough to stay in the last-level cache, on CUDA
# much larger (kernel launches, not caches, are the cost). The compiled CPU kernel is unchunked.
_CHUNK_BYTES = 8 * 2**20
_CUDA_CHUNK_BYTES = 512 * 2**20


def quantile_linear(x: torch.Tensor, q: float) -> torch.Tensor:
    """q-quantile along the last axis with numpy's default ("linear") interpolation.

    Virtual index v = q(m − 1); result = x_(⌊v⌋) + (v − ⌊v⌋)(x_(⌊v⌋+1) − x_(⌊v⌋)), with numpy's
    two-sided lerp (from the upper point when the fraction is ≥ ½) so the result matches
    ``numpy.quantile`` to the last bit in float64. Output drops the last axis.
    """
    lo, hi, frac = D.quantile_ranks(x.shape[-1], q)
    a, b = D.kth(x, (lo, hi))
    return D.lerp(a, b, frac)


def _bad_embedding(gram_diag: torch.Tensor, x: torch.Tensor, start: int, lead: tuple) -> None:
    """Raise for the first group whose squared norms are non-finite or zero."""
    finite = torch.isfinite(gram_diag)
    if not bool(finite.all()):
        g = int(torch.nonzero(~finite.all(-1))[0, 0]) + start
        idx = B.format_group(B.first_index_of_flat(g, lead))
        if bool(torch.isfinite(x[g - start]).all()):
            raise ValueError(f"embeddings: squared norm overflows in {idx}")
        raise ValueError(f"embeddings: non-finite value (NaN or inf) in {idx}")
    zero = gram_diag <= 0
    if bool(zero.any()):
        g, item = (int(v) for v in torch.nonzero(zero)[0])
        idx = B.format_group(B.first_index_of_flat(g + start, lead))
        raise ValueError(
            f"embeddings: item {item} of {idx} has zero norm and cannot be L2-normalised"
        )


@torch.no_grad()
def essential_diameter(embeddings, alpha=0.99, *, precision="float64"):
    """Δ̂_q(α): α-quantile of the chordal distances between the items of each group (§6).

    Embeddings are L2-normalised along the **last** (embedding) axis; d(x_i, x_j) = ‖u_i − u_j‖₂ for
    the pairs i<j; the α-quantile uses numpy's default linear interpolation; α = 1 gives the
    empirical diameter (the maximum).

    Computation (exact, the default ``precision="float64"``): a float32 Gram matrix G = X Xᵀ
    screens every pair to within a proven error bound, and only the pairs that can still be the
    two order statistics of the quantile are recomputed in float64 as ‖x_i/‖x_i‖ − x_j/‖x_j‖‖₂
    (``theory/_diameter.py``: the bound and the proof). On CPU one compiled pass per group does
    all of it (``theory/_diameter_cpu.py``; its float64 distances have the same bits on every
    CPU); on CUDA batched tensor ops per chunk of groups.
    The result is bit-identical to the quantile of those float64 distances over all pairs, and
    equals ``numpy.quantile(scipy.spatial.distance.pdist(u), α)`` to float64 rounding, near-
    duplicates included. Non-finite and zero-norm rows raise (from the float64 path, which also
    takes any chunk whose norms fall outside the screen's proven range). No gradient (an
    estimator, not a loss).

    ``precision="float32"`` returns the screened float32-Gram distances without the float64
    recompute: error of order √D·2⁻²⁴ on the cosine (worst case D·2⁻²⁴ ≈ 2e-5 for D = 384), i.e.
    ~1e-6 on distances near 1 but more for near-duplicates. Kept for screening on CUDA; on CPU
    it saves only the exact path's recompute (0.18 s against 0.21 s on the benchmark).

    Inputs: ``embeddings`` ``(..., k, D)``, k ≥ 2; ``alpha`` in (0, 1]. Output ``(...)`` in [0, 2],
    in the input's floating dtype (float64 for integer input).
    """
    (x,), kind = B.wrap((embeddings, "embeddings"))
    a = B.check_alpha(alpha)
    if precision not in ("float64", "float32"):
        raise ValueError(f"precision must be 'float64' or 'float32', got {precision!r}")
    if x.ndim < 2:
        raise ValueError(f"embeddings: expected shape (..., k, D), got {tuple(x.shape)}")
    k, dim = x.shape[-2], x.shape[-1]
    if k < 2:
        raise ValueError(f"embeddings: a group needs k >= 2 items, got k={k}")
    if dim < 1:
        raise ValueError("embeddings: the embedding axis D is empty")
    lead = tuple(x.shape[:-2])
    flat = x.detach().reshape(-1, k, dim)
    n_groups = flat.shape[0]
    out = torch.empty(n_groups, dtype=torch.float64, device=x.device)
    i, j = pair_index_torch(k, x.device)
    flat_pairs = i * k + j  # index of (i, j) in a flattened k×k Gram matrix
    eps = D.screen_bound(dim, flat.dtype == torch.float32)
    if D.use_cpu_kernel(x.device):
        out = torch.from_numpy(_cpu_kernel(flat, a, eps, lead, precision))
        return B.restore(out.reshape(lead).to(x.dtype), kind)
    per_chunk = _CHUNK_BYTES if x.device.type == "cpu" else _CUDA_CHUNK_BYTES
    step = max(1, min(n_groups, per_chunk // (k * dim * 4)))
    # One float32 buffer reused for every chunk: fresh large allocations per chunk cost page
    # faults that dominate the arithmetic.
    cast = flat.dtype != torch.float32
    buf = torch.empty((step, k, dim), dtype=torch.float32, device=x.device) if cast else None
    gram_buf = torch.empty((step, k, k), dtype=torch.float32, device=x.device)
    rows = D.RowBuffers(dim, x.device)
    with D.ieee_float32_matmul():
        for start in range(0, n_groups, step):
            c = min(step, n_groups - start)
            xc = flat[start : start + c]
            x32 = buf[:c].copy_(xc) if cast else xc
            gram = torch.bmm(x32, x32.transpose(1, 2), out=gram_buf[:c])
            if not D.screenable(torch.diagonal(gram, dim1=1, dim2=2)):
                out[start : start + c] = _float64_chunk(xc, a, start, lead)
                continue
            cos = D.screened_cosines(gram, flat_pairs, i, j)
            if precision == "float32":
                d = cos.mul_(-2.0).add_(2.0).clamp_(min=0.0).sqrt_()
                out[start : start + c] = quantile_linear(d, a)
            else:
                out[start : start + c] = D.screened_quantile(xc, cos, a, eps, i, j, rows)
    return B.restore(out.reshape(lead).to(x.dtype), kind)


def _cpu_kernel(flat, alpha: float, eps: float, lead: tuple, precision: str) -> np.ndarray:
    """The quantile on CPU: one compiled pass per group (``theory/_diameter_cpu.py``).

    Groups the float32 screen cannot take (norms outside its proven range) are validated in
    float64 (non-finite and zero rows raise, naming the group) and take the all-pairs kernel.
    """
    from . import _diameter_cpu as K

    n, k, _ = flat.shape
    x = D.cpu_array(flat)
    lo, hi, frac = D.quantile_ranks(k * (k - 1) // 2, alpha)
    out = np.empty(n, dtype=np.float64)
    unscreened = np.empty(n, dtype=np.int64)
    if precision == "float64":
        margin = np.float32(D.screen_margin(eps))
        n_bad = K.screened_quantiles(x, lo, hi, frac, margin, out, unscreened, K.WIDE_TILES)
    else:
        n_bad = K.screened_float32_quantiles(x, lo, hi, frac, out, unscreened, K.WIDE_TILES)
    if n_bad:
        idx = unscreened[:n_bad]
        rows = flat[torch.from_numpy(idx)]
        diag = rows.to(torch.float64).square().sum(-1)
        bad = ~(torch.isfinite(diag) & (diag > 0)).all(-1)
        if bool(bad.any()):
            t = int(torch.nonzero(bad)[0, 0])
            _bad_embedding(diag[t : t + 1], rows[t : t + 1], int(idx[t]), lead)
        sub = np.empty(n_bad, dtype=np.float64)
        K.all_pairs_quantiles(np.ascontiguousarray(x[idx]), lo, hi, frac, sub)
        out[idx] = sub
    return out


def _float64_chunk(xc: torch.Tensor, alpha: float, start: int, lead: tuple) -> torch.Tensor:
    """Every pair in float64 (validation first): for chunks the float32 screen cannot take."""
    diag = xc.to(torch.float64).square().sum(-1)
    if not bool(torch.isfinite(diag).all()) or not bool((diag > 0).all()):
        _bad_embedding(diag, xc, start, lead)
    step = max(1, _CHUNK_BYTES // (xc.shape[1] ** 2 * xc.shape[2] * 8))
    return torch.cat(
        [D.all_pairs_quantile(xc[s : s + step], alpha) for s in range(0, xc.shape[0], step)]
    )


def aggregate_diameter(per_query, alpha=0.99):
    """Δ̂_Q(α): the α-quantile over queries (last axis) of per-query diameters Δ̂_q.

    numpy's default linear interpolation; α = 1 gives the maximum. Inputs ``(..., n)`` with n ≥ 1.
    Output ``(...)``.
    """
    (t,), kind = B.wrap((per_query, "per_query"))
    a = B.check_alpha(alpha)
    if t.ndim < 1 or t.shape[-1] < 1:
        raise ValueError(f"per_query: expected shape (..., n) with n >= 1, got {tuple(t.shape)}")
    B.check_finite(t, "per_query", event_dims=1)
    B.check_values(t, "per_query", low=0.0)
    return V.finish(quantile_linear(t.detach(), a), kind, "aggregate_diameter")


def density_ratio(mu, nu, atol=None):
    """κ̂_q = max over {μ > 0} of μ(x)/ν(x) for discrete measures on a common support (§5).

    ``inf`` when μ > 0 somewhere ν = 0 (μ not ≪ ν: nothing transfers). Both measures must be
    non-negative, finite, and sum to 1 along the last axis within ``atol``
    (default 16·k·eps of the dtype, at least 1e-9).

    Inputs: ``mu`` (target measure) and ``nu`` (sampler inclusion distribution), ``(..., k)`` with
    the same shape, k ≥ 1. Output ``(...)``, ≥ 1 for probability measures. A finite ratio beyond
    the dtype's range (ν > 0 but tiny) is an error naming the group, never a silent ``inf``.
    """
    (m, v), kind = B.wrap((mu, "mu"), (nu, "nu"))
    B.check_same_shape(m, v, "mu", "nu")
    for t, name in ((m, "mu"), (v, "nu")):
        B.check_grouped(t, name, min_k=1)
        neg = t < 0
        if bool(neg.any()):
            raise ValueError(
                f"{name}: negative mass in {B.format_group(B.first_index(neg.any(-1)))}"
            )
        # the tolerance follows the caller's dtype (float16 measures are computed in float32)
        eps = torch.finfo(kind.dtype).eps
        tol = atol if atol is not None else max(1e-9, 16 * t.shape[-1] * eps)
        off = (t.sum(-1) - 1.0).abs() > tol
        if bool(off.any()):
            idx = B.first_index(off)
            total = float(t.sum(-1)[idx]) if off.ndim else float(t.sum(-1))
            raise ValueError(
                f"{name}: masses sum to {total}, not 1 (atol={tol:g}), in {B.format_group(idx)}"
            )
    m, v = m.detach(), v.detach()
    ratio = torch.where(m > 0, m / v, torch.zeros((), dtype=m.dtype, device=m.device))
    kappa = ratio.amax(-1)
    absolutely_continuous = ~((m > 0) & (v == 0)).any(-1)
    V.finish(torch.where(absolutely_continuous, kappa, 1.0), kind, "density_ratio", hint="")
    return B.restore(kappa, kind)
