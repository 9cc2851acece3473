"""The whole standard library of the running interpreter: no crash, no internal error."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path


def test_stdlib_checks_without_internal_errors(tmp_path: Path) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out = tmp_path / "stdlib.json"
    # every rule, LK101 (off by default) too
    r = subprocess.run([sys.executable, "-m", "leakspot", "check", str(stdlib), "--root", str(stdlib),
                        "--extend-select", "LK101", "--format", "json", "-o", str(out)], capture_output=True, text=True, timeout=600)
    doc = json.loads(out.read_text())
    assert doc["summary"]["files"] > 1000
    internal = [n for n in doc["notifications"] if n["kind"] == "internal-error"]
    assert not internal, internal
    # the only files it cannot analyse are the stdlib's own deliberately broken test data
    broken = {n["path"] for n in doc["notifications"] if n["level"] == "error"}
    assert all("test" in p.split("/")[0] or "/test" in p or "tests/" in p for p in broken), broken
    assert r.returncode == (2 if broken else 1)
    assert any(f["code"] == "LK101" for f in doc["findings"])  # idlelib's frame tables
