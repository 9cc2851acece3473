"""``leakspot check --evidence TRACE``: real traces of real programs joined to real findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run

PROGRAMS = Path(__file__).parent / "programs"
ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT.parent / "shared" / "sarif" / "sarif-schema-2.1.0.json"
VALIDATOR = ROOT.parent / "shared" / "tools" / "validate-sarif"

HIDDEN = '''import time


class Registry:
    def __init__(self):
        self.items = []


REG = Registry()


def handle(i):
    REG.items.append(bytes(2000))


for i in range(500):
    handle(i)
    time.sleep(0.0025)
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """Three programs and their traces: a leak the rules see, one they do not, and a finding
    the trace refutes (a dict keyed by formatted text from 20 ids only)."""
    d = tmp_path_factory.mktemp("service")
    for name in ("linear_leak", "bounded_by_key"):
        shutil.copy(PROGRAMS / f"{name}.py", d)
    (d / "hidden.py").write_text(HIDDEN)
    for name in ("linear_leak", "bounded_by_key", "hidden"):
        r = run("trace", "record", "--interval", "0.02", "-o", f"{name}.trace", "--", sys.executable,
                f"{name}.py", cwd=d)
        assert r.returncode == 0, r.stderr
    return d


def _sarif(project: Path, *traces: str) -> dict:
    args = ["check", ".", "--extend-select", "LK101", "--format", "sarif", "-o", "out.sarif"]
    for t in traces:
        args += ["--evidence", t]
    r = run(*args, cwd=project)
    assert r.returncode == 1, r.stderr
    return json.loads((project / "out.sarif").read_text())


def test_confirmed_refuted_and_runtime_only(project: Path) -> None:
    log = _sarif(project, "linear_leak.trace", "bounded_by_key.trace", "hidden.trace")
    results = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r
               for r in log["runs"][0]["results"]}
    leak = results[("LK101", "linear_leak.py")]
    assert leak["properties"]["evidence"]["verdict"] == "confirmed" and leak["rank"] == 90.0
    ev = leak["properties"]["evidence"]
    assert ev["class"] == "linear" and ev["leaked_bytes"] > 100_000 and ev["site"].endswith("linear_leak.py:8")
    assert ev["confidence"] >= 0.99 and ev["trace"] == "linear_leak.trace"
    bounded = results[("LK101", "bounded_by_key.py")]
    assert bounded["properties"]["evidence"]["verdict"] == "refuted" and bounded["rank"] == 10.0
    hidden = results[("LK910", "hidden.py")]
    assert hidden["locations"][0]["physicalLocation"]["region"]["startLine"] == 13
    assert "no static finding explains it" in hidden["message"]["text"]
    assert hidden["partialFingerprints"]
    if SCHEMA.exists():
        import jsonschema

        jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    if VALIDATOR.exists() and shutil.which("npm"):
        env = dict(os.environ, PYTHON=sys.executable)
        r = subprocess.run([str(VALIDATOR), str(project / "out.sarif")], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stdout + r.stderr


def test_not_exercised_and_text(project: Path) -> None:
    r = run("check", "bounded_by_key.py", "--extend-select", "LK101", "--evidence", "hidden.trace", cwd=project)
    assert r.returncode == 1
    assert "evidence: not exercised by the trace" in r.stdout
    r = run("check", "linear_leak.py", "--extend-select", "LK101", "--evidence", "linear_leak.trace", cwd=project)
    assert "evidence: confirmed: linear growth" in r.stdout
    r = run("check", "linear_leak.py", "--extend-select", "LK101", "--evidence", "linear_leak.trace", "--ignore", "runtime-growth",
            "--format", "json", cwd=project)
    finding = json.loads(r.stdout)["findings"][0]
    assert finding["evidence"]["verdict"] == "confirmed"


def test_bad_trace_is_an_error(project: Path) -> None:
    (project / "bad.trace").write_text("not a trace\n")
    r = run("check", "linear_leak.py", "--evidence", "bad.trace", cwd=project)
    assert r.returncode == 2 and "bad.trace: at byte 0" in r.stderr


def test_example_service_confirmed_and_fixed_version_refuted(tmp_path: Path) -> None:
    """The walk-through of examples/leaky-service/README.md, as a user runs it."""
    example = ROOT / "examples" / "leaky-service"
    for name in ("service", "service_fixed"):
        r = run("trace", "record", "--interval", "0.02", "-o", str(tmp_path / f"{name}.trace"), "--",
                sys.executable, "run.py", name, cwd=example)
        assert r.returncode == 0, r.stderr
    r = run("check", ".", "--extend-select", "unbounded-module-cache", "--evidence", str(tmp_path / "service.trace"), "--evidence",
            str(tmp_path / "service_fixed.trace"), "--format", "json", cwd=example)
    verdicts = {f["path"]: (f["code"], f["evidence"]["verdict"]) for f in json.loads(r.stdout)["findings"]}
    assert verdicts == {"service.py": ("LK101", "confirmed"), "service_fixed.py": ("LK101", "refuted")}
