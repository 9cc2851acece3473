"""Ground truth: a bounded cache filling up (logarithmic): 150 keys, then only hits."""
import time

cache = {}


def lookup(i):
    key = i % 150
    if key not in cache:
        cache[key] = bytes(2000)
    return cache[key]


for i in range(500):
    lookup(i)
    time.sleep(0.0025)
