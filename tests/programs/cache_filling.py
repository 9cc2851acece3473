"""Ground truth: a bounded cache filling up (logarithmic): 150 keys, then only hits.

The fill is paced (6 ms a key, about 0.9 s) so that a sampler that starts late, or samples
slowly on a loaded machine, still sees most of it; then about 1.1 s of hits."""
import time

cache = {}


def lookup(i):
    key = i % 150
    if key not in cache:
        cache[key] = bytes(2000)
    return cache[key]


for i in range(600):
    lookup(i)
    time.sleep(0.006 if i < 150 else 0.0025)
