"""The report: one static offline HTML file and REPORT.md, verdict table first."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from locent.figures.build import build_figures
from locent.paper_checks.checks import run_checks
from locent.paper_checks.report import VERDICT_BACKGROUND, build_report

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
)


@pytest.fixture(scope="module")
def report(synthetic_out, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    shutil.copytree(synthetic_out, out)
    checks = run_checks(out)
    figures = build_figures(out, only=["bound_vs_risk", "sampler_violins", "table1_effectiveness"])
    return build_report(out, checks, figures), checks


def test_html_is_static_offline_and_verdict_table_comes_first(report):
    paths, checks = report
    page = paths["html"].read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", page)  # nothing fetched
    first_table = page.index("<table")
    assert page.index("id='verdicts'") < first_table < page.index("<h2>Checks</h2>")
    verdict_rows = re.findall(
        r"<span class='verdict (PASS|FAIL|INCONCLUSIVE)'>", page[: page.index("<h2>Checks</h2>")]
    )
    assert verdict_rows == [str(c.verdict) for c in checks]
    assert page.count("src='data:image/png;base64,") >= 3
    for section in (
        "Theory: statements",
        "Samplers on real data",
        "Table 1 analogue",
        "Provenance",
        "Artefacts (data IDs, hashes, models, seeds)",
    ):
        assert section in page
    assert "figure misordering_heatmap not available" in page  # not built: said so


def test_markdown_report(report):
    paths, checks = report
    md = paths["md"].read_text()
    lines = md.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| item | check"))
    assert lines[0].startswith("# locent") and header < 6
    for c in checks:
        assert f"| {c.item} | {c.name} | {c.verdict} |" in md
    assert (
        "![Theorem 2.1 (ii)/(iii): bound vs true risk (simulation)](../figures/bound_vs_risk.png)"
        in md
    )
    verdicts = (paths["html"].parent / "verdicts.json").read_text()
    assert '"verdict": "PASS"' in verdicts


def test_report_without_results_still_written(tmp_path):
    checks = run_checks(tmp_path)
    paths = build_report(tmp_path, checks, build_figures(tmp_path))
    page = paths["html"].read_text()
    assert "8 INCONCLUSIVE" in page and "theory/results.json missing" in page


@pytest.mark.chromium
def test_headless_chromium_shows_the_verdict_table(report, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("LOCENT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium required (LOCENT_REQUIRE_CHROMIUM=1) but not installed")
        pytest.skip("headless Chromium (Debian package `chromium`) not installed")
    paths, _ = report
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            paths["html"].resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
    from matplotlib.image import imread

    pixels = (imread(shot)[..., :3] * 255).round().astype(int)
    assert pixels.shape[:2] == (2000, 1280)
    target = np.array([int(VERDICT_BACKGROUND[i : i + 2], 16) for i in (1, 3, 5)])
    is_bg = (np.abs(pixels - target) <= 3).all(axis=-1)
    # the verdict table is at the top: its background fills much of the first 300 rows ...
    assert is_bg[40:300, 100:1100].mean() > 0.3
    # ... and nowhere below the checks (it is one block, not repeated)
    assert is_bg[1200:].mean() < 0.01
    # the PASS badges (green) are rendered inside it
    green = (np.abs(pixels - np.array([0x2E, 0x7D, 0x32])) <= 3).all(axis=-1)
    assert green[40:500].sum() > 200
    Path(shot).unlink()
