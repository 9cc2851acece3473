"""Latency of the language server: time from ``didChange`` to ``publishDiagnostics``.

Starts ``leakspot lsp`` as a subprocess under a pygls client, opens a real ~2,000-line Python
file (the stdlib file closest to 2,000 lines) and a real ~2,000-line C file (from the C sdists
``bench/run.py`` downloads), then sends ``--changes`` edits to each (a comment appended at the
end, so every version is different and valid) and waits for each edit's diagnostics. Prints the
median and 95th percentile in milliseconds; the target is a median under 100 ms. The server's
debounce (30 ms) is part of what is measured; the server's one-off scan of the workspace
after start-up is waited for, so the numbers are the steady state of an editing session.

Usage: ``python bench/lsp_latency.py [--changes 50]`` (needs ``pip install 'leakspot[lsp]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import sysconfig
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).parent))
from run import C_SDISTS, fetch_sdist  # noqa: E402


def closest(files, target: int = 2000) -> Path:
    return min(files, key=lambda p: abs(p.read_bytes().count(b"\n") - target))


async def measure(path: Path, language: str, changes: int) -> list[float]:
    client = LanguageClient("leakspot-bench", "0")
    waiter: asyncio.Future | None = None

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(time.perf_counter())

    await client.start_io(sys.executable, "-m", "leakspot", "lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(),
                                                         root_uri=path.parent.as_uri()))
    client.initialized(types.InitializedParams())
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8", errors="replace")
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    await asyncio.wait_for(waiter, 30)
    # steady state: the server scans the workspace once after `initialized`, then republishes
    waiter = loop.create_future()
    try:
        await asyncio.wait_for(waiter, 120)
    except asyncio.TimeoutError:
        pass
    comment = "#" if language == "python" else "//"
    times = []
    for i in range(changes):
        waiter = loop.create_future()
        start = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=f"{text}\n{comment} edit {i}\n")]))
        end = await asyncio.wait_for(waiter, 30)
        times.append((end - start) * 1000)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--changes", type=int, default=50)
    args = ap.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    py = closest([p for p in stdlib.glob("*.py")])
    c_files = [p for d in (fetch_sdist(s) for s in C_SDISTS) for p in d.rglob("*.c")]
    c = closest(c_files)
    for path, language in ((py, "python"), (c, "c")):
        times = asyncio.run(measure(path, language, args.changes))
        lines = path.read_bytes().count(b"\n")
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"{language:<6} {path.name:<28} {lines:>5} lines  median {statistics.median(times):6.1f} ms"
              f"  p95 {p95:6.1f} ms  ({len(times)} changes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
