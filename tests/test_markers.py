"""One parametrized test over every fixture file and every code block of every rule document."""

from __future__ import annotations

from pathlib import Path

import pytest
from markers import compare, parse_markers

from leakspot.config import Settings
from leakspot.engine import analyze_source, run
from leakspot.registry import load_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix in (".py", ".c", ".h"))
ALL_CODES = frozenset(r.code for r in load_rules())
LANG = {".py": "python", ".c": "c", ".h": "c", "python": "python", "c": "c"}


def _check(display: str, source: str, language: str) -> tuple[list, list[str]]:
    out = analyze_source(display, source.encode(), language, ALL_CODES)
    findings, notes = out.findings, out.notifications
    assert not [n for n in notes if n.level == "error"], notes
    return findings, compare(parse_markers(source), [(f.location.region.start_line, f.slug, f.message) for f in findings])


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_fixture(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    markers = parse_markers(source)
    assert markers, f"{path} has no markers"
    if "project" in path.relative_to(ROOT).parts:
        # a multi-file project: analysed as one run, so that facts cross files (C wrappers);
        # its project, for the files the run does not check, is the fixture's `project/` folder,
        # also the run's root: a subpackage's modules keep their dotted names (`tracer.shared`)
        project = next(p for p in path.parents if p.name == "project")
        result = run([path.parent], set(ALL_CODES), root=project, jobs=1, settings=Settings(), project=project)
        findings = [(f.location.region.start_line, f.slug, f.message) for f in result.findings
                    if f.location.path == path.relative_to(project).as_posix()]
        problems = compare(markers, findings)
    else:
        # the path under fixtures/<language>/, so that directories such as examples/ count
        _, problems = _check(path.relative_to(ROOT / "fixtures" / path.relative_to(ROOT).parts[1]).as_posix(),
                             source, LANG[path.suffix])
    assert not problems, "\n".join(problems)


# code blocks in Python or C are executed; others (a trace's analysis) only illustrate
EXAMPLES = [(r, i, ex) for r in load_rules() for i, ex in enumerate(r.examples) if ex.language in LANG]


@pytest.mark.parametrize("rule,index,example", EXAMPLES, ids=[f"{r.slug}-{ex.kind}{i}" for r, i, ex in EXAMPLES])
def test_rule_example(rule, index, example) -> None:
    findings, problems = _check(f"{rule.slug}.example", example.code, LANG[example.language])
    assert not problems, f"{rule.path}:{example.line}:\n" + "\n".join(problems)
    if example.kind == "bad":
        assert any(f.slug == rule.slug for f in findings), f"{rule.path}:{example.line}: Bad example finds nothing"
    else:
        assert not findings, f"{rule.path}:{example.line}: Good example has findings: {[f.message for f in findings]}"


def test_markers_resolve_to_next_code_line() -> None:
    src = "x = 1\n# expect: a\n# ok: b\n\ny = 2  # expect: c \"frag\"\n"
    got = {(m.kind, m.slug, m.line, m.fragment) for m in parse_markers(src)}
    assert got == {("expect", "a", 5, ""), ("ok", "b", 5, ""), ("expect", "c", 5, "frag")}


def test_compare_reports_unmarked_and_unmatched() -> None:
    problems = compare(parse_markers("a = 1  # expect: x\nb = 2\n"), [(2, "y", "msg")])
    assert any("expected x" in p for p in problems)
    assert any("unmarked finding y" in p for p in problems)
