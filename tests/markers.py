"""Inline expectation markers in fixtures and rule examples (see STYLE.md, "Fixture markers").

``expect: slug "fragment"`` — a finding of ``slug`` must start on this line (its message
containing the fragment); ``ok: slug`` — none may; ``todo-expect`` — a known false negative
(fails once found, to prompt promotion); ``todo-ok`` — a known false positive (fails once
gone). A marker trailing code applies to its line; a marker alone on a line applies to the
next code line; markers stack. Parsed with a regex, never evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = re.compile(
    r'(expect|ok|todo-expect|todo-ok):\s*([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)(?:\s+"([^"]*)")?'
)
COMMENT_START = re.compile(r"^\s*(#|//|/\*)")
INLINE_COMMENT = re.compile(r"(#|//|/\*)\s*(?=(?:expect|ok|todo-expect|todo-ok):)")


@dataclass(frozen=True)
class Marker:
    kind: str
    slug: str
    line: int  # 1-based line the marker applies to
    fragment: str = ""


def parse_markers(source: str) -> list[Marker]:
    """All markers of a source text, resolved to the lines they apply to."""
    out: list[Marker] = []
    pending: list[tuple[str, str, str]] = []
    for i, line in enumerate(source.splitlines(), start=1):
        comment = INLINE_COMMENT.search(line)
        found = []
        if comment:
            for m in MARKER.finditer(line, comment.end()):
                for slug in m.group(2).split(","):
                    found.append((m.group(1), slug.strip(), m.group(3) or ""))
        standalone = bool(COMMENT_START.match(line))
        if standalone:
            pending.extend(found)
            continue
        if not line.strip():
            continue
        for kind, slug, frag in pending + found:
            out.append(Marker(kind, slug, i, frag))
        pending = []
    return out


def compare(markers: list[Marker], findings) -> list[str]:
    """Problems, as messages, between markers and findings (``(line, slug, message)`` triples)."""
    problems = []
    got = {}
    for line, slug, message in findings:
        got.setdefault((line, slug), []).append(message)
    covered = set()
    for m in markers:
        key = (m.line, m.slug)
        messages = got.get(key, [])
        hit = [x for x in messages if m.fragment in x]
        if m.kind == "expect":
            covered.add(key)
            if not hit:
                problems.append(f"line {m.line}: expected {m.slug}"
                                + (f' with "{m.fragment}"' if m.fragment else "")
                                + (f", got: {messages}" if messages else ""))
        elif m.kind == "todo-ok":
            covered.add(key)
            if not messages:
                problems.append(f"line {m.line}: known false positive {m.slug} is gone: make it `ok:`")
        elif m.kind == "ok":
            if messages:
                problems.append(f"line {m.line}: false positive {m.slug}: {messages[0]}")
        elif m.kind == "todo-expect":
            if messages:
                problems.append(f"line {m.line}: known false negative {m.slug} is now found: make it `expect:`")
    for key, messages in sorted(got.items()):
        if key not in covered and not any(m.kind in ("ok", "todo-expect") and (m.line, m.slug) == key for m in markers):
            problems.append(f"line {key[0]}: unmarked finding {key[1]}: {messages[0]}")
    return problems
