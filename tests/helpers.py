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


def need_tool(name: str) -> str:
    """The path of the program ``name``; the test is skipped when it is missing, or fails when
    ``LEAKSPOT_REQUIRE_TOOLS=1`` (CI installs them: .ci/run)."""
    import os
    import shutil

    import pytest

    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("LEAKSPOT_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{name} is required (LEAKSPOT_REQUIRE_TOOLS=1) but not installed")
    pytest.skip(f"{name} is not installed")
