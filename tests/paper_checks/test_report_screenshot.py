"""The report as a reader sees it: headless Chromium at 1,400 × 900 px.

Two renders of the synthetic fixture's report (with a sampler table as wide as a real run's):

- ``--dump-dom`` of a copy with a measuring script appended (the report itself has no script):
  the page's scroll width against the viewport (no horizontal scroll) and the bounding boxes of
  the scope banner and the verdict table (above the fold);
- ``--screenshot``: the banner's and the verdict table's backgrounds are painted in the first
  900 rows, where the DOM says they are.

Skipped when no ``chromium`` binary is installed, unless ``LOCENT_REQUIRE_CHROMIUM=1`` (CI), where
a missing binary fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from locent.figures.build import build_figures
from locent.paper_checks.checks import run_checks
from locent.paper_checks.report import build_report
from locent.paper_checks.report_html import SCOPE_BACKGROUND, VERDICT_BACKGROUND

WIDTH, HEIGHT = 1400, 900

pytestmark = pytest.mark.chromium

MEASURE = """<script>
window.addEventListener('load', function () {
  function box(selector) {
    var e = document.querySelector(selector);
    if (!e) { return null; }
    var r = e.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
  }
  var out = {innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
             bodyScrollWidth: document.body.scrollWidth,
             verdicts: box('#verdicts table'), scope: box('#scope')};
  var pre = document.createElement('pre');
  pre.id = 'locent-measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    if found is None:
        if os.environ.get("LOCENT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium required (LOCENT_REQUIRE_CHROMIUM=1) but not installed")
        pytest.skip("headless Chromium (Debian package `chromium`) not installed")
    return found


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def wide_report(synthetic_out, tmp_path_factory) -> Path:
    """The synthetic report with a 27-column sampler table with long cells (as a real run's)."""
    out = tmp_path_factory.mktemp("shot") / "out"
    shutil.copytree(synthetic_out, out)
    samplers = pd.read_csv(out / "realdata" / "measure" / "samplers.csv")
    for i in range(18):
        samplers[f"extra_measurement_column_{i}"] = np.linspace(0.1, 0.9, len(samplers)) * i
    samplers["test_datasets"] = "msmarco-passage/trec-dl-2019/judged+msmarco-passage/trec-dl-2020"
    samplers.to_csv(out / "realdata" / "measure" / "samplers.csv", index=False)
    figures = build_figures(out, only=["table1_effectiveness", "sampler_violins"])
    return build_report(out, run_checks(out), figures)["html"]


def test_no_horizontal_scroll_and_verdicts_above_the_fold(wide_report, tmp_path):
    chromium = _chromium()
    page = wide_report.read_text()
    assert "<script" not in page and page.count("<th>") > 40
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"))
    dom = _run(
        chromium,
        tmp_path / "profile",
        "--virtual-time-budget=10000",
        "--dump-dom",
        measured.resolve().as_uri(),
    ).stdout
    found = re.search(r'<pre id="locent-measure">([^<]*)</pre>', dom)
    assert found, dom[-2000:]
    m = json.loads(found.group(1).replace("&quot;", '"'))
    assert m["innerWidth"] == WIDTH
    # no horizontal scroll: the document is no wider than the viewport (the wide sampler table
    # scrolls inside its own wrapper)
    assert m["scrollWidth"] <= m["innerWidth"], m
    assert m["bodyScrollWidth"] <= m["innerWidth"], m
    scope, verdicts = m["scope"], m["verdicts"]
    assert scope and verdicts, m
    # the scope banner, then the whole verdict table, within the first 900 px and the width
    assert 0 <= scope["top"] < scope["bottom"] <= verdicts["top"] < verdicts["bottom"] <= HEIGHT
    for b in (scope, verdicts):
        assert 0 <= b["left"] and b["right"] <= WIDTH

    shot = tmp_path / "shot.png"
    _run(chromium, tmp_path / "profile", f"--screenshot={shot}", wide_report.resolve().as_uri())
    from matplotlib.image import imread

    pixels = (imread(shot)[..., :3] * 255).round().astype(int)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)

    def painted(colour: str) -> np.ndarray:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        return (np.abs(pixels - rgb) <= 3).all(axis=-1).any(axis=1)  # rows where it shows

    verdict_rows, scope_rows = painted(VERDICT_BACKGROUND), painted(SCOPE_BACKGROUND)
    top, bottom = int(verdicts["top"]), int(verdicts["bottom"])
    assert verdict_rows[top:bottom].mean() > 0.9  # the table is painted where the DOM says
    assert scope_rows[int(scope["top"]) + 2 : int(scope["bottom"]) - 2].mean() > 0.9
    assert not verdict_rows[: int(scope["bottom"])].any()  # the banner comes first
