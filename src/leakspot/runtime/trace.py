"""The leakspot trace file: live bytes per allocation site over time.

Format (version 1), JSON Lines, UTF-8:

- line 1, the header: ``{"format": "leakspot-trace", "version": 1, "tool": "tracemalloc",
  "command": [...], "interval_s": 0.05, "frames": 1, "started": <Unix time, seconds>}``, and
  optionally ``"time_unit": "iteration"`` when sample times count loop iterations (the pytest
  plugin) rather than seconds (the default, ``"s"``);
- then one line per sample, in time order: ``{"t": <seconds since the start>, "sites":
  [[file, line, bytes, blocks, callers?], ...]}``: every allocation site (the file and 1-based
  line of the allocating frame) holding at least the recorder's ``min_bytes`` of live memory
  then, with, optionally, ``callers``: the ``[file, line]`` frames of the stacks that allocated
  it; a site missing from a sample holds less (counted as 0);
- optionally, last, ``{"end": <seconds since the start>, "exit_code": <int>}``.

A file that is not such a trace, or is cut short inside a line, is a :class:`TraceError` that
names the file and the byte offset of the line at fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from leakspot.runtime.collector import FORMAT, VERSION, write_end, write_header, write_sample

__all__ = ["FORMAT", "VERSION", "Loss", "Site", "Trace", "TraceError", "read_trace", "write_end", "write_header",
           "write_sample"]


class TraceError(Exception):
    """A trace file that cannot be read: ``path`` and the byte ``offset`` of the bad line."""

    def __init__(self, path: Path | str, offset: int, reason: str) -> None:
        super().__init__(f"{path}: at byte {offset}: {reason}")
        self.path, self.offset, self.reason = str(path), offset, reason


Site = tuple[str, int]  # (file, 1-based line; 0 when the frame has no line information)


@dataclass(frozen=True)
class Loss:
    """One loss record of an exit-time report (valgrind memcheck, LeakSanitizer).

    Attributes:
        site: the allocation site, the first frame of the stack outside the allocator.
        kind: ``definite`` (memcheck's "definitely lost", LSan's "direct leak"; memcheck counts
            the indirect bytes it drags along in it), ``indirect``, ``possible`` or ``reachable``.
        bytes, blocks: what the record says is lost (bytes; blocks or objects).
        stack: the frames after the site, callers first to last, as ``(file, line)``.
    """

    site: Site
    kind: str
    bytes: int
    blocks: int
    stack: tuple[Site, ...] = ()


@dataclass
class Trace:
    """A recorded trace.

    Attributes:
        header: the header object (command, interval, frames, tool...).
        times: sample times, seconds since the start, increasing.
        series: per site, its live bytes at each sample time (same length as ``times``).
        callers: per site, the caller frames seen in its allocation stacks.
        exit_code: the program's exit status, when the trace recorded it.
        functions: the function of a frame, when the trace names it (native traces, memray).
        losses: the loss records of an exit-time report (memcheck, LSan); ``None`` for a
            trace of live memory over time.
        format: the format the trace was read from (``leakspot``, ``massif``, ``heaptrack``,
            ``memray``, ``tracemalloc``, ``memcheck``, ``lsan``).
    """

    header: dict
    times: list[float] = field(default_factory=list)
    series: dict[Site, list[int]] = field(default_factory=dict)
    callers: dict[Site, set[Site]] = field(default_factory=dict)
    exit_code: int | None = None
    functions: dict[Site, str] = field(default_factory=dict)
    losses: list[Loss] | None = None
    format: str = "leakspot"


def progress(total: int, desc: str, unit: str = "B"):
    """A tqdm progress bar (of ``total`` ``unit``, bytes by default) on stderr, shown only when stderr is a terminal; an object
    with the same ``update``/``close`` that does nothing when tqdm is not installed."""
    import sys

    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the runtime extra
        return _NoBar()
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", disable=None, leave=False, file=sys.stderr)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def read_trace(path: Path | str) -> Trace:
    """Read a trace file.

    Raises:
        TraceError: not a leakspot trace, an unknown version, a line that is not JSON (also a
            last line cut short), or samples out of time order.
        OSError: the file cannot be read.
    """
    data = Path(path).read_bytes()
    trace: Trace | None = None
    samples: list[tuple[float, dict[Site, int]]] = []
    callers: dict[Site, set[Site]] = {}
    offset = 0
    bar = progress(len(data), "trace")
    for raw in data.splitlines(keepends=True):
        line_offset, offset = offset, offset + len(raw)
        bar.update(len(raw))
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            cut = not raw.endswith(b"\n")
            raise TraceError(path, line_offset, "truncated line" if cut else f"not JSON ({exc.msg})") from None
        if trace is None:
            if not isinstance(obj, dict) or obj.get("format") != FORMAT:
                raise TraceError(path, line_offset, "not a leakspot trace (no leakspot-trace header)")
            if obj.get("version") != VERSION:
                raise TraceError(path, line_offset, f"unsupported trace version {obj.get('version')!r}")
            trace = Trace(header=obj)
            continue
        if "end" in obj:
            trace.exit_code = obj.get("exit_code")
            continue
        try:
            t = float(obj["t"])
            sites = {}
            for f, ln, b, *rest in obj["sites"]:
                sites[(str(f), int(ln))] = int(b)
                if len(rest) > 1:
                    callers.setdefault((str(f), int(ln)), set()).update((str(cf), int(cl)) for cf, cl in rest[1])
        except (KeyError, TypeError, ValueError):
            raise TraceError(path, line_offset, "a sample needs \"t\" and \"sites\": [[file, line, bytes, blocks]]") from None
        if samples and t < samples[-1][0]:
            raise TraceError(path, line_offset, "samples out of time order")
        samples.append((t, sites))
    bar.close()
    if trace is None:
        raise TraceError(path, 0, "empty file")
    trace.times = [t for t, _ in samples]
    every = {s for _, sites in samples for s in sites}
    trace.series = {s: [sites.get(s, 0) for _, sites in samples] for s in sorted(every)}
    trace.callers = callers
    return trace
