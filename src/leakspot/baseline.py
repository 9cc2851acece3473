"""Baselines for legacy code: record today's findings, then report only new ones.

A baseline file is JSON (``"version": 1``) listing each finding's fingerprint with its rule,
path, line and message for people reading it. Findings are matched by fingerprint, which does
not depend on line numbers (see :func:`leakspot.model.assign_fingerprints`), so a baseline
keeps matching when code moves. Entries that match nothing any more are *stale*: counted, so
the baseline can be refreshed with ``--write-baseline``.
"""

from __future__ import annotations

import json
from pathlib import Path

from leakspot import __version__
from leakspot.engine import RunResult

VERSION = 1


class BaselineError(ValueError):
    """The baseline file is missing, not JSON, or not a leakspot baseline."""


def write_baseline(result: RunResult, path: Path) -> int:
    """Write every current finding to ``path``; return how many were written."""
    entries = [
        {"fingerprint": f.fingerprint, "code": f.code, "slug": f.slug, "path": f.location.path,
         "line": f.location.region.start_line, "message": f.message}
        for f in result.findings
    ]
    doc = {"version": VERSION, "tool": {"name": "leakspot", "version": __version__}, "findings": entries}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return len(entries)


def load_baseline(path: Path) -> dict[str, dict]:
    """Baseline entries by fingerprint.

    Raises:
        BaselineError: unreadable file, bad JSON, or not a version-1 leakspot baseline.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("version") != VERSION or not isinstance(doc.get("findings"), list):
        raise BaselineError(f"{path} is not a leakspot baseline (version {VERSION})")
    return {e["fingerprint"]: e for e in doc["findings"] if isinstance(e, dict) and "fingerprint" in e}


def apply_baseline(result: RunResult, entries: dict[str, dict]) -> None:
    """Move findings that are in the baseline to ``result.suppressed`` (kind ``external``) and
    count the baseline entries that matched nothing in ``result.stale_baseline``: only entries
    of rules the run checked, in files it analysed, since a run that leaves a rule or a file
    out (``--select LK2``, a rule off by default, a pre-commit run over the staged files)
    cannot tell whether those findings are still there."""
    kept, matched = [], set()
    for f in result.findings:
        if f.fingerprint in entries:
            matched.add(f.fingerprint)
            f.suppression = "in the baseline"
            f.suppression_kind = "external"
            result.suppressed.append(f)
        else:
            kept.append(f)
    result.findings = kept
    result.suppressed.sort(key=lambda f: f.sort_key())
    result.baselined = len(matched)
    result.stale_baseline = sum(1 for fp, e in entries.items()
                                if fp not in matched and e.get("code") in result.codes
                                and e.get("path") in result.paths)
