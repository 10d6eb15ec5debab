"""Deterministic matplotlib output: Agg backend, fixed fonts/sizes/DPI, files without timestamps.

Every figure function in this package calls :func:`new_figure` (fixed size, fixed style) and the
callers write it with :func:`save_figure`, which strips the software version and the creation date
from PNG and PDF metadata so that the same inputs give byte-identical files.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)

from matplotlib.figure import Figure  # noqa: E402

from locent.provenance import atomic_write_bytes  # noqa: E402

#: Resolution of the PNG files (the PDF is vector).
DPI = 120

#: One style for every figure; DejaVu Sans ships with matplotlib, so fonts do not vary by host.
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "savefig.dpi": DPI,
    "pdf.fonttype": 42,
    "svg.hashsalt": "locent",
    "path.simplify": False,
}

#: A fixed colour per sampler name, so one sampler has one colour in every figure.
SAMPLER_COLOURS = {
    "random": "#4c72b0",
    "bm25": "#dd8452",
    "dense": "#55a868",
    "teacher": "#c44e52",
    "ensemble": "#8172b3",
}
_FALLBACK = ["#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]

# Applied process-wide: legends, colour bars and texts added after ``new_figure`` read rcParams
# when they are created, so a context manager around figure creation alone is not enough.
matplotlib.rcParams.update(STYLE)

PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}


def sampler_colour(name: str, order: list[str] | None = None) -> str:
    """The colour of sampler ``name`` (fixed for known samplers, by position otherwise)."""
    if name in SAMPLER_COLOURS:
        return SAMPLER_COLOURS[name]
    unknown = sorted(n for n in (order or [name]) if n not in SAMPLER_COLOURS)
    index = unknown.index(name) if name in unknown else 0
    return _FALLBACK[index % len(_FALLBACK)]


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, squeeze=True, **kw):
    """``(fig, axes)`` of a fixed size in inches under :data:`STYLE` (axes as ``subplots``)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=squeeze, **kw)
    return fig, axes


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure rendered as ``png`` or ``pdf`` bytes without version or date metadata."""
    if fmt not in ("png", "pdf"):
        raise ValueError(f"figure format must be 'png' or 'pdf', got {fmt!r}")
    buffer = io.BytesIO()
    metadata = PNG_METADATA if fmt == "png" else PDF_METADATA
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata=metadata)
    return buffer.getvalue()


def save_figure(fig: Figure, out_dir: str | os.PathLike, name: str) -> dict[str, Path]:
    """Write ``<out_dir>/<name>.png`` and ``.pdf`` atomically; returns ``{"png": p, "pdf": p}``.

    ``SOURCE_DATE_EPOCH`` is not needed: the PDF creation date and producer are removed.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"figure name must be a plain file stem, got {name!r}")
    out = Path(out_dir)
    paths = {}
    for fmt in ("png", "pdf"):
        paths[fmt] = atomic_write_bytes(out / f"{name}.{fmt}", figure_bytes(fig, fmt))
    return paths


def log_axes(ax, x: bool = True, y: bool = True) -> None:
    """Log scales that always carry tick labels.

    Minor tick labels are hidden (on ranges over a decade they overlap). A range that does not
    reach from one power of ten to the next has no major tick at all, so such an axis gets
    about four labelled ticks at round values instead (``_label_short_log_axis``). Call this
    after plotting: the data limits decide.
    """
    from matplotlib.ticker import NullFormatter

    for on, axis, set_scale in ((x, ax.xaxis, ax.set_xscale), (y, ax.yaxis, ax.set_yscale)):
        if not on:
            continue
        set_scale("log")
        axis.set_minor_formatter(NullFormatter())
        _label_short_log_axis(ax, axis)


def _label_short_log_axis(ax, axis) -> None:
    """Round, labelled ticks on a log ``axis`` whose view holds fewer than two powers of ten."""
    import numpy as np
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.autoscale_view()
    lo, hi = sorted(axis.get_view_interval())
    if not (np.isfinite(lo) and np.isfinite(hi) and lo > 0 and hi > lo):
        return
    decades = np.arange(np.ceil(np.log10(lo)), np.floor(np.log10(hi)) + 1)
    if len(decades) >= 2:
        return  # matplotlib labels the powers of ten
    ticks = _round_ticks(lo, hi)
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.3g}"))
    axis.set_minor_locator(NullLocator())


def _round_ticks(lo: float, hi: float) -> list[float]:
    """3 to 7 ticks in [lo, hi] at multiples of 1, 2 or 5 × 10^k (the coarsest such step)."""
    import numpy as np

    for step in sorted((m * 10.0**k for k in range(-12, 13) for m in (1, 2, 5)), reverse=True):
        first = np.ceil(lo / step) * step
        ticks = np.arange(first, hi + step * 1e-9, step)
        ticks = ticks[(ticks >= lo) & (ticks <= hi) & (ticks > 0)]
        if 3 <= len(ticks) <= 7:
            return [float(f"{t:.12g}") for t in ticks]
    return [float(f"{lo:.3g}"), float(f"{hi:.3g}")]
