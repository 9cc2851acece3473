"""File discovery: which files under the given paths are analysed, and in which language.

Directories are walked honouring every ``.gitignore`` met on the way (matched with
``pathspec``'s implementation of git's wildmatch rules), ``--exclude`` globs, and default
excludes (VCS folders, virtualenvs, caches, build output). A file named explicitly on the
command line is always analysed when its language is known, as pre-commit expects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

LANGUAGES = {".py": "python", ".pyi": "python", ".c": "c", ".h": "c"}
DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", "__pycache__",
    "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".eggs", "*.egg-info",
    "build", "dist", "site-packages", "__pypackages__",
    ".pc",  # quilt's copies of files before their patches (Debian source trees)
)


class PatternError(ValueError):
    """An exclude pattern that is not a valid gitignore pattern (a lone ``!`` or ``\\``); the
    message names the pattern and where it was given."""


def compile_patterns(lines, where: str = "--exclude") -> pathspec.GitIgnoreSpec:
    """A gitignore matcher for ``lines`` (patterns a user gave: ``--exclude``, a configuration's
    ``exclude`` or ``per-file-ignores``).

    Raises:
        PatternError: a pattern git's rules cannot read; ``where`` says where it came from.
    """
    lines = list(lines)
    bad = next((line for line in lines if not _readable(line)), None)
    if bad is not None:
        raise PatternError(f"{where}: {bad!r} is not a valid gitignore pattern")
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _readable(line: str) -> bool:
    """Can ``pathspec`` read this one gitignore line?"""
    try:
        pathspec.GitIgnoreSpec.from_lines([line])
    except ValueError:
        return False
    return True


def _lenient_spec(lines: list[str]) -> pathspec.GitIgnoreSpec:
    """A matcher for a ``.gitignore`` file's lines that skips those ``pathspec`` cannot read, as
    git does (a lone ``!`` negates nothing and matches nothing): a project's own ignore file
    never stops a run."""
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:
        return pathspec.GitIgnoreSpec.from_lines([line for line in lines if _readable(line)])


@dataclass(frozen=True, order=True)
class SourceFile:
    """A file to analyse: absolute ``path``, ``display`` path relative to the root with ``/``
    separators, and ``language`` (``"python"`` or ``"c"``)."""

    display: str
    path: Path
    language: str


def language_of(path: Path) -> str | None:
    """``"python"``, ``"c"`` or None, from the file's extension."""
    return LANGUAGES.get(path.suffix.lower())


def discover(
    paths: list[Path], root: Path, exclude: list[str] | None = None,
    anchored: list[tuple[Path, list[str]]] | None = None, limit: int = 0,
) -> tuple[list[SourceFile], list[str]]:
    """Files to analyse under ``paths``, sorted, and the paths that do not exist.

    Args:
        paths: files or directories named by the user.
        root: the directory findings are reported relative to (usually the cwd).
        exclude: extra gitignore-style patterns, matched relative to ``root``.
        anchored: more patterns, each list matched relative to its own folder (a configuration
            file's ``exclude``, relative to the file).
        limit: when more than 0, stop walking directories once this many files are found.
    """
    extra = [(base.resolve(), pathspec.GitIgnoreSpec.from_lines(pats)) for base, pats in anchored or [] if pats]
    user = pathspec.GitIgnoreSpec.from_lines(exclude or [])
    defaults = pathspec.GitIgnoreSpec.from_lines(DEFAULT_EXCLUDES)
    found: dict[Path, SourceFile] = {}
    missing: list[str] = []
    for given in paths:
        p = given if given.is_absolute() else (Path.cwd() / given)
        if p.is_file():
            lang = language_of(p)
            rel = _display(p, root)
            if lang and not user.match_file(rel) and not _ignored(p.resolve(), False, extra):
                found[p.resolve()] = SourceFile(rel, p, lang)
        elif p.is_dir():
            for f in _walk(p, root, user, defaults, extra):
                found[f.path] = f  # resolved already (:func:`_walk_dir`)
                if limit and len(found) >= limit:
                    break
        else:
            missing.append(str(given))
    return sorted(found.values()), missing


def _display(p: Path, root: Path) -> str:
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(p.resolve(), root.resolve())).as_posix()


def _relative(path: str, root: Path) -> str:
    """``path`` (resolved) relative to the resolved ``root``, with ``/`` separators."""
    base = str(root)
    if path.startswith(base) and len(path) > len(base) and path[len(base)] == os.sep:
        rel = path[len(base) + 1:]
        return rel if os.sep == "/" else rel.replace(os.sep, "/")
    return Path(os.path.relpath(path, base)).as_posix()


def _walk(top: Path, root: Path, user, defaults, extra=()):
    ignores: list[tuple[Path, pathspec.GitIgnoreSpec]] = []
    # .gitignore files above the walked folder count only up to the enclosing git work tree
    parents = list(top.resolve().parents)
    repo = next((i for i, p in enumerate(parents) if (p / ".git").exists()), None)
    if repo is not None:
        for parent in reversed(parents[: repo + 1]):
            spec = _gitignore(parent)
            if spec:
                ignores.append((parent, spec))
    # a folder named explicitly is checked even if git ignores it (like a file named explicitly)
    if _ignored(top.resolve(), True, ignores):
        ignores = []
    yield from _walk_dir(top.resolve(), root.resolve(), user, defaults, ignores + list(extra))


def _gitignore(directory: Path) -> pathspec.GitIgnoreSpec | None:
    f = directory / ".gitignore"
    try:
        return _lenient_spec(f.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return None


def _ignored(path: Path, is_dir: bool, ignores) -> bool:
    for base, spec in ignores:
        try:
            rel = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        except ValueError:
            continue  # not below this pattern file's folder
        if spec.match_file(rel):
            return True
    return False


def _walk_dir(d: Path, root: Path, user, defaults, ignores):
    """The files under ``d`` (resolved, as ``root`` is): entries below a resolved folder that are
    not symlinks are resolved paths already, so their display path is a slice of the text."""
    spec = _gitignore(d)
    if spec:
        ignores = ignores + [(d, spec)]
    try:
        entries = sorted(os.scandir(d), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        is_dir = e.is_dir(follow_symlinks=False)
        if e.is_symlink():
            continue
        lang = None if is_dir else LANGUAGES.get(os.path.splitext(e.name)[1].lower())
        if not is_dir and lang is None:
            continue  # not a language of ours: no need to ask the ignore patterns
        p = Path(e.path)
        rel = _relative(e.path, root)
        if defaults.match_file(e.name + ("/" if is_dir else "")) or user.match_file(rel + ("/" if is_dir else "")):
            continue
        if _ignored(p, is_dir, ignores):
            continue
        if is_dir:
            if (p / "pyvenv.cfg").exists():
                continue  # a virtualenv under another name
            yield from _walk_dir(p, root, user, defaults, ignores)
        else:
            yield SourceFile(rel, p, lang)
