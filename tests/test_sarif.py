"""SARIF output passes the OASIS schema and GitHub's ingestion rules (the real validator)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = ROOT.parent / "shared" / "tools" / "validate-sarif"
SCHEMA = ROOT.parent / "shared" / "sarif" / "sarif-schema-2.1.0.json"


def sarif_for(paths: list[str], cwd: Path, out: Path) -> dict:
    subprocess.run([sys.executable, "-m", "leakspot", "check", *paths, "--format", "sarif", "-o", str(out)],
                   cwd=cwd, capture_output=True, text=True)
    return json.loads(out.read_text())


def test_fixtures_sarif_shape(tmp_path: Path) -> None:
    log = sarif_for(["fixtures"], ROOT, tmp_path / "out.sarif")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    by_id = {r["id"]: r for r in rules}
    assert by_id["LK201"]["name"] == "malloc-without-free"
    assert "external/cwe/cwe-401" in by_id["LK201"]["properties"]["tags"]
    assert run["tool"]["driver"]["semanticVersion"]
    assert run["automationDetails"]["id"] == "leakspot/"
    results = run["results"]
    assert results
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
        assert res["partialFingerprints"]["leakspotFingerprint/v1"]
    c_results = [r for r in results if r["ruleId"] == "LK201"]
    assert all(r["codeFlows"][0]["threadFlows"][0]["locations"] for r in c_results)
    assert all(r["relatedLocations"] for r in c_results)


def test_rule_off_by_default_is_marked_and_a_run_that_selects_it_says_so(tmp_path: Path) -> None:
    fixture = ROOT / "fixtures" / "python" / "unbounded-module-cache.py"
    default = sarif_for([str(fixture)], ROOT, tmp_path / "a.sarif")["runs"][0]
    by_id = {r["id"]: r for r in default["tool"]["driver"]["rules"]}
    assert by_id["LK101"]["defaultConfiguration"] == {"enabled": False, "level": "warning"}
    assert "enabled" not in by_id["LK102"]["defaultConfiguration"]
    assert "ruleConfigurationOverrides" not in default["invocations"][0]
    assert not [r for r in default["results"] if r["ruleId"] == "LK101"]
    log = sarif_for([str(fixture), "--extend-select", "LK101"], ROOT, tmp_path / "b.sarif")
    chosen = log["runs"][0]
    index = [r["id"] for r in chosen["tool"]["driver"]["rules"]].index("LK101")
    assert chosen["invocations"][0]["ruleConfigurationOverrides"] == [
        {"descriptor": {"id": "LK101", "index": index}, "configuration": {"enabled": True}}]
    assert [r for r in chosen["results"] if r["ruleId"] == "LK101"]
    if SCHEMA.exists():
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    if VALIDATOR.exists() and shutil.which("npm"):
        env = dict(os.environ, PYTHON=sys.executable)
        r = subprocess.run([str(VALIDATOR), str(tmp_path / "b.sarif")], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stdout + r.stderr


def test_notifications_in_sarif(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "ok.py").write_text("def f(p):\n    return open(p).read()\n")
    log = sarif_for(["."], tmp_path, tmp_path / "out.sarif")
    inv = log["runs"][0]["invocations"][0]
    notes = inv["toolExecutionNotifications"]
    assert len(notes) == 1 and notes[0]["level"] == "error"
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"
    assert len(log["runs"][0]["results"]) == 1


def test_fingerprints_survive_lines_inserted_above(tmp_path: Path) -> None:
    src = (ROOT / "fixtures" / "python" / "open-without-close.py").read_text()
    (tmp_path / "m.py").write_text(src)
    before = sarif_for(["m.py"], tmp_path, tmp_path / "a.sarif")["runs"][0]["results"]
    (tmp_path / "m.py").write_text("\n" * 10 + "# moved\n" + src)
    after = sarif_for(["m.py"], tmp_path, tmp_path / "b.sarif")["runs"][0]["results"]
    fp = lambda rs: sorted(r["partialFingerprints"]["leakspotFingerprint/v1"] for r in rs)
    assert fp(before) == fp(after)
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] + 11 for r in before] == \
        [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after]


def test_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMA.exists():
        pytest.skip("shared/sarif schema not present")
    log = sarif_for(["fixtures"], ROOT, tmp_path / "out.sarif")
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)


@pytest.mark.skipif(not VALIDATOR.exists() or not shutil.which("npm"), reason="needs ../shared/tools and npm")
def test_validate_sarif_tool(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "leak.py").write_text("def f(p):\n    return open(p).read()\n")
    for paths, cwd in ((["fixtures"], ROOT), (["."], tmp_path)):
        out = tmp_path / f"{len(paths)}-{cwd.name}.sarif"
        sarif_for(paths, cwd, out)
        env = dict(os.environ, PYTHON=sys.executable)
        r = subprocess.run([str(VALIDATOR), str(out)], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stdout + r.stderr


def test_suppressed_findings_left_out_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "def f(p):\n    fh = open(p)  # leakspot: ignore[open-without-close] -- closed by atexit\n    print(fh)\n"
        "def g(p):\n    fh = open(p)\n    print(fh)\n")
    log = sarif_for(["."], tmp_path, tmp_path / "a.sarif")
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in log["runs"][0]["results"]] == [5]
    out = tmp_path / "b.sarif"
    subprocess.run([sys.executable, "-m", "leakspot", "check", ".", "--format", "sarif", "-o", str(out),
                    "--report-suppressed"], cwd=tmp_path, capture_output=True)
    results = json.loads(out.read_text())["runs"][0]["results"]
    assert len(results) == 2
    assert results[0]["suppressions"] == [{"kind": "inSource", "justification": "closed by atexit"}]
    assert "suppressions" not in results[1]
    if VALIDATOR.exists() and shutil.which("npm"):
        env = dict(os.environ, PYTHON=sys.executable)
        r = subprocess.run([str(VALIDATOR), str(out)], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
