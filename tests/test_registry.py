"""Rule documents and checks pair 1:1; documents are well formed."""

from __future__ import annotations

import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from leakspot.c.checks import C_CHECKS
from leakspot.c.checks import _load_all as load_c
from leakspot.c.parse import families
from leakspot.python.checks import PYTHON_CHECKS
from leakspot.python.checks import _load_all as load_python
from leakspot.registry import load_rules, rules_dir, select_rules


def test_documents_and_checks_pair_one_to_one() -> None:
    load_python()
    load_c()
    from leakspot.runtime.matcher import RUNTIME_RULES
    from leakspot.suppression import META_RULES

    implemented = set(PYTHON_CHECKS) | set(C_CHECKS) | META_RULES | RUNTIME_RULES
    documented = {r.code for r in load_rules()}
    assert implemented == documented


def test_document_names_codes_and_sections() -> None:
    retired_path = rules_dir() / "retired.toml"
    retired = tomllib.loads(retired_path.read_text()) if retired_path.exists() else {}
    for r in load_rules():
        assert r.path.stem == r.slug, r.path
        folder = "leakspot" if r.code.startswith("LK9") else r.languages[0]
        assert r.path.parent.name == folder
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.slug) and not r.slug.startswith(("no-", "avoid-"))
        assert r.code.startswith({"python": "LK1", "c": "LK2", "leakspot": "LK9"}[folder])
        assert r.code not in retired.get("codes", {})
        assert "{" not in r.summary
        assert any(e.kind == "bad" for e in r.examples) and any(e.kind == "good" for e in r.examples)
        assert r.cwe or folder == "leakspot", f"{r.slug} names no CWE"


def test_c_families_name_existing_rules() -> None:
    from leakspot.c.checks import C_SYNTAX_CHECKS

    load_c()
    family_rules = {slug for code, slug in C_CHECKS.items() if code not in C_SYNTAX_CHECKS}
    family_rules -= {"mismatched-deallocator", "pointer-overwritten-before-free"}  # across all families
    assert {f.rule for f in families()} == family_rules


def test_select_and_ignore() -> None:
    # LK101 is off by default: a prefix leaves it out, its code or slug brings it in
    assert select_rules(["LK1"], None) == {"LK102", "LK103", "LK104", "LK105", "LK106", "LK107", "LK108"}
    assert select_rules(None, ["open-without-close", "LK2", "LK9"]) == {"LK102", "LK104", "LK105", "LK106", "LK107", "LK108"}
    assert select_rules(["LK1", "LK101"], None) == select_rules(["LK1"], None) | {"LK101"}
    assert select_rules(["unbounded-module-cache"], None) == {"LK101"}
    assert select_rules(["lk101"], None) == {"LK101"}
    assert select_rules(None, None, ["LK101"]) == select_rules(None, None) | {"LK101"}
    assert select_rules(["LK2"], ["LK101"], ["LK101"]) == select_rules(["LK2"], None)  # ignore wins
    assert "LK101" not in select_rules(None, None)
    try:
        select_rules(["nonsense"], None)
    except ValueError as exc:
        assert "nonsense" in str(exc)
    else:
        raise AssertionError("unknown rule accepted")


def test_readme_rules_table_is_generated() -> None:
    from pathlib import Path

    from leakspot.docs import update_readme

    readme = Path(__file__).resolve().parent.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert update_readme(text) == text, "run `python -m leakspot.docs`"
