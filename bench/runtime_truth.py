"""Precision and recall of the runtime verdicts over the ground-truth programs.

The programs of ``tests/programs/`` (Python) and ``tests/programs/c/`` (C, compiled with gcc)
are captured in every trace format each can produce, as the tests capture them (the tests'
own ``_capture`` helpers: ``leakspot trace record``, tracemalloc snapshot dumps, ``memray run
--trace-python-allocators``; valgrind massif, heaptrack, valgrind memcheck XML,
LeakSanitizer), ``--repeat`` times (default 3), and analysed at the default confidence.

Per format it prints: captures, the program's own site classified right (class and verdict),
and the "grows" verdict scored over the programs' own sites (a positive: a leaking program;
for exit-time formats, a definite loss) as TP/FP/FN, precision and recall, then every other
site's verdict: how many there were and how many were said to grow (false positives of the
interpreter's and the C library's own memory).

Usage: ``python bench/runtime_truth.py [--repeat N]`` (valgrind, heaptrack and gcc on PATH).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

import test_runtime as py  # noqa: E402  (the tests' capture helpers and truths)
import test_runtime_native as c  # noqa: E402

from leakspot.runtime.factor import analyze, site_function  # noqa: E402
from leakspot.runtime.readers import load_many  # noqa: E402


def score(rows):
    """(TP, FP, FN, precision, recall) of the grows verdict over ``(truth, said)`` pairs."""
    tp = sum(t and s for t, s in rows)
    fp = sum(s and not t for t, s in rows)
    fn = sum(t and not s for t, s in rows)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return tp, fp, fn, precision, recall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", default="", help="comma-separated formats (default: all)")
    args = ap.parse_args()
    only = set(filter(None, args.formats.split(",")))
    table = {}
    for k in range(args.repeat):
        for fmt in [f for f in py.FORMATS if not only or f in only]:
            for name, (klass, grows) in sorted(py.TRUTH.items()):
                with tempfile.TemporaryDirectory() as d:
                    trace = py._capture(fmt, name, Path(d))
                    ((_, t),) = load_many([trace])
                    results = analyze(t, functions=site_function)
                own = [r for r in results if r.file.endswith(f"{name}.py")]
                site = max(own, key=lambda r: r.peak_bytes) if own else None
                said = (site.klass, site.growing) if site else ("constant", False)
                others = [r for r in results if r is not site]
                if said != (klass, grows):
                    print(f"miss: {fmt} {name}: said {said}, truth {(klass, grows)}", file=sys.stderr)
                table.setdefault(fmt, []).append((grows, said[1], said == (klass, grows), len(others),
                                                  sum(r.growing for r in others)))
        for fmt in [f for f in c.FORMATS if not only or f in only]:
            for name, (klass, grows, loss, function) in sorted(c.TRUTH.items()):
                with tempfile.TemporaryDirectory() as d:
                    trace = c._capture(fmt, name, Path(d))
                    if trace is None:  # LSan: no report, nothing lost
                        table.setdefault(fmt, []).append((loss == "definite-loss", False, loss != "definite-loss", 0, 0))
                        continue
                    ((_, t),) = load_many([trace])
                    results = analyze(t)
                own = [r for r in results if Path(r.file).name == f"{name}.c" and r.function == function]
                exit_time = t.losses is not None
                truth = loss == "definite-loss" if exit_time else grows
                want = (loss if exit_time else klass)
                site = max(own, key=lambda r: r.peak_bytes) if own else None
                said = (site.klass, site.growing) if site else (None if exit_time else "constant", False)
                right = said[1] == truth and (said[0] == want or (exit_time and fmt == "lsan" and loss == "reachable"
                                                                  and site is None))
                others = [r for r in results if r is not site]
                if not right:
                    print(f"miss: {fmt} {name}: said {said}, truth {(want, truth)}", file=sys.stderr)
                table.setdefault(fmt, []).append((truth, said[1], right, len(others),
                                                  sum(r.growing for r in others)))
        print(f"pass {k + 1} of {args.repeat} done", file=sys.stderr)
    print(f"{'format':12} {'captures':>8} {'right':>6} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}"
          f" {'other sites':>11} {'said to grow':>12}")
    every = []
    for fmt, rows in table.items():
        tp, fp, fn, p, r = score([(t, s) for t, s, *_ in rows])
        every += rows
        print(f"{fmt:12} {len(rows):8} {sum(x[2] for x in rows):6} {tp:4} {fp:4} {fn:4} {p:9.3f} {r:7.3f}"
              f" {sum(x[3] for x in rows):11} {sum(x[4] for x in rows):12}")
    tp, fp, fn, p, r = score([(t, s) for t, s, *_ in every])
    print(f"{'all':12} {len(every):8} {sum(x[2] for x in every):6} {tp:4} {fp:4} {fn:4} {p:9.3f} {r:7.3f}"
          f" {sum(x[3] for x in every):11} {sum(x[4] for x in every):12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
