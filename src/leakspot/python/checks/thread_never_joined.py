"""LK108 thread-never-joined: a non-daemon thread started in a function and neither joined,
made a daemon, nor kept (the LK103 machinery, other data)."""

from __future__ import annotations

import ast

from leakspot.python.checks import python_check
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
        parent = self.module.parent(call)
        if isinstance(parent, ast.Expr):
            return  # `Thread(...)` alone is never started
        if isinstance(parent, ast.Attribute) and parent.attr != "start":
            return
        super().visit_Call(call)

    def _track(self, fn, stmt: ast.stmt, var: str, call: ast.Call, shown: str) -> None:
        if not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "start"
                   and isinstance(n.func.value, ast.Name) and n.func.value.id == var for n in ast.walk(fn)):
            return  # never started here: whoever starts it owns it
        super()._track(fn, stmt, var, call, shown)
