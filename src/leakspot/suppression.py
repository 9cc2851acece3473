"""In-source suppressions: ``leakspot: ignore[...]``, ``disable[...]``/``enable[...]`` blocks and
``disable-file[...]``, in Python (``#``) and C (``//``, ``/* */``) comments.

Grammar (STYLE.md, "Suppression")::

    # leakspot: ignore[open-without-close] -- ownership passes to Pool
    // leakspot: disable[fopen-without-fclose, LK201] -- process-lifetime handles
    // leakspot: enable[fopen-without-fclose]
    # leakspot: disable-file[unbounded-module-cache]

A trailing ``ignore`` applies to its line, a standalone one to the next code line; ``disable``
runs to the matching ``enable`` or the end of the file; ``disable-file`` anywhere covers the
file. Slugs are canonical, codes are accepted. The text after `` -- `` is the justification
kept with the suppressed finding. A suppression that names no rule or an unknown one is an
``invalid-suppression`` finding; one that suppresses nothing (for an enabled rule) is an
``unused-suppression`` finding. A trailing ``# noqa: B019`` or ``# pylint:
disable=consider-using-with`` that silences another linter's rule for the same finding
(:data:`EQUIVALENT_CODES`) silences ours on that line, and is never reported as unused,
unless the configuration says ``external-suppressions = false``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leakspot.model import Finding, Location, Region
from leakspot.registry import find_rule

DIRECTIVE = re.compile(
    r"(?:#|//|/\*)\s*leakspot:\s*(?P<kind>ignore|disable-file|disable|enable)\b"
    r"(?:\[(?P<rules>[^\]]*)\])?(?:\s+--\s*(?P<reason>.*?))?\s*(?:\*/\s*)?$"
)
#: Other linters' codes for the same finding: a line that silences one for ruff, flake8 or
#: pylint (``# noqa: B019``, ``# pylint: disable=consider-using-with``) silences ours too,
#: since someone has judged that line already. flake8-bugbear B019 (``lru_cache`` on a method),
#: pylint W1518 (``method-cache-max-size-none``), ruff RUF006 (a task whose reference is not
#: kept), flake8-simplify SIM115 and pylint R1732
#: (``consider-using-with``: a file or process opened outside ``with``).
EQUIVALENT_CODES = {
    "B019": ("LK102",), "W1518": ("LK102",), "method-cache-max-size-none": ("LK102",), "RUF006": ("LK105",),
    "SIM115": ("LK103", "LK104"), "PLR1732": ("LK103", "LK104"), "R1732": ("LK103", "LK104"),
    "consider-using-with": ("LK103", "LK104"),
}
NOQA = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE)
#: A bare ``# noqa`` (no codes): flake8 and ruff silence every one of their rules on the line,
#: the equivalents above included, so it silences all of ours that have one.
BARE_NOQA = re.compile(r"#\s*noqa\b(?!\s*:)", re.IGNORECASE)
PYLINT_DISABLE = re.compile(r"#\s*pylint\s*:\s*disable\s*=\s*(?P<codes>[\w-]+(?:\s*,\s*[\w-]+)*)")
#: Rules implemented here, not by a check: they judge the suppression comments themselves.
META_RULES = frozenset({"LK901", "LK903"})
STANDALONE = re.compile(r"^\s*(?:#|//|/\*)")


@dataclass
class Directive:
    """One suppression comment.

    Attributes:
        kind: ``ignore`` | ``disable`` | ``enable`` | ``disable-file``.
        codes: rule codes it names (resolved from slugs or codes).
        line: 1-based line of the comment.
        column: 1-based column where the comment starts.
        first, last: 1-based line range it covers (ignore: one line; disable: to enable/end).
        reason: the justification after `` -- ``.
        used: codes it actually suppressed.
    """

    kind: str
    codes: list[str]
    line: int
    column: int
    first: int = 0
    last: int = 0
    reason: str = ""
    unknown: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    external: bool = False  # another linter's (``# noqa: B019``): never reported as unused


def _external(line: str, number: int) -> Directive | None:
    """A trailing ``# noqa: ...`` or ``# pylint: disable=...`` on ``line`` that names one of
    :data:`EQUIVALENT_CODES`, or a bare ``# noqa`` (:data:`BARE_NOQA`), as an ``ignore`` of our
    equivalent rules on that line."""
    if STANDALONE.match(line):
        return None
    bare = BARE_NOQA.search(line)
    if bare:
        codes = sorted({lk for lks in EQUIVALENT_CODES.values() for lk in lks})
        return Directive("ignore", codes, number, bare.start() + 1, first=number, last=number,
                         reason="suppressed for ruff/flake8 (a bare `# noqa`)", external=True)
    for pattern in (NOQA, PYLINT_DISABLE):
        m = pattern.search(line)
        if not m:
            continue
        # noqa codes in any case (`# noqa: b019`), pylint's names as written
        found = [c for c in re.split(r"[\s,]+", m.group("codes"))
                 if (c.upper() if pattern is NOQA else c) in EQUIVALENT_CODES]
        if found:
            codes = sorted({lk for c in found for lk in EQUIVALENT_CODES[c.upper() if pattern is NOQA else c]})
            tool = "pylint" if pattern is PYLINT_DISABLE else "ruff/flake8"
            return Directive("ignore", codes, number, m.start() + 1, first=number, last=number,
                             reason=f"suppressed for {tool} `{', '.join(found)}`", external=True)
    return None


def parse_directives(lines: list[str], external: bool = True) -> list[Directive]:
    """Suppression comments of a file (lines without their end-of-line characters); with
    ``external``, other linters' comments for the same findings too (:func:`_external`)."""
    out: list[Directive] = []
    pending: list[Directive] = []
    open_blocks: dict[str, Directive] = {}
    for number, line in enumerate(lines, start=1):
        if external and ("noqa" in line or "pylint" in line):
            other = _external(line, number)
            if other is not None:
                out.append(other)
        m = DIRECTIVE.search(line)
        if m:
            names = [x.strip() for x in (m.group("rules") or "").split(",") if x.strip()]
            codes, unknown = [], []
            for name in names:
                rule = find_rule(name)
                (codes if rule else unknown).append(rule.code if rule else name)
            d = Directive(m.group("kind"), codes, number, m.start() + 1, reason=(m.group("reason") or "").strip(),
                          unknown=unknown)
            standalone = bool(STANDALONE.match(line))
            if d.kind == "ignore":
                if standalone:
                    pending.append(d)
                else:
                    d.first = d.last = number
            elif d.kind == "disable-file":
                d.first, d.last = 1, max(len(lines), 1)
            elif d.kind == "disable":
                d.first, d.last = number, max(len(lines), 1)
                for code in d.codes:
                    open_blocks[code] = d
            elif d.kind == "enable":
                for code in d.codes:
                    block = open_blocks.pop(code, None)
                    if block is not None:
                        block.last = number
            out.append(d)
            if standalone:
                continue
        if line.strip() and not STANDALONE.match(line):
            for d in pending:
                d.first = d.last = number
            pending = []
    return out


def apply_suppressions(
    path: str, lines: list[str], findings: list[Finding], enabled: frozenset[str], external: bool = True
) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """Split ``findings`` into (kept, suppressed) and add findings about the directives.
    ``external``: other linters' suppressions of the same findings count (``# noqa: B019``).

    Returns:
        (kept findings, suppressed findings with ``suppression`` set, directive findings:
        ``invalid-suppression`` and ``unused-suppression``, the latter only for enabled rules).
    """
    directives = parse_directives(lines, external)
    if not directives:
        return findings, [], []
    kept, suppressed = [], []
    for f in findings:
        line = f.location.region.start_line
        hit = next((d for d in directives if d.kind != "enable" and f.code in d.codes and d.first <= line <= d.last), None)
        if hit is None:
            kept.append(f)
        else:
            hit.used.add(f.code)
            f.suppression = hit.reason or "suppressed in source"
            suppressed.append(f)
    extra: list[Finding] = []
    invalid, unused = find_rule("invalid-suppression"), find_rule("unused-suppression")
    for d in directives:
        where = Location(path, Region(d.line, d.column, d.line, len(lines[d.line - 1]) + 1))
        anchor = lines[d.line - 1].strip()
        if d.kind != "enable" and not d.codes and not d.unknown and invalid.code in enabled:
            extra.append(Finding(invalid.code, invalid.slug, where, invalid.message.format(
                detail=f"`leakspot: {d.kind}` must name the rules it suppresses, e.g. `{d.kind}[open-without-close]`"),
                anchor=anchor))
        for name in d.unknown:
            if invalid.code in enabled:
                extra.append(Finding(invalid.code, invalid.slug, where, invalid.message.format(
                    detail=f"no rule `{name}` (see `leakspot rules`)"), anchor=anchor))
        if d.kind == "enable" or d.external or unused.code not in enabled:
            continue
        idle = [c for c in d.codes if c in enabled and c not in d.used and c not in (invalid.code, unused.code)]
        if idle:
            names = ", ".join(find_rule(c).slug for c in idle)
            extra.append(Finding(unused.code, unused.slug, where, unused.message.format(rules=names), anchor=anchor))
    return kept, suppressed, extra
