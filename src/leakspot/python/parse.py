"""Python front end: stdlib ``ast`` parsing and light import/alias name resolution.

Measured on the CPython stdlib, ``ast.parse`` runs at 60k-98k lines/s while libcst with
scope and qualified-name metadata runs below 1k lines/s, so analysis uses ``ast`` and resolves
names itself: ``import functools as ft`` makes ``ft.lru_cache`` resolve to
``functools.lru_cache``; ``from functools import lru_cache as memo`` makes ``memo`` resolve
to it; an unshadowed builtin ``open`` resolves to ``builtins.open``.
"""

from __future__ import annotations

import ast
import builtins
import re
import warnings
from dataclasses import dataclass, field

BUILTIN_NAMES = frozenset(dir(builtins))
FunctionNode = (ast.FunctionDef, ast.AsyncFunctionDef)


class Names:
    """Resolves expressions to dotted qualified names through a module's imports.

    Imports anywhere in the module count (a function-level ``import functools as ft`` is
    treated like a module-level one). A name bound at module level by anything other than an
    import (``def open(...)``, ``open = ...``) shadows the builtin of that name.
    """

    def __init__(self, tree: ast.Module, imports: list[ast.stmt] | None = None) -> None:
        self.aliases: dict[str, str] = {}
        self.module_bindings: set[str] = set()
        self.star_import = False
        if imports is None:
            imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in imports:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom):
                # relative imports resolve to ".pkg.name": never a stdlib name, but still an import
                base = "." * node.level + (f"{node.module}." if node.module else "")
                for a in node.names:
                    if a.name == "*":
                        self.star_import = True  # may shadow any builtin
                    else:
                        self.aliases[a.asname or a.name] = f"{base}{a.name}"
        for stmt in tree.body:
            for name in bound_names(stmt):
                if name not in self.aliases:
                    self.module_bindings.add(name)

    def qualified(self, expr: ast.expr, local_names: frozenset[str] = frozenset()) -> str | None:
        """Dotted name of ``expr`` (``"functools.lru_cache"``), or None when not a plain name chain.

        ``local_names`` are names bound in the enclosing function, which shadow imports and
        builtins.
        """
        if isinstance(expr, ast.Name):
            name = expr.id
            if name in local_names:
                return None
            if name in self.aliases:
                return self.aliases[name]
            if name in BUILTIN_NAMES and name not in self.module_bindings and not self.star_import:
                return f"builtins.{name}"
            return None
        if isinstance(expr, ast.Attribute):
            base = self.qualified(expr.value, local_names)
            return f"{base}.{expr.attr}" if base else None
        return None


def bound_names(stmt: ast.stmt) -> list[str]:
    """Names a statement binds in its own scope (defs, classes, assignment targets)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        targets = [stmt.target]
    out = []
    for t in targets:
        for n in ast.walk(t):
            if isinstance(n, ast.Name):
                out.append(n.id)
    return out


def function_locals(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    """Names local to a function: parameters and names it assigns, minus ``global``/``nonlocal``.

    Names bound by an ``import`` inside the function are left out: :class:`Names` resolves them
    (``import smtplib`` in a function still makes ``smtplib.SMTP`` resolve).

    Nested functions and classes are not entered (their names are theirs), but the names they
    are bound to are local.
    """
    a = fn.args
    names = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    if a.vararg:
        names.add(a.vararg.arg)
    if a.kwarg:
        names.add(a.kwarg.arg)
    declared: set[str] = set()
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return frozenset(names - declared)


def module_dotted(path: str) -> str:
    """The dotted module name of a ``/``-separated path relative to the run's root
    (``"pkg/args.py"``: ``"pkg.args"``; ``"pkg/__init__.py"``: ``"pkg"``; ``"src/zarr/x.py"``:
    ``"src.zarr.x"``, which :func:`same_module` matches to ``zarr.x``). Only the trailing
    folders that are identifiers count: a file under ``../litellm-1.110.2/litellm/`` is in
    ``litellm``."""
    parts = path.split("/")
    last = parts[-1].rsplit(".", 1)[0]
    parts = parts[:-1] if last == "__init__" else parts[:-1] + [last]
    kept: list[str] = []
    for part in reversed(parts):
        if not part.isidentifier():
            break
        kept.append(part)
    return ".".join(reversed(kept))


def absolute_name(qualified: str, here: str, package: bool) -> str:
    """``qualified`` from :meth:`leakspot.python.parse.Names.qualified`, with a relative
    import (``".args.parse"``) made absolute from ``here``, the importing module's dotted name
    (a package's own when ``package``: its ``__init__.py``), as the language reference's
    import system resolves ``__package__`` (section 5.7, package relative imports)."""
    level = len(qualified) - len(qualified.lstrip("."))
    if not level:
        return qualified
    base = here.split(".") if here else []
    if not package:
        base = base[:-1]
    base = base[:len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + [qualified[level:]]) if base else qualified[level:]


def same_module(a: str, b: str) -> bool:
    """Do two dotted module names name the same module, one maybe seen from a folder above
    the package (``"src.zarr"`` and ``"zarr"``)?"""
    return a == b or a.endswith("." + b) or b.endswith("." + a)


@dataclass
class PythonModule:
    """A parsed Python file.

    Attributes:
        path: path relative to the run's root.
        source: decoded text.
        tree: the ``ast.Module``.
        names: the module's name resolver.
        lines: ``source`` split into lines (index 0 is line 1).
        parents: map from ``id(node)`` to its parent node.
        by_type: the nodes of each ast type.
    """

    path: str
    source: str
    tree: ast.Module
    names: Names
    lines: list[str]
    parents: dict[int, ast.AST] = field(default_factory=dict)
    by_type: dict[type, list[ast.AST]] = field(default_factory=dict)
    locals_cache: dict[int, frozenset[str]] = field(default_factory=dict)
    #: answers of :func:`~leakspot.python.checks.unbounded_module_cache.once_flag_guarded`, per
    #: ``if`` and per function
    guards_cache: dict = field(default_factory=dict)

    def nodes(self, *types: type) -> list[ast.AST]:
        """Every node of the given ast types, from the parse-time index."""
        out: list[ast.AST] = []
        for t in types:
            out.extend(self.by_type.get(t, ()))
        return out

    def parent(self, node: ast.AST) -> ast.AST | None:
        """The syntactic parent of ``node`` (None for the module)."""
        return self.parents.get(id(node))

    def locals_of(self, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
        """:func:`function_locals` of ``fn``, cached for every check of the file."""
        found = self.locals_cache.get(id(fn))
        if found is None:
            found = self.locals_cache[id(fn)] = function_locals(fn)
        return found

    def enclosing_function(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The innermost function whose body contains ``node``, or None. A function's
        decorators and return annotation are evaluated where the ``def`` runs, so they belong
        to the scope around it."""
        child, p = node, self.parent(node)
        while p is not None:
            if isinstance(p, FunctionNode) and not (
                    child in getattr(p, "decorator_list", ()) or child is getattr(p, "returns", None)):
                return p
            child, p = p, self.parent(p)
        return None


def parse_quietly(data: bytes, path: str) -> ast.Module:
    """``ast.parse`` without the compiler's warnings about the code read (``SyntaxWarning:
    invalid escape sequence`` from Python 3.12, ``'return' in a 'finally' block`` from 3.14),
    which would otherwise reach leakspot's stderr: they are the analysed project's, not ours.

    Raises:
        As :func:`ast.parse`: SyntaxError, ValueError, RecursionError.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(data, filename=path, type_comments=False)


def parse_python(path: str, data: bytes) -> PythonModule:
    """Parse a Python file's bytes (the PEP 263 coding cookie is honoured).

    Raises:
        SyntaxError: invalid syntax (``lineno`` set).
        ValueError: null bytes in the source.
        UnicodeDecodeError: bytes that do not decode.
        RecursionError: nesting too deep for the parser.
    """
    tree = parse_quietly(data, path)
    source = _decode(data)
    # one traversal: parent links and nodes by type (for the checks' dispatch and the imports)
    parents: dict[int, ast.AST] = {}
    by_type: dict[type, list[ast.AST]] = {}
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        by_type.setdefault(type(node), []).append(node)
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        parents[id(item)] = node
                        stack.append(item)
            elif isinstance(value, ast.AST):
                parents[id(value)] = node
                stack.append(value)
    imports = by_type.get(ast.Import, []) + by_type.get(ast.ImportFrom, [])
    # ast numbers lines at \n, \r\n and \r only (str.splitlines also splits at \f, \x1c...)
    lines = re.split(r"\r\n|\r|\n", source)
    module = PythonModule(path, source, tree, Names(tree, imports), lines, parents, by_type)
    return module


def _decode(data: bytes) -> str:
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding, errors="replace")
