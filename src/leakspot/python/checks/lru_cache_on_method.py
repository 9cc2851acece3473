"""LK102 lru-cache-on-method: ``functools.lru_cache``/``cache`` on an instance method."""

from __future__ import annotations

import ast

from leakspot.python.checks import PythonCheck, is_test_module, memoised_by_metaclass, python_check
from leakspot.python.checks.listener_never_removed import _new_singleton
from leakspot.python.parse import FunctionNode, module_dotted

CACHE_DECORATORS = frozenset({
    "functools.lru_cache", "functools.cache",
    # cachetools' drop-in decorators: same keys (self included), `maxsize` 128 by default
    "cachetools.func.lru_cache", "cachetools.func.lfu_cache", "cachetools.func.fifo_cache",
    "cachetools.func.rr_cache", "cachetools.func.mru_cache", "cachetools.func.ttl_cache",
    # `cachetools.cached(cache)`: keyed by every argument unless `key=` says otherwise
    "cachetools.cached",
})
#: Decorators after which the function no longer receives an instance as first argument.
NOT_INSTANCE = frozenset({"builtins.staticmethod", "builtins.classmethod"})
#: First-parameter names that say the method receives a class (PEP 8, pylint's convention).
CLASS_ARGUMENT_NAMES = frozenset({"cls", "mcs", "mcls", "metacls", "klass"})
#: Methods Python calls with the class as first argument.
IMPLICIT_CLASSMETHODS = frozenset({"__new__", "__init_subclass__", "__class_getitem__"})
#: Bases whose instances live as long as the class (members of an Enum), so keeping them is free.
SINGLETON_BASES = frozenset(
    {"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"}
)


@python_check
class LruCacheOnMethod(PythonCheck):
    """Reports cache decorators on methods of a class body (nested classes included).

    The decorator's cache is stored on the function, which lives as long as the class, and its
    keys include ``self``: every instance the method was called on stays reachable until
    evicted (never, with ``maxsize=None`` or ``functools.cache``). A ``maxsize`` of 0 or less
    caches nothing (``functools.lru_cache`` then only counts misses; cachetools stores no entry
    larger than its cache), so it is not reported. Not in test code
    (:func:`~leakspot.python.checks.is_test_module`): a test's instances live for one run of
    the suite, and a cache library's tests cache methods on purpose.
    """

    code = "LK102"
    _module_constants: dict[str, int] | None = None

    def _constants(self) -> dict[str, int]:
        """The module's names bound once, at top level, to an int (``_LOCK_COUNT = 7``)."""
        if self._module_constants is None:
            values: dict[str, list] = {}
            for stmt in self.module.tree.body:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                    for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]):
                        if isinstance(t, ast.Name):
                            values.setdefault(t.id, []).append(stmt.value)
            self._module_constants = {
                n: v[0].value for n, v in values.items() if len(v) == 1 and isinstance(v[0], ast.Constant)
                and isinstance(v[0].value, int) and not isinstance(v[0].value, bool)}
        return self._module_constants

    def visit_ClassDef(self, cls: ast.ClassDef) -> None:
        if is_test_module(self.module.path):
            return
        if any(self.qualified(b) in SINGLETON_BASES for b in cls.bases):
            return
        extra = self.settings.option(self.rule.slug, "extra-cache-decorators")
        for stmt in cls.body:
            if not isinstance(stmt, FunctionNode):
                continue
            if stmt.name in IMPLICIT_CLASSMETHODS:
                continue  # receives the class, not an instance
            # decorators are evaluated in the class body: resolve them at module scope (a
            # method's own locals do not shadow them)
            decorators = [self.names.qualified(_callee(d), frozenset()) for d in stmt.decorator_list]
            if any(d in NOT_INSTANCE for d in decorators):
                continue
            positional = stmt.args.posonlyargs + stmt.args.args
            if not (positional or stmt.args.vararg):
                continue
            if positional and positional[0].arg in CLASS_ARGUMENT_NAMES:
                continue  # `@classproperty`, `classmethod(f)` later: it receives the class
            for node, name in zip(stmt.decorator_list, decorators):
                if name == "cachetools.cached" and isinstance(node, ast.Call) and any(
                        k.arg == "key" for k in node.keywords):
                    continue  # a custom key function may leave `self` out
                if name in CACHE_DECORATORS or name in extra:
                    bound = _maxsize(node, name, self._constants())
                    if bound.lstrip("-").isdigit() and int(bound) <= 0:
                        continue  # `lru_cache(maxsize=0)` wraps the method without caching: it keeps nothing
                    if bound and name != "cachetools.cached" and self._one_instance(cls):
                        continue  # a singleton, kept anyway: a bounded cache keeps nothing more of it
                    how = "until evicted from the cache object it shares with every instance" \
                        if name == "cachetools.cached" else (
                        "until evicted from a cache of at most " + bound + (" entry" if bound == "1" else " entries")
                        if bound
                        else "forever: the cache is unbounded"
                    )
                    self.report(
                        node,
                        decorator=name.split(".")[-1],
                        method=f"{cls.name}.{stmt.name}",
                        how=how,
                    )
                    if bound and name != "cachetools.cached" and self.module.parent(cls) is self.module.tree:
                        # a bounded cache keeps at most its entries' instances: when the run
                        # makes the class only once (a registry made at import, or under
                        # `if _registry is None:`), that is one object, which lives anyway.
                        # The project phase drops the finding then (drop_grown_at_import).
                        self.findings[-1].grown_by = (f"{module_dotted(self.module.path)}.{cls.name}".lstrip("."),)


    def _one_instance(self, cls: ast.ClassDef) -> bool:
        """Does ``cls`` hand out one instance that lives anyway: its ``__new__`` returns
        ``cls.X`` after setting it under a test of it (nagiosplugin's ``Runtime``), or its
        metaclass, a class of this module, memoises what it makes
        (:func:`~leakspot.python.checks.memoised_by_metaclass`)?"""
        return _new_singleton(cls) or memoised_by_metaclass(self.module, cls)


def _callee(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def _maxsize(decorator: ast.expr, name: str, constants: dict[str, int] | None = None) -> str:
    """The ``maxsize`` of a cache decorator as text: "128", the value of a module-level
    constant it names (``maxsize=_LOCK_COUNT`` with ``_LOCK_COUNT = 7``: "7"), else the
    expression in backquotes; "" when unbounded."""
    if name == "functools.cache":
        return ""
    if not isinstance(decorator, ast.Call):
        return "128"  # bare @lru_cache
    args = list(decorator.args[:1]) + [k.value for k in decorator.keywords if k.arg == "maxsize"]
    if not args:
        return "128"
    v = args[0]
    if isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.USub) and isinstance(v.operand, ast.Constant) \
            and isinstance(v.operand.value, int) and not isinstance(v.operand.value, bool):
        return str(-v.operand.value)  # `maxsize=-1`
    if isinstance(v, ast.Constant) and isinstance(v.value, int) and not isinstance(v.value, bool):
        return str(v.value)
    if isinstance(v, ast.Constant) and v.value is None:
        return ""
    if isinstance(v, ast.Name) and constants and v.id in constants:
        return str(constants[v.id])
    return f"`{ast.unparse(v)}`"
