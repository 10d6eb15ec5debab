"""LLVM IR building blocks for the compiled CPU kernels, where numba's own code falls short
(internal).

- :func:`prefetch_group`: ``llvm.prefetch`` of one group's rows ahead of its use;
- :func:`fma64`: the fused multiply-add, rounded once (``_libm64``'s polynomial);
- :func:`float64_bits`, :func:`float64_from_bits`: a float64 read as its int64 bit pattern and
  back (2ⁿ from the exponent bits in ``_libm64``);
- :func:`lane_sums`, :func:`lane_sums2`: eight-lane float64 sums of squares written as
  ``<8 x double>`` vector IR without fast-math flags, so every lane is an IEEE sequential sum
  whatever vector width the CPU lowers it to (one zmm, two ymm, four xmm): vector speed with the
  same bits on every CPU. numba leaves the same eight scalar accumulators scalar.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# the prefetch intrinsic's name carries its pointer type: "p0" with LLVM's opaque pointers
# (llvmlite on LLVM ≥ 15 prints pointers as "ptr"), "p0i8" with typed ones
_OPAQUE_POINTERS = str(ir.IntType(8).as_pointer()) == "ptr"
_PREFETCH_NAME = "llvm.prefetch.p0" if _OPAQUE_POINTERS else "llvm.prefetch.p0i8"


@intrinsic
def prefetch_group(typingctx, x, g):
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


def _is_row(t) -> bool:
    return (
        isinstance(t, types.Array)
        and t.ndim == 1
        and t.layout == "C"
        and t.dtype in (types.float32, types.float64)
    )


def _emit_lane_sums(context, builder, row_types, rows, scales, n):
    """LLVM IR of the lane sums of one or more independent streams (see :func:`lane_sums2`).

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
def lane_sums(typingctx, a, b, scale, n_blocks):
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
def lane_sums2(typingctx, a, b, scale_ab, c, d, scale_cd, n_blocks):
    """:func:`lane_sums` of (a, b, scale_ab) and of (c, d, scale_cd) in one loop: 16 float64.

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


@intrinsic
def float64_from_bits(typingctx, bits):
    """The float64 whose IEEE bit pattern is the int64 ``bits`` (an LLVM ``bitcast``).

    numba has no scalar bit reinterpretation; this one inlines to a register move, so a loop
    that builds 2ⁿ from its exponent bits (``_libm64``) still vectorises.
    """
    if bits != types.int64:
        return None
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def float64_bits(typingctx, x):
    """The IEEE bit pattern of the float64 ``x`` as an int64 (an LLVM ``bitcast``)."""
    if x != types.float64:
        return None
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def fma64(typingctx, a, b, c):
    """a·b + c rounded once (``llvm.fma.f64``): an IEEE operation with one result on every CPU.

    Vectorised loops lower it to ``vfmadd`` (every AVX2 CPU has FMA3); a CPU without FMA gets
    libm's software fma: slower, same bits. numba's own ``a * b + c`` rounds twice, and LLVM may
    contract it only under fast-math, which would make the bits depend on the CPU.
    """
    if not (a == types.float64 and b == types.float64 and c == types.float64):
        return None
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(d, [d, d, d]), "llvm.fma.f64"
        )
        return builder.call(fn, list(args))

    return sig, codegen
