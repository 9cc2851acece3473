"""``leakspot trace record`` and ``leakspot trace analyze`` (the ``runtime`` extra).

Kept out of :mod:`leakspot.cli` so that the static linter never imports numpy or scipy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXIT_OK, EXIT_ERROR = 0, 2


def trace_main(args) -> int:
    """Dispatch ``leakspot trace ACTION``; returns the exit code."""
    if args.trace_command == "record":
        return _record(args)
    if args.trace_command == "analyze":
        return _analyze(args)
    if args.trace_command == "report":
        return _report(args)
    print("usage: leakspot trace record|analyze|report ... (see leakspot trace --help)", file=sys.stderr)
    return EXIT_ERROR


def _record(args) -> int:
    command = list(args.program)
    if command[:1] == ["--"]:
        command = command[1:]
    if len(command) < 2 or not (Path(command[0]).name.startswith("python") or command[0] == sys.executable):
        print("leakspot: trace record needs a Python command after --: "
              "-- python PROGRAM.py [ARGS] or -- python -m MODULE [ARGS]", file=sys.stderr)
        return EXIT_ERROR
    python, target = command[0], command[1:]
    if target[0] != "-m" and not Path(target[0]).is_file():
        print(f"leakspot: no such program: {target[0]}", file=sys.stderr)
        return EXIT_ERROR
    # the collector is a standalone script: the program runs in its own interpreter and paths
    collector = [python, str(Path(__file__).resolve().parent / "collector.py"), "--out", str(args.output),
                 "--interval", str(0.1 if args.interval is None else args.interval),
                 # an interval of one's own is kept to; the default one stretches when snapshots are costly
                 "--share", "0.1" if args.interval is None else "0",
                 "--frames", str(args.frames), "--min-bytes", str(args.min_bytes)]
    for glob in args.include:
        collector += ["--include", glob]
    try:
        done = subprocess.run([*collector, "--", *target])
    except OSError as exc:
        print(f"leakspot: cannot run {python}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.output.is_file():
        print(f"leakspot: trace written to {args.output}", file=sys.stderr)
    return done.returncode


def _analyze(args) -> int:
    try:
        from leakspot.runtime.factor import analyze, site_function
    except ImportError as exc:
        print(f"leakspot: trace analysis needs its extra: pip install 'leakspot[runtime]' ({exc})", file=sys.stderr)
        return EXIT_ERROR
    traces = _load(args.trace)
    if isinstance(traces, int):
        return traces
    docs = []
    for name, trace in traces:
        results = analyze(trace, confidence=args.confidence, min_growth=args.min_growth, functions=site_function)
        docs.append((name, trace, results))
    if args.format == "json":
        out = [_json_doc(name, trace, results, args.confidence) for name, trace, results in docs]
        sys.stdout.write(json.dumps(out[0] if len(out) == 1 else out, indent=2) + "\n")
        return EXIT_OK
    for k, (name, trace, results) in enumerate(docs):
        if len(docs) > 1:
            print(("\n" if k else "") + f"== {name} ({trace.format})")
        _table(trace, results, args)
    return EXIT_OK


def _load(paths):
    """``(name, trace)`` pairs, or an exit code after saying what went wrong."""
    try:
        from leakspot.runtime.readers import load_many
        from leakspot.runtime.trace import TraceError
    except ImportError as exc:
        print(f"leakspot: trace analysis needs its extra: pip install 'leakspot[runtime]' ({exc})", file=sys.stderr)
        return EXIT_ERROR
    try:
        traces = load_many(paths)
        for name, trace in traces:
            if trace.header.get("warning"):
                print(f"leakspot: {name}: {trace.header['warning']}", file=sys.stderr)
        return traces
    except TraceError as exc:
        print(f"leakspot: {exc}", file=sys.stderr)
    except ImportError as exc:
        print(f"leakspot: {exc}: pip install 'leakspot[runtime]'", file=sys.stderr)
    except OSError as exc:
        print(f"leakspot: cannot read {exc.filename or paths[0]}: {exc.strerror or exc}", file=sys.stderr)
    return EXIT_ERROR


def _report(args) -> int:
    try:
        from leakspot.runtime.factor import analyze, site_function
        from leakspot.runtime.report import parse_size, read_findings, render
    except ImportError as exc:
        print(f"leakspot: trace report needs its extra: pip install 'leakspot[runtime]' ({exc})", file=sys.stderr)
        return EXIT_ERROR
    try:
        budget = parse_size(args.budget)
    except ValueError as exc:
        print(f"leakspot: --budget: {exc}", file=sys.stderr)
        return EXIT_ERROR
    findings = []
    if args.findings:
        try:
            findings = read_findings(args.findings)
        except (ValueError, OSError) as exc:
            print(f"leakspot: --findings: {exc}", file=sys.stderr)
            return EXIT_ERROR
    traces = _load(args.trace)
    if isinstance(traces, int):
        return traces
    docs = [(name, trace, analyze(trace, confidence=args.confidence, functions=site_function))
            for name, trace in traces]
    try:
        args.output.write_text(render(docs, findings, budget), encoding="utf-8")
    except OSError as exc:
        print(f"leakspot: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    growing = sum(r.growing for _, _, results in docs for r in results)
    print(f"leakspot: report written to {args.output} ({growing} growing site(s))", file=sys.stderr)
    return EXIT_OK


def _json_doc(name: str, trace, results, confidence: float) -> dict:
    """The documented JSON object of one trace (docs/runtime.md)."""
    exit_time = trace.losses is not None
    return {"version": 1, "trace": name, "format": trace.format, "kind": "exit" if exit_time else "series",
            "time_unit": trace.header.get("time_unit", "s"), "confidence": confidence,
            "duration_s": trace.times[-1] - trace.times[0] if len(trace.times) > 1 else 0.0,
            "samples": len(trace.times), "sites": [r.as_json() for r in results]}


def _table(trace, results, args) -> None:
    exit_time = trace.losses is not None
    shown = [r for r in results if args.all or r.klass != "constant"]
    per = "B/iter" if trace.header.get("time_unit") == "iteration" else "B/s"
    print(f"{'site':48} {'function':24} {'class':13} {'leaked':>10} {'rate ' + per:>11} {'p-value':>9}  verdict")
    for r in shown:
        site = f"{_short(r.file)}:{r.line}"
        verdict = ("LOST" if exit_time else "GROWS") if r.growing else "-"
        p = "-" if r.p_value is None else f"{r.p_value:.2g}"
        rate = "-" if exit_time else f"{r.rate_bytes_per_s:.0f}"
        print(f"{site[-48:]:48} {r.function[-24:]:24} {r.klass:13} {r.leaked_bytes:>10} "
              f"{rate:>11} {p:>9}  {verdict}")
    growing = sum(r.growing for r in results)
    if exit_time:
        print(f"{len(results)} loss records' sites, {growing} definitely lost at exit ({trace.format})")
        return
    print(f"{len(results)} sites, {growing} growing at {args.confidence:.0%} confidence"
          f"{'' if args.all else f', {len(results) - len(shown)} constant not shown (--all)'}")


def _short(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path
