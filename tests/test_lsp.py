"""The language server end to end: a real LSP client (pytest-lsp) drives `leakspot lsp`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

LEAKY = "def read(p):\n    fh = open(p)\n    return fh.readline()\n"
FIXED = "def read(p):\n    with open(p) as fh:\n        return fh.readline()\n"
LEAKY_C = "#include <stdlib.h>\nint f(int n) {\n    char *p = malloc(n);\n    if (!p) return -1;\n    return 0;\n}\n"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "leakspot", "lsp"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.leakspot]\nextend-select = ["unbounded-module-cache"]\nignore = ["lru-cache-on-method"]\n')
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        root_uri=tmp_path.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="ws")],
    )
    result = await lsp_client.initialize_session(params)
    assert result.server_info.name == "leakspot"
    lsp_client.root = tmp_path
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, name: str, text: str, language: str = "python") -> str:
    uri = (client.root / name).as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    return uri


async def next_diagnostics(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            return list(params.diagnostics)


async def diagnostics_become(client: LanguageClient, uri: str, codes: list[str]) -> list[types.Diagnostic]:
    """Wait (30 s at most) until the diagnostics the server last published for ``uri`` have
    these codes; earlier publications (the initial workspace scan, debounced edits) are
    skipped. The client's latest diagnostics are polled, not its notifications awaited: two
    publications read in one turn of the event loop (a loaded machine) would otherwise lose
    the second between one wait and the next."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        current = client.diagnostics.get(uri)
        if current is not None and [d.code for d in current] == codes:
            return list(current)
        if loop.time() > deadline:
            raise TimeoutError(f"diagnostics of {uri} stayed {[d.code for d in current or []]}, not {codes}")
        await asyncio.sleep(0.02)


@pytest.mark.asyncio(loop_scope="function")
async def test_diagnostics_on_open_cleared_by_a_fix(client: LanguageClient):
    uri = open_doc(client, "m.py", LEAKY)
    diags = await diagnostics_become(client, uri, ["LK103"])
    d = diags[0]
    assert d.code == "LK103" and d.source == "leakspot"
    assert d.severity == types.DiagnosticSeverity.Warning
    assert d.range.start == types.Position(line=1, character=9)
    assert d.code_description.href.endswith("rules/python/open-without-close.md")
    assert d.related_information and d.related_information[0].location.range.start.line == 2

    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=FIXED)]))
    assert await diagnostics_become(client, uri, []) == []

    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert await next_diagnostics(client, uri) == []


@pytest.mark.asyncio(loop_scope="function")
async def test_suppress_code_action_silences_the_finding(client: LanguageClient):
    uri = open_doc(client, "m.py", LEAKY)
    diags = await diagnostics_become(client, uri, ["LK103"])
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diags[0].range,
        context=types.CodeActionContext(diagnostics=diags)))
    assert [a.title for a in actions] == ["Suppress open-without-close on this line"]
    edit = actions[0].edit.changes[uri][0]
    lines = LEAKY.split("\n")
    line = lines[edit.range.start.line]
    lines[edit.range.start.line] = line[: edit.range.start.character] + edit.new_text + "handed to the caller" \
        + line[edit.range.end.character:]
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text="\n".join(lines))]))
    assert await diagnostics_become(client, uri, []) == []


@pytest.mark.asyncio(loop_scope="function")
async def test_hover_pull_diagnostics_and_c(client: LanguageClient):
    uri = open_doc(client, "m.py", LEAKY)
    diags = await diagnostics_become(client, uri, ["LK103"])
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=diags[0].range.start))
    assert "LK103 open-without-close" in hover.contents.value and "file descriptor" in hover.contents.value
    report = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert [d.code for d in report.items] == ["LK103"]

    c_uri = open_doc(client, "m.c", LEAKY_C, "c")
    diags = await diagnostics_become(client, c_uri, ["LK201"])
    assert diags[0].related_information[0].location.range.start.line == 4


@pytest.mark.asyncio(loop_scope="function")
async def test_configuration_reload_and_broken_documents(client: LanguageClient):
    src = "import functools\n\nclass A:\n    @functools.cache\n    def f(self):\n        return 1\n"
    uri = open_doc(client, "c.py", src)
    assert await diagnostics_become(client, uri, []) == []  # ignored by the workspace configuration
    (client.root / "pyproject.toml").write_text("[tool.leakspot]\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(client.root / "pyproject.toml").as_uri(), type=types.FileChangeType.Changed)]))
    await diagnostics_become(client, uri, ["LK102"])

    bad = open_doc(client, "bad.py", "def f(:\n")
    await diagnostics_become(client, bad, [])
    assert any("cannot parse" in m.message for m in client.log_messages)
    # an unknown method gets an error response; the server keeps serving
    with pytest.raises(Exception):
        await client.protocol.send_request_async("leakspot/nonsense", {})
    again = open_doc(client, "m2.py", LEAKY)
    await diagnostics_become(client, again, ["LK103"])


def _frame(payload: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)


def _read_messages(stdout: bytes) -> list[dict]:
    import json as _json

    out, rest = [], stdout
    while b"Content-Length:" in rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
        n = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
        out.append(_json.loads(rest[:n]))
        rest = rest[n:]
    return out


def test_malformed_message_then_clean_shutdown_exits_zero(tmp_path: Path) -> None:
    import json as _json
    import subprocess

    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}
    stream = (_frame(b"{this is not json")
              + _frame(_json.dumps(init).encode())
              + _frame(b'{"jsonrpc": "2.0", "method": "initialized", "params": {}}')
              + _frame(b'{"jsonrpc": "2.0", "id": 2, "method": "shutdown"}')
              + _frame(b'{"jsonrpc": "2.0", "method": "exit"}'))
    proc = subprocess.run([sys.executable, "-m", "leakspot", "lsp"], input=stream, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    replies = {m.get("id"): m for m in _read_messages(proc.stdout) if "id" in m}
    assert replies[1]["result"]["serverInfo"]["name"] == "leakspot"
    assert replies[2]["result"] is None


@pytest.mark.asyncio(loop_scope="function")
async def test_a_change_in_one_file_updates_the_files_that_depend_on_it(client: LanguageClient):
    grows = "log = []\n\n\ndef record(exc):\n    log.append(str(exc))\n"
    uri = open_doc(client, "middleware.py", grows)
    await diagnostics_become(client, uri, ["LK101"])
    clears = "import middleware\n\n\ndef reset():\n    middleware.log.clear()\n"
    other = open_doc(client, "tests_mw.py", clears)
    await diagnostics_become(client, other, [])
    await diagnostics_become(client, uri, [])  # bounded in tests_mw.py now
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=other, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text="import middleware\n")]))
    await diagnostics_become(client, uri, ["LK101"])


REGISTRY = ("SERVICES = []\n\n\nclass Service:\n    def __init__(self, name):\n"
            "        self.name = name\n        SERVICES.append(self)\n")


@pytest.mark.asyncio(loop_scope="function")
async def test_registry_filled_at_import_by_another_module(client: LanguageClient):
    """services.py keeps every Service; views.py, on disk and then open, makes them at its top
    (bounded: no finding), until an edit makes one inside a function."""
    (client.root / "services.py").write_text(REGISTRY)
    (client.root / "views.py").write_text('from services import Service\n\nhello = Service("hello")\n')
    # written after the server indexed the workspace: the editor's file watcher reports them
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(client.root / n).as_uri(), type=types.FileChangeType.Created)
        for n in ("services.py", "views.py")]))
    uri = open_doc(client, "services.py", REGISTRY)
    assert await diagnostics_become(client, uri, []) == []
    views = open_doc(client, "views.py", 'from services import Service\n\nhello = Service("hello")\n')
    await diagnostics_become(client, views, [])
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=views, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(
            text='from services import Service\n\n\ndef handler(request):\n    return Service(request.path)\n')]))
    diags = await diagnostics_become(client, uri, ["LK101"])
    assert "`SERVICES` grows in `__init__()`" in diags[0].message


WRAPPER = ("class TreeTooltip:\n    def __init__(self, tree):\n        self.tree = tree\n"
           "        self.tree.bind('<Motion>', self.on_motion)\n\n    def on_motion(self, event):\n        pass\n")
BROWSER = ("from tkinter import ttk\n\nfrom wrapper import TreeTooltip\n\n\nclass Browser:\n"
           "    def __init__(self, master):\n        self.tree = ttk.Treeview(master)\n"
           "        TreeTooltip(self.tree)\n")


@pytest.mark.asyncio(loop_scope="function")
async def test_a_wrapper_given_new_widgets_until_a_caller_shares_one(client: LanguageClient):
    """wrapper.py binds on the tree its constructor is given; browser.py, its only caller,
    makes a new tree for each wrapper (no finding), until an edit wraps one made once."""
    (client.root / "wrapper.py").write_text(WRAPPER)
    (client.root / "browser.py").write_text(BROWSER)
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(client.root / n).as_uri(), type=types.FileChangeType.Created)
        for n in ("wrapper.py", "browser.py")]))
    uri = open_doc(client, "wrapper.py", WRAPPER)
    assert await diagnostics_become(client, uri, []) == []
    browser = open_doc(client, "browser.py", BROWSER)
    await diagnostics_become(client, browser, [])
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=browser, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(
            text=BROWSER + "\n    def refresh(self):\n        TreeTooltip(self.tree)\n")]))
    diags = await diagnostics_become(client, uri, ["LK106"])
    assert diags[0].range.start.line == 3


FRAMES = ("import tkinter as tk\n\n\nclass TextFrame(tk.Frame):\n    def __init__(self, master):\n"
          "        super().__init__(master)\n        self.text = tk.Text(self)\n\n\n"
          "class SharedFrame(tk.Frame):\n    def __init__(self, master, text):\n"
          "        super().__init__(master)\n        self.text = text\n")
VIEWS = ("from frames import SharedFrame, TextFrame\n\n\nclass LogView(TextFrame):\n"
         "    def __init__(self, master):\n        super().__init__(master)\n"
         "        self.text.bind('<Key>', self.key)\n\n    def key(self, event):\n        pass\n\n\n"
         "class MirrorView(SharedFrame):\n    def __init__(self, master, text):\n"
         "        super().__init__(master, text)\n        self.text.bind('<Key>', self.key)\n\n"
         "    def key(self, event):\n        pass\n")


@pytest.mark.asyncio(loop_scope="function")
async def test_widget_built_by_a_base_class_in_another_module(client: LanguageClient):
    """frames.py, on disk and never opened, builds LogView's text widget: its binding dies with
    the view; MirrorView's base is given the widget, which outlives it."""
    (client.root / "frames.py").write_text(FRAMES)
    uri = open_doc(client, "views.py", VIEWS)
    diags = await diagnostics_become(client, uri, ["LK106"])
    assert diags[0].range.start.line == 15


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "leakspot", "lsp"]))
async def watching_client(lsp_client: LanguageClient, tmp_path: Path):
    """A client that lets the server register file watchers, as VS Code does; it records them."""
    (tmp_path / "pyproject.toml").write_text('[tool.leakspot]\nextend-select = ["unbounded-module-cache"]\n')
    (tmp_path / "services.py").write_text(REGISTRY)
    (tmp_path / "views.py").write_text('from services import Service\n\nhello = Service("hello")\n')
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        lsp_client.registrations.extend(params.registrations)

    caps = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
        did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)))
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=caps, root_uri=tmp_path.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="ws")]))
    lsp_client.root = tmp_path
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="function")
async def test_files_changed_on_disk_update_cross_file_facts(watching_client: LanguageClient):
    """The server asks to watch Python files; views.py, never opened, changes on disk (a
    checkout) to make a Service per request, and services.py's open diagnostics follow."""
    client = watching_client
    uri = open_doc(client, "services.py", REGISTRY)
    assert await diagnostics_become(client, uri, []) == []  # the index saw views.py at import
    (reg,) = [r for r in client.registrations if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
    globs = {w["globPattern"] for w in reg.register_options["watchers"]}  # untyped on the wire
    assert {"**/*.py", "**/pyproject.toml"} <= globs
    views = client.root / "views.py"
    views.write_text('from services import Service\n\n\ndef handler(request):\n    return Service(request.path)\n')
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=views.as_uri(), type=types.FileChangeType.Changed)]))
    diags = await diagnostics_become(client, uri, ["LK101"])
    assert "`SERVICES` grows in `__init__()`" in diags[0].message
    views.unlink()  # deleted: nothing makes a Service at import any more either
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=views.as_uri(), type=types.FileChangeType.Deleted)]))
    (client.root / "views.py").write_text('from services import Service\n\nhello = Service("hello")\n')
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=views.as_uri(), type=types.FileChangeType.Created)]))
    assert await diagnostics_become(client, uri, []) == []


@pytest.mark.asyncio(loop_scope="function")
async def test_a_base_class_changed_on_disk_or_saved_rechecks_its_subclasses(watching_client: LanguageClient):
    """frames.py holds the bases of the open panes.py. A checkout makes SharedFrame build its
    own widget (the calls and containers of frames.py stay the same), so MirrorView's binding
    dies with it; then frames.py, opened and saved as it was, brings the finding back."""
    client = watching_client
    frames = client.root / "frames.py"
    frames.write_text(FRAMES)
    uri = open_doc(client, "panes.py", VIEWS)
    assert (await diagnostics_become(client, uri, ["LK106"]))[0].range.start.line == 15
    builds = FRAMES.replace("self.text = text", "self.text = tk.Text(self)")
    frames.write_text(builds)
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=frames.as_uri(), type=types.FileChangeType.Changed)]))
    assert await diagnostics_become(client, uri, []) == []
    frames_uri = open_doc(client, "frames.py", builds)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=frames_uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=FRAMES)]))
    frames.write_text(FRAMES)
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=frames_uri)))
    assert (await diagnostics_become(client, uri, ["LK106"]))[0].range.start.line == 15
