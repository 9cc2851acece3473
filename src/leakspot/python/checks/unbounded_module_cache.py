"""LK101 unbounded-module-cache: a module- or class-level container that only ever grows."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field

from leakspot.python.bases import based_on, search_bases
from leakspot.python.checks import (LOOPS, PROCESS_EXITS, PythonCheck, comments_at, display, is_test_module,
                                    is_test_name, made_before, new_object, python_check, short_name)
from leakspot.model import CallFacts
from leakspot.python.parse import FunctionNode, absolute_name, module_dotted

#: Model classes whose annotated class attributes are per-instance defaults, copied into
#: each instance (pydantic's fields and private attributes, msgspec's fields), not containers
#: shared by the class; ``ClassVar[...]`` ones stay class attributes.
MODEL_BASES = frozenset({
    "pydantic.BaseModel", "pydantic.main.BaseModel", "pydantic.RootModel", "pydantic.root_model.RootModel",
    "pydantic.v1.BaseModel", "pydantic.generics.GenericModel", "pydantic_settings.BaseSettings",
    "pydantic.BaseSettings", "sqlmodel.SQLModel", "msgspec.Struct",
})
#: :data:`leakspot.python.bases.Owns` for the project phase: does a class derive from a model?
derives_from_model = based_on(MODEL_BASES)

CONTAINER_CALLS = frozenset(
    {
        "builtins.dict", "builtins.list", "builtins.set", "collections.OrderedDict",
        "collections.defaultdict", "collections.Counter", "collections.deque",
    }
)
GROW_METHODS = frozenset(
    {"append", "add", "setdefault", "update", "extend", "insert", "appendleft", "extendleft"}
)
SHRINK_METHODS = frozenset(
    {"pop", "popitem", "clear", "remove", "discard", "popleft", "__delitem__", "difference_update",
     "intersection_update", "move_to_end"}
)
READ_METHODS = frozenset({"get", "__contains__", "__getitem__", "keys", "values", "items", "copy",
                          "index", "count", "issubset", "issuperset", "union", "intersection",
                          "difference", "isdisjoint", "most_common", "elements"})
#: Builtins that read a container without keeping it.
READERS = frozenset({"builtins.len", "builtins.iter", "builtins.list", "builtins.sorted",
                     "builtins.tuple", "builtins.set", "builtins.frozenset", "builtins.dict",
                     "builtins.any", "builtins.all", "builtins.sum", "builtins.min", "builtins.max",
                     "builtins.enumerate", "builtins.reversed", "builtins.isinstance",
                     "builtins.repr", "builtins.str", "builtins.bool", "builtins.print"})
#: Functions named like this register things: callers decide how many entries there are.
#: Command-line option handlers (Twisted's ``opt_*`` methods, ``process_options``) run once per
#: command line, so they are named here too. An ``async_`` prefix (Home Assistant's
#: ``async_setup``, ``async_enable_logging``) names the coroutine of the same job.
REGISTRAR_NAME = re.compile(
    r"^_*(?:async_)?(?i:register|add|install|define|declare|setup|set_up|init|initialize|configure|bind|load|"
    r"populate|enable|main|export|patch|hook|opt)(_|$|[A-Z])|config|"
    r"^_*(?:async_)?(?i:parse|process|handle)_?(?i:options|opts|args|argv|command_?line)$"
)
#: Functions named like this run while a program sets itself up, once each (what they call
#: outside a loop runs once too): a narrower list than :data:`REGISTRAR_NAME`, whose ``add_``,
#: ``load`` and ``config`` also name functions that run per request (``add_item``,
#: ``load_user``, ``get_config_value``). Measured in 0.2.6 on the precision corpora
#: (docs/precision.md): narrowing the growing function's own test to this list adds 4
#: findings, all false (numpy's ``add_system_root()``, structlog's ``bind_contextvars()``);
#: widening the callers' test to :data:`REGISTRAR_NAME` loses a true one (Ansible's
#: ``ConfigManager.DEPRECATED``, grown from a ``*config*`` function per lookup). So two lists.
SETUP_NAME = re.compile(
    r"^_*(?:async_)?(?i:register|install|setup|set_up|init|initialize|configure|populate|define|declare|main)"
    r"(_|$|[A-Z])")
#: Parameters named like these hold types or modes: a finite domain, so caches keyed by them fill up.
FINITE_PARAM = re.compile(r"^(cls|klass|class_?|type|typ|tp|kind|mode|flag|flags)$|_(type|class|kind|mode)$")
#: Calls whose result is new on every call: identities, hashes, formatted text. Not the
#: thread's or process's own id (``threading.get_ident()``, ``os.getpid()``): the same on every
#: call in one thread, so a cache keyed by it holds one entry per thread (pandera's
#: ``MODEL_CACHE[(cls, threading.get_ident())]``, measured on the tenth set of
#: docs/precision.md: 4 findings, all false).
PER_CALL_FUNCTIONS = frozenset({"builtins.id", "builtins.hash", "builtins.str", "builtins.repr",
                                "builtins.format", "builtins.object", "itertools.count"})
#: Calls that turn a value into text or a hash: as new from call to call as what they convert.
TEXT_FUNCTIONS = frozenset({"builtins.str", "builtins.repr", "builtins.format", "builtins.hash"})
#: Calls that make a weak reference: an entry holding one does not keep its object alive.
WEAK_REFERENCES = frozenset({"weakref.ref", "weakref.proxy", "weakref.WeakMethod"})
#: Methods that run once per class, when the class is defined: ``__init_subclass__``,
#: ``__set_name__``, and Django's ``contribute_to_class``, which ``ModelBase`` calls for each
#: field and manager of a model class it makes.
CLASS_DEFINITION_HOOKS = frozenset({"__init_subclass__", "__set_name__", "contribute_to_class"})
#: Methods that run when the code that uses a class runs, at import in practice.
IMPORT_TIME_METHODS = CLASS_DEFINITION_HOOKS | {"__class_getitem__"}
#: A comment on or just above a container's definition saying it retains objects on purpose.
KEEP_ALIVE_COMMENT = re.compile(
    r"keep(s|ing)?[- ]?(\w+ )?(alive|references?|refs?)\b|outlive|"
    r"(ensure|extend|prolong)\w*\W+(\w+\W+){0,3}lifetime|"
    r"(prevent|avoid|from being)\W+(\w+\W+){0,3}garbage[- ]collect|intentional(ly)? (leak|kept|retain)",
    re.IGNORECASE)


@dataclass
class Container:
    """A module- or class-level container and what functions do to it."""

    name: str
    owner: ast.ClassDef | None
    node: ast.stmt
    kind: str
    grows: list[tuple[ast.AST, ast.AST]] = field(default_factory=list)  # (site, function)
    bounded: bool = False
    reads: set[int] = field(default_factory=set)  # ids of functions that look keys up
    bases: tuple[str, ...] = ()  # bases in other modules that may make it a model's per-instance field


@python_check
class UnboundedModuleCache(PythonCheck):
    """Reports module/class-level dicts, lists and sets that functions insert into while
    nothing removes from, clears, rebinds or length-checks them.

    Growth at import time (module top level, class bodies, decorators, ``__init_subclass__``,
    functions named like registrars) is a registry, not a leak; a container that escapes (is
    passed to a call, returned or aliased) may be bounded elsewhere and is not reported.
    """

    code = "LK101"

    def finish(self) -> None:
        if self.module.path.rsplit("/", 1)[-1] == "setup.py":
            return  # a build script runs once: nothing it fills outlives it
        if is_test_module(self.module.path):
            return  # a test suite runs once: what its code fills is bounded by its tests
        if is_documentation_module(self.module.path):
            return  # an example's in-memory store stands in for a database, on purpose
        self._calls = _module_function_calls(self.module)
        self._attribute_calls: dict[str, list[ast.Call]] | None = None  # `x.name(...)` by name, on demand
        self._mutable_defaults()
        tree = self.module.tree
        containers: dict[tuple[str, str], Container] = {}
        for stmt in _module_statements(tree.body):
            self._collect(stmt, None, containers)
            if isinstance(stmt, ast.ClassDef):
                for s in stmt.body:
                    self._collect(s, stmt, containers)
        if not containers:
            return
        decorators = _decorator_names(self.module)
        instance_attrs = _instance_attributes(self.module)
        self._deleted = _deleted_at_module_level(tree)
        self._script = _is_script(self.module)
        # only functions that mention a container's name can grow it
        wanted = {name for _, name in containers}
        mentioned = {}
        for node in self.module.nodes(ast.Name, ast.Attribute):
            if (node.id if isinstance(node, ast.Name) else node.attr) in wanted:
                fn = self.module.enclosing_function(node)
                if fn is not None:
                    mentioned[id(fn)] = fn
        for fn in sorted(mentioned.values(), key=lambda f: (f.lineno, f.col_offset)):
            self._scan_function(fn, containers, decorators, instance_attrs)
        for c in containers.values():
            if c.bounded or not c.grows or _documented_keep_alive(self.module, c.node):
                continue
            site, fn = c.grows[0]
            where = f"`{fn.name}()` (line {site.lineno})"
            owner = f"class attribute `{c.owner.name}.{c.name}`" if c.owner else f"module-level `{c.name}`"
            if id(fn) in c.reads and c.kind not in ("list", "deque"):
                what = f"{owner} is a memoisation cache: {where} adds an entry for every new key"
            else:
                what = f"{owner} grows in {where}"
            loop = _in_infinite_loop(self.module, site, fn)
            if loop:
                what += f", on every iteration of the `while True` loop on line {loop.lineno}"
            related = [
                self.location(s, f"`{c.name}` grows here, in `{f.name}()`") for s, f in c.grows[:5]
            ]
            grown_by = tuple(sorted({_callable_name(self.module, f) for _, f in c.grows}))
            self.report(c.node, related=related, key=c.name, what=what, kind=c.kind)
            self.findings[-1].grown_by = () if "" in grown_by else grown_by
            self.findings[-1].bases = c.bases

    def _mutable_defaults(self) -> None:
        """Report ``def f(key, cache={})`` when ``f`` grows ``cache`` per call and nothing
        bounds it: the default is created once, when ``def`` runs, and shared by every call.
        Only module-level functions and methods: a nested function's defaults are made anew
        each time its ``def`` runs."""
        for fn in self.module.nodes(ast.FunctionDef, ast.AsyncFunctionDef):
            holder = self.module.parent(fn)
            if holder is not self.module.tree and not (
                    isinstance(holder, ast.ClassDef) and self.module.parent(holder) is self.module.tree):
                continue
            a = fn.args
            positional = a.posonlyargs + a.args
            pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
            pairs += [(x, d) for x, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
            for param, default in pairs:
                kind = self._container_kind(default)
                if not kind:
                    continue
                grows, bounded, reads = [], False, False
                own = {id(n) for n in _own_nodes(fn)}
                for node in ast.walk(fn):  # nested closures see the default too
                    if not (isinstance(node, ast.Name) and node.id == param.arg):
                        continue
                    effect = _effect(self, node)
                    if effect == "grow" and id(node) not in own:
                        effect = "bound"  # grown by a closure: its calls are not this function's
                    if effect == "grow":
                        # not a registry: nobody outside the function can see the default
                        if (not self._registry_or_bounded_keys(node, fn, registry=False)
                                and not self._lazy_initialisation(node, fn, {("", param.arg)})
                                and self._grows_per_call(node, fn)):
                            grows.append(self.module.parent(node))
                    elif effect == "bound":
                        bounded = True
                    elif effect == "read":
                        reads = True
                if bounded or not grows:
                    continue
                where = f"`{fn.name}()` (line {grows[0].lineno})"
                owner = f"the mutable default `{param.arg}={display(default)}` of `{fn.name}()`, created once and shared by every call,"
                what = (f"{owner} is a memoisation cache: {where} adds an entry for every new key"
                        if reads and kind not in ("list", "deque") else f"{owner} grows in {where}")
                self.report(default, related=[self.location(g, f"`{param.arg}` grows here") for g in grows[:5]],
                            key=f"{fn.name}.{param.arg}", what=what, kind=kind)

    # -- collection ---------------------------------------------------------------------
    def _collect(self, stmt: ast.stmt, owner, out: dict) -> None:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            return
        if not isinstance(target, ast.Name):
            return
        kind = self._container_kind(value)
        if not kind:
            return
        bases: tuple[str, ...] = ()
        if owner is not None and isinstance(stmt, ast.AnnAssign) and not self._class_var(stmt.annotation):
            # `_cache: dict[int, X] = {}` in a pydantic model is a default each instance copies
            if derives_from_model(self.module, owner, "") or (
                    found := search_bases(self.module, owner, "", derives_from_model))[0]:
                return
            bases = found[1]
        out[(owner.name if owner else "", target.id)] = Container(target.id, owner, stmt, kind, bases=bases)

    def _class_var(self, annotation: ast.expr) -> bool:
        """Is a class attribute's annotation ``ClassVar`` or ``ClassVar[...]`` (also written as text)?"""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            return re.match(r"\s*(?:[\w.]+\.)?ClassVar\b", annotation.value) is not None
        node = annotation.value if isinstance(annotation, ast.Subscript) else annotation
        name = self.names.qualified(node) or ""
        return name.rsplit(".", 1)[-1] == "ClassVar"

    def _container_kind(self, value: ast.expr) -> str:
        if isinstance(value, ast.Dict):
            return "dict"
        if isinstance(value, ast.List):
            return "list"
        if isinstance(value, ast.Set):
            return "set"
        if isinstance(value, ast.Call):
            name = self.names.qualified(value.func)
            if name not in CONTAINER_CALLS:
                return ""
            if name == "collections.deque" and (
                len(value.args) > 1 or any(k.arg == "maxlen" for k in value.keywords)
            ):
                return ""
            return name.rsplit(".", 1)[-1]
        return ""

    # -- uses ---------------------------------------------------------------------------
    def _scan_function(self, fn, containers, decorators, instance_attrs) -> None:
        chain = _function_chain(self.module, fn)
        local = set().union(*(self.locals_of(f) for f in chain))
        cls = _enclosing_class(self.module, fn)
        import_time = _runs_at_import(self.module, chain, decorators) or any(
            self._only_called_at_import(f) for f in chain) or any(
            is_test_name(f.name) for f in chain)  # a test runs once
        for node in _own_nodes(fn):
            c = self._resolve(node, containers, local, cls, instance_attrs)
            if c is None:
                continue
            effect = _effect(self, node)
            if effect == "grow":
                if (not import_time and not self._registry_or_bounded_keys(node, fn)
                        and not self._lazy_initialisation(node, fn, containers)
                        and not self._after_fork(node, fn)
                        and self._grows_per_call(node, fn)):
                    c.grows.append((self.module.parent(node), fn))
            elif effect == "bound":
                c.bounded = True
            elif effect == "read":
                c.reads.add(id(fn))

    def _lazy_initialisation(self, ref: ast.expr, fn, containers) -> bool:
        """Is the growth under ``if not C:`` (or ``if len(C) == 0:``, ``if C is None``-style
        emptiness tests) where ``C`` is one of the module's or class's containers? Then it fills
        them once, on first use, and never again."""
        names = {name for _, name in containers}
        p = self.module.parent(ref)
        while p is not None and p is not fn:
            if isinstance(p, ast.If) and _tests_emptiness(p.test, names):
                return True
            p = self.module.parent(p)
        # `if cache: return cache[0]` earlier in the function: past it the container is empty
        for stmt in fn.body:
            if stmt.lineno >= ref.lineno:
                break
            if (isinstance(stmt, ast.If) and _tests_filled(stmt.test, names) and stmt.body
                    and isinstance(stmt.body[-1], (ast.Return, ast.Raise))):
                return True
        return False

    def _after_fork(self, ref: ast.expr, fn) -> bool:
        """Is the growth under a test of the process id (``if self.pid != os.getpid():``, also
        through a local assigned from ``os.getpid()``)? That block runs once in each process
        that ``fork()`` makes (fork-safety code parks the parent's connections there, as
        ``multiprocessing.util.register_after_fork`` callbacks do), not once per call."""
        pids = {t.id for node in ast.walk(fn) if isinstance(node, ast.Assign) and self._getpid(node.value)
                for t in node.targets if isinstance(t, ast.Name)}
        p = self.module.parent(ref)
        while p is not None and p is not fn:
            if isinstance(p, ast.If) and any(
                    isinstance(c, ast.Compare) and any(
                        self._getpid(e) or isinstance(e, ast.Name) and e.id in pids
                        for e in (c.left, *c.comparators))
                    for c in ast.walk(p.test)) and p.body[0].lineno <= ref.lineno <= p.body[-1].end_lineno:
                return True
            p = self.module.parent(p)
        return False

    def _getpid(self, e: ast.expr) -> bool:
        return isinstance(e, ast.Call) and self.qualified(e.func) == "os.getpid"

    def _grows_per_call(self, ref: ast.expr, fn) -> bool:
        """Is there evidence that this growth adds a new entry on (almost) every call?

        Evidence: it happens inside ``while True``; it appends to a sequence without a
        membership guard; or its key is per-call data: an identity (``id(x)``, ``self``), a
        hash, a time, or text formatted at run time (``str(x)``, f-strings, ``%``). A dict or
        set keyed directly by a parameter is not reported: its domain is unknown, and in real
        code it is usually finite (types, prefix lengths, command names). Nor is growth that
        stores a weak reference (``weakref.ref(app)``) outside ``while True``: like a
        ``WeakSet`` that is never pruned, each entry keeps a reference cell of a few tens of
        bytes, not the object.
        """
        if _in_infinite_loop(self.module, ref, fn):
            return True
        key, value = _key_and_value(self.module, ref)
        if any(self._from_sys_modules(e, fn, 0) for e in (key, value) if e is not None):
            return False  # modules: bounded by the imports, and sys.modules keeps them anyway
        if isinstance(value, ast.Call) and self.qualified(value.func) in WEAK_REFERENCES:
            return False  # a hand-written WeakSet: tens of bytes an entry, never the object
        p = self.module.parent(ref)
        if isinstance(p, ast.Attribute) and p.attr in ("append", "appendleft", "extend", "extendleft", "insert"):
            if p.attr in ("extend", "extendleft") and _filtered_against(value, ref):
                return False
            return not _guarded_by_membership(self.module, ref, key, fn)
        if isinstance(p, ast.AugAssign):
            return not (p.target is ref and _filtered_against(p.value, ref))
        return key is not None and self._per_call_key(key, fn, 0)

    def _from_sys_modules(self, expr: ast.expr, fn, depth: int) -> bool:
        """Is ``expr`` a module object (or its ``id``/``hash``/name) taken from ``sys.modules``:
        directly, through a local assigned from it, or as the target of a loop or
        comprehension over it (followed through up to 3 local assignments)?"""
        if depth > 3:
            return False
        for node in ast.walk(expr):
            if isinstance(node, ast.Attribute) and self.qualified(node) == "sys.modules":
                return True
        if isinstance(expr, ast.Call) and len(expr.args) == 1 and (
                self.qualified(expr.func) in ("builtins.id", "builtins.hash")):
            expr = expr.args[0]
        names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
        if not isinstance(expr, (ast.Name, ast.Attribute, ast.Subscript)) or not names:
            return False
        for node in ast.walk(fn):
            if isinstance(node, (ast.Assign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                source = node.value
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                targets, source = [node.target], node.iter
            else:
                continue
            if any(isinstance(t, ast.Name) and t.id in names for tg in targets for t in ast.walk(tg)):
                if self._from_sys_modules(source, fn, depth + 1):
                    return True
                if isinstance(source, (ast.ListComp, ast.SetComp, ast.GeneratorExp)) and any(
                        self._from_sys_modules(g.iter, fn, depth + 1) for g in source.generators):
                    return True
        return False

    def _per_call_key(self, key: ast.expr, fn, depth: int) -> bool:
        """Is ``key`` per-call data (see :meth:`_grows_per_call`), followed through up to 3
        local assignments?

        Text or a hash is per-call when what it is made of is data (:meth:`_is_data`). So text
        formatted only from the instance's own attributes (``f"{self.hive}\\{self.path}"``) is
        not: it repeats on every call of one instance, as a key that is the attribute itself
        does; nor is text of places in the source (``f"{frame.filename}:{frame.lineno}"``), one
        per line of the program. Nor is the identity of a module-level object, or of a value
        that falls back to one (``id(kwargs.pop("lookup", SEARCH_PATH))``): the shared object
        is the same on every call."""
        if depth > 3:
            return False
        if isinstance(key, ast.JoinedStr):
            return any(self._is_data(v.value, fn, 0) for v in key.values if isinstance(v, ast.FormattedValue))
        if isinstance(key, ast.BinOp) and isinstance(key.op, (ast.Mod, ast.Add)) and (
                isinstance(key.left, ast.Constant) and isinstance(key.left.value, str)):
            return self._is_data(key.right, fn, 0)
        if isinstance(key, ast.Tuple):
            return any(self._per_call_key(e, fn, depth + 1) for e in key.elts)
        if isinstance(key, ast.Call):
            name = self.qualified(key.func) or ""
            if name == "builtins.id" and len(key.args) == 1:
                return not self._shared_object(key.args[0], fn)
            if name in TEXT_FUNCTIONS:
                return any(self._is_data(a, fn, 0) for a in key.args)
            if name in PER_CALL_FUNCTIONS or name.split(".")[0] in ("time", "uuid", "datetime"):
                return True
            return isinstance(key.func, ast.Attribute) and key.func.attr == "format" and any(
                self._is_data(a, fn, 0) for a in [*key.args, *(k.value for k in key.keywords)])
        if isinstance(key, ast.Name):
            if key.id == "self":
                return True
            for node in _own_nodes(fn):
                if (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name) and node.targets[0].id == key.id
                        and self._per_call_key(node.value, fn, depth + 1)):
                    return True
        return False

    def _is_data(self, expr: ast.expr, fn, depth: int) -> bool:
        """Does ``expr`` carry data from outside the module's own control, so that text or a
        hash made of it takes new values from call to call?

        Data is: a parameter of a public function or of a method (``self`` and ``cls`` are not;
        of a private module-level function, only when one of its calls in the module passes
        data, or when the module never calls it), a per-call value (an identity, a time), a
        local assigned from data or given data by a method call (``r.seed(seed)``), followed
        through up to 3 assignments and loops, and a closure's variable that is data where it
        is defined. Not data: constants, module-level names, attributes of ``self``/``cls``,
        places in the source (``frame.lineno``), and locals read from settings
        (``settings.results.path``)."""
        if depth > 3 or isinstance(expr, ast.Constant) or _instance_state(expr):
            return False
        if isinstance(expr, ast.Attribute):
            return self._is_data(expr.value, fn, depth)
        if isinstance(expr, ast.Subscript):
            return self._is_data(expr.value, fn, depth) or self._is_data(expr.slice, fn, depth)
        if isinstance(expr, ast.Call):
            name = self.qualified(expr.func) or ""
            if name in PER_CALL_FUNCTIONS and name not in TEXT_FUNCTIONS or name.split(".")[0] in (
                    "time", "uuid", "datetime"):
                return True
            parts = [*expr.args, *(k.value for k in expr.keywords)]
            if isinstance(expr.func, ast.Attribute):
                parts.append(expr.func.value)
            return any(self._is_data(a.value if isinstance(a, ast.Starred) else a, fn, depth) for a in parts)
        if not isinstance(expr, ast.Name):
            return any(self._is_data(c, fn, depth) for c in ast.iter_child_nodes(expr) if isinstance(c, ast.expr))
        if expr.id in ("self", "cls"):
            return False
        if expr.id in _params(fn):
            return self._argument_is_data(fn, expr.id, depth)
        if expr.id not in self.locals_of(fn):
            outer = next((f for f in _function_chain(self.module, fn)[1:]
                          if expr.id in _params(f) or expr.id in self.locals_of(f)), None)
            # a closure's variable is what it is in the function that defines it
            return outer is not None and self._is_data(expr, outer, depth + 1)
        for node in _own_nodes(fn):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == expr.id
                    and any(self._is_data(a, fn, depth + 1) for a in node.args)):
                return True  # `r = Random(); r.seed(seed)`: it takes in the data it is given
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                source = node.value
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension, ast.withitem)):
                targets = [node.target if not isinstance(node, ast.withitem) else node.optional_vars]
                source = node.iter if not isinstance(node, ast.withitem) else node.context_expr
            else:
                continue
            if source is not None and any(isinstance(n, ast.Name) and n.id == expr.id
                                          for t in targets if t is not None for n in ast.walk(t)) and (
                    self._is_data(source, fn, depth + 1)):
                return True
        return False

    def _argument_is_data(self, fn, name: str, depth: int) -> bool:
        """Is parameter ``name`` of ``fn`` data? Yes for public functions and methods. For a
        private module-level function, or a private method of a module-level class
        (``_get_type(cls, module, attr)``, called as ``Serializer._get_type("numpy",
        "ndarray")``), yes when the module never calls it or some call in a function of the
        module passes data for it (a call at import time runs once). A method's calls are all
        the module's calls of an attribute of that name, whatever the receiver; a class with a
        base from another module is not looked into, since its method may override one that
        the base's code calls (salt's ``SaltLoggingClass._log``, which ``Logger.info()`` calls
        with each message)."""
        parent = self.module.parent(fn)
        if not fn.name.startswith("_") or fn.name.startswith("__"):
            return True
        position = _param_positions(fn).get(name)
        if parent is self.module.tree:
            calls = self._calls.get(fn.name, [])
        elif isinstance(parent, ast.ClassDef) and self.module.parent(parent) is self.module.tree:
            if not self._bases_in_module(parent):
                return True  # it may override a method that the base class's own code calls
            if self._attribute_calls is None:
                self._attribute_calls = _module_function_calls(self.module, attribute=True)
            calls = self._attribute_calls.get(fn.name, [])
            static = any(self.qualified(d) == "builtins.staticmethod" for d in fn.decorator_list)
            if position is not None and not static:
                position = position - 1 if position else None  # the receiver is not an argument
        else:
            return True
        if not calls:
            return True
        for call in calls:
            caller = self.module.enclosing_function(call)
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return True
            arg = _argument(call, name, position)
            if arg is None:
                continue  # its default
            if caller is None:
                continue  # a call at import time runs once, whatever it passes
            if self._is_data(arg, caller, depth + 1):
                return True
        return False

    def _bases_in_module(self, cls: ast.ClassDef, seen: frozenset = frozenset()) -> bool:
        """Are all of ``cls``'s bases classes defined at this module's top level (or
        ``object``), each with bases in the module too? No keywords (a metaclass) either."""
        if cls.keywords:
            return False
        defined = {n.name: n for n in self.module.tree.body if isinstance(n, ast.ClassDef)}
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id == "object":
                continue
            if not (isinstance(base, ast.Name) and base.id in defined and base.id not in seen
                    and defined[base.id] is not cls and self._bases_in_module(defined[base.id], seen | {cls.name})):
                return False
        return True

    def _shared_object(self, expr: ast.expr, fn) -> bool:
        """Is ``expr`` a module-level object, or a local or parameter that is one unless a
        caller overrides it: a parameter defaulting to it, or a local assigned only from
        ``x.get(k, M)``/``x.pop(k, M)``/``y or M`` or from ``M`` itself?"""
        if not isinstance(expr, ast.Name):
            return False

        def module_object(e) -> bool:
            return (isinstance(e, ast.Name) and e.id in self.names.module_bindings
                    and e.id not in self.locals_of(fn))

        if module_object(expr):
            return True
        if expr.id in _params(fn):
            return module_object(_default(fn, expr.id))
        values = [a.value for a in _own_nodes(fn) if isinstance(a, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == expr.id for t in a.targets)]
        if not values:
            return False
        for v in values:
            if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr in (
                    "get", "pop") and len(v.args) == 2:
                v = v.args[1]
            elif isinstance(v, ast.BoolOp) and isinstance(v.op, ast.Or):
                v = v.values[-1]
            if not module_object(v):
                return False
        return True

    def _only_called_at_import(self, fn, seen: frozenset = frozenset()) -> bool:
        """Does this module-level function (or a script's method) run only once: deleted after
        use, or called only from module-level code or from other run-once functions (``main``)? Only private
        functions qualify, unless the module is a script (``setup.py``, or a top-level
        ``if __name__ == "__main__":``), which nothing imports; in a script, a method of a
        module-level class qualifies too when it is called by name (``Checker.check()``,
        ``cls.check()`` in the class) only from run-once code."""
        parent = self.module.parent(fn)
        if (self._script and isinstance(parent, ast.ClassDef) and self.module.parent(parent) is self.module.tree
                and f"{parent.name}.{fn.name}" not in seen):
            mod = self.module
            if self._attribute_calls is None:
                self._attribute_calls = _module_function_calls(mod, attribute=True)
            calls = [c for c in self._attribute_calls.get(fn.name, ()) if isinstance(c.func.value, ast.Name) and (
                         c.func.value.id == parent.name or c.func.value.id in ("self", "cls")
                         and (caller := mod.enclosing_function(c)) is not None
                         and _enclosing_class(mod, caller) is parent)]
            return bool(calls) and all(
                (caller := self.module.enclosing_function(c)) is None
                or self._only_called_at_import(caller, seen | {f"{parent.name}.{fn.name}"}) for c in calls)
        if parent is not self.module.tree or fn.name in seen:
            return False
        if fn.name in self._deleted:
            return True
        if fn.name in ("main", "_main") and self._script:
            return True
        calls = self._calls.get(fn.name)
        if not calls or not (fn.name.startswith("_") or self._script):
            return False
        for c in calls:
            caller = self.module.enclosing_function(c)
            if caller is not None and not self._only_called_at_import(caller, seen | {fn.name}):
                return False
        return True

    def _registry_or_bounded_keys(self, ref: ast.expr, fn, registry: bool = True) -> bool:
        """Does this growth store a caller's argument (a registry, when ``registry``), or use a
        key from a bounded domain (a constant at every call site of a private function)?"""
        key, value = _key_and_value(self.module, ref)
        params = _params(fn) - {"self", "cls"}
        given = params | self._drawn_from_parameters(ref, fn, params)
        if registry and _callers_record(value, given) and (key is value or _names_a_parameter(key, given)):
            return True  # `registry[name] = handler`, `log.append({"msg": msg})`: callers choose the entries
        names = [key] if isinstance(key, ast.Name) else list(key.elts) if isinstance(key, ast.Tuple) else []
        if names and all(isinstance(n, ast.Name) for n in names) and all(
            self._finite_domain(n, fn, params) for n in names
        ):
            return True
        if isinstance(key, ast.JoinedStr):
            # f"prefix_{k}" over loop variables of finite collections: a finite set of keys
            leaves = [v.value for v in key.values if isinstance(v, ast.FormattedValue)]
            if leaves and all(isinstance(v, ast.Name) and self._finite_domain(v, fn, params) for v in leaves):
                return True
        if not names or not all(isinstance(n, ast.Name) and n.id in params for n in names):
            return False
        if not fn.name.startswith("_") or self.module.parent(fn) is not self.module.tree:
            return False
        calls = self._calls.get(fn.name, [])
        if not calls:
            return False
        positions = _param_positions(fn)
        for call in calls:
            local = self.locals_of(self.module.enclosing_function(call))
            for n in names:
                arg = _argument(call, n.id, positions.get(n.id))
                if arg is None:
                    continue  # the default value is used
                if not (isinstance(arg, ast.Constant) or
                        isinstance(arg, ast.Name) and arg.id not in local and arg.id in self.names.module_bindings):
                    return False
        return True

    def _drawn_from_parameters(self, ref: ast.expr, fn, params: set[str]) -> set[str]:
        """Targets of the loops around ``ref`` that iterate over a parameter (``for name, f in
        funcs.items():``): the caller's entries, one by one, as ``extend(funcs)`` would add them."""
        out: set[str] = set()
        p = self.module.parent(ref)
        while p is not None and p is not fn:
            if isinstance(p, (ast.For, ast.AsyncFor)):
                it = _viewed(p.iter)
                if isinstance(it, ast.Name) and it.id in params:
                    out.update(n.id for n in ast.walk(p.target) if isinstance(n, ast.Name))
            p = self.module.parent(p)
        return out

    def _finite_domain(self, name: ast.Name, fn, params: set[str], depth: int = 0) -> bool:
        """Does ``name`` range over a finite domain: a flag parameter (bool default), a
        parameter named like a type or mode, a loop variable over a module-level collection, or
        a local only ever assigned constants and f-strings of such names?"""
        if depth > 2:
            return False
        if name.id in params:
            if FINITE_PARAM.search(name.id):
                return True
            default = _default(fn, name.id)
            return isinstance(default, ast.Constant) and (
                isinstance(default.value, bool) or default.value in (0, 1) and type(default.value) is int)
        p = self.module.parent(name)
        while p is not None and p is not fn:
            if (isinstance(p, (ast.For, ast.AsyncFor)) and isinstance(p.target, ast.Name)
                    and p.target.id == name.id):
                return self._finite_iterable(p.iter, fn, params)
            if (isinstance(p, (ast.For, ast.AsyncFor)) and isinstance(p.target, ast.Tuple)
                    and any(isinstance(e, ast.Name) and e.id == name.id for e in p.target.elts)):
                return self._finite_iterable(p.iter, fn, params)
            p = self.module.parent(p)
        values = [a.value for a in _own_nodes(fn) if isinstance(a, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == name.id for t in a.targets)]
        loops = [n for n in _own_nodes(fn) if isinstance(n, (ast.For, ast.AsyncFor))
                 and any(isinstance(t, ast.Name) and t.id == name.id for t in ast.walk(n.target))]
        if not values or not all(self._finite_iterable(n.iter, fn, params) for n in loops):
            return False
        for v in values:
            if isinstance(v, ast.Constant):
                continue
            if isinstance(v, ast.JoinedStr):
                leaves = [x.value for x in v.values if isinstance(x, ast.FormattedValue)]
                if all(isinstance(x, ast.Name) and self._finite_domain(x, fn, params, depth + 1) for x in leaves):
                    continue
            return False
        return True

    def _finite_iterable(self, it: ast.expr, fn, params: set[str]) -> bool:
        """A literal collection, a module-level one, or a view of one (``list(M.items())``)."""
        it = _viewed(it)
        if isinstance(it, (ast.Tuple, ast.List, ast.Set)):
            return True
        if isinstance(it, ast.Name):
            if it.id in self.names.module_bindings and it.id not in self.locals_of(fn):
                return True
            if it.id in self.names.aliases:
                return True  # an imported table: fixed by the module that defines it
            return it.id not in params and self._finite_domain(it, fn, params)
        return False

    def _resolve(self, node, containers, local, cls, instance_attrs) -> Container | None:
        if isinstance(node, ast.Name) and node.id not in local:
            return containers.get(("", node.id))
        if isinstance(node, ast.Attribute):
            base = node.value
            owner = None
            if isinstance(base, ast.Name) and base.id in ("self", "cls") and cls is not None:
                if base.id == "self" and (cls.name, node.attr) in instance_attrs:
                    return None
                owner = cls.name
            elif isinstance(base, ast.Name) and base.id not in local:
                owner = base.id
            elif (isinstance(base, ast.Call) and isinstance(base.func, ast.Name)
                  and base.func.id == "type" and cls is not None):
                owner = cls.name
            if owner:
                return containers.get((owner, node.attr))
        return None


def _effect(check: PythonCheck, ref: ast.expr) -> str:
    """What the expression around container reference ``ref`` does: grow, bound, read or ""."""
    mod = check.module
    p = mod.parent(ref)
    if isinstance(p, ast.Attribute) and p.value is ref:
        call = mod.parent(p)
        if isinstance(call, ast.Call) and call.func is p:
            if p.attr in GROW_METHODS:
                if p.attr in ("setdefault", "add") and call.args and isinstance(call.args[0], ast.Constant):
                    return ""
                return "grow"
            if p.attr in SHRINK_METHODS:
                return "bound"
            if p.attr in READ_METHODS:
                return "read"
        elif p.attr in SHRINK_METHODS:
            return "bound"  # `fut.add_done_callback(cache.remove)`: removal handed to a callback
        return ""
    if isinstance(p, ast.Subscript) and p.value is ref:
        if isinstance(p.slice, ast.Slice) and not isinstance(p.ctx, ast.Load):
            return "bound"  # `cache[:] = []`, `del cache[:]`
        if isinstance(p.ctx, ast.Store):
            return "" if isinstance(p.slice, ast.Constant) else "grow"
        if isinstance(p.ctx, ast.Del):
            return "bound"
        return "read"
    if isinstance(p, ast.AugAssign) and p.target is ref:
        return "grow" if isinstance(p.op, (ast.Add, ast.BitOr)) else "bound"
    if isinstance(p, (ast.Assign, ast.AnnAssign)) and ref in _targets(p):
        return "bound"  # rebinding: the old contents are dropped
    if isinstance(p, ast.Delete):
        return "bound"
    if isinstance(p, ast.Compare):
        return "read" if ref in p.comparators and isinstance(p.ops[0], (ast.In, ast.NotIn)) else ""
    if isinstance(p, (ast.For, ast.comprehension)) and p.iter is ref:
        return ""
    if isinstance(p, (ast.BoolOp, ast.UnaryOp, ast.If, ast.While, ast.IfExp, ast.FormattedValue,
                      ast.Assert)):
        return ""
    if isinstance(p, ast.Call) and ref in p.args:
        name = check.qualified(p.func)
        if name == "builtins.len" and isinstance(mod.parent(p), ast.Compare):
            return "bound"  # a length check: the cache is capped or evicted somewhere
        if name in READERS:
            return ""
    if isinstance(p, ast.Starred) or isinstance(p, ast.Expr):
        return ""
    return "bound"  # escapes (returned, passed on, aliased): may be cleared elsewhere


def _targets(stmt) -> list:
    return stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]


def _tests_emptiness(test: ast.expr, names: set[str]) -> bool:
    """``not C``, ``not cls.C``, ``len(C) == 0`` or ``C == []``-like tests of a container in ``names``."""
    def named(e: ast.expr) -> bool:
        return (isinstance(e, ast.Name) and e.id in names) or (isinstance(e, ast.Attribute) and e.attr in names)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return named(test.operand)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)):
        left, right = test.left, test.comparators[0]
        if isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "len" and left.args:
            return named(left.args[0]) and isinstance(right, ast.Constant) and right.value == 0
        return named(left) and isinstance(right, (ast.List, ast.Dict, ast.Set)) and not getattr(right, "elts", getattr(right, "keys", []))
    return False


def _tests_filled(test: ast.expr, names: set[str]) -> bool:
    """``C``, ``cls.C`` or ``len(C)`` (truthy when the container has entries)."""
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id == "len" and test.args:
        test = test.args[0]
    return (isinstance(test, ast.Name) and test.id in names) or (isinstance(test, ast.Attribute) and test.attr in names)


def _is_main_guard(stmt: ast.stmt) -> bool:
    """``if __name__ == "__main__":``"""
    return (isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Compare)
            and isinstance(stmt.test.left, ast.Name) and stmt.test.left.id == "__name__")


def _module_statements(body: list[ast.stmt]):
    """Top-level statements, also inside module-level ``if``/``try`` blocks, but not inside
    ``if __name__ == "__main__":`` (a script's run, which happens once)."""
    for stmt in body:
        yield stmt
        if _is_main_guard(stmt):
            continue
        if isinstance(stmt, ast.If):
            yield from _module_statements(stmt.body + stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _module_statements(stmt.body + stmt.orelse + stmt.finalbody)
            for h in stmt.handlers:
                yield from _module_statements(h.body)


def _own_nodes(fn):
    """Nodes of ``fn``'s body, not entering nested functions or classes."""
    nested = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    stack = list(fn.body) + list(fn.args.defaults) + [d for d in fn.args.kw_defaults if d]
    while stack:
        node = stack.pop()
        if isinstance(node, nested):
            continue
        yield node
        for child in ast.iter_child_nodes(node):
            stack.append(child)


def _function_chain(mod, fn) -> list:
    chain = [fn]
    p = mod.parent(fn)
    while p is not None:
        if isinstance(p, FunctionNode):
            chain.append(p)
        p = mod.parent(p)
    return chain


def _enclosing_class(mod, fn) -> ast.ClassDef | None:
    p = mod.parent(fn)
    return p if isinstance(p, ast.ClassDef) else None


def _decorator_names(mod) -> set[str]:
    """Names used as decorators anywhere in the module (``@name`` or ``@name(...)``)."""
    out = set()
    for node in mod.nodes(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
        for d in node.decorator_list:
            d = d.func if isinstance(d, ast.Call) else d
            if isinstance(d, ast.Name):
                out.add(d.id)
            elif isinstance(d, ast.Attribute):
                out.add(d.attr)
    return out


def _instance_attributes(mod) -> set[tuple[str, str]]:
    """(class, attr) pairs assigned as ``self.attr = ...`` in some method: per-instance state."""
    out = set()
    for node in mod.nodes(ast.Assign, ast.AnnAssign):
        for t in _targets(node):
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                p = mod.parent(node)
                while p is not None:
                    if isinstance(p, ast.ClassDef):
                        out.add((p.name, t.attr))
                    p = mod.parent(p)
    return out


def _returns_a_parameter(fn) -> bool:
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args}
    return any(
        isinstance(n, ast.Return) and isinstance(n.value, ast.Name) and n.value.id in params
        for n in _own_nodes(fn)
    )


def _nested_functions(fn) -> list:
    """The functions defined in ``fn``'s own body, also under its ``if``/``try``/``with``."""
    out, stack = [], list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append(node)
        elif not isinstance(node, (ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return out


def _returns_a_nested_function(fn) -> bool:
    """A decorator factory (or a decorator returning its wrapper): ``return decorator``."""
    nested = {n.name for n in _nested_functions(fn)}
    return bool(nested) and any(
        isinstance(n, ast.Return) and isinstance(n.value, ast.Name) and n.value.id in nested
        for n in _own_nodes(fn)
    )


def _returns_wrapper(f, inner) -> bool:
    """Does ``f`` return ``inner``, a function defined in its body that is not itself a
    decorator (it neither returns one of its parameters nor a function of its own)?"""
    return (any(n is inner for n in _nested_functions(f)) and not _returns_a_parameter(inner)
            and not _returns_a_nested_function(inner) and any(
                isinstance(n, ast.Return) and isinstance(n.value, ast.Name) and n.value.id == inner.name
                for n in _own_nodes(f)))


def _runs_at_import(mod, chain, decorators: set[str]) -> bool:
    """Is this function a decorator, decorator factory, registrar or class-creation hook?
    ``chain``: the function, then the functions it is nested in, innermost first. Growth in
    the wrapper that a decorator returns (``def traced(f): def wrapper(*a): ...; return
    wrapper``) runs on every call of the decorated function: the functions around that wrapper
    do not make it run at import."""
    for i, f in enumerate(chain):
        if i and _returns_wrapper(f, chain[i - 1]):
            return False
        if (f.name in decorators or f.name in IMPORT_TIME_METHODS or _returns_a_parameter(f)
                or _returns_a_nested_function(f)):
            return True
        if not (f.name.startswith("__") and f.name.endswith("__")) and REGISTRAR_NAME.search(f.name):
            return True
        if cli_command(mod, f):
            return True
    cls = _enclosing_class(mod, chain[-1])
    if cls is not None and chain[-1].name in ("__new__", "__init__", "__call__"):
        return (any(isinstance(b, ast.Name) and b.id in ("type", "ABCMeta") or
                    isinstance(b, ast.Attribute) and b.attr in ("ABCMeta",) for b in cls.bases)
                or cls.name in _metaclass_names(mod) or _metaclass_signature(chain[-1]))
    return False


def _metaclass_names(mod) -> set[str]:
    """Names given as ``metaclass=`` to the module's classes."""
    return {k.value.id for c in mod.nodes(ast.ClassDef) for k in c.keywords
            if k.arg == "metaclass" and isinstance(k.value, ast.Name)}


def _metaclass_signature(fn) -> bool:
    """Is ``fn`` a metaclass's ``__new__``/``__init__``: ``(cls, name, bases, attrs)`` (any
    spelling of the last: ``dct``, ``namespace``, ``attrs``...), as Django's ``ModelBase``
    subclasses write it? It runs when a class statement runs."""
    names = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    return len(names) >= 4 and names[0] in ("cls", "mcs", "mcls", "metacls", "meta", "self") and (
        names[2] == "bases")


#: Attributes that name a place in the program's source (a frame's, a code object's, a
#: function's or class's): a finite domain, however a key is formatted from them.
CODE_LOCATION_ATTRS = frozenset({"filename", "lineno", "co_filename", "co_firstlineno", "co_name",
                                 "f_lineno", "__qualname__", "__module__", "__name__"})


def _viewed(it: ast.expr) -> ast.expr:
    """The collection that ``it`` iterates a view or copy of: ``M`` for ``list(M)``,
    ``sorted(M.items())``, ``enumerate(M.values())``; else ``it`` itself."""
    while True:
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id in (
                "list", "sorted", "tuple", "reversed", "enumerate") and it.args:
            it = it.args[0]
        elif (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute)
              and it.func.attr in ("items", "keys", "values")):
            it = it.func.value
        else:
            return it


def _instance_state(e: ast.expr) -> bool:
    """Is ``e`` built only from constants, attributes of ``self``/``cls`` (``self.host``,
    ``(self.hive, self.path)``) and places in the source (``frame.filename``,
    ``frame.lineno``, ``cls.__name__``), not from the call's arguments? Such text repeats: the
    same on every call of one instance, or one of the program's lines. The bare ``self`` is
    not: it is an identity."""
    if isinstance(e, ast.Constant):
        return True
    if isinstance(e, (ast.Tuple, ast.List)):
        return all(_instance_state(x) for x in e.elts)
    if isinstance(e, ast.JoinedStr):
        return all(_instance_state(v.value) for v in e.values if isinstance(v, ast.FormattedValue))
    if not isinstance(e, ast.Attribute):
        return False
    if e.attr in CODE_LOCATION_ATTRS:
        return True
    while isinstance(e, ast.Attribute):
        e = e.value
    return isinstance(e, ast.Name) and e.id in ("self", "cls")


def _in_infinite_loop(mod, node, fn) -> ast.While | None:
    """The ``while True:`` loop around ``node`` in ``fn``, unless an iteration counter bounds
    it (a retry loop: ``count += 1`` and ``if count > limit:`` in its body)."""
    p = mod.parent(node)
    while p is not None and p is not fn:
        if (isinstance(p, ast.While) and isinstance(p.test, ast.Constant) and p.test.value is True
                and not _counted(p)):
            return p
        p = mod.parent(p)
    return None


def _counted(loop: ast.While) -> bool:
    """Does the loop's own body count its iterations (``n += 1``) and test that count against
    something (``if n > limit:``, ``if n >= 3:``)?"""
    counters = {s.target.id for s in loop.body if isinstance(s, ast.AugAssign)
                and isinstance(s.op, ast.Add) and isinstance(s.target, ast.Name)}
    for node in ast.walk(loop):
        if (isinstance(node, (ast.If, ast.While)) and isinstance(node.test, ast.Compare)
                and any(isinstance(e, ast.Name) and e.id in counters
                        for e in [node.test.left, *node.test.comparators])
                and any(isinstance(op, (ast.Gt, ast.GtE, ast.Lt, ast.LtE, ast.Eq)) for op in node.test.ops)):
            return True
    return False


def _key_and_value(mod, ref: ast.expr) -> tuple[ast.expr | None, ast.expr | None]:
    """(key, stored value) of the growth operation applied to container reference ``ref``."""
    p = mod.parent(ref)
    if isinstance(p, ast.Subscript):
        assign = mod.parent(p)
        value = assign.value if isinstance(assign, (ast.Assign, ast.AnnAssign)) else None
        return p.slice, value
    if isinstance(p, ast.Attribute):
        call = mod.parent(p)
        args = call.args if isinstance(call, ast.Call) else []
        if p.attr == "setdefault":
            return (args[0] if args else None), (args[1] if len(args) > 1 else None)
        if p.attr in ("add", "append", "appendleft"):
            return (args[0] if args else None), (args[0] if args else None)
        if p.attr in ("extend", "extendleft", "update") and len(args) == 1:
            return None, args[0]  # what it adds is what it is given
        if p.attr == "insert":
            return None, (args[1] if len(args) > 1 else None)
    return None, None


def _documented_keep_alive(mod, stmt: ast.stmt) -> bool:
    """Does a comment on the definition's line, or the comment block just above it, say the
    container keeps its objects alive on purpose (``# keep references alive``, ``# ensure the
    lifetime of the engines``)? Then growth is the point, and a finding would only be noise."""
    return bool(KEEP_ALIVE_COMMENT.search(comments_at(mod, stmt.lineno)))


def _params(fn) -> set[str]:
    """Names of all of ``fn``'s parameters, ``*args`` and ``**kwargs`` included."""
    a = fn.args
    return {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if x is not None}


def _param_positions(fn) -> dict[str, int]:
    a = fn.args
    return {x.arg: i for i, x in enumerate(a.posonlyargs + a.args)}


def _argument(call: ast.Call, name: str, position: int | None) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == name:
            return k.value
    if position is not None and position < len(call.args):
        arg = call.args[position]
        return None if isinstance(arg, ast.Starred) else arg
    return None


def _module_function_calls(mod, attribute: bool = False) -> dict[str, list[ast.Call]]:
    """Calls by plain name (``f(...)``) anywhere in the module, indexed by that name; with
    ``attribute``, calls of an attribute (``x.f(...)``), indexed by the attribute's name."""
    out: dict[str, list[ast.Call]] = {}
    for node in mod.nodes(ast.Call):
        f = node.func
        if not attribute and isinstance(f, ast.Name):
            out.setdefault(f.id, []).append(node)
        elif attribute and isinstance(f, ast.Attribute):
            out.setdefault(f.attr, []).append(node)
    return out


def _deleted_at_module_level(tree: ast.Module) -> set[str]:
    out = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Delete):
            out.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return out


def _callers_record(value: ast.expr | None, params: set[str]) -> bool:
    """Is ``value`` what the caller gave: a parameter, or a dict, tuple or list display of
    parameters and constants with at least one parameter (``{"msg": msg, "version": version}``)?"""
    if isinstance(value, ast.Name):
        return value.id in params
    if isinstance(value, ast.Dict):
        leaves = [k for k in value.keys if k is not None] + value.values
    elif isinstance(value, (ast.Tuple, ast.List)):
        leaves = value.elts
    else:
        return False
    names = [x for x in leaves if isinstance(x, ast.Name)]
    return bool(names) and all(isinstance(x, ast.Constant) or isinstance(x, ast.Name) and x.id in params
                               for x in leaves)


def _names_a_parameter(key: ast.expr | None, params: set[str]) -> bool:
    """Is ``key`` absent (``append``), a constant, or a parameter or its attribute (``cls.__name__``)?
    ``id(obj)`` and other computed keys are not: they index objects, as caches do."""
    while isinstance(key, ast.Attribute):
        key = key.value
    return key is None or isinstance(key, ast.Constant) or isinstance(key, ast.Name) and key.id in params


def _default(fn, name: str) -> ast.expr | None:
    a = fn.args
    positional = a.posonlyargs + a.args
    offset = len(positional) - len(a.defaults)
    for i, x in enumerate(positional):
        if x.arg == name and i >= offset:
            return a.defaults[i - offset]
    for x, d in zip(a.kwonlyargs, a.kw_defaults):
        if x.arg == name:
            return d
    return None


def _guarded_by_membership(mod, ref: ast.expr, item: ast.expr | None, fn) -> bool:
    """Is the append done once per distinct value (set semantics, bounded by the values)?

    That is: under ``if item not in container:``, or under ``if k not in other:`` where the same
    block adds ``k`` to ``other`` (``if name not in names: names.append(name);
    colors.append(self)``: one entry per name in both); after a linear search of the container
    for the item's key that returns what it finds (``for k, v in cache: if k == key: return v``
    then ``cache.append((key, val))``); or with ``item`` drawn from a comprehension that leaves
    out what the container holds (``unused = [f for f in files if f not in self.used];
    self.used.append(unused[0])``)."""
    if item is None:
        return False
    wanted = ast.dump(item)
    container = ast.dump(ref)
    if _drawn_from_unused(item, container, fn, ref.lineno, 0):
        return True
    p, child = mod.parent(ref), ref
    while p is not None and p is not fn:
        if isinstance(p, (ast.For, ast.AsyncFor)) and ast.dump(p.iter) == container and child in p.orelse:
            return True  # `for x in c: if ...: break` / `else: c.append(...)`: a search first
        child = p
        if isinstance(p, ast.If) and isinstance(p.test, ast.Compare) and len(p.test.ops) == 1 and \
                isinstance(p.test.ops[0], ast.NotIn):
            if ast.dump(p.test.left) == wanted or _adds_to(p.body, p.test.left, p.test.comparators[0]):
                return True
        p = mod.parent(p)
    return _searched_first(fn, container, item, ref.lineno)


def _filtered_against(value: ast.expr | None, container: ast.expr) -> bool:
    """Is ``value`` a comprehension that leaves out what ``container`` already holds
    (``presets += [m for m in MODES if m not in presets]``)? Then each distinct value is added
    once, as under ``if item not in container:`` (:func:`_guarded_by_membership`)."""
    if not isinstance(value, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return False
    elt, held = ast.unparse(value.elt), ast.unparse(container)  # (a target's `ctx` differs)
    return any(isinstance(c, ast.Compare) and len(c.ops) == 1 and isinstance(c.ops[0], ast.NotIn)
               and ast.unparse(c.left) == elt and ast.unparse(c.comparators[0]) == held
               for g in value.generators for c in g.ifs)


def _adds_to(body: list[ast.stmt], value: ast.expr, container: ast.expr) -> bool:
    """Does a statement of ``body`` add ``value`` to ``container`` (``container.append(value)``,
    ``.add(value)``, ``container[value] = ...``)?"""
    v, c = ast.dump(value), ast.dump(container)
    for stmt in body:
        for node in ast.walk(stmt):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("append", "add") and len(node.args) == 1
                    and ast.dump(node.func.value) == c and ast.dump(node.args[0]) == v):
                return True
            if (isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Subscript) and ast.dump(t.value) == c and ast.dump(t.slice) == v
                    for t in node.targets)):
                return True
    return False


def _searched_first(fn, container: str, item: ast.expr, line: int) -> bool:
    """Before ``line``, does ``fn`` loop over the container (``container`` is its ``ast.dump``)
    and return when an element equals the item's key (the item, or its first element when it
    is a tuple)?"""
    key = ast.dump(item.elts[0] if isinstance(item, ast.Tuple) and item.elts else item)
    for loop in _own_nodes(fn):
        if not (isinstance(loop, (ast.For, ast.AsyncFor)) and ast.dump(loop.iter) == container
                and loop.lineno < line):
            continue
        for node in ast.walk(loop):
            if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
                    and len(node.test.ops) == 1 and isinstance(node.test.ops[0], (ast.Eq, ast.Is))
                    and key in (ast.dump(node.test.left), ast.dump(node.test.comparators[0]))
                    and any(isinstance(s, ast.Return) for s in node.body)):
                return True
    return False


#: Directories of documentation and example code: what GitHub code scanning labels
#: "Documentation", not application code.
DOCUMENTATION_DIRS = frozenset({"docs", "doc", "docs_src", "examples", "example", "tutorial", "tutorials",
                                "demo", "demos"})


def is_documentation_module(path: str) -> bool:
    """Is ``path`` (``/``-separated) documentation or example code: under a ``docs``, ``doc``,
    ``docs_src``, ``examples``, ``example``, ``tutorial(s)`` or ``demo(s)`` directory?"""
    return any(d in DOCUMENTATION_DIRS for d in path.split("/")[:-1])


def _drawn_from_unused(item: ast.expr, container: str, fn, line: int, depth: int) -> bool:
    """Is ``item`` (followed through up to 3 local assignments made before ``line``, and
    subscripts) a comprehension filtered by ``x not in <container>``?"""
    if depth > 3:
        return False
    while isinstance(item, ast.Subscript):
        item = item.value
    if isinstance(item, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return any(isinstance(c, ast.Compare) and len(c.ops) == 1 and isinstance(c.ops[0], ast.NotIn)
                   and ast.dump(c.comparators[0]) == container
                   for g in item.generators for c in g.ifs)
    if not isinstance(item, ast.Name):
        return False
    sources = [n.value for n in ast.walk(fn) if isinstance(n, ast.Assign) and n.lineno < line
               and any(isinstance(t, ast.Name) and t.id == item.id for t in n.targets)]
    return bool(sources) and _drawn_from_unused(max(sources, key=lambda v: v.lineno), container, fn,
                                                 line, depth + 1)


def shrunk_names(mod) -> frozenset[str]:
    """Names of other modules' containers this module removes from, clears or rebinds
    (``middleware.log.clear()``, ``del registry.items[k]``, ``mod.cache = {}``, or
    ``from m import cache`` then ``cache.clear()``): facts that let the project phase see a
    container bounded in a file other than its own. Only accesses through an imported name
    count, so ``self.cache.clear()`` says nothing about a module-level ``cache``."""
    imported = mod.names.aliases

    def through_import(expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in imported:
            return expr.attr
        if isinstance(expr, ast.Name) and expr.id in imported:
            return expr.id
        return None

    out = set()
    for node in mod.nodes(ast.Attribute):
        p = mod.parent(node)
        if node.attr in SHRINK_METHODS:
            name = through_import(node.value)
            if name:
                out.add(name)
        name = through_import(node)
        if name is None:
            continue
        if isinstance(p, ast.Subscript) and p.value is node and not isinstance(p.ctx, ast.Load):
            if isinstance(p.ctx, ast.Del) or isinstance(p.slice, ast.Slice):
                out.add(name)
        if isinstance(p, (ast.Assign, ast.AnnAssign)) and node in _targets(p):
            out.add(name)
    return frozenset(out)


def call_names(mod) -> CallFacts:
    """The names this module calls, as ``(inside functions, once, as often as a caller, at
    set-up by name, and for a package its re-exports)`` (:class:`leakspot.model.CallFacts`,
    :func:`package_exports`): dotted
    through the imports where they resolve (``bpargs.parse(...)`` after ``from . import args as
    bpargs`` in ``pkg/cli.py``: ``"pkg.args.parse"``; ``ast.parse(...)``: ``"ast.parse"``;
    ``open()``: ``"builtins.open"``), else bare (``x.f(...)``, ``f(...)`` of a local or of this
    module's own ``def``: ``"f"``; a class: its name), a decorator written without a call (``@memoize``)
    counting as a call of it: a call at module level, in a class body or in a
    decorator runs when the module is imported (unless a loop there repeats it), and so does
    one outside loops in ``main()``, a command-line command (:func:`cli_command`) or a cached
    function of no arguments (:func:`cached_without_arguments`), or nested in one, or under a
    once-flag (:func:`once_flag_guarded`). One outside loops in a function named for set-up
    (:data:`SETUP_NAME`: ``register_service()``, ``init_app()``; not ``__init__``, which runs
    per instance) is "at set-up by name". Any other call outside loops in a module-level
    function, or in the constructor of a module-level class, is ``(callee, caller)``: it runs
    as often as that function or class (``caller``: :func:`_callable_name`); one in another
    method counts as inside a function. A name handed on as a value (an
    argument, an assigned value: :func:`_handed_on`) counts as called inside a function. A
    class named as a base of a module-level class runs its constructor as often as that
    class is made (``(base, subclass)``). A class named as a base counts as called inside a function: its constructor runs
    whenever a subclass is made. Facts for the project phase, which drops an
    ``unbounded-module-cache`` or ``listener-never-removed`` finding whose functions the run calls only at import
    (:func:`leakspot.engine.drop_grown_at_import`). Each use of a name written like a class
    is also ``made``: a call with the keys of the arguments it makes anew
    (:func:`new_arguments`), or with none a base, a value handed on (:func:`_class_values`)
    or ``cls(...)`` in the class's own methods, for
    :func:`leakspot.engine.drop_bound_to_new_arguments`. A test module's calls say nothing: a
    test calls a request handler by name, the application never does."""
    runtime: set[str] = set()
    at_import: set[str] = set()
    via: set[tuple[str, str]] = set()
    named: set[str] = set()
    made: set[tuple[str, tuple[str, ...]]] = set()
    if is_test_module(mod.path):
        return CallFacts()
    setup: dict[int, bool] = {}
    # a decorator written without a call (`@memoize`) is called where its `def` runs, as the
    # callee of a call is: a class used so makes one instance per decorated function
    decorators = [(d, d) for node in mod.nodes(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
                  for d in node.decorator_list if isinstance(d, (ast.Name, ast.Attribute))]
    here = module_dotted(mod.path)
    local: dict[int, frozenset[str]] = {}
    scoped: dict[int, dict[str, str]] = {}
    # names this module also defines itself (`def warn_explicit` beside a `try: from _warnings
    # import warn_explicit`): a call of such a name may run the module's own function
    own = {n.name for n in mod.nodes(ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
           if mod.enclosing_function(n) is None and not _in_class(mod, n)}

    def called(f: ast.expr, fn) -> str | None:
        # `bpargs.parse` after `from . import args as bpargs`: "pkg.args.parse"; a name the
        # imports do not resolve (a local, a method, this module's own def) stays bare
        if not isinstance(f, (ast.Name, ast.Attribute)):
            return None
        q = mod.names.qualified(f)
        if fn is not None:
            # a function's own `import pkg.launch as _launch` names that module in it, though
            # another function imports a different `_launch` (wandb's cli.py)
            if id(fn) not in scoped:
                scoped[id(fn)] = _scoped_aliases(mod, fn)
            root = f
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in scoped[id(fn)]:
                q = scoped[id(fn)][root.id] + ast.unparse(f)[len(root.id):]
                return absolute_name(q, here, mod.path.endswith("__init__.py"))
        if q and fn is not None and (q.startswith(".") or q.split(".")[0] not in sys.stdlib_module_names):
            # resolved through the imports to what may be the project's: unless a local of
            # the function shadows the name (a builtin or standard module so shadowed,
            # `def f(filter): filter(x)`, is taken as itself: the cost of looking is not worth it)
            if id(fn) not in local:
                local[id(fn)] = frozenset().union(*(mod.locals_of(g) for g in _function_chain(mod, fn)))
            q = mod.names.qualified(f, local[id(fn)])
        if q and not (isinstance(f, ast.Name) and f.id in own):
            return absolute_name(q, here, mod.path.endswith("__init__.py"))
        # `obj.parse()` on an object: a method of that name, not a module's function
        return f.id if isinstance(f, ast.Name) else "." + f.attr

    for call, f in [(c, c.func) for c in mod.nodes(ast.Call)] + decorators:
        fn = mod.enclosing_function(call)
        name = called(f, fn)
        if isinstance(call, ast.Call) and (own_class := _own_class_call(mod, call, fn)):
            made.add((own_class, ()))  # `cls(menu)`: any argument, as the class's callers give it
        if name is None:
            continue
        if _class_like(name):
            made.add((name.lstrip("."), new_arguments(mod, call, fn) if isinstance(call, ast.Call) else ()))
        if fn is not None and id(fn) not in setup:
            chain = _function_chain(mod, fn)
            # "once" shown by the code (a command, a cached function of no arguments), or
            # taken from a name (`register_service()`, `init_app()`): the weaker kind
            setup[id(fn)] = "shown" if any(cli_command(mod, g) or cached_without_arguments(mod, g) or g.name == "main"
                                           for g in chain) else "named" if any(
                SETUP_NAME.search(g.name) and not g.name.startswith("__") for g in chain) else ""
        looped = _in_loop(mod, call, fn)
        if not looped and fn is not None and setup[id(fn)] == "named" and not once_flag_guarded(mod, call, fn):
            named.add(name)
        elif not looped and (fn is None or setup[id(fn)] or once_flag_guarded(mod, call, fn)):
            at_import.add(name)
        elif not looped and fn is not None and "." in (caller := _callable_name(mod, fn)):
            # as often as `caller`, a module's function or class, runs. Not a method: its
            # calls are known by bare name only, and a public class's methods are an API
            # (cherrypy's `tree.mount()`, which makes an `Application` per call)
            via.add((name, caller))
        else:
            runtime.add(name)
    # `class Special(Service)`: `Service.__init__` runs whenever a `Special` is made, as
    # often as `Special(...)` runs (a class made in a function, or nested: any time)
    for cls in mod.nodes(ast.ClassDef):
        sub = f"{here}.{cls.name}".lstrip(".") if mod.parent(cls) is mod.tree else ""
        for base in cls.bases:
            name = called(base, mod.enclosing_function(cls))
            if name and _class_like(name):
                made.add((name.lstrip("."), ()))  # `super().__init__(text)` may pass any object
            if name and sub:
                via.add((name.lstrip("."), sub))
            elif name:
                runtime.add(name.lstrip("."))
    # a function handed on as a value (`Thread(target=self.poll)`, `handlers = [listen]`)
    # may be called anywhere, any number of times
    for value, fn in _handed_on(mod, own):
        name = called(value, fn)
        if name:
            runtime.add(name)
    # a class handed on as a value (`functools.partial(ScaleTooltip)`, `factory = Tooltip`)
    # may be called anywhere, with anything
    for value in _class_values(mod):
        name = called(value, mod.enclosing_function(value))
        if name and _class_like(name):
            made.add((name.lstrip("."), ()))
    return CallFacts(frozenset(runtime), frozenset(at_import), frozenset(via), frozenset(named), package_exports(mod),
                     frozenset(made))


def _class_like(name: str) -> bool:
    """Is the last part of a callee's name written like a class (``TreeTooltip``, not
    ``SHARED``)?"""
    last = name.rsplit(".", 1)[-1]
    return last[:1].isupper() and not last.isupper()


def _constructs(call: ast.Call) -> bool:
    """Does ``call`` make a new object of a class (``ttk.Treeview(...)``, not
    ``get_default()`` or ``make_tree()``)?"""
    return _class_like(short_name(call.func)) and new_object(call)


def new_arguments(mod, call: ast.Call, fn) -> tuple[str, ...]:
    """The keys of the arguments that ``call`` (in ``fn``, None at module level) makes anew
    for each run of it: ``"0"`` for the first positional argument (none after a ``*args``),
    a keyword's name. An argument is new when it is a call of a class
    (``TreeTooltip(ttk.Treeview(pane))``) or a name or attribute that a statement before it,
    in the same pass of any loop around it, always assigns one
    (``self.left_tree = ttk.Treeview(pane)`` right before ``TreeTooltip(self.left_tree)``:
    :func:`~leakspot.python.checks.made_before`). For ``CallFacts.made``."""
    def new(arg: ast.expr) -> bool:
        if isinstance(arg, ast.Call):
            return _constructs(arg)
        if isinstance(arg, ast.Name):
            return made_before(mod, call, fn, lambda t: isinstance(t, ast.Name) and t.id == arg.id, constructed)
        if isinstance(arg, ast.Attribute):
            want = display(arg)
            return made_before(mod, call, fn, lambda t: isinstance(t, ast.Attribute) and t.attr == arg.attr
                               and display(t) == want, constructed)
        return False

    def constructed(value: ast.expr) -> bool:
        return isinstance(value, ast.Call) and _constructs(value)

    keys = []
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            break
        if new(arg):
            keys.append(str(i))
    keys += [k.arg for k in call.keywords if k.arg and new(k.value)]
    return tuple(keys)


def _own_class_call(mod, call: ast.Call, fn) -> str:
    """For ``cls(...)``, ``type(self)(...)`` or ``self.__class__(...)`` in a method of a
    module-level class, that class's dotted name; else ""."""
    f = call.func
    if not (isinstance(f, ast.Name) and f.id == "cls"
            or isinstance(f, ast.Call) and short_name(f.func) == "type" and len(f.args) == 1
            or isinstance(f, ast.Attribute) and f.attr == "__class__") or fn is None:
        return ""
    cls = _enclosing_class(mod, fn)
    if cls is None or mod.parent(cls) is not mod.tree:
        return ""
    return f"{module_dotted(mod.path)}.{cls.name}".lstrip(".")


def _class_values(mod):
    """Names and attributes written like classes that the module uses as values: not called,
    subclassed, read an attribute of (``Tooltip.attach(...)``), inspected (``isinstance``),
    compared, caught or written in an annotation."""
    candidates = [n for n in mod.nodes(ast.Name) if n.id[:1].isupper()] + [
        n for n in mod.nodes(ast.Attribute) if n.attr[:1].isupper()]
    candidates = [n for n in candidates if isinstance(n.ctx, ast.Load) and _class_like(short_name(n))]
    if not candidates:
        return
    annotations = {id(n) for a in [*mod.nodes(ast.arg), *mod.nodes(ast.AnnAssign),
                                   *mod.nodes(ast.FunctionDef, ast.AsyncFunctionDef)]
                   for ann in (getattr(a, "annotation", None), getattr(a, "returns", None)) if ann is not None
                   for n in ast.walk(ann)}
    for node in candidates:
        if id(node) in annotations:
            continue
        parent = mod.parent(node)
        if isinstance(parent, ast.Tuple) and isinstance(mod.parent(parent), (ast.Call, ast.ExceptHandler)):
            parent = mod.parent(parent)  # `isinstance(x, (A, B))`, `except (A, B):`
        if (isinstance(parent, (ast.Attribute, ast.ClassDef, ast.Compare, ast.ExceptHandler, ast.Raise))
                or isinstance(parent, ast.Call) and (parent.func is node or short_name(parent.func) in _INSPECTING)
                or isinstance(parent, FunctionNode) and node in parent.decorator_list):
            continue
        yield node


def package_exports(mod) -> frozenset[tuple[str, str]]:
    """What a package's ``__init__.py`` hands out, as ``(name, dotted source module)`` pairs:
    ``from .plugins_manager import integrate_listener_plugins as integrate_listener_plugins``
    in ``pkg/__init__.py`` is ``("integrate_listener_plugins", "pkg.plugins_manager")``; a
    star import is ``("*", module)``, a module-level ``__getattr__`` (PEP 562) ``("*", "")``,
    and a name the module binds otherwise (``def``, ``=``, ``import x``) ``(name, "")``: it
    may be anything. Statements under a module-level ``if``/``try``/``with`` count; those
    in functions and classes do not. Empty for a module that is not a package's ``__init__``.
    """
    if not mod.path.endswith("__init__.py"):
        return frozenset()
    here = module_dotted(mod.path)
    out: set[tuple[str, str]] = set()
    pending = list(mod.tree.body)
    while pending:
        stmt = pending.pop()
        if isinstance(stmt, ast.ImportFrom):
            source = absolute_name("." * stmt.level + (stmt.module or ""), here, True) if stmt.level else stmt.module or ""
            for alias in stmt.names:
                if alias.name == "*":
                    out.add(("*", source))
                elif stmt.module or not stmt.level:
                    out.add((alias.asname or alias.name, source))
                else:
                    out.add((alias.asname or alias.name, ""))  # `from . import x`: a submodule, or anything
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(("*", "") if stmt.name == "__getattr__" else (stmt.name, ""))
        elif isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While)) or (
                sys.version_info >= (3, 11) and isinstance(stmt, ast.TryStar)):
            for field in ("body", "orelse", "finalbody"):
                pending.extend(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                pending.extend(handler.body)
        else:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    out.add((node.id, ""))
                elif isinstance(node, ast.alias):
                    out.add(((node.asname or node.name).split(".")[0], ""))
    return frozenset(out)


#: Calls whose arguments are inspected, not kept to be called later.
_INSPECTING = frozenset({"isinstance", "issubclass", "super", "getattr", "hasattr", "setattr", "delattr",
                         "type", "id", "repr", "str", "print", "len", "cast", "vars", "dir", "callable"})


def _handed_on(mod, module_names: frozenset[str] | set[str] = frozenset()):
    """``(expr, function)`` for each name or attribute that the module hands on as a value:
    an argument of a call (not of :data:`_INSPECTING`), a value assigned, or an element of a
    list, tuple, set or dict given so. Names written like classes (``Service``) are left out:
    a class is far more often inspected than kept to be called; so is a bare name that is not
    the module's (``module_names``: its own functions and classes, with its imports and
    module-level bindings, read from ``mod.names``): a parameter passed along is a value, not
    a function of a module."""
    def values(expr):
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            yield from expr.elts
        elif isinstance(expr, ast.Dict):
            yield from (v for v in expr.values if v is not None)
        else:
            yield expr

    star = mod.names.star_import
    for node in [*mod.nodes(ast.Call), *mod.nodes(ast.Assign)]:
        if isinstance(node, ast.Call):
            if short_name(node.func) in _INSPECTING:
                continue
            given = [*node.args, *(k.value for k in node.keywords)]
        else:
            given = [node.value]
        found = [v for arg in given for v in values(arg) if _function_like(v)]
        if not found:
            continue
        fn = None
        for v in found:
            if isinstance(v, ast.Name) and not star and v.id not in module_names \
                    and v.id not in mod.names.aliases and v.id not in mod.names.module_bindings:
                # a parameter, a local, a builtin: not a function of a module. (A local that
                # shadows a module's name still counts: taking it for the module's function
                # keeps findings, and reading every function's names costs more than it saves.)
                continue
            if fn is None:
                fn = mod.enclosing_function(node) or mod.tree
            yield v, (None if fn is mod.tree else fn)


def _function_like(expr: ast.expr) -> bool:
    """A name, or an attribute of a name (``self.poll``, ``module.f``), that may name a
    function: not one written like a class."""
    if isinstance(expr, ast.Name):
        name = expr.id
    elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        name = expr.attr
    else:
        return False
    return not name[:1].isupper() and name not in ("self", "cls")


#: Decorators that cache a function's result per arguments: with no arguments, its body runs once.
CACHE_DECORATORS = frozenset({"functools.cache", "functools.lru_cache"})


def cached_without_arguments(mod, fn) -> bool:
    """Is ``fn`` a function of no parameters under ``@functools.cache`` or ``@lru_cache``
    (zarr's ``_ensure_handler()``, which adds its handler "only once"; Airflow's
    ``get_listener_manager()``)? Its body runs on the first call; every later call returns the
    cached result."""
    if isinstance(fn, ast.Lambda):
        return False
    a = fn.args
    if a.posonlyargs or a.args or a.kwonlyargs or a.vararg or a.kwarg:
        return False
    return any(mod.names.qualified(d.func if isinstance(d, ast.Call) else d) in CACHE_DECORATORS
               for d in fn.decorator_list)


def once_flag_guarded(mod, node, fn) -> bool:
    """Does ``node`` run at most once per process, though ``fn`` may run many times, because
    an ``if`` around it (``node`` in its body) tests a flag that the block flips? ``if not
    _loaded: ...; _loaded = True``, ``if _client is None: _client = ...``, and ``if
    _TO_BE_LOADED: ...; _TO_BE_LOADED = False`` (ddtrace's ``load_appsec()``, which loads its
    listeners "lazily", once), of a global or of a class attribute, tested alone or as one
    operand of ``and``; or after an early ``if _registry is not None: return _registry`` of
    such a flag that ``fn`` later sets (a singleton accessor). A flag on ``self`` is one per
    instance, not once. Answers are cached per ``if`` and per function on ``mod``."""
    if fn is None:
        return False
    cache = mod.guards_cache
    if _after_early_return(mod, node, fn, cache):
        return True
    if "flag-ifs" not in cache:
        # the `if`s whose block sets a variable of the name their test reads, and the functions
        # that hold them: only those can be once-flags, and in other functions the walk up
        # from `node` is saved
        ifs = [p for p in mod.nodes(ast.If) if _may_flip(p)]
        cache["flag-ifs"] = {id(p) for p in ifs}
        cache["flag-fns"] = {id(mod.enclosing_function(p)) for p in ifs}
    if id(fn) not in cache["flag-fns"]:
        return False
    child, p = node, mod.parent(node)
    while p is not None and p is not fn:
        if isinstance(p, ast.If) and id(p) in cache["flag-ifs"] and any(child is b for b in p.body):
            key = ("if", id(p))
            if key not in cache:
                cache[key] = _flips_its_flag(mod, p, fn, cache)
            if cache[key]:
                return True
        child, p = p, mod.parent(p)
    return False


def _may_flip(p: ast.If) -> bool:
    """Does the block of ``p`` set (outside ``except`` handlers) a variable or attribute of the
    name that its test, or an operand of its ``and``, reads?"""
    tests = p.test.values if isinstance(p.test, ast.BoolOp) and isinstance(p.test.op, ast.And) else [p.test]
    read = {_flag_of(_tested(t)) for t in tests} - {""}
    return bool(read) and any(isinstance(a, ast.Assign) and any(_flag_of(t) in read for t in a.targets)
                              for a in _main_path(p.body))


def _flips_its_flag(mod, p: ast.If, fn, cache) -> bool:
    """Does ``p`` (one that :func:`_may_flip`) test a flag of the process that its block sets,
    to a false constant where the test needs one?"""
    tests = p.test.values if isinstance(p.test, ast.BoolOp) and isinstance(p.test.op, ast.And) else [p.test]
    assigns = [a for a in _main_path(p.body) if isinstance(a, ast.Assign)]
    for test in tests:
        flag, flipped_to_false = _flag_test(mod, test, fn, cache)
        if flag and any(
                isinstance(a, ast.Assign) and any(_flag_of(t) == flag for t in a.targets)
                and (not flipped_to_false or _falsy_constant(a.value))
                for a in assigns):
            return True
    return False


def _after_early_return(mod, node, fn, cache) -> bool:
    """Is ``node`` after ``if _registry is not None: return _registry`` (or ``if _registry:``)
    at the top of ``fn``, which later sets that global or class attribute (a singleton
    accessor, MLflow's ``_get_model_registry_store_registry()``)? Then only the first call
    gets past the test."""
    key = ("early", id(fn))
    if key not in cache:
        guards = []
        assigned = None
        for i, stmt in enumerate(fn.body):
            if not (isinstance(stmt, ast.If) and stmt.body and isinstance(stmt.body[-1], ast.Return)
                    and not stmt.orelse):
                continue
            test = stmt.test
            if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot)
                    and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None):
                test = test.left
            if not isinstance(test, (ast.Name, ast.Attribute)):
                continue  # not a flag: no need to read the function's names
            flag, _ = _flag_test(mod, ast.UnaryOp(op=ast.Not(), operand=test), fn, cache)
            if flag and assigned is None:
                assigned = [a for a in ast.walk(fn) if isinstance(a, ast.Assign)]
            if flag and any(any(_flag_of(t) == flag for t in a.targets) and a.lineno > stmt.lineno
                            for a in assigned):
                guards.append(i)
        cache[key] = guards[0] if guards else None
    first = cache[key]
    if first is None:
        return False
    top = node
    while mod.parent(top) is not fn and mod.parent(top) is not None:
        top = mod.parent(top)
    return any(stmt is top for stmt in fn.body[first + 1:])


def _tested(test: ast.expr) -> ast.expr:
    """The expression a condition tests: ``x`` of ``not x``, ``x is None`` and ``x``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Is)
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None):
        return test.left
    return test


def _flag_test(mod, test: ast.expr, fn, cache=None) -> tuple[str, bool]:
    """The flag that a condition tests for "not done yet", and whether the block must set it
    to a false constant (``if _TO_BE_LOADED:``) rather than to anything (``if not done:``,
    ``if x is None:``): ``("", False)`` for another condition or a flag that does not outlive
    the call (a local, a parameter, an attribute of ``self``)."""
    expr = _tested(test)
    falsy = expr is test  # `if _TO_BE_LOADED:`: the block must set it to a false constant
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return "", False
        return expr.attr, falsy
    if isinstance(expr, ast.Name):
        declared = mod.guards_cache.get("globals")
        if declared is None:
            declared = mod.guards_cache["globals"] = {}
            for g in mod.nodes(ast.Global):
                for f in _function_chain(mod, mod.enclosing_function(g)) if mod.enclosing_function(g) else ():
                    declared.setdefault(id(f), set()).update(g.names)
        if expr.id in declared.get(id(fn), ()) or expr.id not in mod.locals_of(fn):
            return expr.id, falsy
    return "", False


def _main_path(body: list[ast.stmt]):
    """The statements of ``body``, and those nested in its compound statements, outside
    ``except`` handlers and nested functions and classes: a flag set only when something
    failed (tqdm's ``except Exception: cls.monitor_interval = 0``) does not make the block run
    once."""
    stack = list(body)
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            stack.extend(getattr(n, name, ()))
        for case in getattr(n, "cases", ()):
            stack.extend(case.body)


def _flag_of(target: ast.expr) -> str:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute) and not (isinstance(target.value, ast.Name) and target.value.id == "self"):
        return target.attr
    return ""


def _falsy_constant(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and not value.value


def _scoped_aliases(mod, fn) -> dict[str, str]:
    """The names that imports inside ``fn`` and the functions around it bind, to what they
    import (``{"_launch": "wandb.sdk.launch._launch"}``; a relative one keeps its dots), the
    innermost function's winning; imports in functions nested in ``fn`` do not count."""
    by_function = mod.guards_cache.get("imports")
    if by_function is None:
        by_function = mod.guards_cache["imports"] = {}
        for node in mod.nodes(ast.Import, ast.ImportFrom):
            g = mod.enclosing_function(node)
            if g is not None:
                by_function.setdefault(id(g), []).append(node)
    out: dict[str, str] = {}
    for g in reversed(_function_chain(mod, fn)):
        for node in sorted(by_function.get(id(g), ()), key=lambda n: (n.lineno, n.col_offset)):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        out[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        out[top] = top
            else:
                base = "." * node.level + (node.module + "." if node.module else "")
                for a in node.names:
                    if a.name != "*":
                        out[a.asname or a.name] = f"{base}{a.name}"
    return out


def _in_class(mod, node) -> bool:
    """Is ``node`` in a class body (a method, a nested class)?"""
    p = mod.parent(node)
    while p is not None and p is not mod.tree:
        if isinstance(p, ast.ClassDef):
            return True
        p = mod.parent(p)
    return False


def _in_loop(mod, node, fn) -> bool:
    """Is ``node`` in the body of a loop of ``fn`` (of the module's top level when ``fn`` is
    None) that may run it again? A `main()`'s serving loop, or a script's `for` at its top,
    runs what it calls many times; but not what it calls in a statement that leaves the loop
    for good: ``return f()``, ``sys.exit(f())`` (pygubu-designer's launcher, ``for arg in
    args: ... sys.exit(start_pygubu())``), ``raise SystemExit(f())``, when no ``try`` between
    that statement and the loop can catch the exit and go on."""
    ends = ""  # "return", or "exit" (a raise, or a call that ends the process), once passed
    p, child = mod.parent(node), node
    while p is not None and p is not fn:
        if isinstance(p, ast.Return):
            ends = "return"
        elif isinstance(p, ast.Raise) or (
                isinstance(p, ast.Call) and child is not p.func and mod.names.qualified(p.func) in PROCESS_EXITS):
            ends = ends or "exit"
        elif ends == "exit" and isinstance(p, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            ends = ""  # a handler may catch it, and the loop go on
        if isinstance(p, LOOPS) and not ends:
            return True
        p, child = mod.parent(p), p
    return False


def _callable_name(mod, fn) -> str:
    """The name a call of which runs ``fn``: a module-level function's own, qualified by its
    module (``"pkg.args.parse"``); its class's, so qualified, for ``__init__``/``__new__``/
    ``__post_init__``; a method's bare name (``"load"``: its callers' receivers cannot be
    resolved); "" for a nested function (its callers cannot be told by name)."""
    parent = mod.parent(fn)
    if parent is mod.tree:
        return f"{module_dotted(mod.path)}.{fn.name}".lstrip(".")
    if isinstance(parent, ast.ClassDef) and mod.parent(parent) is mod.tree:
        if fn.name in ("__init__", "__new__", "__post_init__"):
            return f"{module_dotted(mod.path)}.{parent.name}".lstrip(".")
        return fn.name
    return ""


#: Command-line frameworks whose command callbacks run once per invocation of the program.
CLI_FRAMEWORKS = frozenset({"click", "typer", "asyncclick", "rich_click", "cloup"})


def cli_command(mod, fn) -> bool:
    """Is ``fn`` a command of a command-line framework (:data:`CLI_FRAMEWORKS`): decorated
    ``@click.command()``, ``@cli.command(...)``, ``@cli.group()`` or typer's
    ``@app.callback()`` in a module that imports one of them? Such a callback runs once per
    invocation of the program, as a script's ``main()`` does (wandb's ``launch_agent``, which
    sets up the agent's log file). Not a chat bot's ``@bot.command()`` (discord.py), which runs
    per message: its module imports no command-line framework."""
    if not fn.decorator_list:
        return False
    names = [short_name(d.func if isinstance(d, ast.Call) else d) for d in fn.decorator_list]
    if not any(n in ("command", "group", "callback") for n in names):
        return False
    return any(q.split(".")[0] in CLI_FRAMEWORKS for q in mod.names.aliases.values())


def _is_script(mod) -> bool:
    """A file run as a program, never imported: ``setup.py``, a ``#!`` line (an executable
    script such as a git hook) or a ``__main__`` guard."""
    if mod.path.rsplit("/", 1)[-1] == "setup.py" or mod.source.startswith("#!"):
        return True
    for stmt in mod.tree.body:
        if (isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Compare)
                and isinstance(stmt.test.left, ast.Name) and stmt.test.left.id == "__name__"):
            return True
    return False
