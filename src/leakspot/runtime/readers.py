"""Readers for the traces other tools make, detected from the file's content.

Each reader returns a :class:`leakspot.runtime.trace.Trace`: live bytes per allocation site
over time (``times`` and ``series``), or, for an exit-time report, its loss records
(``losses``). An allocation site is the first frame of the allocation stack that is not the
allocator itself nor, when a later frame is, the C library (``strdup`` calls ``malloc`` for its
caller); the frames after it are its ``callers``.

==============================  ===========================================================
format (``Trace.format``)       what is read
==============================  ===========================================================
``leakspot``                    leakspot's own JSON Lines (:mod:`leakspot.runtime.trace`)
``tracemalloc``                 one or more ``tracemalloc.Snapshot.dump()`` files; each is a
                                sample at its file's modification time. Read by a restricted
                                unpickler that builds only the two ``tracemalloc`` classes:
                                nothing in the file is run.
``memray``                      a ``memray run`` capture (``--trace-python-allocators`` so
                                that small Python objects are seen), read with memray's own
                                ``FileReader``: its temporal allocation records, sampled at
                                its memory snapshots (about every 10 ms)
``massif``                      ``valgrind --tool=massif --detailed-freq=1 --threshold=0
                                --time-unit=ms``: each detailed snapshot's heap tree; the
                                tree's first level are the allocation sites
``heaptrack``                   a ``heaptrack`` capture (zstd or gzip compressed, or plain),
                                file format 2 or 3: allocations (``+``) and frees (``-``)
                                replayed, live bytes sampled at its timestamps (``c``)
``memcheck``                    ``valgrind --leak-check=full --xml=yes`` loss records
                                (exit-time); a definite loss already counts the indirect
                                bytes it drags along, so indirect records are not added in
``lsan``                        a LeakSanitizer report (exit-time): direct and indirect leaks
==============================  ===========================================================

A file that none of them reads, or that one of them finds cut short or malformed, is a
:class:`~leakspot.runtime.trace.TraceError` naming the file and the byte offset (of the
compressed file, for compressed captures) where reading stopped.
"""

from __future__ import annotations

import gzip
import io
import pickle
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from leakspot.runtime.trace import Loss, Site, Trace, TraceError, progress, read_trace

__all__ = ["FORMATS", "detect", "load", "load_many"]

FORMATS = ("leakspot", "tracemalloc", "memray", "massif", "heaptrack", "memcheck", "lsan")
#: at most this many samples are kept of a long capture (evenly thinned, the last one kept)
MAX_SAMPLES = 2000

_ZSTD, _GZIP, _LZ4 = b"\x28\xb5\x2f\xfd", b"\x1f\x8b", b"\x04\x22\x4d\x18"
_ALLOCATORS = frozenset({
    "malloc", "calloc", "realloc", "reallocarray", "free", "memalign", "posix_memalign", "aligned_alloc",
    "valloc", "pvalloc", "operator new", "operator new[]", "strdup", "strndup"})


def detect(path: Path | str) -> str:
    """The format of a trace file, one of :data:`FORMATS`, from its first bytes.

    Raises:
        TraceError: a format leakspot does not read (offset 0).
        OSError: the file cannot be read.
    """
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head:
        raise TraceError(path, 0, "empty file")
    if head.startswith((_ZSTD, _GZIP)):
        return "heaptrack"
    if head.startswith(_LZ4) or head.startswith(b"memray"):
        if b"memray" in head[:64]:
            return "memray"
    if head[:1] == b"\x80" and b"tracemalloc" in head[:64]:
        return "tracemalloc"
    text = head.lstrip()
    if text.startswith(b"{") and b"leakspot-trace" in head.split(b"\n", 1)[0]:
        return "leakspot"
    if text.startswith(b"desc:"):
        return "massif"
    if text.startswith(b"<?xml") and b"<valgrindoutput" in head:
        return "memcheck"
    if re.match(rb"v [0-9a-f]+ [0-9a-f]+\n", text):
        return "heaptrack"
    if b"LeakSanitizer" in head or (path.stat().st_size > len(head) and _mentions_lsan(path)):
        return "lsan"
    if text.startswith(b"{"):
        return "leakspot"  # read_trace says what is wrong with it
    raise TraceError(path, 0, "not a trace leakspot reads (" + ", ".join(FORMATS) + ")")


def _mentions_lsan(path: Path) -> bool:
    with path.open("rb") as fh:
        return any(b"LeakSanitizer" in chunk for chunk in iter(lambda: fh.read(1 << 20), b""))


def load(path: Path | str, fmt: str | None = None) -> Trace:
    """Read one trace file of any of :data:`FORMATS` (``fmt``: its format, when already
    :func:`detect`-ed).

    Raises:
        TraceError: a foreign, cut-short or malformed file (names the file and the offset).
        ImportError: a memray capture without the ``memray`` package (the ``runtime`` extra).
        OSError: the file cannot be read.
    """
    path = Path(path)
    fmt = fmt or detect(path)
    reader = {"leakspot": read_trace, "tracemalloc": lambda p: read_tracemalloc([p]), "memray": read_memray,
              "massif": read_massif, "heaptrack": read_heaptrack, "memcheck": read_memcheck,
              "lsan": read_lsan}[fmt]
    trace = reader(path)
    trace.format = fmt
    return trace


def load_many(paths: list[Path]) -> list[tuple[str, Trace]]:
    """Read the traces of ``paths``: ``(name, trace)`` each. The ``tracemalloc`` dumps among them
    (and those in a directory given) form one trace, their samples ordered by modification
    time; every other file is a trace of its own.

    Raises:
        TraceError, ImportError, OSError: as :func:`load`.
    """
    out: list[tuple[str, Trace]] = []
    dumps: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file())
            found = [p for p in inside if detect_quiet(p) == "tracemalloc"]
            if not found:
                raise TraceError(path, 0, "a directory holds tracemalloc snapshot dumps; none found here")
            dumps += found
        elif (fmt := detect(path)) == "tracemalloc":
            dumps.append(path)
        else:
            out.append((str(path), load(path, fmt)))
    if dumps:
        trace = read_tracemalloc(dumps)
        trace.format = "tracemalloc"
        name = str(paths[0]) if len(paths) == 1 else f"{dumps[0]} (+{len(dumps) - 1} dumps)"
        out.append((name, trace))
    return out


def detect_quiet(path: Path) -> str | None:
    """:func:`detect`, or ``None`` for a file no reader takes."""
    try:
        return detect(path)
    except (TraceError, OSError):
        return None


# ---------------------------------------------------------------------------------------------
# shared: sites from stacks, samples thinned


def _system(file: str, module: str = "") -> bool:
    """A frame of the C library or of the system's shared objects (not the program's code)."""
    return (module.startswith(("/lib", "/usr/lib", "/usr/libexec")) or file.startswith(("./", "../"))
            or file.startswith("/usr/include") or "libsanitizer" in file)


def _site_of(frames: list[tuple[str, int, str, str]]) -> tuple[Site, tuple[Site, ...], dict[Site, str]]:
    """``(site, callers, functions)`` of a stack of ``(file, line, function, module)`` frames,
    innermost first: the allocator's own frames are skipped, then C library frames when the
    program's code follows."""
    frames = [f for f in frames if f[2] not in _ALLOCATORS and not f[2].startswith("__interceptor_")]
    if not frames:
        return ("??", 0), (), {}
    first = 0
    for i, (file, _line, _fn, module) in enumerate(frames):
        if not _system(file, module):
            first = i
            break
    chosen = frames[first:]
    sites = [(f[0] or f[3] or "??", f[1]) for f in chosen]
    functions = {s: f[2] for s, f in zip(sites, chosen) if f[2]}
    return sites[0], tuple(sites[1:]), functions


class _Samples:
    """Samples of live bytes per site, thinned to at most :data:`MAX_SAMPLES` by halving."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.rows: list[dict[Site, int]] = []
        self.stride = 1
        self._seen = 0

    def add(self, t: float, live: dict[Site, int], last: bool = False) -> None:
        self._seen += 1
        if (self._seen - 1) % self.stride and not last:
            return
        self.times.append(t)
        self.rows.append({s: b for s, b in live.items() if b > 0})
        if len(self.times) > MAX_SAMPLES:
            self.times, self.rows = self.times[::2], self.rows[::2]
            self.stride *= 2

    def into(self, trace: Trace) -> Trace:
        trace.times = self.times
        every = {s for row in self.rows for s in row}
        trace.series = {s: [row.get(s, 0) for row in self.rows] for s in sorted(every)}
        return trace


# ---------------------------------------------------------------------------------------------
# tracemalloc snapshot dumps


class _SnapshotUnpickler(pickle.Unpickler):
    """Builds only ``tracemalloc.Snapshot`` and its ``_Traces``: a dump never runs code."""

    def find_class(self, module: str, name: str):
        if module == "tracemalloc" and name in ("Snapshot", "_Traces"):
            import tracemalloc

            return getattr(tracemalloc, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a tracemalloc snapshot")


def read_tracemalloc(paths: list[Path]) -> Trace:
    """A trace of ``tracemalloc.Snapshot.dump()`` files, one sample per file at its
    modification time (seconds since the first); sites are each trace's most recent frame.

    Raises:
        TraceError: a file that is not a snapshot dump or is cut short (offset: where it stopped).
    """
    dumps = sorted(paths, key=lambda p: (p.stat().st_mtime, str(p)))
    samples = _Samples()
    callers: dict[Site, set[Site]] = {}
    t0 = dumps[0].stat().st_mtime if dumps else 0.0
    frames = 0
    for path in dumps:
        data = path.read_bytes()
        stream = io.BytesIO(data)
        try:
            snapshot = _SnapshotUnpickler(stream).load()
            raw = snapshot.traces._traces
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError) as exc:
            raise TraceError(path, stream.tell(), f"not a tracemalloc snapshot dump ({exc or 'cut short'})") from None
        frames = max(frames, getattr(snapshot, "traceback_limit", 1) or 1)
        live: dict[Site, int] = {}
        try:
            for _domain, size, tb, *_ in raw:
                if not tb:
                    continue
                site = (str(tb[0][0]), int(tb[0][1]))
                live[site] = live.get(site, 0) + int(size)
                if len(tb) > 1:
                    callers.setdefault(site, set()).update((str(f), int(ln)) for f, ln in tb[1:])
        except (TypeError, ValueError, IndexError):
            raise TraceError(path, len(data), "a snapshot whose traces are not (domain, size, frames)") from None
        samples.add(path.stat().st_mtime - t0, live)
    trace = samples.into(Trace(header={"tool": "tracemalloc", "frames": frames, "files": [str(p) for p in dumps]}))
    trace.callers = callers
    return trace


# ---------------------------------------------------------------------------------------------
# memray


def read_memray(path: Path) -> Trace:
    """A trace of a memray capture: per site (the Python frame that allocated, or the native
    one), live bytes at each of memray's memory snapshots.

    Raises:
        TraceError: memray cannot read the capture (cut short, or not one).
        ImportError: the ``memray`` package is not installed.
    """
    try:
        import memray
    except ImportError as exc:  # pragma: no cover - in the runtime extra where memray builds
        raise ImportError(f"reading a memray capture needs the memray package ({exc})") from None
    try:
        reader = memray.FileReader(str(path))
        snapshots = list(reader.get_memory_snapshots())
        records = list(reader.get_temporal_allocation_records(merge_threads=True))
        meta = reader.metadata
    except (OSError, RuntimeError, ValueError) as exc:
        raise TraceError(path, _size(path), f"memray cannot read this capture: cut short or damaged ({exc})") from None
    if not snapshots:
        raise TraceError(path, _size(path), "a memray capture with no memory snapshots (cut short?)")
    n = len(snapshots)
    t0 = snapshots[0].time
    times = [(s.time - t0) / 1000.0 for s in snapshots]  # memray's times are milliseconds
    deltas: dict[Site, list[int]] = {}
    callers: dict[Site, set[Site]] = {}
    functions: dict[Site, str] = {}
    bar = progress(len(records), "memray records", unit="records")
    for rec in records:
        bar.update(1)
        stack = rec.stack_trace()
        if not stack:
            try:
                stack = rec.native_stack_trace()
            except (NotImplementedError, RuntimeError, ValueError):
                stack = []
        frames = [(str(file), int(line), str(fn), "") for fn, file, line in stack]
        site, rest, names = _site_of(frames) if frames else (("??", 0), (), {})
        functions.update(names)
        if rest:
            callers.setdefault(site, set()).update(rest)
        d = deltas.setdefault(site, [0] * (n + 1))
        for iv in rec.intervals:
            start = min(max(int(iv.allocated_before_snapshot), 0), n)
            end = n if iv.deallocated_before_snapshot is None else min(int(iv.deallocated_before_snapshot), n)
            if end > start:  # live at snapshots start .. end - 1
                d[start] += iv.n_bytes
                d[end] -= iv.n_bytes
    bar.close()
    series = {}
    for site, d in deltas.items():
        live, acc = [], 0
        for k in range(n):
            acc += d[k]
            live.append(acc)
        if any(live):
            series[site] = live
    trace = Trace(header={"tool": "memray", "command": getattr(meta, "command_line", ""),
                          "python_allocators": getattr(meta, "trace_python_allocators", None)})
    if getattr(meta, "trace_python_allocators", True) is False:
        trace.header["warning"] = ("captured without --trace-python-allocators: Python objects that pymalloc "
                                   "serves (512 bytes or less) are seen only as its arenas")
    step = max(1, -(-n // MAX_SAMPLES))
    keep = list(range(0, n, step))
    if keep[-1] != n - 1:
        keep.append(n - 1)
    trace.times = [times[k] for k in keep]
    trace.series = {s: [v[k] for k in keep] for s, v in sorted(series.items())}
    trace.callers, trace.functions = callers, functions
    return trace


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# ---------------------------------------------------------------------------------------------
# valgrind massif

_MASSIF_NODE = re.compile(rb"^( *)n(\d+): (\d+) (.*)$")
_MASSIF_FRAME = re.compile(r"^0x[0-9A-Fa-f]+: (.*?)(?: \((?:in )?(.*?)(?::(\d+))?\))?$")


def read_massif(path: Path) -> Trace:
    """A trace of a massif output file: per site (a first-level node of each detailed
    snapshot's heap tree), its bytes at each snapshot's time (``time_unit: ms`` or ``B``/``i``
    taken as given, then scaled to seconds for ms).

    Raises:
        TraceError: a malformed or cut-short file (offset of the line at fault), or one without
            detailed snapshots (made without ``--detailed-freq=1``).
    """
    data = path.read_bytes()
    unit = 1.0
    samples: list[tuple[float, dict[Site, int]]] = []
    callers: dict[Site, set[Site]] = {}
    functions: dict[Site, str] = {}
    t = None
    current: dict[Site, int] | None = None
    depth_site: dict[int, Site] = {}
    expected = 0  # children still to read in the open tree
    offset = 0
    bar = progress(len(data), "massif")
    header = {"tool": "massif"}
    for raw in data.splitlines(keepends=True):
        line_offset, offset = offset, offset + len(raw)
        bar.update(len(raw))
        if not raw.endswith(b"\n"):
            raise TraceError(path, line_offset, "cut short inside a line")
        line = raw.rstrip(b"\r\n")
        if not line or line.startswith(b"#"):
            continue
        m = _MASSIF_NODE.match(line)
        if m:
            if current is None:
                raise TraceError(path, line_offset, "a heap tree node outside a detailed snapshot")
            indent, children, size, label = len(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
            expected += children - (1 if indent else 0)
            if indent == 0:
                continue  # the root: "(heap allocation functions) malloc/new/new[], --alloc-fns, etc."
            frame = _massif_frame(label.decode("utf-8", "replace"))
            if frame is None:
                continue  # "in N places, all below massif's threshold"
            file, ln, fn = frame
            site = (file, ln)
            if fn:
                functions[site] = fn
            if indent == 1:
                current[site] = current.get(site, 0) + size
                depth_site = {1: site}
            else:
                depth_site[indent] = site
                top = depth_site.get(1)
                if top is not None:
                    callers.setdefault(top, set()).add(site)
            continue
        k2, sep, v2 = line.partition(b": ")
        if sep and k2 in (b"desc", b"cmd", b"time_unit"):
            header[k2.decode()] = v2.decode("utf-8", "replace")
            if k2 == b"time_unit" and v2.strip() == b"ms":
                unit = 0.001
            continue
        key, eq, value = line.partition(b"=")
        if not eq:
            raise TraceError(path, line_offset, "not a massif line")
        if key == b"snapshot":
            if expected:
                raise TraceError(path, line_offset, "a heap tree cut short")
            if current is not None and t is not None:
                samples.append((t, current))
            current, t = None, None
        elif key == b"time":
            try:
                t = float(value) * unit
            except ValueError:
                raise TraceError(path, line_offset, "time is not a number") from None
        elif key == b"heap_tree":
            current = {} if value in (b"detailed", b"peak") else None
            expected = 0
    bar.close()
    if expected:
        raise TraceError(path, len(data), "a heap tree cut short (the file ends inside it)")
    if current is not None and t is not None:
        samples.append((t, current))
    if "desc" not in header:
        raise TraceError(path, 0, "not a massif file (no desc: line)")
    if not samples:
        raise TraceError(path, len(data), "no detailed snapshots: record with --detailed-freq=1 --threshold=0")
    samples.sort(key=lambda s: s[0])
    acc = _Samples()
    for i, (st, live) in enumerate(samples):
        acc.add(st, live, last=i == len(samples) - 1)
    trace = acc.into(Trace(header=header))
    trace.callers, trace.functions = callers, functions
    return trace


def _massif_frame(label: str) -> tuple[str, int, str] | None:
    """``(file, line, function)`` of a massif node label ``0x4005F4: main (prog.c:12)`` or
    ``0x4C2: strdup (in /usr/lib/libc.so.6)``; ``None`` for an aggregate node."""
    m = _MASSIF_FRAME.match(label)
    if not m:
        return None
    fn, where, ln = m.group(1), m.group(2) or "", m.group(3)
    if ln is None:
        return (where or "??", 0, fn)
    return (where, int(ln), fn)


# ---------------------------------------------------------------------------------------------
# heaptrack


def _heaptrack_lines(path: Path):
    """The decompressed lines of a heaptrack file, with the compressed offset read so far."""
    raw = path.open("rb")
    head = raw.read(4)
    raw.seek(0)
    if head.startswith(_ZSTD):
        import zstandard

        stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    elif head.startswith(_GZIP):
        stream = gzip.GzipFile(fileobj=raw)
    else:
        stream = raw
    text = io.BufferedReader(stream) if not isinstance(stream, io.BufferedReader) else stream
    try:
        while True:
            try:
                line = text.readline()
            except Exception as exc:  # zstd/gzip errors: a damaged or cut stream
                raise TraceError(path, raw.tell(), f"compressed stream cut short or damaged ({exc})") from None
            if not line:
                return
            yield line, raw.tell()
    finally:
        raw.close()


def read_heaptrack(path: Path) -> Trace:
    """A trace of a heaptrack capture (``heaptrack.PROG.PID.zst``): every allocation and free
    replayed; per site (the leaf frame of the allocation's trace, past C library frames), live
    bytes at each timestamp (milliseconds since the start, ``c`` lines).

    Raises:
        TraceError: a foreign, damaged or cut-short file (offset in the file as stored).
    """
    strings: list[str] = [""]
    ips: list[tuple[str, int, str, str, list]] = [("", 0, "", "", [])]  # 1-based
    traces: list[tuple[int, int]] = [(0, 0)]  # 1-based: (ip index, parent trace index)
    infos: list[tuple[int, int]] = []  # 0-based: (size, trace index)
    info_site: list[Site] = []
    live: dict[Site, int] = {}
    callers: dict[Site, set[Site]] = {}
    functions: dict[Site, str] = {}
    samples = _Samples()
    file_version = None
    t = 0.0
    bar = progress(_size(path), "heaptrack")
    last = 0
    header: dict = {"tool": "heaptrack"}
    closed = False
    for line, at in _heaptrack_lines(path):
        bar.update(at - last)
        last = at
        if not line.endswith(b"\n"):
            raise TraceError(path, at, "cut short inside a line")
        kind, body = line[:1], line[2:-1]
        try:
            if kind == b"+":
                size, site = infos[int(body, 16)][0], info_site[int(body, 16)]
                live[site] = live.get(site, 0) + size
            elif kind == b"-":
                size, site = infos[int(body, 16)][0], info_site[int(body, 16)]
                live[site] = live.get(site, 0) - size
            elif kind == b"c":
                t = int(body, 16) / 1000.0
                samples.add(t, live)
            elif kind == b"a":
                size, trace_index = (int(x, 16) for x in body.split())
                infos.append((size, trace_index))
                site, rest, names = _heaptrack_site(trace_index, traces, ips, strings)
                info_site.append(site)
                functions.update(names)
                if rest:
                    callers.setdefault(site, set()).update(rest)
            elif kind == b"t":
                ip, parent = (int(x, 16) for x in body.split())
                traces.append((ip, parent))
            elif kind == b"i":
                parts = body.split()
                module = strings[int(parts[1], 16)] if len(parts) > 1 else ""
                frames = [(strings[int(parts[k], 16)], strings[int(parts[k + 1], 16)], int(parts[k + 2], 16))
                          for k in range(2, len(parts) - 2, 3)]
                fn, file, ln = frames[0] if frames else ("", "", 0)
                ips.append((file, ln, fn, module, frames[1:]))
            elif kind == b"s":
                text = body.decode("utf-8", "replace")
                if file_version is not None and file_version >= 3:
                    length, _, text = text.partition(" ")
                    int(length, 16)
                strings.append(text)
            elif kind == b"v":
                parts = body.split()
                header["heaptrack_version"] = parts[0].decode()
                file_version = int(parts[1], 16) if len(parts) > 1 else 1
            elif kind == b"X":
                header["command"] = body.decode("utf-8", "replace")
            elif kind == b"#":
                closed = closed or line.startswith(b"# ips:")
            elif kind in (b"R", b"I", b"A", b"\n", b"S", b"L", b"m", b"x", b"*"):
                pass
            elif file_version is None:
                raise TraceError(path, 0, "not a heaptrack file (no version line)")
            else:
                raise TraceError(path, at, f"an unknown heaptrack line {line[:20]!r}")
        except (ValueError, IndexError):
            raise TraceError(path, at, f"a malformed heaptrack line {line[:40]!r}") from None
        if file_version is None:
            raise TraceError(path, 0, "not a heaptrack file (no version line)")
    bar.close()
    if file_version is None:
        raise TraceError(path, last, "cut short: no heaptrack data")
    if not closed:  # heaptrack_interpret ends every capture with its "# strings:", "# ips:" counts
        raise TraceError(path, last, "cut short: the capture has no closing statistics")
    samples.add(t, live, last=True)
    trace = samples.into(Trace(header=header))
    trace.callers, trace.functions = callers, functions
    return trace


def _heaptrack_site(index: int, traces, ips, strings) -> tuple[Site, tuple[Site, ...], dict[Site, str]]:
    frames = []
    seen = 0
    while index and seen < 64:
        ip, parent = traces[index]
        file, ln, fn, module, inlined = ips[ip]
        frames.append((file, ln, fn, module))
        for ifn, ifile, iln in inlined:
            frames.append((ifile, iln, ifn, module))
        index, seen = parent, seen + 1
    return _site_of(frames) if frames else (("??", 0), (), {})


# ---------------------------------------------------------------------------------------------
# exit-time reports: valgrind memcheck XML, LeakSanitizer

_MEMCHECK_KINDS = {"Leak_DefinitelyLost": "definite", "Leak_IndirectlyLost": "indirect",
                   "Leak_PossiblyLost": "possible", "Leak_StillReachable": "reachable"}


def read_memcheck(path: Path) -> Trace:
    """The loss records of a memcheck ``--xml=yes`` file (``--leak-check=full``; with
    ``--show-leak-kinds=all`` the reachable ones too).

    Raises:
        TraceError: not memcheck XML, or cut short (the offset where the XML stops parsing).
    """
    data = path.read_bytes()
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, col = exc.position
        offset = sum(len(x) for x in data.splitlines(keepends=True)[: line - 1]) + col
        raise TraceError(path, offset, f"memcheck XML cut short or malformed ({exc.msg if hasattr(exc, 'msg') else exc})") from None
    if root.tag != "valgrindoutput" or (root.findtext("tool") or "memcheck") != "memcheck":
        raise TraceError(path, 0, "not valgrind memcheck XML")
    losses = []
    functions: dict[Site, str] = {}
    for err in root.iter("error"):
        kind = _MEMCHECK_KINDS.get(err.findtext("kind") or "")
        if kind is None:
            continue
        xwhat = err.find("xwhat")
        if xwhat is None:
            continue
        try:
            nbytes = int(xwhat.findtext("leakedbytes") or 0)
            blocks = int(xwhat.findtext("leakedblocks") or 0)
        except ValueError:
            raise TraceError(path, 0, "a loss record whose bytes are not a number") from None
        frames = []
        stack = err.find("stack")
        for fr in stack.iter("frame") if stack is not None else ():
            file = fr.findtext("file") or ""
            if file and fr.findtext("dir"):
                file = f"{fr.findtext('dir')}/{file}"
            frames.append((file or fr.findtext("obj") or "??", int(fr.findtext("line") or 0), fr.findtext("fn") or "",
                           fr.findtext("obj") or ""))
        frames = [f for f in frames if "vgpreload" not in f[3]]
        site, rest, names = _site_of(frames)
        functions.update(names)
        losses.append(Loss(site=site, kind=kind, bytes=nbytes, blocks=blocks, stack=rest))
    args = root.find("args")
    command = [e.text or "" for e in args.iter("arg")] if args is not None else []
    trace = Trace(header={"tool": "memcheck", "command": [root.findtext("args/argv/exe") or "", *command]})
    trace.losses, trace.functions = losses, functions
    return trace


_LSAN_HEAD = re.compile(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:")
_LSAN_FRAME = re.compile(r"^\s+#(\d+) 0x[0-9a-f]+ in (.+?) (\S+?)(?::(\d+))?(?::\d+)?$|^\s+#(\d+) 0x[0-9a-f]+ (?:in (.+?) )?\((.+?)\+0x[0-9a-f]+\)$")


def read_lsan(path: Path) -> Trace:
    """The leaks of a LeakSanitizer report (a program's stderr, or ``log_path``'s file):
    direct leaks are ``definite``, indirect ones ``indirect``.

    Raises:
        TraceError: no report in the file, or a report cut short before its SUMMARY line.
    """
    data = path.read_bytes()
    text = data.decode("utf-8", "replace")
    start = text.find("ERROR: LeakSanitizer")
    if start < 0:
        raise TraceError(path, 0, "no LeakSanitizer report in this file")
    losses = []
    functions: dict[Site, str] = {}
    current = None
    frames: list = []
    summary = False

    def close():
        if current is not None:
            site, rest, names = _site_of(frames)
            functions.update(names)
            losses.append(Loss(site=site, kind=current[0], bytes=current[1], blocks=current[2], stack=rest))

    for line in text[start:].splitlines():
        m = _LSAN_HEAD.match(line)
        if m:
            close()
            current = ("definite" if m.group(1) == "Direct" else "indirect", int(m.group(2)), int(m.group(3)))
            frames = []
            continue
        f = _LSAN_FRAME.match(line)
        if f and current is not None:
            if f.group(1) is not None:
                frames.append((f.group(3), int(f.group(4) or 0), f.group(2), ""))
            else:
                frames.append((f.group(7), 0, f.group(6) or "", f.group(7)))
            continue
        if line.startswith("SUMMARY: ") and "Sanitizer" in line:
            summary = True
            break
    close()
    if not summary:
        raise TraceError(path, len(data), "a LeakSanitizer report cut short (no SUMMARY line)")
    trace = Trace(header={"tool": "lsan"})
    trace.losses, trace.functions = losses, functions
    return trace
