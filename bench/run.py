"""Benchmark ``leakspot check`` on real code, beside ruff and cppcheck on the same files.

Inputs: the running interpreter's standard library (Python) and the C sources of a few PyPI
sdists, downloaded once at benchmark time with ``pip download --no-binary :all: --no-deps``
into ``$LEAKSPOT_BENCH_CACHE`` (default ``~/.cache/leakspot-bench``).

For each input it prints files, lines, wall seconds, lines per second and peak memory (max RSS
of the tool's processes) of leakspot and of the comparison tool, and their time ratio:
``ruff check --select B019,SIM115`` (ruff's two leak-related rules) on the Python input,
``cppcheck --enable=warning`` (its memory and resource leak checks) on the C input. A tool that
is not installed is reported as missing (``pip install ruff``; ``apt-get install cppcheck``).

Usage: ``python bench/run.py [--jobs N] [--only python|c]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

C_SDISTS = ["psutil==7.2.2", "pillow==12.0.0", "msgpack==1.2.4", "zstandard==0.25.0"]
CACHE = Path(os.environ.get("LEAKSPOT_BENCH_CACHE", Path.home() / ".cache" / "leakspot-bench"))


def fetch_sdist(spec: str) -> Path:
    """Download and unpack one sdist (once); return its directory."""
    name, version = spec.split("==")
    target = CACHE / f"{name}-{version}"
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                    "-d", str(CACHE / "sdist"), spec], check=True)
    tarball = next(p for p in (CACHE / "sdist").glob("*.tar.gz") if p.name.lower().startswith(f"{name}-{version}".lower()))
    tmp = target.with_suffix(".tmp")
    with tarfile.open(tarball) as tf:
        tf.extractall(tmp, filter="data") if sys.version_info >= (3, 12) else tf.extractall(tmp)
    (next(tmp.iterdir())).rename(target)
    tmp.rmdir()
    return target


def count(paths: list[Path], suffixes: tuple[str, ...]) -> tuple[list[Path], int]:
    """Source files under ``paths`` with those suffixes (skipping site-packages), and their lines."""
    files = []
    for root in paths:
        for p in root.rglob("*"):
            if p.suffix in suffixes and p.is_file() and "site-packages" not in p.parts:
                files.append(p)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    return files, lines


_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n"
)


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB of the largest of the command's processes, exit code).

    Each command runs under a fresh probe interpreter, so one tool's peak never shows in another's.
    """
    out = subprocess.run([sys.executable, "-c", _PROBE, *cmd], capture_output=True, text=True, check=True)
    seconds, peak_kib, rc = out.stdout.split()
    return float(seconds), int(peak_kib) / 1024, int(rc)


def row(tool: str, files: int, lines: int, seconds: float, peak: float, ratio: str = "") -> str:
    return (f"{tool:<34} {files:>6} {lines:>9} {seconds:>8.2f} {lines / seconds if seconds else 0:>11,.0f} "
            f"{peak:>8.0f} {ratio:>8}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--only", choices=("python", "c"))
    args = ap.parse_args()
    leakspot = [sys.executable, "-m", "leakspot", "check", "--exit-zero", "--format", "json",
                "-o", os.devnull, "--jobs", str(args.jobs)]
    print(f"{'tool':<34} {'files':>6} {'lines':>9} {'seconds':>8} {'lines/s':>11} {'peak MiB':>8} {'ratio':>8}")
    if args.only in (None, "python"):
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        files, lines = count([stdlib], (".py", ".pyi"))
        # all rules, LK101 (off by default) too: the speed of the whole catalog
        s, peak, _ = timed(leakspot + ["--extend-select", "LK101", str(stdlib)])
        print(row("leakspot (stdlib, all rules)", len(files), lines, s, peak))
        ruff = shutil.which("ruff", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        if ruff:
            rs, rpeak, _ = timed([ruff, "check", "--no-cache", "--select", "B019,SIM115", "--exit-zero",
                                  "--quiet", str(stdlib)])
            print(row("ruff --select B019,SIM115", len(files), lines, rs, rpeak, f"{s / rs:.2f}x"))
        else:
            print("ruff: not installed (pip install ruff)")
    if args.only in (None, "c"):
        dirs = [fetch_sdist(spec) for spec in C_SDISTS]
        files, lines = count(dirs, (".c", ".h"))
        s, peak, _ = timed(leakspot + ["--select", "LK2"] + [str(d) for d in dirs])
        print(row(f"leakspot (C: {len(dirs)} sdists, LK2)", len(files), lines, s, peak))
        cppcheck = shutil.which("cppcheck")
        if cppcheck:
            cs, cpeak, _ = timed([cppcheck, "--quiet", "--enable=warning", f"-j{args.jobs}",
                                  "--suppress=missingIncludeSystem"] + [str(f) for f in files])
            print(row("cppcheck --enable=warning", len(files), lines, cs, cpeak, f"{s / cs:.2f}x"))
        else:
            print("cppcheck: not installed (apt-get install cppcheck)")
    print("ratio = leakspot seconds / other tool's seconds (below 1: leakspot is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
