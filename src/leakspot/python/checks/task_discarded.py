"""LK105 task-discarded: an asyncio task created and not kept."""

from __future__ import annotations

import ast

from leakspot.python.checks import PythonCheck, python_check

CREATORS = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
LOOP_FACTORIES = frozenset({"asyncio.get_event_loop", "asyncio.get_running_loop", "asyncio.new_event_loop",
                            "asyncio.events.get_event_loop", "asyncio.events.get_running_loop"})
LOOP_ATTRIBUTES = frozenset({"loop", "_loop", "event_loop", "_event_loop"})


@python_check
class TaskDiscarded(PythonCheck):
    """Reports an expression statement that creates a task and drops it: ``asyncio.create_task``,
    ``asyncio.ensure_future``, or ``create_task`` on an event loop (a variable from
    ``asyncio.get_running_loop()`` and friends, ``self.loop``/``self._loop``). ``TaskGroup``'s
    ``create_task`` keeps its tasks and is not reported."""

    code = "LK105"

    def visit_Expr(self, stmt: ast.Expr) -> None:
        call = stmt.value
        if not isinstance(call, ast.Call):
            return
        func = call.func
        short = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if short not in ("create_task", "ensure_future") and not (
                isinstance(func, ast.Name) and func.id in self.names.aliases):
            return  # cheap filter before name resolution
        if self.under_expecting_context(stmt, self.module.enclosing_function(stmt)):
            return
        name = self.qualified(call.func)
        if name in CREATORS:
            self.report(call, callee=name.split(".")[-1])
            return
        if isinstance(func, ast.Attribute) and func.attr == "create_task" and self._is_loop(func.value, stmt):
            self.report(call, callee="loop.create_task")

    def _is_loop(self, expr: ast.expr, stmt: ast.stmt) -> bool:
        if isinstance(expr, ast.Call):
            return self.qualified(expr.func) in LOOP_FACTORIES
        if isinstance(expr, ast.Attribute):
            return expr.attr in LOOP_ATTRIBUTES
        if isinstance(expr, ast.Name):
            fn = self.module.enclosing_function(stmt)
            return any(
                self.module.enclosing_function(node) is fn
                and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
                and isinstance(node.value, ast.Call) and self.qualified(node.value.func) in LOOP_FACTORIES
                for node in self.module.nodes(ast.Assign)
            )
        return False
