"""Text for people: ``path:line:col: CODE [slug] message``, the path in one short line, a summary."""

from __future__ import annotations

from leakspot.engine import NEWER_SYNTAX_HINT, RunResult
from leakspot.runtime.matcher import describe
from leakspot.model import Finding


def path_line(f: Finding) -> str:
    """The finding's code flow as one short line: ``line 5 -> line 7 (`!p` is false) -> line 12``."""
    steps = []
    for step in f.flow:
        r = step.location.region
        note = "" if step.kind == "acquire" else f" ({step.location.message})"
        steps.append(f"line {r.start_line}{note}")
    return " -> ".join(steps)


def render(result: RunResult) -> str:
    """The text report (findings only; notifications go to stderr, see :func:`notifications`)."""
    out = []
    for f in result.findings:
        r = f.location.region
        out.append(f"{f.location.path}:{r.start_line}:{r.start_column}: {f.code} [{f.slug}] {f.message}")
        if len(f.flow) > 1:
            out.append(f"    path: {path_line(f)}")
        if f.evidence is not None and f.code != "LK910":  # a runtime-growth message says it already
            out.append(f"    evidence: {describe(f.evidence)}")
    n = len(result.findings)
    errors = sum(1 for x in result.notifications if x.level == "error")
    summary = (
        f"Found {n} finding{'s' if n != 1 else ''} in {result.files} file{'s' if result.files != 1 else ''}"
        f" ({result.lines} line{'s' if result.lines != 1 else ''})."
    )
    in_source = len(result.suppressed) - result.baselined
    if in_source:
        summary += f" {in_source} suppressed in source."
    if result.baselined:
        summary += f" {result.baselined} in the baseline."
    if result.stale_baseline:
        summary += (f" {result.stale_baseline} baseline entr{'ies' if result.stale_baseline != 1 else 'y'}"
                    " no longer match (refresh with --write-baseline).")
    if errors:
        summary += f" {errors} file{'s' if errors != 1 else ''} could not be analysed."
    out.append(summary)
    return "\n".join(out) + "\n"


#: Without ``verbose``, parse errors of one newer syntax beyond this many are counted, not listed.
NEWER_SYNTAX_SHOWN = 3


def notifications(result: RunResult, verbose: bool = False) -> str:
    """Problems met during the run, for stderr: every error, and the warnings (files analysed in
    part) one per line with ``verbose``, else counted in one line. Without ``verbose``, files in
    syntax newer than the running Python (Home Assistant's hundreds in Python 3.14's) are
    listed up to :data:`NEWER_SYNTAX_SHOWN` per version, then counted."""
    lines = []
    warnings = []
    newer: dict[str, int] = {}
    for x in result.notifications:
        where = f"{x.path}:{x.line}" if x.line else x.path
        line = f"leakspot: {x.level}: {where}: {x.message}"
        m = NEWER_SYNTAX_HINT.search(x.message) if x.level == "error" and not verbose else None
        if m:
            newer[m.group(1)] = newer.get(m.group(1), 0) + 1
            if newer[m.group(1)] > NEWER_SYNTAX_SHOWN:
                continue
        (warnings if x.level == "warning" and not verbose else lines).append(line)
    for version, n in newer.items():
        if n > NEWER_SYNTAX_SHOWN:
            more = n - NEWER_SYNTAX_SHOWN
            lines.append(f"leakspot: error: {more} more file{'s' if more != 1 else ''} in Python {version} syntax "
                         f"could not be parsed ({n} in all); run leakspot under Python {version} or newer; "
                         "--verbose lists them")
    if warnings:
        lines.append(f"leakspot: {len(warnings)} file{'s' if len(warnings) != 1 else ''} analysed in part "
                     "(some functions could not be parsed); --verbose lists them")
    return "\n".join(lines) + ("\n" if lines else "")
