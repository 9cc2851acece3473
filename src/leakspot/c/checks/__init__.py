"""C checks. The leak rules share one path analysis per function (:mod:`leakspot.c.leaks`);
each rule is an allocation family of ``allocators.toml`` whose leaks it reports.

A check module registers its code with :func:`c_check`; ``run_c_checks`` runs one analysis
per function for all enabled families and turns leak events into findings with a code flow.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from collections import ChainMap
from dataclasses import dataclass

from leakspot.c.borrows import file_borrows, is_static
from leakspot.c.borrows import solve as solve_borrows
from leakspot.c.cfg import HINTS
from leakspot.c.constants import EMPTY, Env, file_constants, file_env, project_env
from leakspot.c.leaks import (
    Analysis,
    LeakEvent,
    Module,
    analyse_function,
    reading_functions,
)
from leakspot.c.macros import family_macros, function_names, macro_asserts, macro_defs, macro_hints
from leakspot.c.parse import (
    Family,
    declared_noreturn,
    families,
    function_name,
    functions,
    parse_c,
    text,
)
from leakspot.c.summaries import (
    project_summaries,
    solve_rounds,
    tree_facts,
    with_wrappers,
)
from leakspot.config import DEFAULT, Settings
from leakspot.model import (
    Finding,
    FlowStep,
    Location,
    Notification,
    Region,
    char_column,
)
from leakspot.registry import Rule

C_CHECKS: dict[str, str] = {}  # code -> slug
#: Leak events that are reported by a rule of their own rather than by the family's rule.
EVENT_RULES = {"mismatch": "mismatched-deallocator", "overwrite": "pointer-overwritten-before-free"}
#: Checks that are not an allocation family: ``check(tree, display, lines, rule) -> findings``.
C_SYNTAX_CHECKS: dict[str, object] = {}


def c_check(code: str, slug: str, check=None) -> None:
    """Register the C rule ``code``: an allocation family of ``allocators.toml`` named by its slug
    (leak rules share one path analysis), or, with ``check``, a function run over the tree."""
    C_CHECKS[code] = slug
    if check is not None:
        C_SYNTAX_CHECKS[code] = check


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def ts_region(node, lines: list[str] | None = None) -> Region:
    """1-based region of a tree-sitter node; columns in code points when the source ``lines``
    are given (tree-sitter counts UTF-8 bytes)."""
    (sl, sc), (el, ec) = node.start_point, node.end_point
    if lines is None:
        return Region(sl + 1, sc + 1, el + 1, ec + 1)

    def line(n: int) -> str:
        return lines[n] if 0 <= n < len(lines) else ""

    return Region(sl + 1, char_column(line(sl), sc), el + 1, char_column(line(el), ec))


def run_c_checks(
    display: str, data: bytes, rules: list[Rule], settings: Settings = DEFAULT
) -> tuple[list[Finding], list[Notification]]:
    """Analyse one C file with the enabled C ``rules``; return findings and notifications.

    ``settings.allocators`` adds the user's allocator/deallocator pairs to the memory family.
    """
    _load_all()
    by_slug = {r.slug: r for r in rules if r.code in C_CHECKS}
    syntax = [r for r in rules if r.code in C_SYNTAX_CHECKS]
    # mismatches and overwrites can involve any family: all are tracked when their rules are on
    any_family = any(slug in by_slug for slug in EVENT_RULES.values())
    fams = [f for f in families() if f.rule in by_slug or any_family]
    if settings.allocators and "malloc-without-free" in by_slug:
        fams.append(user_family(settings))
    if not fams and not syntax:
        return [], []
    tree = parse_c(data)
    lines = data.decode("utf-8", "replace").split("\n")  # tree-sitter rows end at \n only
    noreturn: frozenset[str] = frozenset()
    project: CProject | None = settings.c_project  # type: ignore[assignment]
    # macros that stand for a family function: the run's (in its wrappers) and this file's own
    defs = macro_defs(data)
    macros = family_macros(defs, fams, (project.functions if project is not None else frozenset())
                           | function_names(tree.root_node)) if fams and defs else {}
    if macros:
        fams = with_wrappers(fams, macros)
    lends, lends_key = file_lends(tree.root_node, display, fams, project) if fams else ({}, None)
    defined = [(function_name(fn), fn) for fn in functions(tree.root_node)]
    if fams:
        # wrappers of the whole run (the engine's pre-pass), and this file's own: all of them
        # when the file is checked alone (an editor, a hook on one file), else its `static`
        # ones (a name that is `static` in several files has no project-wide summary)
        own_statics = {name for name, fn in defined if is_static(fn) and name in project.ambiguous} if (
            project is not None and project.ambiguous) else set()
        if project is None:
            own = project_summaries([tree], fams, lends)
        elif own_statics:
            # the run's wrappers and macros are known to this file's own static helpers too
            run_wide = with_wrappers(fams, {n: (f, r) for n, f, r in project.wrappers if r != "noreturn"})
            own = project_summaries([tree], run_wide, lends)
        if project is None:
            wrappers = {**macros, **own}
        else:
            wrappers = {name: (fam, role) for name, fam, role in project.wrappers}
            if own_statics:
                wrappers.update({n: v for n, v in own.items() if n in own_statics})
        noreturn = frozenset(n for n, (_, role) in wrappers.items() if role == "noreturn")
        if wrappers:
            fams = with_wrappers(fams, wrappers)
    # declared `noreturn`: the run's facts already hold this file's own declarations
    noreturn |= project.noreturn if project is not None else declared_noreturn(tree.root_node)
    findings: list[Finding] = []
    if syntax:
        # reallocators through macros: the run's, and this file's own
        roles = dict(macros) if fams else family_macros(defs, list(families()), function_names(tree.root_node))
        if project is not None:
            roles.update({n: (fam, role) for n, fam, role in project.wrappers if role == "realloc"})
        grow = frozenset(n for n, (_, role) in roles.items() if role == "realloc")
    for rule in syntax:
        findings.extend(C_SYNTAX_CHECKS[rule.code](tree, display, lines, rule, noreturn, grow))
    if not fams:
        return findings, []
    skipped: list[str] = []
    gave_up: list[str] = []
    env = file_env(file_constants(tree.root_node, data), project.env if project is not None else EMPTY)
    hints = macro_hints(defs, HINTS | env.hints) if defs else frozenset()
    asserts = macro_asserts(defs) if defs else frozenset()
    if hints - env.hints or asserts - env.asserts:
        env = env.merged(Env(hints=hints, asserts=asserts))
    module = Module({n: fn for n, fn in defined if n and not fn.has_error}, fams, noreturn, env, lends, lends_key)
    for name, fn in defined:
        if fn.has_error:
            if any(site_name in text(fn) for f in fams for site_name in f.allocators):
                skipped.append(name or f"line {fn.start_point[0] + 1}")
            continue
        an = analyse_function(fn, fams, module)
        if an is None:
            continue
        analyses = [an]
        if an.gave_up:
            # too many paths with every family's allocations at once: one family at a time
            # (each alone has far fewer states; mismatches are still seen)
            analyses = [a for f in sorted({s.family.name for s in an.sites})
                        if (a := analyse_function(fn, fams, module, focus=f)) is not None]
        for one in analyses:
            for event in one.events:
                if EVENT_RULES.get(event.kind, one.sites[event.site].family.rule) not in by_slug:
                    continue
                findings.append(_finding(display, lines, one, event, by_slug, name))
        if any(a.gave_up for a in analyses):
            gave_up.append(name)
    notes = []
    if skipped:
        notes.append(Notification(
            display,
            f"{len(skipped)} function(s) not analysed because tree-sitter could not parse them "
            f"(macros?): {', '.join(skipped[:5])}{'...' if len(skipped) > 5 else ''}",
            level="warning", kind="parse-error"))
    if gave_up:
        notes.append(Notification(
            display, f"too many paths to analyse in: {', '.join(gave_up[:5])}", level="warning",
            kind="analysis-limit"))
    return findings, notes


def user_family(settings: Settings) -> Family:
    """The family of the user's ``[tool.leakspot.c.allocators]`` pairs (memory, reported by
    ``malloc-without-free``)."""
    return Family("user", "malloc-without-free", "memory", frozenset(a for a, _ in settings.allocators),
                  frozenset(d for _, d in settings.allocators), frozenset())


def _all_families(settings: Settings) -> list[Family]:
    return list(families()) + ([user_family(settings)] if settings.allocators else [])


@dataclass(frozen=True)
class CProject:
    """The C facts of a whole run, for ``Settings.c_project``.

    Attributes:
        wrappers: wrapper summaries (:mod:`leakspot.c.summaries`), ``(function, family, role)``,
            sorted; role is ``"alloc"``, ``"free"`` or ``"noreturn"`` (family ``""``).
        env: the constants every file can use (:func:`leakspot.c.constants.project_env`).
    """

    wrappers: tuple[tuple[str, str, str], ...] = ()
    env: Env = EMPTY
    #: borrow summaries (:mod:`leakspot.c.borrows`) of the run's functions and prototypes:
    #: (name, the (parameter index, level) pairs it only borrows), sorted; ``static`` functions
    #: as ``"<display path>:name"``
    borrows: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()
    digest: str = ""  # names ``borrows`` in the analysis caches
    #: functions defined in several files with different wrapper facts (``static`` helpers
    #: of one name): each file works out its own
    ambiguous: frozenset[str] = frozenset()
    #: functions and function-like macros some file declares never to return
    #: (:func:`leakspot.c.parse.declared_noreturn`)
    noreturn: frozenset[str] = frozenset()
    #: every function some file of the run defines or declares (a macro of such a name is
    #: not taken for a family function: :mod:`leakspot.c.macros`)
    functions: frozenset[str] = frozenset()


#: Files whose macros every file of the run sees (:func:`file_facts`).
HEADER_SUFFIXES = (".h", ".hh", ".hpp", ".hxx", ".inc", ".def")


def _releasers(fams: list[Family]) -> frozenset[str]:
    return frozenset().union(*(f.deallocators | f.reallocators for f in fams))


def file_facts(data: bytes, settings: Settings = DEFAULT, display: str = ""):
    """One C file's share of the project facts: ``(wrapper facts, later, constants, borrows,
    declared noreturn, macro definitions of a header, functions defined or declared)`` (:func:`leakspot.c.summaries.tree_facts`,
    :func:`leakspot.c.constants.file_constants`, :func:`leakspot.c.borrows.file_borrows`,
    :func:`leakspot.c.parse.declared_noreturn`, :func:`leakspot.c.macros.macro_defs`,
    :func:`leakspot.c.macros.function_names`;
    ``display`` names the file's ``static`` functions); picklable, computed in worker
    processes."""
    root = parse_c(data).root_node
    fams = _all_families(settings)
    defs = macro_defs(data)
    named = function_names(root)
    roles = family_macros(defs, fams, named)
    known = with_wrappers(fams, roles) if roles else fams
    # a header's macros are the run's; a source file's are its own (`#define xzalloc(s)
    # calloc(s, 1)` in one file's test harness says nothing of the other files' `xzalloc`)
    shared = defs if display.endswith(HEADER_SUFFIXES) else ()
    return (*tree_facts(root, known), file_constants(root, data), file_borrows(root, display, _releasers(fams)),
            declared_noreturn(root), shared, named)


def project_facts(gathered: list, settings: Settings = DEFAULT, written: frozenset[str] = frozenset()) -> CProject:
    """The :class:`CProject` of a run from the :func:`file_facts` of every C file in it, and the
    :func:`leakspot.c.constants.candidates` that some file writes (``written``)."""
    lends = solve_borrows([g[3] for g in gathered], reading_functions())
    ambiguous: set[str] = set()
    fams = _all_families(settings)
    defs = [d for g in gathered for d in g[5]]
    named = frozenset().union(*(g[6] for g in gathered))
    macros = family_macros(defs, fams, named)
    found = solve_rounds([(g[0], g[1]) for g in gathered], with_wrappers(fams, macros), lends, ambiguous,
                         seed=macros)
    found = {**macros, **found}  # the macros are wrappers too (no function of the run has their names)
    wrappers = tuple(sorted((name, fam, role) for name, (fam, role) in found.items()))
    borrows = tuple(sorted((n, tuple(sorted(k))) for n, k in lends.items() if k))
    digest = hashlib.blake2b(repr(borrows).encode(), digest_size=16).hexdigest()
    env = project_env([g[2] for g in gathered], written)
    hints, asserts = macro_hints(defs, HINTS), macro_asserts(defs)
    if hints or asserts:
        env = env.merged(Env(hints=hints, asserts=asserts))
    return CProject(wrappers, env, borrows, digest,
                    frozenset(ambiguous), frozenset().union(*(g[4] for g in gathered)), named)


_TABLES: dict[int, tuple[CProject, dict, dict]] = {}


def _lend_tables(project: CProject) -> tuple[dict, dict]:
    """``project.borrows`` as ``({name: keys}, {display: {static name: keys}})``, built once
    per process for each project."""
    got = _TABLES.get(id(project))
    if got is None or got[0] is not project:
        public: dict[str, frozenset] = {}
        statics: dict[str, dict[str, frozenset]] = {}
        for name, keys in project.borrows:
            where, sep, plain = name.rpartition(":")
            if sep:
                statics.setdefault(where, {})[plain] = frozenset(keys)
            else:
                public[name] = frozenset(keys)
        _TABLES.clear()
        got = _TABLES[id(project)] = (project, public, statics)
    return got[1], got[2]


def file_lends(root, display: str, fams: list[Family], project: CProject | None):
    """The borrow summaries one file's analysis uses, and a key naming them for the caches:
    the run's (``project``, this file's ``static`` functions by their plain name) when a
    whole-project pass ran, else the file's own functions' and prototypes'."""
    if project is not None:
        public, statics = _lend_tables(project)
        own = statics.get(display, {})
        return ChainMap(own, public), (project.digest, frozenset(own.items()))
    found = solve_borrows([file_borrows(root, display, _releasers(fams))], reading_functions())
    prefix = f"{display}:"
    lends = {(n[len(prefix):] if n.startswith(prefix) else n): k for n, k in found.items() if k}
    return lends, frozenset(lends.items())


def _finding(display, lines, an: Analysis, event: LeakEvent, by_slug, fn_name) -> Finding:
    site = an.sites[event.site]
    rule = by_slug[EVENT_RULES.get(event.kind, site.family.rule)]
    cfg_node = an.cfg.nodes[event.node]
    holders = event.holders
    var = f"`{holders[0].removeprefix('::')}`" if holders else "the result"
    if event.kind == "mismatch":
        # the family's own functions, not the run's wrappers and macros of them
        base = next((f for f in families() if f.name == site.family.name), site.family)
        names = sorted(d for d in base.deallocators if not d.startswith("_")) or sorted(base.deallocators)
        expected = " or ".join(f"`{d}()`" for d in names[:2])
        where_node = cfg_node.ts
        exit_msg = f"`{event.releaser}()` is called on it here"
        detail = f"`{event.releaser}()` on line {where_node.start_point[0] + 1} releases it, but it needs {expected}"
    elif event.kind == "return":
        where_node = cfg_node.ts
        exit_msg = f"{var} still holds the {site.family.what} at this return"
        detail = f"{var} is not released on the path to the return on line {where_node.start_point[0] + 1}"
    elif event.kind == "end":
        where_node = cfg_node.ts  # the function body: point at its closing brace
        where_node = where_node.children[-1] if where_node is not None and where_node.children else where_node
        exit_msg = f"{var} still holds the {site.family.what} when `{fn_name}` ends"
        detail = f"{var} is not released on the path to the end of `{fn_name}`"
    elif event.kind == "overwrite":
        where_node = cfg_node.ts
        exit_msg = f"{var} is overwritten here while it holds the only reference"
        detail = f"{var} is overwritten on line {where_node.start_point[0] + 1} while it holds the only reference"
    else:
        where_node = cfg_node.ts
        exit_msg = "the result is discarded here"
        detail = "the result is discarded without being released"
    exit_loc = Location(display, ts_region(where_node, lines), exit_msg)
    flow = [FlowStep(Location(display, ts_region(site.node, lines), f"{site.family.what} allocated by `{site.callee}()`"), "acquire")]
    for node_id, label in an.path(event):
        node = an.cfg.nodes[node_id]
        if node.kind == "cond" and label in ("true", "false"):
            flow.append(FlowStep(Location(display, ts_region(node.ts, lines), f"`{text(node.ts)}` is {label}"), "branch"))
        elif node.kind == "pp":
            if node.ts.type == "identifier":
                said = f"`{text(node.ts)}` is {'defined' if label == 'true' else 'not defined'}"
            else:
                said = f"`{text(node.ts)}` is {label}"
            flow.append(FlowStep(Location(display, ts_region(node.ts, lines), said), "branch"))
        elif node.kind == "stmt" and (label.startswith("case") or label in ("default", "no case")) and node.ts is not None:
            taken = {"default": ": `default`", "no case": ": no case matches"}.get(label, f": `{label}`" if label != "case" else "")
            tested = node.ts.named_children[0] if node.ts.type == "parenthesized_expression" and node.ts.named_children else node.ts
            flow.append(FlowStep(Location(display, ts_region(node.ts, lines), f"switch on `{text(tested)}`{taken}"), "branch"))
    flow.append(FlowStep(exit_loc, "exit"))
    line_no = site.node.start_point[0]
    return Finding(
        code=rule.code,
        slug=rule.slug,
        location=Location(display, ts_region(site.node, lines)),
        message=rule.message.format(callee=site.callee, detail=detail, what=site.family.what),
        related=[exit_loc],
        flow=flow,
        function=fn_name,
        anchor=lines[line_no].strip() if line_no < len(lines) else "",
    )
