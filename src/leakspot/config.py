"""Configuration: ``[tool.leakspot]`` in ``pyproject.toml``, or a ``leakspot.toml``.

The nearest ``leakspot.toml`` (top-level keys) or ``pyproject.toml`` with a ``[tool.leakspot]``
table, searching from the run's root upwards, is used; command-line options override it::

    [tool.leakspot]
    select = ["LK1", "LK2"]                 # codes, code prefixes or slugs (default: the
                                            # rules on by default; a prefix adds no rule that
                                            # is off by default, its exact code or slug does)
    extend-select = ["unbounded-module-cache"]   # added to the selection
    ignore = ["lru-cache-on-method"]
    exclude = ["generated/"]                # gitignore-style, relative to the config file
                                            # (also for files named on the command line)
    fail-on = "warning"                     # error | warning | note
    external-suppressions = true            # other linters' `# noqa: B019`, bare `# noqa`,
                                            # `# pylint: disable=consider-using-with` count

    [tool.leakspot.per-file-ignores]
    "tests/**" = ["open-without-close"]

    [tool.leakspot.rules.open-without-close]
    extra-openers = ["myproj.storage.open_blob"]

    [tool.leakspot.rules.lru-cache-on-method]
    extra-cache-decorators = ["cachetools.func.ttl_cache"]

    [tool.leakspot.c.allocators]
    arena_alloc = "arena_free"              # allocator = its deallocator (memory family)

Unknown keys and values of the wrong type are errors (:class:`ConfigError`), never ignored.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from leakspot.discover import PatternError, compile_patterns
from leakspot.registry import find_rule, match_rules, select_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = {"select", "extend-select", "ignore", "exclude", "fail-on", "per-file-ignores", "rules", "c",
            "external-suppressions"}
RULE_OPTIONS = {
    "open-without-close": {"extra-openers"},
    "resource-without-release": {"extra-acquirers"},
    "lru-cache-on-method": {"extra-cache-decorators"},
    "listener-never-removed": {"extra-registrars"},
}
FAIL_ON = ("error", "warning", "note")


class ConfigError(ValueError):
    """The configuration file is malformed: bad TOML, unknown key, wrong type, unknown rule."""


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one run; picklable, so workers of the process pool get them.

    Attributes:
        path: the file they were read from, or None for the defaults.
        select, extend_select, ignore: rule selectors (codes, prefixes, slugs), or None.
        exclude: gitignore-style patterns relative to ``base``.
        fail_on: the lowest severity that fails the run.
        per_file_ignores: (glob pattern, codes) pairs, patterns relative to ``base``.
        rule_options: ``{slug: {option: value}}``.
        allocators: extra C allocator -> deallocator pairs (memory family).
        base: directory of the configuration file (patterns are relative to it).
        external_suppressions: other linters' suppressions of the same finding (``# noqa:
            B019``, a bare ``# noqa``, ``# pylint: disable=consider-using-with``) silence ours.
    """

    path: Path | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    fail_on: str = "note"
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    rule_options: dict = field(default_factory=dict, hash=False)
    allocators: tuple[tuple[str, str], ...] = ()
    base: Path = Path(".")
    external_suppressions: bool = True
    #: C facts of the whole run (a :class:`leakspot.c.checks.CProject`: wrapper summaries,
    #: constants, borrowing functions), filled by the engine from every C file before the files
    #: are analysed one by one; None when no such pass ran (one file alone: its own facts are
    #: found then)
    c_project: object | None = field(default=None, hash=False, compare=False)

    def enabled_codes(self, select: list[str] | None = None, extend: list[str] | None = None,
                      ignore: list[str] | None = None) -> set[str]:
        """Codes a run checks: the command line's ``select`` replaces the configuration's, its
        ``extend`` and ``ignore`` add to the configuration's (see :func:`select_rules`).

        Raises:
            ValueError: for an item that names no rule.
        """
        chosen = select or (list(self.select) if self.select is not None else None)
        return select_rules(chosen, list(self.ignore or ()) + list(ignore or ()) or None,
                            list(self.extend_select or ()) + list(extend or ()) or None)

    def option(self, slug: str, name: str, default=()):
        """A per-rule option's value (``default`` when unset)."""
        return self.rule_options.get(slug, {}).get(name, default)

    def ignored_for(self, display: str, root: Path) -> frozenset[str]:
        """Codes that ``per-file-ignores`` turns off for the file ``display`` (relative to ``root``)."""
        if not self.per_file_ignores:
            return frozenset()
        try:
            rel = (root / display).resolve().relative_to(self.base.resolve()).as_posix()
        except ValueError:
            rel = display
        out: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if pathspec.GitIgnoreSpec.from_lines([pattern]).match_file(rel):
                out |= codes
        return frozenset(out)


DEFAULT = Settings()


def find_config(start: Path) -> Path | None:
    """The nearest ``leakspot.toml``, or ``pyproject.toml`` with ``[tool.leakspot]``, at or above ``start``."""
    start = start.resolve()
    for d in [start, *start.parents]:
        own = d / "leakspot.toml"
        if own.is_file():
            return own
        pyproject = d / "pyproject.toml"
        if pyproject.is_file():
            try:
                if "leakspot" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}):
                    return pyproject
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                continue
    return None


def load_settings(path: Path | None) -> Settings:
    """Read and validate a configuration file (None: the defaults).

    Raises:
        ConfigError: malformed TOML, unknown keys, wrong types, unknown rules.
    """
    if path is None:
        return DEFAULT
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    table = doc.get("tool", {}).get("leakspot", {}) if path.name == "pyproject.toml" else doc
    where = f"{path}: [tool.leakspot]" if path.name == "pyproject.toml" else str(path)

    def fail(msg: str):
        raise ConfigError(f"{where}: {msg}")

    unknown = set(table) - TOP_KEYS
    if unknown:
        fail(f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(TOP_KEYS))})")

    def str_list(value, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            fail(f"`{key}` must be a list of strings")
        return tuple(value)

    def rules(items: tuple[str, ...], key: str) -> tuple[str, ...]:
        try:
            select_rules(list(items), None)
        except ValueError as exc:
            fail(f"`{key}`: {exc}")
        return items

    select = rules(str_list(table["select"], "select"), "select") if "select" in table else None
    extend = (rules(str_list(table["extend-select"], "extend-select"), "extend-select")
              if "extend-select" in table else None)
    ignore = rules(str_list(table["ignore"], "ignore"), "ignore") if "ignore" in table else None
    exclude = str_list(table.get("exclude", []), "exclude")
    try:
        compile_patterns(exclude, "`exclude`")
    except PatternError as exc:
        fail(str(exc))
    fail_on = table.get("fail-on", "note")
    if fail_on not in FAIL_ON:
        fail(f"`fail-on` must be one of {', '.join(FAIL_ON)}")
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        fail("`per-file-ignores` must be a table of glob = [rules]")
    per_file = []
    for pattern, items in pfi.items():
        try:
            compile_patterns([pattern], "`per-file-ignores`")
        except PatternError as exc:
            fail(str(exc))
        codes = set().union(*(match_rules(i) for i in rules(str_list(items, f"per-file-ignores.{pattern}"), pattern)))
        per_file.append((pattern, frozenset(codes)))
    options: dict[str, dict] = {}
    for slug, opts in table.get("rules", {}).items():
        rule = find_rule(slug)
        if rule is None:
            fail(f"`rules.{slug}`: no such rule")
        allowed = RULE_OPTIONS.get(rule.slug, set())
        if not isinstance(opts, dict) or set(opts) - allowed:
            bad = sorted(set(opts) - allowed) if isinstance(opts, dict) else [str(opts)]
            fail(f"`rules.{slug}`: unknown option(s) {', '.join(bad)}"
                 + (f" (known: {', '.join(sorted(allowed))})" if allowed else " (this rule has no options)"))
        options[rule.slug] = {k: str_list(v, f"rules.{slug}.{k}") for k, v in opts.items()}
    external = table.get("external-suppressions", True)
    if not isinstance(external, bool):
        fail("`external-suppressions` must be true or false")
    c = table.get("c", {})
    if not isinstance(c, dict) or set(c) - {"allocators"}:
        fail("`c` accepts only `allocators`")
    allocators = c.get("allocators", {})
    if not isinstance(allocators, dict) or not all(isinstance(v, str) for v in allocators.values()):
        fail("`c.allocators` must map allocator names to deallocator names")
    return Settings(
        path=path, select=select, extend_select=extend, ignore=ignore, exclude=exclude, fail_on=fail_on,
        per_file_ignores=tuple(per_file), rule_options=options,
        allocators=tuple(sorted(allocators.items())), base=path.parent, external_suppressions=external,
    )
