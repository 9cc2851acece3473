"""Command line: ``leakspot check``, ``leakspot rules``, ``leakspot explain``, ``leakspot trace``.

Exit codes: 0 no findings, 1 findings, 2 usage error or a file that could not be analysed
(its notification is printed; every other file's findings are still reported).
Only this module prints or decides exit codes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from leakspot import __version__
from leakspot.report import FORMATS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leakspot", description="Find leak-prone code in Python and C.")
    p.add_argument("--version", action="version", version=f"leakspot {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="analyse files and directories (default: .)")
    c.add_argument("paths", nargs="*", type=Path, default=[Path(".")], metavar="PATH",
                   help="files or directories to check (default: .)")
    c.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    c.add_argument("--output", "-o", type=Path, help="write the report to this file instead of stdout")
    c.add_argument("--select", action="append", metavar="RULES",
                   help="only these rules: codes, code prefixes (LK1) or slugs, comma-separated; a prefix "
                        "leaves out the rules that are off by default, a code or slug does not")
    c.add_argument("--extend-select", action="append", metavar="RULES",
                   help="add these rules to the selection (e.g. a rule that is off by default)")
    c.add_argument("--ignore", action="append", metavar="RULES", help="leave out these rules")
    c.add_argument("--exclude", action="append", metavar="GLOB",
                   help="gitignore-style pattern of paths to skip (repeatable)")
    c.add_argument("--diff", metavar="BASE_REF",
                   help="report only findings introduced since this git ref (e.g. origin/main)")
    c.add_argument("--baseline", type=Path, metavar="FILE",
                   help="report only findings that are not in this baseline file")
    c.add_argument("--write-baseline", type=Path, metavar="FILE",
                   help="record the current findings in FILE (then exit 0)")
    c.add_argument("--report-suppressed", action="store_true",
                   help="SARIF: include findings suppressed in source, with their justification")
    c.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    c.add_argument("--fail-on", choices=("error", "warning", "note"), default=None,
                   help="exit 1 only for findings of this severity or worse (default: note, i.e. any)")
    c.add_argument("--config", type=Path, metavar="FILE",
                   help="read this leakspot.toml or pyproject.toml instead of searching for one")
    c.add_argument("--isolated", action="store_true", help="ignore configuration files")
    c.add_argument("--category", default="leakspot",
                   help="SARIF automationDetails.id (one set of GitHub alerts per category)")
    c.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: CPU count)")
    c.add_argument("--verbose", "-v", action="store_true",
                   help="list every warning (e.g. functions tree-sitter could not parse), not a count")
    c.add_argument("--evidence", action="append", type=Path, default=[], metavar="TRACE",
                   help="a trace (any format `leakspot trace analyze` reads): mark each finding confirmed, "
                        "refuted or not exercised, and report growth no finding explains (repeatable; the "
                        "runtime extra)")
    c.add_argument("--root", type=Path, default=None,
                   help="directory that reported paths are relative to (default: current directory)")

    t = sub.add_parser("trace", help="runtime evidence: record and analyse memory traces (the `runtime` extra)")
    tsub = t.add_subparsers(dest="trace_command", metavar="ACTION")
    rec = tsub.add_parser("record", help="run a Python program under tracemalloc and write its trace",
                          usage="leakspot trace record [options] -o TRACE -- python PROGRAM.py [ARGS] | -- python -m MODULE [ARGS]")
    rec.add_argument("--output", "-o", type=Path, required=True, help="the trace file to write")
    rec.add_argument("--interval", type=float, default=None, metavar="S",
                     help="seconds between snapshots (default 0.1, stretched when snapshots are costly, so that "
                          "they take at most a tenth of the run; an interval given is kept to)")
    rec.add_argument("--frames", type=int, default=4, metavar="N",
                     help="traceback frames tracemalloc keeps; callers let --evidence match (default 4)")
    rec.add_argument("--include", action="append", default=[], metavar="GLOB",
                     help="only allocation sites in files matching this glob (repeatable)")
    rec.add_argument("--min-bytes", type=int, default=1024, metavar="B",
                     help="leave out sites holding less than this at a snapshot (default 1024)")
    rec.add_argument("program", nargs=argparse.REMAINDER, help="-- python PROGRAM.py ARGS")
    an = tsub.add_parser("analyze", help="the leak factor and trend test of every allocation site of a trace")
    an.add_argument("trace", type=Path, nargs="+",
                    help="a trace: leakspot's, tracemalloc snapshot dumps (files or a directory: one trace), "
                         "a memray capture, valgrind massif or memcheck XML, heaptrack, a LeakSanitizer report "
                         "(the format is read from the file)")
    an.add_argument("--format", choices=("text", "json"), default="text")
    an.add_argument("--confidence", type=float, default=0.99,
                    help="confidence a site's growth needs to count (default 0.99)")
    an.add_argument("--min-growth", type=int, default=4096, metavar="BYTES",
                    help="a site whose live bytes vary less than this is constant (default 4096)")
    an.add_argument("--all", action="store_true", help="text: list constant sites too")
    rp = tsub.add_parser("report", help="one self-contained HTML page: curves, fits, a forecast, matching findings",
                         usage="leakspot trace report TRACE... [--findings SARIF] [--budget 2GiB] -o report.html")
    rp.add_argument("trace", type=Path, nargs="+", help="traces, in any format `trace analyze` reads")
    rp.add_argument("--output", "-o", type=Path, required=True, help="the HTML file to write")
    rp.add_argument("--findings", type=Path, metavar="SARIF",
                    help="a SARIF log from `leakspot check` (with --evidence, best): each growing site's finding")
    rp.add_argument("--budget", default="2GiB", metavar="SIZE",
                    help="memory budget the forecast is for: 2GiB, 512MiB, 1.5GB or bytes (default 2GiB)")
    rp.add_argument("--confidence", type=float, default=0.99, help="confidence a site's growth needs (default 0.99)")

    sub.add_parser("rules", help="list the rules")
    sub.add_parser("lsp", help="run the language server on stdio (needs the `lsp` extra)")
    e = sub.add_parser("explain", help="print a rule's document")
    e.add_argument("rule", help="a code (LK101) or slug (open-without-close)")
    return p


def _split(items: list[str] | None) -> list[str] | None:
    if not items:
        return None
    return [x.strip() for item in items for x in item.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "rules":
        return _rules()
    if args.command == "explain":
        return _explain(args.rule)
    if args.command == "check":
        return _check(args)
    if args.command == "trace":
        from leakspot.runtime.cli import trace_main

        return trace_main(args)
    if args.command == "lsp":
        try:
            from leakspot.lsp.server import main as lsp_main
        except ImportError as exc:
            print(f"leakspot: the language server needs its extra: pip install 'leakspot[lsp]' ({exc})",
                  file=sys.stderr)
            return EXIT_ERROR
        return lsp_main()
    _parser().print_help()
    return EXIT_ERROR


def _rules() -> int:
    from leakspot.registry import load_rules

    rules = load_rules()
    width = max(len(r.slug) for r in rules)
    for r in rules:
        off = "" if r.default_enabled else " (off by default: select it by code or slug)"
        print(f"{r.code}  {r.slug:<{width}}  {','.join(r.languages):<8}  {r.severity:<7}  {r.summary}{off}")
    return EXIT_CLEAN


def _explain(key: str) -> int:
    from leakspot.registry import find_rule

    rule = find_rule(key)
    if rule is None:
        print(f"leakspot: no rule {key!r} (see `leakspot rules`)", file=sys.stderr)
        return EXIT_ERROR
    print(f"# {rule.code} {rule.slug}\n\n{rule.summary}.\n")
    print(rule.body.rstrip())
    return EXIT_CLEAN


def _check(args) -> int:
    from leakspot import engine
    from leakspot.report import get_reporter
    from leakspot.report.text import notifications

    from leakspot.config import ConfigError, find_config, load_settings

    root = args.root or Path.cwd()
    try:
        settings = load_settings(args.config if args.config else None if args.isolated else find_config(root))
    except ConfigError as exc:
        print(f"leakspot: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # the command line's --select replaces the configuration's; --extend-select, --ignore add to it
    try:
        codes = settings.enabled_codes(_split(args.select), _split(args.extend_select), _split(args.ignore))
    except ValueError as exc:
        print(f"leakspot: {exc}", file=sys.stderr)
        return EXIT_ERROR
    from leakspot.baseline import BaselineError, apply_baseline, load_baseline, write_baseline

    entries = None
    if args.baseline:
        try:
            entries = load_baseline(args.baseline)
        except BaselineError as exc:
            print(f"leakspot: {exc}", file=sys.stderr)
            return EXIT_ERROR
    from leakspot.discover import PatternError, compile_patterns

    try:
        compile_patterns(_split(args.exclude) or [])
    except PatternError as exc:
        print(f"leakspot: {exc}", file=sys.stderr)
        return EXIT_ERROR
    result = engine.run(args.paths, codes, root=root, exclude=_split(args.exclude), jobs=args.jobs,
                        settings=settings)
    if args.write_baseline:
        n = write_baseline(result, args.write_baseline)
        print(f"leakspot: wrote {n} finding{'s' if n != 1 else ''} to {args.write_baseline}", file=sys.stderr)
        sys.stderr.write(notifications(result, verbose=args.verbose))
        return EXIT_ERROR if any(x.level == "error" for x in result.notifications) else EXIT_CLEAN
    if entries is not None:
        apply_baseline(result, entries)
    if args.diff:
        from leakspot.diff import DiffError, keep_new_findings

        try:
            keep_new_findings(result, args.diff, frozenset(codes), settings)
        except DiffError as exc:
            print(f"leakspot: --diff {args.diff}: {exc}", file=sys.stderr)
            return EXIT_ERROR
    if args.evidence:
        from leakspot.runtime.matcher import attach_evidence

        try:
            from leakspot.runtime.trace import TraceError
        except ImportError:  # pragma: no cover - the trace module itself needs nothing
            TraceError = OSError
        try:
            extra = attach_evidence(result.findings, root, args.evidence, frozenset(codes))
        except ImportError as exc:
            print(f"leakspot: --evidence needs the runtime extra: pip install 'leakspot[runtime]' ({exc})",
                  file=sys.stderr)
            return EXIT_ERROR
        except (TraceError, OSError) as exc:
            print(f"leakspot: --evidence: {exc}", file=sys.stderr)
            return EXIT_ERROR
        from leakspot.model import Finding, assign_fingerprints

        assign_fingerprints(extra)
        result.findings = sorted(result.findings + extra, key=Finding.sort_key)
    if args.format == "sarif":
        from leakspot.report.sarif import render

        report = render(result, category=args.category, report_suppressed=args.report_suppressed)
    else:
        report = get_reporter(args.format)(result)
    if args.output:
        args.output.write_text(report, encoding="utf-8")
    else:
        sys.stdout.write(report)
    sys.stderr.write(notifications(result, verbose=args.verbose))
    if any(n.level == "error" for n in result.notifications):
        return EXIT_ERROR
    from leakspot.registry import find_rule

    rank = {"note": 0, "warning": 1, "error": 2}
    fail_on = args.fail_on or settings.fail_on
    failing = [f for f in result.findings if rank[find_rule(f.code).severity] >= rank[fail_on]]
    if failing and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN
