"""Generate the README's rules table from the rule documents.

``python -m leakspot.docs`` rewrites the text between ``<!-- rules:start -->`` and
``<!-- rules:end -->`` in README.md; ``python -m leakspot.docs --check`` exits 1 when the
README is out of date (the tests run it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from leakspot.registry import load_rules

START, END = "<!-- rules:start -->", "<!-- rules:end -->"


def rules_table() -> str:
    """The Markdown table of all rules, one row per rule, sorted by code."""
    rows = ["| Code | Rule | Language | Severity | CWE | What it finds |", "|---|---|---|---|---|---|"]
    for r in load_rules():
        cwe = ", ".join(f"CWE-{c}" for c in r.cwe)
        rows.append(f"| {r.code} | [`{r.slug}`](rules/{r.folder}/{r.slug}.md) | {', '.join(r.languages)} "
                    f"| {r.severity} | {cwe} | {r.summary}{'' if r.default_enabled else ' (off by default)'} |")
    return "\n".join(rows)


def update_readme(text: str) -> str:
    """``text`` with the rules table replaced.

    Raises:
        ValueError: when the start/end markers are missing.
    """
    if START not in text or END not in text:
        raise ValueError(f"README lacks {START} / {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{rules_table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check``, verify) README.md in the current directory."""
    argv = sys.argv[1:] if argv is None else argv
    readme = Path("README.md")
    old = readme.read_text(encoding="utf-8")
    new = update_readme(old)
    if "--check" in argv:
        if new != old:
            print("README.md rules table is out of date: run `python -m leakspot.docs`", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
