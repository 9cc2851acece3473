"""GitHub Actions workflow commands: one annotation per finding on the pull request's diff.

Format (GitHub docs, "Workflow commands for GitHub Actions"):
``::warning file=F,line=L,col=C,endLine=L2,endColumn=C2,title=T::MESSAGE``. Data is escaped
(``%`` ``\\r`` ``\\n``), properties also escape ``:`` and ``,``. Severity maps error -> error,
warning -> warning, note -> notice.
"""

from __future__ import annotations

from leakspot.engine import RunResult
from leakspot.registry import find_rule

LEVELS = {"error": "error", "warning": "warning", "note": "notice"}


def _data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


def render(result: RunResult) -> str:
    """One ``::level ...::message`` line per finding, then a plain summary line."""
    out = []
    for f in result.findings:
        rule = find_rule(f.code)
        r = f.location.region
        props = (f"file={_prop(f.location.path)},line={r.start_line},col={r.start_column},"
                 f"endLine={r.end_line},endColumn={r.end_column},title={_prop(f'{f.code} {f.slug}')}")
        out.append(f"::{LEVELS[rule.severity]} {props}::{_data(f.message + ' (' + rule.help_uri + ')')}")
    out.append(f"leakspot: {len(result.findings)} finding{'s' if len(result.findings) != 1 else ''} "
               f"in {result.files} files")
    return "\n".join(out) + "\n"
