"""Ground truth for --evidence: a static finding the trace refutes. The module-level dict is
keyed by formatted text, which the static rule takes as per-request data, but the keys come
from 20 user ids only: it fills up and stays bounded."""
import time

seen = {}


def handle(i):
    seen[f"user-{i % 20}"] = bytes(2000)


for i in range(500):
    handle(i)
    time.sleep(0.0025)
