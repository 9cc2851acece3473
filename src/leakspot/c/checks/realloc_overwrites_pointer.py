"""LK206 realloc-overwrites-pointer: ``p = realloc(p, n)`` loses ``p`` when realloc fails."""

from __future__ import annotations

from leakspot.c.cfg import NORETURN
from leakspot.c.checks import c_check, ts_region
from leakspot.c.leaks import parameters
from leakspot.c.parse import Node, families, operator_of, text, unwrap
from leakspot.model import Finding, Location

#: Reallocators that free the old block themselves when they fail are not a mistake here.
FREES_ON_FAILURE = frozenset({"reallocf"})


def _norm(n: Node | None) -> str:
    return "".join(text(n).split())


def _failure_ends_process(assign: Node, target: str) -> bool:
    """Is the statement after the assignment ``if (!p) abort();`` (or ``exit``...)?"""
    stmt = assign.parent
    if stmt is None or stmt.type != "expression_statement":
        return False
    nxt = stmt.next_named_sibling
    while nxt is not None and nxt.type == "comment":
        nxt = nxt.next_named_sibling
    if nxt is None or nxt.type != "if_statement":
        return False
    cond = _norm(nxt.child_by_field_name("condition"))
    if target not in cond:
        return False
    stack = [nxt.child_by_field_name("consequence")]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        if n.type == "call_expression" and text(n.child_by_field_name("function")) in NORETURN:
            return True
        stack.extend(n.named_children)
    return False


def _base_identifier(n: Node | None) -> Node | None:
    while n is not None and n.type in ("field_expression", "subscript_expression", "parenthesized_expression"):
        if n.type == "field_expression" and operator_of(n) == "->":
            return None  # through a pointer: the object outlives the function
        n = n.child_by_field_name("argument") if n.type != "parenthesized_expression" else n.named_children[0]
    return n if n is not None and n.type == "identifier" else None


def _old_pointer_kept_elsewhere(fn: Node, left: Node) -> bool:
    """Is the reallocated pointer a copy: a parameter (the caller keeps the original), or a local
    (or a field of a local struct) copied from a field, an array element or through a pointer
    (``char *buf = pk->buf;``) or from another variable, so the old block is still reachable
    when realloc fails?"""
    base = _base_identifier(left)
    if base is None:
        return False
    name = text(base)
    if any(p == name for p, _ in parameters(fn)):
        return True
    stack = [fn.child_by_field_name("body")]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        stack.extend(n.named_children)
        value = None
        if n.type == "init_declarator" and text(_innermost(n.child_by_field_name("declarator"))) == name:
            value = n.child_by_field_name("value")
        elif n.type == "assignment_expression" and text(n.child_by_field_name("left")) == name:
            value = n.child_by_field_name("right")
        value = unwrap(value)
        if value is None:
            continue
        if value.type in ("field_expression", "subscript_expression", "pointer_expression"):
            return True
        if value.type == "identifier" and text(value) != name and not text(value).endswith("NULL"):
            return True  # `q = p` earlier, or `p = old` on the failure path: another copy
    return False


def _innermost(d: Node | None) -> Node | None:
    while d is not None and d.type != "identifier":
        d = d.child_by_field_name("declarator")
    return d


def check(tree, display: str, lines: list[str], rule) -> list[Finding]:
    """Assignments ``x = REALLOC(x, ...)`` whose failure path does not end the process."""
    reallocators = frozenset().union(*(f.reallocators for f in families())) - FREES_ON_FAILURE
    out = []
    stack = [tree.root_node]
    while stack:
        n = stack.pop()
        stack.extend(n.named_children)
        if n.type != "assignment_expression" or operator_of(n) != "=":
            continue
        call = unwrap(n.child_by_field_name("right"))
        if call is None or call.type != "call_expression":
            continue
        callee = text(call.child_by_field_name("function"))
        args = call.child_by_field_name("arguments")
        if callee not in reallocators or args is None or not args.named_children:
            continue
        target = _norm(n.child_by_field_name("left"))
        if _norm(unwrap(args.named_children[0])) != target or _failure_ends_process(n, target):
            continue
        fn = n.parent
        while fn is not None and fn.type != "function_definition":
            fn = fn.parent
        if fn is not None and _old_pointer_kept_elsewhere(fn, n.child_by_field_name("left")):
            continue
        line = n.start_point[0]
        region = ts_region(call, lines)
        out.append(Finding(
            code=rule.code, slug=rule.slug, location=Location(display, region),
            message=rule.message.format(target=text(n.child_by_field_name("left")), callee=callee),
            function=text(fn.child_by_field_name("declarator")).split("(")[0].strip("* ") if fn else "",
            anchor=lines[line].strip() if line < len(lines) else "",
        ))
    return out


c_check("LK206", "realloc-overwrites-pointer", check)
