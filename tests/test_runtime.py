"""Runtime evidence: real programs recorded under tracemalloc, their traces analysed.

Each program in ``tests/programs/`` has a known truth (its docstring): the test captures it in
every format a Python program gives (``leakspot trace record`` in a real child interpreter,
tracemalloc snapshot dumps written by the user's own harness ``snapshot_dumper.py``, and
``memray run --trace-python-allocators``), and checks the class and the verdict of the
program's own allocation site, and that nothing else in the run is said to grow.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run

PROGRAMS = Path(__file__).parent / "programs"
#: program -> (class of its allocation site, grows)
TRUTH = {
    "linear_leak": ("linear", True),
    "superlinear": ("exponential", True),
    "late_leak": ("linear", True),
    "cache_filling": ("logarithmic", False),
    "constant_churn": ("constant", False),
    "freed_late": ("constant", False),
    "sawtooth": ("constant", False),
}


def _record(name: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{name}.trace"
    # one frame: the cheapest snapshots, so that a loaded machine still takes enough samples
    r = run("trace", "record", "--interval", "0.02", "--frames", "1", "-o", str(out), "--", sys.executable,
            str(PROGRAMS / f"{name}.py"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return out


def _capture(fmt: str, name: str, tmp_path: Path) -> Path:
    """The program's trace in ``fmt``: leakspot's own, a memray capture, or a directory of
    tracemalloc snapshot dumps."""
    program = str(PROGRAMS / f"{name}.py")
    if fmt == "leakspot":
        return _record(name, tmp_path)
    if fmt == "memray":
        out = tmp_path / f"{name}.memray.bin"
        subprocess.run([sys.executable, "-m", "memray", "run", "--trace-python-allocators", "-q", "-o", str(out),
                        program], check=True, capture_output=True, cwd=tmp_path)
        return out
    out = tmp_path / f"{name}-dumps"
    subprocess.run([sys.executable, str(PROGRAMS / "snapshot_dumper.py"), str(out), "0.03", program], check=True,
                   capture_output=True, cwd=tmp_path)
    return out


FORMATS = ["leakspot", "tracemalloc"] + (["memray"] if importlib.util.find_spec("memray") else [])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(TRUTH))
def test_ground_truth_program_is_classified(name: str, fmt: str, tmp_path: Path) -> None:
    trace = _capture(fmt, name, tmp_path)
    r = run("trace", "analyze", str(trace), "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["version"] == 1 and doc["samples"] >= 12 and doc["format"] == fmt and doc["kind"] == "series"
    own = [s for s in doc["sites"] if s["file"].endswith(f"{name}.py")]
    klass, grows = TRUTH[name]
    if klass == "constant" and not own:
        return  # too little live memory to be recorded at all: constant
    site = max(own, key=lambda s: s["peak_bytes"])
    assert (site["class"], site["growing"]) == (klass, grows), site
    if grows:
        assert site["leaked_bytes"] > 100_000 and site["rate_bytes_per_s"] > 0
        assert site["function"] == "handle" and site["confidence"] >= 0.99
    others = [s for s in doc["sites"] if s["growing"] and s is not site]
    assert not others, others  # nothing else in the interpreter is said to grow


def test_text_table_names_the_growing_site(tmp_path: Path) -> None:
    trace = _record("linear_leak", tmp_path)
    r = run("trace", "analyze", str(trace), cwd=tmp_path)
    assert r.returncode == 0
    line = next(ln for ln in r.stdout.splitlines() if "linear_leak.py:8" in ln)
    assert "handle" in line and "linear" in line and "GROWS" in line
    assert "1 growing at 99% confidence" in r.stdout


def test_exit_status_and_module_form(tmp_path: Path) -> None:
    (tmp_path / "failing.py").write_text("import sys\nsys.exit(3)\n")
    r = run("trace", "record", "-o", "t.trace", "--", sys.executable, "failing.py", cwd=tmp_path)
    assert r.returncode == 3  # the program's own status
    lines = (tmp_path / "t.trace").read_text().splitlines()
    assert json.loads(lines[0])["format"] == "leakspot-trace"
    assert json.loads(lines[-1])["exit_code"] == 3
    r = run("trace", "record", "-o", "m.trace", "--", sys.executable, "-m", "json.tool", "--help", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "m.trace").is_file()


def test_bad_traces_are_clear_errors(tmp_path: Path) -> None:
    trace = _record("constant_churn", tmp_path)
    data = trace.read_bytes()
    cut = data[: len(data) - 7]  # cut inside the last line
    (tmp_path / "cut.trace").write_bytes(cut)
    r = run("trace", "analyze", "cut.trace", cwd=tmp_path)
    offset = cut.rindex(b"\n") + 1
    assert r.returncode == 2 and f"cut.trace: at byte {offset}: truncated line" in r.stderr
    (tmp_path / "other.json").write_text('{"traceEvents": []}\n')
    r = run("trace", "analyze", "other.json", cwd=tmp_path)
    assert r.returncode == 2 and "at byte 0: not a leakspot trace" in r.stderr
    r = run("trace", "record", "-o", "x.trace", "--", "ls", cwd=tmp_path)
    assert r.returncode == 2 and "needs a Python command" in r.stderr
