"""leakspot as a language server (LSP 3.17 over stdio, with pygls 2 and lsprotocol).

Features:
- ``textDocument/publishDiagnostics`` for Python and C documents on open, on change (debounced
  by :data:`DEBOUNCE_SECONDS`) and on save, computed from the editor's text (unsaved buffers
  included); cleared when the document closes or the code is fixed.
- Pull diagnostics (``textDocument/diagnostic``).
- Code actions: suppress the finding on its line (``# leakspot: ignore[slug] -- `` or the C
  ``//`` form).
- Hover over a finding: the rule's summary and why.
- Configuration from the workspace's ``pyproject.toml``/``leakspot.toml``, reloaded when the
  file is saved or the client reports it changed (``workspace/didChangeWatchedFiles``).
- Cross-file facts, as a ``leakspot check`` of the workspace has them (a container cleared in
  another module, a class another module makes only at import): collected from the files on
  disk once initialized, from the editor's text for open documents, and again from disk for
  Python files the client reports created, changed or deleted (``git checkout``, another tool).
  The server asks the client to watch ``**/*.py``, ``**/*.pyi`` and the configuration files
  (``client/registerCapability``) when the client supports that.
- Base classes in other modules (a widget a base's constructor builds, a pydantic model base)
  are read from disk: an open document whose findings depend on them is re-checked when
  another Python document is saved or the client reports a Python file changed.

Every diagnostic has the rule code, ``codeDescription.href`` to the rule's document, ``source``
"leakspot", the rule's severity and ``relatedInformation`` for the leaking exit. A document
that cannot be parsed gets no diagnostics and a message in the client's log; it never stops
the server.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from leakspot import __version__
from leakspot.config import DEFAULT, ConfigError, Settings, find_config, load_settings
from leakspot.discover import language_of
from leakspot.engine import (NO_CALLS, CallFacts, analyze_source, drop_bound_to_new_arguments, drop_bounded_elsewhere,
                             drop_grown_at_import, drop_owned_by_base, run)
from leakspot.model import Finding
from leakspot.registry import find_rule, select_rules

DEBOUNCE_SECONDS = 0.03
SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "note": types.DiagnosticSeverity.Information,
}
CONFIG_NAMES = ("pyproject.toml", "leakspot.toml")


def uri_to_path(uri: str) -> Path:
    """The filesystem path of a ``file:`` URI."""
    return Path(unquote(urlparse(uri).path))


class LeakspotServer(LanguageServer):
    """The server: keeps the settings and the latest findings of each open document."""

    def __init__(self) -> None:
        super().__init__("leakspot", __version__)
        self.settings: Settings = DEFAULT
        self.root: Path = Path.cwd()
        self.findings: dict[str, list[Finding]] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        # cross-file facts of the workspace: the containers each Python file shrinks, and the
        # names it calls (inside functions, at import time)
        self.shrunk: dict[str, frozenset[str]] = {}
        self.calls: dict[str, CallFacts] = {}
        # per open document, the names whose calls grow its containers (before the filters)
        self.grown: dict[str, set[str]] = {}
        # the open documents with findings that bases in other modules decide (read from disk)
        self.based: set[str] = set()

    # -- configuration -----------------------------------------------------------------
    def load_configuration(self) -> None:
        """(Re)read the workspace configuration; a broken file is logged and the defaults used."""
        try:
            self.settings = load_settings(find_config(self.root))
        except ConfigError as exc:
            self.settings = DEFAULT
            self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"leakspot: {exc}"))

    def codes(self, display: str) -> frozenset[str]:
        s = self.settings
        try:
            codes = s.enabled_codes()
        except ValueError:
            codes = select_rules(None, None)
        return frozenset(codes) - s.ignored_for(display, self.root)

    # -- analysis ----------------------------------------------------------------------
    def analyse(self, uri: str) -> list[types.Diagnostic]:
        """Analyse the document's current text; remember and return its diagnostics."""
        doc = self.workspace.get_text_document(uri)
        path = uri_to_path(uri)
        language = language_of(path) or {"python": "python", "c": "c"}.get(doc.language_id or "")
        if language is None:
            return []
        top = self.root
        try:
            display = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            display, top = path.name, path.parent
        result = analyze_source(display, doc.source.encode("utf-8"), language, self.codes(display), self.settings)
        previous = self.shrunk.get(display)
        self.shrunk[display] = result.shrunk
        before = self.calls.get(display, NO_CALLS)
        if language == "python":
            self.calls[display] = result.calls
        # the names whose calls moved in or out of functions: they decide other documents' findings
        # (by last name: `pkg.args.parse` and `parse` may be the same function)
        after = result.calls
        moved = ({n.rsplit(".", 1)[-1] for n in (before.runtime ^ after.runtime) | (before.once ^ after.once)
                  | (before.named ^ after.named)} | {n for n, _ in before.exports ^ after.exports}
                 | {n.rsplit(".", 1)[-1] for n, _ in before.made ^ after.made}
                 if language == "python" else set())
        # a call that runs as often as its caller decides through any chain of callers: every
        # open document with such findings is checked again
        chained = language == "python" and before.via != after.via
        self.grown[uri] = {n.rsplit(".", 1)[-1] for f in result.findings for n in f.grown_by}
        if any(f.bases for f in result.findings):
            self.based.add(uri)
        else:
            self.based.discard(uri)
        findings = drop_grown_at_import(drop_bounded_elsewhere(result.findings, self.shrunk), self.calls)
        findings = drop_bound_to_new_arguments(findings, self.calls)
        # base classes in other modules are read from disk, as saved
        findings = drop_owned_by_base(findings, top)
        if (previous or frozenset()) != result.shrunk or moved or chained:
            # this file's facts changed: the open documents that depend on them are re-checked
            for other in list(self.workspace.text_documents):
                if other != uri and self.findings.get(other) is not None and (
                        (previous or frozenset()) != result.shrunk or moved & self.grown.get(other, set())
                        or chained and self.grown.get(other)):
                    self.schedule(other)
        for note in result.notifications:
            where = f"{display}:{note.line}" if note.line else display
            self.window_log_message(types.LogMessageParams(types.MessageType.Warning, f"leakspot: {where}: {note.message}"))
        self.findings[uri] = findings
        return [self.diagnostic(uri, f) for f in findings]

    def diagnostic(self, uri: str, f: Finding) -> types.Diagnostic:
        rule = find_rule(f.code)
        return types.Diagnostic(
            range=_range(f.location.region),
            message=f.message,
            severity=SEVERITY[rule.severity],
            code=f.code,
            code_description=types.CodeDescription(href=rule.help_uri),
            source="leakspot",
            related_information=[
                types.DiagnosticRelatedInformation(
                    location=types.Location(uri=uri, range=_range(r.region)), message=r.message or rule.slug)
                for r in f.related
            ] or None,
            data={"slug": f.slug, "fingerprint": f.fingerprint},
        )

    def publish(self, uri: str) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=self.analyse(uri)))

    def schedule(self, uri: str) -> None:
        """Publish after :data:`DEBOUNCE_SECONDS` without further changes."""
        loop = asyncio.get_event_loop()
        if uri in self._pending:
            self._pending.pop(uri).cancel()
        self._pending[uri] = loop.call_later(DEBOUNCE_SECONDS, self._fire, uri)

    def _fire(self, uri: str) -> None:
        self._pending.pop(uri, None)
        if uri in self.workspace.text_documents:
            self.publish(uri)

    def index_workspace(self) -> None:
        """Collect the cross-file facts of every Python file of the workspace (run in a thread)."""
        codes = frozenset({"LK101"})
        result = run([self.root], codes, root=self.root, jobs=1, settings=self.settings)
        for display, names in result.shrunk.items():
            self.shrunk.setdefault(display, names)
        for display, calls in result.calls.items():
            self.calls.setdefault(display, calls)

    def refresh_from_disk(self, uri: str, deleted: bool) -> bool:
        """Update the cross-file facts of a Python file that is not open, from its text on disk
        (none when ``deleted`` or unreadable); True when they changed. An open document's facts
        come from the editor's text, which the client keeps."""
        path = uri_to_path(uri)
        if language_of(path) != "python" or uri in self.workspace.text_documents:
            return False
        try:
            display = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return False  # outside the workspace: no `leakspot check` of it would see the file
        facts = None
        if not deleted:
            try:
                data = path.read_bytes()
            except OSError:
                data = None
            if data is not None:
                result = analyze_source(display, data, "python", frozenset({"LK101"}), self.settings)
                facts = (result.shrunk, result.calls)
        before = (self.shrunk.get(display), self.calls.get(display))
        if facts is None:
            self.shrunk.pop(display, None)
            self.calls.pop(display, None)
        else:
            self.shrunk[display], self.calls[display] = facts
        return before != (self.shrunk.get(display), self.calls.get(display))

    def recheck_based(self, saved: str | None = None) -> None:
        """Re-check the open documents whose findings depend on base classes read from disk,
        after a Python file changed there (``saved``: the document that was saved, itself
        re-checked by its save)."""
        for uri in sorted(self.based - {saved}):
            if uri in self.workspace.text_documents:
                self.schedule(uri)

    def republish_all(self) -> None:
        for uri in list(self.workspace.text_documents):
            self.publish(uri)


def _range(region) -> types.Range:
    return types.Range(
        start=types.Position(line=region.start_line - 1, character=region.start_column - 1),
        end=types.Position(line=region.end_line - 1, character=max(region.end_column - 1, 0)),
    )


server = LeakspotServer()


@server.feature(types.INITIALIZED)
async def initialized(ls: LeakspotServer, params: types.InitializedParams) -> None:
    if ls.workspace.root_path:
        ls.root = Path(ls.workspace.root_path)
    ls.load_configuration()
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps else None
    if watched and watched.dynamic_registration:
        globs = ["**/*.py", "**/*.pyi", *(f"**/{n}" for n in CONFIG_NAMES)]
        # not awaited: the index need not wait for the client's reply
        ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
            id="leakspot-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern=g) for g in globs]))]))
    await asyncio.get_running_loop().run_in_executor(None, ls.index_workspace)
    ls.republish_all()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LeakspotServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.publish(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LeakspotServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LeakspotServer, params: types.DidSaveTextDocumentParams) -> None:
    if uri_to_path(params.text_document.uri).name in CONFIG_NAMES:
        ls.load_configuration()
        ls.republish_all()
    elif params.text_document.uri in ls.workspace.text_documents:
        ls.publish(params.text_document.uri)
        if language_of(uri_to_path(params.text_document.uri)) == "python":
            ls.recheck_based(saved=params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LeakspotServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.findings.pop(uri, None)
    ls.grown.pop(uri, None)
    ls.based.discard(uri)
    if uri in ls._pending:
        ls._pending.pop(uri).cancel()
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: LeakspotServer, params: types.DidChangeWatchedFilesParams) -> None:
    if any(uri_to_path(c.uri).name in CONFIG_NAMES for c in params.changes):
        ls.load_configuration()
        ls.republish_all()
        return
    changed = [ls.refresh_from_disk(c.uri, c.type == types.FileChangeType.Deleted) for c in params.changes]
    if any(changed):
        for uri in list(ls.workspace.text_documents):
            if ls.findings.get(uri) is not None:
                ls.schedule(uri)
    elif any(language_of(uri_to_path(c.uri)) == "python" for c in params.changes):
        ls.recheck_based()


@server.feature(types.TEXT_DOCUMENT_DIAGNOSTIC,
                types.DiagnosticOptions(inter_file_dependencies=False, workspace_diagnostics=False))
def pull_diagnostics(ls: LeakspotServer, params: types.DocumentDiagnosticParams):
    return types.RelatedFullDocumentDiagnosticReport(items=ls.analyse(params.text_document.uri))


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
def code_actions(ls: LeakspotServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    lines = doc.lines
    comment = "//" if language_of(uri_to_path(uri)) == "c" else "#"
    actions = []
    for diag in params.context.diagnostics:
        if diag.source != "leakspot" or not isinstance(diag.data, dict):
            continue
        slug = diag.data.get("slug")
        line_no = diag.range.start.line
        if slug is None or line_no >= len(lines):
            continue
        text = lines[line_no].rstrip("\r\n")
        end = types.Position(line=line_no, character=len(text))
        edit = types.TextEdit(range=types.Range(start=end, end=end),
                              new_text=f"  {comment} leakspot: ignore[{slug}] -- ")
        actions.append(types.CodeAction(
            title=f"Suppress {slug} on this line",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diag],
            edit=types.WorkspaceEdit(changes={uri: [edit]}),
        ))
    return actions


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: LeakspotServer, params: types.HoverParams) -> types.Hover | None:
    pos = params.position
    for f in ls.findings.get(params.text_document.uri, []):
        r = f.location.region
        start = (r.start_line - 1, r.start_column - 1)
        end = (r.end_line - 1, r.end_column - 1)
        if start <= (pos.line, pos.character) <= end:
            rule = find_rule(f.code)
            why = re.split(r"\n\s*\n", rule.why)[0]
            text = f"**{rule.code} {rule.slug}**: {rule.summary}.\n\n{f.message}\n\n{why}\n\n[Rule documentation]({rule.help_uri})"
            return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                               range=_range(r))
    return None


def main() -> int:
    """Serve over stdio until the client sends ``exit``."""
    server.start_io()
    return 0
