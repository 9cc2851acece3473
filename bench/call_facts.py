"""Time the cross-file call facts (``call_names()``) alone, on the running interpreter's
standard library (its ``site-packages`` left out).

Each module is parsed first; only ``call_names()`` is timed, so the figure is free of the
parse, the rules and the process pool of a whole run. Prints the module count and the
seconds (wall, best of ``--repeat`` rounds).

Usage: ``python bench/call_facts.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import sysconfig
import time

from leakspot.python.checks.unbounded_module_cache import call_names
from leakspot.python.parse import parse_python


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = sysconfig.get_paths()["stdlib"]
    sources = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "site-packages"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    sources.append((os.path.relpath(path, root), f.read()))
    best = float("inf")
    for _ in range(args.repeat):
        modules = []
        for display, data in sources:
            try:
                modules.append(parse_python(display, data))
            except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
                continue  # the stdlib's own bad-syntax test data
        start = time.perf_counter()
        for module in modules:
            call_names(module)
        best = min(best, time.perf_counter() - start)
    print(f"call_names: {len(modules)} modules in {best:.2f} s (best of {args.repeat})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
