"""An allocation-heavy workload for bench/trace_overhead.py: a small in-memory "service" that
parses, indexes and renders records, allocating and freeing many small objects per request,
with a bounded LRU cache. Runs about 2 seconds on one core of the reference machine."""
import json
import sys
from collections import OrderedDict

REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 80_000
cache: OrderedDict = OrderedDict()


def handle(i: int) -> str:
    record = {"id": i, "name": f"user-{i % 997}", "tags": [f"t{k}" for k in range(i % 7)],
              "scores": [k * 0.5 for k in range(10)]}
    text = json.dumps(record)
    parsed = json.loads(text)
    key = parsed["name"]
    if key in cache:
        cache.move_to_end(key)
    else:
        cache[key] = parsed
        if len(cache) > 500:
            cache.popitem(last=False)
    words = " ".join(str(x) for x in parsed["scores"]).split()
    return "|".join(sorted(words))


total = 0
for i in range(REQUESTS):
    total += len(handle(i))
print(total)
