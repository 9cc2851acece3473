"""Macros that stand for an allocator or a deallocator.

tree-sitter parses unpreprocessed code, so a macro call is a call to the macro's name. A macro
is treated like the family function it stands for when its definition is one of these shapes:

- a rename: ``#define OPEN open``, ``#define xfree free`` (object-like, one identifier);
- a body that is one call to an allocator, under casts and parentheses:
  ``#define NEW(T) ((T *)malloc(sizeof(T)))``;
- a body that hands its first parameter to a deallocator:
  ``#define FREE(p) do { free(p); (p) = NULL; } while (0)``;
- a body that is one call to a reallocator with the first parameter as its first argument:
  ``#define GROW(p, n) realloc(p, n)``;
- any of these through another such macro (``#define ALLOC MALLOC``).

A source file's macros count in that file; a header's count in every file of the run
(macros are not scoped by ``#include`` here: the union of the run's headers is the
approximation, as for the run's constants in :mod:`leakspot.c.constants`). A name gets a role
only when:

- all its definitions agree (``#ifdef _WIN32 / #define OPEN _open / #else / #define OPEN
  open`` does; ``#define alloca __builtin_alloca`` beside ``#define alloca malloc`` does not);
- the run declares or defines no function of that name (:func:`family_macros`): such a macro
  is a build's alternative to the function, as busybox's test harness ``#define xrealloc
  realloc`` is to libbb's ``xrealloc()`` that never fails, and the function's summary holds;
- it is not a family function itself (``#define free my_free`` leaves ``free`` as it is).

Two more kinds of macro change how a path is read:

- a **branch hint** (:func:`macro_hints`): every definition is its first parameter or a hint
  on it (``#define __glibc_unlikely(cond) __builtin_expect((cond), 0)``, ``#define
  unlikely(x) (x)``), so ``if (unlikely(p == NULL))`` tests ``p == NULL``;
- an **assertion** (:func:`macro_asserts`): a definition ends the process unless its first
  parameter is true (gnulib's ``ASSERT``), the others do too or do nothing, so a path goes on
  after ``ASSERT(x)`` only where ``x`` holds, as after ``assert(x)``.

The facts are syntactic, per definition (:func:`macro_defs`, picklable), and resolved against
the families once per run (:func:`macro_roles`); the roles are wrapper summaries
(:mod:`leakspot.c.summaries`) with the same meaning.
"""

from __future__ import annotations

import re

from leakspot.c.cfg import NORETURN
from leakspot.c.constants import top_level
from leakspot.c.parse import (
    Family,
    declarator_name,
    descendants,
    function_name,
    operator_of,
    parse_c,
    text,
    unwrap,
)

#: ``#define NAME`` or ``#define NAME(params)``, and the rest of its logical line.
_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(\([^)\n]*\))?((?:\\\r?\n|[^\n])*)", re.MULTILINE)
_COMMENTS = re.compile(rb"/\*.*?\*/|//[^\n]*", re.DOTALL)
_IDENT = re.compile(rb"\(*\s*([A-Za-z_]\w*)\s*\)*")
#: (macro name, the callee its whole body is a call of ("" when it is not one), whether that
#: call's first argument is the macro's first parameter, the callees the first parameter is
#: handed to as their first argument, the body's shape: "identity" (the first parameter
#: itself), "assert" (ends the process unless the first parameter is true), "noop" (nothing,
#: ``((void)0)``) or "")
MacroDef = tuple[str, str, bool, tuple[str, ...], str]
#: Bodies that do nothing (an assertion macro under ``NDEBUG``), spaces removed.
_NOOPS = frozenset({b"", b"(void)0", b"((void)0)", b"((void)(0))", b"do{}while(0)", b"0", b"((void)sizeof(0))"})


def macro_defs(data: bytes) -> tuple[MacroDef, ...]:
    """The definitions of one file's macros that may stand for a family function (see the
    module's docstring), in source order; ``data`` is the file's bytes (read as text, also
    inside regions tree-sitter cannot parse). Never raises."""
    out: list[MacroDef] = []
    for m in _DEFINE.finditer(data):
        name = m.group(1).decode("ascii")
        body = _COMMENTS.sub(b" ", m.group(3).replace(b"\\\r\n", b" ").replace(b"\\\n", b" ")).strip()
        if not body and m.group(2) is None:
            continue
        if m.group(2) is None:
            ident = _IDENT.fullmatch(body)
            if ident is not None:  # a rename: a call to it is a call to the target
                target = ident.group(1).decode("ascii")
                out.append((name, target, True, (target,), ""))
            continue
        params = [p.strip() for p in m.group(2)[1:-1].decode("ascii", "replace").split(",")]
        first = params[0] if params and params[0] and params[0] != "..." else ""
        got = _body_facts(body, first)
        if got is not None:
            out.append((name, *got))
    return tuple(out)


def _body_facts(body: bytes, first: str) -> tuple[str, bool, tuple[str, ...], str] | None:
    if len(body) > 2000:
        return None
    if re.sub(rb"\s+", b"", body) in _NOOPS:
        return "", False, (), "noop"
    ident = _IDENT.fullmatch(body)
    if ident is not None:
        # `#define unlikely(x) (x)`: the value of its argument
        return ("", False, (), "identity") if first and ident.group(1).decode("ascii") == first else None
    # `#x` (stringification) and `a ## b` (pasting) are not C: a string and one identifier
    body = re.sub(rb"#\s*([A-Za-z_]\w*)", rb'"\1"', re.sub(rb"\s*##\s*", b"", body))
    tree = parse_c(b"void __leakspot_macro(void) {\n" + body + b"\n;}\n")
    root = tree.root_node
    if root.has_error:
        return None
    fn = root.named_children[0] if root.named_children else None
    block = fn.child_by_field_name("body") if fn is not None else None
    if block is None:
        return None
    calls = list(descendants(block, "call_expression"))
    if not calls:
        return None
    whole, whole_first = "", False
    stmts = [s for s in block.named_children if s.type not in ("comment", "expression_statement") or s.named_children]
    if len(stmts) == 1 and stmts[0].type == "expression_statement":
        value = unwrap(stmts[0].named_children[0])
        if value is not None and value.type == "call_expression":
            callee = value.child_by_field_name("function")
            if callee is not None and callee.type == "identifier":
                whole = text(callee)
                whole_first = bool(first) and _first_arg(value) == first
    frees = tuple(dict.fromkeys(
        text(c.child_by_field_name("function")) for c in calls
        if first and _first_arg(c) == first and c.child_by_field_name("function").type == "identifier"))
    shape = "assert" if first and _asserts(block, first) else ""
    if not whole and not frees and not shape:
        return None
    return whole, whole_first, frees, shape


def _asserts(block, first: str) -> bool:
    """Does the macro body ``block`` end the process when its first parameter is false: an
    ``if (!(x))`` whose branch calls ``abort()``, ``exit()``... (gnulib's ``ASSERT``), or ``(x) ?
    (void)0 : abort()``?"""
    for n in descendants(block, "if_statement"):
        cond = unwrap(n.child_by_field_name("condition"))
        while cond is not None and cond.type == "condition_clause":
            cond = unwrap(cond.named_children[0]) if cond.named_children else None
        if cond is not None and cond.type == "unary_expression" and operator_of(cond) == "!" \
                and text(unwrap(cond.child_by_field_name("argument"))) == first \
                and _ends_process(n.child_by_field_name("consequence")):
            return True
    for n in descendants(block, "conditional_expression"):
        if text(unwrap(n.child_by_field_name("condition"))) == first and _ends_process(n.child_by_field_name("alternative")):
            return True
    return False


def _ends_process(n) -> bool:
    return n is not None and any(text(c.child_by_field_name("function")) in NORETURN
                                 for c in descendants(n, "call_expression"))


def _by_name(defs) -> dict[str, list[MacroDef]]:
    """``defs`` (:func:`macro_defs`, of one or more files) grouped by macro name."""
    out: dict[str, list[MacroDef]] = {}
    for d in defs:
        out.setdefault(d[0], []).append(d)
    return out


def _first_arg(call) -> str:
    args = call.child_by_field_name("arguments")
    a0 = unwrap(args.named_children[0]) if args is not None and args.named_children else None
    return text(a0) if a0 is not None and a0.type == "identifier" else ""


def macro_roles(defs, families: list[Family]) -> dict[str, tuple[str, str]]:
    """The macros of ``defs`` (:func:`macro_defs` of one or more files, concatenated) that stand
    for a function of ``families``: ``{macro: (family name, "alloc" | "free" | "realloc")}``."""
    by_name = _by_name(defs)
    own = {n for f in families for n in f.allocators | f.deallocators | f.reallocators}
    roles: dict[str, tuple[str, str]] = {}

    def role_of(name: str, want: str) -> str:
        """The family of which ``name`` is a ``want`` ("alloc", "free", "realloc"), or ""."""
        if name in roles:
            fam, role = roles[name]
            return fam if role == want else ""
        for f in families:
            if want == "alloc" and name in f.allocators and name not in f.reallocators | f.reopeners:
                return f.name
            if want == "free" and name in f.deallocators:
                return f.name
            if want == "realloc" and name in f.reallocators:
                return f.name
        return ""

    for _ in range(len(by_name) + 1):  # a chain of renames resolves in as many rounds as links
        changed = False
        for name, found in by_name.items():
            if name in own or name in roles:
                continue
            cands: list[tuple[str, str] | None] = []
            for _, whole, whole_first, frees, _shape in found:
                got = None
                if whole and (fam := role_of(whole, "alloc")):
                    got = (fam, "alloc")
                elif whole and whole_first and (fam := role_of(whole, "realloc")):
                    got = (fam, "realloc")
                else:
                    freed = {fam for callee in frees if (fam := role_of(callee, "free"))}
                    if len(freed) == 1:
                        got = (freed.pop(), "free")
                cands.append(got)
            if cands and cands[0] is not None and all(c == cands[0] for c in cands):
                roles[name] = cands[0]
                changed = True
        if not changed:
            break
    return roles


def macro_hints(defs, known: frozenset[str]) -> frozenset[str]:
    """The macros of ``defs`` (:func:`macro_defs`) whose every definition is its first parameter
    itself or a call of a branch hint (``known``, or another such macro) with the first parameter
    as the call's first argument: they evaluate to that argument."""
    by_name = _by_name(defs)
    hints: set[str] = set()
    for _ in range(len(by_name) + 1):
        new = {name for name, found in by_name.items() if name not in hints and all(
            shape == "identity" or (whole_first and (whole in known or whole in hints))
            for _, whole, whole_first, _, shape in found)}
        if not new:
            break
        hints |= new
    return frozenset(hints)


def function_names(root) -> frozenset[str]:
    """The names of the functions a parsed file (``root``: its tree's root) defines or declares
    at file scope (prototypes included)."""
    out: set[str] = set()
    for n in top_level(root):
        if n.type == "function_definition":
            out.add(function_name(n))
        elif n.type == "declaration":
            for d in n.children_by_field_name("declarator"):
                while d is not None and d.type in ("pointer_declarator", "parenthesized_declarator"):
                    d = d.child_by_field_name("declarator") or (d.named_children[0] if d.named_children else None)
                if d is not None and d.type == "function_declarator":
                    out.add(declarator_name(d.child_by_field_name("declarator")))
    out.discard("")
    return frozenset(out)


def family_macros(defs, families: list[Family], functions: frozenset[str]) -> dict[str, tuple[str, str]]:
    """:func:`macro_roles` less the names of ``functions`` (those the run defines or declares,
    :func:`function_names`): a macro beside a function of its name is a build's alternative."""
    if not defs:
        return {}
    return {n: r for n, r in macro_roles(defs, families).items() if n not in functions}


def macro_asserts(defs) -> frozenset[str]:
    """The macros of ``defs`` (:func:`macro_defs`) that are assertions: one definition at least
    ends the process unless its first parameter is true (gnulib's ``ASSERT(expr)``), and every
    other one does too or does nothing (the ``NDEBUG`` build, as for ``assert``)."""
    shapes = {name: {d[4] for d in found} for name, found in _by_name(defs).items()}
    return frozenset(n for n, got in shapes.items() if "assert" in got and got <= {"assert", "noop"})
