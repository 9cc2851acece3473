"""Ground truth: constant churn. Buffers are allocated and dropped every iteration."""
import time


def work():
    buffers = [bytes(2000) for _ in range(20)]
    return len(buffers)


for i in range(500):
    work()
    time.sleep(0.0025)
