"""Ground truth: a saw-tooth. A batch grows to 100 items, is flushed, and grows again."""
import time

batch = []


def add(i):
    batch.append(bytes(2000))
    if len(batch) >= 100:
        batch.clear()


for i in range(500):
    add(i)
    time.sleep(0.0025)
