"""The built wheel ships the rule documents, and an installed wheel finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_rules(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(tmp_path.glob("leakspot-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for doc in (ROOT / "rules").rglob("*.md"):
        assert f"leakspot/rules/{doc.relative_to(ROOT / 'rules').as_posix()}" in names
    assert "leakspot/c/allocators.toml" in names
    # installed on its own (no source checkout next to it), it still loads its rules
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True)
    code = "import leakspot.registry as r; print(r.rules_dir()); print(len(r.load_rules()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(target)}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    where, count = out.stdout.split()
    assert where.startswith(str(target)) and int(count) == len(list((ROOT / "rules").rglob("*.md")))
