"""HTML and Markdown building blocks of the report: style, cells, tables, collapsed blocks, images.

Layout rules the headless-browser test holds the page to (1,400 × 900 px): the body never
scrolls sideways (every table sits in a ``.scroll`` wrapper that scrolls on its own; long words
break), and the verdict table and the scope banner fit above the fold.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

#: The verdict table sits on this background (the headless-browser tests look for it).
VERDICT_BACKGROUND = "#fde9a9"
SCOPE_BACKGROUND = "#e8f0fb"
VERDICT_COLOURS = {"PASS": "#2e7d32", "FAIL": "#c62828", "INCONCLUSIVE": "#6d6d6d"}

CSS = f"""
body {{ font-family: 'DejaVu Sans', Arial, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 0 16px 40px; color: #1d1d1d; background: #ffffff; font-size: 14px;
       overflow-wrap: break-word; }}
h1 {{ font-size: 20px; margin: 10px 0 6px; }}
h2 {{ font-size: 18px; border-bottom: 1px solid #ccc; margin-top: 28px; }}
#verdicts {{ background: {VERDICT_BACKGROUND}; padding: 6px 12px 8px; border-radius: 4px; }}
#verdicts h2 {{ margin: 2px 0 4px; font-size: 16px; border: none; }}
#verdicts table {{ background: {VERDICT_BACKGROUND}; font-size: 12.5px; }}
#verdicts td {{ padding: 2px 6px; }}
#verdicts td:nth-child(-n+3) {{ white-space: nowrap; }}
#scope {{ background: {SCOPE_BACKGROUND}; padding: 5px 12px; border-radius: 4px; margin: 6px 0;
          font-size: 12.5px; }}
#scope ul {{ margin: 2px 0; padding-left: 18px; }}
#stages-failed {{ background: #f8d7da; border: 2px solid #c62828; padding: 6px 12px;
                  border-radius: 4px; margin: 6px 0; }}
.scroll {{ overflow-x: auto; max-width: 100%; }}
table {{ border-collapse: collapse; margin: 6px 0; }}
th, td {{ border: 1px solid #bbb; padding: 3px 7px; text-align: left; vertical-align: top; }}
th {{ background: rgba(0,0,0,0.06); }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.verdict {{ font-weight: bold; color: #fff; padding: 1px 6px; border-radius: 3px;
            white-space: nowrap; }}
.PASS {{ background: {VERDICT_COLOURS["PASS"]}; }}
.FAIL {{ background: {VERDICT_COLOURS["FAIL"]}; }}
.INCONCLUSIVE {{ background: {VERDICT_COLOURS["INCONCLUSIVE"]}; }}
img {{ max-width: 100%; height: auto; border: 1px solid #eee; }}
.nowrap td, .nowrap th {{ white-space: nowrap; }}
.numbers td {{ font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; }}
.note {{ color: #555; font-size: 12px; }}
details {{ margin: 6px 0; }}
summary {{ cursor: pointer; color: #124; }}
"""


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def fmt(v) -> str:
    """A cell: 4 significant digits; NaN and None as an en dash (never a literal ``nan``);
    ±∞ as ∞."""
    if v is None or v is pd.NA:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        try:
            x = float(v)
        except (TypeError, ValueError):
            return str(v)
        if math.isnan(x):
            return "–"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        return f"{x:.4g}"
    if isinstance(v, str) and v.strip().lower() in ("nan", "none", "<na>"):
        return "–"
    return str(v)


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))


def table(df: pd.DataFrame, cls: str = "", numeric: bool = True) -> str:
    """``df`` as an HTML table inside a horizontally scrolling wrapper (never widens the page)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for row in df.itertuples(index=False):
        cells = "".join(
            f"<td class='num'>{esc(fmt(v))}</td>"
            if numeric and _is_number(v)
            else f"<td>{esc(fmt(v))}</td>"
            for v in row
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<div class='scroll'><table class='{cls}'><tr>{head}</tr>{''.join(rows)}</table></div>"


def md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [fmt(v).replace("|", "\\|").replace("\n", " ") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details(summary: str, body: str, open_: bool = False) -> str:
    """A collapsed block (``<details>``); ``summary`` is HTML."""
    return f"<details{' open' if open_ else ''}><summary>{summary}</summary>{body}</details>"


def badge(verdict) -> str:
    return f"<span class='verdict {esc(verdict)}'>{esc(verdict)}</span>"


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


def figure_html(name: str, png: Path, caption: str) -> str:
    """The one place a figure's pixels enter the page (``id='fig-<name>'`` for links)."""
    return (
        f"<figure id='fig-{esc(name)}'><img alt='{esc(name)}' src='{data_uri(png)}'>"
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def page(title: str, body: list[str]) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
