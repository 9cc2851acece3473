"""Ground truth: a linear leak. Every request keeps 2 kB in a module-level list."""
import time

kept = []


def handle(i):
    kept.append(bytes(2000))


for i in range(500):
    handle(i)
    time.sleep(0.0025)
