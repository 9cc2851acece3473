"""Control-flow graph of one C function, built from tree-sitter-c nodes.

Nodes hold one simple statement, declaration, atomic condition or ``return``. Conditions are
split at ``&&``, ``||`` and ``!`` (so each branch decision tests one atom), and constant
conditions (``if (0)``, ``while (1)``, ``for (;;)``) get only their feasible edge. Handled:
if/else, switch with fall-through and default, for/while/do, break/continue, goto and labels,
return, calls that never return, and ``#if``/``#ifdef`` blocks (either branch may run).
Built backwards in continuation-passing style: each statement is built knowing its successor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leakspot.c.constants import EMPTY, Env, written_among
from leakspot.c.parse import Node, descendants, operator_of, text

NORETURN = frozenset(
    {
        "exit", "_exit", "_Exit", "abort", "quick_exit", "longjmp", "siglongjmp", "err", "errx",
        "verr", "verrx", "__assert_fail", "Py_FatalError", "Py_Exit", "__builtin_unreachable",
        "__builtin_trap", "pthread_exit", "thrd_exit", "_PyErr_BadInternalCall", "Py_UNREACHABLE",
    }
)
#: Macros that expand to a ``return`` statement.
RETURN_MACROS = frozenset({"Py_RETURN_NONE", "Py_RETURN_TRUE", "Py_RETURN_FALSE", "Py_RETURN_NOTIMPLEMENTED"})
#: Wrappers that only hint the branch predictor: ``unlikely(!p)`` tests ``!p``.
HINTS = frozenset({"likely", "unlikely", "__builtin_expect", "_Py_likely", "_Py_unlikely", "LIKELY", "UNLIKELY"})


@dataclass
class CNode:
    """A CFG node.

    Attributes:
        id: index in :attr:`CFG.nodes`.
        kind: ``entry`` | ``exit`` | ``stmt`` | ``decl`` | ``cond`` | ``return`` | ``nop`` | ``dead``
            | ``pp`` (a preprocessor condition the function tests more than once).
        ts: the tree-sitter node evaluated here (expression, declaration, return statement; for
            ``pp``, the macro's name or the comparison).
        succ: successors as (node id, edge label); labels are ``"true"``/``"false"`` on conditions
            (for ``pp``: whether :attr:`key` holds), ``"case <value>"``, ``"default"`` or
            ``"no case"`` out of a ``switch``.
        key: for ``pp``, what the condition says, the same for each test of it
            (``X`` for ``#ifdef X`` and ``#ifndef X``, ``PY_MAJOR_VERSION<3`` for ``< 3`` and ``>= 3``).
    """

    id: int
    kind: str
    ts: Node | None = None
    succ: list[tuple[int, str]] = field(default_factory=list)
    key: str = ""


class CFG:
    """The CFG of one ``function_definition``: ``entry`` and ``exit`` node ids and ``nodes``."""

    def __init__(self, fn: Node, noreturn: frozenset[str] = frozenset(), env: Env = EMPTY,
                 shadowed: frozenset[str] = frozenset(), watched: frozenset[str] = frozenset()) -> None:
        """``noreturn``: more functions that never return (the project's ``die()``), besides
        :data:`NORETURN`; ``env``: the constants known at file scope
        (:mod:`leakspot.c.constants`), except the names in ``shadowed`` (the function's locals);
        ``watched``: the functions whose calls make a preprocessor condition worth remembering
        along a path (the analysis' allocators and deallocators: see :meth:`_preproc`)."""
        self.noreturn = NORETURN | noreturn if noreturn else NORETURN
        self.env = env
        self.fn = fn
        self.watched = watched
        self._pp_counts: dict[str, int] | None = None
        self.shadowed = shadowed
        self.nodes: list[CNode] = []
        #: the first condition node of each counting ``for`` loop -> the loop's body
        self.loop_body: dict[int, Node] = {}
        #: the initialisation node of each of those loops -> its condition node
        self.loop_start: dict[int, int] = {}
        self.exit = self._new("exit", fn.child_by_field_name("body")).id
        self._labels: dict[str, int] = {}
        self._gotos: list[tuple[int, str]] = []
        self._breaks: list[int] = []
        self._continues: list[int] = []
        body = fn.child_by_field_name("body")
        first = self._stmt(body, self.exit) if body is not None else self.exit
        self.entry = self._new("entry", None, [(first, "")]).id
        for node_id, label in self._gotos:
            target = self._labels.get(label)
            # an unknown label (macro-generated) ends the path rather than inventing one
            self.nodes[node_id].succ = [(target, "")] if target is not None else []
            if target is None:
                self.nodes[node_id].kind = "dead"

    def _new(self, kind: str, ts: Node | None, succ=None) -> CNode:
        n = CNode(len(self.nodes), kind, ts, list(succ or []))
        self.nodes.append(n)
        return n

    # -- statements ------------------------------------------------------------------------
    def _seq(self, children: list[Node], nxt: int) -> int:
        for c in reversed(children):
            nxt = self._stmt(c, nxt)
        return nxt

    def _stmt(self, node: Node, nxt: int) -> int:
        t = node.type
        if t == "compound_statement":
            return self._seq([c for c in node.named_children if c.type != "comment"], nxt)
        if t == "expression_statement":
            expr = node.named_children[0] if node.named_children else None
            if expr is None:
                return nxt
            if expr.type == "call_expression" and text(expr.child_by_field_name("function")) in self.noreturn:
                return self._new("dead", expr).id
            if expr.type == "identifier" and text(expr) in RETURN_MACROS:
                return self._new("return", node, [(self.exit, "")]).id  # `Py_RETURN_NONE;`
            return self._new("stmt", expr, [(nxt, "")]).id
        if t == "declaration":
            return self._new("decl", node, [(nxt, "")]).id
        if t == "if_statement":
            then = self._stmt(node.child_by_field_name("consequence"), nxt)
            alt = node.child_by_field_name("alternative")
            other = nxt
            if alt is not None:
                inner = [c for c in alt.named_children if c.type != "comment"]
                other = self._seq(inner, nxt) if alt.type == "else_clause" else self._stmt(alt, nxt)
            return self._cond(node.child_by_field_name("condition"), then, other)
        if t == "while_statement":
            head = self._new("nop", None)
            body = self._loop_body(node.child_by_field_name("body"), nxt, head.id)
            head.succ = [(self._cond(node.child_by_field_name("condition"), body, nxt), "")]
            return head.id
        if t == "do_statement":
            head = self._new("nop", None)
            body = self._loop_body(node.child_by_field_name("body"), nxt, head.id)
            head.succ = [(self._cond(node.child_by_field_name("condition"), body, nxt), "")]
            return body
        if t == "for_statement":
            return self._for(node, nxt)
        if t == "return_statement":
            return self._new("return", node, [(self.exit, "")]).id
        if t == "break_statement":
            return self._jump(self._breaks[-1] if self._breaks else None)
        if t == "continue_statement":
            return self._jump(self._continues[-1] if self._continues else None)
        if t == "goto_statement":
            n = self._new("nop", node)
            self._gotos.append((n.id, text(node.child_by_field_name("label"))))
            return n.id
        if t == "labeled_statement":
            inner = [c for c in node.named_children if c.type != "statement_identifier"]
            target = self._seq(inner, nxt)
            label = self._new("nop", None, [(target, "")])
            self._labels[text(node.child_by_field_name("label"))] = label.id
            return label.id
        if t == "switch_statement":
            return self._switch(node, nxt)
        if t in ("preproc_if", "preproc_ifdef", "preproc_elif", "preproc_else", "preproc_elifdef"):
            return self._preproc(node, nxt)
        if t in ("comment", "preproc_call", "preproc_def", "preproc_function_def", "preproc_include",
                 "type_definition", "struct_specifier", "enum_specifier", "union_specifier", ";"):
            return nxt
        if t == "case_statement":  # stray case outside a switch body: just its statements
            return self._seq(_case_body(node), nxt)
        # anything else (ERROR, macro statements, asm): evaluate it as an expression
        return self._new("stmt", node, [(nxt, "")]).id

    def _jump(self, target: int | None) -> int:
        if target is None:
            return self._new("dead", None).id
        return self._new("nop", None, [(target, "")]).id

    def _loop_body(self, body: Node | None, brk: int, cont: int) -> int:
        self._breaks.append(brk)
        self._continues.append(cont)
        try:
            return self._stmt(body, cont) if body is not None else cont
        finally:
            self._breaks.pop()
            self._continues.pop()

    def _for(self, node: Node, nxt: int) -> int:
        init = node.child_by_field_name("initializer")
        cond = node.child_by_field_name("condition")
        update = node.child_by_field_name("update")
        trips = self._trips(init, cond, update, node.child_by_field_name("body"))
        if trips is not None and trips <= 1:
            # `for (i = 0; i < 1; i++)`: the body runs exactly once (or never); no back edge
            once = self._loop_body(node.child_by_field_name("body"), nxt, nxt) if trips else nxt
            kind = "decl" if init.type == "declaration" else "stmt"
            return self._new(kind, init, [(once, "")]).id
        head = self._new("nop", None)
        step = self._new("stmt", update, [(head.id, "")]).id if update is not None else head.id
        body = self._loop_body(node.child_by_field_name("body"), nxt, step)
        test = self._cond(cond, body, nxt) if cond is not None else body
        head.succ = [(test, "")]
        if cond is not None and init is not None and update is not None and self.nodes[test].kind == "cond" \
                and node.child_by_field_name("body") is not None:
            self.loop_body[test] = node.child_by_field_name("body")
        if init is None:
            return head.id
        # `for (i = 0; i < 3; i++)`: the first test is true, so the body runs at least once
        first = body if _first_test_true(init, cond) else head.id
        kind = "decl" if init.type == "declaration" else "stmt"
        start = self._new(kind, init, [(first, "")]).id
        if test in self.loop_body:
            self.loop_start[start] = test
        return start

    def _trips(self, init: Node | None, cond: Node | None, update: Node | None, body: Node | None) -> int | None:
        """How many times a counting loop's body runs, when that is known: ``init`` sets one
        variable to a constant, ``cond`` compares it with a constant, ``update`` steps it by
        one, and the body neither writes it nor holds a label. None otherwise (or past 2)."""
        if init is None or cond is None or update is None or body is None:
            return None
        start = _init_value(init, self.env, self.shadowed)
        if start is None:
            return None
        var, value = start
        if update.type != "update_expression" or text(update.child_by_field_name("argument")) != var:
            return None
        step = 1 if "++" in text(update) else -1
        if written_among(body.text or b"", {var}) or b":" in (body.text or b"") and _has_label(body):
            return None
        env = self.env.merged(Env(frozenset({(var, value)})))
        shadowed = self.shadowed - {var}
        for trips in range(3):
            test = env.value(cond, shadowed)
            if test is None:
                return None
            if not test:
                return trips
            value += step
            env = self.env.merged(Env(frozenset({(var, value)})))
        return None

    def _switch(self, node: Node, nxt: int) -> int:
        body = node.child_by_field_name("body")
        cases = [c for c in (body.named_children if body is not None else []) if c.type == "case_statement"]
        self._breaks.append(nxt)
        try:
            entries = []
            follow = nxt
            for case in reversed(cases):
                follow = self._seq(_case_body(case), follow)
                entries.append((case, follow))
        finally:
            self._breaks.pop()
        entries.reverse()
        known = self.env.value(node.child_by_field_name("condition"), self.shadowed)
        if known is not None:
            # `switch (6)`: only the matching case runs (or `default`, or none)
            for case, entry in entries:
                value = case.child_by_field_name("value")
                if value is not None and self.env.value(value, self.shadowed) == known:
                    return self._new("nop", None, [(entry, "case")]).id
            if all(self.env.value(c.child_by_field_name("value"), self.shadowed) is not None
                   for c, _ in entries if c.child_by_field_name("value") is not None):
                default = [e for c, e in entries if c.child_by_field_name("value") is None]
                return self._new("nop", None, [(default[0] if default else nxt, "no case")]).id
        has_default = any(c.child_by_field_name("value") is None for c, _ in entries)
        # the edge into a case says its value (`case 2`), so that a path knows what it switched on
        succ = [(e, "case " + text(c.child_by_field_name("value")) if c.child_by_field_name("value") is not None
                 else "default") for c, e in entries]
        if not has_default:
            succ.append((nxt, "no case"))
        return self._new("stmt", node.child_by_field_name("condition"), succ).id

    def _preproc(self, node: Node, nxt: int) -> int:
        # tree-sitter hands out a new Node object per access: compare nodes by id, not identity
        alt = node.child_by_field_name("alternative")
        skip = {alt.id} if alt is not None else set()
        for name in ("condition", "name"):
            c = node.child_by_field_name(name)
            if c is not None:
                skip.add(c.id)
        # `#else`: every named child is code
        body = [c for c in node.named_children if c.id not in skip and c.type not in (
            "identifier", "preproc_defined", "binary_expression", "unary_expression",
            "parenthesized_expression", "number_literal", "call_expression", "comment",
            "preproc_arg")]
        if node.type in ("preproc_if", "preproc_elif", "preproc_ifdef", "preproc_elifdef"):
            body = [c for c in node.named_children if c.id not in skip and c.type != "comment"]
        first = self._seq(body, nxt)
        if node.type == "preproc_else":
            return first  # the `#else` of an `#if` not taken: its code is what is compiled
        other = self._stmt(alt, nxt) if alt is not None else nxt
        cond = node.child_by_field_name("condition") if node.type in ("preproc_if", "preproc_elif") else None
        known = self.env.value(cond, self.shadowed) if cond is not None and cond.type == "number_literal" else None
        if known is not None:
            # `#if 0` / `#if 1`: only one side is compiled
            return self._new("nop", None, [(first if known else other, "")]).id
        tested = _macro_test(node)
        if tested is not None and self._pp_tests(tested[1]) > 1:
            # `#ifdef HAVE_MMAP ... #ifndef HAVE_MMAP` in one function: one build takes both
            # the same way, so the path remembers which
            where, key, holds = tested
            pp = self._new("pp", where, [(first, "true" if holds else "false"),
                                         (other, "false" if holds else "true")])
            pp.key = key
            return pp.id
        return self._new("nop", None, [(first, ""), (other, "")]).id

    # -- conditions ------------------------------------------------------------------------
    def _pp_tests(self, name: str) -> int:
        """How many preprocessor conditions of the function test the macro ``name``, when one
        of them holds a call to a :attr:`watched` function (0 otherwise: a path need not
        remember a macro that only adds logging, and each remembered one doubles the states)."""
        if self._pp_counts is None:
            counts: dict[str, int] = {}
            relevant: set[str] = set()
            stack = [self.fn]
            while stack:
                n = stack.pop()
                if n.type in ("preproc_ifdef", "preproc_if", "preproc_elif", "preproc_elifdef"):
                    tested = _macro_test(n)
                    if tested is not None:
                        key = tested[1]
                        counts[key] = counts.get(key, 0) + 1
                        if key not in relevant and any(
                                text(c.child_by_field_name("function")) in self.watched
                                for c in descendants(n, "call_expression")):
                            relevant.add(key)
                stack.extend(n.named_children)
            self._pp_counts = {k: v for k, v in counts.items() if k in relevant}
        return self._pp_counts.get(name, 0)

    def _cond(self, expr: Node | None, t: int, f: int) -> int:
        if expr is None:
            return t
        k = expr.type
        if k in ("parenthesized_expression", "condition_clause") and expr.named_child_count == 1:
            return self._cond(expr.named_children[0], t, f)
        if k == "unary_expression" and operator_of(expr) == "!":
            return self._cond(expr.child_by_field_name("argument"), f, t)
        if k == "comma_expression":
            # `if (d = opendir(p), !d)`: the left side runs first, the right side is the test
            left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
            if left is not None and right is not None:
                return self._new("stmt", left, [(self._cond(right, t, f), "")]).id
        if k == "binary_expression":
            op = operator_of(expr)
            left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
            if op == "&&":
                return self._cond(left, self._cond(right, t, f), f)
            if op == "||":
                return self._cond(left, t, self._cond(right, t, f))
        if k == "call_expression" and ((name := text(expr.child_by_field_name("function"))) in HINTS
                                       or name in self.env.hints):
            args = expr.child_by_field_name("arguments")
            if args is not None and args.named_child_count:
                return self._cond(args.named_children[0], t, f)
        value = self.env.value(expr, self.shadowed)
        if value is not None:
            # `if (0)`, `if (STATIC_CONST_FALSE)`, `if (globalFive == 5)`: one feasible edge
            return self._new("nop", expr, [(t if value else f, "true" if value else "false")]).id
        return self._new("cond", expr, [(t, "true"), (f, "false")]).id


def _case_body(case: Node) -> list[Node]:
    value = case.child_by_field_name("value")
    return [c for c in case.named_children if (value is None or c.id != value.id) and c.type != "comment"]


def _int(s: str) -> int | None:
    s = s.rstrip("uUlL")
    try:
        return int(s, 0)
    except ValueError:
        return None


def _init_value(init: Node, env: Env, shadowed: frozenset[str]) -> tuple[str, int] | None:
    """``i = 0`` or ``int i = 0`` (one variable, a constant value): ``(i, 0)``."""
    if init.type == "declaration":
        decls = [d for d in init.children_by_field_name("declarator") if d.type == "init_declarator"]
        if len(decls) != 1 or len(init.children_by_field_name("declarator")) != 1:
            return None
        var, value = decls[0].child_by_field_name("declarator"), decls[0].child_by_field_name("value")
    elif init.type == "assignment_expression" and operator_of(init) == "=":
        var, value = init.child_by_field_name("left"), init.child_by_field_name("right")
    else:
        return None
    if var is None or var.type != "identifier":
        return None
    v = env.value(value, shadowed)
    return (text(var), v) if v is not None else None


def _has_label(n: Node) -> bool:
    return next(descendants(n, "labeled_statement"), None) is not None


def _first_test_true(init: Node, cond: Node | None) -> bool:
    """Is ``cond`` true right after ``init``, both about one variable and integer constants?"""
    if cond is None or cond.type != "binary_expression":
        return False
    if init.type == "declaration":
        decls = [d for d in init.children_by_field_name("declarator") if d.type == "init_declarator"]
        if len(decls) != 1:
            return False
        var, value = text(decls[0].child_by_field_name("declarator")), decls[0].child_by_field_name("value")
    elif init.type == "assignment_expression" and operator_of(init) == "=":
        var, value = text(init.child_by_field_name("left")), init.child_by_field_name("right")
    else:
        return False
    left, right = cond.child_by_field_name("left"), cond.child_by_field_name("right")
    if value is None or value.type != "number_literal" or text(left) != var or right is None:
        return False
    if right.type != "number_literal":
        return False
    a, b = _int(text(value)), _int(text(right))
    if a is None or b is None:
        return False
    op = operator_of(cond)
    return {"<": a < b, "<=": a <= b, "!=": a != b, ">": a > b, ">=": a >= b}.get(op, False)


#: A comparison and the one it negates: ``>=`` is not ``<``.
_NEGATED = {">=": "<", "<=": ">", "!=": "=="}


def _macro_test(node: Node) -> tuple[Node, str, bool] | None:
    """``(where, key, holds)`` of a preprocessor condition on one macro: ``#ifdef X``,
    ``#ifndef X``, ``#if defined(X)``, ``#if !defined X``, ``#if X``, ``#if !X`` (key ``X``: a
    name tested for its value is taken as defined when true, as configure scripts define them
    to 1), or a comparison of a macro with a number (``#if PY_MAJOR_VERSION < 3``, and ``>= 3``
    as its negation: key ``PY_MAJOR_VERSION<3``); ``holds`` says whether the first side runs
    when the key holds. None for any other condition."""
    if node.type in ("preproc_ifdef", "preproc_elifdef"):
        name = node.child_by_field_name("name")
        if name is None or name.type != "identifier":
            return None
        return name, text(name), not (node.children and node.children[0].type in ("#ifndef", "#elifndef"))
    cond = node.child_by_field_name("condition")
    positive = True
    while cond is not None and cond.type in ("unary_expression", "parenthesized_expression"):
        if cond.type == "unary_expression":
            if operator_of(cond) != "!":
                return None
            positive = not positive
            cond = cond.child_by_field_name("argument")
        else:
            cond = cond.named_children[0] if cond.named_children else None
    if cond is not None and cond.type == "binary_expression":
        op = operator_of(cond)
        left, right = cond.child_by_field_name("left"), cond.child_by_field_name("right")
        if op not in ("<", ">", "==", ">=", "<=", "!=") or left is None or right is None \
                or left.type != "identifier" or right.type != "number_literal":
            return None
        if op in _NEGATED:
            op, positive = _NEGATED[op], not positive
        return cond, f"{text(left)}{op}{text(right)}", positive
    if cond is not None and cond.type == "preproc_defined":
        cond = next((c for c in cond.named_children if c.type == "identifier"), None)
    if cond is None or cond.type != "identifier":
        return None
    return cond, text(cond), positive
