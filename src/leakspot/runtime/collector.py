"""Record a leakspot trace of a Python program under :mod:`tracemalloc`.

``python -m leakspot.runtime.collector --out TRACE [--interval S] [--frames N] [--include GLOB]
[--min-bytes B] -- script.py ARGS`` (or ``-- -m module ARGS``) runs the program in this process,
as ``python script.py`` would (``sys.argv``, ``__main__``, the script's directory first on
``sys.path``), with ``tracemalloc`` tracing ``N`` frames. A daemon thread takes a snapshot every
``S`` seconds of wall-clock time (with ``--share F``, less often when a snapshot is costly, so
that snapshots take at most the share ``F`` of the time, half of it for the first 20), and a
writer process records, per allocation site (the allocating frame's file and 1-based line),
the live bytes and blocks of the sites holding at least ``B`` bytes, and the frames of their
callers (with ``N`` > 1); a last snapshot is taken when the program ends, also by an exception
or ``sys.exit``. ``--include`` keeps only sites whose file matches one of the glob patterns. The program's exit status is
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


def group_traces(raw, frames: int, include: list[str], min_bytes: int) -> list[tuple]:
    """Sites of one snapshot's raw traces (``(domain, size, frames, ...)``, frames most recent
    first, as ``tracemalloc`` keeps them): per allocating line, bytes, blocks and the callers'
    frames, largest first, down to ``min_bytes``; the collector's own sites and, with
    ``include``, sites in files no glob matches are left out."""
    agg: dict[tuple[str, int], list] = {}
    for trace in raw:
        size, tb = trace[1], trace[2]
        if not tb:
            continue
        top = (tb[0][0], tb[0][1])
        entry = agg.get(top)
        if entry is None:
            entry = agg[top] = [0, 0, set()]
        entry[0] += size
        entry[1] += 1
        if frames > 1 and len(tb) > 1:
            entry[2].update((f, ln) for f, ln in tb[1:] if not f.startswith(_OWN))
    sites = []
    for (name, line), (size, count, callers) in sorted(agg.items(), key=lambda kv: -kv[1][0]):
        if size < min_bytes:
            break
        if name.startswith(_OWN) or (include and not any(fnmatch.fnmatch(name, g) for g in include)):
            continue
        sites.append((name, line, size, count, sorted(callers)) if callers else (name, line, size, count))
    return sites


def _raw(snapshot) -> list:
    """The raw traces of a snapshot (CPython keeps them as ``snapshot.traces._traces``), else
    rebuilt through the public API."""
    raw = getattr(getattr(snapshot, "traces", None), "_traces", None)
    if isinstance(raw, list):
        return raw
    return [(t.domain, t.size, tuple((f.filename, f.lineno) for f in reversed(t.traceback)))
            for t in snapshot.traces]


class Recorder:
    """Snapshots of live memory per allocation site, grouped and written by a writer process.

    Grouping a snapshot by site is Python code, so in the traced process every object it makes
    would go through tracemalloc's hooks: for a few thousand traces that costs about ten times
    the snapshot itself. The traced program only takes the snapshot and marshals its raw traces
    down a pipe to this file run with ``--writer`` (untraced), which groups them
    (:func:`group_traces`) and writes the trace. Frames on the pipe: a kind byte, a big-endian
    length (4 bytes), then ``marshal`` data: ``H`` the header, ``S`` ``(t, raw)``, ``E`` ``(t,
    exit code)``. Start it before ``tracemalloc.start``: the writer is not the program's memory.
    """

    #: samples taken with snapshots allowed half the time before ``share`` applies: a short
    #: run still gets enough samples for the trend test
    DENSE = 20

    def __init__(self, out_path: str, header: dict, interval: float, include: list[str], min_bytes: int,
                 frames: int = 1) -> None:
        import subprocess

        self.interval = interval
        self.t0 = time.perf_counter()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        command = [sys.executable, os.path.abspath(__file__), "--writer", "--out", out_path,
                   "--frames", str(frames), "--min-bytes", str(min_bytes)]
        for glob in include:
            command += ["--include", glob]
        self.writer = subprocess.Popen(command, stdin=subprocess.PIPE, env={**os.environ, "PYTHONTRACEMALLOC": ""})
        self._send(b"H", header)

    def _send(self, kind: bytes, obj) -> None:
        import marshal

        data = marshal.dumps(obj)
        with self.lock:
            self.writer.stdin.write(kind + len(data).to_bytes(4, "big") + data)
            self.writer.stdin.flush()

    def sample(self, t: float | None = None) -> None:
        """Take one snapshot and send it (at ``t``, default: seconds since the start)."""
        snap = tracemalloc.take_snapshot()
        if t is None:
            t = time.perf_counter() - self.t0
        self._send(b"S", (t, _raw(snap)))

    def end(self, t: float, code: int) -> None:
        """Send the closing line and wait for the writer to finish the file."""
        self._send(b"E", (t, code))
        self.writer.stdin.close()
        self.writer.wait()

    def run(self, share: float = 0.0) -> None:
        """The sampling loop of the background thread: every ``interval`` seconds or, with a
        ``share`` in (0, 1), less often when snapshots are costly (a large heap), so that they
        take at most that share of the time (half of it for the first :attr:`DENSE` samples):
        the wait after a snapshot is at least ``1 / share - 1`` times what it cost. Samples may
        be uneven: the analysis uses their real times."""
        wait = self.interval
        taken = 0
        while not self.stop.wait(wait):
            start = time.perf_counter()
            self.sample()
            cost = time.perf_counter() - start
            taken += 1
            if 0 < share < 1:
                wait = max(self.interval, cost * (1 / (share if taken >= self.DENSE else max(share, 0.5)) - 1))


def _write(opts) -> int:
    """The writer process: frames from stdin (:class:`Recorder`) to the trace file."""
    import marshal

    stream = sys.stdin.buffer
    with open(opts.out, "w", encoding="utf-8") as out:
        while True:
            head = stream.read(5)
            if len(head) < 5:
                return 0
            data = stream.read(int.from_bytes(head[1:], "big"))
            obj = marshal.loads(data)
            kind = head[:1]
            if kind == b"H":
                write_header(out, obj)
            elif kind == b"S":
                write_sample(out, obj[0], group_traces(obj[1], opts.frames, opts.include, opts.min_bytes))
            elif kind == b"E":
                write_end(out, obj[0], obj[1])
            out.flush()


def main(argv: list[str] | None = None) -> int:
    """Run the program named after ``--`` and record its trace; return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--writer"]:
        w = argparse.ArgumentParser(prog="leakspot-collector-writer")
        w.add_argument("--out", required=True)
        w.add_argument("--frames", type=int, default=4)
        w.add_argument("--include", action="append", default=[])
        w.add_argument("--min-bytes", type=int, default=1024)
        return _write(w.parse_args(argv[1:]))
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
    header = {"tool": "tracemalloc", "command": target, "interval_s": opts.interval, "share": opts.share,
              "frames": opts.frames, "min_bytes": opts.min_bytes, "started": time.time()}
    # the writer process starts before tracing does: its pipe is not the program's memory
    recorder = Recorder(opts.out, header, opts.interval, opts.include, opts.min_bytes, opts.frames)
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
        recorder.end(time.perf_counter() - recorder.t0, code)
    return code


if __name__ == "__main__":
    sys.exit(main())
