"""Bad input never crashes the analysis: random and mutated sources give findings or
notifications, never an exception or an internal error."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from leakspot.engine import analyze_source
from leakspot.registry import load_rules

ROOT = Path(__file__).resolve().parent.parent
CODES = frozenset(r.code for r in load_rules())
SOURCES = sorted(p for p in (ROOT / "fixtures").rglob("*") if p.suffix in (".py", ".c"))


def mutations(data: bytes, rng: random.Random, n: int):
    """Truncations, deleted and duplicated slices, and random bytes of a real source."""
    for _ in range(n):
        kind = rng.randrange(4)
        i, j = sorted(rng.randrange(len(data) + 1) for _ in range(2))
        if kind == 0:
            yield data[:i]
        elif kind == 1:
            yield data[:i] + data[j:]
        elif kind == 2:
            yield data[:j] + data[i:j] + data[j:]
        else:
            yield data[:i] + bytes(rng.randrange(256) for _ in range(8)) + data[i:]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_mutated_sources_never_crash(path: Path) -> None:
    rng = random.Random(path.name)
    data = path.read_bytes()
    language = "python" if path.suffix == ".py" else "c"
    for mutant in mutations(data, rng, 25):
        result = analyze_source(path.name, mutant, language, CODES)
        assert not [n for n in result.notifications if n.kind == "internal-error"], result.notifications


def test_degenerate_inputs() -> None:
    for data in (b"", b"\x00\x00", b"\xff\xfe\xfd", b"(" * 5000, b"{" * 5000, b"def f():\n" + b" x = [" * 3000):
        for language in ("python", "c"):
            result = analyze_source("x", data, language, CODES)
            assert not [n for n in result.notifications if n.kind == "internal-error"], (data[:20], result.notifications)
