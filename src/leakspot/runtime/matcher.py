"""Join runtime evidence to static findings: ``leakspot check SRC --evidence TRACE``.

Each trace (:mod:`leakspot.runtime.trace`) is analysed (:mod:`leakspot.runtime.factor`); an
allocation site *matches* a finding when it is in the same file and on a line the finding names
(its region, its related locations such as the growth of an ``unbounded-module-cache``
container, its path), or inside the same function. The finding then gets
:attr:`leakspot.model.Finding.evidence`:

- ``confirmed``: a matching site grows (the one that leaked most is quoted);
- ``refuted``: matching sites were recorded and none grows;
- ``not-exercised``: the trace recorded no matching site (the code did not run, or held too
  little memory to be sampled).

A growing site that no finding matches becomes a finding of its own, ``runtime-growth``
(LK910), at the site, when the site's file is under the run's root: nothing the trace shows is
lost. SARIF carries the evidence in ``result.properties.evidence`` and orders results by
``rank`` (confirmed 90, refuted 10; not exercised: no rank).

This module needs the ``runtime`` extra only when it is called.
"""

from __future__ import annotations

from pathlib import Path

from leakspot.model import Finding, Location, Region

RUNTIME_RULES = frozenset({"LK910"})
RANK = {"confirmed": 90.0, "refuted": 10.0}


def _lines(f: Finding) -> set[int]:
    lines = set(range(f.location.region.start_line, f.location.region.end_line + 1))
    lines |= {loc.region.start_line for loc in f.related if loc.path == f.location.path}
    lines |= {s.location.region.start_line for s in f.flow if s.location.path == f.location.path}
    return lines


def attach_evidence(findings: list[Finding], root: Path, traces: list[Path], codes: frozenset[str],
                    confidence: float = 0.99) -> list[Finding]:
    """Set ``evidence`` on each of ``findings`` (in place) from the ``traces`` (any format of
    :mod:`leakspot.runtime.readers`); return the ``runtime-growth`` findings for growing (or, at
    exit, definitely lost) sites that no finding explains (when LK910 is in ``codes``).

    A frame whose file is a bare relative name (massif prints ``prog.c:12``) matches the
    findings whose path ends with it.

    Raises:
        leakspot.runtime.trace.TraceError: a trace file that cannot be read.
        ImportError: the ``runtime`` extra is not installed.
    """
    from leakspot.registry import find_rule
    from leakspot.runtime.factor import analyze, site_function
    from leakspot.runtime.readers import load_many

    root = Path(root).resolve()
    sites = []  # (resolved file, SiteResult, trace name)
    frames: dict[Path, list] = {}  # resolved file -> (file, line, function, SiteResult, trace name)
    relative: dict[tuple[str, ...], list] = {}  # the parts of a bare relative file -> the same
    for name, trace in load_many(traces):
        def function_of(file: str, line: int, trace=trace) -> str:
            return trace.functions.get((file, line)) or (site_function(file, line) if file.endswith(".py") else "")

        for r in analyze(trace, confidence=confidence, functions=site_function):
            for file, line in ((r.file, r.line), *r.callers):
                entry = (file, line, function_of(file, line), r, name)
                if Path(file).is_absolute():
                    try:
                        frames.setdefault(Path(file).resolve(), []).append(entry)
                    except (OSError, ValueError):
                        continue
                elif file and not file.startswith(("./", "../", "??")):
                    relative.setdefault(Path(file).parts, []).append(entry)
            if Path(r.file).is_absolute():
                sites.append((Path(r.file).resolve(), r, name))
            else:
                sites.append((root / r.file, r, name))
    explained: set[int] = set()
    for f in findings:
        source = (root / f.location.path).resolve()
        mine = list(frames.get(source, []))
        for parts, entries in relative.items():
            if source.parts[-len(parts):] == parts:
                mine += entries
        lines = _lines(f)
        # the finding's function, and those of the lines it names (where a container grows)
        names = {f.function.split(".")[-1]} if f.function else set()
        names |= {n.split(".")[-1] for n in (site_function(str(source), ln) for ln in lines) if n}
        seen: set[int] = set()
        matching = []
        for file, line, function, r, trace_name in mine:
            # the site itself or a frame of its allocation stack on a line the finding names,
            # or in one of its functions
            if id(r) not in seen and (line in lines or (names and function.split(".")[-1] in names)):
                seen.add(id(r))
                matching.append((r, trace_name))
        explained |= {id(r) for r, _ in matching}
        growing = [(r, name) for r, name in matching if r.growing]
        if growing:
            r, name = max(growing, key=lambda x: x[0].leaked_bytes)
            f.evidence = _evidence("confirmed", r, name)
        elif matching:
            r, name = max(matching, key=lambda x: x[0].peak_bytes)
            f.evidence = _evidence("refuted", r, name)
        else:
            f.evidence = {"verdict": "not-exercised", "trace": ", ".join(str(t) for t in traces)}
    extra = []
    if "LK910" in codes:
        rule = find_rule("LK910")
        for resolved, r, name in sites:
            if not r.growing or id(r) in explained:
                continue
            try:
                rel = resolved.relative_to(root).as_posix()
            except ValueError:
                continue  # the interpreter's or a library's own allocations
            if not (root / rel).is_file():
                continue
            if r.p_value is None:
                what = f"was lost at exit, {r.leaked_bytes:,} bytes in {r.blocks or 0:,} blocks"
            else:
                what = (f"grew by {r.leaked_bytes:,} bytes at {r.rate_bytes_per_s:,.0f} B/s ({r.klass}, "
                        f"p={r.p_value:.2g})")
            message = rule.message.format(what=what, trace=Path(name).name)
            finding = Finding(code=rule.code, slug=rule.slug, location=Location(rel, Region(r.line, 1, r.line, 1)),
                              message=message, function=r.function, anchor=f"{rel}:{r.line}")
            finding.evidence = _evidence("confirmed", r, name)
            extra.append(finding)
    return extra


def _evidence(verdict: str, r, trace: str) -> dict:
    return {"verdict": verdict, "class": r.klass, "leaked_bytes": r.leaked_bytes,
            "rate_bytes_per_s": round(r.rate_bytes_per_s, 3), "p_value": r.p_value,
            "confidence": round(r.confidence, 6), "site": f"{r.file}:{r.line}", "trace": trace}


def describe(evidence: dict) -> str:
    """One line for the text report: ``confirmed: linear growth, 989,832 bytes at 497,598 B/s (p=2.8e-07) in t.trace``."""
    verdict = evidence["verdict"]
    if verdict == "not-exercised":
        return "not exercised by the trace"
    if evidence.get("p_value") is None:  # an exit-time loss record
        what = (f"{evidence['leaked_bytes']:,} bytes lost at exit ({evidence['class']})" if verdict == "confirmed"
                else f"{evidence['class']} at exit, not lost")
        return f"{verdict}: {what} in {Path(evidence['trace']).name}"
    what = (f"{evidence['class']} growth, {evidence['leaked_bytes']:,} bytes at "
            f"{evidence['rate_bytes_per_s']:,.0f} B/s" if verdict == "confirmed" else f"{evidence['class']}, no growth")
    return f"{verdict}: {what} (p={evidence['p_value']:.2g}) in {Path(evidence['trace']).name}"
