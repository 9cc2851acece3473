"""Runtime evidence from C programs, through the traces other tools make.

Each program of ``tests/programs/c/`` has a known truth (its comment). The test compiles it with
gcc and runs it under every tool that can trace it: valgrind massif and heaptrack (live bytes
over time), valgrind memcheck's XML and LeakSanitizer (loss records at exit). ``leakspot trace
analyze`` must read each file, find the program's own allocation site (file, line, function)
and give it the right class and verdict, and say nothing else grows or is lost.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import need_tool, run

PROGRAMS = Path(__file__).parent / "programs" / "c"
#: program -> (class over time, grows, kind of loss at exit or None, the allocating function)
TRUTH = {
    "linear_leak": ("linear", True, "definite-loss", "handle"),
    "superlinear": ("exponential", True, "definite-loss", "handle"),
    "late_leak": ("linear", True, "definite-loss", "handle"),
    "cache_filling": ("logarithmic", False, "reachable", "lookup"),
    "constant_churn": ("constant", False, None, "work"),
    "freed_late": ("constant", False, None, "main"),
    "sawtooth": ("constant", False, None, "add"),
}
FORMATS = ("massif", "heaptrack", "memcheck", "lsan")


def _build(name: str, tmp: Path, *flags: str) -> Path:
    """Compile ``name``.c, from ``tmp`` when a copy is there, else from ``tests/programs/c``."""
    gcc = need_tool("gcc")
    exe = tmp / (name + ("-lsan" if flags else ""))
    source = tmp / f"{name}.c" if (tmp / f"{name}.c").is_file() else PROGRAMS / f"{name}.c"
    subprocess.run([gcc, "-g", "-O0", "-Wall", "-Werror", *flags, "-o", str(exe), str(source)],
                   check=True, capture_output=True)
    return exe


def _capture(fmt: str, name: str, tmp: Path) -> Path | None:
    """Run ``name`` under ``fmt``'s tool; the file it wrote (``None``: LSan found nothing)."""
    if fmt == "massif":
        out = tmp / f"{name}.massif"
        subprocess.run([need_tool("valgrind"), "-q", "--tool=massif", "--detailed-freq=1", "--threshold=0",
                        "--time-unit=ms", f"--massif-out-file={out}", str(_build(name, tmp))], check=True,
                       capture_output=True)
        return out
    if fmt == "heaptrack":
        stem = tmp / f"{name}.heaptrack"
        subprocess.run([need_tool("heaptrack"), "-o", str(stem), str(_build(name, tmp))], check=True,
                       capture_output=True)
        return next(tmp.glob(f"{name}.heaptrack*"))
    if fmt == "memcheck":
        out = tmp / f"{name}.xml"
        subprocess.run([need_tool("valgrind"), "-q", "--leak-check=full", "--show-leak-kinds=all", "--xml=yes",
                        f"--xml-file={out}", str(_build(name, tmp))], check=True, capture_output=True)
        return out
    exe = _build(name, tmp, "-fsanitize=leak")
    done = subprocess.run([str(exe)], capture_output=True, env={**os.environ, "LSAN_OPTIONS": "exitcode=23"})
    if done.returncode == 0:
        assert b"LeakSanitizer" not in done.stderr
        return None
    assert done.returncode == 23, done.stderr
    out = tmp / f"{name}.lsan.txt"
    out.write_bytes(done.stderr)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(TRUTH))
def test_c_program_is_classified_from_every_trace(name: str, fmt: str, tmp_path: Path) -> None:
    klass, grows, loss, function = TRUTH[name]
    trace = _capture(fmt, name, tmp_path)
    if trace is None:  # LeakSanitizer writes a report only when something leaked
        assert loss != "definite-loss"
        return
    r = run("trace", "analyze", str(trace), "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["format"] == fmt
    own = [s for s in doc["sites"] if Path(s["file"]).name == f"{name}.c" and s["function"] == function]
    if doc["kind"] == "exit":
        if loss is None:
            assert not [s for s in own if s["class"] != "reachable"], own
        else:
            site = max(own, key=lambda s: s["leaked_bytes"]) if loss == "definite-loss" or own else None
            if fmt == "lsan" and loss == "reachable":
                assert site is None  # LSan reports no reachable memory
            else:
                assert site is not None and site["class"] == loss and site["growing"] == (loss == "definite-loss")
                assert site["leaked_bytes"] >= 150_000 and site["p_value"] is None
        others = [s for s in doc["sites"] if s["growing"] and s["function"] != function]
        assert not others, others
        return
    assert doc["samples"] >= 12
    if klass == "constant" and not own:
        return  # never live at a sample: constant
    site = max(own, key=lambda s: s["peak_bytes"])
    assert (site["class"], site["growing"]) == (klass, grows), site
    if grows:
        assert site["leaked_bytes"] > 100_000 and site["rate_bytes_per_s"] > 0 and site["confidence"] >= 0.99
    others = [s for s in doc["sites"] if s["growing"] and s is not site]
    assert not others, others


@pytest.mark.parametrize("fmt", ["massif", "memcheck"])
def test_c_evidence_confirms_and_refutes_the_static_finding(fmt: str, tmp_path: Path) -> None:
    """``leakspot check --evidence`` on a C file: the leak in ``handle`` is confirmed by the
    trace of the program that leaks, and refuted by that of a build whose leaking branch never
    runs (``i < 150`` made ``i < 1000``): the static finding is the same, the run is not."""
    source = (PROGRAMS / "late_leak.c").read_text()
    variants = {"leaks": source, "never": source.replace("if (i < 150)", "if (i < 1000)")}
    verdicts = {}
    for label, text in variants.items():
        work = tmp_path / label
        work.mkdir()
        (work / "late_leak.c").write_text(text)
        trace = _capture(fmt, "late_leak", work)
        r = run("check", "late_leak.c", "--select", "LK201", "--evidence", str(trace), "--format", "json", cwd=work)
        assert r.returncode == 1, r.stderr
        findings = json.loads(r.stdout)["findings"]
        assert [f["code"] for f in findings] == ["LK201"], findings
        verdicts[label] = findings[0]["evidence"]
    assert verdicts["leaks"]["verdict"] == "confirmed"
    assert verdicts["leaks"]["leaked_bytes"] >= 250_000
    # memcheck lists only what was lost: a build that loses nothing leaves nothing to match
    assert verdicts["never"]["verdict"] == ("refuted" if fmt == "massif" else "not-exercised")


HIDDEN = """/* memory allocated through a table of allocators: no static rule sees an allocation */
#include <stdlib.h>
#include <string.h>

static void *(*allocators[])(size_t) = {malloc};

static void handle(int i) {
    char *buf = allocators[0](1000);
    memset(buf, i, 1000);
}

int main(void) {
    for (int i = 0; i < 50; i++)
        handle(i);
    return 0;
}
"""


@pytest.mark.parametrize("fmt", ["memcheck", "lsan"])
def test_a_loss_no_rule_sees_is_a_runtime_finding(fmt: str, tmp_path: Path) -> None:
    (tmp_path / "hidden.c").write_text(HIDDEN)
    trace = _capture(fmt, "hidden", tmp_path)
    r = run("check", ".", "--evidence", str(trace), "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    findings = json.loads(r.stdout)["findings"]
    assert [(f["code"], f["path"], f["line"]) for f in findings] == [("LK910", "hidden.c", 8)], findings
    assert "was lost at exit, 50,000 bytes in 50 blocks" in findings[0]["message"]
    assert findings[0]["evidence"]["verdict"] == "confirmed" and findings[0]["evidence"]["class"] == "definite-loss"
