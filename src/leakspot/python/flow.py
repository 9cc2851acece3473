"""Path analysis of one local variable over a Python function's structured control flow.

The analysis is an abstract interpretation over the statement tree (no explicit CFG): an
abstract state is the status of the tracked variable, ``NONE`` (not yet acquired), ``OPEN``
(holds the resource) or ``DONE`` (released, or ownership passed elsewhere), with the constants
that local names were last assigned on that path (``close = True``), so that a later
``if close:`` or ``if f is None:`` takes only the branches consistent with the path. ``if``/``match`` branches
are joined, loop bodies run zero, one or two times, ``break``/``continue`` are routed to the
loop's exit and head, ``return`` inside ``try`` runs the ``finally`` clause, ``raise`` ends a
path, and so does a call that never returns (``sys.exit``, ``self.fail``, ``pytest.fail``).
Only normal exits are judged: a leak is ``OPEN`` at a ``return``, at the end of the
function, or at a rebinding of the variable.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

NONE, OPEN, DONE = "none", "open", "done"
States = frozenset


@dataclass
class Leak:
    """A place where the tracked resource is lost while ``OPEN``.

    Attributes:
        node: the ``return`` statement or rebinding statement, or None for the function's end.
        kind: ``"return"``, ``"end"`` or ``"rebind"``.
    """

    node: ast.AST | None
    kind: str
    states: frozenset = frozenset()  # for returns: the states that reach it, re-judged by `finally`


State = tuple  # (status, frozenset of (name, constant) facts)


def _st(states, status: str) -> bool:
    return any(x[0] == status for x in states)


def _release(states: States) -> States:
    return frozenset((DONE if st == OPEN else st, facts) for st, facts in states)


def _drop_open(states: States) -> States:
    return frozenset(x for x in states if x[0] != OPEN)


@dataclass
class Tracker:
    """Tracks variable ``var`` acquired by statement ``acquire`` through function ``fn``.

    Attributes:
        fn: the function.
        var: the local variable name.
        acquire: the statement that binds ``var`` to a fresh resource.
        releases: ``releases(expr_stmt_or_expr, var) -> bool``: does evaluating this node release
            the resource or pass its ownership elsewhere?
        leaks: filled by :meth:`run`.
    """

    fn: ast.FunctionDef | ast.AsyncFunctionDef
    var: str
    acquire: ast.stmt
    releases: Callable[[ast.AST, str], bool]
    leaks: list[Leak] = field(default_factory=list)
    with_releases: bool = True  # does `with var:` release it? (not a sqlite3 connection's)
    rebinding_derives: bool = False  # `var = g(var)` keeps the resource (a path made absolute)
    aliases: set[str] = field(default_factory=set)  # other names for it (`name = f.name`), filled by `releases`
    #: other names for the resource itself: ``y`` of ``with var as y:`` (every resource's
    #: ``__enter__`` returns the object itself: files, sockets, archives, temporary files)
    same: set[str] = field(default_factory=set)
    #: ``unheld_if_raising(stmt, var) -> bool``: does this statement, when it raises, leave the
    #: resource not held (a thread whose ``start()`` raised never ran)? None: no statement does
    unheld_if_raising: Callable[[ast.stmt, str], bool] | None = None

    def run(self) -> list[Leak]:
        """Interpret the function body; return the leaks found, in source order."""
        self._loops: list[tuple[set, set]] = []
        self._raising: list[set] = []  # per enclosing try: states in which an exception may leave
        # the names that more than one `if` tests: only those are worth remembering on a branch
        # (a fact per flag tested once would only multiply the states)
        tested = Counter(_name_test(n.test, self.var)[0] for n in ast.walk(self.fn) if isinstance(n, ast.If))
        self._correlated = {n for n, count in tested.items() if n and count > 1}
        out = self._block(self.fn.body, frozenset({(NONE, frozenset())}))
        if _st(out, OPEN):
            self.leaks.append(Leak(None, "end"))
        seen, unique = set(), []
        for leak in self.leaks:
            key = (id(leak.node), leak.kind)
            if key not in seen:
                seen.add(key)
                unique.append(leak)
        return unique

    # -- statements ---------------------------------------------------------------------
    def _block(self, stmts: list[ast.stmt], states: States) -> States:
        for stmt in stmts:
            if not states:
                break
            post = self._stmt(stmt, states)
            if self._raising and not isinstance(stmt, _TRY) and not _cannot_raise(stmt):
                # the statement may raise before it completes; `f.close()` raising does not
                # leave `f` ours
                simple = not isinstance(stmt, _COMPOUND)
                released = simple and _st(states, OPEN) and (not _st(post, OPEN) or (
                    self.unheld_if_raising is not None and self.unheld_if_raising(stmt, self.var)))
                if isinstance(stmt, (ast.With, ast.AsyncWith)) and _st(states, OPEN):
                    # `with os.fdopen(fd) as f:` takes ownership, and `with f:` closes `f` on
                    # the way out of an exception too; its body adds its own states
                    items = states
                    for item in stmt.items:
                        if self.with_releases and isinstance(item.context_expr, ast.Name) \
                                and item.context_expr.id == self.var:
                            items = _release(items)
                        else:
                            items = self._effects(item.context_expr, items)
                    released = not _st(items, OPEN)
                self._raising[-1].update(_drop_open(states) if released else states)
            states = post
        return states

    def _effects(self, node: ast.AST | None, states: States) -> States:
        if node is None or not _st(states, OPEN):
            return states
        if self.releases(node, self.var) or any(self.releases(node, v) for v in self.same):
            return _release(states)
        return states

    def _stmt(self, stmt: ast.stmt, states: States) -> States:
        if stmt is self.acquire and isinstance(stmt, (ast.With, ast.AsyncWith)):
            # `with NamedTemporaryFile(delete=False) as f:`: acquired for the body and after it
            if _st(states, OPEN):
                self.leaks.append(Leak(stmt, "rebind"))
            return self._block(stmt.body, frozenset((OPEN, facts) for _, facts in states))
        if stmt is self.acquire:
            states = self._effects(stmt.value, states)  # type: ignore[attr-defined]
            if _st(states, OPEN):
                self.leaks.append(Leak(stmt, "rebind"))
            return frozenset((OPEN, facts) for _, facts in states)
        if isinstance(stmt, ast.If):
            states = self._effects(stmt.test, states)
            to_body, to_else = self._split(stmt.test, states)
            a = self._block(stmt.body, to_body)
            b = self._block(stmt.orelse, to_else)
            if _st(states, OPEN) and any(_mentions(stmt.test, v) for v in {self.var, *self.aliases}) and (
                    not _st(a, OPEN) or not _st(b, OPEN)):
                # `if f is not sys.stdout: f.close()`: the other branch does not own it
                return _release(a | b)
            return a | b
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            head = stmt.iter if isinstance(stmt, (ast.For, ast.AsyncFor)) else stmt.test
            states = self._effects(head, states)
            if isinstance(stmt, (ast.For, ast.AsyncFor)):
                states = _forget(states, _target_names(stmt.target))
            breaks: set = set()
            conts: set = set()
            self._loops.append((breaks, conts))
            once = self._block(stmt.body, states)
            once = once | frozenset(conts)
            twice = self._block(stmt.body, once | states) | frozenset(conts)
            self._loops.pop()
            infinite = isinstance(stmt, ast.While) and _always_true(stmt.test)
            normal = frozenset() if infinite else (states | once | twice)
            return self._block(stmt.orelse, normal) | frozenset(breaks)
        if isinstance(stmt, ast.Break):
            if self._loops:
                self._loops[-1][0].update(states)
            return frozenset()
        if isinstance(stmt, ast.Continue):
            if self._loops:
                self._loops[-1][1].update(states)
            return frozenset()
        if isinstance(stmt, ast.Return):
            states = self._effects(stmt, states)
            if _st(states, OPEN):
                self.leaks.append(Leak(stmt, "return", frozenset(x for x in states if x[0] == OPEN)))
            return frozenset()
        if isinstance(stmt, ast.Raise) or _never_returns(stmt):
            return frozenset()
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if isinstance(item.context_expr, ast.Name) and item.context_expr.id == self.var:
                    if self.with_releases:
                        states = _release(states)  # `with f:`
                    if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id != self.var:
                        self.same.add(item.optional_vars.id)  # `with f as g:`, `g.name` is `f.name`
                        states = _forget(states, {item.optional_vars.id})
                        continue
                else:
                    states = self._effects(item.context_expr, states)
                if item.optional_vars is not None:
                    states = _forget(states, _target_names(item.optional_vars))
            return self._block(stmt.body, states)
        if isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            return self._try(stmt, states)
        if isinstance(stmt, ast.Match):
            states = self._effects(stmt.subject, states)
            out = frozenset()
            for case in stmt.cases:
                out |= self._block(case.body, states)
            return out | states
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return self._effects(stmt, states)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            states = self._effects(stmt, states)
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if _st(states, OPEN) and isinstance(stmt, (ast.Assign, ast.AnnAssign)) and any(
                isinstance(t, ast.Name) and t.id == self.var for t in targets
            ) and self.rebinding_derives and _mentions(stmt.value, self.var):
                # `path = os.path.realpath(path)`: the new value is derived from the old one
                return states
            if _st(states, OPEN) and isinstance(stmt, (ast.Assign, ast.AnnAssign)) and any(
                isinstance(t, ast.Name) and t.id == self.var for t in targets
            ):
                self.leaks.append(Leak(stmt, "rebind"))
                states = _release(states)
            names = [n for t in targets for n in _target_names(t)]
            value = getattr(stmt, "value", None)
            if isinstance(stmt, ast.AugAssign) or not isinstance(value, ast.Constant):
                return _forget(states, names)
            return frozenset(
                (st, frozenset({f for f in facts if f[0] not in names} | {(n, value.value) for n in names}))
                for st, facts in states
            )
        if isinstance(stmt, ast.Delete):
            if any(isinstance(t, ast.Name) and t.id == self.var for t in stmt.targets):
                return _release(states)
            return states
        return self._effects(stmt, states)

    def _split(self, test: ast.expr, states: States) -> tuple[States, States]:
        """The states that take the body and the else branch of ``if test``. A test of a plain
        name (``if opened:``, ``if not opened:``) is remembered on each branch, so that a later
        test of the same name, before it is bound again, takes the same branch (gpiozero's
        ``if opened: f = io.open(...)`` ... ``finally: if opened: f.close()``)."""
        body, other = set(), set()
        flag, positive = _name_test(test, self.var)
        if flag not in self._correlated:
            flag = ""
        for state in states:
            truth = _truth(test, state, self.var)
            if truth is not False:
                body.add(_assume(state, flag, positive) if truth is None else state)
            if truth is not True:
                other.add(_assume(state, flag, not positive) if truth is None else state)
        return frozenset(body), frozenset(other)

    def _try(self, stmt: ast.Try, states: States) -> States:
        leaks_before = len(self.leaks)
        self._raising.append(set())
        body = self._block(stmt.body, states)
        raised = frozenset(self._raising.pop())
        handled = frozenset()
        for h in stmt.handlers:
            handled |= self._block(h.body, _forget(raised, [h.name] if h.name else []))
        out = self._block(stmt.orelse, body) | handled
        if not stmt.handlers and self._raising:
            # not caught here: the exception runs the finally clause, then goes on outward
            after = self._finally(stmt, raised) if stmt.finalbody else raised
            self._raising[-1].update(after)
        if not stmt.finalbody:
            return out
        # returns inside the try run the finally clause first: re-judge them after it
        pending = self.leaks[leaks_before:]
        del self.leaks[leaks_before:]
        for leak in pending:
            if leak.kind == "return":
                after = self._finally(stmt, leak.states)
                if _st(after, OPEN):
                    self.leaks.append(leak)
            else:
                self.leaks.append(leak)
        return self._finally(stmt, out)


    def _finally(self, stmt: ast.Try, states: States) -> States:
        """Run a ``finally`` clause; cleanup code is assumed not to raise."""
        self._raising.append(set())
        try:
            return self._block(stmt.finalbody, states)
        finally:
            self._raising.pop()


_TRY = (ast.Try, getattr(ast, "TryStar", ast.Try))
_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.Match,
             ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, getattr(ast, "TryStar", ast.Try))


def _cannot_raise(stmt: ast.stmt) -> bool:
    """Is ``stmt`` one that raises no exception in working code: ``pass``, a docstring,
    ``global``, or a local given a constant or another name (``renamed = False``)? Then no
    handler can be reached from it (an asynchronous ``KeyboardInterrupt`` is not modelled)."""
    if isinstance(stmt, (ast.Pass, ast.Global, ast.Nonlocal)):
        return True
    if isinstance(stmt, ast.Expr):
        return isinstance(stmt.value, ast.Constant)
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return all(isinstance(t, ast.Name) for t in targets) and _plain(stmt.value)
    return False


def _plain(expr: ast.expr) -> bool:
    """A constant, a name, or a tuple of them: evaluating it cannot raise."""
    if isinstance(expr, (ast.Constant, ast.Name)):
        return True
    return isinstance(expr, ast.Tuple) and all(_plain(e) for e in expr.elts)


def _mentions(expr: ast.AST, var: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == var for n in ast.walk(expr))


def _always_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


#: Calls that never return normally (they raise or end the process), written as called.
NORETURN_CALLS = frozenset({"sys.exit", "os._exit", "os.abort", "pytest.fail", "pytest.skip", "pytest.exit",
                            "self.fail", "self.skipTest", "unittest.SkipTest"})


def _never_returns(stmt: ast.stmt) -> bool:
    """``self.fail(...)``, ``pytest.fail(...)``, ``sys.exit(...)``: the path ends here."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}" in NORETURN_CALLS
    return False


def _forget(states: States, names) -> States:
    names = set(names)
    if not names:
        return states
    return frozenset((st, frozenset(f for f in facts if f[0] not in names)) for st, facts in states)


def _target_names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


_MISSING = object()


class _Truthiness:
    """A fact learnt from a branch: the name's value is truthy, or falsy (which may be
    ``None``, ``0`` or empty), not which value it is."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value


_TRUTHY, _FALSY = _Truthiness(True), _Truthiness(False)


def _name_test(test: ast.expr, var: str) -> tuple[str, bool]:
    """``("opened", True)`` for ``if opened:``, ``("opened", False)`` for ``if not opened:``;
    ``("", True)`` for any other test, and for a test of ``var`` itself."""
    positive = True
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test, positive = test.operand, not positive
    if isinstance(test, ast.Name) and test.id != var:
        return test.id, positive
    return "", True


def _assume(state: State, name: str, truthy: bool) -> State:
    """``state`` with the fact that ``name`` is truthy (or falsy), when ``name`` is given."""
    if not name:
        return state
    status, facts = state
    return status, frozenset({f for f in facts if f[0] != name} | {(name, _TRUTHY if truthy else _FALSY)})


def _truth(test: ast.expr, state: State, var: str) -> bool | None:
    """Is ``test`` certainly true (True), certainly false (False) or unknown (None) in ``state``?"""
    status, facts = state
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _truth(test.operand, state, var)
        return None if inner is None else not inner
    if isinstance(test, ast.Name):
        if test.id == var:
            return True if status == OPEN else None  # an open file object is truthy
        value = dict(facts).get(test.id, _MISSING)
        return None if value is _MISSING else bool(value)
    if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name)
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None
            and isinstance(test.ops[0], (ast.Is, ast.IsNot, ast.Eq, ast.NotEq))):
        name = test.left.id
        if name == var:
            is_none = False if status == OPEN else None
        else:
            value = dict(facts).get(name, _MISSING)
            if value is _FALSY:
                return None  # falsy, but maybe not None
            is_none = None if value is _MISSING else value is None
        if is_none is None:
            return None
        return is_none if isinstance(test.ops[0], (ast.Is, ast.Eq)) else not is_none
    return None
