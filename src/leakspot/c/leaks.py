"""Path-sensitive resource tracking over a C function's CFG.

Each abstract state is a set of live objects ``Obj(site, holders, nonnull)`` (a resource
returned by an allocator call at ``site``, the local variables that point to it, and whether a
null check has proved it non-null) plus the facts the path has learnt from conditions on local
variables (``flag`` is non-zero, ``A`` is NULL) that nothing has assigned since: a later test of
the same variable takes only the branch that agrees (correlated branches). Exploration is a breadth-first search over (CFG node, state)
pairs, so states are never merged: a path keeps its own knowledge (a tested ``p`` stays
non-null; the ``NULL`` branch of a check drops the object, and a branch that contradicts an
earlier check is infeasible).

An object stops being tracked when it is released (``free(p)``), or escapes: returned, stored
into a global, a field, an array element or through a pointer, or passed to a function that is
not known to only borrow it. An object still live at a ``return`` or at the end of the
function, or whose last holder is overwritten, is a leak. The BFS predecessor map gives the
path shown to the user (allocation -> branch decisions -> leaking exit).

Scope: one function at a time, with callee summaries: functions of the same file that only
borrow a parameter (:class:`Module`, by this same path analysis), borrowing functions and
``const``-pointer prototypes of the whole run (:mod:`leakspot.c.borrows`), and
allocation/deallocation wrappers of the whole run, which join their family's allocators and
deallocators (:mod:`leakspot.c.summaries`). Other callees are assumed to take ownership (no
false positives from unknown code, at the cost of missed leaks). Conditions with a value known
before the program runs are folded into the CFG (:mod:`leakspot.c.constants`). Copies between
locals (``fd = sfd``) are remembered per path, so a test of one tells about the other.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from leakspot.c.cfg import CFG, HINTS, CNode
from leakspot.c.constants import EMPTY, Env
from leakspot.c.parse import Family, Node, declarator_name, descendants, families, function_name, operator_of, text, unwrap

#: Functions that read, write or copy through a pointer without keeping or freeing it.
BORROWERS = frozenset(
    """memcpy memmove memset memcmp memchr memrchr bcopy bzero explicit_bzero strcpy strncpy
    strcat strncat strcmp strncmp strcasecmp strncasecmp strlen strnlen strchr strrchr strstr
    strpbrk strspn strcspn strtok strtok_r strcoll strxfrm stpcpy stpncpy strlcpy strlcat
    wcscpy wcsncpy wcscat wcslen wcscmp wmemcpy wmemset sprintf snprintf vsprintf vsnprintf
    printf fprintf vfprintf dprintf puts fputs fputc putc fgets fgetc getc ungetc fread fwrite
    fscanf sscanf vsscanf scanf fseek fseeko ftell ftello rewind fflush ferror feof clearerr
    fileno fgetpos fsetpos setvbuf setbuf flockfile funlockfile getline getdelim perror
    strtol strtoul strtoll strtoull strtod strtof strtold atoi atol atoll atof qsort bsearch
    read write pread pwrite recv send recvfrom sendto fstat stat lstat access toupper tolower
    isalpha isdigit isspace assert memmem strsep strerror_r inet_ntop inet_pton
    PyBytes_FromStringAndSize PyBytes_FromString PyUnicode_FromString
    PyUnicode_FromStringAndSize PyUnicode_DecodeUTF8 PyByteArray_FromStringAndSize
    PyLong_FromString PyErr_SetString PyErr_Format
    PyList_Append PyList_Insert PyDict_SetItem PyDict_SetItemString PyDict_DelItem PyDict_Contains
    PyDict_GetItem PyDict_GetItemString PyDict_GetItemWithError PyDict_Next PyDict_Update
    PyDict_Merge PySet_Add PySet_Discard PySet_Contains PyObject_SetAttr PyObject_SetAttrString
    PyObject_HasAttr PyObject_HasAttrString PyObject_DelAttr PyObject_DelAttrString
    PyObject_SetItem PyObject_DelItem PyObject_IsTrue PyObject_Not PyObject_RichCompareBool
    PyObject_IsInstance PyObject_IsSubclass PyObject_Hash PyObject_Length PyObject_Size
    PyObject_Print PyObject_TypeCheck PyObject_GetBuffer PyErr_SetObject PyErr_ExceptionMatches
    PyErr_GivenExceptionMatches PySequence_Contains PySequence_Size PySequence_Length
    PySequence_Check PySequence_SetItem PyMapping_Check PyMapping_Size PyNumber_Check
    PyIter_Check PyCallable_Check PyLong_AsLong PyLong_AsLongLong PyLong_AsSsize_t
    PyLong_AsSize_t PyLong_AsUnsignedLong PyLong_AsDouble PyLong_AsVoidPtr PyFloat_AsDouble
    PyUnicode_AsUTF8 PyUnicode_AsUTF8AndSize PyUnicode_GetLength PyUnicode_Compare
    PyUnicode_CompareWithASCIIString PyBytes_AsString PyBytes_AsStringAndSize PyBytes_Size
    PyByteArray_AsString PyByteArray_Size PyList_Size PyList_GetItem PyTuple_Size
    PyTuple_GetItem PyList_Sort PyList_Reverse PyObject_ClearWeakRefs PySys_WriteStdout
    PySys_WriteStderr PyErr_WarnEx PyErr_WarnFormat PyArg_ParseTuple
    PyArg_ParseTupleAndKeywords PyArg_UnpackTuple
    lseek lseek64 fchmod fchown fsync fdatasync ftruncate flock fcntl ioctl connect bind listen
    getsockopt setsockopt shutdown sendmsg recvmsg getsockname getpeername posix_fadvise
    epoll_ctl epoll_wait readv writev isatty ttyname tcgetattr tcsetattr fstatat fstatfs
    readdir readdir_r rewinddir telldir seekdir dirfd dup dup2 dup3
    syslog vsyslog warn warnx vwarn vwarnx fputws fwprintf wprintf swprintf vswprintf vfwprintf
    getenv setenv unsetenv access faccessat unlink unlinkat remove rename renameat mkdir mkdirat
    rmdir chdir chmod chown lchown truncate utime utimes utimensat execv execve execvp execl
    execlp execle getaddrinfo inet_addr inet_aton gethostbyname dlopen dlsym regcomp regexec
    fnmatch strftime strptime mktemp basename dirname sendfile mmap munmap poll select
    strtoimax strtoumax wcstol wcstoul mbstowcs wcstombs mbrtowc wcrtomb tmpnam""".split()
)
#: Borrowers that return their first argument (``return strcpy(p, s)`` returns ``p``).
RETURNS_ARG0 = frozenset({"memcpy", "memmove", "memset", "strcpy", "strncpy", "strcat", "strncat",
                          "stpcpy", "wmemcpy", "wcscpy", "fgets"})
_LOCK_COMMANDS = frozenset({"F_SETLK", "F_SETLKW", "F_OFD_SETLK", "F_OFD_SETLKW", "LOCK_EX", "LOCK_SH",
                            "F_LOCK", "F_TLOCK"})


def is_lock_call(call: Node) -> bool:
    """``flock(fd, LOCK_EX)``, ``lockf(fd, F_LOCK, 0)``, ``fcntl(fd, F_SETLK, &fl)``: a call that
    takes a file lock, which is held for as long as the descriptor stays open."""
    fn = call.child_by_field_name("function")
    args = call.child_by_field_name("arguments")
    if fn is None or args is None or text(fn) not in ("flock", "lockf", "fcntl"):
        return False
    named = [a for a in args.named_children if a.type != "comment"]
    if text(fn) == "flock" and len(named) > 1 and "LOCK_UN" not in text(named[1]):
        return True  # `flock(fd, flags)` with `flags = LOCK_EX; ... flags |= LOCK_NB;`: it only locks
    return len(named) > 1 and any(part in _LOCK_COMMANDS for part in text(named[1]).replace("|", " ").split())


#: Borrowers that return a pointer into their first argument, or NULL (``strchr(s, ':')``): the
#: result keeps the object reachable, but a NULL result says nothing about the argument.
RETURNS_INTO_ARG0 = frozenset({"strchr", "strrchr", "strstr", "strcasestr", "strpbrk", "strchrnul",
                               "memchr", "memrchr", "memmem", "strtok", "strtok_r", "basename", "dirname",
                               # the descriptor a stream uses: handing it on keeps the stream in use
                               # (closing it does not close the stream: see STREAM_DESCRIPTORS)
                               "dirfd", "fileno",
                               "PyUnicode_AsUTF8", "PyUnicode_AsUTF8AndSize", "PyBytes_AsString",
                               "PyByteArray_AsString"})


#: Calls that return the descriptor a stream uses.
STREAM_DESCRIPTORS = frozenset({"dirfd", "fileno"})


@lru_cache(maxsize=1)
def read_only_allocators() -> frozenset[str]:
    """The allocators of ``allocators.toml`` that only read their arguments (``fopen(path,
    ...)``, ``strdup(s)``): not the reallocators, nor those that adopt their first argument
    (``fdopen(fd, ...)``). User and wrapper allocators are not among them: they may keep what
    they are given."""
    out: set[str] = set()
    for f in families():
        out |= f.allocators - f.reallocators - f.adopters
    return frozenset(out)


def reading_functions() -> frozenset[str]:
    """Library functions that only read their pointer arguments: :data:`BORROWERS` and
    :func:`read_only_allocators`."""
    return BORROWERS | read_only_allocators()
NULLS = frozenset({"NULL", "0", "nullptr", "((void*)0)", "((void *)0)", "(void*)0", "(void *)0"})
#: Give up on a function after this many (node, state) pairs: no findings rather than noise.
MAX_VISITS = 20000


#: Descriptors 0-2 by number or by their <unistd.h> names.
STDIO_FDS = frozenset({"0", "1", "2", "STDIN_FILENO", "STDOUT_FILENO", "STDERR_FILENO"})


def _fills_stdio(call: Node, family: str) -> bool:
    """Is ``call``, an allocator of the ``family`` named, an ``open()``/``dup()`` (or another
    descriptor allocator: a wrapper, a macro) whose result is discarded on purpose because it
    fills a standard descriptor: ``open("/dev/null", ...)`` alone as a statement (the daemon
    idiom after ``close(0)``), or right after ``close(0|1|2)`` in the same block (``close(0);
    dup(fd);``: the lowest free descriptor is the one just closed)? POSIX.1-2017 ``open()``:
    "the file descriptor returned shall be the lowest numbered file descriptor not currently
    open for that process"."""
    if family != "descriptor" or call.parent is None or call.parent.type != "expression_statement":
        return False
    args = call.child_by_field_name("arguments")
    first = args.named_children[0] if args is not None and args.named_children else None
    if first is not None and first.type == "string_literal" and text(first) == '"/dev/null"':
        return True
    prev = call.parent.prev_named_sibling
    while prev is not None and prev.type == "comment":
        prev = prev.prev_named_sibling
    if prev is None or prev.type != "expression_statement" or not prev.named_children:
        return False
    c = prev.named_children[0]
    if c.type != "call_expression" or text(c.child_by_field_name("function")) != "close":
        return False
    cargs = c.child_by_field_name("arguments")
    return cargs is not None and len(cargs.named_children) == 1 and text(cargs.named_children[0]) in STDIO_FDS


@dataclass(frozen=True)
class Site:
    """An allocation call: the call node, its family, and the callee's name."""

    node: Node
    family: Family
    callee: str
    out: tuple[int, str] | None = None  # out-parameter allocator: (argument index, failure kind)


@dataclass(frozen=True, order=True)
class Obj:
    """A live resource in an abstract state."""

    site: int
    holders: frozenset
    nonnull: bool = False


@dataclass
class LeakEvent:
    """Where object ``site`` is lost: ``node`` (CFG node id), ``kind`` (``return``, ``end``,
    ``overwrite``, ``discard``, or ``mismatch``: released by another family's deallocator), the
    variables that held it, and the state it was lost in."""

    site: int
    node: int
    kind: str
    holders: tuple[str, ...]
    state: tuple
    releaser: str = ""  # for ``mismatch``: the deallocator that was called


class _Eval:
    """Evaluates one CFG node's expressions against one state; collects leak events."""

    def __init__(self, an: Analysis, node_id: int, state: tuple) -> None:
        self.an = an
        self.node_id = node_id
        self.objs: set[Obj] = set(state[0])
        self.facts: dict[str, bool] = dict(state[1])
        self.events: list[LeakEvent] = []
        self.start = state

    def state(self) -> tuple:
        """The current state as a hashable (objects, facts) pair."""
        return frozenset(self.objs), frozenset(self.facts.items())

    def forget(self, n: Node | None) -> None:
        """An assignment to ``n``: what conditions said about that variable (or about a field or
        element of it) no longer holds."""
        n = unwrap(n)
        if n is not None and n.type == "identifier":
            self.drop_facts(text(n))
        elif n is not None and self.an.aggregates and n.type in ("field_expression", "subscript_expression"):
            path = self.an.member_path(n)
            if path is not None:
                self.drop_facts(path)
        root = _root(n)
        if root and any(k[0] == "?" for k in self.facts):
            for key in [k for k in self.facts if k[0] == "?" and root in self.an.repeated.get(k, ())]:
                del self.facts[key]

    def drop_facts(self, name: str) -> None:
        """``name`` is assigned: forget what conditions and copies said about it."""
        self.facts.pop(name, None)
        if self.an.related:
            for key in [k for k in self.facts if SEP in k and name in _fact_names(k)]:
                del self.facts[key]

    def copy_facts(self, target: str, source: str) -> None:
        """``target = source`` (two locals): they are equal until either is assigned again, so
        what a later condition says about one holds for the other."""
        if target == source:
            return
        for key, value in list(self.facts.items()):
            if key == source:
                self.facts[target] = value
            elif SEP in key and key[0] != "=" and key.split(SEP, 1)[0] == source:
                self.facts[target + key[len(source):]] = value
        self.facts[f"={SEP}{target}{SEP}{source}"] = True

    def counter_step(self, arg: Node | None, up: bool) -> dict[str, bool] | None:
        """``i++`` after ``i == slot`` held (or ``i > slot``): now ``i > slot``, so the loop
        cannot meet ``i == slot`` again (``--``: ``<``). The facts to keep after the step."""
        arg = unwrap(arg)
        if arg is None or arg.type != "identifier" or text(arg) not in self.an.counters:
            return None
        name, op = text(arg), ">" if up else "<"
        out = {}
        for key, value in self.facts.items():
            if value and SEP in key and key[0] != "=":
                parts = key.split(SEP)
                if len(parts) == 3 and parts[0] == name and parts[1] in ("==", op):
                    out[f"{name}{SEP}{op}{SEP}{parts[2]}"] = True
        return out

    def peers(self, name: str) -> set[str]:
        """The locals known to equal ``name`` on this path (copies, either way)."""
        out = set()
        for key in self.facts:
            if key[0] == "=" and SEP in key:
                _, a, b = key.split(SEP)
                if a == name:
                    out.add(b)
                elif b == name:
                    out.add(a)
        return out

    # values are tuples of atoms: ("new", site) or ("var", name)
    def eval(self, n: Node | None) -> tuple:
        if n is None:
            return ()
        t = n.type
        if t == "identifier":
            name = text(n)
            if name in self.an.global_targets:
                return (("var", "::" + name),)  # a global this function stores a resource in
            if name in self.an.aggregates and not self.an.params_mode:
                # a local struct or array: its value carries what its members hold
                dot, bracket = name + ".", name + "["
                return (("var", name),) + tuple(sorted({("var", h) for o in self.objs for h in o.holders
                                                        if h.startswith(dot) or h.startswith(bracket)}))
            return (("var", name),) if name in self.an.locals else ()
        if t in ("parenthesized_expression", "cast_expression"):
            return self.eval(unwrap(n))
        if t == "call_expression":
            return self.call(n)
        if t == "assignment_expression":
            right = self.eval(n.child_by_field_name("right"))
            left = n.child_by_field_name("left")
            self.forget(left)
            if text(left) in self.an.flags and operator_of(n) == "=":
                value = _flag_value(n.child_by_field_name("right"))
                if value is not None:
                    self.facts[text(left)] = value != 0  # `need_free = 1`, `stream = NULL`
            if text(left) in self.an.compared and operator_of(n) == "=":
                self.facts.update(_constant_comparisons(text(left), n.child_by_field_name("right"), self.an.compared))
            if operator_of(n) != "=":
                self.read(left)
                return ()
            return self.assign(left, right)
        if t in ("field_expression", "subscript_expression"):
            path = self.an.member_path(n)
            if path is not None:
                return (("var", path),)
            self.read(n.child_by_field_name("argument"))
            self.read(n.child_by_field_name("index"))
            return ()
        if t == "pointer_expression":
            arg = n.child_by_field_name("argument")
            if operator_of(n) == "&":
                base = arg
                while base is not None and base.type in ("field_expression", "subscript_expression",
                                                         "parenthesized_expression"):
                    if base.type == "field_expression" and operator_of(base) == ".":
                        break  # `&s.f` of a local struct: not a pointer into a tracked object
                    base = (base.child_by_field_name("argument") if base.type != "parenthesized_expression"
                            else base.named_children[0] if base.named_children else None)
                if base is not arg and base is not None and base.type == "identifier":
                    self.read(arg)
                    return self.eval(base)  # `&p->field`, `&p[i]`: a pointer into p's object
                self.forget(arg)
                self.escape(self.eval(arg))  # address taken: anything may happen through it
                return ()
            self.read(arg)
            return ()
        if t == "binary_expression":
            op = operator_of(n)
            left = self.eval(n.child_by_field_name("left"))
            right = self.eval(n.child_by_field_name("right"))
            if op in ("+", "-"):
                return left + right  # pointer arithmetic keeps pointing into the object
            self.discard(left + right)
            return ()
        if t == "conditional_expression":
            self.read(n.child_by_field_name("condition"))
            return self.eval(n.child_by_field_name("consequence")) + self.eval(n.child_by_field_name("alternative"))
        if t == "comma_expression":
            self.discard(self.eval(n.child_by_field_name("left")))
            return self.eval(n.child_by_field_name("right"))
        if t in ("unary_expression", "update_expression"):
            if t == "update_expression":
                arg = n.child_by_field_name("argument")
                carried = self.counter_step(arg, "++" in text(n)) if self.an.counter_at else None
                self.forget(arg)
                if carried:
                    self.facts.update(carried)
            self.read(n.child_by_field_name("argument"))
            return ()
        if t in ("sizeof_expression", "alignof_expression", "string_literal", "number_literal",
                 "char_literal", "null", "true", "false", "concatenated_string", "offsetof_expression"):
            return ()
        # initializer lists, compound literals, unknown constructs: whatever flows in escapes
        vals: tuple = ()
        for c in n.named_children:
            vals += self.eval(c)
        self.escape(vals)
        return ()

    def read(self, n: Node | None) -> None:
        self.discard(self.eval(n))

    def discard(self, vals: tuple) -> None:
        """A value is used and dropped: a fresh allocation in it is lost at once."""
        for kind, x in vals:
            if kind == "new":
                self.events.append(LeakEvent(x, self.node_id, "discard", (), self.start))
                self.objs = {o for o in self.objs if not (o.site == x and not o.holders)}

    def held_by(self, vals: tuple) -> set[Obj]:
        names = {x for k, x in vals if k == "var"}
        sites = {x for k, x in vals if k == "new"}
        return {o for o in self.objs if (o.holders & names) or (o.site in sites and not o.holders)}

    def escape(self, vals: tuple) -> None:
        """Ownership passes elsewhere: stop tracking these objects."""
        gone = self.held_by(vals)
        if gone:
            self.an.dropped.update(o.site for o in gone)
            self.objs -= gone

    release = escape

    def call(self, n: Node) -> tuple:
        fn = n.child_by_field_name("function")
        name = text(fn) if fn is not None and fn.type == "identifier" else ""
        if self.an.targets:
            # `void (*fp)(char *) = sink; ... fp(p);` or `(*fp)(p)`: a call to `sink`
            callee = unwrap(fn)
            if callee is not None and callee.type == "pointer_expression":
                callee = unwrap(callee.child_by_field_name("argument"))
            if callee is not None and text(callee) in self.an.targets:
                name, fn = self.an.targets[text(callee)], callee
        args_node = n.child_by_field_name("arguments")
        args = [a for a in (args_node.named_children if args_node is not None else []) if a.type != "comment"]
        if (name in HINTS or name in self.an.env.hints) and args:
            return self.eval(args[0])
        if fn is not None and fn.type != "identifier":
            self.read(fn)
        an = self.an
        site = an.site_of.get(n.id)
        if site is not None and an.sites[site].out is not None:
            return self.out_call(site, args)
        module = an.module
        vals = [() if module is not None and self._lent(name, i, a) else self.eval(a) for i, a in enumerate(args)]
        if vals and (name == "flock" or name == "lockf" or name == "fcntl") and is_lock_call(n):
            self.escape(vals[0])  # a lock lives as long as its descriptor: kept open on purpose
            for v in vals[1:]:
                self.discard(v)
        elif name in an.deallocators and vals and self._stream_descriptor(args[0]):
            pass  # `close(fileno(fp))`: the descriptor goes, the stream is still fp's to fclose()
        elif name in an.deallocators and vals:
            for o in self.held_by(vals[0]):
                family = an.sites[o.site].family
                if name not in family.deallocators:
                    self.events.append(LeakEvent(o.site, self.node_id, "mismatch", tuple(sorted(o.holders)),
                                                 self.start, name))
            self.release(vals[0])
            for v in vals[1:]:
                self.discard(v)
        elif name in an.reallocators and vals:
            self.release(vals[0])
        elif name in BORROWERS or (site is not None and name in read_only_allocators()):
            aliasing = name in RETURNS_ARG0 or name in RETURNS_INTO_ARG0
            for v in vals:
                if aliasing and v is vals[0]:
                    continue
                self.discard(v)
            if aliasing and vals:
                return vals[0]
        else:
            if an.global_targets and site is None:
                # the callee may free or replace what a global holds
                self.escape(tuple(("var", h) for o in self.objs for h in o.holders if h[:2] == "::"))
            for i, v in enumerate(vals):
                if v and module is not None and name in module.functions:
                    an.consulted.add(name)
                if v and module is not None and module.borrows(name, i) and not (
                        self.an.arrays and _is_name(args[i], self.an.arrays)):
                    self.discard(v)  # a function of this file that only reads that parameter
                else:
                    self.escape(v)
        if site is not None:
            obj = Obj(site, frozenset())
            self.objs.add(obj)
            return (("new", site),)
        return ()

    def _lent(self, name: str, index: int, arg: Node) -> bool:
        """``f(&p)`` where ``f`` only reads through its parameter: ``p`` is read, not given away."""
        arg = unwrap(arg)
        if arg is not None and arg.type == "identifier" and text(arg) in self.an.arrays:
            return self.an.module.borrows(name, index, 1)  # an array is passed as a pointer to it
        if arg is None or arg.type != "pointer_expression" or operator_of(arg) != "&":
            return False
        inner = unwrap(arg.child_by_field_name("argument"))
        if inner is None or inner.type != "identifier" or text(inner) not in self.an.locals:
            return False
        return self.an.module.borrows(name, index, 1)

    def out_call(self, site: int, args: list[Node]) -> tuple:
        """``asprintf(&p, ...)``, ``getline(&line, &n, f)``: the call consumes what ``p`` held
        (getline reallocates it) and stores a fresh resource in it. Other arguments only read."""
        index = self.an.sites[site].out[0]
        if self.an.sites[site].callee in self.an.sites[site].family.pair_allocators:
            return self.pair_call(site, index, args)
        target = None
        for i, a in enumerate(args):
            if i == index and a.type == "pointer_expression" and operator_of(a) == "&":
                inner = a.child_by_field_name("argument")
                if inner is not None and inner.type == "identifier" and text(inner) in self.an.locals:
                    target = text(inner)
                    continue
            self.read(a)
        if target is None:
            if index < len(args):
                self.escape(self.eval(args[index]))  # stored through a pointer we do not follow
            return ()
        self.release((("var", target),))
        self.drop_facts(target)
        self.objs = {Obj(o.site, o.holders - {target}, o.nonnull) if target in o.holders else o for o in self.objs}
        self.objs.add(Obj(site, frozenset({target})))
        return (("call", site),)

    def pair_call(self, site: int, index: int, args: list[Node]) -> tuple:
        """``pipe(fds)``, ``socketpair(..., sv)``: two descriptors, in ``fds[0]`` and ``fds[1]``
        of a local array (anything else: stored where we do not follow)."""
        target = unwrap(args[index]) if index < len(args) else None
        for i, a in enumerate(args):
            if i != index:
                self.read(a)
        if target is None or target.type != "identifier" or text(target) not in self.an.arrays:
            if target is not None:
                self.escape(self.eval(target))
            return ()
        for slot in (f"{text(target)}[0]", f"{text(target)}[1]"):
            self.bind(slot, ())
            self.drop_facts(slot)
            self.objs.add(Obj(site, frozenset({slot})))
        return (("call", site),)

    def assign(self, left: Node | None, vals: tuple) -> tuple:
        while left is not None and left.type == "parenthesized_expression" and left.named_child_count:
            left = left.named_children[0]
        if left is not None and left.type == "identifier" and text(left) in self.an.locals:
            self.bind(text(left), vals)
            return (("var", text(left)),)
        if left is not None and left.type == "identifier" and text(left) in self.an.global_targets:
            # `g_buf = malloc(n)`: the global holds it; overwriting it while it is the only
            # reference loses it (it escapes at the function's exits and at unknown calls)
            self.bind("::" + text(left), vals)
            return (("var", "::" + text(left)),)
        path = self.an.member_path(left) if left is not None and not self.an.params_mode else None
        if path is not None:
            # `s.buf = p`, `arr[2] = p` on a local struct or array: it holds it until it dies
            self.bind(path, vals)
            return (("var", path),)
        # a global, a field, an array element or a store through a pointer: it escapes
        if left is not None and left.type in ("field_expression", "subscript_expression", "pointer_expression"):
            self.escape(self.descriptor_indices(left))
            for c in left.named_children:
                if c.type != "field_identifier":
                    self.read(c)
        self.escape(vals)
        return ()

    def _stream_descriptor(self, arg: Node) -> bool:
        """Is ``arg`` a stream's descriptor: ``fileno(fp)``, ``dirfd(d)``, or a local assigned one?"""
        a = unwrap(arg)
        if a is not None and a.type == "call_expression":
            return text(a.child_by_field_name("function")) in STREAM_DESCRIPTORS
        if a is None or a.type != "identifier" or text(a) not in self.an.stream_fds:
            return False
        # `fd = fileno(f); fd = dup(fd); close(fd)`: a descriptor of its own now
        return not any(text(a) in o.holders and self.an.sites[o.site].family.invalid == "negative"
                       for o in self.objs)

    def descriptor_indices(self, left: Node) -> tuple:
        """Descriptors used as the index of a table this store writes (``conns[fd] = c``,
        ``state[fd].open = 1``): a table indexed by descriptor keeps track of them, as
        ``select()`` and ``poll()`` loops do."""
        out: tuple = ()
        for sub in descendants(left, "subscript_expression"):
            index = unwrap(sub.child_by_field_name("index"))
            if index is None or index.type != "identifier" or text(index) not in self.an.locals:
                continue
            name = text(index)
            if any(name in o.holders and self.an.sites[o.site].family.invalid == "negative" for o in self.objs):
                out += (("var", name),)
        return out

    def bind(self, var: str, vals: tuple) -> None:
        """``var = vals``: ``var`` stops holding what it held and starts holding ``vals``."""
        gets = self.held_by(vals)
        new_objs = set()
        for o in self.objs:
            holders = o.holders - {var}
            if o in gets:
                holders |= {var}
            if o.holders and not holders:
                self.events.append(LeakEvent(o.site, self.node_id, "overwrite", tuple(sorted(o.holders)), self.start))
                continue
            new_objs.add(Obj(o.site, frozenset(holders), o.nonnull))
        self.objs = new_objs

    def declare(self, decl: Node) -> None:
        static = any(c.type == "storage_class_specifier" and text(c) in ("static", "extern")
                     for c in decl.children)
        for d in decl.children_by_field_name("declarator"):
            if d.type != "init_declarator":
                continue
            name = declarator_name(d.child_by_field_name("declarator"))
            vals = self.eval(d.child_by_field_name("value"))
            self.drop_facts(name)
            for key in [k for k in self.facts if k[0] == "?" and name in self.an.repeated.get(k, ())]:
                del self.facts[key]
            if name in self.an.flags:
                value = _flag_value(d.child_by_field_name("value"))
                if value is not None:
                    self.facts[name] = value != 0  # `int need_free = 0;`, `FILE *stream = NULL;`
            if name in self.an.compared:
                self.facts.update(_constant_comparisons(name, d.child_by_field_name("value"), self.an.compared))
            if static or name not in self.an.locals:
                self.escape(vals)
            else:
                self.bind(name, vals)

    def refine(self, expr: Node, vals: tuple, branch: str) -> tuple | None:
        """The state on ``branch`` ("true"/"false") of condition ``expr``, or None if infeasible
        (:meth:`_refine`), with what it says about copies of the tested variables and about
        comparisons with constants that the function makes more than once (``fd == -1``, later
        ``sfd == -1`` after ``fd = sfd``)."""
        result = self._refine(expr, vals, branch)
        if result is None or not self.an.related:
            return result
        extra: dict[str, bool] = {}
        kind, names, fail_when, _ = self.an.tests[expr.id]
        if kind == "truth" and names:
            for name in names:
                for peer in self.peers(name):
                    extra[peer] = branch != fail_when
        cmp = self.an.cmp_at.get(expr.id)
        if cmp is not None:
            var, key, positive = cmp
            for v in (var, *self.peers(var)):
                extra[v + key] = (branch == "true") == positive
        counter = self.an.counter_at.get(expr.id)
        if counter is not None and (branch == "true") == counter[2]:
            x, y, _ = counter
            if self.facts.get(f"{x}{SEP}>{SEP}{y}") or self.facts.get(f"{x}{SEP}<{SEP}{y}"):
                return None  # the counter has moved past `y` on this path
            extra[f"{x}{SEP}=={SEP}{y}"] = True
        if not extra:
            return result
        facts = dict(result[1])
        for k, v in extra.items():
            if facts.get(k, v) != v:
                return None  # contradicts what an earlier condition on this path said
            facts[k] = v
        return result[0], frozenset(facts.items())

    def refine_case(self, node: CNode, label: str) -> tuple | None:
        """The state on the edge ``label`` (``"case K"``, ``"default"``, ``"no case"``) out of
        the ``switch`` whose subject is ``node``, or None if infeasible: the same refinement as
        the branches of ``if (x == K)``.

        - ``case K`` for a standard descriptor (``case 2:``, ``case STDERR_FILENO:``): the
          descriptor ``x`` holds is a standard one, kept on purpose, as under ``if (fd <= 2)``
          (``switch (fd) { case 0: case 1: case 2: break; default: close(fd); }``);
        - where the cases' values are constants and some other test compares ``x`` with one of
          them (:attr:`Analysis.switch_at`), ``case K`` makes ``x == K`` hold and the other
          cases' comparisons fail; ``default`` and ``no case`` make all of them fail.
        """
        objs, facts = self.objs, self.facts
        if label.startswith("case ") and label[5:] in STDIO_FDS and objs:
            tested = frozenset(x for k, x in self._peek(node.ts) if k == "var")
            objs = {o for o in objs if not (o.holders & tested and self.an.sites[o.site].family.invalid == "negative")}
        cases = self.an.switch_at.get(node.id)
        if cases is not None:
            var, values = cases
            value = values.get(label)
            if value is not None:
                decided = _comparisons_of(var, value, self.an.compared)
            else:  # `default`, `no case`: x is none of the cases' values
                decided = {var + f"{SEP}=={c}": False for c in values.values()
                           if f"{SEP}=={c}" in self.an.compared.get(var, ())}
            if decided:
                facts = dict(facts)
                for key, holds in decided.items():
                    if facts.get(key, holds) != holds:
                        return None  # an earlier test on this path said otherwise
                    facts[key] = holds
        return frozenset(objs), frozenset(facts.items())

    def _refine(self, expr: Node, vals: tuple, branch: str) -> tuple | None:
        """The state on ``branch`` ("true"/"false") of condition ``expr``, or None if infeasible.

        Two kinds of test: a *truth* test (``p``, ``!p``, ``p == NULL``) proves a pointer-family
        object valid or NULL and is remembered as a fact about the variable; a *sign* test
        (``fd < 0``, ``fd == -1``, ``fd >= 0``) proves a descriptor-family object valid or failed.
        """
        # what a condition tests depends only on its text: computed once per analysis
        tests = self.an.tests
        cached = tests.get(expr.id)
        if cached is None:
            kind, tested, fail_when = self._tested(expr, vals)
            site = frozenset(x for k, x in tested if k == "site") if kind == "site" else None
            cached = tests[expr.id] = (kind, frozenset(x for k, x in tested if k == "var"), fail_when, site)
        kind, names, fail_when, site = cached
        if not names and kind == "truth":
            plain, inverted = _condition_key(expr, self.an.env)
            key = "?" + plain
            if key in self.an.repeated:
                # the same side-effect-free condition tested again, nothing in it assigned since:
                # it takes the same branch (`if (n > 8) p = malloc(n); ... if (n > 8) free(p);`)
                taken = (branch == "true") != inverted
                if self.facts.get(key, taken) != taken:
                    return None
                facts = dict(self.facts)
                facts[key] = taken
                return frozenset(self.objs), frozenset(facts.items())
        valid = branch != fail_when
        if kind == "site":
            # the allocator's own status: on failure nothing was stored in the out-parameter
            out = set()
            for o in self.objs:
                if o.site not in site:
                    out.add(o)
                elif valid:
                    out.add(Obj(o.site, o.holders, True))
            return frozenset(out), frozenset(self.facts.items())
        if not names:
            return self.state()
        if kind == "alias":
            if branch != fail_when:
                return self.state()
            return frozenset(o for o in self.objs if not (o.holders & names)), frozenset(self.facts.items())
        facts = dict(self.facts)
        if kind == "truth":
            for name in names:
                if facts.get(name, valid) != valid:
                    return None  # contradicts what an earlier condition on this path said
                facts[name] = valid
        out = set()
        for o in self.objs:
            # a sign test says little about a pointer: no valid pointer is below 0, so where
            # `fp < 0` holds the object was never there (a stream tested as if a descriptor);
            # a truth test (`fd`, `fd != 0`) is taken at its word for descriptors too:
            # descriptor 0 is only ever returned once stdin is closed
            if kind == "sign" and o.holders & names and self.an.sites[o.site].family.invalid != "negative":
                if valid:
                    out.add(o)
            elif not (o.holders & names):
                out.add(o)
            elif not valid:
                if o.holders & names <= self.an.interior and o.holders - names:
                    # `c = strchr(s, ':'); if (!c)`: `c` is NULL, `s` still holds the object
                    out.add(Obj(o.site, o.holders - names, o.nonnull))
                elif o.nonnull:
                    return None  # contradicts an earlier check on this path
            else:
                out.add(Obj(o.site, o.holders, True))
        return frozenset(out), frozenset(facts.items())

    def _tested(self, expr: Node, vals: tuple) -> tuple[str, tuple, str]:
        """(kind, tested local variables, the branch on which they hold the failure value)."""
        out = self._out_alloc_test(expr)
        if out is not None:
            return out
        if expr.type == "binary_expression":
            op = operator_of(expr)
            left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
            if op in ("==", "!=") and (_is_null(left) or _is_null(right)):
                tested = self._peek(right if _is_null(left) else left)
                return "truth", tested, "true" if op == "==" else "false"
            sign = _sign_test(op, left, right)
            if sign is not None:
                side, fail_when = sign
                return "sign", self._peek(side), fail_when
            stdio = _stdio_test(op, left, right)
            if stdio is not None:
                # `if (fd > 2) close(fd);` after dup2() onto 0-2: where it is not above 2, the
                # descriptor is itself a standard one, kept on purpose
                side, kept_when = stdio
                tested = self._peek(side)
                if tested:
                    return "alias", tested, kept_when
            if op in ("==", "!=") and left is not None and right is not None:
                # `if (fd != 1) { dup2(fd, 1); close(fd); }`: where they are equal, the other
                # side (stdout, a caller's buffer) refers to it too: it is not ours alone to lose
                tested = self._peek(left) or self._peek(right)
                if tested:
                    return "alias", tested, "true" if op == "==" else "false"
            return "truth", (), "false"
        call = unwrap(expr)
        site = self.an.site_of.get(call.id) if call is not None and call.type == "call_expression" else None
        if site is not None and self.an.sites[site].out is None and self.an.sites[site].family.invalid == "null":
            # `if (!make_entry(...)) return -1;`: where the result is NULL nothing was allocated
            return "site", (("site", site),), "false"
        return "truth", self._peek(expr) or tuple(v for v in vals if v[0] == "var"), "false"

    def _out_alloc_test(self, expr: Node) -> tuple[str, tuple, str] | None:
        """A test of an out-parameter allocator's return value (``asprintf(...) < 0``,
        ``posix_memalign(...) != 0``, ``if (posix_memalign(...))``): ("site", ((site, id),),
        the failure branch)."""
        call, op, value = expr, None, None
        if expr.type == "binary_expression":
            op = operator_of(expr)
            left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
            call, value = left, _int_literal(right)
            if value is None:
                call, value, op = right, _int_literal(left), _MIRROR.get(op, op)
        call = unwrap(call)
        site = self.an.site_of.get(call.id) if call is not None and call.type == "call_expression" else None
        if site is None and call is not None and call.type == "identifier" and self.an.has_out_sites:
            sites = _status_sites(text(call), expr, self.an.site_of, self.an.sites)
            if sites and op is not None:
                fails = {self.an.sites[x].out[1] for x in sites}
                if fails <= {"negative", "status"} and (op, value) in _SIGN_FAIL_ON_TRUE:
                    return "site", tuple(("site", x) for x in sorted(sites)), "true"
                if fails <= {"negative", "status"} and (op, value) in _SIGN_FAIL_ON_FALSE:
                    return "site", tuple(("site", x) for x in sorted(sites)), "false"
            return None
        if site is None or self.an.sites[site].out is None:
            return None
        fails = self.an.sites[site].out[1]
        if fails in ("negative", "status") and op is not None:
            if (op, value) in _SIGN_FAIL_ON_TRUE:
                return "site", (("site", site),), "true"
            if (op, value) in _SIGN_FAIL_ON_FALSE:
                return "site", (("site", site),), "false"
        if fails in ("nonzero", "status"):
            if op is None:
                return "site", (("site", site),), "true"  # `if (posix_memalign(...))`: nonzero fails
            if op in ("!=", "==") and value == 0:
                return "site", (("site", site),), "true" if op == "!=" else "false"
        return None

    def _peek(self, n: Node) -> tuple:
        n = unwrap(n)
        if n is not None and n.type == "identifier" and text(n) in self.an.locals:
            return (("var", text(n)),)
        if n is not None and n.type == "identifier" and text(n) in self.an.global_targets:
            # `g_fd = open(...); if (g_fd < 0)`: a test of the global that holds it
            return (("var", "::" + text(n)),)
        if n is not None and n.type in ("field_expression", "subscript_expression") and self.an.aggregates:
            path = self.an.member_path(n)
            return (("var", path),) if path is not None and not self.an.params_mode else ()
        if n is not None and n.type == "assignment_expression" and operator_of(n) == "=":
            # `(B = A) == NULL` tests both
            return self._peek(n.child_by_field_name("left")) + self._peek(n.child_by_field_name("right"))
        return ()


def _status_sites(var: str, test: Node, site_of: dict[int, int], sites: list) -> frozenset[int]:
    """The out-parameter allocator calls whose status ``var`` holds where condition ``test``
    reads it: walking back over the statements before the test's own, the first one that
    assigns ``var`` must assign it only such calls (``rc = asprintf(&s, ...); if (rc < 0)``, or
    one in each branch of an ``if``); else none."""
    stmt = test
    while stmt is not None and not (stmt.type.endswith("_statement") or stmt.type == "declaration"):
        stmt = stmt.parent
    prev = stmt.prev_named_sibling if stmt is not None else None
    while prev is not None:
        found: list[int] = []
        other = False
        for n in [*descendants(prev, "assignment_expression"), *descendants(prev, "init_declarator")]:
            left = (unwrap(n.child_by_field_name("left")) if n.type == "assignment_expression"
                    else n.child_by_field_name("declarator"))
            name = text(left) if left is not None and n.type == "assignment_expression" else declarator_name(left)
            if name != var:
                continue
            right = unwrap(n.child_by_field_name("right" if n.type == "assignment_expression" else "value"))
            if right is not None and right.id in site_of and sites[site_of[right.id]].out is not None:
                found.append(site_of[right.id])
            else:
                other = True
        if found or other:
            return frozenset(found) if not other else frozenset()
        prev = prev.prev_named_sibling
    return frozenset()


def _constant_comparisons(name: str, value: Node | None, compared: dict[str, frozenset[str]]) -> dict[str, bool]:
    """What ``name = value`` decides of the comparisons ``compared`` records for ``name``
    (keys ``SEP + "==" + c``, ``"<"``, ``"<="``), when ``value`` is an integer literal."""
    v = _int_value(value)
    return {} if v is None else _comparisons_of(name, v, compared)


def _comparisons_of(name: str, v: int, compared: dict[str, frozenset[str]]) -> dict[str, bool]:
    """What ``name`` holding the integer ``v`` decides of the comparisons ``compared`` records
    for ``name`` (:func:`_constant_comparisons`)."""
    out = {}
    for key in compared.get(name, ()):
        body = key[len(SEP):]
        op = "<=" if body.startswith("<=") else body[:2] if body.startswith("==") else body[:1]
        try:
            c = int(body[len(op):])
        except ValueError:
            continue
        out[name + key] = v == c if op == "==" else v < c if op == "<" else v <= c
    return out


#: What a pointer allocator returns when it fails, as the code spells it.
_NULLS = frozenset({"NULL", "0", "MAP_FAILED", "nullptr"})


def _asserted_failure(expr: Node) -> tuple[Node, str] | None:
    """``(call, kind)`` when ``expr`` says only that a call failed: kind ``"negative"`` for
    ``open(p) == -1``, ``dup(fd) < 0``; ``"null"`` for ``malloc(n) == NULL``, ``!fopen(p, "r")``
    (the :attr:`Family.invalid` of the families whose failure that is)."""
    e = unwrap(expr)
    if e is None:
        return None
    if e.type == "unary_expression" and operator_of(e) == "!":
        inner = unwrap(e.child_by_field_name("argument"))
        return (inner, "null") if inner is not None and inner.type == "call_expression" else None
    if e.type != "binary_expression":
        return None
    op = operator_of(e)
    left, right = unwrap(e.child_by_field_name("left")), unwrap(e.child_by_field_name("right"))
    if left is None or right is None:
        return None
    if left.type != "call_expression":
        left, right = right, left
    if left.type != "call_expression":
        return None
    if (op == "==" and text(right) == "-1") or (op == "<" and text(right) == "0"):
        return left, "negative"
    if op == "==" and text(right) in _NULLS:
        return left, "null"
    return None


def _int_value(n: Node | None) -> int | None:
    """An integer literal (``0``, ``42``, ``-1``), else None."""
    n = unwrap(n)
    if n is None:
        return None
    t = text(n).replace(" ", "")
    try:
        return int(t, 0)
    except ValueError:
        return None


def _flag_value(n: Node | None) -> int | None:
    """The value a flag is set to: ``0``, ``-1``, ``NULL`` (as 0), ``true``/``false`` and the
    usual ``TRUE``/``FALSE`` macros, else None."""
    n = unwrap(n)
    if n is not None and _is_null(n):
        return 0
    if n is not None and (n.type in ("true", "false") or (n.type == "identifier" and text(n) in ("TRUE", "FALSE"))):
        return 1 if text(n).lower() == "true" else 0
    return _int_literal(n)


def _stdio_test(op: str, left: Node | None, right: Node | None) -> tuple[Node, str] | None:
    """``fd > 2``, ``fd >= 3``, ``fd > STDERR_FILENO`` (or mirrored): (the tested side, the
    branch on which it is a standard descriptor, 0-2), else None."""
    def bound(n: Node | None) -> str:
        return text(unwrap(n)) if n is not None else ""
    if op in (">", ">=") and (bound(right), op) in (("2", ">"), ("3", ">="), ("STDERR_FILENO", ">")):
        return left, "false"
    if op in ("<", "<=") and (bound(left), op) in (("2", "<"), ("3", "<="), ("STDERR_FILENO", "<")):
        return right, "false"
    if op in ("<=", "<") and (bound(right), op) in (("2", "<="), ("3", "<"), ("STDERR_FILENO", "<=")):
        return left, "true"
    return None


def _int_literal(n: Node | None) -> int | None:
    """The value of ``0``, ``-1`` (also parenthesized), else None."""
    while n is not None and n.type == "parenthesized_expression" and n.named_children:
        n = n.named_children[0]
    if n is None:
        return None
    if n.type == "number_literal" and text(n) in ("0", "1", "-1"):
        return int(text(n))
    if n.type == "unary_expression" and operator_of(n) == "-":
        inner = _int_literal(n.child_by_field_name("argument"))
        return -inner if inner is not None else None
    return None


#: For ``x OP c``: the values of c for which the comparison's *true* branch means failure (x < 0).
_SIGN_FAIL_ON_TRUE = {("<", 0), ("<=", -1), ("==", -1), ("<=", 0)}
_SIGN_FAIL_ON_FALSE = {(">=", 0), (">", -1), ("!=", -1), (">", 0)}  # `fd > 0`: see fd-without-close
_MIRROR = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "==", "!=": "!="}


def _sign_test(op: str, left: Node | None, right: Node | None) -> tuple[Node, str] | None:
    """For a descriptor test such as ``fd < 0`` or ``-1 == fd``: (the variable side, the branch
    on which it holds a failure value); None for other comparisons."""
    value = _sign_value(right)
    side = left
    if value is None:
        value, side, op = _sign_value(left), right, _MIRROR.get(op, op)
    if value is None or side is None:
        return None
    if (op, value) in _SIGN_FAIL_ON_TRUE:
        return side, "true"
    if (op, value) in _SIGN_FAIL_ON_FALSE:
        return side, "false"
    return None


def _condition_key(n: Node, env) -> tuple[str, bool]:
    """A condition's text without blanks, and whether it is the negation of that text: ``~flags
    & JOB_PTY`` is ``!(flags & JOB_PTY)`` when ``JOB_PTY`` is a single bit."""
    key = "".join(text(n).split())
    if n.type == "binary_expression" and operator_of(n) == "&":
        left, right = unwrap(n.child_by_field_name("left")), n.child_by_field_name("right")
        if left is not None and left.type == "unary_expression" and operator_of(left) == "~" and right is not None:
            bit = env.value(right, frozenset()) if env is not None else None
            if bit is None:
                bit = _int_value(right)
            if bit is not None and bit > 0 and bit & (bit - 1) == 0:
                inner = "".join(text(left.child_by_field_name("argument")).split())
                return f"{inner}&{''.join(text(right).split())}", True
    return key, False


def _pure(n: Node) -> bool:
    """Is this condition free of calls, assignments and increments (testing it twice on one
    path gives the same answer unless something it reads is assigned in between)?"""
    stack = [n]
    while stack:
        c = stack.pop()
        if c.type in ("call_expression", "assignment_expression", "update_expression"):
            return False
        stack.extend(c.named_children)
    return True


def _identifiers(n: Node) -> frozenset[str]:
    out = set()
    stack = [n]
    while stack:
        c = stack.pop()
        if c.type == "identifier":
            out.add(text(c))
        stack.extend(c.named_children)
    return frozenset(out)


def _root(n: Node | None) -> str:
    """The variable an lvalue belongs to: ``p`` for ``p``, ``p->a.b``, ``p[i]``, ``*p``."""
    while n is not None and n.type in ("field_expression", "subscript_expression", "pointer_expression",
                                       "parenthesized_expression", "cast_expression"):
        n = n.child_by_field_name("argument") or n.child_by_field_name("value") or (
            n.named_children[0] if n.named_children else None)
    return text(n) if n is not None and n.type == "identifier" else ""


def _assigned_roots(ts: Node) -> frozenset[str]:
    """The variables a statement assigns to, or to a field, element or target of."""
    out = set()
    stack = [ts]
    while stack:
        n = stack.pop()
        if n.type == "assignment_expression":
            out.add(_root(n.child_by_field_name("left")))
        elif n.type == "update_expression":
            out.add(_root(n.child_by_field_name("argument")))
        elif n.type == "init_declarator":
            out.add(declarator_name(n.child_by_field_name("declarator")))
        stack.extend(n.named_children)
    out.discard("")
    return frozenset(out)


def _constant_facts(ts: Node, flags: frozenset[str], compared: dict[str, frozenset[str]]) -> dict[str, bool]:
    """The facts a statement's constant assignments and initializers set: ``{flag: value !=
    0}`` for flag variables (``need_free = 1``, ``stream = NULL``), and what the constant
    decides of the comparisons ``compared`` records (:func:`_constant_comparisons`)."""
    out: dict[str, bool] = {}
    for name, value in _assignments(ts):
        if name in flags:
            v = _flag_value(value)
            if v is not None:
                out[name] = v != 0
        if name in compared:
            out.update(_constant_comparisons(name, value, compared))
    return out


def _constant_targets(stmts, locals_: frozenset[str]) -> frozenset[str]:
    """The locals that some statement or declaration of ``stmts`` (CFG nodes) sets to an
    integer literal (``how = 2;``, ``int how = 0;``)."""
    return frozenset(name for node in stmts for name, value in _assignments(node.ts)
                     if name in locals_ and _int_value(value) is not None)


def _assignments(ts: Node):
    """``(name, value node)`` of each plain assignment (``x = v``) and initializer (``T x =
    v``) in ``ts``."""
    for n in (*descendants(ts, "assignment_expression"), *descendants(ts, "init_declarator")):
        if n.type == "assignment_expression":
            if operator_of(n) == "=":
                yield text(n.child_by_field_name("left")), n.child_by_field_name("right")
        else:
            yield declarator_name(n.child_by_field_name("declarator")), n.child_by_field_name("value")


def _sign_value(n: Node | None) -> int | None:
    """An integer literal, or -1 for ``INVALID_SOCKET`` (what Winsock's ``socket()`` returns on
    failure: ``fd == INVALID_SOCKET`` is ``fd == -1``)."""
    if n is not None and n.type == "identifier" and text(n) == "INVALID_SOCKET":
        return -1
    return _int_literal(n)


def _is_null(n: Node | None) -> bool:
    if n is None:
        return False
    t = n.type
    if t == "null":
        return True
    if t == "identifier":
        name = text(n)
        # NULL, _Py_NULL, Z_NULL...; MAP_FAILED is what mmap() returns on failure
        return name == "NULL" or name.endswith("_NULL") or name == "MAP_FAILED"
    if t == "number_literal":
        return text(n) == "0"
    if t in ("cast_expression", "parenthesized_expression") and n.end_byte - n.start_byte < 24:
        return "".join(text(n).split()) in _NULL_TEXTS
    return False


_NULL_TEXTS = frozenset(x.replace(" ", "") for x in NULLS)


class Analysis:
    """Finds leaking paths for the allocation sites of ``families`` in one function.

    Attributes:
        events: the first leak event per allocation site, in BFS order (shortest paths first).
        gave_up: True when the state space exceeded :data:`MAX_VISITS` (no findings then).
    """

    def __init__(self, fn: Node, families: list[Family], module: Module | None = None,
                 params_as_sites: bool = False, focus: str = "") -> None:
        """``focus``: a family's name, to track only its allocations (the deallocators of all
        ``families`` are still known, for mismatches)."""
        self.fn = fn
        self.module = module
        self.dropped: set[int] = set()
        self.consulted: set[str] = set()  # same-file functions whose summaries were used
        self.tests: dict[int, tuple] = {}  # condition node id -> what it tests (see refine)
        self.initial: frozenset = frozenset()
        self.families = families
        self.allocators = {a: f for f in families for a in f.allocators}
        self.out_allocators = {a: (f, i, k) for f in families for a, i, k in f.out_allocators}
        self.deallocators = frozenset().union(*(f.deallocators for f in families)) if families else frozenset()
        self.reallocators = frozenset().union(*(f.reallocators for f in families)) if families else frozenset()
        self.locals, self.arrays, self.targets = _locals_and_arrays(fn)
        self.params_mode = params_as_sites
        #: local structs (used with `.`) and arrays, whose members can hold resources
        self.aggregates: frozenset[str] = frozenset()
        self.sites: list[Site] = []
        self.site_of: dict[int, int] = {}
        self.events: list[LeakEvent] = []
        self.gave_up = False
        self.pred: dict = {}
        if params_as_sites:
            # summary mode: each parameter holds an object; which ones does the body keep or free?
            objs = []
            for i, (name, node) in enumerate(parameters(fn)):
                self.sites.append(Site(node, families[0], name))
                objs.append(Obj(i, frozenset({name})))
            self.initial = frozenset(objs)
        into: list[Node] = []  # calls that return a pointer into their argument
        if not params_as_sites:
            for call in _calls(fn):
                f = call.child_by_field_name("function")
                name = text(f) if f is not None and f.type == "identifier" else ""
                if name in RETURNS_INTO_ARG0:
                    into.append(call)
                elif name in self.allocators:
                    if _fills_stdio(call, self.allocators[name].name):
                        continue
                    if not focus or self.allocators[name].name == focus:
                        self.site_of[call.id] = len(self.sites)
                        self.sites.append(Site(call, self.allocators[name], name))
                elif name in self.out_allocators:
                    family, index, fails = self.out_allocators[name]
                    if not focus or family.name == focus:
                        self.site_of[call.id] = len(self.sites)
                        self.sites.append(Site(call, family, name, (index, fails)))
        #: out-parameter allocators, whose status a local may keep (`rc = asprintf(&s, ...)`)
        self.has_out_sites = any(s.out is not None for s in self.sites)
        watched = frozenset(self.allocators) | self.deallocators if self.sites else frozenset()
        self.cfg = CFG(fn, module.noreturn, module.env, self.locals, watched) if self.sites and module is not None else (
            CFG(fn, watched=watched) if self.sites else None)
        # nodes that create objects; elsewhere a state without objects only needs its facts kept
        self._with_sites: set[int] = set()
        self._assigned: dict[int, frozenset[str]] = {}
        self._roots: dict[int, frozenset[str]] = {}
        if self.cfg is not None:
            starts = [site.node.start_byte for site in self.sites] if not params_as_sites else []
            for node in self.cfg.nodes:
                if node.ts is not None and any(node.ts.start_byte <= b < node.ts.end_byte for b in starts):
                    self._with_sites.add(node.id)
        # locals assigned a pointer into another object (`c = strchr(s, ':')`): see refine
        self.interior = _interior_pointers(into) if into and self.cfg is not None else frozenset()
        #: locals holding a stream's descriptor (`dfd = dirfd(dir)`): closing one leaves the stream
        self.stream_fds = _interior_pointers(
            [c for c in into if text(c.child_by_field_name("function")) in STREAM_DESCRIPTORS]) if into else frozenset()
        # `return` from `main` ends the process: what is still held then is not lost memory
        self.ends_process = function_name(fn) == "main"
        self.flags: frozenset[str] = frozenset()
        #: globals this function assigns fresh resources to (their overwrite is a leak)
        self.global_targets: frozenset[str] = frozenset()
        self.copy_at: dict[int, tuple[str, str]] = {}
        self.cmp_at: dict[int, tuple[str, str, bool]] = {}
        self.switch_at: dict[int, tuple[str, dict[str, int]]] = {}
        self.counters: frozenset[str] = frozenset()
        self.counter_at: dict[int, tuple[str, str, bool]] = {}
        self.repeated: dict[str, frozenset[str]] = {}
        self.compared: dict[str, frozenset[str]] = {}
        self.env: Env = EMPTY
        if self.cfg is not None:
            self.aggregates = self.arrays | _struct_values(fn, self.locals)
            if not params_as_sites:
                self.global_targets = _global_targets(self.sites, self.locals)
            self._condition_tables(module.env if module is not None else EMPTY)
        self.related = bool(self.copy_at or self.cmp_at or self.counter_at or self.switch_at)

    def _condition_tables(self, env: Env) -> None:
        """What the conditions of the CFG let a path learn, from one pass over its nodes
        (``env``: the file's constants, kept as :attr:`env`):

        - ``flags``: locals tested for truth (``need_free = 1; ... if (need_free) free(p);``);
          a constant assigned to one is remembered as a fact on that path;
        - ``cmp_at`` and ``copy_at``: comparisons with constants made twice on one variable or
          on two that a copy joins (``fd = sfd; if (fd == -1) ...; if (sfd == -1) ...``), and
          the copies between locals of variables that some condition tests;
        - ``counter_at``: ``i == slot`` with ``i`` a loop counter (incremented) and ``slot``
          not, true once per loop;
        - ``repeated``: side-effect-free conditions that appear more than once, ``{"?" + text
          without blanks (:func:`_condition_key`): identifiers in it}``.
        """
        self.env = env
        conds = [n for n in self.cfg.nodes if n.kind == "cond" and n.ts is not None]
        stmts = [n for n in self.cfg.nodes if n.kind in ("stmt", "decl") and n.ts is not None]
        flags, null_tested, counters = set(), set(), set()
        cmp_at: dict[int, tuple[str, str, bool]] = {}
        texts: dict[int, str] = {}
        for node in conds:
            test = unwrap(node.ts)
            if test is not None and test.type == "unary_expression" and operator_of(test) == "!":
                test = unwrap(test.child_by_field_name("argument"))
            if test is not None and test.type == "identifier" and text(test) in self.locals:
                flags.add(text(test))
            cmp = _comparison(node.ts, self.locals, env)
            if cmp is not None:
                cmp_at[node.ts.id] = cmp
            elif node.ts.type == "binary_expression" and operator_of(node.ts) in ("==", "!="):
                left, right = node.ts.child_by_field_name("left"), node.ts.child_by_field_name("right")
                other = unwrap(right if _is_null(left) else left if _is_null(right) else None)
                if other is not None and other.type == "identifier":
                    null_tested.add(text(other))
            if _pure(node.ts):
                texts[node.id] = _condition_key(node.ts, env)[0]
        # `switch (x)` with constant cases: each `case K` edge is the comparison `x == K`
        switch_at: dict[int, tuple[str, dict[str, int]]] = {}
        copy_at: dict[int, tuple[str, str]] = {}
        for node in stmts:
            cases = _switch_cases(node, self.locals, env)
            if cases is not None:
                switch_at[node.id] = cases
            copy = _copy(node.ts, self.locals)
            if copy is not None:
                copy_at[node.id] = copy
            if node.ts.type == "update_expression":
                arg = unwrap(node.ts.child_by_field_name("argument"))
                if arg is not None and arg.type == "identifier":
                    counters.add(text(arg))
        self.flags = frozenset(flags)
        # variables joined by copies are one group (networkx: connected components)
        group: dict[str, str] = {}
        if copy_at:
            import networkx as nx

            for component in nx.connected_components(nx.Graph(list(copy_at.values()))):
                first = min(component)
                group.update((name, first) for name in component)
        counts: dict[tuple[str, str], int] = {}
        for var, key, _ in cmp_at.values():
            counts[group.get(var, var), key] = counts.get((group.get(var, var), key), 0) + 1
        # a switch on a variable the function sets to constants (`closemethod = 2;` after
        # `popen()`, then `switch (closemethod)`) is tested as often as it is set
        assigned_constants = _constant_targets(stmts, self.locals) if switch_at else frozenset()
        for var, values in switch_at.values():
            for value in set(values.values()):
                key = f"{SEP}=={value}"
                counts[group.get(var, var), key] = counts.get((group.get(var, var), key), 0) + 1 + (
                    var in assigned_constants)
        self.cmp_at = {k: v for k, v in cmp_at.items() if counts[group.get(v[0], v[0]), v[1]] > 1}
        #: locals compared with constants more than once, and those comparisons' keys: a
        #: constant assigned to one decides them (`time_t t = 0; ... if (t == 0)`)
        compared: dict[str, set[str]] = {}
        for var, key, _ in self.cmp_at.values():
            compared.setdefault(var, set()).add(key)
        #: switches whose cases some other test or switch compares again
        self.switch_at = {k: v for k, v in switch_at.items()
                          if any(counts[group.get(v[0], v[0]), f"{SEP}=={c}"] > 1 for c in v[1].values())}
        for var, values in self.switch_at.values():
            compared.setdefault(var, set()).update(f"{SEP}=={c}" for c in values.values()
                                                   if counts[group.get(var, var), f"{SEP}=={c}"] > 1)
        self.compared = {k: frozenset(v) for k, v in compared.items()}
        tested = self.flags | null_tested | {v[0] for v in self.cmp_at.values()}
        self.copy_at = {k: v for k, v in copy_at.items() if tested & set(v)}
        if counters:
            for node in conds:
                test = _counter_test(node.ts, self.locals, counters)
                if test is not None:
                    self.counter_at[node.ts.id] = test
            self.counters = frozenset(counters) if self.counter_at else frozenset()
        seen: dict[str, int] = {}
        for t in texts.values():
            seen[t] = seen.get(t, 0) + 1
        for node in conds:
            if seen.get(texts.get(node.id, ""), 0) > 1:
                self.repeated["?" + texts[node.id]] = _identifiers(node.ts)

    def member_path(self, n: Node | None) -> str | None:
        """``s.buf``, ``arr[2]``, ``s.in.p`` on a local struct or array (:attr:`aggregates`),
        with constant subscripts: the member's name as a holder; in summary mode the
        parameter's own name (what a member holds belongs to the argument). Else None."""
        if not self.aggregates:
            return None
        parts = []
        while n is not None:
            t = n.type
            if t == "field_expression":
                if operator_of(n) != ".":
                    return None
                parts.append("." + text(n.child_by_field_name("field")))
            elif t == "subscript_expression":
                index = n.child_by_field_name("index")
                if index is None or index.type != "number_literal":
                    return None
                parts.append(f"[{text(index)}]")
            elif t == "parenthesized_expression":
                n = unwrap(n)
                continue
            elif t == "identifier":
                name = text(n)
                if name not in self.aggregates:
                    return None
                return name if self.params_mode else name + "".join(reversed(parts))
            else:
                return None
            n = n.child_by_field_name("argument")
        return None

    def run(self) -> list[LeakEvent]:
        """Explore the paths; return one leak event per leaking site."""
        if self.cfg is None:
            return []
        cfg = self.cfg
        start = (cfg.entry, (self.initial, frozenset()))
        self.pred = {start: None}
        queue = deque([start])
        found: dict[int, LeakEvent] = {}
        skipped: dict[int, int] = {}  # site -> leaks passed over as zero-trip (see _zero_trip)
        while queue:
            if len(self.pred) > MAX_VISITS:
                self.gave_up = True
                return []
            node_id, state = queue.popleft()
            node = cfg.nodes[node_id]
            for succ, label, new_state, events in self._transfer(node, state):
                for e in events:
                    if e.kind != "mismatch" and self.sites[e.site].callee in self.sites[e.site].family.reopeners:
                        continue  # a reopened stream is still held by the stream it was given
                    key = (e.site, _CATEGORY.get(e.kind, "leak"))
                    if key not in found and not (self.cfg.loop_body and e.kind in ("return", "end", "overwrite")
                                                 and self._zero_trip(e, skipped)):
                        found[key] = e
                if succ is None:
                    continue
                key = (succ, new_state)
                if key not in self.pred:
                    self.pred[key] = ((node_id, state), label)
                    queue.append(key)
        self.events = sorted(found.values(), key=lambda e: (e.site, e.kind))
        return self.events

    def _transfer(self, node, state):
        """Yield (successor id or None, edge label, new state, leak events)."""
        kind = node.kind
        if node.id in self.cfg.loop_start and state[1]:
            # a counting loop starts (again): whether it was entered is to be found anew
            key = f"@{self.cfg.loop_start[node.id]}"
            if any(f[0] == key for f in state[1]):
                state = (state[0], frozenset(f for f in state[1] if f[0] != key))
        if kind == "exit":
            events = [] if self.ends_process else [
                LeakEvent(o.site, node.id, "end", tuple(sorted(o.holders)), state) for o in _ordered(state[0])
                if not _in_global(o)]
            yield None, "", state, events
            return
        if kind == "dead":
            return
        if kind == "pp":
            # `#ifdef X` again: the side this path took before decides (see CFG._preproc)
            key = "#" + node.key
            facts = dict(state[1])
            for s, label in node.succ:
                want = label == "true"
                if facts.get(key, want) == want:
                    yield s, label, (state[0], frozenset((facts | {key: want}).items())), []
            return
        if kind in ("nop", "entry") or node.ts is None:
            for s, label in node.succ:
                yield s, label, state, []
            return
        if not state[0] and node.id not in self._with_sites and kind != "cond" and node.id not in self.switch_at:
            # nothing is tracked on this path and nothing is allocated here: keep the facts
            # about variables this node does not assign, skip evaluating it
            if kind == "return":
                return
            assigned = self._assigned.get(node.id)
            if assigned is None:
                assigned = self._assigned[node.id] = _assigned_names(node.ts)
            facts = state[1]
            if facts and assigned:
                facts = frozenset(f for f in facts if f[0] not in assigned) if not self.related else frozenset(
                    f for f in facts if not assigned.intersection(_fact_names(f[0])))
            if facts and any(f[0][0] == "?" for f in facts):
                roots = self._roots.get(node.id)
                if roots is None:
                    roots = self._roots[node.id] = _assigned_roots(node.ts)
                if roots:
                    facts = frozenset(f for f in facts if not (f[0][0] == "?" and self.repeated.get(f[0], frozenset()) & roots))
            if assigned & self.flags or (self.compared and assigned & self.compared.keys()):
                facts = frozenset((dict(facts) | _constant_facts(node.ts, self.flags, self.compared)).items())
            copy = self.copy_at.get(node.id)
            if copy is not None:
                ev = _Eval(self, node.id, (state[0], facts))
                ev.copy_facts(*copy)
                facts = frozenset(ev.facts.items())
            for s, label in node.succ:
                yield s, label, (state[0], facts), []
            return
        ev = _Eval(self, node.id, state)
        if kind == "decl":
            ev.declare(node.ts)
        elif kind == "return":
            value = node.ts.named_children[0] if node.ts.named_children else None
            ev.escape(ev.eval(value))
            events = ev.events + ([] if self.ends_process else [
                LeakEvent(o.site, node.id, "return", tuple(sorted(o.holders)), state) for o in _ordered(ev.objs)
                if not _in_global(o)
            ])
            yield None, "", ev.state(), events
            return
        elif kind == "cond":
            vals = ev.eval(node.ts)
            body = self.cfg.loop_body.get(node.id)
            for s, label in node.succ:
                refined = ev.refine(node.ts, vals, label)
                if refined is not None:
                    if body is not None and refined[0]:
                        refined = _loop_facts(refined, node.id, label, body)
                    yield s, label, refined, ev.events
            return
        else:
            arg = _first_arg(node.ts) if node.ts.type == "call_expression" and (
                (callee := text(node.ts.child_by_field_name("function"))) == "assert" or callee in self.env.asserts) else None
            failed = _asserted_failure(arg) if arg is not None else None
            site = self.site_of.get(failed[0].id) if failed is not None else None
            if site is not None and failed[1] == self.sites[site].family.invalid:
                pass  # `ASSERT(open(p) == -1)`: the path goes on only if the call failed
            elif arg is not None:
                # `assert(x)`, `ASSERT(x)`: the path goes on only where `x` is true, as the
                # true branch of `if (x)`
                refined = ev.refine(arg, ev.eval(arg), "true")
                if refined is None:
                    return
                ev.objs, ev.facts = set(refined[0]), dict(refined[1])
            else:
                ev.discard(ev.eval(node.ts))
        copy = self.copy_at.get(node.id)
        if copy is not None:
            ev.copy_facts(*copy)
        if len(node.succ) > 1 and node.ts.parent is not None and node.ts.parent.type == "switch_statement":
            events = ev.events
            for s, label in node.succ:
                refined = ev.refine_case(node, label)
                if refined is not None:
                    yield s, label, refined, events
                    events = []
            return
        new_state = ev.state()
        for s, label in node.succ:
            yield s, label, new_state, ev.events
            ev.events = []

    def _zero_trip(self, event: LeakEvent, skipped: dict[int, int]) -> bool:
        """Is this leak only there because a counting loop (``for (i = 0; i < n; i++)``) whose
        body uses the resource ran zero times on this path (a ``@`` fact of its state, see
        :meth:`_Eval.loop_facts`)? Such a loop is written to hand the resource out element by
        element (``cores[j].buf = buf + j * size``), and its count is what was allocated for:
        that path is passed over; the paths that enter the loop are states of their own and
        still report a leak. After 64 such events for one allocation, the next is reported."""
        if skipped.get(event.site, 0) >= 64 or not event.holders:
            return False
        for key, value in event.state[1]:
            if key[0] == "@" and value is False:
                body = self.cfg.loop_body.get(int(key[1:]))
                if body is not None and _mentions(body, event.holders):
                    skipped[event.site] = skipped.get(event.site, 0) + 1
                    return True
        return False

    def path(self, event: LeakEvent) -> list[tuple[int, str]]:
        """CFG node ids and edge labels from the allocation to the leaking node (inclusive)."""
        key = (event.node, event.state)
        steps = []
        site_node = self.sites[event.site].node
        ts = self.cfg.nodes[event.node].ts
        if ts is not None and ts.start_byte <= site_node.start_byte < ts.end_byte:
            return steps  # lost where it is made (`f(malloc(n));`): no step between
        while key is not None and key in self.pred:
            entry = self.pred[key]
            if entry is None:
                break
            (prev, label) = entry
            steps.append((prev[0], label))
            ts = self.cfg.nodes[prev[0]].ts
            if ts is not None and ts.start_byte <= site_node.start_byte < ts.end_byte:
                break
            key = prev
        steps.reverse()
        return steps


#: Summaries and "no leak" verdicts of functions that depend on nothing but their own text,
#: kept across files and runs (the language server re-analyses a document on every edit).
_SUMMARY_CACHE: dict = {}
CLEAN_CACHE: dict = {}
CACHE_SIZE = 8192


def _families_key(families: list[Family]) -> tuple:
    """What of the families a cached result depends on (user allocators change with the config)."""
    return tuple((f.name, f.allocators, f.deallocators, f.reallocators, f.out_allocators) for f in families)


def _remember(cache: dict, key, value) -> None:
    if len(cache) >= CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value


def analyse_function(fn: Node, families: list[Family], module: Module | None, focus: str = "") -> Analysis | None:
    """Run the leak analysis on ``fn`` (only ``focus``'s allocations, when given), or return None
    when a previous run of the same text (with no same-file callees consulted) found nothing."""
    key = (fn.text, _families_key(families), module.noreturn if module is not None else frozenset(),
           module.env if module is not None else EMPTY, module.lends_key if module is not None else frozenset(),
           focus)
    deps = CLEAN_CACHE.get(key)
    if deps is not None and (not deps or (module is not None and all(
            module.summary(name) == summary for name, summary in deps))):
        return None  # same text, same callee summaries: still no leak
    an = Analysis(fn, families, module, focus=focus)
    events = an.run()
    if not events and not an.gave_up and (not an.consulted or module is not None):
        deps = tuple(sorted((name, module.summary(name)) for name in an.consulted)) if an.consulted else ()
        _remember(CLEAN_CACHE, key, deps)
    return an


class Module:
    """The functions defined in one file, with lazily computed parameter summaries.

    ``borrows(f, k)``: does function ``f`` of this file only read its parameter ``k`` (never
    free, store, return or pass it on to something that might)? Computed by running the same
    path analysis on ``f`` with each parameter holding an object; recursion (a summary still
    being computed) and unknown functions answer False, the conservative choice.
    """

    def __init__(self, functions: dict[str, Node], families: list[Family],
                 noreturn: frozenset[str] = frozenset(), env: Env = EMPTY,
                 lends: Mapping[str, frozenset[tuple[int, int]]] | None = None, lends_key=None) -> None:
        self.functions = functions
        self.families = families
        self.noreturn = noreturn  # the project's functions that never return
        self.env = env  # constants known at file scope (leakspot.c.constants)
        #: borrow summaries of the file's and the run's functions (leakspot.c.borrows):
        #: name -> the (parameter index, level) pairs it only borrows
        self.lends = lends or {}
        #: what ``lends`` is, for the caches (by content, when the caller has no cheaper name)
        self.lends_key = lends_key if lends_key is not None else frozenset(self.lends.items())
        self._summaries: dict[str, frozenset[int] | None] = {}

    def summary(self, name: str) -> frozenset[int] | None:
        """The indices of the parameters ``name`` only borrows (None: unknown or recursive)."""
        if name not in self.functions:
            return None
        self.borrows(name, -1)
        return self._summaries.get(name)

    def borrows(self, name: str, index: int, level: int = 0) -> bool:
        """Does ``name`` only borrow its parameter ``index`` (level 0), or what that parameter
        points to (level 1: ``f(&p)`` leaves ``p`` to the caller)?"""
        if (index, level) in self.lends.get(name, ()):
            return True
        if name not in self.functions or level:
            return False
        if name not in self._summaries:
            fn = self.functions[name]
            key = (fn.text, _families_key(self.families), self.noreturn, self.env, self.lends_key)
            cached = _SUMMARY_CACHE.get(key)
            self._summaries[name] = None  # in progress: recursion is conservative
            if cached is not None and all(self.summary(dep) == value for dep, value in cached[1]):
                # the same text, and the same-file callees it consulted say the same as then
                self._summaries[name] = cached[0]
            else:
                an = Analysis(fn, self.families, self, params_as_sites=True)
                an.run()
                kept = an.dropped if not an.gave_up else set(range(len(an.sites)))
                summary = frozenset(i for i in range(len(an.sites)) if i not in kept)
                self._summaries[name] = summary
                deps = tuple(sorted((dep, self.summary(dep)) for dep in an.consulted if dep != name))
                _remember(_SUMMARY_CACHE, key, (summary, deps))
        summary = self._summaries[name]
        return summary is not None and index in summary


def parameters(fn: Node) -> list[tuple[str, Node]]:
    """(name, node) of each named parameter of a function definition, in order."""
    decl = fn.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    params = decl.child_by_field_name("parameters") if decl is not None else None
    out = []
    for p in params.named_children if params is not None else []:
        if p.type == "parameter_declaration":
            name = declarator_name(p.child_by_field_name("declarator"))
            out.append((name, p))
    return out


def _assigned_names(root: Node) -> frozenset[str]:
    """Identifiers a statement may change: assigned, declared, incremented or address-taken."""
    out = set()
    stack = [root]
    while stack:
        n = stack.pop()
        t = n.type
        target = None
        if t == "assignment_expression":
            target = n.child_by_field_name("left")
        elif t == "update_expression":
            target = n.child_by_field_name("argument")
        elif t == "pointer_expression" and operator_of(n) == "&":
            target = n.child_by_field_name("argument")
        elif t == "init_declarator":
            out.add(declarator_name(n.child_by_field_name("declarator")))
        elif t == "declaration":
            for d in n.children_by_field_name("declarator"):
                out.add(declarator_name(d if d.type != "init_declarator" else d.child_by_field_name("declarator")))
        target = unwrap(target)
        if target is not None and target.type == "identifier":
            out.add(text(target))
        stack.extend(n.named_children)
    return frozenset(out)


#: Each category of event is reported once per allocation site (by its own rule).
_CATEGORY = {"mismatch": "mismatch", "overwrite": "overwrite"}


#: Separates the parts of a fact key about a comparison (``fd\x01==-1``) or a copy
#: (``=\x01fd\x01sfd``); a plain key is a variable's truth, a ``?`` key a repeated condition.
SEP = "\x01"
_NEGATED = {"!=": "==", ">=": "<", ">": "<="}


def _fact_names(key: str) -> tuple[str, ...]:
    """The variables a fact key is about."""
    if SEP not in key:
        return (key,)
    parts = key.split(SEP)
    if parts[0] == "=":
        return tuple(parts[1:])
    return (parts[0], parts[2]) if len(parts) == 3 else (parts[0],)


def _comparison(expr: Node, locals_: frozenset[str], env) -> tuple[str, str, bool] | None:
    """``x OP c`` with ``x`` a local and ``c`` a constant: ``(x, key, positive)``, where ``key``
    (``SEP + "==-1"``) names the comparison in its positive form and ``positive`` says whether
    the true branch makes it hold (``x != -1`` is the negation of ``x == -1``)."""
    if expr.type != "binary_expression":
        return None
    op = operator_of(expr)
    if op not in ("==", "!=", "<", "<=", ">", ">="):
        return None
    left, right = unwrap(expr.child_by_field_name("left")), unwrap(expr.child_by_field_name("right"))
    value = env.value(right, locals_)
    if value is None:
        left, right, op = right, left, _MIRROR[op]
        value = env.value(right, locals_)
    if value is None or left is None or left.type != "identifier" or text(left) not in locals_:
        return None
    positive = op not in _NEGATED
    return text(left), f"{SEP}{_NEGATED.get(op, op)}{value}", positive


def _switch_cases(node: CNode, locals_: frozenset[str], env) -> tuple[str, dict[str, int]] | None:
    """``switch (x)`` on a local ``x``, at the CFG node of its subject: ``(x, {edge label:
    value})`` for its cases with constant values (``"case 2"``: 2, ``"case EAGAIN"``: 11 when
    the file defines it); None for another statement or subject."""
    ts = node.ts
    if ts is None or ts.parent is None or ts.parent.type != "switch_statement":
        return None
    subject = unwrap(ts)
    if subject is None or subject.type != "identifier" or text(subject) not in locals_:
        return None
    body = ts.parent.child_by_field_name("body")
    values = {}
    for case in body.named_children if body is not None else ():
        value = case.child_by_field_name("value") if case.type == "case_statement" else None
        if value is not None:
            v = env.value(value, locals_)
            if v is not None:
                values["case " + text(value)] = v
    return (text(subject), values) if values else None


def _counter_test(expr: Node, locals_: frozenset[str], counters: set[str]) -> tuple[str, str, bool] | None:
    """``i == slot`` or ``i != slot`` (either order) with ``i`` a loop counter and ``slot`` a
    local that is not: ``(i, slot, positive)``."""
    if expr.type != "binary_expression":
        return None
    op = operator_of(expr)
    if op not in ("==", "!="):
        return None
    left, right = unwrap(expr.child_by_field_name("left")), unwrap(expr.child_by_field_name("right"))
    if left is None or right is None or left.type != "identifier" or right.type != "identifier":
        return None
    a, b = text(left), text(right)
    if b in counters and a not in counters:
        a, b = b, a
    if a not in counters or b in counters or b not in locals_:
        return None
    return a, b, op == "=="


def _copy(ts: Node, locals_: frozenset[str]) -> tuple[str, str] | None:
    """``x = y;`` or ``T x = y;`` between two locals: ``(x, y)``."""
    if ts.type == "assignment_expression" and operator_of(ts) == "=":
        left, right = ts.child_by_field_name("left"), unwrap(ts.child_by_field_name("right"))
    elif ts.type == "declaration":
        decls = ts.children_by_field_name("declarator")
        if len(decls) != 1 or decls[0].type != "init_declarator":
            return None
        left, right = decls[0].child_by_field_name("declarator"), unwrap(decls[0].child_by_field_name("value"))
        while left is not None and left.type == "pointer_declarator":
            left = left.child_by_field_name("declarator")
    else:
        return None
    if left is None or right is None or left.type != "identifier" or right.type != "identifier":
        return None
    x, y = text(left), text(right)
    return (x, y) if x in locals_ and y in locals_ and x != y else None


def _interior_pointers(calls: list[Node]) -> frozenset[str]:
    """The locals assigned the results of these :data:`RETURNS_INTO_ARG0` ``calls``."""
    out = set()
    for call in calls:
        p = call.parent
        while p is not None and p.type in ("parenthesized_expression", "cast_expression"):
            p = p.parent
        if p is not None and p.type == "assignment_expression":
            out.add(text(p.child_by_field_name("left")))
        elif p is not None and p.type == "init_declarator":
            out.add(declarator_name(p.child_by_field_name("declarator")))
    return frozenset(out)


def _first_arg(call: Node) -> Node | None:
    args = call.child_by_field_name("arguments")
    return args.named_children[0] if args is not None and args.named_children else None


def _calls(root: Node):
    return descendants(root, "call_expression")


def _loop_facts(state: tuple, cond_id: int, label: str, body: Node) -> tuple:
    """A counting loop's test with resources live: ``@<id>`` is True once the loop has been
    entered on this path, False when it is left without ever being entered while its body
    names a live resource (the zero-trip path, see :meth:`Analysis._zero_trip`)."""
    key = f"@{cond_id}"
    facts = dict(state[1])
    if label == "true":
        if facts.get(key) is True:
            return state
        facts[key] = True
    elif key in facts or not _mentions(body, tuple(h for o in state[0] for h in o.holders)):
        return state
    else:
        facts[key] = False
    return state[0], frozenset(facts.items())


def _ordered(objs) -> list[Obj]:
    """Objects in a deterministic order (sets of strings iterate in a per-process order)."""
    return sorted(objs, key=lambda o: (o.site, sorted(o.holders), o.nonnull))


def _mentions(n: Node, names: tuple[str, ...]) -> bool:
    """Does the code of ``n`` name one of these variables (or the array or struct of a member)?"""
    roots = {h.split("[", 1)[0].split(".", 1)[0].removeprefix("::") for h in names}
    return bool(roots & _words(n.text or b""))


@lru_cache(maxsize=256)
def _words(data: bytes) -> frozenset[str]:
    """The identifiers in a piece of code."""
    return frozenset(w.decode("utf-8", "replace") for w in _WORD.findall(data))


_WORD = re.compile(rb"[A-Za-z_]\w*")


def _in_global(o: Obj) -> bool:
    """Is the object held by a global (``::name``): still reachable when the function ends?"""
    return any(h[:2] == "::" for h in o.holders)


def _global_targets(sites: list, locals_: frozenset[str]) -> frozenset[str]:
    """Globals (non-local identifiers) that an allocation call's result is assigned to."""
    out = set()
    for site in sites:
        p = site.node.parent
        while p is not None and p.type in ("parenthesized_expression", "cast_expression"):
            p = p.parent
        if p is not None and p.type == "assignment_expression" and operator_of(p) == "=":
            left = p.child_by_field_name("left")
            if left is not None and left.type == "identifier" and text(left) not in locals_:
                out.add(text(left))
    return frozenset(out)


def _is_name(n: Node, names: frozenset[str]) -> bool:
    n = unwrap(n)
    return n is not None and n.type == "identifier" and text(n) in names


def _is_array(decl: Node | None) -> bool:
    """``a[4]``, ``*a[4]`` (an array of pointers); not ``(*a)[4]`` (a pointer to an array)."""
    while decl is not None and decl.type == "pointer_declarator":
        decl = decl.child_by_field_name("declarator")
    return decl is not None and decl.type == "array_declarator"


def _struct_values(fn: Node, locals_: frozenset[str]) -> frozenset[str]:
    """Locals used as struct or union values (``s.field``): their members can hold resources."""
    out = set()
    body = fn.child_by_field_name("body")
    if body is None or b"." not in (body.text or b""):
        return frozenset()
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type == "field_expression" and operator_of(n) == ".":
            arg = n.child_by_field_name("argument")
            if arg is not None and arg.type == "identifier" and text(arg) in locals_:
                out.add(text(arg))
        stack.extend(n.named_children)
    return frozenset(out)


def _locals_and_arrays(fn: Node) -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """:func:`local_names`, which of them are arrays declared in the body, and the function
    each local function pointer always calls."""
    arrays: set[str] = set()
    targets: dict[str, str] = {}
    names = set(local_names(fn, arrays, targets))
    return frozenset(names), frozenset(arrays), targets


def local_names(fn: Node, arrays: set[str] | None = None, targets: dict | None = None) -> frozenset[str]:
    """Parameters and block-scope variables (not ``static``/``extern`` ones) of a function;
    the arrays among the block-scope ones are added to ``arrays`` when it is given, and the
    function pointers initialised with a function's name to ``targets`` (pointer -> function;
    those assigned again later are left out)."""
    names = set()
    decl = fn.child_by_field_name("declarator")
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    if decl is not None:
        params = decl.child_by_field_name("parameters")
        for p in params.named_children if params is not None else []:
            if p.type == "parameter_declaration":
                name = declarator_name(p.child_by_field_name("declarator"))
                if name:
                    names.add(name)
    body = fn.child_by_field_name("body")
    stack = [body] if body is not None else []
    while stack:
        n = stack.pop()
        if n.type == "declaration":
            if any(c.type == "storage_class_specifier" and text(c) in ("static", "extern") for c in n.children):
                continue
            for d in n.children_by_field_name("declarator"):
                target = d.child_by_field_name("declarator") if d.type == "init_declarator" else d
                name = declarator_name(target)
                if name:
                    names.add(name)
                    if arrays is not None and _is_array(target):
                        arrays.add(name)
                    if targets is not None and d.type == "init_declarator" and target is not None and (
                            target.type == "function_declarator"):
                        value = unwrap(d.child_by_field_name("value"))
                        if value is not None and value.type == "pointer_expression":
                            value = unwrap(value.child_by_field_name("argument"))  # `= &sink`
                        if value is not None and value.type == "identifier":
                            targets[name] = (text(value), d.start_byte, d.end_byte)
            continue
        stack.extend(n.named_children)
    if targets:
        from leakspot.c.constants import written_among

        spans = [(a - fn.start_byte, b - fn.start_byte) for _, a, b in targets.values()]
        again = written_among(fn.text or b"", set(targets), spans)
        for name in list(targets):
            if name in again or targets[name][0] in names:
                del targets[name]
            else:
                targets[name] = targets[name][0]
    return frozenset(names)
