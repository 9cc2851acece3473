"""Runs the enabled checks over files: per-file work is pure and runs in a process pool.

``analyze_source`` is the pure unit (display path + bytes + language + enabled codes ->
findings and notifications); ``run`` discovers files, fans them out, and assembles a
deterministic :class:`RunResult`. One file's failure becomes a :class:`Notification`; it never
stops the run or loses other files' findings. Analysed code is never imported or executed.
"""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from leakspot.config import DEFAULT, Settings
from leakspot.discover import DEFAULT_EXCLUDES, SourceFile, discover
from leakspot.model import CallFacts, Finding, Notification, assign_fingerprints
from leakspot.registry import load_rules

#: The facts of a file that calls nothing.
NO_CALLS = CallFacts()
#: The rules whose findings name the functions that must run many times for a leak
#: (``Finding.grown_by``): a growing container, a listener added, a bounded method cache
#: (whose class must be made many times).
GROWN_BY_SLUGS = ("unbounded-module-cache", "listener-never-removed", "lru-cache-on-method")
#: How many callers deep :func:`drop_grown_at_import` follows "called only once".
MAX_CALLER_DEPTH = 8

#: Below this many files a pool costs more than it saves.
POOL_THRESHOLD = 64
MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass
class FileResult:
    """What the analysis of one file yields.

    Attributes:
        findings: the file's findings.
        notifications: problems met (unreadable, unparseable, partly analysed).
        lines: number of source lines.
        suppressed: findings silenced by a suppression comment (with their justification).
        shrunk: names of containers this file removes from or clears (``x.cache.clear()``,
            ``del registry[k]``): facts for the project phase, which drops
            ``unbounded-module-cache`` findings on containers that another file bounds.
        calls: the names this Python file calls, ``(inside functions, at import time, as often
            as a caller)`` (:func:`~leakspot.python.checks.unbounded_module_cache.call_names`):
            facts for the project phase, which drops ``unbounded-module-cache`` and
            ``listener-never-removed`` findings whose growing functions the run calls only once.
    """

    findings: list[Finding] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    lines: int = 0
    shrunk: frozenset[str] = frozenset()
    calls: CallFacts = NO_CALLS
    suppressed: list[Finding] = field(default_factory=list)


@dataclass
class RunResult:
    """Everything a reporter needs about one run.

    Attributes:
        findings: sorted findings with fingerprints.
        notifications: problems met (unreadable/unparseable files), sorted by path.
        suppressed: findings silenced in source, sorted, with fingerprints.
        lines: total source lines read.
        root: the directory paths are relative to.
        baselined: findings matched by the ``--baseline`` file (moved to ``suppressed``).
        stale_baseline: baseline entries that matched no finding.
        shrunk: per file, the names of other modules' containers it shrinks (cross-file facts).
        calls: per Python file, the names it calls inside functions and at import time.
        codes: the rule codes the run checked.
        paths: the display paths (relative to ``root``) of the files the run analysed,
            those that failed included; ``files`` is their number.
    """

    findings: list[Finding] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    lines: int = 0
    root: Path = Path(".")
    baselined: int = 0
    stale_baseline: int = 0
    shrunk: dict[str, frozenset[str]] = field(default_factory=dict)
    calls: dict[str, CallFacts] = field(default_factory=dict)
    codes: frozenset[str] = frozenset()
    paths: frozenset[str] = frozenset()

    @property
    def files(self) -> int:
        """Number of files analysed (including those that failed)."""
        return len(self.paths)


def analyze_source(
    display: str, data: bytes, language: str, codes: frozenset[str], settings: Settings = DEFAULT
) -> FileResult:
    """Analyse one file's bytes with the rules whose codes are in ``codes``, configured by ``settings``.

    Never raises for bad input: a file that cannot be decoded or parsed yields a notification.
    """
    rules = [r for r in load_rules() if r.code in codes and language in r.languages]
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if not rules:
        return FileResult(lines=lines)
    try:
        result = (_python(display, data, rules, settings) if language == "python"
                  else _c(display, data, rules, settings))
    except RecursionError:
        result = FileResult(notifications=[Notification(display, "nesting too deep to analyse", kind="parse-error")])
    except Exception as exc:  # a bug in a check must not lose the run
        note = Notification(
            display, f"internal error while analysing: {type(exc).__name__}: {exc}", kind="internal-error"
        )
        result = FileResult(notifications=[note])
    result.lines = lines
    if result.findings or b"leakspot:" in data:
        from leakspot.suppression import apply_suppressions

        text = data.decode("utf-8", "replace")
        kept, suppressed, extra = apply_suppressions(display, re.split(r"\r\n|\r|\n", text), result.findings, codes,
                                                     settings.external_suppressions)
        result.findings = kept + extra
        result.suppressed = suppressed
    return result


def _python(display: str, data: bytes, rules, settings: Settings):
    from leakspot.python.checks import run_python_checks
    from leakspot.python.parse import parse_python

    from leakspot.python.checks.unbounded_module_cache import call_names, shrunk_names

    try:
        module = parse_python(display, data)
    except SyntaxError as exc:
        msg = f"cannot parse: {exc.msg}{_newer_syntax(exc)}"
        return FileResult(notifications=[Notification(display, msg, line=exc.lineno or 0, kind="parse-error")])
    except (ValueError, UnicodeDecodeError) as exc:
        return FileResult(notifications=[Notification(display, f"cannot decode: {exc}", kind="decode-error")])
    return FileResult(run_python_checks(module, rules, settings), [], 0, shrunk_names(module), call_names(module))


#: Lines of syntax that Python 3.12 added (PEP 695: ``type X = ...``, ``def f[T](...)``,
#: ``class C[T]:``), which an older interpreter's parser rejects.
PEP_695 = re.compile(r"^\s*(type\s+[A-Za-z_]\w*\s*[\[=]|(async\s+)?def\s+[A-Za-z_]\w*\s*\[|class\s+[A-Za-z_]\w*\s*\[)")
#: An f-string opened on the line with a replacement field left open at its end (``f"{``).
PEP_701_OPENING = re.compile(r"(?<![\w])[rR]?[fF][rR]?(\"|')[^\"']*\{\s*$")
#: ``except A, B:`` without parentheses, which Python 3.14 accepts (PEP 758) and older ones
#: reject with this message; with ``as`` the parentheses are still required.
PEP_758_MESSAGE = "multiple exception types must be parenthesized"
#: Python 2's ``except E, name:`` (pysmb's ``except select.error, ex:``): one type, then a
#: plain lower-case name to bind, where PEP 758's ``except A, B:`` lists types.
PYTHON2_EXCEPT = re.compile(r"\s*except\s+[\w.]+\s*,\s*[a-z_][a-z0-9_]*\s*:")


def _newer_syntax(exc: SyntaxError) -> str:
    """A hint for a parse error that is newer syntax, not a mistake: leakspot parses with the
    ``ast`` of the Python it runs on. Empty when the running Python has the syntax or the line
    does not look like it: PEP 695 type parameters and PEP 701 f-strings (also one whose
    replacement field spans lines: "unterminated string literal" on 3.11) (Python 3.12), PEP 758
    ``except`` without parentheses (3.14)."""
    text, msg = exc.text or "", exc.msg or ""
    if PEP_695.match(text) or msg.startswith("f-string") or (
            # a PEP 701 f-string whose `{...}` spans lines, which 3.11's tokenizer cannot end
            msg.startswith("unterminated string literal") and PEP_701_OPENING.search(text)):
        needed = (3, 12)
    elif msg == PEP_758_MESSAGE and PYTHON2_EXCEPT.match(text):
        return " (this looks like Python 2 syntax: `except E, name:` is `except E as name:` in Python 3)"
    elif msg == PEP_758_MESSAGE and not re.search(r"\bas\s+\w+\s*:", text):
        needed = (3, 14)
    else:
        return ""
    if sys.version_info >= needed:
        return ""
    running = ".".join(map(str, sys.version_info[:2]))
    return (f" (this looks like Python {needed[0]}.{needed[1]} syntax, and leakspot runs on Python {running}: "
            "install it under the Python the project uses)")


#: The hint :func:`_newer_syntax` adds to a parse error's message; group 1 is the version.
NEWER_SYNTAX_HINT = re.compile(r"\(this looks like Python (\d+\.\d+) syntax")


#: A line that only C++ has, at the start of a line of a ``.h`` file: a template, a
#: namespace block, ``using namespace``, or a class with access specifiers.
CPP_HEADER = re.compile(rb"^[ \t]*(?:template[ \t]*<|namespace[ \t]+[\w:]*[ \t]*\{|using[ \t]+namespace[ \t]"
                        rb"|(?:public|private|protected)[ \t]*:(?!:))", re.MULTILINE)


def _c(display: str, data: bytes, rules, settings: Settings):
    from leakspot.c.checks import run_c_checks

    if b"Generated by Cython" in data[:512]:
        # Cython's output: its code is Cython's, and a fix belongs in the `.pyx` it came from
        return FileResult()
    if display.endswith(".h") and CPP_HEADER.search(data):
        # a C++ header (pybind11's): the C grammar reads `reinterpret_steal<object>(p)`, which
        # takes the reference, as comparisons, so every such function would be reported
        return FileResult()

    findings, notes = run_c_checks(display, data, rules, settings)
    return FileResult(findings, notes)


def _analyze_file(f: SourceFile, codes: frozenset[str], settings: Settings = DEFAULT, root: Path = Path(".")):
    try:
        size = f.path.stat().st_size
        if size > MAX_FILE_BYTES:
            note = Notification(f.display, f"skipped: {size} bytes is over the {MAX_FILE_BYTES}-byte limit",
                                level="warning", kind="read-error")
            return FileResult(notifications=[note])
        data = f.path.read_bytes()
    except OSError as exc:
        return FileResult(notifications=[Notification(f.display, f"cannot read: {exc.strerror or exc}", kind="read-error")])
    codes = codes - settings.ignored_for(f.display, root)
    return analyze_source(f.display, data, f.language, codes, settings)


def _analyze_chunk(chunk: list[SourceFile], codes: frozenset[str], settings: Settings, root: Path):
    return [_analyze_file(f, codes, settings, root) for f in chunk]


def drop_grown_at_import(findings: list[Finding], calls: dict[str, CallFacts]) -> list[Finding]:
    """Cross-file facts: drop an ``unbounded-module-cache``, ``listener-never-removed`` or
    (bounded) ``lru-cache-on-method`` finding (:data:`GROWN_BY_SLUGS`) whose growing
    functions or class (``Finding.grown_by``) the run calls, and calls only once:
    at import time, at set-up (``main()``, a command-line command), under a once-flag, or from
    functions that are themselves called only once, followed up to :data:`MAX_CALLER_DEPTH`
    callers deep. A registry of the instances that other modules make at module level
    (``SERVICES.append(self)`` in ``Service.__init__``, with ``hello = Service(...)`` at the
    top of each view module); ddtrace's ``def listen(): core.on(...)``, called at the bottom
    of its module or by a loader guarded by ``if _TO_BE_LOADED:``. A name also called where
    it may run many times (in a loop, a nested function, a function that is not itself called
    once), handed on as a value (a callback), or never called in the run, keeps the finding:
    the rule cannot tell how often an outside caller runs. Recursion keeps it too.

    Calls are matched by name, through the imports where they resolve (:func:`may_call`):
    ``ast.parse(...)`` is not a call of a project's ``parse()``, nor is a call of another
    module's own function of that name; a call the imports do not resolve (``obj.parse()``)
    may be a call of any method so named.

    A bounded method cache (``lru-cache-on-method``, new to this pass) is dropped only on what
    the code shows: a set-up function known by its name (``install_req_from_line()``, which
    pip calls per requirement) does not count.

    "Once" is a least fixed point over the run's call graph by name (the monotone framework
    of Kildall, "A unified approach to global program optimization", POPL 1973): a function
    is once when some call may reach it and every call that may reach it is once.

    Args:
        findings: findings of any files.
        calls: for each Python file (display path), its :class:`~leakspot.model.CallFacts` (``FileResult.calls``).
    """
    if not calls:
        return findings

    def last(n: str) -> str:
        return n.rsplit(".", 1)[-1]

    runtime: dict[str, set[str]] = {}
    at_import: dict[str, set[str]] = {}
    named: dict[str, set[str]] = {}
    via: dict[str, set[tuple[str, str]]] = {}
    for facts in calls.values():
        for n in facts.runtime:
            runtime.setdefault(last(n), set()).add(n)
        for n in facts.once:
            at_import.setdefault(last(n), set()).add(n)
        for n in facts.named:
            named.setdefault(last(n), set()).add(n)
        for callee, caller in facts.via:
            via.setdefault(last(callee), set()).add((callee, caller))
    modules = _run_modules(calls)
    memo: dict[tuple[str, bool], bool] = {}

    def once(target: str, depth: int = 0, path: frozenset[str] = frozenset(), strict: bool = False) -> bool:
        key = (target, strict)
        if key in memo:
            return memo[key]
        if target in path or depth > MAX_CALLER_DEPTH:
            return False  # recursion, or too deep to tell: not shown to run once
        name = last(target)
        if any(may_call(c, target, modules) for c in runtime.get(name, ())):
            result = False
        else:
            callers = {caller for c, caller in via.get(name, ()) if may_call(c, target, modules)}
            direct = any(may_call(c, target, modules) for c in at_import.get(name, ()))
            # a set-up function known only by its name is trusted for the growing function's
            # own callers, not further up: an `_initialize_provider()` that a `reset()` calls
            # again makes all that it calls again
            by_name = [c for c in named.get(name, ()) if may_call(c, target, modules)]
            if by_name and (depth or strict):
                result = False
            else:
                result = (direct or bool(by_name) or bool(callers)) and all(
                    once(c, depth + 1, path | {target}, strict) for c in callers)
        if not path or result:
            memo[key] = result  # a "no" met inside a cycle may be only that cycle's
        return result

    return [
        f for f in findings
        if not (f.slug in GROWN_BY_SLUGS and f.grown_by
                and all(once(n, strict=f.slug == "lru-cache-on-method") for n in f.grown_by))
    ]


def _run_modules(calls: dict[str, CallFacts]) -> dict[str, frozenset[tuple[str, str]] | None]:
    """Each module of the run, by dotted name: None, or for a package (its ``__init__.py``)
    what it re-exports (the ``modules`` of :func:`may_call`)."""
    from leakspot.python.parse import module_dotted
    return {module_dotted(p): facts.exports if p.endswith("__init__.py") else None for p, facts in calls.items()}


def drop_bound_to_new_arguments(findings: list[Finding], calls: dict[str, CallFacts]) -> list[Finding]:
    """Cross-file facts: drop a ``listener-never-removed`` finding on what a class's
    constructor is given (``Finding.argument``: ``def __init__(self, tree): self.tree = tree;
    self.tree.bind(...)``) when every use of the class in the run (``CallFacts.made``) is a
    call that passes a new object there, made for that call (tkfilebrowser's
    ``TooltipTreeWrapper(self.left_tree)`` right after ``self.left_tree = ttk.Treeview(...)``):
    each binding is then on its own widget, which dies with it. A use that may pass anything
    keeps the finding: a call passing an object made before (once, or before a loop), a
    subclass, the class handed on as a value, ``cls(...)`` in its own methods, or no use at
    all (outside callers are not known). Uses are matched by name, as :func:`may_call` does.

    Args:
        findings: findings of any files.
        calls: for each Python file (display path), its :class:`~leakspot.model.CallFacts`.
    """
    pending = {id(f) for f in findings
               if f.slug == "listener-never-removed" and f.argument and len(f.grown_by) == 1}
    if not pending:
        return findings
    modules = _run_modules(calls)
    uses: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for facts in calls.values():
        for callee, keys in facts.made:
            uses.setdefault(callee.rsplit(".", 1)[-1], []).append((callee, keys))

    def new_each_time(f: Finding) -> bool:
        target = f.grown_by[0]
        given = [keys for callee, keys in uses.get(target.rsplit(".", 1)[-1], ()) if may_call(callee, target, modules)]
        return bool(given) and all(set(keys) & set(f.argument) for keys in given)

    return [f for f in findings if not (id(f) in pending and new_each_time(f))]


def may_call(call: str, target: str, modules: dict[str, frozenset[tuple[str, str]] | None]) -> bool:
    """May a call recorded as ``call`` run the function named ``target``?

    Args:
        call: a name from ``FileResult.calls``: bare (``"parse"``, unresolved: it may be any
            function or method of that name), a method's (``".parse"``, from ``obj.parse()``
            on an object the imports do not resolve: any method of that name, not a module's
            function or class) or dotted through the caller's imports (``"pkg.args.parse"``,
            ``"ast.parse"``).
        target: a ``Finding.grown_by`` name: dotted by its module for a module-level function
            or class (``"pkg.args.parse"``), bare for a method.
        modules: the run's Python modules (dotted name: ``None``, or for a package's
            ``__init__``, which may re-export what it imports, its re-exports as
            :func:`~leakspot.python.checks.unbounded_module_cache.package_exports` gives them).

    A dotted call of the same last name is ruled out when its module is the standard
    library's or a third party's (no module of the run has its dotted name, seen from any
    folder: ``zarr.x`` is ``src/zarr/x.py`` or a package above ``src/zarr/x/y.py``), or
    when it is another module of the run that is not a package (a module's own function),
    or a package that imports the name from another module than the target's (Airflow's
    ``airflow._shared.plugins_manager`` re-exports its own submodule's
    ``integrate_listener_plugins()``, not ``airflow.plugins_manager``'s, which calls it).
    """
    from leakspot.python.parse import same_module
    name = target.rsplit(".", 1)[-1]
    if "." not in call:
        return call == name
    if call.startswith("."):
        return "." not in target and call[1:] == name
    where, called = call.rsplit(".", 1)
    if called != name:
        return False
    if "." in target and same_module(where, target.rsplit(".", 1)[0]):
        return True
    top = where.split(".")[0]
    inside = "." + where + "."
    if top == "builtins" or not any(inside in f".{m}." for m in modules):
        # `ast.parse`, `requests.get`: not the project's; nor `sqlalchemy.event.listen` in a
        # project with a `ddtrace.contrib.sqlalchemy` package of its own
        return False
    if top in sys.stdlib_module_names and not any(m.split(".")[0] == top for m in modules):
        return False
    run_module = [exports for m, exports in modules.items() if same_module(where, m)]
    if not run_module:
        return True
    return any(exports is not None and _may_re_export(exports, name, target, modules) for exports in run_module)


def _may_re_export(exports: frozenset[tuple[str, str]], name: str, target: str,
                   modules: dict[str, frozenset[tuple[str, str]] | None]) -> bool:
    """May a package whose ``__init__`` re-exports ``exports`` hand out ``target`` as ``name``?
    Yes unless it binds ``name`` only by imports from modules that are not ``target``'s (nor
    packages of the run, which may pass on another's); a star import, a module
    ``__getattr__`` or a name bound otherwise (``""``) may be anything."""
    from leakspot.python.parse import same_module
    if "." not in target:
        return True  # a method: which module it is in is not known
    home = target.rsplit(".", 1)[0]
    sources = {src for n, src in exports if n in (name, "*")}
    if not sources:
        return True  # not bound at module level by what the pass reads: not known
    return any(not src or same_module(src, home) or any(
        same_module(src, m) and exports_of is not None for m, exports_of in modules.items()) for src in sources)


def drop_bounded_elsewhere(findings: list[Finding], shrunk: dict[str, frozenset[str]]) -> list[Finding]:
    """Cross-file facts: drop an ``unbounded-module-cache`` finding whose container another file
    shrinks (``module.cache.clear()``, ``del module.registry[k]``).

    Args:
        findings: findings of any files.
        shrunk: for each file (display path), the container names it shrinks (``FileResult.shrunk``).
    """
    by_name: dict[str, set[str]] = {}
    for path, names in shrunk.items():
        for name in names:
            by_name.setdefault(name, set()).add(path)
    return [
        f for f in findings
        if not (f.slug == "unbounded-module-cache" and f.key and by_name.get(f.key, set()) - {f.location.path})
    ]


def drop_owned_by_base(findings: list[Finding], root: Path, project: Path | None = None) -> list[Finding]:
    """Cross-file facts from base classes in other modules of the project:

    - a ``listener-never-removed`` finding on ``self.<attr>`` in a constructor is dropped when
      a base class creates that attribute (``class AstView(ui_utils.TreeFrame)``, whose
      ``TreeFrame.__init__`` builds ``self.tree = ttk.Treeview(self)``): the listener is added
      once per instance, to a child object that dies with it; one in another method, when a
      base class calls that method only right after making the attribute anew (a template
      method's hook, :func:`~leakspot.python.checks.listener_never_removed.made_before_hook`);
    - an ``unbounded-module-cache`` finding on an annotated class attribute is dropped when
      the class derives from a model base
      (:data:`~leakspot.python.checks.unbounded_module_cache.MODEL_BASES`, through
      ``class _Model(ModelMeta)`` in one module and ``class PydanticModel(pydantic.BaseModel)``
      in another): each instance copies that default, so nothing is shared by the class.

    The bases' modules are read from disk, under the project's root
    (:meth:`leakspot.python.bases.SourceFinder.inherited`), whether or not the run checks them.

    Args:
        findings: findings of any files; those with ``Finding.bases`` are looked into.
        root: the folder that the findings' paths are relative to.
        project: the project's root folder, when known (else the nearest one above ``root``).
    """
    pending = [f for f in findings if f.bases and f.slug in ("listener-never-removed", "unbounded-module-cache")]
    if not pending:
        return findings
    from leakspot.python.bases import SourceFinder
    from leakspot.python.checks.listener_never_removed import PER_INSTANCE, creates_attribute, made_before_hook
    from leakspot.python.checks.unbounded_module_cache import derives_from_model

    def owns(f: Finding):
        if f.slug != "listener-never-removed":
            return derives_from_model
        return creates_attribute if f.function in PER_INSTANCE else made_before_hook(f.function)

    finder = SourceFinder(project or _project_root(root))
    dropped = {id(f) for f in pending if finder.inherited(root / f.location.path, f.bases, f.key, owns(f))}
    return [f for f in findings if id(f) not in dropped]


def _with_project_wrappers(files: list[SourceFile], codes: frozenset[str], settings: Settings,
                           pool: ProcessPoolExecutor | None = None, jobs: int = 1, root: Path = Path("."),
                           exclude: list[str] | None = None, anchored=None) -> Settings:
    """Cross-file C facts: the allocation and deallocation wrappers defined anywhere in the run
    (``xmalloc`` in one file, its callers in another) and the constants of every file, put in
    ``settings.c_project`` for the per-file analyses. Each file's facts are gathered in the worker ``pool`` when there is one.
    Files that cannot be read are left to the main pass to report."""
    c_files = [f for f in files if f.language == "c"]
    if not c_files or not any(r.code in codes and "c" in r.languages for r in load_rules()):
        return settings
    from dataclasses import replace

    from leakspot.c.checks import project_facts
    from leakspot.c.constants import candidates

    paths = [(f.path, f.display) for f in c_files]
    size = max(1, min(32, len(paths) // (jobs * 4)))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    if pool is not None:
        outs = list(pool.map(_c_facts, chunks, [settings] * len(chunks)))
    else:
        outs = [_c_facts(paths, settings)]
    gathered = [g for facts, _ in outs for g in facts]
    # the run's files' own headers (`#include "io.h"` next to them, or found under the root)
    # that are not in the run tell their prototypes, constants, macros and inline wrappers
    # too; their findings are not reported
    seen = {f.path.resolve() for f in c_files}
    index = _HeaderIndex(root, exclude, anchored)
    pending = set().union(*(index.resolve(inc) for _, inc in outs)) - seen
    for _ in range(4):
        if not pending or len(seen) > 20000:
            break
        headers = [(h, str(h)) for h in sorted(pending)]
        facts, inc = _c_facts(headers, settings)
        gathered.extend(facts)
        chunks.append(headers)
        seen |= pending
        pending = index.resolve(inc) - seen
    # globals that are constant unless another file writes them: a second, targeted scan
    names = candidates([g[2] for g in gathered])
    written: frozenset[str] = frozenset()
    if names:
        found = (pool.map(_c_writes, chunks, [names] * len(chunks)) if pool is not None
                 else [_c_writes(paths, names)])
        written = frozenset().union(*found)
    return replace(settings, c_project=project_facts(gathered, settings, written))


def _c_writes(paths: list[tuple[Path, str]], names: frozenset[str]) -> frozenset[str]:
    from leakspot.c.constants import written_among

    out: set[str] = set()
    for path, _ in paths:
        try:
            data = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else b""
        except OSError:
            continue
        out |= written_among(data, names - out, skip_definitions=True)
    return frozenset(out)


_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"', re.MULTILINE)


def _c_facts(paths: list[tuple[Path, str]], settings: Settings) -> tuple[list, set[tuple[Path, str]]]:
    """The project facts of each readable file (:func:`leakspot.c.checks.file_facts`), and the
    headers they include with quotes: ``(including file, the name written)`` pairs, to resolve
    with :class:`_HeaderIndex`."""
    from leakspot.c.checks import file_facts

    out = []
    includes: set[tuple[Path, str]] = set()
    for path, display in paths:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        out.append(file_facts(data, settings, display))
        for m in _INCLUDE.finditer(data):
            name = m.group(1).decode("utf-8", "replace")
            if name.endswith((".h", ".c", ".inc")):
                includes.add((path, name))
    return out, includes


#: The most files the project phase walks to read the modules a run does not check.
PROJECT_FILES_LIMIT = 20000


def _project_facts(files: list[SourceFile], findings: list[Finding], project: Path, root: Path,
                   exclude: list[str] | None, anchored,
                   run_calls: dict[str, CallFacts] | None = None) -> tuple[dict[str, frozenset[str]], dict[str, CallFacts]]:
    """The cross-file facts of the project's Python files that the run does not check, for the
    findings the project phase looks up: the containers they shrink
    (:func:`~leakspot.python.checks.unbounded_module_cache.shrunk_names`, for a finding's
    ``key``) and the names they call (:func:`~leakspot.python.checks.unbounded_module_cache.call_names`,
    for its ``grown_by``). A pre-commit run of one changed file then judges them as a run of
    the whole project does. Only files that mention one of those names are parsed, and then
    those that mention a function that calls one of them (in those files or in ``run_calls``,
    the run's own :class:`~leakspot.model.CallFacts`), and so on, as far as :func:`drop_grown_at_import` follows callers;
    ``project`` is walked with the run's excludes, up to :data:`PROJECT_FILES_LIMIT` files
    (beyond that, only the run's own facts count). Files that cannot be read or parsed are left
    out: they are not the run's.

    Returns:
        (shrunk, calls), each keyed by display path, as ``FileResult.shrunk`` and ``.calls``.
    """
    names = {n.rsplit(".", 1)[-1] for f in findings if f.slug in GROWN_BY_SLUGS for n in f.grown_by}
    names |= {f.key for f in findings if f.slug == "unbounded-module-cache" and f.key}
    if not names:
        return {}, {}
    from leakspot.python.checks.unbounded_module_cache import call_names, shrunk_names
    from leakspot.python.parse import parse_python

    checked = {f.path.resolve() for f in files}
    others, _ = discover([project], root, exclude, anchored, limit=PROJECT_FILES_LIMIT)
    if len(others) >= PROJECT_FILES_LIMIT:
        return {}, {}  # not a project but a home folder under `.git`, say: the run's own facts only
    shrunk: dict[str, frozenset[str]] = {}
    calls: dict[str, CallFacts] = {}
    # (a walked file's path is resolved already: discover())
    pending = [f for f in others if f.language == "python" and f.path not in checked]
    known = [*(run_calls or {}).values()]
    looked_for: set[str] = set()
    # the files that mention a wanted name; then, for "called only once" (drop_grown_at_import),
    # those that mention a caller of a wanted name, up to MAX_CALLER_DEPTH rounds
    for _ in range(MAX_CALLER_DEPTH + 1):
        looked_for |= names
        wanted = [n.encode() for n in names]
        rest = []
        for f in pending:
            try:
                data = f.path.read_bytes()
                if not any(w in data for w in wanted):
                    rest.append(f)
                    continue
                module = parse_python(f.display, data)
                shrunk[f.display], calls[f.display] = shrunk_names(module), call_names(module)
                known.append(calls[f.display])
            except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
                continue
        pending = rest
        callers = {caller.rsplit(".", 1)[-1] for facts in known
                   for callee, caller in facts.via if callee.rsplit(".", 1)[-1] in looked_for}
        names = callers - looked_for
        if not names or not pending:
            break
    return {d: names for d, names in shrunk.items() if names}, calls


def _project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds ``.git``, ``leakspot.toml`` or
    ``pyproject.toml`` (``start`` itself when there is none)."""
    here = start.resolve()
    for d in (here, *here.parents):
        if any((d / marker).exists() for marker in (".git", "leakspot.toml", "pyproject.toml")):
            return d
    return here


_DEFAULT_SPEC = pathspec.GitIgnoreSpec.from_lines(DEFAULT_EXCLUDES)


class _HeaderIndex:
    """Where a quoted ``#include "name"`` of a run's C file is: beside the including file, as
    the compiler looks first; else the header of that relative path under the project's root
    (:func:`_project_root` of the run's root) nearest to the including file (the ``-I`` directories of a build are not known: a source
    in ``src/`` includes ``"util.h"`` from ``include/``). A name with two equally near
    candidates is left unresolved. The root is walked once, on the first include not found
    beside its file, with the run's exclude patterns relative to the run's root (at most :data:`MAX_INDEXED` headers).

    This is the fallback of IDE indexers that resolve includes without a build (Eclipse CDT's
    "heuristic include resolution")."""

    MAX_INDEXED = 50000

    def __init__(self, root: Path, exclude: list[str] | None, anchored=None) -> None:
        self.run_root = root.resolve()
        self.root = _project_root(root)
        self.exclude = pathspec.GitIgnoreSpec.from_lines(exclude or [])
        self.anchored = [(base.resolve(), pathspec.GitIgnoreSpec.from_lines(p)) for base, p in anchored or [] if p]
        self.by_name: dict[str, list[Path]] | None = None
        self.cache: dict[tuple[Path, str], Path | None] = {}

    def _index(self) -> dict[str, list[Path]]:
        """Headers (``.h``, ``.inc``) under the project root by file name: one ``os.walk`` that
        leaves out hidden folders and the default excludes (VCS folders, virtualenvs, caches),
        at most :data:`MAX_INDEXED`. Ignore files are not read: a build's ``-I`` finds headers
        that git ignores too (a generated ``config.h``); the run's excludes are applied to the
        few candidates of an include instead (:meth:`_excluded`)."""
        by_name: dict[str, list[Path]] = {}
        count = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not _DEFAULT_SPEC.match_file(d + "/"))
            for fn in sorted(filenames):
                if fn.endswith((".h", ".inc")):
                    by_name.setdefault(fn, []).append(Path(dirpath, fn))
                    count += 1
                    if count >= self.MAX_INDEXED:
                        return by_name
        return by_name

    def _excluded(self, path: Path) -> bool:
        """Is ``path`` left out by the run's ``--exclude`` patterns (relative to the run's root)
        or a configuration file's (relative to that file's folder)?"""
        for base, spec in [(self.run_root, self.exclude), *self.anchored]:
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            parts = rel.split("/")
            if spec.match_file(rel) or any(spec.match_file("/".join(parts[:i]) + "/") for i in range(1, len(parts))):
                return True
        return False

    def resolve(self, includes: set[tuple[Path, str]]) -> set[Path]:
        """The resolved paths of ``includes`` (see :func:`_c_facts`) that could be found."""
        out: set[Path] = set()
        for inc in includes:
            if inc not in self.cache:
                self.cache[inc] = self._find(*inc)
            if self.cache[inc] is not None:
                out.add(self.cache[inc])
        return out

    def _find(self, including: Path, name: str) -> Path | None:
        beside = including.parent / name
        try:
            if beside.is_file():
                return beside.resolve()
        except OSError:
            return None
        if self.by_name is None:
            self.by_name = self._index()
        want = Path(name).parts
        if ".." in want:
            return None
        here = including.resolve().parent.parts
        ranked = []
        for cand in self.by_name.get(want[-1], ()):
            if cand.parts[-len(want):] != want or self._excluded(cand):
                continue
            shared = 0
            for a, b in zip(here, cand.parts):
                if a != b:
                    break
                shared += 1
            ranked.append((shared, cand))
        ranked.sort(key=lambda x: -x[0])
        if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
            return None
        return ranked[0][1].resolve()


def run(
    paths: list[Path],
    codes: set[str],
    root: Path | None = None,
    exclude: list[str] | None = None,
    jobs: int | None = None,
    settings: Settings = DEFAULT,
    project: Path | None = None,
) -> RunResult:
    """Discover files under ``paths`` and analyse them.

    Args:
        paths: files and directories to check.
        codes: enabled rule codes.
        root: directory that reported paths are relative to (default: the cwd).
        exclude: extra gitignore-style exclude patterns.
        jobs: worker processes (default: the CPU count; 1 disables the pool).
        settings: the configuration (per-file ignores, rule options, extra allocators).
        project: the project's folder, whose other files the cross-file facts read: the
            calls of the modules the run does not check (default: ``root``) and base classes
            (default: the nearest folder at or above ``root`` with ``.git``,
            ``pyproject.toml`` or ``leakspot.toml``).
    """
    root = root or Path.cwd()
    anchored = [(settings.base, list(settings.exclude))] if settings.exclude else None
    files, missing = discover(paths, root, exclude, anchored)
    result = RunResult(root=root, codes=frozenset(codes))
    for m in missing:
        result.notifications.append(Notification(m, "no such file or directory", kind="read-error"))
    frozen = frozenset(codes)
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and len(files) >= POOL_THRESHOLD:
        size = max(1, min(32, len(files) // (jobs * 8)))
        chunks = [files[i : i + size] for i in range(0, len(files), size)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            settings = _with_project_wrappers(files, frozen, settings, pool, jobs, root, exclude, anchored)
            n = len(chunks)
            outputs = [o for chunk_out in pool.map(_analyze_chunk, chunks, [frozen] * n, [settings] * n, [root] * n)
                       for o in chunk_out]
    else:
        settings = _with_project_wrappers(files, frozen, settings, root=root, exclude=exclude, anchored=anchored)
        outputs = [_analyze_file(f, frozen, settings, root) for f in files]
    for out in outputs:
        result.findings.extend(out.findings)
        result.notifications.extend(out.notifications)
        result.suppressed.extend(out.suppressed)
        result.lines += out.lines
    result.shrunk = {f.display: out.shrunk for f, out in zip(files, outputs) if out.shrunk}
    result.calls = {f.display: out.calls for f, out in zip(files, outputs) if f.language == "python"}
    # the facts of the modules under the root that the run does not check (a hook's run of the
    # staged files, from the repository's top); never above the root, which may be far wider
    other_shrunk, other_calls = _project_facts(files, result.findings, project or root, root, exclude, anchored,
                                               result.calls)
    result.findings = drop_bounded_elsewhere(result.findings, {**other_shrunk, **result.shrunk})
    result.findings = drop_grown_at_import(result.findings, {**other_calls, **result.calls})
    result.findings = drop_bound_to_new_arguments(result.findings, {**other_calls, **result.calls})
    result.findings = drop_owned_by_base(result.findings, root, project)
    result.paths = frozenset(f.display for f in files)
    result.findings.sort(key=Finding.sort_key)
    result.notifications.sort(key=lambda n: (n.path, n.line, n.message))
    result.suppressed.sort(key=Finding.sort_key)
    assign_fingerprints(result.findings + result.suppressed)
    return result
