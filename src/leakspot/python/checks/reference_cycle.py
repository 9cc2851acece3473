"""LK107 reference-cycle: reference cycles that only the cyclic garbage collector can free.

Three shapes:

* an exception caught in a method and stored on ``self`` or in a module global (or its
  traceback, or ``sys.exc_info()``): exception -> traceback -> the handling frame -> ``self``;
* the current frame or a traceback kept in a local variable that is never deleted
  (the cycle the ``inspect`` documentation warns about: frame -> local -> frame);
* a cycle in the class-reference graph (networkx) of one module: an instance storing a bound
  method of itself, a closure over ``self`` or ``self`` itself on an attribute, or a parent
  storing a child that keeps a strong reference back, reported only when a class on the cycle
  defines ``__del__`` or holds an OS resource (file, socket, process...), whose release then
  waits for a collection instead of happening when the last reference goes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from leakspot.python.checks import PythonCheck, display, python_check
from leakspot.python.checks.open_without_close import OPENERS
from leakspot.python.checks.resource_without_release import RESOURCES

FRAME_GETTERS = frozenset({"inspect.currentframe", "sys._getframe"})
EXC_INFO = frozenset({"sys.exc_info"})
#: Calls that make a value that no longer references the exception's traceback.
DETACHERS = frozenset({"builtins.str", "builtins.repr", "builtins.format", "builtins.type",
                       "traceback.format_exc", "traceback.format_exception", "builtins.print"})
RESOURCE_CALLS = OPENERS | frozenset(RESOURCES)
WEAK = frozenset({"weakref.ref", "weakref.proxy", "weakref.WeakMethod", "weakref.WeakSet",
                  "weakref.WeakValueDictionary", "weakref.WeakKeyDictionary", "weakref.finalize"})


@dataclass(frozen=True)
class Edge:
    """A strong reference from instances of one class to instances of another (or itself).

    Attributes:
        node: the assignment or call that creates it.
        text: what it is, for messages ("`Tree.add` stores `Node(self)` in `self.children`").
    """

    node: ast.AST
    text: str
    owner: str = ""  # the class whose instances hold the reference
    attr: str = ""  # the attribute that holds it


@python_check
class ReferenceCycle(PythonCheck):
    """Reports stored exceptions, kept frames and tracebacks, and class-level reference cycles
    through classes with finalizers or OS resources (see the module docstring)."""

    code = "LK107"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.edges: dict[tuple[str, str], Edge] = {}

    # -- exceptions stored ------------------------------------------------------------------
    def visit_ExceptHandler(self, handler: ast.ExceptHandler) -> None:
        if not handler.name:
            return
        fn = self.module.enclosing_function(handler)
        if fn is None:
            return
        method = _is_method(self.module, fn)
        globals_ = frozenset(n for g in self.module.nodes(ast.Global) if self.module.enclosing_function(g) is fn
                             for n in g.names)
        if not method and not globals_:
            return
        name = handler.name
        for stmt in handler.body:
            for node in ast.walk(stmt):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    break
                target = self._stored_on_self(node, name, globals_)
                if target:
                    holder = "`self`" if target.startswith("self.") else "its module's globals"
                    self.report(node, detail=(
                        f"the exception `{name}` is stored in `{target}`: its traceback references this "
                        f"frame of `{fn.name}()`, which references {holder}, so the exception, the frame "
                        "and every local of it stay alive until the cyclic garbage collector runs"))
                    return

    def _stored_on_self(self, node: ast.AST, name: str, globals_: frozenset[str]) -> str:
        """``self.x = e``, ``self.x = (.., e)``, ``self.errors.append(e)``, ``self.x[k] = e``,
        ``self.x = e.__traceback__``, ``LAST = e`` under ``global LAST``: where, else ""."""
        if isinstance(node, ast.Assign) and _refers_to_exception(node.value, name):
            for t in node.targets:
                if _self_attr(t):
                    return "self." + _self_attr(t)
                if isinstance(t, ast.Name) and t.id in globals_:
                    return t.id
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                "append", "add", "appendleft", "insert", "setdefault", "put", "put_nowait"):
            owner = _self_attr(node.func.value)
            if owner and any(_refers_to_exception(a, name) for a in node.args):
                return "self." + owner
        return ""

    # -- frames and tracebacks in locals ---------------------------------------------------
    def visit_Assign(self, assign: ast.Assign) -> None:
        value = assign.value
        if isinstance(value, ast.Subscript):
            value = value.value
        if not isinstance(value, ast.Call) or not value.func:
            return
        short = value.func.attr if isinstance(value.func, ast.Attribute) else getattr(value.func, "id", "")
        if short not in ("currentframe", "_getframe", "exc_info"):
            return
        callee = self.qualified(value.func)
        if callee in FRAME_GETTERS:
            if callee == "sys._getframe" and value.args and not (
                    isinstance(value.args[0], ast.Constant) and value.args[0].value == 0):
                return  # a caller's frame: it does not reference this frame's locals
            what = "the current frame"
        elif callee in EXC_INFO:
            if isinstance(assign.value, ast.Subscript) and not _index_is(assign.value, 2):
                return  # `sys.exc_info()[1]`: the exception only (its traceback is another matter)
            what = "a traceback of this frame"
        else:
            return
        fn = self.module.enclosing_function(assign)
        if fn is None:
            return
        if callee in EXC_INFO and not self._in_handler(assign, fn):
            return  # the exception was caught by a caller: its traceback starts above this frame
        names = _target_names(assign.targets)
        if callee in EXC_INFO and not isinstance(assign.value, ast.Subscript):
            names = _tb_names(assign.targets)
        for name in names:
            if name in self.locals_of(fn) and not _released(fn, name):
                self.report(assign, detail=(
                    f"`{name}` holds {what} and is never deleted: the frame of `{fn.name}()` references "
                    f"`{name}`, which references the frame, so every local stays alive until the cyclic "
                    "garbage collector runs"))
                return

    def _in_handler(self, node: ast.AST, fn) -> bool:
        p = self.module.parent(node)
        while p is not None and p is not fn:
            if isinstance(p, ast.ExceptHandler):
                return True
            p = self.module.parent(p)
        return False

    # -- class-reference graph -------------------------------------------------------------
    def _method_of(self, node: ast.AST, classes: dict[str, ast.ClassDef]):
        """(class, method, its instance parameter) around ``node``, or None."""
        fn = self.module.enclosing_function(node)
        cls = self.module.parent(fn) if fn is not None else None
        if not isinstance(cls, ast.ClassDef) or classes.get(cls.name) is not cls or not _is_method(self.module, fn):
            return None
        return cls, fn, _first_param(fn)

    def _class_edges(self, classes: dict[str, ast.ClassDef]) -> None:
        """Add the edges that methods of top-level classes create to ``self.edges``, from the
        module's node index (assignments to ``self.x`` and ``self.x.append(...)`` calls)."""
        for node in self.module.nodes(ast.Assign):
            if not any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in node.targets):
                continue
            where = self._method_of(node, classes)
            if where is None:
                continue
            cls, fn, this = where
            attr = next((_self_attr(t, this) for t in node.targets if _self_attr(t, this)), "")
            if not attr:
                continue
            if self._keeps_self(node.value, this, cls):
                self.edges.setdefault((cls.name, cls.name), Edge(node, (
                    f"`{cls.name}.{fn.name}` stores `{display(node.value)}`, which references `{this}`, "
                    f"in `{this}.{attr}`"), cls.name, attr))
            child, back = self._constructed_with_self(node.value, this, classes)
            if back is not None:
                self.edges.setdefault((cls.name, child), Edge(node, (
                    f"`{cls.name}.{fn.name}` stores `{display(node.value)}` in `{this}.{attr}`"), cls.name, attr))
                self.edges.setdefault((child, cls.name), back)
        for node in self.module.nodes(ast.Call):
            if not (isinstance(node.func, ast.Attribute) and node.func.attr in ("append", "add", "insert", "appendleft")
                    and any(isinstance(a, ast.Call) for a in node.args)):
                continue
            where = self._method_of(node, classes)
            if where is None or not _self_attr(node.func.value, where[2]):
                continue
            cls, fn, this = where
            for arg in node.args:
                child, back = self._constructed_with_self(arg, this, classes)
                if back is not None:
                    self.edges.setdefault((cls.name, child), Edge(node, (
                        f"`{cls.name}.{fn.name}` adds `{display(arg)}` to "
                        f"`{display(node.func.value)}`"), cls.name, _self_attr(node.func.value, this)))
                    self.edges.setdefault((child, cls.name), back)

    def _keeps_self(self, value: ast.expr, this: str, cls: ast.ClassDef) -> bool:
        """Is ``value`` a bound method of ``this`` (an instance method of ``cls``), a lambda
        using it, or ``this`` itself inside a container?"""
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == this:
            return _instance_method(self, cls, value.attr)
        if isinstance(value, ast.Lambda):
            return any(isinstance(n, ast.Name) and n.id == this for n in ast.walk(value.body))
        if isinstance(value, (ast.Tuple, ast.List, ast.Set)):
            return any(isinstance(e, ast.Name) and e.id == this for e in value.elts)
        if isinstance(value, ast.Call) and self._holds_arguments(value):
            # an object `self` owns that holds a callback into it:
            # `self.timer = Timer(5, self.tick)`, `self.cb = functools.partial(self.on, key)`
            args = list(value.args) + [k.value for k in value.keywords]
            return any(isinstance(a, (ast.Attribute, ast.Lambda)) and self._keeps_self(a, this, cls) for a in args)
        return False

    def _holds_arguments(self, call: ast.Call) -> bool:
        """Does the result of ``call`` keep its arguments: an instance of a class (a CapWords
        name) or ``functools.partial``, but not a weak reference, a ``weak=True`` registration,
        or a ``threading.Thread`` (which drops its target when it finishes)?"""
        callee = self.qualified(call.func) or ""
        if callee in WEAK or callee == "threading.Thread":
            return False
        if any(k.arg == "weak" for k in call.keywords):
            return False
        short = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        return callee == "functools.partial" or short[:1].isupper()

    def _constructed_with_self(self, value: ast.expr, this: str, classes: dict) -> tuple[str, Edge | None]:
        """``Child(self, ...)`` or ``Child(parent=self)`` where ``Child.__init__`` keeps that
        parameter on its instance (not through a weak reference): the child class and the
        back edge, else ("", None)."""
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in classes):
            return "", None
        child = classes[value.func.id]
        init = next((s for s in child.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
        if init is None:
            return "", None
        params = [a.arg for a in init.args.posonlyargs + init.args.args][1:]
        passed = {params[i] for i, a in enumerate(value.args) if i < len(params) and isinstance(a, ast.Name) and a.id == this}
        passed |= {k.arg for k in value.keywords if k.arg and isinstance(k.value, ast.Name) and k.value.id == this}
        child_self = _first_param(init)
        for node in ast.walk(init):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in passed:
                attr = next((_self_attr(t, child_self) for t in node.targets if _self_attr(t, child_self)), "")
                if attr:
                    return child.name, Edge(node, f"`{child.name}.__init__` keeps `{node.value.id}` in "
                                                  f"`{child_self}.{attr}`", child.name, attr)
        return "", None

    def finish(self) -> None:
        classes = {c.name: c for c in self.module.tree.body if isinstance(c, ast.ClassDef)}
        if not classes or not self._some_class_matters(classes):
            return  # no finalizer and no resource: cycles cost memory only, the collector's job
        self._class_edges(classes)
        if not self.edges:
            return
        import networkx as nx  # only modules with candidate edges pay for the import

        graph = nx.DiGraph()
        for (src, dst), edge in self.edges.items():
            graph.add_edge(src, dst, edge=edge)
        reported: set[frozenset[str]] = set()
        for cycle in nx.simple_cycles(graph, length_bound=3):
            key = frozenset(cycle)
            if key in reported:
                continue
            owners = [(c, self._why_it_matters(classes.get(c))) for c in cycle]
            start = next((i for i, (_, w) in enumerate(owners) if w), None)
            if start is None:
                continue
            cycle = cycle[start:] + cycle[:start]  # start at the class whose release is delayed
            steps = [graph.edges[cycle[i], cycle[(i + 1) % len(cycle)]]["edge"] for i in range(len(cycle))]
            if any(self._cleared(classes.get(e.owner), e.attr) for e in steps):
                continue  # the class breaks the cycle itself (`self._protocol = None` in close())
            reported.add(key)
            names = " and ".join(f"`{c}`" for c in dict.fromkeys(cycle))
            chain = "; ".join(e.text for e in steps)
            self.report(steps[0].node, related=[self.location(e.node, e.text) for e in steps[1:]], detail=(
                f"instances of {names} form a reference cycle ({chain}): {owners[start][1]} only when the "
                "cyclic garbage collector finds the cycle, not when the last reference goes"))

    def _some_class_matters(self, classes: dict[str, ast.ClassDef]) -> bool:
        """Cheap test on the node index: a top-level class defines ``__del__`` or assigns an
        attribute from an acquiring call."""
        if any(isinstance(s, ast.FunctionDef) and s.name == "__del__" for c in classes.values() for s in c.body):
            return True
        shorts = self._resource_shorts()
        for node in self.module.nodes(ast.Assign):
            v = node.value
            if isinstance(v, ast.Call) and (v.func.attr if isinstance(v.func, ast.Attribute) else getattr(v.func, "id", "")) in shorts \
                    and any(isinstance(t, ast.Attribute) for t in node.targets):
                return True
        return False

    @staticmethod
    def _resource_shorts() -> frozenset[str]:
        return frozenset(name.rsplit(".", 1)[-1] for name in RESOURCE_CALLS)

    def _cleared(self, cls: ast.ClassDef | None, attr: str) -> bool:
        """Does a method of ``cls`` set ``self.<attr>`` to None, delete it or clear it?"""
        if cls is None or not attr:
            return False
        methods = [m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name != "__init__"]
        for node in (n for m in methods for n in ast.walk(m)):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is None:
                if any(isinstance(t, ast.Attribute) and t.attr == attr for t in node.targets):
                    return True
            elif isinstance(node, ast.Delete):
                if any(isinstance(t, ast.Attribute) and t.attr == attr for t in node.targets):
                    return True
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "clear"
                  and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == attr):
                return True
        return False

    def _why_it_matters(self, cls: ast.ClassDef | None) -> str:
        if cls is None:
            return ""
        for stmt in cls.body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name == "__del__":
                return f"`{cls.name}.__del__` runs"
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and any(
                    isinstance(t, ast.Attribute) for t in node.targets):
                callee = self.qualified(node.value.func)
                if callee in RESOURCE_CALLS:
                    return f"the `{display(node.value.func)}(...)` that `{cls.name}` holds is released"
        return ""


def _is_method(mod, fn) -> bool:
    cls = mod.parent(fn)
    if not isinstance(cls, ast.ClassDef):
        return False
    if any(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in fn.decorator_list):
        return False
    return bool(fn.args.posonlyargs + fn.args.args)


def _first_param(fn) -> str:
    params = fn.args.posonlyargs + fn.args.args
    return params[0].arg if params else "self"


def _self_attr(target: ast.expr, this: str = "self") -> str:
    """``self.x``, ``self.x[k]``: "x", else ""."""
    while isinstance(target, ast.Subscript):
        target = target.value
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == this:
        return target.attr
    return ""


def _refers_to_exception(value: ast.expr, name: str) -> bool:
    """Does ``value`` keep the exception ``name`` (or its traceback) as it is: the name, inside
    a tuple/list/dict display, or ``name.__traceback__``? Calls (``str(e)``, ``e.with_traceback(None)``,
    ``Error(e)``) are not followed."""
    if isinstance(value, ast.Name):
        return value.id == name
    if isinstance(value, ast.Attribute):
        return value.attr == "__traceback__" and isinstance(value.value, ast.Name) and value.value.id == name
    if isinstance(value, (ast.Tuple, ast.List)):
        return any(_refers_to_exception(e, name) for e in value.elts)
    if isinstance(value, ast.Dict):
        return any(_refers_to_exception(v, name) for v in value.values)
    return False


def _index_is(sub: ast.Subscript, index: int) -> bool:
    return isinstance(sub.slice, ast.Constant) and sub.slice.value == index


def _target_names(targets) -> list[str]:
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _tb_names(targets) -> list[str]:
    """The name bound to the traceback by ``a, b, tb = sys.exc_info()`` or ``info = sys.exc_info()``."""
    out = []
    for t in targets:
        if isinstance(t, ast.Name):
            out.append(t.id)
        elif isinstance(t, ast.Tuple) and len(t.elts) == 3 and isinstance(t.elts[2], ast.Name):
            out.append(t.elts[2].id)
    return [n for n in out if n != "_"]


def _released(fn, name: str) -> bool:
    """Is ``name`` deleted, bound again (to None, or to another frame while walking up the
    stack), or returned in ``fn``?"""
    bindings = 0
    for node in ast.walk(fn):
        if isinstance(node, (ast.NamedExpr, ast.AugAssign, ast.For)) and isinstance(node.target, ast.Name) \
                and node.target.id == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            bindings += 1
            if bindings > 1:
                return True
        if isinstance(node, ast.Delete) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is None and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, (ast.Return, ast.Yield)) and node.value is not None and any(
                isinstance(n, ast.Name) and n.id == name
                for n in (node.value.elts if isinstance(node.value, ast.Tuple) else [node.value])):
            return True  # handed to the caller: the cycle is the caller's to break
    return False


def _instance_method(check: PythonCheck, cls: ast.ClassDef, attr: str) -> bool:
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr:
            return not any(check.qualified(d) in ("builtins.classmethod", "builtins.staticmethod",
                                                  "builtins.property", "functools.cached_property")
                           for d in stmt.decorator_list)
    return False
