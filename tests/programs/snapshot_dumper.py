"""Run a program under tracemalloc and dump a snapshot every INTERVAL seconds, as a user's own
harness would: ``python snapshot_dumper.py OUTDIR INTERVAL PROGRAM.py``.

Each dump is ``OUTDIR/snapshot-NNNN.pickle`` (``tracemalloc.Snapshot.dump``); a last one is
written when the program ends. Not a ground-truth program itself.
"""
import os
import runpy
import sys
import threading
import time
import tracemalloc

out, interval, program = sys.argv[1], float(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
count = 0
lock = threading.Lock()
finished = False


def dump(last: bool = False) -> None:
    """Write the next dump; after the last one, none: the interval thread is a daemon, and
    one that began a dump as the interpreter exits would leave it cut short."""
    global count, finished
    with lock:
        if finished:
            return
        snapshot = tracemalloc.take_snapshot()
        snapshot.dump(os.path.join(out, f"snapshot-{count:04d}.pickle"))
        count += 1
        finished = last


def loop() -> None:
    while True:
        time.sleep(interval)
        dump()


tracemalloc.start(1)
threading.Thread(target=loop, daemon=True).start()
sys.argv = [program]
sys.path[0] = os.path.dirname(os.path.abspath(program))
try:
    runpy.run_path(program, run_name="__main__")
finally:
    dump(last=True)
