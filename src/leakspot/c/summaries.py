"""Allocation and deallocation wrappers, found across a project's C files.

A *wrapper summary* says what a function does with a family's resource, so that the path
analysis of its callers (:mod:`leakspot.c.leaks`) can treat a call to it like a call to the
family's own allocator or deallocator:

- ``alloc``: every ``return`` of the function returns ``NULL``/``0``, the result of a call to an
  allocator of the family (or of another ``alloc`` wrapper of it), or a local variable that holds
  such a result and is never freed, stored, or passed to a call that is not a known borrower
  (``xmalloc``, ``str_dup``, ``open_log`` returning ``fopen(...)``);
- ``free``: the function passes its first parameter to a deallocator of the family (or another
  ``free`` wrapper of it) (``my_free``, ``buffer_destroy`` that frees the fields, then the
  buffer);
- ``noreturn`` (family ``""``): the function has no ``return`` and its body ends by calling a
  function that never returns (``void die(...) { ...; exit(1); }``), so a caller's path ends there.

Summaries are computed bottom-up over the call graph of every function defined in the files of
the run (networkx: the condensation of the strongly connected components, callees first; inside
a component of mutually recursive functions, iterated to a fixpoint). A name defined in several
files with different summaries (two ``static`` helpers) gets none. The analysis is syntactic on
each function: it does not follow paths (the path-sensitive analysis of the caller does that).

Reference: the bottom-up summary scheme of Cousot & Cousot, "Modular static program analysis"
(CC 2002), restricted to these three facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leakspot.c.cfg import NORETURN
from leakspot.c.leaks import parameters, reading_functions
from leakspot.c.parse import Family, Node, function_name, functions, operator_of, text, unwrap

NULLS = frozenset({"NULL", "0", "nullptr"})


@dataclass
class Facts:
    """What the summary needs to know about one function definition.

    Attributes:
        returns: one entry per ``return``: ``("null", "")``, ``("call", callee)`` (the result of
            that call, directly or through an unshared local) or ``("other", "")``.
        frees_first: callees that the first parameter is passed to as their first argument.
        calls: every callee name (the call graph's edges).
        lent: (callee, argument index) pairs a returned local is passed to before the return
            (a wrapper only if each of them only borrows it).
    """

    returns: list[tuple[str, str]] = field(default_factory=list)
    frees_first: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)
    lent: set[tuple[str, int]] = field(default_factory=set)
    ends_with: str = ""  # without any `return`: the function its body's last statement calls


def function_facts(root: Node, names: re.Pattern, later: list[bytes] | None = None) -> dict[str, Facts]:
    """The :class:`Facts` of the functions defined in a parsed C file (``root``: the tree's root
    node) whose text mentions one of ``names`` (a regex of allocator and deallocator names: no
    other function can be a wrapper), by name. Functions with a parse error are left out
    (unknown, not guessed); the text of the others goes to ``later``, when given, for a further
    round once new wrapper names are known."""
    out: dict[str, Facts] = {}
    for fn in functions(root):
        if fn.has_error:
            continue
        body = fn.text or b""
        if not names.search(body):
            if later is not None:
                later.append(body)
            continue
        name = function_name(fn)
        if name:
            out[name] = _facts(fn)
    return out


def summary_names(families: list[Family]) -> set[str]:
    """The names a function must mention to possibly get a summary: the families' allocators
    and deallocators, and the functions that never return."""
    return {n for f in families for n in f.allocators | f.deallocators} | set(NORETURN)


def names_pattern(names) -> re.Pattern:
    """A bytes regex matching any of ``names`` as a whole identifier."""
    alternatives = b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True))
    return re.compile(rb"\b(?:" + alternatives + rb")\b" if alternatives else rb"(?!)")


def tree_facts(root: Node, families: list[Family]) -> tuple[dict[str, Facts], list[bytes]]:
    """One parsed file's share of the summaries: ``(facts, later)`` of :func:`function_facts`
    with the families' own names (picklable: computed in worker processes)."""
    later: list[bytes] = []
    return function_facts(root, names_pattern(summary_names(families)), later), later


def project_summaries(trees, families: list[Family], lends=None) -> dict[str, tuple[str, str]]:
    """Wrapper summaries over the parsed files ``trees`` (tree-sitter trees), with the borrow
    summaries ``lends`` (see :func:`solve`)."""
    return solve_rounds([tree_facts(t.root_node, families) for t in trees], families, lends)


def solve_rounds(gathered: list[tuple[dict[str, Facts], list[bytes]]], families: list[Family],
                 lends=None, dropped: set[str] | None = None, seed=()) -> dict[str, tuple[str, str]]:
    """Wrapper summaries from each file's ``(facts, later)`` (:func:`function_facts` with the
    families' own names): :func:`solve`, then rounds that look again at the functions that
    mention a wrapper found in the previous round (in the first round, also those that mention
    a name of ``seed``: names added to ``families`` that the files did not all know, such as
    the run's macros), until no new wrapper appears."""
    from leakspot.c.parse import parse_c

    facts = merge([f for f, _ in gathered], dropped)
    later = [b for _, rest in gathered for b in rest]
    wrappers = solve(facts, families, lends)
    new = set(wrappers) | set(seed)
    while new and later:
        pattern = names_pattern(new)
        pending = [b for b in later if pattern.search(b)]
        if not pending:
            break
        later = [b for b in later if not pattern.search(b)]
        facts = merge([facts, *(function_facts(parse_c(b).root_node, pattern) for b in pending)], dropped)
        before = set(wrappers)
        wrappers = solve(facts, families, lends)
        new = set(wrappers) - before
    return wrappers


def _facts(fn: Node) -> Facts:
    facts = Facts()
    params = [p for p, _ in parameters(fn)]
    first = params[0] if params else None
    body = fn.child_by_field_name("body")
    calls: list[Node] = []
    returns: list[Node] = []
    stack = [body] if body is not None else []
    while stack:
        n = stack.pop()
        if n.type == "call_expression":
            calls.append(n)
        elif n.type == "return_statement":
            returns.append(n)
        stack.extend(n.named_children)
    for call in calls:
        callee = text(call.child_by_field_name("function"))
        facts.calls.add(callee)
        args = call.child_by_field_name("arguments")
        a0 = unwrap(args.named_children[0]) if args is not None and args.named_children else None
        if first and a0 is not None and a0.type == "identifier" and text(a0) == first:
            facts.frees_first.add(callee)
    for ret in returns:
        value = unwrap(ret.named_children[0]) if ret.named_children else None
        if value is not None and value.type == "identifier" and text(value) in params \
                and not _overwritten_before(body, text(value), ret):
            # `if (cq == NULL) cq = calloc(...); return cq;`: a caller's object comes back too
            facts.returns.append(("other", ""))
            continue
        facts.returns.append(_returned(value, body, calls, facts.lent))
    stmts = [c for c in body.named_children if c.type != "comment"] if body is not None else []
    if not returns and stmts and stmts[-1].type == "expression_statement" and stmts[-1].named_children:
        last = unwrap(stmts[-1].named_children[0])
        if last is not None and last.type == "call_expression":
            facts.ends_with = text(last.child_by_field_name("function"))
    return facts


def _overwritten_before(body: Node | None, param: str, ret: Node) -> bool:
    """Is the parameter ``param`` given the result of a call by a statement of the function's
    own body (not under a branch or loop) that comes before ``ret``, with no label above
    that statement to jump back to? Then ``ret`` cannot return the caller's value:
    ``char *badSource(char *data) { data = malloc(100); ...; return data; }``, the shape of
    the Juliet test suite's flow variants 42 and 61 (NIST SARD, CWE-401)."""
    if body is None:
        return False
    for stmt in body.named_children:
        if stmt.start_byte >= ret.start_byte or stmt.type == "labeled_statement":
            return False
        if stmt.type != "expression_statement" or not stmt.named_children:
            continue
        e = unwrap(stmt.named_children[0])
        if e is not None and e.type == "assignment_expression" and operator_of(e) == "=" \
                and text(e.child_by_field_name("left")) == param:
            right = unwrap(e.child_by_field_name("right"))
            if right is not None and right.type == "call_expression":
                return True
    return False


def _failure_value(n: Node | None) -> bool:
    """``NULL``, ``0`` or ``-1``: what an allocation wrapper returns, or starts with, on failure."""
    if n is None:
        return False
    t = "".join(text(n).split())
    return t in NULLS or t in ("-1", "(-1)")


def _returned(value: Node | None, body: Node, calls: list[Node], lent: set[tuple[str, int]]) -> tuple[str, str]:
    if value is None:
        return ("other", "")
    if text(value) in NULLS:
        return ("null", "")
    if text(value) in ("-1", "(-1)") or (value.type == "unary_expression" and text(value).replace(" ", "") == "-1"):
        return ("negative", "")
    if value.type == "call_expression":
        return ("call", text(value.child_by_field_name("function")))
    if value.type != "identifier":
        return ("other", "")
    var = text(value)
    # every assignment to `var` is `var = callee(...)` of one callee, and `var` is not shared
    sources: set[str] = set()
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type == "assignment_expression" and text(n.child_by_field_name("left")) == var:
            right = unwrap(n.child_by_field_name("right"))
            if right is None or right.type != "call_expression":
                if not _failure_value(right):
                    return ("other", "")
            else:
                sources.add(text(right.child_by_field_name("function")))
        elif n.type == "init_declarator" and text(_declared(n)) == var:
            right = unwrap(n.child_by_field_name("value"))
            if right is not None and right.type == "call_expression":
                sources.add(text(right.child_by_field_name("function")))
            elif right is not None and not _failure_value(right):
                return ("other", "")
        elif n.type == "assignment_expression" and unwrap(n.child_by_field_name("right")) is not None \
                and _names(unwrap(n.child_by_field_name("right")), var):
            return ("other", "")  # stored somewhere: `g = p`, `o->buf = p`
        stack.extend(n.named_children)
    if len(sources) != 1:
        return ("other", "")
    source = next(iter(sources))
    for call in calls:
        callee = text(call.child_by_field_name("function"))
        if callee == source or callee in reading_functions():
            continue
        args = call.child_by_field_name("arguments")
        named = [a for a in args.named_children if a.type != "comment"] if args is not None else []
        for i, a in enumerate(named):
            if _names(a, var) or _points_into(a, var):
                lent.add((callee, i))  # handed on: a wrapper only if that callee only borrows it
    return ("call", source)


def _declared(init: Node) -> Node | None:
    d = init.child_by_field_name("declarator")
    while d is not None and d.type != "identifier":
        d = d.child_by_field_name("declarator")
    return d


def _names(n: Node, var: str) -> bool:
    """Does expression ``n`` evaluate to ``var`` itself (not ``var->field`` or ``*var``)?"""
    n = unwrap(n)
    return n is not None and n.type == "identifier" and text(n) == var


def _points_into(n: Node, var: str) -> bool:
    """Is ``n`` a pointer into the object ``var`` points to: ``&var->field``, ``&var[i]``,
    ``var + k`` (``hlist_add_head(&cg->node, head)`` links the whole object)?"""
    n = unwrap(n)
    if n is None:
        return False
    if n.type == "binary_expression" and text(n.child_by_field_name("operator")) in ("+", "-"):
        return _names(n.child_by_field_name("left"), var)
    if n.type != "pointer_expression" or not text(n).lstrip().startswith("&"):
        return False
    inner = unwrap(n.child_by_field_name("argument"))
    while inner is not None and inner.type in ("field_expression", "subscript_expression"):
        base = inner.child_by_field_name("argument")
        if inner.type == "field_expression" and _names(base, var):
            return text(inner.child_by_field_name("operator")) == "->"
        if inner.type == "subscript_expression" and _names(base, var):
            return True
        inner = unwrap(base)
    return False


def solve(facts: dict[str, Facts], families: list[Family], lends=None) -> dict[str, tuple[str, str]]:
    """Wrapper summaries for ``facts`` (all functions of the run, by name); ``lends``: the borrow
    summaries (:mod:`leakspot.c.borrows`, name -> borrowed (index, level) pairs).

    Returns:
        ``{function name: (family name, "alloc" | "free")}`` for the wrappers found; functions
        that are a family's own allocators or deallocators are not summarised.
    """
    import networkx as nx

    known = {n for f in families for n in f.allocators | f.deallocators}
    graph = nx.DiGraph()
    for name, f in facts.items():
        graph.add_node(name)
        for callee in f.calls:
            if callee in facts:
                graph.add_edge(name, callee)
    condensed = nx.condensation(graph)
    result: dict[str, tuple[str, str]] = {}
    for comp in reversed(list(nx.topological_sort(condensed))):
        members = [m for m in condensed.nodes[comp]["members"] if m not in known]
        changed = True
        while changed:  # a component of mutual recursion: iterate until nothing new is learnt
            changed = False
            for name in members:
                if name in result:
                    continue
                summary = _summarise(facts[name], families, result, lends or {})
                if summary is not None:
                    result[name] = summary
                    changed = True
    return result


def _summarise(f: Facts, families: list[Family], known: dict[str, tuple[str, str]], lends):
    readers = reading_functions()
    if f.lent and not all(callee in readers or (i, 0) in lends.get(callee, ()) for callee, i in f.lent):
        lent_ok = False
    else:
        lent_ok = True
    if f.ends_with and (f.ends_with in NORETURN or known.get(f.ends_with) == ("", "noreturn")):
        return ("", "noreturn")  # `void die(...) { ...; exit(1); }`: no path returns
    for fam in families:
        def allocates(callee: str) -> bool:
            # a reallocator returns its argument grown, not a fresh resource of this function
            return (callee in fam.allocators and callee not in fam.reallocators
                    and callee not in fam.reopeners) or known.get(callee) == (
                fam.name, "alloc")

        def frees(callee: str) -> bool:
            return callee in fam.deallocators or known.get(callee) == (fam.name, "free")

        calls = [c for kind, c in f.returns if kind == "call"]
        failure = "null" if fam.invalid == "null" else "negative"
        if lent_ok and calls and all(kind == failure or (kind == "call" and allocates(c)) for kind, c in f.returns):
            return (fam.name, "alloc")
        if any(frees(c) for c in f.frees_first):
            return (fam.name, "free")
    return None


def merge(per_file: list[dict[str, Facts]], dropped: set[str] | None = None) -> dict[str, Facts]:
    """Join the facts of several files; a name defined in more than one file keeps only the
    definitions' common facts when they agree, and is dropped otherwise (and added to
    ``dropped``, when given)."""
    out: dict[str, Facts] = {}
    dropped = set() if dropped is None else dropped
    for facts in per_file:
        for name, f in facts.items():
            if name in dropped:
                continue
            if name in out and (out[name].returns != f.returns or out[name].frees_first != f.frees_first
                                or out[name].ends_with != f.ends_with or out[name].lent != f.lent):
                del out[name]
                dropped.add(name)
                continue
            out[name] = f
    return out


def with_wrappers(families: list[Family], wrappers: dict[str, tuple[str, str]]) -> list[Family]:
    """The families with each wrapper added to its family's allocators or deallocators (role
    ``"alloc"`` or ``"free"``), or to its reallocators (``"realloc"``: macros that stand for one,
    :mod:`leakspot.c.macros`)."""
    from dataclasses import replace

    out = []
    for fam in families:
        alloc = {n for n, (fname, role) in wrappers.items() if fname == fam.name and role in ("alloc", "realloc")}
        free = {n for n, (fname, role) in wrappers.items() if fname == fam.name and role == "free"}
        grow = {n for n, (fname, role) in wrappers.items() if fname == fam.name and role == "realloc"}
        out.append(replace(fam, allocators=fam.allocators | alloc, deallocators=fam.deallocators | free,
                           reallocators=fam.reallocators | grow)
                   if alloc or free else fam)
    return out
