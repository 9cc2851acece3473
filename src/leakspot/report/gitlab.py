"""GitLab Code Quality report (a JSON array of issues; GitLab docs, "Code Quality",
"Implement a custom tool"): ``description``, ``check_name``, ``fingerprint``, ``severity``
(info/minor/major/critical/blocker) and ``location.path`` + ``location.lines.begin``."""

from __future__ import annotations

import json

from leakspot.engine import RunResult
from leakspot.registry import find_rule

SEVERITY = {"error": "critical", "warning": "major", "note": "minor"}


def render(result: RunResult) -> str:
    """The Code Quality JSON array."""
    issues = [
        {
            "type": "issue",
            "description": f"{f.code} [{f.slug}] {f.message}",
            "check_name": f.slug,
            "fingerprint": f.fingerprint,
            "severity": SEVERITY[find_rule(f.code).severity],
            "location": {"path": f.location.path, "lines": {"begin": f.location.region.start_line}},
        }
        for f in result.findings
    ]
    return json.dumps(issues, indent=2) + "\n"
