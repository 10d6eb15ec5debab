"""numpy building blocks of the pair kernels (internal): chunks of groups transposed to
``(k, c)``, reusable ``(pairs, c)`` buffers, and exact bit tricks (−|x| by the sign bit).

Shared by :mod:`._pair_kernels` and :mod:`._soft_ranknet_np` (kept apart from both so that neither
imports the other). Why this layout is fast: see :mod:`._pair_kernels`.
"""

from __future__ import annotations

import numpy as np

# Elements of one (pairs, c) buffer per chunk: 1 MiB in float64, so the 3–5 buffers of a kernel
# stay in the L2/L3 cache.
BUFFER_ELEMENTS = 2**17


def _sign_bit(dtype) -> tuple[np.dtype, object]:
    if dtype == np.float64:
        return np.dtype(np.uint64), np.uint64(1 << 63)
    return np.dtype(np.uint32), np.uint32(1 << 31)


class _Chunks:
    """Transposed chunks ``(k, c)`` of ``(n, k)`` arrays and ``(pairs, c)`` work buffers.

    ``contiguous``: a chunk narrower than the buffers (the last one) gets contiguous views of
    their start (:func:`_leading`), so flat indices and ravel() views work on it; otherwise
    column slices (the other kernels' bits as they were).
    """

    def __init__(
        self, arrays: list[np.ndarray], n_buffers: int, bool_buffers: int = 0, contiguous=False
    ):
        self.arrays = arrays
        self.n, self.k = arrays[0].shape
        self.pairs = self.k * (self.k - 1) // 2
        self.cols = max(1, min(self.n, BUFFER_ELEMENTS // self.pairs))
        self.view = _leading if contiguous else lambda b, c: b[:, :c]
        dt = arrays[0].dtype
        self.items = [np.empty((self.k, self.cols), dtype=dt) for _ in arrays]
        self.buf = [np.empty((self.pairs, self.cols), dtype=dt) for _ in range(n_buffers)]
        self.bools = [np.empty((self.pairs, self.cols), dtype=bool) for _ in range(bool_buffers)]

    def __iter__(self):
        for start in range(0, self.n, self.cols):
            c = min(self.cols, self.n - start)
            items = []
            for a, item in zip(self.arrays, self.items):
                items.append(self.view(item, c))
                np.copyto(items[-1], a[start : start + c].T)
            yield (
                slice(start, start + c),
                items,
                [self.view(b, c) for b in self.buf],
                [self.view(b, c) for b in self.bools],
            )

    def margins(self, items: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out[p] = t_i − t_j`` in the diagonal order of ``pairs.margins_any_order``."""
        k, off = self.k, 0
        for r in range(1, k):
            np.subtract(items[: k - r], items[r:], out=out[off : off + k - r])
            off += k - r
        return out

    def compare(self, items: np.ndarray, op, out: np.ndarray) -> np.ndarray:
        """``out[p] = op(t_i, t_j)`` for the pairs, same order as :meth:`margins`."""
        k, off = self.k, 0
        for r in range(1, k):
            op(items[: k - r], items[r:], out=out[off : off + k - r])
            off += k - r
        return out


def _leading(buf: np.ndarray, c: int) -> np.ndarray:
    """A contiguous ``(rows, c)`` view of the start of a ``(rows, cols)`` buffer: a chunk narrower
    than the buffer (the last one) keeps flat indexing and ravel() views."""
    return buf.reshape(-1)[: buf.shape[0] * c].reshape(buf.shape[0], c)


def _divide_tau(m: np.ndarray, tau, sl: slice) -> None:
    if isinstance(tau, float):
        if tau != 1.0:
            np.divide(m, tau, out=m)
    else:
        np.divide(m, tau[sl][None, :], out=m)


def _neg_abs(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = −|x| by setting the sign bit (exact)."""
    uint, sign = _sign_bit(x.dtype)
    np.bitwise_or(x.view(uint), sign, out=out.view(uint))
    return out
