"""[tool.leakspot] in pyproject.toml and leakspot.toml, as a user writes them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers import LEAKY_PY, run




def findings(r: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    return [(f["path"], f["slug"]) for f in json.loads(r.stdout)["findings"]]


def test_pyproject_select_ignore_per_file_ignores_and_exclude(tmp_path: Path) -> None:
    for d in ("src", "tests", "generated"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "m.py").write_text(LEAKY_PY)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.leakspot]\nexclude = ["generated/"]\n\n'
        '[tool.leakspot.per-file-ignores]\n"tests/**" = ["open-without-close"]\n')
    r = run("check", ".", "--format", "json", cwd=tmp_path)
    assert findings(r) == [("src/m.py", "open-without-close")]
    # from a sub-folder the nearest configuration above is found
    r = run("check", ".", "--format", "json", cwd=tmp_path / "tests")
    assert findings(r) == []
    assert run("check", ".", "--isolated", cwd=tmp_path / "tests").returncode == 1


CACHE_PY = "_seen = {}\n\n\ndef remember(obj):\n    _seen[id(obj)] = obj\n"


def test_extend_select_adds_a_rule_that_is_off_by_default(tmp_path: Path) -> None:
    for d in ("src", "legacy"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "cache.py").write_text(CACHE_PY)
    assert findings(run("check", ".", "--format", "json", cwd=tmp_path)) == []
    (tmp_path / "leakspot.toml").write_text(
        'extend-select = ["unbounded-module-cache"]\n\n[per-file-ignores]\n"legacy/**" = ["LK1"]\n')
    # a prefix in per-file-ignores covers the rule selected by name
    assert findings(run("check", ".", "--format", "json", cwd=tmp_path)) == [("src/cache.py", "unbounded-module-cache")]
    # --select replaces the configuration's `select`; its prefix does not bring LK101 in, the
    # configuration's `extend-select` still does
    assert findings(run("check", ".", "--select", "LK1", "--format", "json", cwd=tmp_path)) == [
        ("src/cache.py", "unbounded-module-cache")]
    assert findings(run("check", ".", "--ignore", "LK101", "--format", "json", cwd=tmp_path)) == []
    (tmp_path / "leakspot.toml").write_text('extend-select = ["no-such-rule"]\n')
    bad = run("check", ".", cwd=tmp_path)
    assert bad.returncode == 2 and "extend-select" in bad.stderr and "no-such-rule" in bad.stderr


def test_leakspot_toml_rule_options_and_allocators(tmp_path: Path) -> None:
    (tmp_path / "leakspot.toml").write_text(
        'ignore = ["LK102"]\nfail-on = "warning"\n\n'
        '[rules.open-without-close]\nextra-openers = ["store.open_blob"]\n\n'
        '[rules.listener-never-removed]\nextra-registrars = ["watch:unwatch", "hooks.install:"]\n\n'
        '[c.allocators]\narena_alloc = "arena_free"\n')
    (tmp_path / "m.py").write_text("import store\n\ndef f(k):\n    b = store.open_blob(k)\n    return b.read()\n")
    (tmp_path / "w.py").write_text("import hooks\nfeed = object()\n\nclass View:\n    def __init__(self):\n"
                                   "        feed.watch(self.show)\n        hooks.install(self.show)\n\n"
                                   "    def show(self):\n        pass\n")
    (tmp_path / "a.c").write_text("void f(void) {\n    char *p = arena_alloc(8);\n    p[0] = 1;\n}\n"
                                  "void g(void) {\n    char *p = arena_alloc(8);\n    arena_free(p);\n}\n")
    r = run("check", ".", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    assert findings(r) == [("a.c", "malloc-without-free"), ("m.py", "open-without-close"),
                           ("w.py", "listener-never-removed"), ("w.py", "listener-never-removed")]


def test_unknown_keys_and_bad_values_are_errors(tmp_path: Path) -> None:
    cases = {
        "[tool.leakspot]\nselekt = [\"LK1\"]\n": "unknown key(s) selekt",
        "[tool.leakspot]\nselect = \"LK1\"\n": "`select` must be a list of strings",
        "[tool.leakspot]\nignore = [\"no-such-rule\"]\n": "no-such-rule",
        "[tool.leakspot.rules.open-without-close]\nextra = [\"x\"]\n": "unknown option(s) extra",
        "[tool.leakspot]\nfail-on = \"sometimes\"\n": "`fail-on` must be one of",
        "[tool.leakspot]\nexternal-suppressions = \"no\"\n": "`external-suppressions` must be true or false",
        "[tool.leakspot\n": "pyproject.toml",
    }
    for text, message in cases.items():
        (tmp_path / "pyproject.toml").write_text(text)
        (tmp_path / "leakspot.toml").unlink(missing_ok=True)
        r = run("check", ".", "--config", "pyproject.toml", cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr, (text, r.stderr)


def test_config_exclude_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "gen").mkdir(parents=True)
    (tmp_path / "pkg" / "gen" / "m.py").write_text(LEAKY_PY)
    (tmp_path / "pkg" / "m.py").write_text(LEAKY_PY)
    (tmp_path / "pyproject.toml").write_text('[tool.leakspot]\nexclude = ["/pkg/gen/"]\n')
    # run from a sub-folder: the anchored pattern still means <config folder>/pkg/gen
    r = run("check", ".", "--format", "json", cwd=tmp_path / "pkg")
    assert findings(r) == [("m.py", "open-without-close")]
    r = run("check", "gen/m.py", cwd=tmp_path / "pkg")
    assert r.returncode == 0


def test_other_linters_suppressions_can_be_turned_off(tmp_path: Path) -> None:
    """`# noqa: SIM115` and a bare `# noqa` silence ours by default; not with
    `external-suppressions = false`, where only `leakspot: ignore` does."""
    (tmp_path / "m.py").write_text(
        "def head(p):\n    fh = open(p)  # noqa: SIM115\n    return fh.readline()\n\n\n"
        "def tail(p):\n    fh = open(p)  # noqa\n    return fh.readlines()[-1]\n\n\n"
        "def size(p):\n    fh = open(p)  # leakspot: ignore[open-without-close] -- closed by the caller's GC\n"
        "    return len(fh.read())\n")
    (tmp_path / "pyproject.toml").write_text('[tool.leakspot]\n')
    assert findings(run("check", ".", "--format", "json", cwd=tmp_path)) == []
    (tmp_path / "pyproject.toml").write_text('[tool.leakspot]\nexternal-suppressions = false\n')
    r = run("check", ".", "--format", "json", cwd=tmp_path)
    assert [(f["slug"], f["line"]) for f in json.loads(r.stdout)["findings"]] == [
        ("open-without-close", 2), ("open-without-close", 7)]
