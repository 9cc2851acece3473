"""LK106 listener-never-removed: a handler, listener, callback or hook added each time a
function runs and never removed.

The registrar pairs are data: ``leakspot/python/registrars.toml`` (see its header for the
kinds) plus the rule option ``extra-registrars``.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from leakspot.python.bases import search_bases
from leakspot.python.checks import (LOOPS, PythonCheck, assigned_values, display, is_test_module, is_test_name,
                                    made_before, memoised_by_metaclass, new_object, process_targets, python_check,
                                    short_name as _short)
from leakspot.python.checks.unbounded_module_cache import (CLASS_DEFINITION_HOOKS, REGISTRAR_NAME, _callable_name,
                                                            _function_chain, _is_script, _params,
                                                            cached_without_arguments, cli_command, once_flag_guarded)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOGGER_FACTORIES = frozenset({"logging.getLogger", "logging.Logger", "logging.getLoggerClass"})
#: Run once per program, or once per class when the class is defined
#: (:data:`~leakspot.python.checks.unbounded_module_cache.CLASS_DEFINITION_HOOKS`): at import,
#: not per request.
RUN_ONCE = frozenset({"setUpClass", "setUpModule", "ready"}) | CLASS_DEFINITION_HOOKS
#: Django's signal sent once for each model class, when the class is made.
CLASS_PREPARED = "django.db.models.signals.class_prepared"
#: Lifecycle hooks named for start-up (``on_startup``, ``on_after_startup``, ``startup_event``):
#: a framework or plugin host calls each once, when the program starts.
STARTUP_NAME = re.compile(r"(^|_)(?i:startup)(_|$)|^(?i:startup)[A-Z]|[a-z](Startup)([A-Z]|$)")
PER_INSTANCE = frozenset({"__init__", "__new__", "__call__", "__enter__", "__aenter__", "__post_init__"})
#: Getters whose value a `replace` setter can put back.
GETTERS = {"sys.gettrace": "sys.settrace", "sys.getprofile": "sys.setprofile",
           "threading.gettrace": "threading.settrace", "signal.getsignal": "signal.signal"}
DJANGO_RECEIVER = frozenset({"django.dispatch.receiver", "django.dispatch.dispatcher.receiver"})
#: receivers whose registries hold listeners by weak reference (PyPubSub's `pub.subscribe`:
#: "callable_obj is held only by weak reference"), as Django's and blinker's do by default
WEAK_REGISTRIES = frozenset({"pubsub.pub"})


@dataclass(frozen=True)
class Pair:
    """A registrar and its unregistrar (see ``registrars.toml`` for the kinds).

    Attributes:
        kind: logger, function, method, signal, replace or finalize.
        add: the registering method name or qualified function.
        remove: the removing one, or "" when nothing can remove it.
        what: the noun shown in messages ("log handler").
        repeat: "any" (every function that may run many times) or "clearly" (per-instance
            methods and loops only).
        min_args: fewest arguments a call needs to be this registrar.
        first_arg: "" (anything), "string" (a string literal) or a prefix the first argument,
            a string literal, must start with.
        remove_also: other methods that remove it when called on the same receiver
            (``hub.remove(fd)`` beside ``hub.remove_reader(fd)``).
        parameter_receivers: whether a parameter of a per-instance method counts as a
            receiver that outlives the call (not for a future: it drops its callbacks once done).
    """

    kind: str
    add: str
    remove: str
    what: str
    repeat: str = "any"
    min_args: int = 0
    first_arg: str = ""
    remove_also: tuple[str, ...] = ()
    parameter_receivers: bool = True

    def matches(self, call: ast.Call) -> bool:
        """Does ``call`` have this registrar's shape (argument count, first argument)?"""
        if len(call.args) + len(call.keywords) < self.min_args:
            return False
        if not self.first_arg:
            return True
        first = call.args[0] if call.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            return False
        return self.first_arg == "string" or first.value.startswith(self.first_arg)

    @property
    def short(self) -> str:
        return self.add.rsplit(".", 1)[-1]


@lru_cache(maxsize=None)
def builtin_pairs() -> tuple[Pair, ...]:
    """The pairs of ``registrars.toml``."""
    doc = tomllib.loads((Path(__file__).parent.parent / "registrars.toml").read_text(encoding="utf-8"))
    return tuple(Pair(**{**entry, "remove_also": tuple(entry.get("remove_also", ()))}) for entry in doc["pair"])


def parse_extra(entries) -> tuple[Pair, ...]:
    """Pairs from the ``extra-registrars`` option: ``"add:remove"`` strings; dotted names are
    functions, others methods."""
    out = []
    for entry in entries:
        add, _, remove = entry.partition(":")
        add, remove = add.strip(), remove.strip()
        if add:
            out.append(Pair("function" if "." in add else "method", add, remove, "listener"))
    return tuple(out)


@python_check
class ListenerNeverRemoved(PythonCheck):
    """Reports registrar calls in functions that may run many times when nothing in the
    module removes what they add (see the rule document for each kind)."""

    code = "LK106"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        pairs = builtin_pairs() + parse_extra(self.settings.option(self.rule.slug, "extra-registrars"))
        self.by_short: dict[str, list[Pair]] = {}
        for pair in pairs:
            self.by_short.setdefault(pair.short, []).append(pair)
        self.by_short.setdefault("receiver", [])
        self._prepared_receivers: set[str] | None = None
        # (id(fn), attr): what `_base_search` found for `self.<attr>` in `fn`
        self._base_searches: dict[tuple[int, str], tuple[bool, tuple[str, ...]] | None] = {}

    def visit_Call(self, call: ast.Call) -> None:
        func = call.func
        short = _short(func)
        pairs = self.by_short.get(short)
        if pairs is None and isinstance(func, ast.Name) and func.id in self.names.aliases:
            pairs = self.by_short.get(self.names.aliases[func.id].rsplit(".", 1)[-1])
        if pairs is None:
            return
        if short == "receiver" or (isinstance(func, ast.Name) and self.names.aliases.get(func.id) in DJANGO_RECEIVER):
            self._django_receiver(call)
            return
        for pair in pairs:
            if not pair.matches(call):
                continue
            handler = getattr(self, "_" + pair.kind)
            if handler(call, pair):
                return

    # -- kinds -----------------------------------------------------------------------------
    def _logger(self, call: ast.Call, pair: Pair) -> bool:
        func = call.func
        if not isinstance(func, ast.Attribute) or not self._is_logger(func.value):
            return False
        fn = self._repeating(call, pair)
        if fn is None or self._module_calls(pair.remove) or self._same_object_each_call(call, fn):
            return True
        if self._made_here(func.value, fn):
            return True
        self._report(call, f"{display(func.value)}.{func.attr}(...)", pair, fn)
        return True

    def _made_here(self, logger: ast.expr, fn) -> bool:
        """Is ``logger`` a variable of ``fn`` bound only to ``logging.Logger(...)``: a new
        logger, which the logging manager does not know (ginga's ``get_logger()`` makes one
        per call)? Its handlers go with it; they do not pile up on a shared, named logger."""
        if not isinstance(logger, ast.Name) or logger.id in _params(fn):
            return False
        values = assigned_values(fn, logger.id)
        # every binding must be one of those plain assignments (not `for`, `with ... as`, a tuple)
        stores = sum(1 for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id == logger.id
                     and isinstance(n.ctx, ast.Store))
        return bool(values) and stores == len(values) and all(
            isinstance(v, ast.Call) and self.qualified(v.func) == "logging.Logger" for v in values)

    def _same_object_each_call(self, call: ast.Call, fn) -> bool:
        """Is the handler or filter a module-level object, the same one on every call?
        ``Logger.addHandler`` and ``Filterer.addFilter`` ignore one that is already there."""
        arg = call.args[0] if len(call.args) == 1 else None
        return (isinstance(arg, ast.Name) and arg.id not in self.locals_of(fn)
                and arg.id in self.names.module_bindings and arg.id not in self.names.aliases)

    def _function(self, call: ast.Call, pair: Pair) -> bool:
        if self.qualified(call.func) != pair.add:
            return False
        fn = self._repeating(call, pair)
        if fn is not None and not (pair.remove and self._module_calls(pair.remove)):
            self._report(call, f"{display(call.func)}(...)", pair, fn)
        return True

    def _method(self, call: ast.Call, pair: Pair) -> bool:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return False
        if _no_callback(call):
            return True  # `schema.subscribe(query=q, variable_values=v)`: a result stream, not a listener
        if self._handle_kept(call):
            return True  # `self._disposer = observable.subscribe(cb)`: what removes it is kept
        if self.qualified(func.value) in WEAK_REGISTRIES:
            return True
        fn = self._repeating(call, pair)
        if fn is None or not self._outlives(func.value, call, fn, pair.parameter_receivers):
            return True
        if is_test_module(self.module.path) and (_on_self(func.value) or _is_parameter(func.value, fn)):
            return True  # a test harness's client or server, or one it is handed, lives for one test
        if pair.remove and self._module_calls(pair.remove):
            return True
        if any(self._calls_on(func.value, name, fn) for name in pair.remove_also):
            return True
        self._report(call, f"{display(func.value)}.{func.attr}(...)", pair, fn)
        self.findings[-1].argument = self._argument(func.value, call, fn)
        bases = self._deferred_bases(func.value, fn)
        if bases:
            self.findings[-1].key, self.findings[-1].bases = func.value.attr, bases
        return True

    def _handle_kept(self, call: ast.Call) -> bool:
        """Is the result of a method registrar kept: assigned, returned, passed on? Such APIs
        return what removes the listener (Rx's `Disposable`, an unsubscribe function, Tk's
        `bind()` id for `unbind()`), and the code that keeps it can remove it. A result used as
        the receiver of another call (`el.on("a", f).on("b", g)`) is the emitter itself, and
        the body of a lambda hands it to the lambda's caller (pyvista's key callback
        `lambda: self.iren.add_observer(...)`, run on every key press, drops it)."""
        parent = self.module.parent(call)
        if isinstance(parent, ast.Await):
            parent = self.module.parent(parent)
        return not isinstance(parent, (ast.Expr, ast.Attribute, ast.Lambda))

    def _signal(self, call: ast.Call, pair: Pair) -> bool:
        if not isinstance(call.func, ast.Attribute) or not _strong(call):
            return False
        fn = self._repeating(call, pair)
        if fn is not None and not self._module_calls(pair.remove):
            self._report(call, f"{display(call.func)}(..., weak=False)", pair, fn)
        return True

    def _django_receiver(self, call: ast.Call) -> None:
        """``@receiver(signal, weak=False)`` on a function defined inside another function."""
        if self.qualified(call.func) not in DJANGO_RECEIVER or not _strong(call):
            return
        decorated = self.module.parent(call)
        if not isinstance(decorated, (ast.FunctionDef, ast.AsyncFunctionDef)) or call not in decorated.decorator_list:
            return
        pair = Pair("signal", "receiver", "disconnect", "signal receiver")
        fn = self._repeating(decorated, pair)
        if fn is not None and not self._module_calls("disconnect"):
            self._report(call, "@receiver(..., weak=False)", pair, fn)

    def _replace(self, call: ast.Call, pair: Pair) -> bool:
        """A setter whose previous value is saved (``old = signal.signal(...)`` or
        ``old = sys.gettrace()``) and never used again: the replacement stays installed."""
        if self.qualified(call.func) != pair.add:
            return False
        fn = self.module.enclosing_function(call)
        if fn is None:
            return True
        saved = None
        parent = self.module.parent(call)
        if isinstance(parent, ast.Assign) and parent.value is call and len(parent.targets) == 1:
            saved = parent.targets[0]
        else:
            for node in ast.walk(fn):
                if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.Call)
                        and GETTERS.get(self.qualified(node.value.func) or "") == pair.add
                        and node.lineno < call.lineno):
                    saved = node.targets[0]
        if saved is None or self._used_again(saved, fn):
            return True
        self.report(call, call=f"{display(call.func)}(...)",
                    detail=f"installs {_a(pair.what)} in `{fn.name}()` and never puts back the previous one, "
                    f"saved in `{display(saved)}`: the replacement stays installed with everything it references")
        return True

    def _finalize(self, call: ast.Call, pair: Pair) -> bool:
        """``weakref.finalize(obj, func, *args)`` where func or an argument references obj."""
        if self.qualified(call.func) != pair.add or len(call.args) < 2:
            return False
        obj = call.args[0]
        if not isinstance(obj, ast.Name) or self._is_class(obj):
            return True  # a class object lives until exit anyway: nothing is kept longer
        func, rest = call.args[1], call.args[2:] + [k.value for k in call.keywords]
        if self._references(func, obj.id, callback=True) or any(self._references(e, obj.id) for e in rest):
            self.report(call, call=f"{display(call.func)}({obj.id}, ...)",
                        detail=f"has a callback or arguments that reference `{obj.id}` itself: the finalizer "
                        f"registry keeps `{obj.id}` alive until exit, so it is never collected")
        return True

    # -- helpers ---------------------------------------------------------------------------
    def _report(self, call: ast.AST, shown: str, pair: Pair, fn) -> None:
        why = (f"nothing in this module calls `{pair.remove.rsplit('.', 1)[-1]}`" if pair.remove
               else "it can never be removed")
        self.report(call, call=shown, detail=f"adds {_a(pair.what)} each time `{fn.name}()` runs and {why}: "
                    "they accumulate, with everything they reference")
        # the name whose calls run `fn`: the project phase drops the finding when the run
        # calls it only at set-up (`MainBackend(...)` at the bottom of a launcher script)
        name = _callable_name(self.module, fn)
        self.findings[-1].grown_by = (name,) if name else ()

    def _repeating(self, node: ast.AST, pair: Pair):
        """The function around ``node`` when it may run many times and the add is not guarded
        to happen once; else None."""
        fn = self.module.enclosing_function(node)
        if fn is None or self._runs_once(fn) or self._guarded(node, fn) or self._singleton(fn):
            return None
        if _fork_child(self.module, node, fn):
            return None  # once in each forked child
        if _named_after(fn.name, pair.short):
            return None  # `def subscribe(self): bus.subscribe(...)`: a registrar itself, its callers pair it
        if self._adds_callers_handler(node, fn, pair):
            return None  # `def on_end(self, callback): el.on("sortend", callback)`: the same
        if self._decorator_registering_its_function(node, fn):
            return None  # `def decorator(func): bus.add_listener(func); return func`
        if self._called_only_guarded(fn):
            return None  # `if not logger.hasHandlers(): _open_log(logger)`: the caller's test
        if pair.repeat == "clearly" and fn.name not in PER_INSTANCE and not self._in_loop(node, fn):
            return None
        return fn

    def _called_only_guarded(self, fn) -> bool:
        """Is ``fn`` a private function of the module (``_open_install_log``) that the module
        names only in calls, each under a test that makes the add idempotent (:meth:`_guarded`:
        cylc's ``if open_file and not logger.hasHandlers(): _open_install_log(rund, logger)``)?
        A private name is the module's own: nothing else calls it."""
        if not (fn.name.startswith("_") and not fn.name.startswith("__")
                and self.module.parent(fn) is self.module.tree):
            return False
        uses = [n for n in self.module.nodes(ast.Name) if n.id == fn.name]
        calls = [n for n in uses if isinstance(self.module.parent(n), ast.Call) and self.module.parent(n).func is n]
        if not calls or len(calls) != len(uses):
            return False  # never called here, or handed on as a value
        for name in calls:
            call = self.module.parent(name)
            caller = self.module.enclosing_function(call)
            if caller is None or caller is fn or not self._tests_listeners_first(call, caller):
                return False
        return True

    def _tests_listeners_first(self, call: ast.Call, caller) -> bool:
        """Is ``call`` under an ``if`` that looks at what is registered (``not
        logger.hasHandlers()``), after an early ``if logger.handlers: return``, or under a
        once-flag of the process (:func:`once_flag_guarded`; a flag on ``self`` is one per
        instance, and what ``call`` adds is not the instance's)?"""
        if once_flag_guarded(self.module, call, caller) or _after_listeners_return(caller, call):
            return True
        child, p = call, self.module.parent(call)
        while p is not None and p is not caller:
            if isinstance(p, ast.If) and any(child is b for b in p.body) and _mentions_listeners(p.test):
                return True
            child, p = p, self.module.parent(p)
        return False

    def _singleton(self, fn) -> bool:
        """Is ``fn`` the constructor (``__init__``, ``__new__``, ``__post_init__``) of a
        module-level class that the module makes only once: every call of the class in the
        module is under a once-guard (``if _model is None: _model = Model()``, a singleton
        accessor) or at import time, outside loops, or memoised per key (``if name not in
        cls._instances: cls._instances[name] = cls(...)``, langsmith's test suites): one
        instance per key, which the memo keeps alive anyway, so what the constructor registers
        holds nothing more (whether the memo grows is ``unbounded-module-cache``'s question).
        So is a class whose metaclass memoises what it makes
        (:func:`~leakspot.python.checks.memoised_by_metaclass`: yfinance's ``SingletonMeta``),
        wherever it is made. A class the module makes nowhere is judged as before: its callers
        are elsewhere."""
        cls = self.module.parent(fn)
        if fn.name not in ("__init__", "__new__", "__post_init__") or not (
                isinstance(cls, ast.ClassDef) and self.module.parent(cls) is self.module.tree):
            return False
        if memoised_by_metaclass(self.module, cls):
            return True
        classmethods = {id(m) for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and any(isinstance(d, ast.Name) and d.id == "classmethod" for d in m.decorator_list)}
        calls = [c for c in self.module.nodes(ast.Call) if isinstance(c.func, ast.Name) and (
            c.func.id == cls.name or c.func.id == "cls" and id(self.module.enclosing_function(c)) in classmethods)]
        if not calls:
            return False
        for call in calls:
            caller = self.module.enclosing_function(call)
            if caller is None:
                if self._in_loop(call, None):
                    return False
            elif not (self._guarded(call, caller) or _memoised(self.module, call, caller)):
                return False
        return True

    def _adds_callers_handler(self, node: ast.AST, fn, pair: Pair) -> bool:
        """Is ``fn`` an API for adding handlers: named for the registrar and an event
        (``on_end`` for ``on``, ``subscribe_to`` for ``subscribe``; not ``__init__``), and does
        the add register what its caller passes (a parameter, or a lambda or nested function
        that uses one)? Then its callers decide how often it runs. A handler named for its
        event (``def on_open(self, ws): ws.on("message", self.relay)``) registers its own
        callback, and stays reported."""
        if not isinstance(node, ast.Call) or fn.name in PER_INSTANCE:
            return False
        if not fn.name.lower().lstrip("_").startswith(pair.short.lower() + "_"):
            return False
        params = _params(fn) - {"self", "cls"}
        args = [*node.args, *(k.value for k in node.keywords)]
        return any(isinstance(n, ast.Name) and n.id in params for e in args for n in ast.walk(e))

    def _decorator_registering_its_function(self, node: ast.AST, fn) -> bool:
        """Is ``fn`` a decorator that registers the function it decorates and returns it
        (``def decorator(func): self.add_listener(func, name); return func``, the inner function
        of nextcord's ``@bot.listen()``)? It runs once per ``def`` it decorates, which its users
        write; a wrapper that calls what it wraps (``return func(*args)``) runs per call and
        stays reported."""
        if not isinstance(node, ast.Call):
            return False
        params = _params(fn) - {"self", "cls"}
        returned = {r.value.id for r in ast.walk(fn) if isinstance(r, ast.Return)
                    and isinstance(r.value, ast.Name) and r.value.id in params
                    and self.module.enclosing_function(r) is fn}
        args = [*node.args, *(k.value for k in node.keywords)]
        return any(isinstance(a, ast.Name) and a.id in returned for a in args)

    def _calls_on(self, recv: ast.expr, method: str, fn) -> bool:
        """Does the class around ``fn`` (or the module, for a function outside a class) call
        ``<recv>.<method>(...)`` on the same receiver expression?"""
        wanted = ast.dump(recv)
        scope = self.module.parent(fn)
        nodes = ast.walk(scope) if isinstance(scope, ast.ClassDef) else self.module.nodes(ast.Call)
        return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == method
                   and ast.dump(n.func.value) == wanted for n in nodes)

    def _outlives(self, recv: ast.expr, call: ast.Call, fn, parameters: bool = True) -> bool:
        """Does the receiver of a method registrar outlive the call: a module global, an
        attribute of ``self`` that its class does not create, or (when ``parameters``) a
        parameter of a per-instance method or a loop body?"""
        if isinstance(recv, ast.Name):
            if recv.id not in self.locals_of(fn):
                outer = self.module.enclosing_function(fn)
                while outer is not None and recv.id not in self.locals_of(outer):
                    outer = self.module.enclosing_function(outer)
                if outer is not None:
                    # `future` of the function around a nested one: an object of that call,
                    # judged as that function's own local or parameter
                    return self._outlives(recv, call, outer, parameters) if _params(outer) & {recv.id} else False
                if made_before(self.module, call, fn, lambda t: isinstance(t, ast.Name) and t.id == recv.id):
                    # `global boxRoot; boxRoot = tk.Toplevel(...)` (easygui): a new object for
                    # each call, kept in a global, binds like a local of the call
                    return False
                return recv.id not in self.names.aliases or not self._is_module(recv)
            params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
            return parameters and recv.id in params and recv.id not in ("self", "cls") and (
                fn.name in PER_INSTANCE or self._in_loop(call, fn))
        if isinstance(recv, ast.Attribute) and isinstance(recv.value, ast.Name) and recv.value.id == "self":
            cls = self.module.parent(fn)
            if not isinstance(cls, ast.ClassDef):
                return True
            own = creates_attribute(self.module, cls, recv.attr)
            if own is None:
                found = self._base_search(cls, fn, recv.attr)
                return not (found and found[0])
            return not own
        return False

    def _argument(self, recv: ast.expr, call: ast.Call, fn) -> tuple[str, ...]:
        """For a receiver that a module-level class's ``__init__`` or ``__new__`` is given (a
        parameter, or ``self.<attr>`` assigned that parameter before ``call``), the keys under
        which a call of the class passes it (``Finding.argument``): the project phase drops
        the finding when every call in the run passes a new object there
        (:func:`leakspot.engine.drop_bound_to_new_arguments`). Empty for any other receiver."""
        cls = self.module.parent(fn)
        if fn.name not in ("__init__", "__new__") or not (
                isinstance(cls, ast.ClassDef) and self.module.parent(cls) is self.module.tree):
            return ()
        params = _params(fn) - {"self", "cls"}
        name = recv.id if isinstance(recv, ast.Name) else ""
        if _on_self(recv):
            name = next((p for p in sorted(params) if made_before(
                self.module, call, fn, lambda t: _on_self(t) and t.attr == recv.attr,
                lambda v, p=p: isinstance(v, ast.Name) and v.id == p)), "")
        if name not in params or assigned_values(fn, name):
            return ()  # not a parameter, or one bound again in the constructor
        a = fn.args
        positional = [x.arg for x in a.posonlyargs + a.args][1:]
        if name in positional:
            index = str(positional.index(name))
            return (index,) if name in [x.arg for x in a.posonlyargs] else (index, name)
        return (name,) if name in [x.arg for x in a.kwonlyargs] else ()

    def _deferred_bases(self, recv: ast.expr, fn) -> tuple[str, ...]:
        """For a receiver ``self.<attr>`` in a constructor (:data:`PER_INSTANCE`) of a class
        that never sets the attribute, the import-qualified bases whose modules may create it
        (:func:`leakspot.python.bases.search_bases`): the project phase looks in their files
        (:func:`leakspot.engine.drop_owned_by_base`)."""
        cls = self.module.parent(fn)
        if not (_on_self(recv) and isinstance(cls, ast.ClassDef)
                and creates_attribute(self.module, cls, recv.attr) is None):
            return ()
        found = self._base_search(cls, fn, recv.attr)
        return found[1] if found else ()

    def _base_search(self, cls: ast.ClassDef, fn, attr: str) -> tuple[bool, tuple[str, ...]] | None:
        """For ``self.<attr>`` in ``fn``, a method of ``cls``, which never sets it: what
        :func:`~leakspot.python.bases.search_bases` finds in the bases, ``(owned, deferred)``.
        In a constructor (:data:`PER_INSTANCE`) a base owns it when it creates it (``self.text``
        of thonny's ``TextFrame``: the binding is made once per instance, on a child that dies
        with it); in another method, when it calls that method only right after making it anew
        (:func:`made_before_hook`: each binding is on a new widget). None when neither can
        hold: a hook that this module also calls otherwise. Searched once per method and
        attribute (``_outlives`` asks, then ``_deferred_bases`` for a finding)."""
        key = (id(fn), attr)
        if key not in self._base_searches:
            if fn.name in PER_INSTANCE:
                owns = creates_attribute
            elif hook_calls(self.module, None, fn.name, attr) is not False:
                owns = made_before_hook(fn.name)
            else:
                owns = None
            self._base_searches[key] = search_bases(self.module, cls, attr, owns) if owns else None
        return self._base_searches[key]

    def _is_module(self, name: ast.Name) -> bool:
        q = self.qualified(name) or ""
        return "." not in q  # `import asyncio`: a module, not an emitter

    def _used_again(self, saved: ast.expr, fn) -> bool:
        if isinstance(saved, ast.Name):
            return any(isinstance(n, ast.Name) and n.id == saved.id and isinstance(n.ctx, ast.Load)
                       for n in ast.walk(fn))
        if isinstance(saved, ast.Attribute):
            return any(isinstance(n, ast.Attribute) and n.attr == saved.attr and isinstance(n.ctx, ast.Load)
                       for n in self.module.nodes(ast.Attribute))
        return True  # tuple targets, subscripts: not followed

    def _references(self, expr: ast.expr, name: str, callback: bool = False) -> bool:
        """Does evaluating ``expr`` keep a reference to the object named ``name``: the name
        itself, a bound method of it as the ``callback`` (``self.close``, not a classmethod or
        staticmethod of its class), or a lambda or nested function that uses it?"""
        if isinstance(expr, ast.Name):
            if expr.id == name:
                return True
            nested = self._nested_function(expr)
            return nested is not None and any(
                isinstance(n, ast.Name) and n.id == name for b in nested.body for n in ast.walk(b))
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == name:
            if not callback:
                return False  # `self.name` as an argument is a plain value
            return name != "self" or self._instance_method(expr)
        if isinstance(expr, ast.Lambda):
            return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(expr.body))
        if isinstance(expr, (ast.Tuple, ast.List)):
            return any(self._references(e, name) for e in expr.elts)
        return False

    def _is_class(self, name: ast.Name) -> bool:
        """``cls`` of a classmethod, or the name of a class defined in this module."""
        fn = self.module.enclosing_function(name)
        if fn is not None and any(isinstance(d, ast.Name) and d.id == "classmethod" for d in fn.decorator_list):
            params = fn.args.posonlyargs + fn.args.args
            if params and params[0].arg == name.id:
                return True
        return any(isinstance(c, ast.ClassDef) and c.name == name.id for c in self.module.nodes(ast.ClassDef))

    def _nested_function(self, name: ast.Name):
        """The function defined under ``name`` in the same function as ``name``, or None."""
        fn = self.module.enclosing_function(name)
        if fn is None:
            return None
        for stmt in ast.walk(fn):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt is not fn and stmt.name == name.id:
                return stmt
        return None

    def _instance_method(self, attr: ast.Attribute) -> bool:
        fn = self.module.enclosing_function(attr)
        cls = self.module.parent(fn) if fn is not None else None
        if not isinstance(cls, ast.ClassDef):
            return False
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == attr.attr:
                return not any(self.qualified(d) in ("builtins.classmethod", "builtins.staticmethod")
                               for d in stmt.decorator_list)
        return False

    def _is_logger(self, expr: ast.expr) -> bool:
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
        """Does ``fn`` (or a function around it) run once: named like set-up code or a
        registrar, a test or a pytest fixture (once per test), the ``target=`` of a
        ``Process(...)`` (the whole life of a process), or any function of a script?"""
        for f in _function_chain(self.module, fn):
            n = f.name
            if n in RUN_ONCE or (not n.startswith("__") and REGISTRAR_NAME.search(n)):
                return True
            if is_test_name(n) or n in process_targets(self.module) or any(
                    _short(d.func if isinstance(d, ast.Call) else d) == "fixture" for d in f.decorator_list):
                return True
            if STARTUP_NAME.search(n) or self._cached_without_arguments(f) or cli_command(self.module, f):
                return True
            if self._class_prepared_receiver(f):
                return True
        # a program that runs once, nothing imports it; a Django management command's
        # `handle()` runs once per `manage.py` invocation, as a script's `main()` does
        return _is_script(self.module) or "/management/commands/" in f"/{self.module.path}"

    def _class_prepared_receiver(self, fn) -> bool:
        """Is ``fn`` a receiver of Django's ``class_prepared`` signal (:data:`CLASS_PREPARED`):
        decorated ``@receiver(class_prepared)``, or connected in its module as
        ``class_prepared.connect(self.<fn>)`` or ``class_prepared.connect(<fn>)``? It runs
        when a model class is made, once per class (django-simple-history's ``finalize()``,
        which connects the model's ``post_save`` receivers)."""
        for d in fn.decorator_list:
            if isinstance(d, ast.Call) and _short(d.func) == "receiver" and d.args and \
                    self.qualified(d.args[0]) == CLASS_PREPARED:
                return True
        if self._prepared_receivers is None:
            # the names the module connects to `class_prepared`, found once per module
            self._prepared_receivers = {
                _attr_or_name(call.args[0]) for call in self.module.nodes(ast.Call)
                if isinstance(call.func, ast.Attribute) and call.func.attr == "connect" and call.args
                and self.qualified(call.func.value) == CLASS_PREPARED} - {""}
        return fn.name in self._prepared_receivers

    def _cached_without_arguments(self, fn) -> bool:
        """:func:`cached_without_arguments`: its body runs once."""
        return cached_without_arguments(self.module, fn)

    def _resets_lists(self, attr: str) -> bool:
        """``logger.handlers = []``, ``root.handlers[:] = saved``, ``del logger.handlers[:]``
        (gevent-websocket's ``create_logger()``) or ``logger.handlers.clear()``."""
        for node in self.module.nodes(ast.Assign, ast.Delete):
            if any(_attr_of(t) == attr for t in node.targets):
                return True
        for node in self.module.nodes(ast.Attribute):
            if node.attr == "clear" and _attr_of(node.value) == attr:
                return True
        return False

    def _in_loop(self, node: ast.AST, fn) -> bool:
        p = self.module.parent(node)
        while p is not None and p is not fn:
            if isinstance(p, LOOPS):
                return True
            p = self.module.parent(p)
        return False

    def _guarded(self, node: ast.AST, fn) -> bool:
        """Under a test that makes the add idempotent: ``if not logger.handlers:``,
        ``if h not in logger.handlers:``, ``if not has_level_handler(logger):``, or a once-flag
        (``if not self._registered: ... self._registered = True``, ``if _TO_BE_LOADED: ...;
        _TO_BE_LOADED = False``: :func:`once_flag_guarded`); or after an early
        ``if logger.handlers: return`` in the function's body."""
        if once_flag_guarded(self.module, node, fn) or _after_listeners_return(fn, node):
            return True
        p = self.module.parent(node)
        while p is not None and p is not fn:
            if isinstance(p, ast.If):
                if _mentions_listeners(p.test):
                    return True
                # `if not done:`, or one operand of `if not done and config.log_file:`
                tests = p.test.values if isinstance(p.test, ast.BoolOp) and isinstance(p.test.op, ast.And) else [p.test]
                for test in tests:
                    flag = self._once_flag(test, fn)
                    sets = [t for b in p.body for a in ast.walk(b) if isinstance(a, ast.Assign)
                            for t in a.targets if flag and _flag_name(t) == flag]
                    sets = sets or (self._set_by_method(p.body, flag, fn) if flag else [])
                    if sets and not (fn.name in PER_INSTANCE and all(_on_self(t) for t in sets)
                                     and not _new_singleton(self.module.parent(fn))):
                        # (`self.done = True` in `__init__` is once per instance, not once;
                        # but of a singleton's one instance, once)
                        return True
                    if _once_per_class(test, p.body):
                        return True
            p = self.module.parent(p)
        return False

    def _set_by_method(self, body: list[ast.stmt], flag: str, fn) -> list[ast.expr]:
        """The assignments of ``flag`` in the methods of ``fn``'s class that ``body`` calls or
        hands on as ``self.m``/``cls.m`` (modin's ``if cls.__factory is None:
        Backend.subscribe(cls._update_factory)``, whose callback sets ``cls.__factory``)."""
        cls = self.module.parent(fn)
        if not isinstance(cls, ast.ClassDef):
            return []
        methods = {m.name: m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        named = {a.attr for b in body for a in ast.walk(b) if isinstance(a, ast.Attribute)
                 and isinstance(a.value, ast.Name) and a.value.id in ("self", "cls") and a.attr in methods}
        return [t for name in named if methods[name] is not fn for a in ast.walk(methods[name])
                if isinstance(a, ast.Assign) for t in a.targets if _flag_name(t) == flag]

    def _once_flag(self, test: ast.expr, fn) -> str:
        """The flag a condition tests for "not done yet": ``not done``, or ``_logger is None``
        of an attribute or a global (a parameter or local is tested again on every call); ""
        for any other condition."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return _flag_name(test.operand)
        if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Is)
                and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None
                and self._persistent(test.left, fn)):
            return _flag_name(test.left)  # `if _logger is None: _logger = ...`
        return ""

    def _persistent(self, expr: ast.expr, fn) -> bool:
        """Does ``expr`` outlive a call of ``fn``: an attribute, or a global name?"""
        if isinstance(expr, ast.Attribute):
            return True
        if not isinstance(expr, ast.Name):
            return False
        declared = any(isinstance(g, ast.Global) and expr.id in g.names for g in ast.walk(fn))
        return declared or expr.id not in self.locals_of(fn)

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


def _named_after(function: str, registrar: str) -> bool:
    """Is ``function`` named after ``registrar``: the same name, or (for names of six letters or
    more, so that ``on`` or ``bind`` do not match ``on_open``) one that contains it between
    underscores (``subscribe_all``, ``_add_listener``)?"""
    name, reg = function.lower().strip("_"), registrar.lower()
    if name == reg:
        return True
    return len(reg) >= 6 and f"_{reg}_" in f"_{name}_"


def _new_singleton(cls: ast.AST | None) -> bool:
    """Is ``cls`` a class whose ``__new__`` hands out one instance: it returns ``cls.X`` and
    sets ``cls.X`` under an ``if`` that tests it (``if not cls.instance: cls.instance =
    super().__new__(cls)``, nagiosplugin's ``Runtime``)? Its ``__init__`` still runs on every
    call, on that one instance, so a flag on ``self`` there is a flag of the process."""
    if not isinstance(cls, ast.ClassDef):
        return False
    for new in cls.body:
        if not (isinstance(new, ast.FunctionDef) and new.name == "__new__" and new.args.args):
            continue
        me = new.args.args[0].arg
        returned = {n.value.attr for n in ast.walk(new) if isinstance(n, ast.Return)
                    and isinstance(n.value, ast.Attribute) and isinstance(n.value.value, ast.Name)
                    and n.value.value.id == me}
        for branch in ast.walk(new):
            if not isinstance(branch, ast.If):
                continue
            tested = {n.attr for n in ast.walk(branch.test) if isinstance(n, ast.Attribute)} | {
                n.value for n in ast.walk(branch.test) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            set_ = {t.attr for a in branch.body if isinstance(a, ast.Assign) for t in a.targets
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == me}
            if returned & tested & set_:
                return True
    return False


def _after_listeners_return(fn, node: ast.AST) -> bool:
    """Is ``node`` after an ``if`` at the top level of ``fn``'s body that looks at what is
    registered and returns or raises (``if logger.handlers: return``)?"""
    for stmt in fn.body:
        if stmt.lineno >= node.lineno:
            break
        if (isinstance(stmt, ast.If) and stmt.body and isinstance(stmt.body[-1], (ast.Return, ast.Raise))
                and _mentions_listeners(stmt.test)):
            return True
    return False


def _mentions_listeners(test: ast.expr) -> bool:
    """Does a condition look at what is registered (``logger.handlers``, ``_registered``)?"""
    for n in ast.walk(test):
        name = n.attr if isinstance(n, ast.Attribute) else n.id if isinstance(n, ast.Name) else ""
        lowered = name.lower()
        if any(w in lowered for w in ("handler", "filter", "listener", "callback", "registered",
                                      "subscribed", "connected", "hooked", "installed")):
            return True
    return False


def _memoised(module, call: ast.Call, fn) -> bool:
    """Is ``call`` stored as ``registry[key] = call`` under ``if key not in registry:`` (the
    registry reached by the same name: ``cls._instances`` tested, ``cls._instances[key]``
    stored)? Then it runs once per key."""
    assign = module.parent(call)
    if not (isinstance(assign, ast.Assign) and assign.value is call):
        return False
    slots = [t for t in assign.targets if isinstance(t, ast.Subscript)]
    p = module.parent(assign)
    while p is not None and p is not fn:
        if isinstance(p, ast.If) and isinstance(p.test, ast.Compare) and len(p.test.ops) == 1 and isinstance(
                p.test.ops[0], ast.NotIn):
            key, registry = ast.dump(p.test.left), _flag_name(p.test.comparators[0])
            if registry and any(ast.dump(t.slice) == key and _flag_name(t.value) == registry for t in slots):
                return True
        p = module.parent(p)
    return False


def _once_per_class(test: ast.expr, body: list[ast.stmt]) -> bool:
    """``if cls not in registry:`` whose block stores ``registry[cls] = ...``: a singleton
    metaclass's ``__call__``, which runs the block once per class (the key ``cls``,
    ``klass``, ``type(x)`` or ``x.__class__``). The registry stored into may be reached
    another way than the one tested (``cls._instances`` tested, ``Meta._instances[cls]``
    stored): the attribute's name is compared."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.NotIn)):
        return False
    key, registry = test.left, test.comparators[0]
    if not (isinstance(key, ast.Name) and key.id in ("cls", "klass")
            or isinstance(key, ast.Attribute) and key.attr == "__class__"
            or isinstance(key, ast.Call) and isinstance(key.func, ast.Name) and key.func.id == "type"):
        return False
    wanted, name = ast.dump(key), _flag_name(registry)
    return any(isinstance(t, ast.Subscript) and ast.dump(t.slice) == wanted and _flag_name(t.value) == name
               for stmt in body for a in ast.walk(stmt) if isinstance(a, ast.Assign) for t in a.targets)


#: Keyword arguments that pass something to call back.
CALLBACK_KEYWORD = re.compile(r"(^|_)(cb|callback|callbacks|handler|listener|func|fn|function|observer|"
                              r"receiver|target|hook|coro|on|slot)($|_)|^on_", re.I)


def creates_attribute(module, cls: ast.ClassDef, attr: str) -> bool | None:
    """Does the code of ``cls`` create ``self.<attr>``: assign it a new object (a call that is
    not a getter such as ``asyncio.get_event_loop()``), or a part of an object that the same
    method built (``frame = TextFrame(parent); self.info_text = frame.text``)? The first call
    assigned to it in the class decides; False when only other values are; None when the
    class never assigns it."""
    assigned = None
    for node in ast.walk(cls):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not any(isinstance(t, ast.Attribute) and t.attr == attr and isinstance(t.value, ast.Name)
                       and t.value.id == "self" for t in targets):
                continue
            if isinstance(node.value, ast.Call):
                return new_object(node.value)
            assigned = False
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            where = module.enclosing_function(node)
            if isinstance(root, ast.Name) and root.id != "self" and where is not None:
                built = assigned_values(where, root.id)
                if built and all(isinstance(v, ast.Call) and new_object(v) for v in built):
                    return True
    return assigned


def made_before_hook(method: str):
    """An :data:`~leakspot.python.bases.Owns` for a template method's hook (ttkbootstrap's
    ``Dialog.build()``, which makes ``self._toplevel = ttk.Toplevel(...)`` and then calls
    ``self.create_buttonbox(self._toplevel)``, which a subclass overrides to bind keys on
    ``self._toplevel``): a class "owns" ``self.<attr>`` for the hook ``method`` when it calls
    ``self.<method>(...)`` and every call of ``.<method>(...)`` in its module comes right after
    a new object is assigned to ``self.<attr>`` (:func:`hook_calls`). Each binding the hook
    makes is then on a new object, made for that call, and dies with it. False when some call
    of the module does not; None when the module never calls the method."""
    def owns(module, cls: ast.ClassDef, attr: str) -> bool | None:
        return hook_calls(module, cls, method, attr)
    return owns


def hook_calls(module, cls: ast.ClassDef | None, method: str, attr: str) -> bool | None:
    """Is every call of ``.<method>(...)`` in ``module`` a ``self.<method>(...)`` in a method
    of ``cls`` (any class, when None) that comes after a statement of the same block, or of a
    block around it, that always assigns a new object to ``self.<attr>`` (:func:`~leakspot.python.checks.always_makes`)?
    None when the module has no such call; for ``cls``, also when none of them is in it."""
    verdict = None
    for call in module.nodes(ast.Call):
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == method):
            continue
        fn = module.enclosing_function(call)
        where = module.parent(fn) if fn is not None else None
        if not (_on_self(call.func) and isinstance(where, ast.ClassDef) and (cls is None or where is cls)
                and made_before(module, call, fn, lambda t: isinstance(t, ast.Attribute) and t.attr == attr
                                 and _on_self(t))):
            return False
        verdict = True
    return verdict


def _fork_child(module, node: ast.AST, fn) -> bool:
    """Is ``node`` in the child's branch after ``pid = os.fork()`` (``if pid == 0:``, ``if not
    pid:``, or the ``else`` of ``if pid:``)? That code runs once in each child process."""
    pids = {t.id for a in ast.walk(fn) if isinstance(a, ast.Assign) and isinstance(a.value, ast.Call)
            and display(a.value.func) in ("os.fork", "fork") for t in a.targets if isinstance(t, ast.Name)}
    if not pids:
        return False
    child = node
    p = module.parent(node)
    while p is not None and p is not fn:
        if isinstance(p, ast.If):
            t = p.test
            zero = (isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id in pids
                    and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq)
                    and isinstance(t.comparators[0], ast.Constant) and t.comparators[0].value == 0)
            negated = isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not) and isinstance(
                t.operand, ast.Name) and t.operand.id in pids
            plain = isinstance(t, ast.Name) and t.id in pids
            if ((zero or negated) and child in p.body) or (plain and child in p.orelse):
                return True
        child, p = p, module.parent(p)
    return False


def _is_parameter(expr: ast.expr, fn) -> bool:
    """Is ``expr`` a plain parameter of ``fn`` (not ``self`` or ``cls``)?"""
    return isinstance(expr, ast.Name) and expr.id in _params(fn) - {"self", "cls"}


def _no_callback(call: ast.Call) -> bool:
    """Is ``call`` given only keyword arguments (no ``**kwargs``), none of them named for a
    callback (:data:`CALLBACK_KEYWORD`) or a lambda? Then it registers nothing to call back,
    as GraphQL's ``schema.subscribe(query=..., variable_values=...)``, which returns the
    subscription's stream of results."""
    return (not call.args and bool(call.keywords)
            and all(k.arg is not None and not CALLBACK_KEYWORD.search(k.arg)
                    and not isinstance(k.value, ast.Lambda) for k in call.keywords))


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "a log handler", "an exit callback"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _on_self(target: ast.expr) -> bool:
    return isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"


def _strong(call: ast.Call) -> bool:
    """``weak=False`` given and no ``dispatch_uid`` (which makes connecting idempotent)."""
    kw = {k.arg: k.value for k in call.keywords}
    weak = kw.get("weak")
    return (isinstance(weak, ast.Constant) and weak.value is False) and "dispatch_uid" not in kw


def _attr_or_name(expr: ast.expr) -> str:
    """``"f"`` for ``f`` and for ``self.f``; "" for anything else."""
    if isinstance(expr, ast.Name):
        return expr.id
    return expr.attr if _on_self(expr) else ""


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
