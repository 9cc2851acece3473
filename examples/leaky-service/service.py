"""A small request handler with a leak: every response is kept under the request's id.

`run.py` drives it: 600 simulated requests in about 1.5 s (see README.md).
"""
import time

PATHS = ["/", "/users", "/orders", "/health"]
RESPONSES = {}  # the leak: one entry per request, never removed


def render(path: str, request_id: int) -> bytes:
    return (f"<html>{path} for request {request_id}</html>" * 40).encode()


def handle(path: str, request_id: int) -> bytes:
    body = render(path, request_id)
    RESPONSES[f"{path}?id={request_id}"] = body  # kept for the access log
    return body


def main() -> None:
    for request_id in range(600):
        handle(PATHS[request_id % len(PATHS)], request_id)
        time.sleep(0.0025)

