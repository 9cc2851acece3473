"""Base classes in the project's own source: what a class inherits from a class in another module.

A rule that judges ``self.<attr>`` needs to know whether the object's class creates that
attribute, and the class that does is often a base class in another module (a Tk view whose
``TextFrame`` base builds ``self.text``). :class:`SourceFinder` finds the module-level class
that an import-qualified name (``thonny.tktextext.TextFrame``, ``.ui_utils.TreeFrame``) names,
by looking for its module's file on disk as Python's path-based finder would from the
importing file's package (PEP 328 for relative imports; an absolute name is looked for under
each folder from the importing file's up to the project's root, and its ``src/``). The file is
parsed, never imported or run. Modules of the standard library and of installed packages are
not looked for: only the project's own source is read.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Callable

from leakspot.python.parse import PythonModule, parse_python

#: Files over this size are not read for base classes (the run's own limit for analysed files).
MAX_BYTES = 8 * 1024 * 1024
#: How many re-exports (``from ._impl import Base`` in a package's ``__init__``) are followed.
MAX_HOPS = 4

#: ``owns(module, cls, attr)``: True when ``cls`` creates ``self.<attr>`` itself, False when it
#: sets it to something it does not create, None when it never sets it.
Owns = Callable[[PythonModule, ast.ClassDef, str], "bool | None"]
#: ``find(module, qualified)``: the class that an import-qualified name of ``module`` names.
Find = Callable[[PythonModule, str], "tuple[PythonModule, ast.ClassDef] | None"]


def module_class(module: PythonModule, name: str) -> ast.ClassDef | None:
    """The class defined at the top level of ``module`` under ``name`` (the last such
    definition, as at run time), or None."""
    found = None
    for stmt in module.tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == name:
            found = stmt
    return found


def based_on(qualified: frozenset[str]) -> Owns:
    """An :data:`Owns` that asks, whatever the attribute, whether a class has a base named one
    of ``qualified`` (import-qualified, ``"pydantic.BaseModel"``; ``RootModel[int]`` counts as
    ``RootModel``): True when one of its own bases is, None to go on with its bases."""
    def owns(module: PythonModule, cls: ast.ClassDef, attr: str) -> bool | None:
        for base in cls.bases:
            node = base.value if isinstance(base, ast.Subscript) else base
            if module.names.qualified(node) in qualified:
                return True
        return None
    return owns


def search_bases(module: PythonModule, cls: ast.ClassDef, attr: str, owns: Owns, find: Find | None = None,
                 seen: set | None = None) -> tuple[bool, tuple[str, ...]]:
    """Does a base class of ``cls`` (transitively) create ``self.<attr>``?

    Bases written as a plain name of a class defined in the same module are followed there;
    imported ones through ``find`` when it is given, else they are returned as deferred, for
    a later search with the project's files (:meth:`SourceFinder.inherited`). A base that sets the
    attribute to something it does not create ends its chain; one that never sets it is
    searched in turn. Bases that are not names (``Generic[T]``, calls) and those of the
    standard library are skipped.

    Returns:
        ``(owned, deferred)``: owned is True when some base creates the attribute; deferred
        holds the import-qualified names (``"pkg.views.TextFrame"``, ``".ui.TreeFrame"``) of
        bases not followed, when ``find`` is None.
    """
    seen = set() if seen is None else seen
    deferred: list[str] = []
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id not in module.names.aliases:
            local = module_class(module, base.id)
            target = (module, local) if local is not None else None
        else:
            q = module.names.qualified(base)
            if not q or not _maybe_project(q):
                continue
            if find is None:
                deferred.append(q)
                continue
            target = find(module, q)
        if target is not None:
            owned, more = _creates_or_inherits(target, attr, owns, find, seen)
            if owned:
                return True, ()
            deferred.extend(more)
    return False, tuple(deferred)


def _creates_or_inherits(target: tuple[PythonModule, ast.ClassDef], attr: str, owns: Owns, find: Find | None,
                         seen: set) -> tuple[bool, tuple[str, ...]]:
    """:func:`search_bases` for one class: does it create ``self.<attr>``, or, when it never
    sets it, one of its own bases? Each class is judged once per search (``seen``)."""
    module, cls = target
    if (module.path, cls.name) in seen:
        return False, ()
    seen.add((module.path, cls.name))
    verdict = owns(module, cls, attr)
    if verdict is None:
        return search_bases(module, cls, attr, owns, find, seen)
    return bool(verdict), ()


def _maybe_project(qualified: str) -> bool:
    """Can an import-qualified name be of the project's own source: not a builtin nor of
    the standard library?"""
    return not qualified.startswith("builtins.") and qualified.lstrip(".") != "" and (
        qualified.startswith(".") or qualified.split(".")[0] not in sys.stdlib_module_names)


class SourceFinder:
    """Finds and parses the project's modules that define base classes, with a cache.

    Args:
        top: the project's root folder (the run's root, or the nearest folder above it with
            ``.git``, ``pyproject.toml`` or ``leakspot.toml``): absolute module names are looked
            for no higher than this.
    """

    def __init__(self, top: Path) -> None:
        self.top = top.resolve()
        self.modules: dict[Path, PythonModule | None] = {}

    def load(self, path: Path) -> PythonModule | None:
        """The parsed module at ``path`` (its ``path`` attribute is the absolute path), or None
        when it cannot be read or parsed."""
        path = path.resolve()
        if path not in self.modules:
            try:
                data = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
                self.modules[path] = parse_python(str(path), data) if data is not None else None
            except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
                self.modules[path] = None
        return self.modules[path]

    def inherited(self, importer: Path, bases: tuple[str, ...], attr: str, owns: Owns) -> bool:
        """Does one of ``bases`` (import-qualified names in the file ``importer``, as
        :func:`search_bases` defers them) create ``self.<attr>``, itself or through its own
        bases?"""
        seen: set = set()
        for q in bases:
            found = self.find_class(importer, q)
            if found is not None and _creates_or_inherits(found, attr, owns, self.find, seen)[0]:
                return True
        return False

    def find(self, module: PythonModule, qualified: str) -> tuple[PythonModule, ast.ClassDef] | None:
        """:data:`Find` for a module loaded from disk (``module.path`` is its file)."""
        return self.find_class(Path(module.path), qualified)

    def find_class(self, importer: Path, qualified: str, hops: int = 0) -> tuple[PythonModule, ast.ClassDef] | None:
        """The module-level class that ``qualified``, an import-qualified name in the file
        ``importer`` (``"a.b.C"``, or ``"..b.C"`` for ``from ..b import C``), names; None when
        its module is not in the project's source or defines no such class. A name the module
        only imports (a package's ``__init__`` re-exporting it) is followed up to
        :data:`MAX_HOPS` times."""
        level = len(qualified) - len(qualified.lstrip("."))
        parts = qualified[level:].split(".")
        if not parts[-1] or not _maybe_project(qualified) or (level == 0 and len(parts) < 2):
            return None
        package, name = parts[:-1], parts[-1]
        for folder in self._folders(importer.resolve(), level):
            for candidate in (folder.joinpath(*package).with_suffix(".py") if package else None,
                              folder.joinpath(*package, "__init__.py")):
                if candidate is None or not candidate.is_file():
                    continue
                module = self.load(candidate)
                if module is None:
                    return None
                cls = module_class(module, name)
                if cls is not None:
                    return module, cls
                again = module.names.aliases.get(name)
                if again and again != qualified and hops < MAX_HOPS:
                    return self.find_class(candidate, again, hops + 1)
                return None
        return None

    def _folders(self, importer: Path, level: int) -> list[Path]:
        """Where a module of the name is looked for: for a relative import, the importing
        file's package ``level - 1`` folders up; else each folder from the importing file's
        up to :attr:`top` (at most 8 when the file is outside it), and ``top/src``."""
        here = importer.parent
        if level:
            for _ in range(level - 1):
                here = here.parent
            return [here]
        out = []
        for folder in (here, *here.parents):
            out.append(folder)
            if folder == self.top or len(out) >= 8:
                break
        if self.top in out:
            out.append(self.top / "src")
        return out
