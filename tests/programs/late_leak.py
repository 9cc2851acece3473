"""Ground truth: a leak that starts mid-run: nothing is kept for the first half."""
import time

kept = []


def handle(i):
    if i >= 250:
        kept.append(bytes(2000))


for i in range(500):
    handle(i)
    time.sleep(0.0025)
