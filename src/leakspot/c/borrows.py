"""Borrow summaries: which parameters a C function only *borrows*.

A parameter is borrowed when no path of the function frees it, stores it, returns it or hands
it to anything that might; a caller that passes a resource to a borrowing parameter still owns
it afterwards (so ``print_line(p)`` followed by ``return`` leaks ``p``). Two levels are
summarised for each parameter ``k``:

- level 0, the pointer (or descriptor) itself: ``void print_line(const char *s)``;
- level 1, what it points to: ``void show(char **pp) { char *s = *pp; print_line(s); }``, so a
  caller's ``show(&p)`` leaves ``p`` its own.

Facts come from two places:

- definitions, by a flow-insensitive scan of the body (:func:`function_uses`): each use of the
  parameter, or of a local that copies it (``char *d = *pp``), is a read (dereference, field,
  comparison, ``sizeof``), an escape (returned, stored anywhere but a local, address taken,
  freed), or an argument of a call, which is a borrow when that callee's parameter is one;
- prototypes and definitions whose parameter is a pointer to ``const`` (``const char *``): the
  function cannot free or change what it is given without a cast, so the parameter is borrowed
  unless the body shows an escape. This is the Clang static analyzer's choice for unknown
  functions as well (a ``const`` pointer argument does not make an allocation escape).

Dependencies between functions are solved as a greatest fixpoint (:func:`solve`): a parameter
is borrowed unless some chain of calls reaches an escape, so recursion that only passes a
pointer along keeps it borrowed. Callees that are neither defined in the run, nor declared
with a ``const`` parameter, nor known libc borrowers take ownership (the conservative choice:
no finding from unknown code).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leakspot.c.constants import top_level
from leakspot.c.leaks import RETURNS_ARG0, RETURNS_INTO_ARG0, is_lock_call
from leakspot.c.parse import Node, declarator_name, function_name, functions, operator_of, text

#: (parameter index, level): level 0 is the argument, level 1 what it points to.
Key = tuple[int, int]
#: A call the value is passed to: (callee name, argument index, level of the callee's parameter).
Dep = tuple[str, int, int]


@dataclass
class FunctionUses:
    """The uses of one function's parameters (picklable).

    Attributes:
        uses: for each (index, level) of a parameter that is used: the calls it is passed to,
            or None when it escapes in the body.
        const: the (index, 0) keys of parameters declared as pointers to ``const``.
        arity: the number of parameters.
    """

    uses: dict[Key, frozenset[Dep] | None] = field(default_factory=dict)
    const: frozenset[Key] = frozenset()
    arity: int = 0


@dataclass
class FileBorrows:
    """One file's borrow facts: ``functions`` defined here (non-``static`` by plain name,
    ``static`` ones by ``"<file>:name"`` with their callers' dependencies renamed to match) and
    ``prototypes``, the ``const``-pointer parameters of the functions it declares."""

    functions: dict[str, FunctionUses] = field(default_factory=dict)
    prototypes: dict[str, frozenset[Key]] = field(default_factory=dict)


def _param_list(fn_or_decl: Node) -> list[Node]:
    d = fn_or_decl.child_by_field_name("declarator")
    while d is not None and d.type != "function_declarator":
        d = d.child_by_field_name("declarator")
    params = d.child_by_field_name("parameters") if d is not None else None
    return [p for p in (params.named_children if params is not None else []) if p.type == "parameter_declaration"]


def _const_pointer(p: Node) -> bool:
    """``const char *s`` / ``char const *`` (a pointer to const, one level), also unnamed."""
    d = p.child_by_field_name("declarator")
    if d is None or d.type not in ("pointer_declarator", "abstract_pointer_declarator"):
        return False
    inner = d.child_by_field_name("declarator")
    if inner is not None and inner.type in ("pointer_declarator", "abstract_pointer_declarator"):
        return False  # `const char **`: the pointers it holds may be replaced
    return any(c.type == "type_qualifier" and text(c) == "const" for c in p.children)


def _const_keys(fn_or_decl: Node) -> frozenset[Key]:
    return frozenset((i, 0) for i, p in enumerate(_param_list(fn_or_decl)) if _const_pointer(p))


def function_uses(fn: Node, deallocators: frozenset[str]) -> FunctionUses:
    """Scan one ``function_definition``: how each parameter (and local copies of it) is used."""
    params = [declarator_name(p.child_by_field_name("declarator")) for p in _param_list(fn)]
    out = FunctionUses(const=_const_keys(fn), arity=len(params))
    body = fn.child_by_field_name("body")
    if body is None or not any(params):
        return out
    idents: list[Node] = []
    locals_ = set(params)
    stack = [body]
    while stack:  # one walk: the identifiers, and the names of block-scope variables
        n = stack.pop()
        t = n.type
        if t == "identifier":
            idents.append(n)
            continue
        if t == "declaration" and not any(
                c.type == "storage_class_specifier" and text(c) in ("static", "extern") for c in n.children):
            for d in n.children_by_field_name("declarator"):
                locals_.add(declarator_name(d.child_by_field_name("declarator") if d.type == "init_declarator" else d))
        stack.extend(n.named_children)
    tracked: dict[str, set[Key]] = {}
    for i, name in enumerate(params):
        if name:
            tracked.setdefault(name, set()).add((i, 0))
    deps: dict[Key, set[Dep]] = {}
    escaped: set[Key] = set()
    seen: set[tuple[int, Key]] = set()
    changed = True
    while changed:  # local copies found in one round are followed in the next
        changed = False
        for n in idents:
            for key in list(tracked.get(text(n), ())):
                if (n.id, key) in seen:
                    continue
                seen.add((n.id, key))
                for kind, a, b in _contexts(n, key[1], deallocators):
                    if kind == "escape":
                        escaped.update((key[0], lv) for lv in range(key[1] + b, 2))
                    elif kind == "call":
                        for lv in range(key[1] + b, 2):
                            deps.setdefault((key[0], lv), set()).add((a[0], a[1], lv - key[1] - b))
                    elif kind == "alias" and a not in locals_:
                        escaped.update((key[0], lv) for lv in range(b, 2))  # `g_cache = p`
                    elif kind == "alias":
                        if (key[0], b) not in tracked.setdefault(a, set()):
                            tracked[a].add((key[0], b))
                            changed = True
    for key in set(deps) | escaped:
        out.uses[key] = None if key in escaped else frozenset(deps.get(key, ()))
    for i, name in enumerate(params):
        for lv in (0, 1):
            out.uses.setdefault((i, lv), frozenset())
    return out


def _contexts(n: Node, level: int, deallocators: frozenset[str]):
    """What happens to the value of expression ``n`` (at ``level`` below the parameter):
    yields ``("read", _, 0)``, ``("escape", _, d)``, ``("call", (callee, index), d)`` or
    ``("alias", local, level)``; ``d`` is how many dereferences were applied on the way."""
    depth = 0
    while True:
        p = n.parent
        if p is None:
            yield ("escape", None, depth)
            return
        t = p.type
        if t in ("parenthesized_expression", "cast_expression"):
            n = p
            continue
        if (t.endswith("_declarator") and t != "init_declarator") or t in ("parameter_declaration", "declaration"):
            yield ("read", None, 0)  # the name being declared, not a use of its value
            return
        if t == "pointer_expression" and operator_of(p) == "&":
            yield ("escape", None, depth)
            return
        if t == "subscript_expression" and (p.child_by_field_name("argument") is None
                                            or p.child_by_field_name("argument").id != n.id):
            yield ("read", None, 0)  # used as an index
            return
        if t in ("pointer_expression", "subscript_expression"):  # `*p`, `p[i]`: one level down
            n, depth = p, depth + 1
            if level + depth > 1:
                yield ("read", None, 0)
                return
            continue
        if t == "binary_expression":
            if operator_of(p) in ("+", "-"):
                n = p  # pointer arithmetic: still points into the same object
                continue
            yield ("read", None, 0)
            return
        if t == "conditional_expression":
            cond = p.child_by_field_name("condition")
            if cond is not None and cond.id == n.id:
                yield ("read", None, 0)
                return
            n = p
            continue
        if t == "comma_expression":
            right = p.child_by_field_name("right")
            if right is None or right.id != n.id:
                yield ("read", None, 0)
                return
            n = p
            continue
        if t == "argument_list":
            call = p.parent
            fn = call.child_by_field_name("function") if call is not None else None
            if fn is None or fn.type != "identifier":
                yield ("escape", None, depth)
                return
            name = text(fn)
            if name in deallocators or is_lock_call(call):
                yield ("escape", None, depth)
                return
            args = [a for a in p.named_children if a.type != "comment"]
            index = next((i for i, a in enumerate(args) if a.id == n.id), -1)
            yield ("call", (name, index), depth)
            if index == 0 and (name in RETURNS_ARG0 or name in RETURNS_INTO_ARG0):
                n = call  # `c = strchr(p, ':')`: the result points into the same object
                continue
            return
        if t == "assignment_expression":
            left = p.child_by_field_name("left")
            if left is not None and left.id == n.id:
                if depth:
                    yield ("escape", None, depth)  # `*pp = q`: the caller's pointer is replaced
                else:
                    yield ("read", None, 0)  # the parameter variable itself is reassigned
                return
            if operator_of(p) != "=":
                yield ("read", None, 0)
                return
            if left is not None and left.type == "identifier":
                yield ("alias", text(left), level + depth)
                return
            yield ("escape", None, depth)
            return
        if t == "init_declarator":
            value = p.child_by_field_name("value")
            if value is not None and value.id == n.id:
                yield ("alias", declarator_name(p.child_by_field_name("declarator")), level + depth)
                return
            yield ("read", None, 0)
            return
        if t == "field_expression" and operator_of(p) == "->" and depth == 0 and (
                p.child_by_field_name("argument") is not None and p.child_by_field_name("argument").id == n.id):
            q = p.parent
            while q is not None and q.type == "parenthesized_expression":
                q = q.parent
            if q is not None and q.type == "pointer_expression" and operator_of(q) == "&":
                n = q  # `&p->node`: a pointer into the object, which a list insert links
                continue
            if level + depth == 0 and q is not None and q.type == "argument_list":
                # `fclose(p->fh)`, `free(p->buf)`: a member of what `p` points to is handed on,
                # one level down
                n, depth = p, depth + 1
                continue
        if t == "field_expression" and operator_of(p) == "." and (
                p.child_by_field_name("argument") is not None and p.child_by_field_name("argument").id == n.id):
            n = p  # a member of a struct passed by value is part of the value
            continue
        if t in ("field_expression", "unary_expression", "update_expression", "sizeof_expression",
                 "if_statement", "while_statement", "do_statement", "for_statement",
                 "switch_statement", "condition_clause", "expression_statement", "case_statement"):
            yield ("read", None, 0)
            return
        yield ("escape", None, depth)  # returned, in an initializer list, anything else
        return


def file_borrows(root: Node, display: str, deallocators: frozenset[str]) -> FileBorrows:
    """The :class:`FileBorrows` of a parsed file; ``display`` names its ``static`` functions."""
    out = FileBorrows()
    defs = [fn for fn in functions(root) if not fn.has_error]
    statics = {function_name(fn) for fn in defs if is_static(fn)}
    for fn in defs:
        name = function_name(fn)
        if not name:
            continue
        uses = function_uses(fn, deallocators)
        if statics:
            uses.uses = {k: (frozenset((f"{display}:{c}" if c in statics else c, i, lv) for c, i, lv in v)
                             if v is not None else None) for k, v in uses.uses.items()}
        out.functions[f"{display}:{name}" if name in statics else name] = uses
    for n in top_level(root):
        if n.type == "declaration":
            for d in n.children_by_field_name("declarator"):
                inner = d
                while inner is not None and inner.type == "pointer_declarator":
                    inner = inner.child_by_field_name("declarator")
                if inner is not None and inner.type == "function_declarator":
                    keys = _const_keys(n)
                    name = declarator_name(inner.child_by_field_name("declarator"))
                    if keys and name:
                        out.prototypes[name] = out.prototypes.get(name, frozenset()) | keys
    return out


def is_static(fn: Node) -> bool:
    """Is this function definition ``static``?"""
    return any(c.type == "storage_class_specifier" and text(c) == "static" for c in fn.children)


def solve(files: list[FileBorrows], borrowers: frozenset[str],
          known: dict[str, frozenset[Key]] | None = None) -> dict[str, frozenset[Key]]:
    """The borrowed (index, level) keys of every function of ``files``, by name (``static``
    ones as ``"<file>:name"``), and of the prototypes' functions not defined there.

    Args:
        files: the facts of each file.
        borrowers: library functions that only read their pointer arguments (level 0).
        known: summaries solved before (the whole run's, for one file's ``static`` functions):
            used for callees not defined in ``files``.

    Greatest fixpoint: every candidate key starts borrowed and is dropped when one of its
    calls reaches a parameter that is not; dropping repeats until nothing changes.
    """
    known = known or {}
    defs: dict[str, FunctionUses] = {}
    dropped: set[str] = set()
    protos: dict[str, frozenset[Key]] = {}
    for f in files:
        for name, uses in f.functions.items():
            if name in defs and ":" not in name:
                dropped.add(name)  # defined twice (alternatives under #ifdef): no summary
            defs[name] = uses
        for name, keys in f.prototypes.items():
            protos[name] = protos.get(name, frozenset()) | keys
    for name in dropped:
        del defs[name]
    state: dict[str, set[Key]] = {n: {k for k, v in u.uses.items() if v is not None} for n, u in defs.items()}

    def holds(callee: str, index: int, level: int, const_caller: bool) -> bool:
        if callee in state:
            return (index, level) in state[callee]
        if callee in dropped:
            return False
        if callee in known:
            return (index, level) in known[callee]
        if level == 0 and (callee in borrowers or (index, 0) in protos.get(callee, ())):
            return True
        return const_caller and level == 0  # a `const T *` handed to unknown code: it reads it

    changed = True
    while changed:
        changed = False
        for name, keys in state.items():
            uses = defs[name]
            for key in list(keys):
                const = key in uses.const
                if not all(holds(c, i, lv, const) for c, i, lv in uses.uses[key]):
                    keys.discard(key)
                    changed = True
    out = {n: frozenset(k) for n, k in state.items()}
    for name, keys in protos.items():
        if name not in out and name not in dropped:
            out[name] = keys
    return out
