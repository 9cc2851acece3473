"""Record a leakspot trace of a Python program under :mod:`tracemalloc`.

``python -m leakspot.runtime.collector --out TRACE [--interval S] [--frames N] [--include GLOB]
[--min-bytes B] -- script.py ARGS`` (or ``-- -m module ARGS``) runs the program in this process,
as ``python script.py`` would (``sys.argv``, ``__main__``, the script's directory first on
``sys.path``), with ``tracemalloc`` tracing ``N`` frames. A daemon thread takes a snapshot every
``S`` seconds of wall-clock time (with ``--share F``, less often when a snapshot is costly, so
that snapshots take at most the share ``F`` of the time) and writes, per allocation site (the allocating frame's file
and 1-based line), the live bytes and blocks of the sites holding at least ``B`` bytes, and the
frames of their callers (with ``N`` > 1); a last
snapshot is taken when the program ends, also by an exception or ``sys.exit``. ``--include``
keeps only sites whose file matches one of the glob patterns. The program's exit status is
the collector's. Format: :mod:`leakspot.runtime.trace`.

``leakspot trace record`` runs this file as a script in the interpreter the user names (their
environment, not leakspot's): it imports nothing but the standard library, and takes its own
directory off ``sys.path`` so that the program sees the path ``python PROGRAM.py`` would give
it. The writers of the trace format (:mod:`leakspot.runtime.trace`) live here for that reason.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import runpy
import sys
import threading
import time
import tracemalloc

import json

FORMAT, VERSION = "leakspot-trace", 1


def write_header(out, header: dict) -> None:
    """Write the trace's header line (``format`` and ``version`` are filled in)."""
    out.write(json.dumps({"format": FORMAT, "version": VERSION, **header}) + "\n")


def write_sample(out, t: float, sites: list[tuple]) -> None:
    """Write one sample: time in seconds, then (file, line, bytes, blocks[, callers]) per site."""
    out.write(json.dumps({"t": round(t, 6), "sites": [list(s) for s in sites]}) + "\n")


def write_end(out, t: float, exit_code: int) -> None:
    """Write the closing line: when the program ended and its exit status."""
    out.write(json.dumps({"end": round(t, 6), "exit_code": exit_code}) + "\n")

_OWN = (os.path.dirname(os.path.abspath(__file__)), "<frozen ", tracemalloc.__file__, threading.__file__)


class Recorder:
    """Snapshots of live memory per allocation site, written as they are taken."""

    def __init__(self, out, interval: float, include: list[str], min_bytes: int, frames: int = 1) -> None:
        self.out = out
        self.frames = frames
        self.interval = interval
        self.include = include
        self.min_bytes = min_bytes
        self.t0 = time.perf_counter()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def sample(self, t: float | None = None) -> None:
        """Take one snapshot and write its sites (at ``t``, default: seconds since the start)."""
        snap = tracemalloc.take_snapshot()
        if t is None:
            t = time.perf_counter() - self.t0
        # per allocating line: bytes, blocks and the callers' frames (tracebacks list the
        # oldest frame first, the allocating one last)
        agg: dict[tuple[str, int], list] = {}
        for stat in snap.statistics("traceback" if self.frames > 1 else "lineno"):
            frames = list(stat.traceback)
            top = frames[-1]
            entry = agg.setdefault((top.filename, top.lineno), [0, 0, set()])
            entry[0] += stat.size
            entry[1] += stat.count
            entry[2].update((f.filename, f.lineno) for f in frames[:-1] if not f.filename.startswith(_OWN))
        sites = []
        for (name, line), (size, count, callers) in sorted(agg.items(), key=lambda kv: -kv[1][0]):
            if size < self.min_bytes:
                break
            if name.startswith(_OWN) or (self.include and not any(fnmatch.fnmatch(name, g) for g in self.include)):
                continue
            sites.append((name, line, size, count, sorted(callers)) if callers else (name, line, size, count))
        with self.lock:
            write_sample(self.out, t, sites)
            self.out.flush()

    def run(self, share: float = 0.0) -> None:
        """The sampling loop of the background thread: every ``interval`` seconds or, with a
        ``share`` in (0, 1), less often when snapshots are costly (a large heap), so that they
        take at most that share of the time: the wait after a snapshot is at least
        ``1 / share - 1`` times what it cost."""
        wait = self.interval
        while not self.stop.wait(wait):
            start = time.perf_counter()
            self.sample()
            cost = time.perf_counter() - start
            if 0 < share < 1:
                wait = max(self.interval, cost * (1 / share - 1))


def main(argv: list[str] | None = None) -> int:
    """Run the program named after ``--`` and record its trace; return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        print("usage: python -m leakspot.runtime.collector --out TRACE [options] -- script.py [ARGS]",
              file=sys.stderr)
        return 2
    split = argv.index("--")
    p = argparse.ArgumentParser(prog="leakspot-collector")
    p.add_argument("--out", required=True)
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--share", type=float, default=0.0)
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--include", action="append", default=[])
    p.add_argument("--min-bytes", type=int, default=1024)
    opts = p.parse_args(argv[:split])
    target = argv[split + 1:]
    if not target:
        print("leakspot: nothing to run after --", file=sys.stderr)
        return 2
    module = target[1] if target[0] == "-m" and len(target) > 1 else None
    program_args = target[2:] if module else target[1:]
    with open(opts.out, "w", encoding="utf-8") as out:
        write_header(out, {"tool": "tracemalloc", "command": target, "interval_s": opts.interval, "share": opts.share,
                           "frames": opts.frames, "min_bytes": opts.min_bytes, "started": time.time()})
        recorder = Recorder(out, opts.interval, opts.include, opts.min_bytes, opts.frames)
        tracemalloc.start(opts.frames)
        thread = threading.Thread(target=recorder.run, args=(opts.share,), name="leakspot-trace", daemon=True)
        code = 0
        sys.argv = [module or target[0], *program_args]
        if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
            del sys.path[0]  # run as a script: our directory is not the program's
        sys.path.insert(0, os.path.dirname(os.path.abspath(target[0])) if not module else os.getcwd())
        thread.start()
        try:
            if module:
                runpy.run_module(module, run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(os.path.abspath(target[0]), run_name="__main__")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # the program's own failure: report it as Python would, then record
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            recorder.stop.set()
            thread.join()
            recorder.sample()
            tracemalloc.stop()
            with recorder.lock:
                write_end(out, time.perf_counter() - recorder.t0, code)
    return code


if __name__ == "__main__":
    sys.exit(main())
