"""Shared by the tests: run the real command line, and small sources that leak or do not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LEAKY_PY = "def f(p):\n    fh = open(p)\n    return fh.readline()\n"
CLEAN_PY = "def f(p):\n    with open(p) as fh:\n        return fh.read()\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m leakspot ARGS`` in ``cwd``, text output captured."""
    return subprocess.run([sys.executable, "-m", "leakspot", *args], cwd=cwd, capture_output=True, text=True)
