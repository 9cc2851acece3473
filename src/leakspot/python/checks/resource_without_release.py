"""LK104 resource-without-release: sockets, child processes, executors, connections and
archives acquired and not released on every normal path (the LK103 machinery, other data)."""

from __future__ import annotations

from leakspot.python.checks import python_check
from leakspot.python.checks.open_without_close import Resource, ResourceCheck

SOCKET = Resource("socket", frozenset({"close", "detach", "__exit__"}))
PROCESS = Resource("child process", frozenset({"wait", "communicate", "__exit__"}),
                   held="not waited for", acquired="started", polled_with=frozenset({"poll"}))
EXECUTOR = Resource("executor", frozenset({"shutdown", "__exit__"}), held="not shut down", acquired="created")
POOL = Resource("process pool", frozenset({"close", "terminate", "__exit__"}), held="not closed", acquired="created")
CONNECTION = Resource("connection", frozenset({"close", "__exit__"}))
#: SMTP and FTP sessions end with ``quit()`` (which closes) as well as ``close()``.
SESSION = Resource("connection", frozenset({"close", "quit", "__exit__"}), connects_with="host")
SQLITE = Resource("sqlite3 connection", frozenset({"close"}), with_releases=False)
ARCHIVE = Resource("archive", frozenset({"close", "__exit__"}), wraps_file=True)
SELECTOR = Resource("selector", frozenset({"close", "__exit__"}))
#: A ``requests.Session`` opens its pooled connections when it sends a request.
HTTP_SESSION = Resource("connection", frozenset({"close", "__exit__"}), opens_with=frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "resolve_redirects"}))

RESOURCES = {
    "socket.socket": SOCKET,
    "socket.create_connection": SOCKET,
    "socket.create_server": SOCKET,
    "socket.fromfd": SOCKET,
    "subprocess.Popen": PROCESS,
    "os.popen": Resource("pipe to a child process", frozenset({"close", "__exit__"})),
    "concurrent.futures.ThreadPoolExecutor": EXECUTOR,
    "concurrent.futures.ProcessPoolExecutor": EXECUTOR,
    "concurrent.futures.thread.ThreadPoolExecutor": EXECUTOR,
    "multiprocessing.Pool": POOL,
    "multiprocessing.pool.Pool": POOL,
    "multiprocessing.pool.ThreadPool": POOL,
    "sqlite3.connect": SQLITE,
    "urllib.request.urlopen": CONNECTION,
    "ftplib.FTP": SESSION,
    "smtplib.SMTP": SESSION,
    "smtplib.SMTP_SSL": SESSION,
    "requests.Session": HTTP_SESSION,
    "requests.session": HTTP_SESSION,
    "zipfile.ZipFile": ARCHIVE,
    "tarfile.open": ARCHIVE,
    "tarfile.TarFile": ARCHIVE,
    "selectors.DefaultSelector": SELECTOR,
    "select.epoll": SELECTOR,
    "select.kqueue": SELECTOR,
    "mmap.mmap": Resource("memory map", frozenset({"close", "__exit__"})),
    # the descriptor of `fd, path = mkstemp()`: released by `os.close(fd)` or by handing it to
    # `os.fdopen`/`open` (any call that is not a known borrower such as `os.write`)
    "tempfile.mkstemp": Resource("file descriptor", frozenset(), element=0),
    # files and directories left on disk: released by deleting their path
    "tempfile.NamedTemporaryFile": Resource("temporary file", frozenset(), held="still on disk", acquired="created",
                                            required_keyword=("delete", False), path_attr="name"),
    "tempfile.mkdtemp": Resource("temporary directory", frozenset(), held="still on disk", acquired="created",
                                 path_attr=""),
}


@python_check
class ResourceWithoutRelease(ResourceCheck):
    """LK104: the resources of :data:`RESOURCES`, each with the methods that release it."""

    code = "LK104"
    resources = RESOURCES
    option = "extra-acquirers"
