"""The diagnosis as one self-contained HTML page (inline SVG, no script, no external file).

Three figures from the per-query table of :func:`locent.realdata.diagnose.diagnose`:

- violins of Δ̂_q(0.99) per source (files, then reference samplers);
- violins of the pairwise entropy H_q(g) per source;
- the coupling plot: H_q(g) against Δ̂_q(0.99), one colour per source (Lemma B: a more local
  group — smaller Δ̂_q — cannot have a less entropic teacher than its floor allows).

A violin's outline is the histogram density (``bins`` equal-width bins over the pooled range),
mirrored and scaled to the widest bin of that source; the white tick is the median.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from locent import results

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
W, H, PAD = 640, 300, 50


def _svg(parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}">{"".join(parts)}</svg>'
    )


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (np.asarray(v, dtype=float) - lo) / span * (b - a)


def _axes(title: str, ylabel: str, lo: float, hi: float, y) -> list[str]:
    parts = [
        f'<text x="{W / 2}" y="18" text-anchor="middle" font-weight="bold">{html.escape(title)}'
        "</text>",
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" stroke="black"/>',
        f'<line x1="{PAD}" y1="30" x2="{PAD}" y2="{H - PAD}" stroke="black"/>',
        f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})" text-anchor="middle">'
        f"{html.escape(ylabel)}</text>",
    ]
    for v in np.linspace(lo, hi, 5):
        parts.append(
            f'<text x="{PAD - 4}" y="{float(y(v)) + 4:.1f}" text-anchor="end" '
            f'font-size="10">{v:.3g}</text>'
        )
    return parts


def violins(per_query: pd.DataFrame, column: str, title: str, bins: int = 30) -> str:
    """An SVG of one violin per source of ``per_query[column]``."""
    names = list(dict.fromkeys(per_query["source"]))
    values = per_query[column].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    y = _scale(lo, hi, H - PAD, 30)
    slot = (W - PAD - 10) / max(len(names), 1)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    parts = _axes(title, column, lo, hi, y)
    for i, name in enumerate(names):
        v = per_query.loc[per_query["source"] == name, column].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        cx = PAD + slot * (i + 0.5)
        colour = COLOURS[i % len(COLOURS)]
        label = html.escape(str(name))
        parts.append(
            f'<text x="{cx:.1f}" y="{H - PAD + 16}" text-anchor="middle" font-size="11">{label}'
            "</text>"
        )
        if not v.size:
            continue
        counts, _ = np.histogram(v, bins=edges)
        half = counts / max(counts.max(), 1) * slot * 0.45
        mids = (edges[:-1] + edges[1:]) / 2
        right = [f"{cx + w:.1f},{float(y(m)):.1f}" for w, m in zip(half, mids, strict=True)]
        left = [f"{cx - w:.1f},{float(y(m)):.1f}" for w, m in zip(half, mids, strict=True)]
        parts.append(
            f'<polygon points="{" ".join(right + left[::-1])}" fill="{colour}" '
            f'fill-opacity="0.6" stroke="{colour}"><title>{label}: n={v.size}</title></polygon>'
        )
        my = float(y(np.median(v)))
        parts.append(
            f'<line x1="{cx - 6:.1f}" y1="{my:.1f}" x2="{cx + 6:.1f}" y2="{my:.1f}" '
            'stroke="white" stroke-width="2"/>'
        )
    return _svg(parts)


def coupling(per_query: pd.DataFrame) -> str:
    """An SVG scatter of H_q(g) (y) against Δ̂_q(0.99) (x), one colour per source."""
    x_col, y_col = results.DIAMETER_99, results.PAIRWISE_ENTROPY
    xs = per_query[x_col].to_numpy(dtype=float)
    ys = per_query[y_col].to_numpy(dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xlo, xhi = (xs[ok].min(), xs[ok].max()) if ok.any() else (0.0, 1.0)
    ylo, yhi = (ys[ok].min(), ys[ok].max()) if ok.any() else (0.0, 1.0)
    x = _scale(float(xlo), float(xhi), PAD + 5, W - 130)
    y = _scale(float(ylo), float(yhi), H - PAD, 30)
    parts = _axes("coupling: H_q(g) vs Δ̂_q(0.99)", y_col, float(ylo), float(yhi), y)
    for v in np.linspace(float(xlo), float(xhi), 5):
        parts.append(
            f'<text x="{float(x(v)):.1f}" y="{H - PAD + 14}" text-anchor="middle" '
            f'font-size="10">{v:.3g}</text>'
        )
    parts.append(f'<text x="{W / 2}" y="{H - 12}" text-anchor="middle">{x_col}</text>')
    for i, name in enumerate(dict.fromkeys(per_query["source"])):
        colour = COLOURS[i % len(COLOURS)]
        rows = (per_query["source"] == name).to_numpy() & ok
        for a, b in zip(x(xs[rows]), y(ys[rows]), strict=True):
            parts.append(
                f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{colour}" fill-opacity="0.6"/>'
            )
        parts.append(
            f'<rect x="{W - 120}" y="{34 + 16 * i}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{W - 105}" y="{43 + 16 * i}" font-size="11">{html.escape(str(name))}'
            "</text>"
        )
    return _svg(parts)


def html_page(table_text: str, per_query: pd.DataFrame, provenance: dict) -> str:
    """The whole page: the side-by-side table (``table_text``, as printed), the two violins, the
    coupling plot, provenance."""
    prov = {k: v for k, v in provenance.items() if k != "file_provenance"}
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in prov.items()
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>locent diagnose</title>"
        "<style>body{font-family:sans-serif;margin:2em}pre{background:#f4f4f4;padding:1em}"
        "td,th{text-align:left;padding:2px 8px;vertical-align:top}</style></head><body>"
        "<h1>locent diagnose</h1>"
        f"<pre>{html.escape(table_text)}</pre>"
        f"<h2>Locality</h2>{violins(per_query, results.DIAMETER_99, 'Δ̂_q(0.99) per query')}"
        f"<h2>Entropy</h2>{violins(per_query, results.PAIRWISE_ENTROPY, 'H_q(g) per query')}"
        f"<h2>Coupling</h2>{coupling(per_query)}"
        f"<h2>Provenance</h2><table>{rows}</table>"
        "</body></html>\n"
    )
