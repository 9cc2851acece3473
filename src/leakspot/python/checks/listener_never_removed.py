"""LK106 listener-never-removed: a handler, filter or hook added each time a function runs and
never removed."""

from __future__ import annotations

import ast

from leakspot.python.checks import PythonCheck, display, python_check
from leakspot.python.checks.unbounded_module_cache import REGISTRAR_NAME, _is_script

#: method -> (what it adds, the method that removes it); receivers must be loggers.
LOGGER_PAIRS = {"addHandler": ("log handler", "removeHandler"), "addFilter": ("log filter", "removeFilter")}
#: qualified function -> (what it adds, the function that removes it, or "" when nothing can).
FUNCTION_PAIRS = {
    "atexit.register": ("exit callback", "atexit.unregister"),
    "sys.addaudithook": ("audit hook", ""),
}
FUNCTION_SHORT_NAMES = frozenset(name.rsplit(".", 1)[1] for name in FUNCTION_PAIRS)
LOGGER_FACTORIES = frozenset({"logging.getLogger", "logging.Logger", "logging.getLoggerClass"})
RUN_ONCE = frozenset({"setUpClass", "setUpModule", "ready", "__init_subclass__"})
PER_INSTANCE = frozenset({"__init__", "__new__", "__call__", "__enter__", "__aenter__", "__post_init__"})


@python_check
class ListenerNeverRemoved(PythonCheck):
    """Reports ``logger.addHandler``/``addFilter``, ``atexit.register`` and ``sys.addaudithook``
    calls in functions that may run many times, when nothing in the module removes them."""

    code = "LK106"

    def visit_Call(self, call: ast.Call) -> None:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in LOGGER_PAIRS:
            what, remover = LOGGER_PAIRS[func.attr]
            if not self._is_logger(func.value, call):
                return
            shown = f"{display(func.value)}.{func.attr}(...)"
        elif (_short(func) in FUNCTION_SHORT_NAMES or (isinstance(func, ast.Name) and func.id in self.names.aliases)) \
                and self.qualified(func) in FUNCTION_PAIRS:
            what, remover = FUNCTION_PAIRS[self.qualified(func)]
            shown = f"{display(func)}(...)"
        else:
            return
        fn = self.module.enclosing_function(call)
        if fn is None or self._runs_once(fn) or self._guarded(call, fn):
            return
        if not isinstance(func, ast.Attribute) or func.attr not in LOGGER_PAIRS:
            # exit callbacks and audit hooks are mostly meant once per process: report them
            # only where they clearly repeat, per instance or per loop iteration
            if fn.name not in PER_INSTANCE and not self._in_loop(call, fn):
                return
        if remover and self._module_calls(remover):
            return
        why = (f"nothing in this module calls `{remover.rsplit('.', 1)[-1]}`" if remover
               else "it can never be removed")
        self.report(call, call=shown, what=what, function=fn.name, why=why)

    # -- helpers ---------------------------------------------------------------------------
    def _is_logger(self, expr: ast.expr, call: ast.Call) -> bool:
        if isinstance(expr, ast.Call):
            return self.qualified(expr.func) in LOGGER_FACTORIES
        if isinstance(expr, ast.Attribute) and self.qualified(expr) == "logging.root":
            return True
        name = expr.id if isinstance(expr, ast.Name) else expr.attr if isinstance(expr, ast.Attribute) else None
        if name is None:
            return False
        for node in self.module.nodes(ast.Assign):
            if isinstance(node.value, ast.Call) and self.qualified(node.value.func) in LOGGER_FACTORIES:
                for t in node.targets:
                    if (isinstance(t, ast.Name) and t.id == name) or (isinstance(t, ast.Attribute) and t.attr == name):
                        return True
        return False

    def _runs_once(self, fn) -> bool:
        names = [fn.name]
        p = self.module.parent(fn)
        while p is not None:
            if isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.append(p.name)
            p = self.module.parent(p)
        if any(n in RUN_ONCE or (not n.startswith("__") and REGISTRAR_NAME.search(n)) for n in names):
            return True
        return _is_script(self.module)  # a program that runs once, nothing imports it

    def _resets_lists(self, attr: str) -> bool:
        """``logger.handlers = []``, ``root.handlers[:] = saved`` or ``logger.handlers.clear()``."""
        for node in self.module.nodes(ast.Assign):
            if any(_attr_of(t) == attr for t in node.targets):
                return True
        for node in self.module.nodes(ast.Attribute):
            if node.attr == "clear" and _attr_of(node.value) == attr:
                return True
        return False

    def _in_loop(self, call: ast.Call, fn) -> bool:
        p = self.module.parent(call)
        while p is not None and p is not fn:
            if isinstance(p, (ast.For, ast.AsyncFor, ast.While)):
                return True
            p = self.module.parent(p)
        return False

    def _guarded(self, call: ast.Call, fn) -> bool:
        """Under a test that makes the add idempotent: ``if not logger.handlers:``,
        ``if h not in logger.handlers:``, ``if not has_level_handler(logger):``, or a once-flag
        (``if not self._registered: ... self._registered = True``)."""
        p = self.module.parent(call)
        while p is not None and p is not fn:
            if isinstance(p, ast.If):
                for n in ast.walk(p.test):
                    name = n.attr if isinstance(n, ast.Attribute) else n.id if isinstance(n, ast.Name) else ""
                    if "handler" in name.lower() or "filter" in name.lower():
                        return True
                if isinstance(p.test, ast.UnaryOp) and isinstance(p.test.op, ast.Not):
                    flag = _flag_name(p.test.operand)
                    if flag and any(isinstance(a, ast.Assign) and any(_flag_name(t) == flag for t in a.targets)
                                    for b in p.body for a in ast.walk(b)):
                        return True
            p = self.module.parent(p)
        return False

    def _module_calls(self, remover: str) -> bool:
        short = remover.rsplit(".", 1)[-1]
        if short in ("removeHandler", "removeFilter") and self._resets_lists("handlers" if short == "removeHandler" else "filters"):
            return True
        for node in self.module.nodes(ast.Call):
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr == short) or (isinstance(f, ast.Name) and f.id == short):
                return True
        for node in self.module.nodes(ast.Attribute):
            if node.attr == short:
                return True  # handed over as a callback: `self.addCleanup(logger.removeHandler, h)`
        return False


def _short(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _attr_of(expr: ast.expr) -> str:
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return expr.attr if isinstance(expr, ast.Attribute) else ""


def _flag_name(expr: ast.expr) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return ""
