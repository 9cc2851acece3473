"""Trace files that cannot be read are clear errors: the file and the byte offset, exit 2.

Real captures (of ``tests/programs/c/linear_leak.c`` and ``tests/programs/linear_leak.py``)
are cut short or replaced by foreign files; a pickle that would run code is refused, not run.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import need_tool, run

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("captures")
    exe = tmp / "linear_leak"
    subprocess.run([need_tool("gcc"), "-g", "-O0", "-o", str(exe), str(HERE / "programs/c/linear_leak.c")], check=True)
    out = {"massif": tmp / "t.massif", "memcheck": tmp / "t.xml"}
    subprocess.run([need_tool("valgrind"), "-q", "--tool=massif", "--detailed-freq=1", "--threshold=0",
                    "--time-unit=ms", f"--massif-out-file={out['massif']}", str(exe)], check=True, capture_output=True)
    subprocess.run([need_tool("valgrind"), "-q", "--leak-check=full", "--xml=yes", f"--xml-file={out['memcheck']}",
                    str(exe)], check=True, capture_output=True)
    subprocess.run([need_tool("heaptrack"), "-o", str(tmp / "t.heaptrack"), str(exe)], check=True, capture_output=True)
    out["heaptrack"] = next(tmp.glob("t.heaptrack*"))
    subprocess.run([need_tool("gcc"), "-g", "-fsanitize=leak", "-o", str(exe) + "-lsan",
                    str(HERE / "programs/c/linear_leak.c")], check=True)
    done = subprocess.run([str(exe) + "-lsan"], capture_output=True)
    out["lsan"] = tmp / "t.lsan.txt"
    out["lsan"].write_bytes(done.stderr)
    if importlib_memray():
        out["memray"] = tmp / "t.memray.bin"
        subprocess.run([sys.executable, "-m", "memray", "run", "--trace-python-allocators", "-q", "-o",
                        str(out["memray"]), str(HERE / "programs/linear_leak.py")], check=True, capture_output=True)
    return out


def importlib_memray() -> bool:
    import importlib.util

    return importlib.util.find_spec("memray") is not None


def _analyze(path: Path, cwd: Path):
    return run("trace", "analyze", str(path), cwd=cwd)


@pytest.mark.parametrize("fmt", ["massif", "memcheck", "heaptrack", "lsan", "memray"])
def test_whole_capture_reads_and_cut_capture_is_an_error(fmt: str, captures, tmp_path: Path) -> None:
    if fmt not in captures:
        pytest.skip("memray is not installed")
    whole = captures[fmt]
    r = _analyze(whole, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "handle" in r.stdout and ("GROWS" in r.stdout or "LOST" in r.stdout)
    data = whole.read_bytes()
    cut = tmp_path / ("cut-" + whole.name)
    cut.write_bytes(data[: int(len(data) * 0.6)])
    r = _analyze(cut, tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    m = re.search(rf"{re.escape(cut.name)}: at byte (\d+): (.+)", r.stderr)
    assert m, r.stderr
    assert 0 <= int(m.group(1)) <= len(data) and ("cut short" in m.group(2) or "truncated" in m.group(2))
    assert "Traceback" not in r.stderr


def test_foreign_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello, this is not a trace\n")
    r = _analyze(tmp_path / "notes.txt", tmp_path)
    assert r.returncode == 2 and "notes.txt: at byte 0: not a trace leakspot reads" in r.stderr
    (tmp_path / "empty.trace").write_bytes(b"")
    r = _analyze(tmp_path / "empty.trace", tmp_path)
    assert r.returncode == 2 and "empty.trace: at byte 0: empty file" in r.stderr
    (tmp_path / "bad.massif").write_text("desc: x\ncmd: ./a\ntime_unit: ms\nsnapshot=0\ntime=0\nheap_tree=detailed\n"
                                         "n2: 10 (heap allocation functions)\n n0: 10 0x1: f (a.c:3)\n")
    r = _analyze(tmp_path / "bad.massif", tmp_path)
    assert r.returncode == 2 and "bad.massif: at byte" in r.stderr and "cut short" in r.stderr
    r = _analyze(tmp_path / "missing.trace", tmp_path)
    assert r.returncode == 2 and "missing.trace" in r.stderr


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_that_runs_code_is_refused_not_run(tmp_path: Path) -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    snapshot.dump(str(tmp_path / "good.pickle"))
    evil = pickle.dumps(_Evil(), protocol=5)
    # a real dump's opening bytes, then the payload: the detector takes it for a dump
    (tmp_path / "evil.pickle").write_bytes(evil[:2] + b"\x95" + evil[3:11] + b"\x8c\x0btracemalloc\x94" + evil[11:])
    r = _analyze(tmp_path / "evil.pickle", tmp_path)
    assert r.returncode == 2 and "evil.pickle: at byte" in r.stderr
    assert not (tmp_path / "pwned").exists()
    r = _analyze(tmp_path / "good.pickle", tmp_path)
    assert r.returncode == 0, r.stderr


def test_long_read_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal (a pseudo-terminal made by util-linux ``script``), reading a large trace
    draws a tqdm bar on stderr; piped, it draws none."""
    import json
    import shlex

    script = need_tool("script")
    big = tmp_path / "big.trace"
    with big.open("w") as fh:
        fh.write(json.dumps({"format": "leakspot-trace", "version": 1}) + "\n")
        for i in range(4000):
            fh.write(json.dumps({"t": i * 0.1, "sites": [[f"/x/m{k}.py", k, 1000 * k, 1] for k in range(60)]}) + "\n")
    command = f"stty cols 100 rows 30; {shlex.quote(sys.executable)} -m leakspot trace analyze {shlex.quote(str(big))}"
    shown = subprocess.run([script, "-qec", command, "/dev/null"], capture_output=True, text=True, cwd=tmp_path)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert re.search(r"trace:\s+\d+%\|", shown.stdout), shown.stdout[-500:]
    piped = run("trace", "analyze", str(big), cwd=tmp_path)
    assert piped.returncode == 0 and "%|" not in piped.stderr
