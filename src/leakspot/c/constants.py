"""Constant conditions in C: what a condition's value is before the program runs.

The CFG (:mod:`leakspot.c.cfg`) gives a condition whose value is known only its feasible
edge, so ``if (STATIC_CONST_FALSE) {...} else { free(p); }`` has one path, not two. Known values
come from an :class:`Env`, built from the file and, in a whole-project run, from every C file
and header of the run:

- ``#define NAME 1`` (an integer, possibly negated or parenthesised, or another known name);
- file-scope ``const`` variables with a constant initializer (``static const int T = 1;``,
  ``const int GLOBAL_CONST_FIVE = 5;``);
- file-scope variables that nothing writes after their initializer: ``static`` ones when the
  file never assigns, increments or takes the address of them; others only when no file of the
  run does (a whole-project run), since another file may write them;
- functions without parameters whose body is one ``return`` of a constant
  (``static int staticReturnsTrue(void) { return 1; }``).

A name defined with two different values (``#ifdef`` alternatives, a ``static`` in two files) is
not known. Locals shadow every one of these (the CFG is given the function's locals). The
evaluation is the usual C integer arithmetic on known operands (C11 6.6 "Constant expressions"),
with ``&&``/``||`` short-circuiting, so ``0 && f()`` is known even when ``f()`` is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leakspot.c.parse import Node, function_name, live_children, operator_of, text, unwrap

#: The top-level nodes that may contain file-scope definitions.
_CONTAINERS = frozenset({
    "translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
    "preproc_elifdef", "linkage_specification", "declaration_list",
})
_CONFLICT = object()


@dataclass(frozen=True)
class Env:
    """Known integer values of names (``values``) and of calls without arguments (``calls``),
    the macros that are branch hints (``hints``: ``unlikely(x)`` is ``x``, see
    :func:`leakspot.c.macros.macro_hints`) and those that are assertions (``asserts``: after
    ``ASSERT(x)`` a path goes on only if ``x`` is true, :func:`leakspot.c.macros.macro_asserts`).

    Both map a name to its value; an :class:`Env` is hashable, so analyses can be cached by it.
    """

    values: frozenset[tuple[str, int]] = frozenset()
    calls: frozenset[tuple[str, int]] = frozenset()
    hints: frozenset[str] = frozenset()
    asserts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_values", dict(self.values))
        object.__setattr__(self, "_calls", dict(self.calls))

    def __bool__(self) -> bool:
        return bool(self.values or self.calls or self.hints or self.asserts)

    def value(self, n: Node | None, shadowed: frozenset[str] = frozenset()) -> int | None:
        """The integer value of expression ``n``, or None when it is not a known constant.
        ``shadowed``: names that are locals here (their file-scope value does not apply)."""
        return _value(n, self._values, self._calls, shadowed)

    def without(self, names: frozenset[str]) -> Env:
        """This environment less the variables (not the functions) in ``names``."""
        if not names or not self.values:
            return self
        return Env(frozenset((k, v) for k, v in self.values if k not in names), self.calls, self.hints,
                   self.asserts)

    def merged(self, other: Env) -> Env:
        """This environment with ``other``'s entries added; ``other`` wins on a shared name."""
        if not other:
            return self
        if not self:
            return other
        values = dict(self._values) | dict(other._values)
        calls = dict(self._calls) | dict(other._calls)
        return Env(frozenset(values.items()), frozenset(calls.items()), self.hints | other.hints,
                   self.asserts | other.asserts)


EMPTY = Env()


def _int(s: str) -> int | None:
    s = s.strip().rstrip("uUlL")
    try:
        return int(s, 0) if not (len(s) > 1 and s[0] == "0" and s[1:].isdigit()) else int(s, 8)
    except ValueError:
        return None


def _value(n: Node | None, values: dict, calls: dict, shadowed: frozenset[str]) -> int | None:
    if n is None:
        return None
    t = n.type
    if t == "number_literal":
        return _int(text(n))
    if t == "true":
        return 1
    if t == "false":
        return 0
    if t == "identifier":
        name = text(n)
        return values.get(name) if name not in shadowed else None
    if t in ("parenthesized_expression", "cast_expression"):
        inner = unwrap(n)
        return _value(inner, values, calls, shadowed) if inner is not None and inner.id != n.id else None
    if t == "unary_expression":
        v = _value(n.child_by_field_name("argument"), values, calls, shadowed)
        if v is None:
            return None
        op = operator_of(n)
        return {"!": int(not v), "-": -v, "+": v, "~": ~v}.get(op)
    if t == "call_expression":
        fn = n.child_by_field_name("function")
        args = n.child_by_field_name("arguments")
        if fn is not None and fn.type == "identifier" and text(fn) not in shadowed and (
                args is None or not [a for a in args.named_children if a.type != "comment"]):
            return calls.get(text(fn))
        return None
    if t == "binary_expression":
        op = operator_of(n)
        left = _value(n.child_by_field_name("left"), values, calls, shadowed)
        if op == "&&" and left == 0:
            return 0
        if op == "||" and left is not None and left != 0:
            return 1
        right = _value(n.child_by_field_name("right"), values, calls, shadowed)
        if op == "&&" and right == 0:
            return 0
        if op == "||" and right is not None and right != 0:
            return 1
        if left is None or right is None:
            return None
        return _binary(op, left, right)
    if t == "conditional_expression":
        c = _value(n.child_by_field_name("condition"), values, calls, shadowed)
        if c is None:
            return None
        return _value(n.child_by_field_name("consequence" if c else "alternative"), values, calls, shadowed)
    return None


def _binary(op: str, a: int, b: int) -> int | None:
    if op in ("/", "%") and b == 0:
        return None
    if op in ("<<", ">>") and not 0 <= b < 64:
        return None
    ops = {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
        "/": lambda: int(a / b), "%": lambda: a - int(a / b) * b,
        "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        ">": lambda: int(a > b), "<=": lambda: int(a <= b), ">=": lambda: int(a >= b),
        "&&": lambda: int(bool(a and b)), "||": lambda: int(bool(a or b)),
        "&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b, "<<": lambda: a << b, ">>": lambda: a >> b,
    }
    f = ops.get(op)
    return f() if f is not None else None


@dataclass
class FileConstants:
    """One file's candidate constants (picklable: gathered in worker processes).

    Attributes:
        local: values that hold in this file whatever other files do: its ``#define``s, its
            ``const`` variables, its ``static`` variables it never writes, its functions that
            return a constant.
        exported: non-``static`` variables with a constant initializer that are not ``const``
            and that this file does not write (constant only if no file of the run writes them).
        public: the names of ``local`` that other files can see (``#define``s, non-``static``
            ``const`` variables).
        calls: functions without parameters that return a constant, by name.
        public_calls: the non-``static`` ones of ``calls``.
        statics: file-scope ``static`` variables (they hide another file's variable of the name).
    """

    local: dict[str, int]
    exported: dict[str, int]
    public: frozenset[str]
    calls: dict[str, int]
    public_calls: frozenset[str]
    statics: frozenset[str] = frozenset()


_LAST_WORD = re.compile(rb"([A-Za-z_]\w*)\s*\**\s*$")
_NOT_TYPES = frozenset({b"return", b"else", b"do", b"case", b"goto", b"sizeof"})
_COMPOUND = (b"+", b"-", b"*", b"/", b"%", b"&", b"|", b"^")


def written_among(data: bytes, names, skip: list[tuple[int, int]] = (),
                  skip_definitions: bool = False) -> frozenset[str]:
    """Which of ``names`` ``data`` may write: ``x = ...``, ``x += ...``, ``x++``, ``--x``, ``&x``,
    except at the byte ranges ``skip`` (the initializers of file-scope definitions) and, with
    ``skip_definitions``, where a type name comes first (``int x = 5;`` defines, or declares a
    local that hides it). Text in comments and strings counts too: that only makes fewer names
    constant. The names are found first (one literal alternation, fast), then the operators
    beside each occurrence."""
    if not names:
        return frozenset()
    pattern = re.compile(rb"\b(" + b"|".join(re.escape(n.encode()) for n in sorted(names)) + rb")\b")
    out = set()
    for m in pattern.finditer(data):
        start, end = m.span()
        name = m.group(1).decode()
        if name in out or any(a <= start < b for a, b in skip):
            continue
        after = data[end:end + 4].lstrip()
        before = data[max(0, start - 3):start].rstrip()
        if before.endswith(b".") or before.endswith(b"->"):
            continue  # a field of the same name
        assigned = (after[:1] == b"=" and after[1:2] != b"=") or after[:2] in (b"++", b"--") or (
            after[1:2] == b"=" and after[:1] in _COMPOUND) or after[:3] in (b"<<=", b">>=")
        incremented = before.endswith(b"++") or before.endswith(b"--")
        address = before.endswith(b"&") and not before.endswith(b"&&")
        if assigned and skip_definitions:
            word = _LAST_WORD.search(data[max(0, start - 40):start])
            if word is not None and word.group(1) not in _NOT_TYPES:
                continue  # `int x = 5`: a definition
        if assigned or incremented or address:
            out.add(name)
    return frozenset(out)


#: An object-like ``#define`` on one line (no continuation): name, value.
_DEFINE_LINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+([^\n\\]+)$", re.MULTILINE)


def _strip_comments(value: str) -> str:
    """A ``#define``'s value without its comments (``0x4 /* pty */``, ``1 // on``)."""
    return re.sub(r"/\*.*?\*/", " ", value.split("//", 1)[0]).split("/*", 1)[0].strip()


def top_level(root: Node):
    """The file-scope nodes of a tree, also those inside ``#if``/``#ifdef`` blocks and ``extern \"C\"``."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type in _CONTAINERS:
            stack.extend(reversed(live_children(n)))  # not the dead side of `#if 0`/`#if 1`
        else:
            yield n


def _note(d: dict, name: str, value) -> None:
    if name in d and d[name] != value:
        d[name] = _CONFLICT
    else:
        d[name] = value


def file_constants(root: Node, data: bytes) -> FileConstants:
    """The :class:`FileConstants` of a parsed file (``root``: its tree's root, ``data``: its bytes)."""
    defines: dict = {}
    consts: dict = {}       # const variables: name -> value (local), with their visibility
    statics: dict = {}      # static non-const variables with a constant initializer
    exported: dict = {}     # non-static non-const variables with a constant initializer
    funcs: dict = {}
    public: set[str] = set()
    public_calls: set[str] = set()
    skip: list[tuple[int, int]] = []
    pending = []
    for n in top_level(root):
        if n.type == "preproc_def":
            name = text(n.child_by_field_name("name"))
            value = n.child_by_field_name("value")
            _note(defines, name, ("define", _strip_comments(text(value))) if value is not None else _CONFLICT)
            public.add(name)
        elif n.type == "declaration":
            pending.append(n)
        elif n.type == "function_definition":
            pending.append(n)
    if root.has_error:
        # a region tree-sitter could not parse (a macro it does not know) swallows the object-like
        # `#define`s in it: read those lines as text
        seen = set(defines)
        for m in _DEFINE_LINE.finditer(data):
            name = m.group(1).decode("ascii")
            if name not in seen:
                _note(defines, name, ("define", _strip_comments(m.group(2).decode("utf-8", "replace"))))
                public.add(name)
    env_values = {}

    def resolve_defines() -> None:
        # `#define A 1` / `#define B (A)`: resolved in rounds, text through the evaluator
        changed = True
        while changed:
            changed = False
            for name, v in defines.items():
                if v is _CONFLICT or name in env_values:
                    continue
                value = _define_value(v[1], env_values)
                if value is not None:
                    env_values[name] = value
                    changed = True

    resolve_defines()
    for n in pending:
        if n.type == "declaration":
            specs = {text(c) for c in n.children if c.type in ("storage_class_specifier", "type_qualifier")}
            if "extern" in specs or "typedef" in specs:
                continue
            for d in n.children_by_field_name("declarator"):
                if d.type != "init_declarator":
                    continue
                decl = d.child_by_field_name("declarator")
                if decl is None or decl.type != "identifier":
                    continue  # pointers, arrays, functions
                name = text(decl)
                value = _value(d.child_by_field_name("value"), env_values, {}, frozenset())
                skip.append((d.start_byte, d.end_byte))
                target = consts if "const" in specs else statics if "static" in specs else exported
                _note(target, name, value if value is not None else _CONFLICT)
                if "const" in specs and "static" not in specs:
                    public.add(name)
        else:
            value = _returns_constant(n, env_values)
            name = function_name(n)
            if value is not None and name:
                _note(funcs, name, value)
                if not any(c.type == "storage_class_specifier" and text(c) == "static" for c in n.children):
                    public_calls.add(name)
    written = written_among(data, {n for n, v in statics.items() if v is not _CONFLICT}
                            | {n for n, v in exported.items() if v is not _CONFLICT}, skip)
    local = {k: v for k, v in env_values.items()}
    for table, needs_unwritten in ((consts, False), (statics, True)):
        for name, v in table.items():
            if v is _CONFLICT or (needs_unwritten and name in written):
                continue
            _note(local, name, v)
    local = {k: v for k, v in local.items() if v is not _CONFLICT}
    calls = {k: v for k, v in funcs.items() if v is not _CONFLICT}
    return FileConstants(
        local=local,
        exported={k: v for k, v in exported.items() if v is not _CONFLICT and k not in written},
        public=frozenset(public & set(local)),
        calls=calls,
        public_calls=frozenset(public_calls & set(calls)),
        statics=frozenset(statics) | frozenset(k for k in consts if k not in public),
    )


_DEFINE = re.compile(r"^\(*\s*([-+~!]?)\s*\(*\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*)[uUlL]*\s*\)*$")


def _define_value(body: str, known: dict) -> int | None:
    """The value of a ``#define`` body: an integer, possibly signed and parenthesised, or a name
    already known; anything else (an expression, a string, a type) is not a constant here."""
    m = _DEFINE.match(body.strip())
    if m is None or body.count("(") != body.count(")"):
        return None
    sign, atom = m.groups()
    value = known.get(atom) if atom[0].isalpha() or atom[0] == "_" else _int(atom)
    if value is None:
        return None
    return {"": value, "+": value, "-": -value, "~": ~value, "!": int(not value)}[sign]


def _returns_constant(fn: Node, known: dict) -> int | None:
    """``int f(void) { return 1; }``: the constant a function without parameters returns."""
    d = fn.child_by_field_name("declarator")
    while d is not None and d.type != "function_declarator":
        d = d.child_by_field_name("declarator")
    params = d.child_by_field_name("parameters") if d is not None else None
    if params is None:
        return None
    names = [p for p in params.named_children if p.type != "comment"]
    if names and not (len(names) == 1 and text(names[0]).strip() == "void"):
        return None
    body = fn.child_by_field_name("body")
    stmts = [c for c in body.named_children if c.type != "comment"] if body is not None else []
    if len(stmts) != 1 or stmts[0].type != "return_statement" or not stmts[0].named_children:
        return None
    return _value(stmts[0].named_children[0], known, {}, frozenset())


def candidates(per_file: list[FileConstants]) -> frozenset[str]:
    """The non-``const`` variables of a run that are constant if no other file writes them."""
    return frozenset(n for fc in per_file for n in fc.exported)


def file_env(fc: FileConstants, project: Env = EMPTY) -> Env:
    """The constants one file's functions see: the run's (``project``, when a whole-project pass
    ran) less the names this file's own ``static`` variables hide, then the file's own."""
    own = Env(frozenset(fc.local.items()), frozenset(fc.calls.items()))
    return project.without(fc.statics).merged(own) if project else own


def project_env(per_file: list[FileConstants], written: frozenset[str] = frozenset()) -> Env:
    """The constants every file of a run can use: public ``#define``s, ``const`` variables and
    constant functions that all their definitions agree on, and non-``const`` variables with a
    constant initializer that neither their own file nor any other writes (``written``: the
    :func:`candidates` that :func:`written_among` found written in the other files)."""
    values: dict = {}
    calls: dict = {}
    for fc in per_file:
        for name in fc.public:
            _note(values, name, fc.local[name])
        for name, v in fc.exported.items():
            _note(values, name, ("exported", v))
        for name in fc.public_calls:
            _note(calls, name, fc.calls[name])
    out = {}
    for name, v in values.items():
        if v is _CONFLICT:
            continue
        if isinstance(v, tuple):
            if name in written:
                continue
            v = v[1]
        out[name] = v
    return Env(frozenset(out.items()), frozenset((k, v) for k, v in calls.items() if v is not _CONFLICT))
