"""JSON for scripts: a documented, versioned object (``"version": 1``).

Shape::

    {"version": 1,
     "tool": {"name": "leakspot", "version": "0.1.0"},
     "summary": {"files": int, "lines": int, "findings": int, "suppressed": int,
                 "baselined": int, "stale_baseline": int, "errors": int},
     "findings": [{"code", "slug", "path", "line", "column", "end_line", "end_column",
                   "message", "function", "fingerprint",
                   "related": [{"path", "line", "column", "message"}],
                   "flow": [{"path", "line", "column", "kind", "message"}]}],
     "notifications": [{"path", "line", "level", "kind", "message"}]}

Lines and columns are 1-based; ``end_column`` is exclusive.
"""

from __future__ import annotations

import json

from leakspot import __version__
from leakspot.engine import RunResult

SCHEMA_VERSION = 1


def render(result: RunResult) -> str:
    """The JSON report, with sorted keys and a trailing newline."""
    def loc(l, **extra):
        return {"path": l.path, "line": l.region.start_line, "column": l.region.start_column,
                "message": l.message, **extra}

    doc = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "leakspot", "version": __version__},
        "summary": {
            "files": result.files,
            "lines": result.lines,
            "findings": len(result.findings),
            "suppressed": len(result.suppressed),
            "baselined": result.baselined,
            "stale_baseline": result.stale_baseline,
            "errors": sum(1 for n in result.notifications if n.level == "error"),
        },
        "findings": [
            {
                "code": f.code,
                "slug": f.slug,
                "path": f.location.path,
                "line": f.location.region.start_line,
                "column": f.location.region.start_column,
                "end_line": f.location.region.end_line,
                "end_column": f.location.region.end_column,
                "message": f.message,
                "function": f.function,
                "fingerprint": f.fingerprint,
                "related": [loc(r) for r in f.related],
                "flow": [loc(s.location, kind=s.kind) for s in f.flow],
                **({"evidence": f.evidence} if f.evidence is not None else {}),
            }
            for f in result.findings
        ],
        "notifications": [
            {"path": n.path, "line": n.line, "level": n.level, "kind": n.kind, "message": n.message}
            for n in result.notifications
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
