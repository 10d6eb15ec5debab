"""CPU kernel of the exact essential diameter: one compiled pass per group (internal).

Same algorithm and proof as ``theory/_diameter.py`` (float32 Gram screen within ε_c, float64
recompute of the pairs that can still decide the quantile), fused per group so that a group's
k × D rows are read from memory once and every later step works in the L1 cache.

Why compiled code (numba) instead of ``torch.bmm`` plus tensor bookkeeping (issue 15 asks for
≥ 20× the per-group ``pdist`` loop). Measured on 100,000 groups × 16 × 384 float32, one core,
process CPU time, a 2-core AMD EPYC (AVX-512):
- the float32 Gram matrices by ``torch.bmm`` (MKL's batched GEMM) take 0.34–0.40 s: at k = 16 a
  GEMM is bound by its per-block work, and it computes all k² entries where k(k+1)/2 are needed;
  the register tiles of :func:`_gram_upper` take 0.068 s on data in cache, 0.17 s streamed from
  memory and 0.13 s with the next groups prefetched (:func:`_prefetch_group`; one plain read of
  the 2.46 GB input takes 0.11 s);
- the tensor path's masks, gathers and sorts over a whole chunk cost another 0.25 s; here the
  same steps are a few hundred operations per group on data already in cache;
- the whole exact estimator: 0.57 s → 0.21 s, 8.7× → 27× the pdist loop measured in the same
  benchmark run (``benchmarks/bench_theory_estimators.py``).
The float64 recompute is LLVM vector code without fast-math (:func:`_lane_sums`): eight lanes,
each an IEEE sequential sum, combined in a fixed tree, so a distance has the same bits whatever
the CPU's vector width. Only the float32 Gram uses fast-math (reassociation, FMA contraction):
the screen bound ε_c holds for any summation order, with or without FMA (proof step 1a), so the
result does not depend on it.

The float64 distance of a pair (``_dist64``) is ‖s·x_i − x_j‖ / ‖x_j‖ with s = ‖x_j‖ / ‖x_i‖,
every norm the square root of the lane sum ``_sumsq8``: lane l accumulates the squares of the
components d ≡ l (mod 8) in order, then ((s₀+s₁)+(s₂+s₃))+((s₄+s₅)+(s₆+s₇)). Identical rows give
exactly 0. :func:`all_pairs_quantiles` evaluates the same function on every pair: the exactness
reference the screened kernel must match bit for bit.
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, config
from numba.extending import intrinsic

_SCREEN_MIN, _SCREEN_MAX = 2.0**-60, 2.0**60
# beyond this many ranks from either end, the two order statistics come from a full sort
_SMALL_RANK = 16
# groups fetched ahead of the one being computed (see _prefetch_group)
_PREFETCH_AHEAD = 2
# the intrinsic's name carries its pointer type: "p0" with LLVM's opaque pointers (llvmlite built
# on LLVM ≥ 15 prints pointers as "ptr"), "p0i8" with typed ones


def _has_avx512() -> bool:
    """Whether numba compiles for AVX-512 (32 vector registers): its target features."""
    if config.CPU_FEATURES:  # NUMBA_CPU_FEATURES overrides the host's
        return "+avx512f" in config.CPU_FEATURES.split(",")
    return bool(llvm.get_host_cpu_features().get("avx512f", False))


# the Gram's tile shape (see _gram_upper); any value gives the same result
WIDE_TILES = _has_avx512()
_OPAQUE_POINTERS = str(ir.IntType(8).as_pointer()) == "ptr"
_PREFETCH_NAME = "llvm.prefetch.p0" if _OPAQUE_POINTERS else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch_group(typingctx, x, g):
    """Prefetch every 64-byte line of group ``x[g]`` (``x`` C-contiguous 3-D) for reading.

    Measured (100,000 groups × 16 × 384 float32, one core): the float32 Gram pass alone takes
    0.068 s on data in cache, 0.11 s is one plain read of the input, and without prefetching
    the pass takes 0.17 s — compute and memory add up instead of overlapping. Fetching the
    group two ahead brings it to 0.13 s. LLVM's ``llvm.prefetch`` (locality 3, data cache).
    """
    if not (isinstance(x, types.Array) and x.ndim == 3 and x.layout == "C"):
        return None
    sig = types.void(x, types.intp)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32, i64 = ir.IntType(32), ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _PREFETCH_NAME)
        stride = cgutils.unpack_tuple(builder, arr.strides)[0]
        start = builder.add(builder.ptrtoint(arr.data, i64), builder.mul(args[1], stride))
        line = ir.Constant(i64, 64)
        with cgutils.for_range_slice(builder, ir.Constant(i64, 0), stride, line) as (off, _):
            ptr = builder.inttoptr(builder.add(start, off), i8p)
            flags = [ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
            builder.call(fn, [ptr, *flags])
        return context.get_dummy_value()

    return sig, codegen


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _dot32(x, i, j):
    """Σ_d fl32(x_id)·fl32(x_jd) in float32, any summation order (bound of proof step 1a)."""
    s = np.float32(0.0)
    for d in range(x.shape[1]):
        s += np.float32(x[i, d]) * np.float32(x[j, d])
    return s


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _tile(x, i0, j0, gram):
    """G_ij for i ∈ [i0, i0+4), j ∈ [j0, j0+4): 16 accumulators, each loaded vector feeds 4 FMAs."""
    a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = np.float32(0.0)
    a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = np.float32(0.0)
    for d in range(x.shape[1]):
        p0 = np.float32(x[i0, d])
        p1 = np.float32(x[i0 + 1, d])
        p2 = np.float32(x[i0 + 2, d])
        p3 = np.float32(x[i0 + 3, d])
        q0 = np.float32(x[j0, d])
        q1 = np.float32(x[j0 + 1, d])
        q2 = np.float32(x[j0 + 2, d])
        q3 = np.float32(x[j0 + 3, d])
        a00 += p0 * q0
        a01 += p0 * q1
        a02 += p0 * q2
        a03 += p0 * q3
        a10 += p1 * q0
        a11 += p1 * q1
        a12 += p1 * q2
        a13 += p1 * q3
        a20 += p2 * q0
        a21 += p2 * q1
        a22 += p2 * q2
        a23 += p2 * q3
        a30 += p3 * q0
        a31 += p3 * q1
        a32 += p3 * q2
        a33 += p3 * q3
    gram[i0, j0], gram[i0, j0 + 1], gram[i0, j0 + 2], gram[i0, j0 + 3] = a00, a01, a02, a03
    gram[i0 + 1, j0], gram[i0 + 1, j0 + 1], gram[i0 + 1, j0 + 2] = a10, a11, a12
    gram[i0 + 1, j0 + 3], gram[i0 + 2, j0], gram[i0 + 2, j0 + 1] = a13, a20, a21
    gram[i0 + 2, j0 + 2], gram[i0 + 2, j0 + 3], gram[i0 + 3, j0] = a22, a23, a30
    gram[i0 + 3, j0 + 1], gram[i0 + 3, j0 + 2], gram[i0 + 3, j0 + 3] = a31, a32, a33


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _tile_4x2(x, i0, j0, gram):
    """G_ij for i ∈ [i0, i0+4), j ∈ {j0, j0+1}: 8 accumulators, for 16 vector registers."""
    a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = np.float32(0.0)
    for d in range(x.shape[1]):
        p0 = np.float32(x[i0, d])
        p1 = np.float32(x[i0 + 1, d])
        p2 = np.float32(x[i0 + 2, d])
        p3 = np.float32(x[i0 + 3, d])
        q0 = np.float32(x[j0, d])
        q1 = np.float32(x[j0 + 1, d])
        a00 += p0 * q0
        a01 += p0 * q1
        a10 += p1 * q0
        a11 += p1 * q1
        a20 += p2 * q0
        a21 += p2 * q1
        a30 += p3 * q0
        a31 += p3 * q1
    gram[i0, j0], gram[i0, j0 + 1], gram[i0 + 1, j0], gram[i0 + 1, j0 + 1] = a00, a01, a10, a11
    gram[i0 + 2, j0], gram[i0 + 2, j0 + 1], gram[i0 + 3, j0], gram[i0 + 3, j0 + 1] = (
        a20,
        a21,
        a30,
        a31,
    )


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _diagonal_tile(x, i0, gram):
    """G_ij for i0 ≤ i ≤ j < i0+4: the 10 entries on and above the diagonal of a 4 × 4 tile."""
    a00 = a01 = a02 = a03 = a11 = a12 = a13 = a22 = a23 = a33 = np.float32(0.0)
    for d in range(x.shape[1]):
        p0 = np.float32(x[i0, d])
        p1 = np.float32(x[i0 + 1, d])
        p2 = np.float32(x[i0 + 2, d])
        p3 = np.float32(x[i0 + 3, d])
        a00 += p0 * p0
        a01 += p0 * p1
        a02 += p0 * p2
        a03 += p0 * p3
        a11 += p1 * p1
        a12 += p1 * p2
        a13 += p1 * p3
        a22 += p2 * p2
        a23 += p2 * p3
        a33 += p3 * p3
    gram[i0, i0], gram[i0, i0 + 1], gram[i0, i0 + 2], gram[i0, i0 + 3] = a00, a01, a02, a03
    gram[i0 + 1, i0 + 1], gram[i0 + 1, i0 + 2], gram[i0 + 1, i0 + 3] = a11, a12, a13
    gram[i0 + 2, i0 + 2], gram[i0 + 2, i0 + 3], gram[i0 + 3, i0 + 3] = a22, a23, a33


@njit(fastmath={"reassoc", "contract", "nsz"}, cache=True)
def _gram_upper(x, gram, wide):
    """Float32 Gram entries G_ij, i ≤ j, of one group ``x`` ``(k, D)`` into ``gram`` ``(k, k)``.

    4 × 4 tiles of rows keep their products in registers: each loaded vector of a row feeds four
    FMAs instead of one, and the tiles on the diagonal compute only their 10 upper entries, so
    the FMAs are exactly the k(k+1)/2·D needed when 4 divides k (136·D for k = 16, against 160·D
    with full diagonal tiles). Off the diagonal, ``wide`` (:data:`WIDE_TILES`, 32 vector
    registers: AVX-512) takes 4 × 4 tiles, else two 4 × 2 tiles: 16 accumulators and 8 loaded
    rows overflow AVX2's 16 registers. Measured on the Gram pass alone, data in cache, AVX2 code
    (numba targeting haswell on the AVX-512 machine): 4 × 4 0.129 s, 4 × 2 0.102 s; AVX-512
    code: 4 × 4 0.066 s, 4 × 2 0.080 s. Rows beyond the last full tile take :func:`_dot32`.
    """
    k, dim = x.shape
    k4 = k - k % 4
    for i0 in range(0, k4, 4):
        _diagonal_tile(x, i0, gram)
        for j0 in range(i0 + 4, k4, 4):
            if wide:
                _tile(x, i0, j0, gram)
            else:
                _tile_4x2(x, i0, j0, gram)
                _tile_4x2(x, i0, j0 + 2, gram)
    for i in range(k):
        for j in range(max(i, k4), k):
            gram[i, j] = _dot32(x, i, j)


def _is_row(t) -> bool:
    return (
        isinstance(t, types.Array)
        and t.ndim == 1
        and t.layout == "C"
        and t.dtype in (types.float32, types.float64)
    )


def _emit_lane_sums(context, builder, row_types, rows, scales, n):
    """LLVM IR of the lane sums of one or more independent streams (see :func:`_lane_sums2`).

    ``rows``: (a, b) row pairs per stream; ``scales``: one float64 per stream. Returns, per
    stream, its eight lane values. The streams share the loop only (independent accumulators:
    two dependency chains per iteration instead of one); each lane's arithmetic is unchanged.
    """
    vd = ir.VectorType(ir.DoubleType(), 8)
    i32 = ir.IntType(32)
    zero = ir.Constant(vd, [0.0] * 8)
    undef = ir.Constant(vd, ir.Undefined)
    mask = ir.Constant(ir.VectorType(i32, 8), [0] * 8)
    splats = [
        builder.shuffle_vector(builder.insert_element(undef, v, ir.Constant(i32, 0)), undef, mask)
        for v in scales
    ]
    arrays = [context.make_array(t)(context, builder, v) for t, v in zip(row_types, rows)]
    intp = n.type
    entry = builder.block
    loop = builder.append_basic_block("lanes.loop")
    done = builder.append_basic_block("lanes.done")
    builder.cbranch(builder.icmp_signed(">", n, ir.Constant(intp, 0)), loop, done)
    builder.position_at_end(loop)
    t = builder.phi(intp)  # LLVM wants every phi at the top of the block
    t.add_incoming(ir.Constant(intp, 0), entry)
    accs = [builder.phi(vd) for _ in splats]
    for acc in accs:
        acc.add_incoming(zero, entry)
    offset = builder.mul(t, ir.Constant(intp, 8))

    def load8(arr, ty):
        elt = context.get_data_type(ty.dtype)
        ptr = builder.bitcast(builder.gep(arr.data, [offset]), ir.VectorType(elt, 8).as_pointer())
        v = builder.load(ptr, align=ty.dtype.bitwidth // 8)
        return v if isinstance(elt, ir.DoubleType) else builder.fpext(v, vd)

    nexts = []
    for stream, (splat, acc) in enumerate(zip(splats, accs)):
        a, b = (load8(arrays[2 * stream + u], row_types[2 * stream + u]) for u in (0, 1))
        v = builder.fsub(builder.fmul(a, splat), b)
        nexts.append(builder.fadd(acc, builder.fmul(v, v)))
    t_next = builder.add(t, ir.Constant(intp, 1))
    t.add_incoming(t_next, loop)
    for acc, nxt in zip(accs, nexts):
        acc.add_incoming(nxt, loop)
    builder.cbranch(builder.icmp_signed("<", t_next, n), loop, done)
    builder.position_at_end(done)
    results = [builder.phi(vd) for _ in nexts]
    for res, nxt in zip(results, nexts):
        res.add_incoming(zero, entry)
        res.add_incoming(nxt, loop)
    return [
        [builder.extract_element(r, ir.Constant(i32, lane)) for lane in range(8)] for r in results
    ]


@intrinsic
def _lane_sums(typingctx, a, b, scale, n_blocks):
    """Eight lane sums s_l = Σ_{t < n_blocks} (scale·a[8t+l] − b[8t+l])², l = 0..7, in float64.

    Written as LLVM vector IR (``<8 x double>`` multiply, subtract, add, without fast-math
    flags): every lane is the IEEE sequential sum, whatever vector width the CPU lowers it to
    (one zmm, two ymm, four xmm), so the bits do not depend on the CPU. numba's own code for
    the same eight scalar accumulators stays scalar (LLVM does not vectorise the chains), at
    1.7x the time on the recompute (measured, 600,000 row pairs × 384: 0.23 s against 0.136 s).
    ``a``, ``b``: C-contiguous 1-D float32 or float64 rows of length ≥ 8·n_blocks (float32
    components are widened exactly). Returns a tuple of 8 float64.
    """
    if not (_is_row(a) and _is_row(b)):
        return None
    sig = types.UniTuple(types.float64, 8)(a, b, types.float64, types.intp)

    def codegen(context, builder, signature, args):
        (lanes,) = _emit_lane_sums(
            context, builder, signature.args[:2], args[:2], [args[2]], args[3]
        )
        return context.make_tuple(builder, signature.return_type, lanes)

    return sig, codegen


@intrinsic
def _lane_sums2(typingctx, a, b, scale_ab, c, d, scale_cd, n_blocks):
    """:func:`_lane_sums` of (a, b, scale_ab) and of (c, d, scale_cd) in one loop: 16 float64.

    Same bits as two calls; twice the work per iteration on independent accumulators, so the
    add latency of one chain hides behind the other (the recompute is latency-bound: ~2.05
    candidate pairs per group, three short sums each).
    """
    if not all(_is_row(t) for t in (a, b, c, d)):
        return None
    sig = types.UniTuple(types.float64, 16)(a, b, types.float64, c, d, types.float64, types.intp)

    def codegen(context, builder, signature, args):
        row_types = [signature.args[u] for u in (0, 1, 3, 4)]
        rows = [args[u] for u in (0, 1, 3, 4)]
        lanes = _emit_lane_sums(context, builder, row_types, rows, [args[2], args[5]], args[6])
        return context.make_tuple(builder, signature.return_type, lanes[0] + lanes[1])

    return sig, codegen


@njit(cache=True)
def _finish(s0, s1, s2, s3, s4, s5, s6, s7, x, i, scale, y, j, d8):
    """Add the tail components d ≥ d8 to their lanes (d mod 8), then the fixed tree."""
    for d in range(d8, x.shape[1]):
        v = np.float64(x[i, d]) * scale - np.float64(y[j, d])
        lane = d - d8
        if lane == 0:
            s0 += v * v
        elif lane == 1:
            s1 += v * v
        elif lane == 2:
            s2 += v * v
        elif lane == 3:
            s3 += v * v
        elif lane == 4:
            s4 += v * v
        elif lane == 5:
            s5 += v * v
        else:
            s6 += v * v
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(cache=True)
def _sumsq8(x, i, scale, y, j):
    """Σ_d (scale·x_id − y_jd)² in float64: lane l sums the components d ≡ l (mod 8) in order,
    then ((s₀+s₁)+(s₂+s₃))+((s₄+s₅)+(s₆+s₇)). ``x``, ``y`` C-contiguous ``(·, D)``."""
    n_blocks = x.shape[1] // 8
    s = _lane_sums(x[i], y[j], scale, n_blocks)
    return _finish(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], x, i, scale, y, j, 8 * n_blocks)


@njit(cache=True)
def _sumsq8_2(x, i, scale_i, y, j, u, scale_u, z, v):
    """(:func:`_sumsq8` (x, i, scale_i, y, j), :func:`_sumsq8` (x, u, scale_u, z, v)), one loop."""
    n_blocks = x.shape[1] // 8
    d8 = 8 * n_blocks
    s = _lane_sums2(x[i], y[j], scale_i, x[u], z[v], scale_u, n_blocks)
    first = _finish(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], x, i, scale_i, y, j, d8)
    second = _finish(s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15], x, u, scale_u, z, v, d8)
    return first, second


@njit(cache=True)
def _norm64(x, i, zero_row):
    """‖x_i‖₂ in float64 (``zero_row`` a ``(1, D)`` zero array, so the lane sum is Σ x_id²)."""
    return np.sqrt(_sumsq8(x, i, 1.0, zero_row, 0))


@njit(cache=True)
def _dist64(x, i, j, norm_i, norm_j):
    """‖x_i/‖x_i‖ − x_j/‖x_j‖‖₂ as ‖(‖x_j‖/‖x_i‖)·x_i − x_j‖ / ‖x_j‖, in float64."""
    return np.sqrt(_sumsq8(x, i, norm_j / norm_i, x, j)) / norm_j


@njit(cache=True)
def _recompute(xg, ci, cj, n_cand, norms, rows, zero_row, dist):
    """:func:`_dist64` of the candidate pairs (ci[c], cj[c]) into ``dist[:n_cand]``.

    The norms of the rows involved, then the distances, two at a time (:func:`_sumsq8_2`):
    the same bits as one at a time, at a little over half the latency.
    """
    k = xg.shape[0]
    for a in range(k):
        norms[a] = -1.0
    n_rows = 0
    for c in range(n_cand):
        for a in (ci[c], cj[c]):
            if norms[a] == -1.0:
                norms[a] = 0.0  # wanted
                rows[n_rows] = a
                n_rows += 1
    for t in range(0, n_rows - 1, 2):
        a, b = rows[t], rows[t + 1]
        sa, sb = _sumsq8_2(xg, a, 1.0, zero_row, 0, b, 1.0, zero_row, 0)
        norms[a], norms[b] = np.sqrt(sa), np.sqrt(sb)
    if n_rows % 2:
        norms[rows[n_rows - 1]] = _norm64(xg, rows[n_rows - 1], zero_row)
    for c in range(0, n_cand - 1, 2):
        i, j, u, v = ci[c], cj[c], ci[c + 1], cj[c + 1]
        si, su = norms[j] / norms[i], norms[v] / norms[u]
        a, b = _sumsq8_2(xg, i, si, xg, j, u, su, xg, v)
        dist[c], dist[c + 1] = np.sqrt(a) / norms[j], np.sqrt(b) / norms[v]
    if n_cand % 2:
        c = n_cand - 1
        dist[c] = _dist64(xg, ci[c], cj[c], norms[ci[c]], norms[cj[c]])


@njit(cache=True)
def _two_order_stats(v, m, r1, r2, buf):
    """The r1-th and r2-th smallest (0-based, r1 ≤ r2) of ``v[:m]``, ties with multiplicity.

    Extreme ranks (the usual α near 0 or 1) keep the few smallest or largest values in ``buf``
    by insertion, O(m·r); other ranks sort a copy.
    """
    if r2 < _SMALL_RANK:
        t = r2 + 1
        n = 0
        for p in range(m):
            x = v[p]
            if n == t:
                if x >= buf[t - 1]:
                    continue
                n -= 1
            q = n
            while q > 0 and buf[q - 1] > x:
                buf[q] = buf[q - 1]
                q -= 1
            buf[q] = x
            n += 1
        return buf[r1], buf[r2]
    if m - 1 - r1 < _SMALL_RANK:
        t = m - r1  # the t largest, kept in descending order
        n = 0
        for p in range(m):
            x = v[p]
            if n == t:
                if x <= buf[t - 1]:
                    continue
                n -= 1
            q = n
            while q > 0 and buf[q - 1] < x:
                buf[q] = buf[q - 1]
                q -= 1
            buf[q] = x
            n += 1
        return buf[m - 1 - r1], buf[m - 1 - r2]
    s = np.sort(v[:m])
    return s[r1], s[r2]


@njit(cache=True)
def _lerp(a, b, frac):
    """numpy's two-sided linear interpolation (from the upper point when frac ≥ ½)."""
    if frac == 0.0:
        return a
    diff = b - a
    if frac >= 0.5:
        return b - diff * (1.0 - frac)
    return a + diff * frac


@njit(cache=True)
def _insertion_sort(v, n):
    for p in range(1, n):
        x = v[p]
        q = p
        while q > 0 and v[q - 1] > x:
            v[q] = v[q - 1]
            q -= 1
        v[q] = x


@njit(cache=True)
def _screened_cosines(xg, gram, r, cos, wide):
    """c̃_p = G̃_ij·r_i·r_j, r_i = 1/√G̃_ii, in float32 for the pairs i<j of one group into ``cos``.

    False (nothing computed) when a squared norm G̃_ii leaves [2⁻⁶⁰, 2⁶⁰], the range where the
    screen bound is proven (zero, tiny, huge or non-finite rows: NaN fails both comparisons).
    """
    k = xg.shape[0]
    _gram_upper(xg, gram, wide)
    one = np.float32(1.0)
    for a in range(k):
        gd = gram[a, a]
        if not (gd >= _SCREEN_MIN and gd <= _SCREEN_MAX):
            return False
        r[a] = one / np.sqrt(gd)
    p = 0
    for i in range(k):
        for j in range(i + 1, k):
            cos[p] = gram[i, j] * r[i] * r[j]
            p += 1
    return True


@njit(cache=True)
def screened_quantiles(x, lo, hi, frac, margin, out, unscreened, wide):
    """Exact float64 distance quantile of every group of ``x`` ``(n, k, D)`` into ``out`` ``(n,)``.

    ``lo, hi, frac``: :func:`locent.theory._diameter.quantile_ranks` of m = k(k−1)/2; ``margin``
    a float32, 2ε_c rounded up (``_diameter.screen_margin``). Groups whose float32 squared norms
    leave [2⁻⁶⁰, 2⁶⁰] (zero, tiny, huge or non-finite rows) are not computed: their indices go to
    ``unscreened`` and the count is returned, for the caller's validation and all-pairs path.
    ``wide``: :data:`WIDE_TILES` (the Gram's tile shape; the result does not depend on it).
    """
    n, k, dim = x.shape
    m = k * (k - 1) // 2
    gram = np.empty((k, k), np.float32)
    cos = np.empty(m, np.float32)
    cos_buf = np.empty(m, np.float32)
    r = np.empty(k, np.float32)
    dist = np.empty(m, np.float64)
    norms = np.empty(k, np.float64)
    ci, cj, rows = np.empty(m, np.int64), np.empty(m, np.int64), np.empty(k, np.int64)
    zero_row = np.zeros((1, dim), x.dtype)
    rank_far, rank_near = m - 1 - hi, m - 1 - lo  # cosine ranks of d_(hi) and d_(lo)
    n_bad = 0
    for g in range(n):
        if g + _PREFETCH_AHEAD < n:
            _prefetch_group(x, g + _PREFETCH_AHEAD)
        xg = x[g]
        if not _screened_cosines(xg, gram, r, cos, wide):
            unscreened[n_bad] = g
            n_bad += 1
            out[g] = np.nan
            continue
        c_far, c_near = _two_order_stats(cos, m, rank_far, rank_near, cos_buf)
        near_above = c_near + margin  # float32, as in the proof's rounding argument
        far_below = c_far - margin
        n_near = 0
        n_cand = 0
        p = 0
        for i in range(k):
            for j in range(i + 1, k):
                c = cos[p]
                p += 1
                if c > near_above:
                    n_near += 1
                elif c >= far_below:
                    ci[n_cand], cj[n_cand] = i, j
                    n_cand += 1
        _recompute(xg, ci, cj, n_cand, norms, rows, zero_row, dist)
        _insertion_sort(dist, n_cand)
        out[g] = _lerp(dist[lo - n_near], dist[hi - n_near], frac)
    return n_bad


@njit(cache=True)
def screened_float32_quantiles(x, lo, hi, frac, out, unscreened, wide):
    """``precision="float32"``: the quantile of the screened distances √(2 − 2c̃), no recompute.

    Every step in float32 as the tensor path (distances, order statistics, the lerp), written
    to ``out`` (float64) ``(n,)``; unscreenable groups as in :func:`screened_quantiles`.
    """
    n, k, _ = x.shape
    m = k * (k - 1) // 2
    gram = np.empty((k, k), np.float32)
    cos = np.empty(m, np.float32)
    r = np.empty(k, np.float32)
    dist = np.empty(m, np.float32)
    buf = np.empty(m, np.float32)
    two, zero = np.float32(2.0), np.float32(0.0)
    n_bad = 0
    for g in range(n):
        if g + _PREFETCH_AHEAD < n:
            _prefetch_group(x, g + _PREFETCH_AHEAD)
        if not _screened_cosines(x[g], gram, r, cos, wide):
            unscreened[n_bad] = g
            n_bad += 1
            out[g] = np.nan
            continue
        for p in range(m):
            dist[p] = np.sqrt(max(two - two * cos[p], zero))
        a, b = _two_order_stats(dist, m, lo, hi, buf)
        out[g] = _lerp32(a, b, frac)
    return n_bad


@njit(cache=True)
def _lerp32(a, b, frac):
    """:func:`_lerp` in float32 (the weights rounded to float32, as torch does for a scalar)."""
    if frac == 0.0:
        return a
    diff = b - a
    if frac >= 0.5:
        return b - diff * np.float32(1.0 - frac)
    return a + diff * np.float32(frac)


@njit(cache=True)
def all_pair_distances(x, out):
    """Float64 distance (:func:`_dist64`) of every pair i<j of every group: ``out`` ``(n, m)``."""
    n, k, dim = x.shape
    norms = np.empty(k, np.float64)
    zero_row = np.zeros((1, dim), x.dtype)
    for g in range(n):
        xg = x[g]
        for a in range(k):
            norms[a] = _norm64(xg, a, zero_row)
        p = 0
        for i in range(k):
            for j in range(i + 1, k):
                out[g, p] = _dist64(xg, i, j, norms[i], norms[j])
                p += 1


@njit(cache=True)
def all_pairs_quantiles(x, lo, hi, frac, out):
    """The same quantile from every pair's float64 distance (the exactness reference)."""
    n, k, _ = x.shape
    m = k * (k - 1) // 2
    dist = np.empty((1, m), np.float64)
    buf = np.empty(m, np.float64)
    for g in range(n):
        all_pair_distances(x[g : g + 1], dist)
        a, b = _two_order_stats(dist[0], m, lo, hi, buf)
        out[g] = _lerp(a, b, frac)
