"""Rule documents and the checks that implement them.

A rule document (``rules/<language>/<slug>.md``) is the single source of a rule's metadata:
TOML front matter between ``+++`` lines, then Markdown sections ``## Why is this bad?``,
``## Bad`` and ``## Good`` whose fenced code blocks are executed by the tests. Checks register
themselves by code with :func:`register`; :func:`load_rules` pairs the two.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REQUIRED_KEYS = ("code", "slug", "languages", "severity", "confidence", "summary", "message")
SEVERITIES = ("error", "warning", "note")
CONFIDENCES = ("high", "medium", "low")
DOCS_URL = "https://github.com/leakspot/leakspot/blob/main/rules/{language}/{slug}.md"

_FENCE = re.compile(r"^```(\w+)?\s*\n(.*?)^```\s*$", re.S | re.M)


class RuleDocumentError(ValueError):
    """A rule document is malformed (missing key, bad value, missing section)."""


@dataclass(frozen=True)
class Example:
    """A fenced code block of a rule document: ``kind`` is ``"bad"`` or ``"good"``."""

    kind: str
    language: str
    code: str
    line: int  # 1-based line of the block's first code line in the document


@dataclass(frozen=True)
class Rule:
    """A rule's metadata, parsed from its document.

    Attributes:
        code: ``LK`` plus three digits.
        slug: kebab-case name, equal to the document's file name.
        languages: ``("python",)`` or ``("c",)``.
        severity: ``error`` | ``warning`` | ``note`` (the SARIF level).
        confidence: ``high`` | ``medium`` | ``low`` (SARIF ``precision``).
        cwe: CWE ids.
        summary: one sentence with no placeholders.
        message: a ``str.format`` template filled by the check.
        why: the rationale (Markdown).
        document: the whole document text.
        path: where the document was read from.
        examples: its Bad and Good code blocks.
        default_enabled: whether a run with no ``select`` checks it. A rule whose measured
            precision on real code is below the project's bar (``docs/precision.md``) is off by
            default (front matter ``enabled-by-default = false``) and runs only when a selection
            names it by code or slug, as CodeQL leaves low-precision queries out of its default
            suites and ruff leaves preview rules out of prefix selections.
    """

    code: str
    slug: str
    languages: tuple[str, ...]
    severity: str
    confidence: str
    cwe: tuple[int, ...]
    summary: str
    message: str
    status: str
    since: str
    why: str
    document: str
    path: Path
    examples: tuple[Example, ...] = field(default=())
    default_enabled: bool = True

    @property
    def help_uri(self) -> str:
        """URL of the rule's document."""
        return DOCS_URL.format(language=self.folder, slug=self.slug)

    @property
    def folder(self) -> str:
        """The folder of ``rules/`` holding the document: a language, or ``leakspot``."""
        return self.path.parent.name

    @property
    def body(self) -> str:
        """The document without its front matter."""
        return self.document.split("+++", 2)[2].lstrip()


def rules_dir() -> Path:
    """Directory holding the rule documents: inside the wheel, or the source checkout's ``rules/``.

    Raises:
        FileNotFoundError: when neither exists (a broken install).
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "rules", here.parent.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("leakspot rule documents not found (broken installation?)")


def parse_rule_document(path: Path) -> Rule:
    """Parse one rule document.

    Raises:
        RuleDocumentError: when the front matter or a required section is missing or invalid.
    """
    text = path.read_text(encoding="utf-8")
    parts = text.split("+++")
    if not text.startswith("+++") or len(parts) < 3:
        raise RuleDocumentError(f"{path}: no +++ TOML front matter")
    try:
        meta = tomllib.loads(parts[1])
    except tomllib.TOMLDecodeError as exc:
        raise RuleDocumentError(f"{path}: front matter: {exc}") from exc
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise RuleDocumentError(f"{path}: front matter lacks {', '.join(missing)}")
    if meta["severity"] not in SEVERITIES or meta["confidence"] not in CONFIDENCES:
        raise RuleDocumentError(f"{path}: bad severity or confidence")
    if not isinstance(meta.get("enabled-by-default", True), bool):
        raise RuleDocumentError(f"{path}: enabled-by-default must be true or false")
    if not re.fullmatch(r"LK\d{3}", meta["code"]):
        raise RuleDocumentError(f"{path}: code must be LK plus three digits")
    sections = _sections(text.split("+++", 2)[2])
    for name in ("Why is this bad?", "Bad", "Good"):
        if name not in sections:
            raise RuleDocumentError(f"{path}: missing section '## {name}'")
    examples = []
    offset = len("+++".join(parts[:2])) + 3
    body = text[offset:]
    body_line0 = text[:offset].count("\n")
    for title, kind in (("Bad", "bad"), ("Good", "good")):
        start, content = sections[title]
        for m in _FENCE.finditer(content):
            line = body_line0 + body[: start + m.start(2)].count("\n") + 1
            examples.append(Example(kind, m.group(1) or "", m.group(2), line))
    return Rule(
        code=meta["code"],
        slug=meta["slug"],
        languages=tuple(meta["languages"]),
        severity=meta["severity"],
        confidence=meta["confidence"],
        cwe=tuple(meta.get("cwe", ())),
        summary=meta["summary"],
        message=meta["message"],
        status=meta.get("status", "preview"),
        since=meta.get("since", "0.1.0"),
        why=sections["Why is this bad?"][1].strip(),
        document=text,
        path=path,
        examples=tuple(examples),
        default_enabled=meta.get("enabled-by-default", True),
    )


def _sections(body: str) -> dict[str, tuple[int, str]]:
    """Map each ``## Title`` to (offset of its content in ``body``, content)."""
    heads = list(re.finditer(r"^## (.+?)\s*$", body, re.M))
    out = {}
    for i, h in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(body)
        out[h.group(1)] = (h.end(), body[h.end() : end])
    return out


@lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """All rule documents, sorted by code.

    Raises:
        RuleDocumentError: on a malformed document or a duplicate code or slug.
    """
    rules = [parse_rule_document(p) for p in sorted(rules_dir().glob("*/*.md"))]
    seen: set[str] = set()
    for r in rules:
        for key in (r.code, r.slug):
            if key in seen:
                raise RuleDocumentError(f"duplicate rule code or slug {key}")
            seen.add(key)
    return tuple(sorted(rules, key=lambda r: r.code))


def rules_by_key() -> dict[str, Rule]:
    """Rules indexed by both code and slug."""
    out: dict[str, Rule] = {}
    for r in load_rules():
        out[r.code] = r
        out[r.slug] = r
    return out


def find_rule(key: str) -> Rule | None:
    """The rule whose code (any case) or slug is ``key``, or None."""
    table = rules_by_key()
    return table.get(key) or table.get(key.upper())


def match_rules(item: str) -> set[str]:
    """Codes of every rule that ``item`` names: a code (any case), a code prefix such as ``LK1``, or a slug.

    Raises:
        ValueError: for an item that names no rule.
    """
    hit = {r.code for r in load_rules() if r.slug == item or r.code.startswith(item.upper())}
    if not hit:
        raise ValueError(f"unknown rule or prefix: {item!r} (see `leakspot rules`)")
    return hit


def select_rules(select: list[str] | None, ignore: list[str] | None,
                 extend: list[str] | None = None) -> set[str]:
    """Codes enabled by ``select``, ``ignore`` and ``extend`` (``extend-select``) items.

    Items are codes, code prefixes (``LK1``) or slugs. With no ``select``, the rules enabled by
    default; a prefix enables only the default rules it covers, while an item that is a rule's
    exact code or slug enables that rule even when it is off by default (ruff's
    ``explicit-preview-rules``). ``extend`` adds to the selection, ``ignore`` then removes any
    rule it names.

    Raises:
        ValueError: for an item that names no rule.
    """
    rules = {r.code: r for r in load_rules()}

    def chosen(item: str) -> set[str]:
        hit = match_rules(item)
        if len(hit) == 1 and (item.upper() in hit or rules[next(iter(hit))].slug == item):
            return hit
        return {c for c in hit if rules[c].default_enabled}

    enabled = set().union(*(chosen(i) for i in select)) if select else {
        c for c, r in rules.items() if r.default_enabled}
    for item in extend or ():
        enabled |= chosen(item)
    for item in ignore or ():
        enabled -= match_rules(item)
    return enabled
