"""Collector overhead: one allocation-heavy workload run plain, under ``leakspot trace record``
and under ``memray run``, in the same benchmark run.

The workload is ``bench/workloads/alloc_heavy.py`` (json round trips, small lists and strings,
a bounded LRU cache; about 2 s plain). Each configuration runs ``--repeat`` times (default 3),
interleaved so that a change in the machine's load touches all alike; the table gives the
median wall time, its ratio to the plain run, the peak RSS (``ru_maxrss`` of the child, from
``os.wait4``) and the size of the file written. memray is the ``memray`` package of the
``runtime`` extra (``python -m memray``); a missing one is reported, not fatal.

Usage: ``python bench/trace_overhead.py [--repeat N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOAD = Path(__file__).resolve().parent / "workloads" / "alloc_heavy.py"


def configurations(tmp: Path, requests: int) -> dict[str, tuple[list[str], Path | None]]:
    """name -> (command, the file it writes)."""
    py = sys.executable
    prog = [str(WORKLOAD), str(requests)]
    out = {"plain": ([py, *prog], None)}
    for frames in (1, 4):
        trace = tmp / f"leakspot-f{frames}.trace"
        out[f"leakspot trace record --frames {frames}"] = (
            [py, "-m", "leakspot", "trace", "record", "--frames", str(frames), "-o", str(trace),
             "--", py, *prog], trace)
    if importlib.util.find_spec("memray"):
        for extra in ([], ["--trace-python-allocators"]):
            capture = tmp / f"memray{len(extra)}.bin"
            name = "memray run" + (" --trace-python-allocators" if extra else "")
            out[name] = ([py, "-m", "memray", "run", "-q", "-f", *extra, "-o", str(capture), *prog], capture)
    return out


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return wall, usage.ru_maxrss * 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=80_000)
    args = ap.parse_args()
    if not importlib.util.find_spec("memray"):
        print("memray: not installed (pip install 'leakspot[runtime]'): left out", file=sys.stderr)
    with tempfile.TemporaryDirectory() as d:
        configs = configurations(Path(d), args.requests)
        runs: dict[str, list[tuple[float, int]]] = {name: [] for name in configs}
        for _ in range(args.repeat):
            for name, (command, _) in configs.items():
                runs[name].append(timed(command))
        plain = statistics.median(w for w, _ in runs["plain"])
        print(f"{'configuration':42} {'median s':>9} {'x plain':>8} {'peak RSS':>10} {'file':>10}")
        for name, (command, written) in configs.items():
            wall = statistics.median(w for w, _ in runs[name])
            rss = max(r for _, r in runs[name])
            size = written.stat().st_size if written and written.exists() else 0
            print(f"{name:42} {wall:9.2f} {wall / plain:8.2f} {rss / 2**20:8.0f} MiB {size / 2**10:8.0f} KiB")
    print(f"(workload: {WORKLOAD.name} {args.requests} requests, {args.repeat} runs each, interleaved)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
