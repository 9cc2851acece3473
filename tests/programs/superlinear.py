"""Ground truth: super-linear growth. Request i keeps i * 40 bytes."""
import time

kept = []


def handle(i):
    kept.append(bytes(40 * i))


for i in range(500):
    handle(i)
    time.sleep(0.0025)
