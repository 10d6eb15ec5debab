"""Exact α-quantile of a group's chordal distances, screened with a float32 Gram matrix (internal).

``essential_diameter`` needs, per group of k items, the α-quantile of the m = k(k−1)/2 chordal
distances d_p = ‖u_i − u_j‖₂ (u = x/‖x‖, p = (i, j), i < j) with numpy's linear interpolation:
two order statistics d_(lo), d_(hi) of the m distances. Computing every distance in float64 reads
each pair of rows again (m·D work per group); a float32 Gram matrix G = X Xᵀ (one batched
matmul, the fastest dense kernel there is) gives every distance to within a proven bound, and
only the pairs that can still be the lo-th or hi-th order statistic need float64.

Exactness (the result equals the quantile of the float64 distances ``pair_distances64`` of all
pairs, bit for bit on CPU; CUDA reductions may order a row's sum by batch size, which moves a
float64 distance by rounding only). Work with cosines: d² = 2 − 2c, so distances rank opposite
to cosines.

1. **Screen error bound.** Let x̂ = fl32(x), G̃ the float32 Gram matrix of x̂, and
   c̃_p = G̃_ij r_i r_j with r_i = 1/√G̃_ii, all in float32. Let c_p = 1 − t_p/2 where t_p is the
   square of the float64 distance of ``pair_distances64``. Then |c̃_p − c_p| ≤ ε_c for every
   pair (``screen_bound``), with u = 2⁻²⁴ and γ = D u/(1 − D u):

       ε_c = 2γ/(1 − γ) + 16u + 4u·[x not float32] + 4(D + 8)·2⁻⁵³ + 2⁻⁴⁰.

   *Proof.* (a) Float32 Gram: any summation order, with or without FMA, gives
   |G̃_ij − Ĝ_ij| ≤ γ Σ_d |x̂_id x̂_jd| ≤ γ N_i N_j (Cauchy–Schwarz; N = ‖x̂‖; Higham, *Accuracy and
   Stability*, eq. 3.5). Underflow adds at most D·2⁻¹⁵⁰ absolute per entry, below 2⁻⁴⁰ relative
   to N_i N_j once 2⁻⁶⁰ ≤ G̃_ii ≤ 2⁶⁰ (the range check; groups outside it take the float64 path).
   (b) With θ_i = (G̃_ii − N_i²)/N_i² ∈ [−γ, γ] and ĉ = Ĝ_ij/(N_i N_j) ∈ [−1, 1], the exactly
   evaluated c̃ is (ĉ + e)/√((1+θ_i)(1+θ_j)) with |e| ≤ γ, so |c̃ − ĉ| ≤ γ + (1 + γ)γ/(1 − γ)
   = 2γ/(1 − γ). Evaluating r_i (sqrt and division, or rsqrt within 2 ulp on CUDA) and the two
   products in float32 adds a relative error below 7u, i.e. below 16u absolute. (c) Casting
   float64 input to float32 moves each unit vector by ≤ 2u (‖a/‖a‖ − b/‖b‖‖ ≤ 2‖a − b‖/‖a‖),
   hence the cosine by ≤ 4u. (d) The float64 distance (``pair_distances64``: two norms, a scaled
   difference, a norm, a division) is within (2D + 8)·2⁻⁵³ of the exact one in absolute terms
   (d ≤ 2), so its square is within 8(D + 8)·2⁻⁵³ of d², and c within half that. ∎
2. **Order statistics move by at most ε_c.** If |ã_p − a_p| ≤ ε for all p, then
   |ã_(r) − a_(r)| ≤ ε for every rank r (the r-th smallest of a is ≥ the r-th smallest of ã − ε).
3. **Selection.** The quantile needs the distance ranks lo and hi, i.e. the cosine ranks
   m−1−lo and m−1−hi. Let C_lo, C_hi be those screened cosines (C_hi ≤ C_lo). Pairs with
   c̃ > C_lo + 2ε_c ("near", B of them) have c > C_lo + ε_c ≥ c at rank m−1−lo, i.e. a distance
   strictly below d_(lo); pairs with c̃ < C_hi − 2ε_c have a distance strictly above d_(hi). So
   d_(lo) and d_(hi) are the (lo − B)-th and (hi − B)-th smallest float64 distances among the
   remaining candidates: the near pairs all rank below d_(lo), the far ones above d_(hi), so
   none of them takes a rank in [lo, hi]. Only the candidates are computed in float64
   (about 2 of 120 pairs for k = 16, α = 0.99 on typical embeddings).

Input outside the screen's range (non-finite, zero, tiny or huge norms) goes to the float64
path for every pair of its chunk, which also raises the validation errors. Reduced-precision
float32 matmul (TF32 on CUDA, bf16 on CPU, ``torch.set_float32_matmul_precision`` below
"highest") would void the bound: the screen switches it off around its matmul.

Where it runs. On CPU the exact estimator runs the same algorithm fused per group in compiled
code (``theory/_diameter_cpu.py``: 0.21 s, 27× the per-group ``pdist`` loop on 100,000 groups ×
16 × 384 float32, one core). The tensor code here is the CUDA path and the ``precision="float32"``
option. Measured on CPU (same machine, 2026-11-29), it took 0.57 s (8.7×): the float32
``torch.bmm`` alone 0.33 s (a batched GEMM of 16 × 384 blocks is bound by its per-block work;
computing only the upper triangle as smaller blocks was slower, 0.34–0.48 s), the recompute of
the ~2.07 candidate pairs per group 0.13–0.16 s (mostly gathering their rows), the masks,
bookkeeping and screening sort 0.12 s. A bf16 Gram has a screen bound of ~2⁻⁷ instead of
~5·10⁻⁵ and would leave ~8 candidates per group; CPUs without native bf16 would lose outright.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from .pairs import pair_index_torch

_U32 = 2.0**-24
# CPU tensors run the compiled kernels of ``_diameter_cpu``; tests switch this off to run the
# tensor path (the CUDA one) on CPU.
CPU_KERNEL = True
_SCREEN_MIN, _SCREEN_MAX = 2.0**-60, 2.0**60


def use_cpu_kernel(device: torch.device) -> bool:
    """True where the compiled kernels run (CPU, unless :data:`CPU_KERNEL` is off)."""
    return device.type == "cpu" and CPU_KERNEL


def screen_bound(dim: int, input_is_float32: bool) -> float:
    """ε_c of the module docstring: |c̃ − c| ≤ ε_c for every pair (cosine units)."""
    gamma = dim * _U32 / (1 - dim * _U32)
    eps = 2 * gamma / (1 - gamma) + 16 * _U32 + 4 * (dim + 8) * 2.0**-53 + 2.0**-40
    return eps if input_is_float32 else eps + 4 * _U32


@contextlib.contextmanager
def ieee_float32_matmul():
    """Full-precision float32 matmul inside the block (no TF32 / bf16), restored afterwards.

    torch ≥ 2.9 has per-backend settings (``torch.backends.{cuda,mkldnn}.matmul.fp32_precision``,
    which must not be mixed with the legacy global one); older torch has only the global one.
    """
    backends = [
        b.matmul
        for b in (torch.backends.cuda, torch.backends.mkldnn)
        if hasattr(getattr(b, "matmul", None), "fp32_precision")
    ]
    if backends:
        previous = [b.fp32_precision for b in backends]
        try:
            for b in backends:
                b.fp32_precision = "ieee"
            yield
        finally:
            for b, p in zip(backends, previous):
                b.fp32_precision = p
        return
    previous_global = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("highest")
        yield
    finally:
        torch.set_float32_matmul_precision(previous_global)


class RowBuffers:
    """Reusable float64 row buffers for :func:`pair_distances64` (one per estimator call).

    Measured (100,000 groups × 16 × 384, one core): the candidate recompute gathers ~2 pairs per
    group, i.e. two ``(P, D)`` float64 temporaries of ~2 MB per chunk; allocating them fresh for
    every chunk cost 0.89 s of CPU time, mostly page faults (sys time), against 0.08 s when the
    same arithmetic writes into buffers kept for the whole call. Grown (never shrunk) on demand.
    """

    def __init__(self, dim: int, device: torch.device):
        self.dim, self.device = dim, device
        self.capacity = 0

    def take(self, x: torch.Tensor, ra: torch.Tensor, rb: torch.Tensor):
        """Rows ``x[ra]``, ``x[rb]`` as float64 ``(P, D)`` views of the buffers."""
        p = ra.numel()
        if p > self.capacity:
            self.capacity = max(p, 2 * self.capacity)
            shape, dev = (self.capacity, self.dim), self.device
            self.a, self.b = (torch.empty(shape, dtype=torch.float64, device=dev) for _ in "ab")
            self.a32, self.b32 = (torch.empty(shape, dtype=x.dtype, device=dev) for _ in "ab")
        if self.a32.dtype != x.dtype:
            self.a32, self.b32 = (torch.empty_like(self.a, dtype=x.dtype) for _ in "ab")
        a, b = self.a[:p], self.b[:p]
        if x.dtype == torch.float64:
            return torch.index_select(x, 0, ra, out=a), torch.index_select(x, 0, rb, out=b)
        a.copy_(torch.index_select(x, 0, ra, out=self.a32[:p]))
        b.copy_(torch.index_select(x, 0, rb, out=self.b32[:p]))
        return a, b


def pair_distances64(
    xc: torch.Tensor, g: torch.Tensor, i: torch.Tensor, j: torch.Tensor, rows: RowBuffers = None
):
    """Float64 chordal distances ‖x_i/‖x_i‖ − x_j/‖x_j‖‖₂ of the pairs (g, i, j) of ``xc``.

    Evaluated as ‖(‖x_j‖/‖x_i‖)·x_i − x_j‖ / ‖x_j‖ (one fused multiply-add pass instead of
    normalising both rows; identical rows give exactly 0). ``xc`` ``(c, k, D)``; ``g, i, j`` int
    tensors ``(P,)``; ``rows``: optional :class:`RowBuffers` to work in (same bits, no fresh
    allocation). The per-pair arithmetic does not depend on the batch, so a pair gets the same
    bits here and in the all-pairs path. Output ``(P,)``.
    """
    c, k, dim = xc.shape
    x = xc.reshape(c * k, dim)
    ra, rb = g * k + i, g * k + j
    if rows is None:
        a = x.index_select(0, ra).to(torch.float64)
        b = x.index_select(0, rb).to(torch.float64)
    else:
        a, b = rows.take(x, ra, rb)
    na = torch.linalg.vector_norm(a, dim=-1, keepdim=True)
    nb = torch.linalg.vector_norm(b, dim=-1, keepdim=True)
    v = torch.addcmul(b.neg_(), a, nb / na, out=b)
    return torch.linalg.vector_norm(v, dim=-1).div_(nb.squeeze(-1))


def quantile_ranks(m: int, alpha: float) -> tuple[int, int, float]:
    """numpy "linear" quantile of m sorted values: (lo, hi, frac), v = α(m − 1)."""
    v = alpha * (m - 1)
    lo = min(int(math.floor(v)), m - 1)
    return lo, min(lo + 1, m - 1), v - lo


def lerp(a: torch.Tensor, b: torch.Tensor, frac: float) -> torch.Tensor:
    """numpy's two-sided lerp (from the upper point when frac ≥ ½), bit-identical to it."""
    if frac == 0.0:
        return a
    diff = b - a
    return b - diff * (1.0 - frac) if frac >= 0.5 else a + diff * frac


def kth(x: torch.Tensor, ranks: tuple[int, ...]) -> list[torch.Tensor]:
    """The given 0-based order statistics along the last axis (ascending).

    On CPU a full numpy sort (AVX-512 sorting networks: ~0.1 µs for a row of 120, faster than
    any torch selection); on CUDA a few extreme ranks (the usual α ≥ 0.9 or α = 1) by repeated
    min/max, each round removing one element (so ties count with their multiplicity), other
    ranks by a full sort. Inputs are finite (validated by every caller).
    """
    m = x.shape[-1]
    if x.device.type == "cpu":
        s = torch.from_numpy(np.sort(x.detach().numpy(), axis=-1))
        return [s[..., r] for r in ranks]
    low, high = min(ranks), max(ranks)
    if high < 8 or m - low <= 8:
        smallest = high < 8
        w = x.clone()
        fill = math.inf if smallest else -math.inf
        found = []
        for _ in range(high + 1 if smallest else m - low):
            v, at = (w.min if smallest else w.max)(-1, keepdim=True)
            found.append(v.squeeze(-1))
            w.scatter_(-1, at, fill)
        return [found[r] if smallest else found[m - 1 - r] for r in ranks]
    s = torch.sort(x, dim=-1).values
    return [s[..., r] for r in ranks]


def all_pairs_quantile(xc: torch.Tensor, alpha: float) -> torch.Tensor:
    """Float64 quantile over every pair of each group of ``xc`` ``(c, k, D)`` → ``(c,)``.

    On CPU the compiled kernel's distances (``_diameter_cpu``, the same bits on every CPU), else
    :func:`pair_distances64`: the exactness reference of the path that runs.
    """
    c, k, _ = xc.shape
    if use_cpu_kernel(xc.device):
        from . import _diameter_cpu

        x = cpu_array(xc)
        lo, hi, frac = quantile_ranks(k * (k - 1) // 2, alpha)
        out = np.empty(c, dtype=np.float64)
        _diameter_cpu.all_pairs_quantiles(x, lo, hi, frac, out)
        return torch.from_numpy(out)
    i, j = pair_index_torch(k, xc.device)
    m = i.numel()
    lo, hi, frac = quantile_ranks(m, alpha)
    g = torch.arange(c, device=xc.device).repeat_interleave(m)
    d = pair_distances64(xc, g, i.repeat(c), j.repeat(c)).reshape(c, m)
    a, b = kth(d, (lo, hi))
    return lerp(a, b, frac)


def cpu_array(x: torch.Tensor) -> np.ndarray:
    """A C-contiguous float32 or float64 numpy view (or copy) of a CPU tensor for the kernels.

    Other floating dtypes (float16, bfloat16) convert to float32 exactly.
    """
    if x.dtype not in (torch.float32, torch.float64):
        x = x.to(torch.float32)
    return np.ascontiguousarray(x.detach().numpy())


def screenable(diag: torch.Tensor) -> bool:
    """True when every float32 squared norm lies in the range where the bound is proven."""
    return bool(((diag >= _SCREEN_MIN) & (diag <= _SCREEN_MAX)).all())


def screened_cosines(gram: torch.Tensor, flat_pairs, i, j) -> torch.Tensor:
    """c̃ = G̃_ij/√(G̃_ii G̃_jj) in float32 for the pairs i<j, from a float32 Gram ``(c, k, k)``."""
    c, k, _ = gram.shape
    r = torch.diagonal(gram, dim1=1, dim2=2).rsqrt()
    cos = gram.reshape(c, k * k).index_select(1, flat_pairs)
    return cos.mul_(r.index_select(1, i)).mul_(r.index_select(1, j))


def screen_margin(eps: float) -> float:
    """2ε_c rounded **up** to a float32, the window half-width of :func:`screened_quantile`.

    The thresholds C ± margin are float32 sums (the cosines' dtype). With margin ≥ 2ε_c exactly
    representable, every rounding direction keeps the proof's sets: a float32 c̃ above
    fl(C_lo + margin) is above C_lo + 2ε_c (no float32 lies strictly between a rounded-down sum
    and the real one), and one below fl(C_hi − margin) is below C_hi − 2ε_c. Rounding 2ε_c to the
    nearest float32 instead could make the window narrower than the proof allows by an ulp.
    """
    m32 = np.float32(2 * eps)
    return float(m32 if float(m32) >= 2 * eps else np.nextafter(m32, np.float32(np.inf)))


def screened_quantile(
    xc: torch.Tensor, cos: torch.Tensor, alpha: float, eps: float, i, j, rows: RowBuffers = None
) -> torch.Tensor:
    """Exact float64 distance quantile per group from screened cosines ``cos`` ``(c, m)``.

    Distances rank opposite to cosines: the lo-th smallest distance is the (m−1−lo)-th smallest
    cosine. Candidates: cosines within 2ε_c of the two deciding screened cosines; ``n_near``
    pairs have a cosine above them, hence a smaller distance than every candidate's rank range.
    The quantile's two order statistics are then the (lo − n_near)-th and (hi − n_near)-th
    smallest float64 distances among a group's candidates. ``rows``: buffers for the recompute.
    """
    c, m = cos.shape
    lo, hi, frac = quantile_ranks(m, alpha)
    margin = screen_margin(eps)
    c_hi, c_lo = kth(cos, (m - 1 - hi, m - 1 - lo))  # cosine of d_(hi) ≤ cosine of d_(lo)
    near = cos > (c_lo + margin).unsqueeze(1)
    cand = (cos >= (c_hi - margin).unsqueeze(1)) & ~near
    n_near = near.sum(1)
    g, p = cand.nonzero(as_tuple=True)
    exact = pair_distances64(xc, g, i.index_select(0, p), j.index_select(0, p), rows)
    # candidates ascending within each group: sort by value, then stably by group
    order = torch.sort(exact).indices
    order = order.index_select(0, torch.sort(g.index_select(0, order), stable=True).indices)
    exact = exact.index_select(0, order)
    counts = torch.bincount(g, minlength=c)
    starts = torch.cumsum(counts, 0) - counts
    a = exact.index_select(0, starts + lo - n_near)
    b = exact.index_select(0, starts + hi - n_near)
    return lerp(a, b, frac)
