"""``leakspot trace report``: the HTML page, rendered in real headless Chromium.

A ground-truth program's trace and the SARIF of ``leakspot check --evidence`` make the report;
Chromium renders it to a PNG (kept as ``report.png`` in the test's directory) and the test
counts the pixels of the fitted curve (red) and of the total (green): the curves are drawn, not
just named. The page must load nothing from outside.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import need_tool, run

PROGRAMS = Path(__file__).parent / "programs"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "service.py").write_text((PROGRAMS / "linear_leak.py").read_text())
    r = run("trace", "record", "--interval", "0.02", "--frames", "1", "-o", "service.trace", "--", sys.executable,
            "service.py", cwd=tmp)
    assert r.returncode == 0, r.stderr
    r = run("check", "service.py", "--extend-select", "LK101", "--evidence", "service.trace", "--format", "sarif", "-o", "findings.sarif", cwd=tmp)
    assert r.returncode == 1, r.stderr
    r = run("trace", "report", "service.trace", "--findings", "findings.sarif", "--budget", "64MiB", "-o",
            "report.html", cwd=tmp)
    assert r.returncode == 0, r.stderr
    assert "1 growing site" in r.stderr
    return tmp / "report.html"


def test_report_names_site_forecast_and_finding(report: Path) -> None:
    page = report.read_text()
    assert "<code>service.py:8</code> handle" in page and "linear" in page
    assert re.search(r"reaches 64\.0 MiB in <b>[0-9.]+ (s|min|h)", page), "no forecast"
    assert "LK101" in page and "kept = []" in page  # the static finding with its code excerpt
    assert page.count("<svg") == 2  # the total with its forecast, and the growing site with its fit
    # self-contained: nothing is fetched (the SVG namespace is a name, not a resource)
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<script" not in page and "<link" not in page


def test_report_renders_in_headless_chromium(report: Path) -> None:
    chromium = need_tool("chromium")
    png = report.with_name("report.png")
    done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={report.parent / 'profile'}",
                           "--window-size=1100,1600", f"--screenshot={png}", report.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert png.is_file(), done.stderr[-2000:]
    from matplotlib import image

    pixels = (image.imread(str(png))[..., :3] * 255).round()

    def count(rgb: tuple[int, int, int], tol: int = 40) -> int:
        return int((abs(pixels - rgb).max(axis=-1) <= tol).sum())

    assert count((214, 39, 40)) > 500, "the fitted polynomial (red) is not drawn"
    assert count((44, 160, 44)) > 400, "the total's curve (green) is not drawn"
    assert count((31, 119, 180)) > 300, "the samples (blue) are not drawn"
    assert count((255, 127, 14)) > 300, "the forecast (orange, dashed) is not drawn"


def test_report_errors(tmp_path: Path) -> None:
    (tmp_path / "t.trace").write_text('{"format": "leakspot-trace", "version": 1}\n{"t": 0, "sites": []}\n')
    r = run("trace", "report", "t.trace", "--budget", "lots", "-o", "r.html", cwd=tmp_path)
    assert r.returncode == 2 and "--budget" in r.stderr and not (tmp_path / "r.html").exists()
    (tmp_path / "bad.sarif").write_text("{}")
    r = run("trace", "report", "t.trace", "--findings", "bad.sarif", "-o", "r.html", cwd=tmp_path)
    assert r.returncode == 2 and "not a SARIF log" in r.stderr
    r = run("trace", "report", "t.trace", "-o", "r.html", cwd=tmp_path)
    assert r.returncode == 0 and "No site grows" in (tmp_path / "r.html").read_text()
