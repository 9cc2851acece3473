"""The same handler, fixed: responses are kept per path, and there are four paths.

The static rule still sees a module-level dict keyed by formatted text that only grows; the
trace shows that it fills up once and stays bounded.
"""
import time

PATHS = ["/", "/users", "/orders", "/health"]
RESPONSES = {}  # one entry per path


def render(path: str) -> bytes:
    return (f"<html>{path}</html>" * 400).encode()


def handle(path: str, request_id: int) -> bytes:
    body = render(path)
    RESPONSES[f"path:{path}"] = body  # kept for the access log
    return body


def main() -> None:
    for request_id in range(600):
        handle(PATHS[request_id % len(PATHS)], request_id)
        time.sleep(0.0025)

