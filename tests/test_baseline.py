"""Baselines: today's findings recorded, only new ones reported, robust to code moving."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import LEAKY_PY as LEAKY
from helpers import run

ANOTHER = "\n\ndef g(p):\n    out = open(p, 'w')\n    out.write('x')\n"



def test_baseline_survives_inserted_lines_and_reports_new_findings(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(LEAKY)
    r = run("check", ".", "--write-baseline", "baseline.json", cwd=tmp_path)
    assert r.returncode == 0 and "wrote 1 finding" in r.stderr
    assert json.loads((tmp_path / "baseline.json").read_text())["findings"][0]["slug"] == "open-without-close"
    assert run("check", ".", "--baseline", "baseline.json", cwd=tmp_path).returncode == 0

    # ten lines inserted above the old finding, and a new leak added below
    (tmp_path / "m.py").write_text("import os\n" * 10 + LEAKY + ANOTHER)
    r = run("check", ".", "--baseline", "baseline.json", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert [(f["line"], f["function"]) for f in doc["findings"]] == [(17, "g")]
    assert doc["summary"]["baselined"] == 1 and doc["summary"]["stale_baseline"] == 0

    # the old leak fixed: its entry is stale
    (tmp_path / "m.py").write_text(ANOTHER)
    r = run("check", ".", "--baseline", "baseline.json", cwd=tmp_path)
    assert "1 baseline entry no longer match" in r.stdout
    # a run that leaves the rule out cannot tell: its entries are not stale
    r = run("check", ".", "--baseline", "baseline.json", "--select", "LK2", "--format", "json", cwd=tmp_path)
    assert json.loads(r.stdout)["summary"]["stale_baseline"] == 0
    # nor can a run over other files (a hook given the staged ones)
    (tmp_path / "other.py").write_text("x = 1\n")
    r = run("check", "other.py", "--baseline", "baseline.json", "--format", "json", cwd=tmp_path)
    assert json.loads(r.stdout)["summary"]["stale_baseline"] == 0


def test_entries_of_a_rule_off_by_default_are_kept_and_not_stale(tmp_path: Path) -> None:
    (tmp_path / "cache.py").write_text("_seen = {}\n\n\ndef remember(obj):\n    _seen[id(obj)] = obj\n")
    run("check", ".", "--extend-select", "LK101", "--write-baseline", "b.json", cwd=tmp_path)
    assert [e["code"] for e in json.loads((tmp_path / "b.json").read_text())["findings"]] == ["LK101"]
    r = run("check", ".", "--baseline", "b.json", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["summary"]["stale_baseline"] == 0
    r = run("check", ".", "--baseline", "b.json", "--extend-select", "LK101", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["summary"]["baselined"] == 1


def test_baselined_findings_are_external_suppressions_in_sarif(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(LEAKY)
    run("check", ".", "--write-baseline", "b.json", cwd=tmp_path)
    run("check", ".", "--baseline", "b.json", "--format", "sarif", "-o", "out.sarif", "--report-suppressed",
        cwd=tmp_path)
    results = json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["results"]
    assert results[0]["suppressions"] == [{"kind": "external", "justification": "in the baseline"}]


def test_bad_baseline_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text("{not json")
    r = run("check", ".", "--baseline", "b.json", cwd=tmp_path)
    assert r.returncode == 2 and "not JSON" in r.stderr
    r = run("check", ".", "--baseline", "missing.json", cwd=tmp_path)
    assert r.returncode == 2 and "cannot read baseline" in r.stderr
