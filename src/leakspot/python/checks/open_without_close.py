"""LK103 open-without-close: a file object that is not closed on every normal path.

:class:`ResourceCheck` is the shared machinery (also used by LK104 resource-without-release):
a table of acquiring calls with the methods that release what they return.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from leakspot.model import FlowStep
from leakspot.python.checks import PROCESS_EXITS, PythonCheck, assigned_values, comments_at, display, python_check
from leakspot.python.flow import Tracker

OPENERS = frozenset(
    {
        "builtins.open",
        "io.open",
        "io.open_code",
        "codecs.open",
        "os.fdopen",
        "gzip.open",
        "bz2.open",
        "lzma.open",
    }
)
#: Calls that use a file object without taking ownership of it.
BORROWERS = frozenset(
    {
        "json.load", "json.dump", "pickle.load", "pickle.dump", "marshal.load", "marshal.dump",
        "tomllib.load", "plistlib.load", "plistlib.dump", "csv.reader", "csv.writer",
        "csv.DictReader", "csv.DictWriter", "shutil.copyfileobj", "hashlib.file_digest",
        "builtins.print", "builtins.next", "builtins.iter", "builtins.len", "builtins.isinstance",
        "builtins.hasattr", "builtins.getattr", "builtins.repr", "builtins.str", "builtins.id",
        "builtins.type", "builtins.enumerate", "builtins.list", "builtins.sorted",
        "os.fstat", "os.fsync", "fcntl.flock", "fcntl.lockf", "fcntl.fcntl", "fcntl.ioctl",
        # descriptor functions that use an fd without closing it
        "os.write", "os.read", "os.pread", "os.pwrite", "os.lseek", "os.ftruncate", "os.fdatasync",
        "os.isatty", "os.fchmod", "os.fchown", "os.get_inheritable", "os.set_inheritable",
        "os.get_blocking", "os.set_blocking", "os.readv", "os.writev", "os.sendfile",
    }
)
#: Methods that close a file object or take its descriptor away: ``detach()`` hands the
#: underlying buffer (or raw stream) to the caller, who owns it from then on
#: (``f = io.TextIOWrapper(f.detach(), "utf-8")``).
CLOSERS = frozenset({"close", "detach", "__exit__"})
#: Calls that delete (or move away, so someone else owns) a file system path.
PATH_REMOVERS = frozenset({"os.unlink", "os.remove", "os.rmdir", "os.removedirs", "os.rename", "os.replace",
                           "os.renames", "shutil.rmtree", "shutil.move"})
#: Methods of ``pathlib.Path(p)`` that delete or move ``p``.
PATH_REMOVER_METHODS = frozenset({"unlink", "rmdir", "rename", "replace"})
#: Calls that use a path without deleting it or keeping it (besides ``os.path.*`` and ``subprocess.*``).
PATH_BORROWERS = frozenset({
    "builtins.open", "io.open", "codecs.open", "builtins.len",
    "builtins.repr", "builtins.isinstance", "os.stat", "os.lstat", "os.chmod", "os.chown", "os.utime",
    "os.access", "os.listdir", "os.scandir", "os.walk", "os.mkdir", "os.makedirs", "os.chdir",
    "os.system", "os.fsencode", "os.fsdecode", "shutil.copy", "shutil.copy2",
    "shutil.copyfile", "shutil.copytree", "shutil.make_archive", "shutil.unpack_archive",
    "zipfile.ZipFile", "tarfile.open", "gzip.open", "json.dumps", "glob.glob", "glob.iglob",
    "sqlite3.connect", "builtins.exec", "builtins.compile", "runpy.run_path",
})
#: Calls whose result is a path inside (or equal to) their argument: judged like the path itself.
PATH_DERIVERS = frozenset({"os.path.join", "os.path.basename", "os.path.abspath", "os.path.realpath", "os.path.normpath",
                           "os.path.expanduser", "os.fspath", "builtins.str"})
#: Methods of ``pathlib.Path(p)`` that return another name for ``p`` itself.
PATH_DERIVER_METHODS = frozenset({"resolve", "absolute", "expanduser", "as_posix"})
#: A ``dir=`` argument named like this is a temporary directory whose owner removes the tree.
TEMPORARY_NAME = re.compile(r"(?i)te?mp")
#: Method names that use a path without keeping it.
PATH_BORROWER_METHODS = frozenset({"format", "join", "startswith", "endswith", "encode"})
#: Telling the user where a path is hands it to them (``print(f"output kept in {d}")``).
PATH_TOLD = frozenset({"builtins.print"})
PATH_TOLD_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log",
                               "write"})
#: A comment at the acquisition saying the file or directory is left behind on purpose.
LEFT_ON_PURPOSE = re.compile(r"(?i)\b(not|never) (be )?(deleted|removed|cleaned)|\bleft (behind|on disk)|"
                             r"\b(keep|leave)s? (it|them|the (file|dir\w*))\b")
#: Methods that read a file object handed to them without closing it (``ConfigParser``).
BORROWER_METHODS = frozenset({"read_file", "readfp"})


def _final_statement(stmt: ast.stmt) -> ast.stmt:
    """The last simple statement in source order inside ``stmt`` (``stmt`` itself when simple):
    the bodies of ``if``/``try``/``with``/loops/``match`` are entered, nested definitions are not."""
    while not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        inner = [s for name in ("body", "orelse", "finalbody") for s in getattr(stmt, name, ()) or ()]
        inner += [s for h in getattr(stmt, "handlers", ()) for s in h.body]
        inner += [s for c in getattr(stmt, "cases", ()) for s in c.body]
        inner = [s for s in inner if isinstance(s, ast.stmt)]
        if not inner:
            break
        stmt = max(inner, key=lambda s: (s.lineno, s.col_offset))
    return stmt


@dataclass(frozen=True)
class Resource:
    """What an acquiring call returns: its noun, the methods that release it, and whether
    ``with`` releases it (``sqlite3.connect``'s ``with`` only commits)."""

    noun: str
    releasers: frozenset[str]
    with_releases: bool = True
    connects_with: str = ""  # keyword that, like a first positional argument, makes it connect
    held: str = "still open"  # its state while not released, in messages
    acquired: str = "opened"  # what the acquiring call did, in messages
    dropped: str = ""  # the message when it is used once (`open(p).read()`), if not the default
    skip_keyword: tuple[str, object] | None = None  # `daemon=True`: nothing to release
    element: int | None = None  # the acquiring call returns a tuple; this element is the resource
    required_keyword: tuple[str, object] | None = None  # only `delete=False` leaves a file behind
    #: the resource is a file system entry: ``""`` when the variable is its path (``mkdtemp``),
    #: else the attribute holding the path (``NamedTemporaryFile(...).name``); it is released by
    #: deleting that path (:data:`PATH_REMOVERS`), and merely used by :data:`PATH_BORROWERS`
    path_attr: str | None = None
    #: the object wraps a file object it is given (its first argument, or ``fileobj=``) and
    #: owns no OS resource of its own when that is an in-memory buffer (``ZipFile(BytesIO(b))``)
    wraps_file: bool = False
    #: the object holds no OS resource until one of these methods is called on it (a
    #: ``requests.Session`` connects only when it sends): made only to ``prepare_request()``,
    #: to read an attribute or for ``isinstance()``, there is nothing to release. Empty: it
    #: holds one as soon as it is made.
    opens_with: frozenset[str] = frozenset()
    #: methods that release it when a loop waits on them: a child process is reaped once
    #: ``p.poll()`` returns its exit status, so ``while p.poll() is None:`` (with no ``break``)
    #: waits for it
    polled_with: frozenset[str] = frozenset()


FILE = Resource("file object", CLOSERS)


def _tested_against_none(attr: ast.Attribute, parents: dict[int, ast.AST], module) -> bool:
    """Is ``attr`` called as the whole test of a ``while`` loop with no ``break`` or ``return``, against
    ``None`` (``while p.poll() is None:``)? The loop ends only once the call returned
    something else. Tested in an ``if`` (``if p.poll() is not None: break``, beside a timeout's
    ``break``), it says nothing of the other ways out."""
    call = parents.get(id(attr))
    if not (isinstance(call, ast.Call) and call.func is attr):
        return False
    test = parents.get(id(call)) or module.parent(call)
    loop = parents.get(id(test)) or module.parent(test)
    return (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], (ast.Is, ast.Eq)) and test.left is call
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None
            and isinstance(loop, ast.While) and loop.test is test and not _leaves(loop.body))


def _leaves(body: list[ast.stmt]) -> bool:
    """Does a ``break`` of this loop (not of a loop nested in it), or a ``return``, occur in
    ``body``: a way out while the child still runs?"""
    stack = list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Break, ast.Return)):
            return True
        if not isinstance(n, (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                              ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(n))
        elif isinstance(n, (ast.For, ast.AsyncFor, ast.While)):
            stack.extend(n.orelse)
    return False


class ResourceCheck(PythonCheck):
    """Finds acquiring calls whose result is neither released on every normal path nor handed on.

    Handing on (ownership moves) means: used in ``with``, returned or yielded, stored on an
    attribute, in a container or another name, captured by a nested function, or passed to a
    call that is not a known borrower (``json.load``, ``csv.reader``, ``print``...). Exception
    paths are not judged: only returns, the function's end and rebinding the variable.
    Subclasses set ``resources`` (qualified call name -> :class:`Resource`) and ``option``
    (the per-rule option naming extra acquiring calls).
    """

    resources: dict[str, Resource] = {}
    option = ""
    _target_cache: tuple[frozenset[str], frozenset[str]] | None = None

    def visit_Call(self, call: ast.Call) -> None:
        func = call.func
        short = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        shorts, targets = self._targets()
        if short not in shorts and not (isinstance(func, ast.Name) and func.id in self.names.aliases):
            return  # cheap filter before name resolution
        callee = self.qualified_in(func, targets)
        if callee is None:
            return
        resource = self.resources.get(callee) or FILE
        if resource is None:
            return
        self.resource = resource
        if resource.skip_keyword and any(
                k.arg == resource.skip_keyword[0] and isinstance(k.value, ast.Constant)
                and k.value.value == resource.skip_keyword[1] for k in call.keywords):
            return
        if resource.required_keyword and not any(
                k.arg == resource.required_keyword[0] and isinstance(k.value, ast.Constant)
                and k.value.value == resource.required_keyword[1] for k in call.keywords):
            return
        if resource.connects_with and not call.args and not any(k.arg == resource.connects_with for k in call.keywords):
            return  # `smtplib.SMTP()` without a host: nothing is connected yet
        fn = self.module.enclosing_function(call)
        if fn is None:
            return  # module level and class bodies run once; nothing to judge
        if resource.wraps_file and _over_buffer(call, fn):
            return  # `zipfile.ZipFile(io.BytesIO(blob))`: memory, freed with the object
        if resource.opens_with and not self._opens(call, fn, resource.opens_with):
            return  # `requests.Session().prepare_request(r)`: it never connects
        if self.under_expecting_context(call, fn):
            return
        if resource.path_attr is not None and (
                self._inside_removed_tree(call, fn) or LEFT_ON_PURPOSE.search(comments_at(self.module, call.lineno))):
            return
        if any(k.arg == "closefd" and isinstance(k.value, ast.Constant) and k.value.value is False
               for k in call.keywords):
            return  # the file object does not own the descriptor
        if self._detached(call):
            return  # a detached child (a browser, a daemon, a batch job) is left running on purpose
        if _followed_by_process_exit(self.module, call):
            return  # `Popen(...)` then `os._exit(0)`: nothing outlives the process
        parent = self.module.parent(call)
        shown = display(call.func)
        noun = resource.noun
        if isinstance(parent, ast.withitem) and resource.path_attr is not None:
            # `with NamedTemporaryFile(delete=False) as f:` closes the file, leaves it on disk
            with_stmt = self.module.parent(parent)
            if isinstance(parent.optional_vars, ast.Name) and parent.optional_vars.id in self.locals_of(fn):
                self._track(fn, with_stmt, parent.optional_vars.id, call, shown)
            else:
                self.report(call, callee=shown, detail=f"`with` closes the {noun} but leaves it on disk, "
                            "and nothing keeps its name to delete it")
            return
        if isinstance(parent, ast.withitem) and not resource.with_releases:
            self.report(call, callee=shown,
                        detail=f"`with` on a {noun} does not close it (it only commits or rolls back)")
            return
        if resource.element is not None:
            # `fd, path = tempfile.mkstemp()`: track the element that is the resource
            if (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Tuple)
                    and len(parent.targets[0].elts) > resource.element):
                target = parent.targets[0].elts[resource.element]
                if isinstance(target, ast.Name) and target.id in self.locals_of(fn):
                    self._track(fn, parent, target.id, call, shown)
            elif isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Constant) \
                    and parent.slice.value == resource.element and isinstance(self.module.parent(parent), ast.Expr):
                self.report(call, callee=shown, detail=f"the {noun} is discarded without being released")
            return
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is call:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and targets[0].id in self.locals_of(fn):
                self._track(fn, parent, targets[0].id, call, shown)
            return
        if isinstance(parent, ast.Attribute) and parent.value is call:
            if parent.attr in resource.releasers or resource.path_attr is not None:
                return
            self.report(
                call,
                callee=shown,
                detail=resource.dropped or f"the {noun} is used once and never released; it stays open until "
                "the garbage collector finalises it",
            )
            return
        if isinstance(parent, ast.Expr):
            grand = self.module.parent(parent)
            if isinstance(grand, ast.Try) and grand.handlers and parent in grand.body:
                return  # `try: open(p) except OSError: ...`: a probe expected to fail
            self.report(
                call,
                callee=shown,
                detail=f"the {noun} is discarded without being released",
            )
            return
        if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)) and parent.iter is call:
            self.report(call, callee=shown, detail=f"the {noun} is iterated and never released; it stays open "
                        "until the garbage collector finalises it, also when the loop ends early")
            return
        if isinstance(parent, ast.Call) and call in parent.args:
            if isinstance(parent.func, ast.Attribute) and parent.func.attr in BORROWER_METHODS:
                self.report(call, callee=shown, detail=f"`{parent.func.attr}()` reads it but does not close it")
            elif self.qualified(parent.func) in BORROWERS:
                self.report(
                    call,
                    callee=shown,
                    detail=f"`{display(parent.func)}()` reads it but does not close it",
                )

    def _locked(self, fn, var: str) -> bool:
        """Does ``fn`` lock the file in ``var`` (``fcntl.flock(var, ...)``, ``fcntl.lockf``,
        also through ``var.fileno()``)?"""
        for call in ast.walk(fn):
            if isinstance(call, ast.Call) and call.args and self.qualified(call.func) in ("fcntl.flock", "fcntl.lockf"):
                arg = call.args[0]
                if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "fileno":
                    arg = arg.func.value
                if isinstance(arg, ast.Name) and arg.id == var:
                    return True
        return False

    def _detached(self, call: ast.Call) -> bool:
        """Is the child started in a session or process group of its own: ``start_new_session=True``,
        ``process_group=0`` (Python 3.11), or ``preexec_fn=os.setsid`` / ``os.setpgrp`` (cylc's
        background job runner, which runs ``nohup`` so that the job outlives it)?"""
        for k in call.keywords:
            if k.arg == "start_new_session" and isinstance(k.value, ast.Constant) and k.value.value is True:
                return True
            if k.arg == "process_group" and isinstance(k.value, ast.Constant) and k.value.value == 0 \
                    and not isinstance(k.value.value, bool):
                return True
            if k.arg == "preexec_fn" and self.qualified(k.value) in ("os.setsid", "os.setpgrp"):
                return True
        return False

    def _inside_removed_tree(self, call: ast.Call, fn) -> bool:
        """Is this temporary file or directory made inside a tree someone else removes: ``dir=``
        names a temporary directory (``tmp_path``, ``self.tempdir``, ``with TemporaryDirectory()
        as d``), or the call runs inside ``with helper():`` where ``helper`` is a
        ``@contextmanager`` of this module that deletes a directory (``shutil.rmtree``)?"""
        for k in call.keywords:
            if k.arg == "dir" and TEMPORARY_NAME.search(display(k.value)):
                return True
        p = self.module.parent(call)
        while p is not None and p is not fn:
            if isinstance(p, (ast.With, ast.AsyncWith)):
                for item in p.items:
                    ctx = item.context_expr
                    if isinstance(ctx, ast.Call) and isinstance(ctx.func, ast.Name):
                        helper = self._module_functions().get(ctx.func.id)
                        if helper is not None and any(
                                isinstance(n, ast.Call) and (self.qualified(n.func) in PATH_REMOVERS or (
                                    isinstance(n.func, ast.Attribute) and n.func.attr in ("rmtree", "rmdir")))
                                for n in ast.walk(helper)):
                            return True
            p = self.module.parent(p)
        return False

    def _module_functions(self) -> dict[str, ast.FunctionDef]:
        if not hasattr(self, "_functions"):
            self._functions = {s.name: s for s in self.module.tree.body if isinstance(s, ast.FunctionDef)}
        return self._functions

    def _targets(self) -> tuple[frozenset[str], frozenset[str]]:
        """(last components, qualified names) of the acquiring calls, the ``option``'s included."""
        if self._target_cache is None:
            extra = self.settings.option(self.rule.slug, self.option) if self.option else ()
            names = frozenset(self.resources) | frozenset(extra)
            self._target_cache = (frozenset(n.rsplit(".", 1)[-1] for n in names), names)
        return self._target_cache

    def _opens(self, call: ast.Call, fn, methods: frozenset[str]) -> bool:
        """Is one of ``methods`` called on what ``call`` makes: directly
        (``Session().get(url)``), or on the local it is assigned to, anywhere in ``fn``
        (``s = Session(); s.get(url)``)? A local passed to a call (``run(s, url)``,
        ``Emitter(session=s)``) may be sent through too, unless the call is a known borrower
        (:data:`BORROWERS`: ``isinstance``, ``print``...): that counts, and the rule judges it
        as any resource. Anything else done with it (``isinstance(Session(), C)``,
        ``Session().prepare_request(r)``, ``s.headers``, ``s.auth = ...``) leaves it
        unconnected."""
        parent = self.module.parent(call)
        if isinstance(parent, ast.Attribute):
            return parent.attr in methods
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target] if isinstance(
            parent, ast.AnnAssign) else []
        if len(targets) == 1 and isinstance(targets[0], ast.Name):
            var = targets[0].id
            return any(isinstance(n.func, ast.Attribute) and n.func.attr in methods
                       and isinstance(n.func.value, ast.Name) and n.func.value.id == var
                       or any(isinstance(a, ast.Name) and a.id == var for a in [*n.args, *(k.value for k in n.keywords)])
                       and self.qualified(n.func) not in BORROWERS
                       for n in ast.walk(fn) if isinstance(n, ast.Call))
        return False

    def _track(self, fn, stmt: ast.stmt, var: str, call: ast.Call, shown: str) -> None:
        resource = self.resource
        self._aliases: set[str] = set()
        leaks = Tracker(fn, var, stmt, lambda node, v: self._releases(node, v, resource),
                        with_releases=resource.with_releases and resource.path_attr is None,
                        rebinding_derives=resource.path_attr == "", aliases=self._aliases,
                        unheld_if_raising=self._unheld_if_raising).run()
        leaks = self._leak_paths(leaks, fn, var)
        if any(leak.node is None for leak in leaks) and self._locked(fn, var):
            # a lock file (`fcntl.flock(f, LOCK_EX)`): held open for as long as the function
            # runs on purpose, as daemonize's pid file is while the daemon runs
            leaks = [leak for leak in leaks if leak.node is not None]
        if not leaks:
            return
        leak = leaks[0]
        held, acquired = resource.held, resource.acquired
        if leak.node is None:
            # the statement the function ends on, not the compound one that holds it (a path
            # "line 5 -> line 3" that steps back to a `try:` explains nothing)
            last = _final_statement(fn.body[-1])
            where = self.location(last, f"`{var}` is {held} when `{fn.name}` ends here")
            detail = f"`{var}` is {held} when `{fn.name}()` ends (line {where.region.end_line})"
        elif leak.kind == "return":
            where = self.location(leak.node, f"`{var}` is {held} at this return")
            detail = f"`{var}` is {held} at the return on line {leak.node.lineno}"
        elif leak.node is stmt:
            where = self.location(leak.node, f"the next loop iteration makes a new one in `{var}`")
            detail = f"the next iteration of the loop rebinds `{var}` (line {leak.node.lineno}) while the previous one is {held}"
        else:
            where = self.location(leak.node, f"`{var}` is rebound here while {held}")
            detail = f"`{var}` is rebound on line {leak.node.lineno} while {held}"
        acquire = self.location(call, f"`{var}` is {acquired} here")
        self.report(
            call,
            related=[where],
            flow=[FlowStep(acquire, "acquire"), FlowStep(where, "exit")],
            callee=shown,
            detail=detail,
        )

    def _leak_paths(self, leaks: list, fn, var: str) -> list:
        """The leaks worth reporting (a subclass drops paths it knows cannot happen)."""
        return leaks

    def _unheld_if_raising(self, stmt: ast.stmt, var: str) -> bool:
        """Does ``stmt``, when it raises, leave ``var``'s resource not held
        (:attr:`leakspot.python.flow.Tracker.unheld_if_raising`)? Never for a resource that is
        held from the call that makes it (a file, a socket); a thread overrides it."""
        return False

    def _releases(self, node: ast.AST, var: str, resource: Resource = FILE) -> bool:
        """Does evaluating ``node`` close ``var`` or hand it to an owner?"""
        parents: dict[int, ast.AST] = {}
        stack = [node]
        while stack:
            n = stack.pop()
            for c in ast.iter_child_nodes(n):
                parents[id(c)] = n
                stack.append(c)
                if isinstance(c, ast.Name) and isinstance(c.ctx, ast.Load):
                    if c.id == var and self._hands_on(c, parents, node, resource):
                        return True
                    if c.id in getattr(self, "_aliases", ()) and self._path_use(c, parents, node):
                        return True
        return False

    def _path_use(self, node: ast.expr, parents: dict[int, ast.AST], top: ast.AST) -> bool:
        """Does this use of a temporary file's path delete it or hand it to an owner?

        Deleting: :data:`PATH_REMOVERS`, ``Path(p).unlink()``. Using: :data:`PATH_BORROWERS`,
        ``os.path.*``, ``subprocess.*``, logging, formatting, comparing. ``name = f.name``
        (also ``Path(f.name).resolve()``, :data:`PATH_DERIVER_METHODS`) makes ``name`` an
        alias, judged the same way. Anything else (returned, stored, passed
        to an unknown call such as ``addCleanup(os.unlink, p)``) hands it on.
        """
        p = parents.get(id(node))
        while isinstance(p, (ast.List, ast.Tuple, ast.Starred, ast.keyword)):
            node, p = p, parents.get(id(p))
        if _captured(p, parents, top):
            return True
        target = (p.targets[0] if isinstance(p, ast.Assign) and len(p.targets) == 1
                  else p.target if isinstance(p, ast.AnnAssign) else None)
        if target is not None and p.value is node and isinstance(target, ast.Name):
            self._aliases.add(target.id)  # `name = f.name`, `name: Final = f.name`
            return False
        if isinstance(p, ast.Call):
            if node is p.func:
                return False
            callee = self.qualified(p.func) or ""
            if callee in PATH_REMOVERS:
                return True
            if callee in PATH_DERIVERS:
                return self._path_use(p, parents, top)  # `os.path.join(d, "x")` is still inside `d`
            if callee in ("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"):
                return self._path_use(p, parents, top)  # `Path(d).unlink()`, `Path(d) / "x"`
            if callee in PATH_TOLD or isinstance(p.func, ast.Attribute) and p.func.attr in PATH_TOLD_METHODS:
                return True  # the user is told where it is, and owns it now
            if callee in PATH_BORROWERS or callee.startswith(("subprocess.", "os.path.")):
                return False
            if isinstance(p.func, ast.Attribute) and p.func.attr in PATH_BORROWER_METHODS:
                return False
            return True
        if isinstance(p, ast.Attribute):
            call = parents.get(id(p))
            if p.attr in PATH_DERIVER_METHODS and isinstance(call, ast.Call) and call.func is p:
                return self._path_use(call, parents, top)  # `Path(f.name).resolve()` is the same file
            return p.attr in PATH_REMOVER_METHODS  # `Path(d).unlink()`; `d.endswith(...)` only reads
        if isinstance(p, ast.BinOp) and isinstance(p.op, (ast.Div, ast.Add, ast.Mod)):
            return self._path_use(p, parents, top)  # `Path(d) / "x"`, `d + "/x"`, `"in %s" % d`
        if isinstance(p, ast.FormattedValue):
            return self._path_use(parents.get(id(p)), parents, top)  # f"{d}/x"
        if isinstance(p, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.If, ast.IfExp, ast.While, ast.Assert,
                          ast.JoinedStr, ast.BinOp, ast.Subscript, ast.Expr, ast.Attribute)):
            return False
        return True

    def _hands_on(self, name: ast.Name, parents: dict[int, ast.AST], top: ast.AST, resource: Resource = FILE) -> bool:
        p = parents.get(id(name))
        if _captured(p, parents, top):
            return True
        if resource.path_attr == "":
            return self._path_use(name, parents, top)
        if isinstance(p, ast.Attribute) and resource.path_attr:
            return p.attr == resource.path_attr and self._path_use(p, parents, top)
        if (isinstance(p, ast.Call) and resource.path_attr and name in p.args
                and isinstance(parents.get(id(p)), ast.Expr)):
            return False  # `render(page, f)` writes into the file; deleting needs its name
        if isinstance(p, ast.Attribute):
            # `f.close()`, or `f.close` handed to someone who will call it (`addCleanup`)
            return p.attr in resource.releasers or p.attr in resource.polled_with and _tested_against_none(
                p, parents, self.module)
        if isinstance(p, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.If, ast.IfExp, ast.While,
                          ast.Assert, ast.FormattedValue, ast.Subscript, ast.Expr, ast.Await)):
            return False
        if isinstance(p, ast.Call):
            if p.func is name:
                return False
            callee = self.qualified(p.func)
            if callee == "builtins.getattr" and name in p.args[2:]:
                return True  # `getattr(x, "a", f)` may return `f` itself
            return callee not in BORROWERS
        if isinstance(p, ast.keyword):
            call = parents.get(id(p))
            return not (isinstance(call, ast.Call) and self.qualified(call.func) in BORROWERS)
        return True  # with-item, return, yield, alias, container, attribute store...


_SCOPES = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

#: in-memory file objects: they hold no descriptor, and what wraps them holds none either
BUFFERS = ("BytesIO", "StringIO")


def _over_buffer(call: ast.Call, fn) -> bool:
    """Is the file that ``call`` wraps (its first argument, or ``file=``/``fileobj=``) an
    in-memory buffer: a ``BytesIO(...)``/``StringIO(...)`` call, or a local of ``fn`` that is
    only ever assigned one? ``ZipFile`` and ``TarFile`` do not close a file object they are
    given (their ``close()`` leaves it to its owner), so over a buffer they own nothing the
    garbage collector would have to release."""
    given = [k.value for k in call.keywords if k.arg in ("file", "fileobj")] or call.args[:1]
    if not given:
        return False
    arg = given[0]

    def is_buffer(e: ast.expr) -> bool:
        return isinstance(e, ast.Call) and (
            isinstance(e.func, ast.Name) and e.func.id in BUFFERS
            or isinstance(e.func, ast.Attribute) and e.func.attr in BUFFERS)

    if is_buffer(arg):
        return True
    if isinstance(arg, ast.Name):
        values = assigned_values(fn, arg.id)
        return bool(values) and all(is_buffer(v) for v in values)
    return False


def _captured(p: ast.AST | None, parents: dict[int, ast.AST], top: ast.AST) -> bool:
    """Is a use whose parent is ``p`` inside a nested function, lambda or class (within the
    statement ``top``, or ``top`` itself is one)? Then who owns the value is unknown."""
    while p is not None and p is not top:
        if isinstance(p, _SCOPES):
            return True
        p = parents.get(id(p))
    return isinstance(top, _SCOPES)


def _followed_by_process_exit(mod, call: ast.Call) -> bool:
    """Is the statement holding ``call`` followed directly by one that ends the process?"""
    node = call
    while node is not None and not isinstance(node, ast.stmt):
        node = mod.parent(node)
    parent = mod.parent(node) if node is not None else None
    body = None
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and node in block:
            body = block
    if body is None:
        return False
    i = body.index(node)
    if i + 1 >= len(body) or not isinstance(body[i + 1], ast.Expr) or not isinstance(body[i + 1].value, ast.Call):
        return False
    return mod.names.qualified(body[i + 1].value.func) in PROCESS_EXITS


@python_check
class OpenWithoutClose(ResourceCheck):
    """LK103: ``open()`` and the other file openers."""

    code = "LK103"
    resources = {name: FILE for name in OPENERS}
    option = "extra-openers"
