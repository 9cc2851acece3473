"""The pre-commit hook, run by the real `pre-commit try-repo` against this working tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CLEAN_PY, LEAKY_PY

ROOT = Path(__file__).resolve().parent.parent
LEAKY_C = "#include <stdlib.h>\nint f(int n) {\n    char *p = malloc(n);\n    if (!p) return -1;\n    return 0;\n}\n"
CLEAN_C = "#include <stdlib.h>\nint f(int n) {\n    char *p = malloc(n);\n    if (!p) return -1;\n    free(p);\n    return 0;\n}\n"


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def try_repo(repo: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("pre-commit", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([exe, "try-repo", str(ROOT), "leakspot", "--all-files", "--verbose"],
                          cwd=repo, capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pre_commit_hook_fails_on_leaks_and_passes_on_clean_code(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    git("config", "user.email", "t@example.invalid", cwd=repo)
    git("config", "user.name", "t", cwd=repo)
    (repo / "leaky.py").write_text(LEAKY_PY)
    (repo / "leaky.c").write_text(LEAKY_C)
    (repo / "notes.txt").write_text("not checked\n")
    git("add", ".", cwd=repo)
    r = try_repo(repo)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "leaky.py:2:10: LK103 [open-without-close]" in r.stdout
    assert "leaky.c:3:15: LK201 [malloc-without-free]" in r.stdout

    (repo / "leaky.py").write_text(CLEAN_PY)
    (repo / "leaky.c").write_text(CLEAN_C)
    git("add", ".", cwd=repo)
    r = try_repo(repo)
    assert r.returncode == 0, r.stdout + r.stderr
