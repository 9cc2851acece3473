"""The pytest plugin, run the way a user runs it: ``python -m pytest --leakspot-trace DIR`` in a
project of their own, the plugin loaded from leakspot's ``pytest11`` entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import run

#: The project's own code, with a module-level cache that grows on every call (line 5).
SERVICE = '''CACHE = []


def remember(x):
    CACHE.append(bytes(10_000))
    return len(CACHE)
'''

TESTS = '''
import pytest

from service import remember


def test_leaks():
    assert remember(1) > 0


def test_clean():
    data = [bytes(10_000) for _ in range(5)]
    assert len(data) == 5


@pytest.mark.leakspot_trace(iterations=12, warmup=1)
def test_marked(tmp_path):
    assert tmp_path.is_dir()


async def test_coroutine_runs_once():
    pass
'''


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio",
                           "-W", "ignore", *args], cwd=cwd, capture_output=True, text=True)


def test_plugin_loops_traces_and_names_the_leaking_test(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(SERVICE)
    (tmp_path / "test_service.py").write_text(TESTS)
    r = _pytest(tmp_path, "--leakspot-trace", "traces", "-k", "not coroutine")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test_service.py::test_leaks: GROWS at service.py:5 (remember): linear" in r.stdout
    assert "test_clean: GROWS" not in r.stdout and "test_marked: GROWS" not in r.stdout
    assert "3 tests traced into traces, 1 with growing allocation sites" in r.stdout
    traces = sorted(p.name for p in (tmp_path / "traces").iterdir())
    assert traces == ["test_service.py_test_clean.trace", "test_service.py_test_leaks.trace",
                      "test_service.py_test_marked.trace"]
    marked = (tmp_path / "traces" / "test_service.py_test_marked.trace").read_text().splitlines()
    header = json.loads(marked[0])
    assert header["iterations"] == 12 and header["warmup"] == 1 and header["time_unit"] == "iteration"
    assert len(marked) == 1 + 13 + 1  # header, a sample before the loop and one per iteration, end
    # the trace is an ordinary one: analyze reads it, and --evidence joins it to a static finding
    a = run("trace", "analyze", "traces/test_service.py_test_leaks.trace", "--format", "json", cwd=tmp_path)
    site = next(s for s in json.loads(a.stdout)["sites"] if s["growing"])
    assert site["line"] == 5 and site["function"] == "remember"
    assert 9_000 < site["rate_bytes_per_s"] < 11_000  # bytes per iteration: the trace counts iterations
    assert json.loads(a.stdout)["time_unit"] == "iteration"
    c = run("check", "service.py", "--extend-select", "LK101", "--evidence", "traces/test_service.py_test_leaks.trace", "--format", "json",
            cwd=tmp_path)
    findings = json.loads(c.stdout)["findings"]
    assert findings and findings[0]["code"] == "LK101" and findings[0]["evidence"]["verdict"] == "confirmed"


def test_without_the_option_only_marked_tests_are_traced(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(SERVICE)
    (tmp_path / "test_service.py").write_text(TESTS)
    r = _pytest(tmp_path, "-k", "not coroutine and not marked")
    assert r.returncode == 0 and "leakspot" not in r.stdout and not (tmp_path / "traces").exists()
    # a marked test is a leak test: looped and traced into pytest's cache (here off: the root)
    r = _pytest(tmp_path, "-k", "marked")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 test traced into .leakspot-traces, 0 with growing" in r.stdout
    assert (tmp_path / ".leakspot-traces" / "test_service.py_test_marked.trace").is_file()
    r = _pytest(tmp_path, "--help")
    assert "--leakspot-trace=DIR" in r.stdout
    r = _pytest(tmp_path, "--markers")
    assert "@pytest.mark.leakspot_trace(iterations=30, warmup=3): a leak test" in r.stdout


def test_a_test_that_cannot_run_twice_says_so(tmp_path: Path) -> None:
    (tmp_path / "test_once.py").write_text("def test_once(tmp_path):\n    (tmp_path / 'made').mkdir()\n")
    r = _pytest(tmp_path, "--leakspot-trace", "traces")
    assert r.returncode == 1 and "FileExistsError" in r.stdout
    assert "leakspot: raised on run 2 of the test body: --leakspot-trace runs it 3 + 30 times" in r.stdout
    assert _pytest(tmp_path).returncode == 0  # the test itself is fine when run once
