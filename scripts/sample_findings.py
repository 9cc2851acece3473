"""Draw findings at random from real code, per rule, for a hand precision review.

Usage: ``python scripts/sample_findings.py [--per-rule 20] [--seed 2026] PATH ...``, or
``python scripts/sample_findings.py --from-json RUN.json ...`` to pool the JSON reports of runs
made one project at a time (each finding shown as ``<report name>/<path>``, its source read
from the directory of that name beside the report).

Runs ``leakspot check`` (all rules, those off by default too; JSON) on the paths, groups findings by rule, draws up to
``--per-rule`` of each with a fixed seed (all of them when there are fewer), and prints each with
its message, path and the source lines around it, ready to be judged true or false positive in
``docs/precision.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--per-rule", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--context", type=int, default=3, help="source lines shown around each finding")
    ap.add_argument("--from-json", action="store_true",
                    help="the paths are JSON reports of earlier runs, pooled in the order given")
    args = ap.parse_args()
    by_rule: dict[str, list[dict]] = defaultdict(list)
    if args.from_json:
        for report in args.paths:
            path = Path(report).resolve()
            for f in json.loads(path.read_text(encoding="utf-8"))["findings"]:
                by_rule[f["slug"]].append({**f, "path": f"{path.stem}/{f['path']}"})
        root = Path(args.paths[0]).resolve().parent
    else:
        root = Path(args.paths[0]).resolve().parent if len(args.paths) > 1 else Path(args.paths[0]).resolve()
        out = subprocess.run([sys.executable, "-m", "leakspot", "check", "--exit-zero", "--format", "json",
                              "--extend-select", "LK101",  # all rules, those off by default too
                              "--root", str(root), *args.paths], capture_output=True, text=True)
        for f in json.loads(out.stdout)["findings"]:
            by_rule[f["slug"]].append(f)
    rng = random.Random(args.seed)
    for slug in sorted(by_rule):
        found = by_rule[slug]
        sample = found if len(found) <= args.per_rule else rng.sample(found, args.per_rule)
        print(f"## {slug}: {len(sample)} of {len(found)} findings\n")
        for i, f in enumerate(sorted(sample, key=lambda f: (f["path"], f["line"])), 1):
            print(f"{i}. {f['path']}:{f['line']}: {f['message']}")
            try:
                lines = (root / f["path"]).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
            lo, hi = max(0, f["line"] - 1 - args.context), min(len(lines), f["line"] + args.context)
            for n in range(lo, hi):
                print(f"   {n + 1:>6} {'>' if n + 1 == f['line'] else ' '} {lines[n]}")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
