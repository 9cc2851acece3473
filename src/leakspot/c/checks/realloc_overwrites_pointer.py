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


def _failure_branch(assign: Node, target: str) -> Node | None:
    """The branch that runs when the reallocation failed: the consequence of the ``if`` right
    after the assignment that tests ``target`` (``p = realloc(p, n); if (!p) ...``), or of the
    ``if`` whose condition is the assignment (``if (!(p = realloc(p, n)))``,
    ``if ((p = realloc(p, n)) == NULL)``)."""
    up = assign.parent
    while up is not None and (up.type in ("parenthesized_expression", "condition_clause")
                              or (up.type == "unary_expression" and operator_of(up) == "!")
                              or (up.type == "binary_expression" and operator_of(up) in ("==", "!="))):
        if up.type == "binary_expression" and operator_of(up) == "!=":
            return None  # `if ((p = realloc(p, n)) != NULL)`: the consequence is the success
        up = up.parent
    if up is not None and up.type == "if_statement" and up is not assign.parent:
        return up.child_by_field_name("consequence")
    stmt = assign.parent
    if stmt is None or stmt.type != "expression_statement":
        return None
    nxt = _next_statement(stmt)
    while (nxt is None or nxt.type == "else_clause") and stmt.parent is not None and _ends_branch(stmt):
        # `if (p) p = realloc(p, n); else p = malloc(n); if (!p) die();`: the test after the `if`
        stmt = stmt.parent
        while stmt is not None and stmt.type != "if_statement":
            stmt = stmt.parent
        if stmt is None:
            return None
        nxt = _next_statement(stmt)
    if nxt is not None and nxt.type == "expression_statement" and nxt.named_children:
        call = unwrap(nxt.named_children[0])
        if (call is not None and call.type == "call_expression" and "assert" in text(call.child_by_field_name("function"))
                and target in _norm(call.child_by_field_name("arguments"))):
            return call  # `force_assert(NULL != b->ptr);`: it aborts when the result is NULL
    if nxt is None or nxt.type != "if_statement":
        return None
    cond = _norm(nxt.child_by_field_name("condition"))
    if target not in cond:
        return None
    return nxt.child_by_field_name("consequence")


def _from_label(node: Node, label: str) -> list[Node]:
    """The statements that run from ``label:`` in the function around ``node`` up to the first
    ``return`` of that block (the labeled statement and those after it)."""
    fn = node.parent
    while fn is not None and fn.type != "function_definition":
        fn = fn.parent
    stack = [fn] if fn is not None else []
    while stack:
        n = stack.pop()
        if n.type == "labeled_statement" and text(n.child_by_field_name("label")) == label:
            out, cur = [], n
            while cur is not None:
                out.append(cur)
                if cur.type == "return_statement" or (cur is not n and cur.type == "labeled_statement"):
                    break
                cur = _next_statement(cur)
            return [c for c in out if c.type != "return_statement"]
        stack.extend(n.named_children)
    return []


def _next_statement(stmt: Node) -> Node | None:
    nxt = stmt.next_named_sibling
    while nxt is not None and nxt.type == "comment":
        nxt = nxt.next_named_sibling
    return nxt


def _ends_branch(stmt: Node) -> bool:
    """Is ``stmt`` the last thing a branch of an ``if`` runs: its consequence or ``else`` body
    itself, or the last statement of a block that is one?"""
    p = stmt.parent
    if p is not None and p.type == "compound_statement":
        if _next_statement(stmt) is not None:
            return False
        stmt, p = p, p.parent
    return p is not None and (p.type == "else_clause" or (
        p.type == "if_statement" and stmt.id != (p.child_by_field_name("condition") or stmt).id))


def _failure_ends_process(assign: Node, target: str, noreturn: frozenset[str] = frozenset()) -> bool:
    """Does the failure branch (:func:`_failure_branch`) call a function that never returns
    (``abort``, ``exit``, a project's ``die()`` declared ``noreturn``), or put the old block
    back from a copy (``el->data = saved;``), so that nothing is lost?"""
    branch = _failure_branch(assign, target)
    stack = [branch]
    followed: set[str] = set()
    while stack:
        n = stack.pop()
        if n is None:
            continue
        if n.type == "call_expression" and (text(n.child_by_field_name("function")) in NORETURN | noreturn
                                             or (n is branch and "assert" in text(n.child_by_field_name("function")))):
            return True
        if n.type == "goto_statement":
            label = text(n.child_by_field_name("label"))
            if label not in followed:
                followed.add(label)
                stack.extend(_from_label(assign, label))  # `goto no_space;` ... `no_space: Error();`
        if n.type == "assignment_expression" and operator_of(n) == "=" and _norm(n.child_by_field_name("left")) == target:
            right = unwrap(n.child_by_field_name("right"))
            if right is not None and right.type == "identifier" and not text(right).endswith("NULL"):
                return True  # `p = old;`: the old block was saved before the call
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


def check(tree, display: str, lines: list[str], rule, noreturn: frozenset[str] = frozenset(),
          more: frozenset[str] = frozenset()) -> list[Finding]:
    """Assignments ``x = REALLOC(x, ...)`` whose failure path does not end the process
    (``noreturn``: the run's functions that never return, besides libc's; ``more``: the run's
    macros that stand for a reallocator, :mod:`leakspot.c.macros`)."""
    reallocators = (frozenset().union(*(f.reallocators for f in families())) | more) - FREES_ON_FAILURE
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
        if _norm(unwrap(args.named_children[0])) != target or _failure_ends_process(n, target, noreturn):
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
