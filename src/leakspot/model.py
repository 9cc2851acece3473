"""Plain data shared by checks, the engine and the reporters.

Checks produce :class:`Finding` objects; reporters and (later) the LSP server only read them.
All lines and columns are 1-based; ``end_column`` is exclusive, as in SARIF 2.1.0 §3.30.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True, order=True)
class Region:
    """A span of source text.

    Attributes:
        start_line: 1-based first line.
        start_column: 1-based first column, counted in characters (SARIF's default
            ``columnKind`` "utf16CodeUnits" differs only for astral characters).
        end_line: 1-based last line.
        end_column: 1-based column just past the span (exclusive).
    """

    start_line: int
    start_column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Location:
    """A region in a file, with an optional message (for related locations and flows).

    Attributes:
        path: path relative to the run's root, with ``/`` separators.
        region: the span.
        message: why this place matters ("file object leaks at this return").
    """

    path: str
    region: Region
    message: str = ""


@dataclass(frozen=True)
class FlowStep:
    """One step of a code flow: a location and what happens there (SARIF ``threadFlowLocation``)."""

    location: Location
    kind: str = ""  # "acquire", "branch", "release", "exit"


@dataclass
class Finding:
    """One result of one rule at one place.

    Attributes:
        code: rule code such as ``"LK101"``.
        slug: rule slug such as ``"open-without-close"``.
        location: primary location (the allocation site).
        message: the rendered message, with a "why".
        related: related locations (e.g. the exit where the leak happens).
        flow: the path allocation -> branch decisions -> leaking exit, possibly empty.
        function: name of the enclosing function (used in the fingerprint), or ``""``.
        anchor: normalised source text of the primary line (used in the fingerprint).
        fingerprint: filled in by the engine; stable under edits elsewhere in the file.
        key: the rule's subject, for cross-file facts (``unbounded-module-cache``: the
            container's name).
        grown_by: ``unbounded-module-cache``: the names whose calls grow the container, for
            the project phase (:func:`leakspot.engine.drop_grown_at_import`).
        bases: the import-qualified names of a class's bases in other modules, for the
            project phase (:func:`leakspot.engine.drop_owned_by_base`): for
            ``listener-never-removed`` on ``self.<key>`` in a constructor, those that may create
            that attribute; for ``unbounded-module-cache`` on an annotated class attribute,
            those that may make the class a pydantic model.
        argument: ``listener-never-removed`` on what a class's ``__init__`` (or ``__new__``) is
            given: the keys under which a call of the class (``grown_by``) passes it, its
            0-based position after ``self`` as text and its name (``("0", "tree")``; only the
            name for a keyword-only parameter, only the position for a positional-only one),
            for the project phase (:func:`leakspot.engine.drop_bound_to_new_arguments`).
    """

    code: str
    slug: str
    location: Location
    message: str
    related: list[Location] = field(default_factory=list)
    flow: list[FlowStep] = field(default_factory=list)
    function: str = ""
    anchor: str = ""
    fingerprint: str = ""
    key: str = ""  # rule-specific subject for the project phase (a container's name)
    grown_by: tuple[str, ...] = ()  # functions, or the class whose __init__ grows it; () if unnamed
    bases: tuple[str, ...] = ()  # base classes in other modules, for the project phase
    argument: tuple[str, ...] = ()  # how callers pass the receiver to the constructor
    suppression: str | None = None  # the justification, when suppressed
    suppression_kind: str = "inSource"  # SARIF suppression kind: inSource, or external (baseline)
    #: runtime evidence joined by ``--evidence`` (:mod:`leakspot.runtime.matcher`): verdict, class,
    #: leaked bytes, rate, p-value, confidence, site, trace; None when no trace was given
    evidence: dict | None = None

    def sort_key(self) -> tuple:
        """Order findings by path, position, then code, for deterministic output."""
        r = self.location.region
        return (self.location.path, r.start_line, r.start_column, self.code, self.message)


@dataclass(frozen=True)
class Notification:
    """A problem leakspot met while analysing, not a finding in the code.

    Attributes:
        path: the file concerned, relative to the run's root ("" for the whole run).
        message: what went wrong, for a person.
        level: ``"error"`` (the file was not analysed) or ``"warning"`` (analysed in part).
        line: 1-based line where the problem is, or 0 when unknown.
        kind: short machine-readable category: ``read-error``, ``decode-error``,
            ``parse-error``, ``internal-error``.
    """

    path: str
    message: str
    level: str = "error"
    line: int = 0
    kind: str = "parse-error"


def char_column(line: str, byte_offset: int) -> int:
    """1-based column, in Unicode code points, of a 0-based UTF-8 byte offset into ``line``.

    Parsers (``ast``, tree-sitter) count columns in UTF-8 bytes; SARIF results declare
    ``columnKind: unicodeCodePoints`` (SARIF 2.1.0 §3.14.17), so non-ASCII lines are converted.
    """
    if line.isascii():
        return byte_offset + 1
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "ignore")) + 1


def assign_fingerprints(findings: list[Finding]) -> None:
    """Give each finding a fingerprint that survives edits elsewhere in its file.

    The hash covers the rule code, the file path, the enclosing function's name and the
    whitespace-normalised text of the primary line, plus an occurrence counter among findings
    sharing all of those, so inserting lines above a finding does not change it (the approach
    of GitHub's ``primaryLocationLineHash``, made independent of line numbers).
    Findings are modified in place.
    """
    seen: dict[str, int] = {}
    for f in sorted(findings, key=Finding.sort_key):
        base = "\x00".join((f.code, f.location.path, f.function, " ".join(f.anchor.split())))
        n = seen.get(base, 0)
        seen[base] = n + 1
        f.fingerprint = hashlib.sha256(f"{base}\x00{n}".encode()).hexdigest()[:32]


class CallFacts(NamedTuple):
    """What a Python file calls, for the project phase
    (:func:`leakspot.python.checks.unbounded_module_cache.call_names`), names as
    :func:`leakspot.engine.may_call` takes them.

    Attributes:
        runtime: calls that may run any number of times (inside functions, in loops, values
            handed on as callbacks).
        once: calls that run once: at import time, in a command-line command or ``main()``,
            under a once-flag.
        via: ``(callee, caller)`` pairs, a call that runs once for each run of ``caller`` (a
            ``Finding.grown_by``-style name).
        named: calls in functions named for set-up (``register_service()``, ``init_app()``),
            which only a name says run once.
        exports: for a package's ``__init__.py``, its re-exports as ``(name, dotted source
            module)`` pairs (:func:`~leakspot.python.checks.unbounded_module_cache.package_exports`).
        made: ``(class, keys)`` for each use of a name written like a class (``TreeTooltip``,
            named as :func:`~leakspot.python.checks.unbounded_module_cache.call_names` names
            callees): a call, with the keys of the arguments it makes anew for that call
            (``"0"`` for the first positional one, a keyword's name:
            :func:`~leakspot.python.checks.unbounded_module_cache.new_arguments`); any other use
            that may make one (a base, a value handed on, ``cls(...)`` in its methods), with
            no keys.
    """

    runtime: frozenset[str] = frozenset()
    once: frozenset[str] = frozenset()
    via: frozenset[tuple[str, str]] = frozenset()
    named: frozenset[str] = frozenset()
    exports: frozenset[tuple[str, str]] = frozenset()
    made: frozenset[tuple[str, tuple[str, ...]]] = frozenset()
