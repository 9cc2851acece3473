"""The pytest plugin: run each test body in a loop under tracemalloc and write its trace.

``pytest --leakspot-trace DIR`` runs every selected test's body ``--leakspot-warmup`` times
(default 3: caches, imports and interned objects settle), then ``--leakspot-iterations`` times
(default 30) under ``tracemalloc``, with a snapshot after each iteration, taken after
``gc.collect()`` (garbage in reference cycles that the collector has not reached yet is not a
leak; what was alive before the loop is frozen with ``gc.freeze()`` so that these collections
stay cheap), and writes ``DIR/<test id>.trace`` (:mod:`leakspot.runtime.trace`, with ``"time_unit":
"iteration"``: a sample's time is the number of iterations done, since every sample follows the
same work; wall time would be skewed by the snapshots themselves, which slow down as traced
memory grows). Fixtures are set up once, as for a plain run, so what one iteration leaves
behind stays: that is what a leak looks like. A test that fails on a later run of its body says
so in a note on its exception (a test that cannot run twice cannot be traced).
``@pytest.mark.leakspot_trace(iterations=N, warmup=W)`` marks a leak test: it is looped and
traced even without the option (its trace then goes to pytest's cache directory,
``.pytest_cache/d/leakspot-traces/``), with its own counts; ``-m leakspot_trace`` selects the
marked tests.

At the end of the session the traces are analysed (:mod:`leakspot.runtime.factor`, when the
``runtime`` extra is installed) and the terminal summary names each test whose own code
(files under pytest's root directory) holds a growing allocation site. Without the option or a
marked test the plugin does nothing and imports nothing but the standard library. Coroutine
tests run once, as usual: their loop belongs to the async plugin.

Registered through the ``pytest11`` entry point; ``-p no:leakspot`` turns it off.
"""

from __future__ import annotations

import gc
import inspect
import os
import re
import time
import tracemalloc
from pathlib import Path

import pytest

from leakspot.runtime.collector import Recorder

_TRACES = pytest.StashKey[list]()


def pytest_addoption(parser) -> None:
    group = parser.getgroup("leakspot", "leakspot runtime evidence")
    group.addoption("--leakspot-trace", metavar="DIR", default=None,
                    help="loop each test body under tracemalloc and write DIR/<test id>.trace")
    group.addoption("--leakspot-iterations", type=int, default=30, metavar="N",
                    help="traced iterations of each test body (default 30)")
    group.addoption("--leakspot-warmup", type=int, default=3, metavar="N",
                    help="untraced iterations first (default 3)")
    group.addoption("--leakspot-frames", type=int, default=4, metavar="N",
                    help="traceback frames tracemalloc keeps (default 4)")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "leakspot_trace(iterations=30, warmup=3): a leak test: its body "
                                       "is looped and traced (into --leakspot-trace DIR, or pytest's cache)")
    config.stash[_TRACES] = []


def trace_name(nodeid: str) -> str:
    """The file name of a test's trace: its node id with what a file name cannot hold replaced."""
    return re.sub(r"[^\w.\-]+", "_", nodeid).strip("_")[:200] + ".trace"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    config = pyfuncitem.config
    mark = pyfuncitem.get_closest_marker("leakspot_trace")
    out_dir = _out_dir(config, marked=mark is not None)
    function = pyfuncitem.obj
    if not out_dir or inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        return None
    iterations = int((mark.kwargs.get("iterations") if mark else None) or config.getoption("leakspot_iterations"))
    warmup = int((mark.kwargs.get("warmup") if mark else None) or config.getoption("leakspot_warmup"))
    frames = config.getoption("leakspot_frames")
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    count = 0

    def once() -> None:
        nonlocal count
        count += 1
        try:
            function(**args)
        except BaseException as exc:
            if count > 1 and hasattr(exc, "add_note"):
                exc.add_note(f"leakspot: raised on run {count} of the test body: --leakspot-trace runs it "
                             f"{warmup} + {iterations} times, so a test that cannot run twice cannot be traced")
            raise

    for _ in range(warmup):
        once()
    path = Path(out_dir) / trace_name(pyfuncitem.nodeid)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_tracing = tracemalloc.is_tracing()
    header = {"tool": "pytest", "command": [pyfuncitem.nodeid], "frames": frames, "min_bytes": 256,
              "time_unit": "iteration", "iterations": iterations, "warmup": warmup, "gc": "collect",
              "started": time.time()}
    # snapshots are grouped by an untraced writer process: the loop only takes them
    recorder = Recorder(str(path), header, 0.0, [], 256, frames)
    if not was_tracing:
        tracemalloc.start(frames)
    done = 0
    # garbage in reference cycles is collected before each sample: what is left is kept. The
    # objects alive before the loop are frozen first (gc.freeze), so that each collection only
    # walks what the loop made: a full collection of a test session's heap per iteration
    # cost more than the test bodies
    gc.collect()
    gc.freeze()
    try:
        gc.collect()
        recorder.sample(0.0)
        for done in range(1, iterations + 1):
            once()
            gc.collect()
            recorder.sample(float(done))
    finally:
        gc.unfreeze()
        if not was_tracing:
            tracemalloc.stop()
        recorder.end(float(done), 0)
    config.stash[_TRACES].append((pyfuncitem.nodeid, path))
    return True


def _out_dir(config, marked: bool) -> str | None:
    """Where a test's trace goes: ``--leakspot-trace DIR`` for every test; without it, a
    marked test's goes to pytest's cache (``.pytest_cache/d/leakspot-traces``), or to
    ``.leakspot-traces`` under the root directory when the cache is off; ``None``: not traced."""
    chosen = config.getoption("leakspot_trace")
    if chosen or not marked:
        return chosen
    cache = getattr(config, "cache", None)
    if cache is not None:
        return str(cache.mkdir("leakspot-traces"))
    return str(Path(str(config.rootpath)) / ".leakspot-traces")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    traces = config.stash.get(_TRACES, [])
    if not traces:
        return
    tr = terminalreporter
    tr.section("leakspot")
    out_dir = os.path.relpath(traces[0][1].parent, str(config.rootpath))
    try:
        from leakspot.runtime.factor import analyze, site_function
        from leakspot.runtime.trace import TraceError, read_trace
    except ImportError as exc:
        tr.write_line(f"{len(traces)} traces in {out_dir}; analysing them needs pip install 'leakspot[runtime]' "
                      f"({exc})")
        return
    root = Path(str(config.rootpath)).resolve()
    inside: dict[str, bool] = {}
    growing_tests = 0
    for nodeid, path in traces:
        try:
            trace = read_trace(path)
        except (TraceError, OSError) as exc:
            tr.write_line(f"{nodeid}: {exc}")
            continue
        # only the project's own sites are tested (and adjusted for together): the summary is
        # about its code, and a long session's hundreds of traces stay quick to analyse
        mine = {}
        for site, values in trace.series.items():
            under = inside.get(site[0])
            if under is None:
                under = inside[site[0]] = _under(site[0], root)
            if under:
                mine[site] = values
        trace.series = mine
        own = [r for r in analyze(trace, functions=site_function) if r.growing]
        if own:
            growing_tests += 1
            for r in own[:3]:
                where = os.path.relpath(r.file, root)
                tr.write_line(f"{nodeid}: GROWS at {where}:{r.line} ({r.function or '?'}): {r.klass}, "
                              f"{r.rate_bytes_per_s:,.0f} bytes per iteration, p={r.p_value:.2g}", red=True)
    n = len(traces)
    tr.write_line(f"{n} test{'' if n == 1 else 's'} traced into {out_dir}, {growing_tests} with growing allocation "
                  "sites in their own code (leakspot trace analyze FILE for every site)")


def _under(file: str, root: Path) -> bool:
    try:
        Path(file).resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return True
