"""Python checks: one shared traversal of the ``ast`` dispatches to every enabled check.

A check subclasses :class:`PythonCheck`, sets ``code``, is decorated with
:func:`python_check`, and defines ``visit_<NodeType>`` methods and optionally ``finish``.
Severity, message template and CWE come from the rule document with the same code.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re

from leakspot.config import DEFAULT, Settings
from leakspot.model import Finding, Location, Region, char_column
from leakspot.python.parse import FunctionNode, PythonModule
from leakspot.registry import Rule

PYTHON_CHECKS: dict[str, type[PythonCheck]] = {}
#: Context managers under which a call is a test double or is expected to raise.
EXPECTING_CONTEXTS = frozenset(
    {"patch", "object", "dict", "multiple", "assertRaises", "assertRaisesRegex", "assertWarns",
     "assertWarnsRegex", "raises", "warns"}
)
#: Calls that end the process (qualified as :meth:`PythonCheck.qualified` gives them): what
#: follows them never runs, and what they are handed runs once.
PROCESS_EXITS = frozenset({"sys.exit", "os._exit", "os.abort", "os.execv", "os.execve", "os.execvp", "os.execvpe",
                           "builtins.exit", "builtins.quit"})


def python_check(cls: type[PythonCheck]) -> type[PythonCheck]:
    """Class decorator registering a check by its ``code``."""
    PYTHON_CHECKS[cls.code] = cls
    return cls


def comments_at(module: PythonModule, line: int) -> str:
    """The comment text on 1-based ``line`` and in the block of comment-only lines just above
    it, joined by spaces (``#`` and surrounding blanks removed); ``""`` when there is none.
    Used to honour intent the author wrote down ("keep them alive", "will not be deleted")."""
    lines = module.lines
    parts = []
    if "#" in lines[line - 1]:
        parts.append(lines[line - 1].split("#", 1)[1])
    i = line - 2
    while i >= 0 and lines[i].lstrip().startswith("#"):
        parts.append(lines[i])
        i -= 1
    return " ".join(c.strip(" #") for c in parts)


def is_test_name(name: str) -> bool:
    """``test``, ``test_x`` or unittest's ``testX``: a test function, which a suite runs once."""
    return name == "test" or name.startswith("test_") or (name.startswith("test") and name[4:5].isupper())


#: Directory names of test code: ``tests``, ``test``, ``testing``, and ``*_test(s)`` or
#: ``test(s)_*`` (``mycli_test/``, ``integration_tests/``, ``test_utils/``), pytest's
#: ``test_*``/``*_test`` file patterns applied to directories; not ``contest/`` or ``latest/``.
TEST_DIR = re.compile(r"(?:tests?|testing|.+_tests?|tests?_.+)", re.I)


def is_test_module(path: str) -> bool:
    """Is ``path`` (``/``-separated) test code: under a test directory (:data:`TEST_DIR`), or
    named ``test_*.py``, ``*_test.py`` or ``conftest.py``?"""
    parts = path.split("/")
    name = parts[-1]
    return (any(TEST_DIR.fullmatch(d) for d in parts[:-1]) or name.startswith("test_")
            or name.endswith("_test.py") or name == "conftest.py")


def process_targets(module: PythonModule) -> frozenset[str]:
    """Names given as ``target=`` to a ``Process(...)`` (``multiprocessing``, a context's
    ``ctx.Process``) in the module: each is the whole life of a child process. Computed once
    per module and shared by the checks that ask."""
    found = getattr(module, "_process_targets", None)
    if found is None:
        found = frozenset(
            short_name(k.value) for call in module.nodes(ast.Call) if short_name(call.func).endswith("Process")
            for k in call.keywords if k.arg == "target")
        module._process_targets = found  # type: ignore[attr-defined]
    return found


def short_name(expr: ast.expr) -> str:
    """The last name of ``a.b.c`` or ``c``; "" for anything else (a call, a subscript)."""
    return expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ""


def assigned_values(scope: ast.AST, name: str) -> list[ast.expr]:
    """The values that plain assignments (``name = value``, also one of several targets) give
    ``name`` anywhere under ``scope``, in source order."""
    return [a.value for a in ast.walk(scope) if isinstance(a, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in a.targets)]


#: Calls whose result is shared, not owned by the object that stores it: getters of a
#: current or default object (``asyncio.get_event_loop()``, ``Gtk.Settings.get_default()``).
SHARED_FACTORY_PREFIXES = ("get", "current", "instance", "default")
#: Loops: a statement before one holds the same object on every pass of its body.
LOOPS = (ast.For, ast.AsyncFor, ast.While)


def new_object(call: ast.Call) -> bool:
    """Does this call make a new object, not get a shared one (:data:`SHARED_FACTORY_PREFIXES`)?"""
    return not short_name(call.func).lstrip("_").lower().startswith(SHARED_FACTORY_PREFIXES)


def made_before(module: PythonModule, node: ast.AST, fn, is_target, made=None) -> bool:
    """Does a statement before the one holding ``node``, in its block or a block around it up
    to ``fn`` (None: the module), always assign a target that ``is_target(expr)`` accepts
    (``self.<attr>``, a global name) a value that ``made(value)`` accepts (default: a call
    that makes a new object, :func:`new_object`)? It must run anew for each run of ``node``:
    the search stops at the body of a loop around ``node``, since a statement before the
    loop runs once for all its passes."""
    node_: ast.AST = node
    while node_ is not fn:
        parent = module.parent(node_)
        if parent is None:
            return False
        for field in ("body", "orelse", "finalbody"):
            block = getattr(parent, field, None)
            if isinstance(block, list):
                for i, stmt in enumerate(block):
                    if stmt is node_:
                        if any(always_makes(s, is_target, made) for s in block[:i]):
                            return True
                        break
        if isinstance(parent, LOOPS) and node_ in parent.body:
            return False
        node_ = parent
    return False


def always_makes(stmt: ast.stmt, is_target, made=None) -> bool:
    """Does ``stmt`` assign a target that ``is_target`` accepts a value that ``made`` accepts
    (default: a new object, :func:`new_object`) on every path through it: the assignment
    itself, or an ``if`` whose branches both do?"""
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        ok = made(stmt.value) if made else isinstance(stmt.value, ast.Call) and new_object(stmt.value)
        return ok and any(is_target(t) for t in targets)
    if isinstance(stmt, ast.If) and stmt.orelse:
        return any(always_makes(s, is_target, made) for s in stmt.body) and any(
            always_makes(s, is_target, made) for s in stmt.orelse)
    return False


def memoised_by_metaclass(module: PythonModule, cls: ast.ClassDef) -> bool:
    """Is ``cls`` made by a metaclass, a module-level class of ``module``, that memoises what
    it makes (yfinance's ``SingletonMeta``)? Its ``__call__`` returns an item or attribute of a
    container on every return (``return cls._instances[cls]``) and stores something there
    (``cls._instances[cls] = instance``). The memo keeps each instance alive for good, one per
    class or per key, and the constructor runs once for each."""
    meta = next((k.value for k in cls.keywords if k.arg == "metaclass"), None)
    if not isinstance(meta, ast.Name):
        return False
    found = [c for c in module.tree.body if isinstance(c, ast.ClassDef) and c.name == meta.id]
    if len(found) != 1:
        return False
    call = next((f for f in found[0].body if isinstance(f, ast.FunctionDef) and f.name == "__call__"), None)
    if call is None:
        return False
    returns = [r.value for r in ast.walk(call) if isinstance(r, ast.Return)]
    if not returns or not all(isinstance(v, (ast.Subscript, ast.Attribute)) for v in returns):
        return False
    stored = {ast.unparse(t) for a in ast.walk(call) if isinstance(a, ast.Assign) for t in a.targets
              if isinstance(t, (ast.Subscript, ast.Attribute))}
    return all(ast.unparse(v) in stored for v in returns)


def display(expr: ast.expr) -> str:
    """Source text of an expression, as shown in messages (``json.load``, ``self.log``)."""
    try:
        return ast.unparse(expr)
    except Exception:  # pragma: no cover - unparse handles every expression
        return "..."


def node_region(node: ast.AST, lines: list[str] | None = None) -> Region:
    """1-based region of an ast node; columns in code points when the source ``lines`` are given
    (ast's own columns are 0-based UTF-8 byte offsets)."""
    end_line = getattr(node, "end_lineno", None) or node.lineno
    end_col = getattr(node, "end_col_offset", None)
    if end_col is None:
        end_col = node.col_offset + 1
    if lines is None:
        return Region(node.lineno, node.col_offset + 1, end_line, end_col + 1)

    def line(n: int) -> str:
        return lines[n - 1] if 0 < n <= len(lines) else ""

    return Region(node.lineno, char_column(line(node.lineno), node.col_offset),
                  end_line, char_column(line(end_line), end_col))


class PythonCheck:
    """Base class of Python checks.

    Attributes:
        code: the rule code this check implements.
        module: the file being checked.
        rule: the rule's document metadata.
        settings: the run's configuration (per-rule options).
        findings: what the check reported.
    """

    code = ""

    def __init__(self, module: PythonModule, rule: Rule, settings: Settings = DEFAULT) -> None:
        self.module = module
        self.settings = settings
        self.names = module.names
        self.rule = rule
        self.findings: list[Finding] = []

    def locals_of(self, fn: ast.AST | None) -> frozenset[str]:
        """Local names of function ``fn`` (empty for None), cached."""
        return frozenset() if fn is None else self.module.locals_of(fn)

    def qualified(self, expr: ast.expr) -> str | None:
        """Qualified name of ``expr`` in its scope (shadowing by the enclosing function's locals)."""
        return self.names.qualified(expr, self.locals_of(self.module.enclosing_function(expr)))

    def qualified_in(self, expr: ast.expr, targets) -> str | None:
        """:meth:`qualified` when it is one of ``targets``, else None. Resolves without the
        enclosing function's locals first, so calls that cannot match never pay for them."""
        if self.names.qualified(expr) not in targets:
            return None
        return self.qualified(expr)

    def report(
        self,
        node: ast.AST,
        related: list[Location] | None = None,
        flow: list | None = None,
        key: str = "",
        **fields: str,
    ) -> None:
        """Record a finding at ``node`` with the rule's message template filled from ``fields``."""
        fn = self.module.enclosing_function(node)
        line = self.module.lines[node.lineno - 1] if node.lineno <= len(self.module.lines) else ""
        self.findings.append(
            Finding(
                code=self.rule.code,
                slug=self.rule.slug,
                location=Location(self.module.path, node_region(node, self.module.lines)),
                message=self.rule.message.format(**fields),
                related=related or [],
                flow=flow or [],
                function=fn.name if fn is not None else "",
                anchor=line.strip(),
                key=key,
            )
        )

    def location(self, node: ast.AST, message: str) -> Location:
        """A related location at ``node`` in this file."""
        return Location(self.module.path, node_region(node, self.module.lines), message)

    def under_expecting_context(self, node: ast.AST, fn: ast.AST | None) -> bool:
        """Is ``node`` inside ``with mock.patch(...)`` (names may be test doubles) or ``with
        self.assertRaises(...)``/``pytest.raises(...)`` (the call is expected to fail), within
        ``fn`` (or the module)?"""
        p = self.module.parent(node)
        while p is not None and p is not fn:
            if isinstance(p, (ast.With, ast.AsyncWith)):
                for item in p.items:
                    ctx = item.context_expr
                    if isinstance(ctx, ast.Call):
                        name = ctx.func.attr if isinstance(ctx.func, ast.Attribute) else getattr(ctx.func, "id", "")
                        if name in EXPECTING_CONTEXTS:
                            return True
            p = self.module.parent(p)
        return False

    def finish(self) -> None:
        """Called once after the traversal, for checks that reason over the whole module."""


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def run_python_checks(module: PythonModule, rules: list[Rule], settings: Settings = DEFAULT) -> list[Finding]:
    """Run the checks of ``rules`` over ``module`` in one traversal; return their findings."""
    _load_all()
    checks = [PYTHON_CHECKS[r.code](module, r, settings) for r in rules if r.code in PYTHON_CHECKS]
    if not checks:
        return []
    table: dict[str, list] = {}
    for check in checks:
        for attr in dir(check):
            if attr.startswith("visit_"):
                table.setdefault(attr[6:], []).append(getattr(check, attr))
    for type_name, visits in table.items():
        node_type = getattr(ast, type_name, None)
        if node_type is None:
            continue
        for node in module.nodes(node_type):
            for visit in visits:
                visit(node)
    out: list[Finding] = []
    for check in checks:
        check.finish()
        out.extend(check.findings)
    return out


__all__ = ["FunctionNode", "PythonCheck", "python_check", "run_python_checks", "node_region"]
