"""LK108 thread-never-joined: a non-daemon thread started in a function and neither joined,
made a daemon, nor kept (the LK103 machinery, other data)."""

from __future__ import annotations

import ast

from leakspot.python.checks import process_targets, python_check, short_name as _short
from leakspot.python.checks.open_without_close import Resource, ResourceCheck

THREAD = Resource(
    "thread",
    frozenset({"join", "daemon", "setDaemon"}),
    held="running and never joined",
    acquired="started",
    dropped="the thread is started and dropped: nothing can join it, so no caller learns when, or "
    "whether, it finished, and interpreter shutdown waits for it",
    skip_keyword=("daemon", True),
)
THREADS = {"threading.Thread": THREAD}


@python_check
class ThreadNeverJoined(ResourceCheck):
    """LK108: ``threading.Thread`` objects that are started and then neither joined, made a
    daemon, returned nor stored. A thread that is never started is not reported."""

    code = "LK108"
    resources = THREADS

    def visit_Call(self, call: ast.Call) -> None:
        if _short(call.func) != "Thread" and not (isinstance(call.func, ast.Name) and call.func.id in self.names.aliases):
            return
        if self.qualified_in(call.func, THREADS) is None:
            return
        parent = self.module.parent(call)
        if isinstance(parent, ast.Expr):
            return  # `Thread(...)` alone is never started
        if isinstance(parent, ast.Attribute) and parent.attr != "start":
            return
        fn = self.module.enclosing_function(call)
        if fn is not None and (self._under_thread_context(call, fn) or self._process_entry_point(fn)):
            return
        super().visit_Call(call)

    def _under_thread_context(self, node: ast.AST, fn) -> bool:
        """Inside ``with <something about threads>():`` (``threading_helper.wait_threads_exit()``,
        ``reap_threads()``): that context manager waits for the threads started in it."""
        p = self.module.parent(node)
        while p is not None and p is not fn:
            if isinstance(p, (ast.With, ast.AsyncWith)) and any(
                    isinstance(i.context_expr, ast.Call) and "thread" in _short(i.context_expr.func).lower()
                    for i in p.items):
                return True
            p = self.module.parent(p)
        return False

    def _process_entry_point(self, fn) -> bool:
        """Is ``fn`` the ``target=`` of a ``Process(...)`` in this module? Then it is the whole
        life of that process, whose shutdown joins every non-daemon thread."""
        return fn.name in process_targets(self.module)

    def _track(self, fn, stmt: ast.stmt, var: str, call: ast.Call, shown: str) -> None:
        if not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "start"
                   and isinstance(n.func.value, ast.Name) and n.func.value.id == var for n in ast.walk(fn)):
            return  # never started here: whoever starts it owns it
        if self._waits_while_alive(fn, var):
            return
        super()._track(fn, stmt, var, call, shown)

    def _waits_while_alive(self, fn, var: str) -> bool:
        """Does ``fn`` wait for the thread another way than ``join()``: under ``if
        var.is_alive():`` or ``while var.is_alive():``, a ``wait()``, ``join()`` or ``sleep()``
        (Home Assistant's backup download, ``if worker.is_alive(): await
        worker_done_event.wait()``, an event the worker sets when it ends)?"""
        for node in ast.walk(fn):
            if not isinstance(node, (ast.If, ast.While)):
                continue
            if not any(isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "is_alive"
                       and isinstance(c.func.value, ast.Name) and c.func.value.id == var for c in ast.walk(node.test)):
                continue
            if any(isinstance(c, ast.Call) and _short(c.func) in ("wait", "join", "sleep")
                   for b in node.body for c in ast.walk(b)):
                return True
        return False

    def _releases(self, node: ast.AST, var: str, resource=THREAD) -> bool:
        """A join, or an assertion that the thread has ended (``assert not t.is_alive()``,
        ``self.assertFalse(t.is_alive())``): a path goes on past it only once ``run()`` has
        returned, and then there is nothing left to join."""
        return _asserts_ended(node, var) or super()._releases(node, var, resource)

    def _unheld_if_raising(self, stmt: ast.stmt, var: str) -> bool:
        """``var.start()`` raising (``RuntimeError: can't start new thread``): the thread never
        ran, so the handler that catches it, and every path on from there, holds nothing
        (soco's scanners, which ``break`` out of the loop that starts them and then join the
        ones that started)."""
        return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "start"
                and isinstance(stmt.value.func.value, ast.Name) and stmt.value.func.value.id == var)


def _asserts_ended(node: ast.AST, var: str) -> bool:
    """Is ``node`` an assertion that the thread ``var`` is no longer alive: ``assert not
    var.is_alive()``, ``assert var.is_alive() is False`` (or ``== False``), or unittest's
    ``self.assertFalse(var.is_alive())``?"""
    if isinstance(node, ast.Assert):
        test = node.test
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _short(node.value.func) == "assertFalse" \
            and node.value.args:
        test = ast.UnaryOp(ast.Not(), node.value.args[0])
    else:
        return False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        alive = test.operand
    elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.Eq)) \
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is False:
        alive = test.left
    else:
        return False
    return isinstance(alive, ast.Call) and isinstance(alive.func, ast.Attribute) and alive.func.attr == "is_alive" \
        and isinstance(alive.func.value, ast.Name) and alive.func.value.id == var
