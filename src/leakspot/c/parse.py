"""C front end: tree-sitter with the maintained ``tree-sitter-c`` grammar.

tree-sitter parses unpreprocessed code: ``#ifdef`` branches appear as nodes, and macros it
cannot make sense of become ``ERROR`` nodes. A function whose subtree has an error is treated
as unknown (not analysed) rather than guessed at.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

import tree_sitter
import tree_sitter_c

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
from dataclasses import dataclass
from importlib import resources

Node = tree_sitter.Node


@lru_cache(maxsize=1)
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_c.language()))


def parse_c(data: bytes) -> tree_sitter.Tree:
    """Parse C source bytes. Never raises for bad input: errors become ``ERROR`` nodes."""
    return _parser().parse(data)


def text(node: Node | None) -> str:
    """The source text of ``node`` ("" for None)."""
    if node is None:
        return ""
    data = node.text
    return data.decode("utf-8", "replace") if data is not None else ""


def operator_of(node: Node | None) -> str:
    """The operator of an expression node (``+=``, ``==``, ``!``, ``->``...; "" when it has
    none): the type of its anonymous ``operator`` child is the operator's text."""
    if node is None:
        return ""
    c = node.child_by_field_name("operator")
    return c.type if c is not None else ""


def unwrap(n: Node | None) -> Node | None:
    """``n`` without surrounding parentheses and casts: ``((char *)(p))`` -> ``p``."""
    while n is not None and n.type in ("parenthesized_expression", "cast_expression"):
        if n.type == "cast_expression":
            n = n.child_by_field_name("value")
        else:
            inner = [c for c in n.named_children if c.type != "comment"]
            n = inner[0] if inner else None
    return n


def descendants(root: Node, kind: str):
    """The nodes of type ``kind`` in the subtree of ``root`` (itself included), outermost first
    along each branch."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == kind:
            yield n
        stack.extend(n.named_children)


def functions(root: Node):
    """Every ``function_definition`` in the tree, in source order (inside ``#if`` blocks too,
    but not in the side of ``#if 0``/``#if 1`` that is never compiled)."""
    stack = [root]
    out = []
    while stack:
        n = stack.pop()
        if n.type == "function_definition":
            out.append(n)
            continue
        if n is root or n.type in FUNCTION_CONTAINERS:
            stack.extend(reversed(live_children(n)))  # not into declarations: data tables can be huge
    return out


def live_children(n: Node) -> list[Node]:
    """The children of ``n`` that may be compiled: for ``#if 0`` only its ``#else``/``#elif``
    side, for ``#if 1`` (any nonzero literal) all but that side; every child otherwise."""
    if n.type not in ("preproc_if", "preproc_elif"):
        return n.children
    cond = n.child_by_field_name("condition")
    if cond is None or cond.type != "number_literal":
        return n.children
    try:
        value = int(text(cond).rstrip("uUlL"), 0)
    except ValueError:
        return n.children
    alt = n.child_by_field_name("alternative")
    if value == 0:
        return [alt] if alt is not None else []
    return [c for c in n.children if alt is None or c.id != alt.id]


#: Nodes whose children may be function definitions.
FUNCTION_CONTAINERS = frozenset({
    "translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef",
    "linkage_specification", "declaration_list", "ERROR",
})


#: How a declaration says its function never returns: C11 ``_Noreturn``, C23 ``[[noreturn]]``,
#: GCC's ``__attribute__((noreturn))``, and the usual macros for them.
NORETURN_WORDS = (b"_Noreturn", b"noreturn", b"__noreturn__", b"NORETURN", b"NoReturn", b"G_GNUC_NORETURN",
                  b"__dead2", b"__dead")
NORETURN_MARK = re.compile(rb"\b(" + b"|".join(NORETURN_WORDS) + rb")\b")
#: A macro body that ends the process on every path: it calls one of these and has no branch.
_ENDS_PROCESS = re.compile(rb"\b(exit|_exit|_Exit|abort|err|errx|verr|verrx)\s*\(")
_BRANCHES = re.compile(rb"\b(if|for|switch|return|case)\b|\?|&&|\|\||\bwhile\s*\((?!\s*0\s*\))")
_STRINGS = re.compile(rb'"(?:[^"\\\n]|\\.)*"')
#: Old-style prototypes through a compatibility macro (``void Panic __P((int, ...))
#: __attribute__((__noreturn__));``), which tree-sitter cannot parse as a declaration.
_MACRO_PROTOTYPE = re.compile(rb"\b([A-Za-z_]\w*)\s+(?:__P|PARAMS|_PROTOTYPE|P_)\s*\(\(([^;{}]*);")
#: lsof's form, the name inside the macro: ``_PROTOTYPE(extern void Error,()) exiting;``.
_WRAPPED_PROTOTYPE = re.compile(rb"\b(?:_PROTOTYPE|PROTOTYPE|__P|PARAMS)\s*\(\s*[\w\s\*]*?\b([A-Za-z_]\w*)\s*,\s*\(([^;{}]*);")
#: An object-like macro that stands for a noreturn attribute (lsof's ``#define exiting
#: __attribute__((__noreturn__))``).
_MARKER_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+[^\n]*\b(?:_Noreturn|noreturn|__noreturn__)\b", re.MULTILINE)


def declared_noreturn(root: Node) -> frozenset[str]:
    """Names of the functions a file declares never to return: prototypes and definitions
    marked ``_Noreturn``/``[[noreturn]]``/``__attribute__((noreturn))``, with one of the usual
    macros for it (``NORETURN``, ``__dead2``) or with a macro the same file defines as one
    (lsof's ``exiting``; a marker macro defined in another header is not seen), also through
    the old-style prototype macros ``__P``/``PARAMS``/``_PROTOTYPE``; and function-like macros
    whose body calls ``exit``, ``abort``, ``err`` or ``errx`` with no branch (util-linux's
    ``errtryhelp(eval)``). Textual: nothing is preprocessed."""
    out: set[str] = set()
    markers = sorted({m.group(1) for m in _MARKER_DEFINE.finditer(root.text)}) if b"define" in root.text else []
    mark = re.compile(rb"\b(" + b"|".join((*NORETURN_WORDS, *markers)) + rb")\b") if markers else NORETURN_MARK
    stack = [root]
    while stack:
        n = stack.pop()
        t = n.type
        if t in ("declaration", "function_definition"):
            body = n.child_by_field_name("body")
            head = n.text[: body.start_byte - n.start_byte] if body is not None else n.text
            if mark.search(head):
                # the outermost function declarator names the function (not a parameter's)
                d = next(descendants(n.child_by_field_name("declarator") or n, "function_declarator"), None)
                name = declarator_name(d.child_by_field_name("declarator")) if d is not None else ""
                if name:
                    out.add(name)
        elif t == "preproc_function_def":
            name, value = n.child_by_field_name("name"), n.child_by_field_name("value")
            body = _STRINGS.sub(b'""', value.text) if value is not None else b""
            if name is not None and _ENDS_PROCESS.search(body) and not _BRANCHES.search(body):
                out.add(text(name))
        elif n is root or t in FUNCTION_CONTAINERS:
            stack.extend(n.children)
    if b"__P" in root.text or b"PARAMS" in root.text or b"PROTOTYPE" in root.text:
        for pattern in (_MACRO_PROTOTYPE, _WRAPPED_PROTOTYPE):
            out.update(m.group(1).decode() for m in pattern.finditer(root.text) if mark.search(m.group(2)))
    return frozenset(out)


def function_name(fn: Node) -> str:
    """Name of a ``function_definition`` ("" when it cannot be found)."""
    d = fn.child_by_field_name("declarator")
    while d is not None and d.type != "function_declarator":
        d = d.child_by_field_name("declarator")
    if d is None:
        return ""
    inner = d.child_by_field_name("declarator")
    while inner is not None and inner.type not in ("identifier", "field_identifier"):
        inner = inner.child_by_field_name("declarator")
    return text(inner)


def declarator_name(decl: Node | None) -> str:
    """The identifier a declarator declares (``*p``, ``p[3]``, ``(*fp)(int)`` -> ``p``/``fp``)."""
    while decl is not None and decl.type != "identifier":
        nxt = decl.child_by_field_name("declarator")
        if nxt is None:
            for c in decl.named_children:
                if c.type in ("identifier", "pointer_declarator", "array_declarator",
                              "parenthesized_declarator", "function_declarator"):
                    nxt = c
                    break
        decl = nxt
    return text(decl)


@dataclass(frozen=True)
class Family:
    """An allocation family: the rule reporting its leaks and its functions."""

    name: str
    rule: str
    what: str
    allocators: frozenset[str]
    deallocators: frozenset[str]
    reallocators: frozenset[str]
    invalid: str = "null"  # the failure value allocators return: "null" (NULL) or "negative" (-1)
    #: allocators that store the resource through a pointer argument: name -> (argument index,
    #: how the call reports failure: "negative" (< 0), "nonzero" (!= 0) or "never" (the buffer
    #: may be allocated even when the call fails, as with getline))
    out_allocators: tuple[tuple[str, int, str], ...] = ()
    #: allocators that take ownership of their first argument (``fdopen(fd, "r")``: the stream
    #: owns the descriptor now)
    adopters: frozenset[str] = frozenset()
    #: out-parameter allocators that fill a two-element array (``pipe(fds)``)
    pair_allocators: frozenset[str] = frozenset()
    #: allocators whose result is the stream they are given (``freopen(path, mode, stdin)``):
    #: it stays reachable through that stream, so only releasing it with another family's
    #: function is reported (``mismatched-deallocator``), not losing it
    reopeners: frozenset[str] = frozenset()


@lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    """The families of ``allocators.toml``."""
    raw = tomllib.loads(resources.files("leakspot.c").joinpath("allocators.toml").read_text("utf-8"))
    return tuple(
        Family(name, f["rule"], f["what"], frozenset(f["allocators"]), frozenset(f["deallocators"]),
               frozenset(f["reallocators"]), f.get("invalid", "null"),
               tuple((k, v["arg"], v["fails"]) for k, v in sorted(f.get("out_allocators", {}).items())),
               frozenset(f.get("adopters", ())),
               frozenset(k for k, v in f.get("out_allocators", {}).items() if v.get("pair")),
               frozenset(f.get("reopeners", ())))
        for name, f in raw["families"].items()
    )
