"""--diff BASE_REF in a real temporary git repository with two commits."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers import run

OLD = "def old(p):\n    fh = open(p)\n    return fh.readline()\n"
NEW = "\n\ndef new(p):\n    out = open(p, 'w')\n    out.write('x')\n"
C_NEW = "#include <stdlib.h>\nvoid g(void) { char *q = malloc(4); q[0] = 1; }\n"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout



def test_diff_reports_only_findings_new_since_the_base(tmp_path: Path) -> None:
    git("init", "-q", cwd=tmp_path)
    git("config", "user.email", "t@example.invalid", cwd=tmp_path)
    git("config", "user.name", "t", cwd=tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(OLD)
    (tmp_path / "pkg" / "untouched.py").write_text(OLD)
    git("add", ".", cwd=tmp_path)
    git("commit", "-qm", "base", cwd=tmp_path)
    base = git("rev-parse", "HEAD", cwd=tmp_path).strip()

    # second commit: lines inserted above the old leak, a new leak; plus an uncommitted C file
    (tmp_path / "pkg" / "a.py").write_text("import os\n" * 5 + OLD + NEW)
    git("commit", "-qam", "change", cwd=tmp_path)
    (tmp_path / "pkg" / "b.c").write_text(C_NEW)

    r = run("check", ".", "--diff", base, "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    found = [(f["path"], f["function"]) for f in json.loads(r.stdout)["findings"]]
    assert found == [("pkg/a.py", "new"), ("pkg/b.c", "g")]

    # run from a sub-folder: paths stay right
    r = run("check", ".", "--diff", base, "--format", "json", cwd=tmp_path / "pkg")
    assert [(f["path"], f["function"]) for f in json.loads(r.stdout)["findings"]] == [("a.py", "new"), ("b.c", "g")]

    assert run("check", ".", "--diff", "HEAD", "--select", "LK1", cwd=tmp_path).returncode == 0
    bad = run("check", ".", "--diff", "no-such-ref", cwd=tmp_path)
    assert bad.returncode == 2 and "--diff no-such-ref" in bad.stderr
