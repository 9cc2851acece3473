"""Diff-aware runs: report only the findings a change introduced since a git ref.

Rule: a finding is new when its file changed since ``BASE_REF`` (``git diff`` against the
working tree, plus untracked files) and its fingerprint is absent when the same checks run on
the file's content at ``BASE_REF`` (``git show``). Unchanged files cannot have new findings.
Fingerprints ignore line numbers, so moved code is not new; a renamed file's findings are
(the path is part of the fingerprint).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from leakspot.config import DEFAULT, Settings
from leakspot.discover import language_of
from leakspot.engine import RunResult, analyze_source
from leakspot.model import assign_fingerprints


class DiffError(RuntimeError):
    """git is missing, the path is not in a work tree, or the ref does not exist."""


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise DiffError(f"cannot run git: {exc}") from exc
    if out.returncode != 0:
        raise DiffError(out.stderr.decode("utf-8", "replace").strip() or f"git {' '.join(args)} failed")
    return out.stdout


def changed_files(base: str, root: Path) -> tuple[Path, dict[str, str | None]]:
    """(work tree top, {display path: path at ``base`` relative to the top, or None if new}).

    Raises:
        DiffError: on any git failure (unknown ref, not a repository).
    """
    top = Path(_git(["rev-parse", "--show-toplevel"], root).decode().strip())
    _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], top)
    names = _git(["diff", "--name-only", "--no-renames", "-z", base, "--"], top).split(b"\0")
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top).split(b"\0")
    existed = set(_git(["ls-tree", "-r", "--name-only", "-z", base], top).split(b"\0"))
    out: dict[str, str | None] = {}
    for raw in names + untracked:
        if not raw:
            continue
        rel = raw.decode("utf-8", "surrogateescape")
        display = Path(os.path.relpath(top / rel, root.resolve())).as_posix()
        out[display] = rel if raw in existed else None
    return top, out


def keep_new_findings(result: RunResult, base: str, codes: frozenset[str], settings: Settings = DEFAULT) -> int:
    """Drop findings that are not new since ``base``; return how many were dropped.

    Raises:
        DiffError: on any git failure.
    """
    top, changed = changed_files(base, result.root)
    base_prints: set[str] = set()
    for display, rel in changed.items():
        language = language_of(Path(display))
        if rel is None or language is None:
            continue
        old = _git(["show", f"{base}:{rel}"], top)
        before = analyze_source(display, old, language, codes, settings).findings
        assign_fingerprints(before)
        base_prints.update(f.fingerprint for f in before)
    kept = [f for f in result.findings if f.location.path in changed and f.fingerprint not in base_prints]
    dropped = len(result.findings) - len(kept)
    result.findings = kept
    return dropped
