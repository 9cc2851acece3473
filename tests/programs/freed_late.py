"""Ground truth: one large block, allocated at start and freed near the end: no leak."""
import time

block = bytearray(4_000_000)
for i in range(500):
    if i == 400:
        block = None
    time.sleep(0.0025)
