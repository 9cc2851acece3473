"""The command line as a user runs it: a real subprocess on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import CLEAN_PY, LEAKY_PY, run

ROOT = Path(__file__).resolve().parent.parent




def test_text_output_and_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "leaky.py").write_text(LEAKY_PY)
    (tmp_path / "clean.py").write_text(CLEAN_PY)
    r = run("check", ".", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "leaky.py:2:10: LK103 [open-without-close]" in r.stdout
    assert "Found 1 finding in 2 files" in r.stdout
    assert run("check", "clean.py", cwd=tmp_path).returncode == 0
    assert run("check", "--exit-zero", cwd=tmp_path).returncode == 0
    assert run("check", "--ignore", "LK103", cwd=tmp_path).returncode == 0
    assert run("check", "--select", "open-without-close", cwd=tmp_path).returncode == 1
    bad = run("check", "--select", "no-such-rule", cwd=tmp_path)
    assert bad.returncode == 2 and "no-such-rule" in bad.stderr


def test_bad_input_is_a_notification_not_a_lost_run(tmp_path: Path) -> None:
    (tmp_path / "leaky.py").write_text(LEAKY_PY)
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "leak.c").write_text("void f(void) { char *p = malloc(4); p[0] = 1; }\n")
    r = run("check", ".", "--format", "json", cwd=tmp_path)
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert {f["path"] for f in doc["findings"]} == {"leaky.py", "leak.c"}
    notes = {n["path"]: n for n in doc["notifications"]}
    assert set(notes) == {"broken.py", "nul.py", "latin.py"}
    assert notes["broken.py"]["line"] == 1
    assert "broken.py:1: cannot parse" in r.stderr


def test_newer_syntax_than_the_interpreter_says_so(tmp_path: Path) -> None:
    # zarr 3 is written with PEP 695 type aliases and parameters; leakspot parses with the `ast`
    # of the Python it runs on, so a 3.11 install cannot read them and says why
    (tmp_path / "pairs.py").write_text("type Pair[T] = tuple[T, T]\n\n\ndef first[T](p: Pair[T]) -> T:\n    return p[0]\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    # Home Assistant is formatted for Python 3.14, which drops the parentheses (PEP 758); with
    # `as` they are still required, in every version
    (tmp_path / "retry.py").write_text("def f(g):\n    try:\n        g()\n    except OSError, ValueError:\n        pass\n")
    (tmp_path / "url.py").write_text('def url(h):\n    return f"{\n        h.base\n    }/api"\n')
    (tmp_path / "named.py").write_text("def f(g):\n    try:\n        g()\n    except OSError, ValueError as e:\n        pass\n")
    # pysmb ships its Python 2 sources beside the Python 3 ones: `except E, name:` is not 3.14
    (tmp_path / "legacy.py").write_text("def f(g):\n    try:\n        g()\n    except select.error, ex:\n        pass\n")
    r = run("check", ".", cwd=tmp_path)
    assert "broken.py:1: cannot parse" in r.stderr and "broken.py:1: cannot parse: invalid syntax\n" in r.stderr
    if sys.version_info < (3, 14):
        assert ("legacy.py:4: cannot parse: multiple exception types must be parenthesized (this looks like "
                "Python 2 syntax: `except E, name:` is `except E as name:` in Python 3)\n") in r.stderr
    assert r.returncode == 2
    assert "named.py:4: cannot parse: multiple exception types must be parenthesized\n" in r.stderr
    if sys.version_info < (3, 12):
        assert "pairs.py:1: cannot parse: invalid syntax (this looks like Python 3.12 syntax" in r.stderr
        assert "url.py:2: cannot parse: unterminated string literal (detected at line 2) (this looks like Python 3.12" in r.stderr
    else:
        assert "pairs.py" not in r.stderr and "url.py" not in r.stderr
    if sys.version_info < (3, 14):
        assert ("retry.py:4: cannot parse: multiple exception types must be parenthesized "
                "(this looks like Python 3.14 syntax") in r.stderr
    else:
        assert "retry.py" not in r.stderr


def test_the_compilers_warnings_about_the_analysed_code_stay_out_of_stderr(tmp_path: Path) -> None:
    # Python 3.12 warns of an invalid escape sequence while parsing (3.11 too, when warnings
    # are shown): the project's problem, not leakspot's, and noise in a hook's output
    (tmp_path / "pattern.py").write_text('import re\n\nDIGITS = re.compile("\\d+")\n')
    r = subprocess.run([sys.executable, "-W", "always", "-m", "leakspot", "check", "."], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Warning" not in r.stderr and "escape" not in r.stderr


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="Python 3.14 parses `except A, B:`")
def test_many_files_in_newer_syntax_are_counted_not_listed(tmp_path: Path) -> None:
    # Home Assistant, formatted for 3.14, has 341 such files: three are shown, the rest counted
    for i in range(5):
        (tmp_path / f"m{i}.py").write_text("def f(g):\n    try:\n        g()\n    except OSError, ValueError:\n        pass\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    r = run("check", ".", "--format", "json", cwd=tmp_path)
    assert r.returncode == 2
    assert len(json.loads(r.stdout)["notifications"]) == 6  # the report keeps every one
    shown = [line for line in r.stderr.splitlines() if "3.14 syntax" in line and line.startswith("leakspot: error: m")]
    assert len(shown) == 3 and "broken.py:1: cannot parse: invalid syntax" in r.stderr
    assert "leakspot: error: 2 more files in Python 3.14 syntax could not be parsed (5 in all)" in r.stderr
    verbose = run("check", ".", "--verbose", cwd=tmp_path)
    assert sum(1 for line in verbose.stderr.splitlines() if "3.14 syntax" in line) == 5
    assert "more files" not in verbose.stderr


def test_one_changed_file_is_judged_as_in_the_whole_project(tmp_path: Path) -> None:
    # a pre-commit run names only the changed file; the project's other modules still tell
    # that `args.parse()` runs once, from `main()`, and `parse_profile()` per command
    import shutil
    shutil.copytree(ROOT / "fixtures" / "python" / "project" / "shell", tmp_path / "shell")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shell'\n")
    r = run("check", "shell/args.py", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    lines = sorted(f["line"] for f in json.loads(r.stdout)["findings"])
    assert lines == [17], lines
    # without the project around it, the lone file cannot tell: both are reported
    (tmp_path / "pyproject.toml").unlink()
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(tmp_path / "shell" / "args.py", alone / "args.py")
    (alone / "pyproject.toml").write_text("[project]\nname = 'alone'\n")
    r = run("check", "args.py", "--format", "json", cwd=alone)
    assert sorted(f["line"] for f in json.loads(r.stdout)["findings"]) == [11, 17]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    r = run("check", "nope.py", cwd=tmp_path)
    assert r.returncode == 2 and "nope.py" in r.stderr


def test_gitignore_exclude_and_default_excludes(tmp_path: Path) -> None:
    for d in ("src", "ignored", ".venv/lib", "build", "env2", ".pc/fix-crash.patch/src"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "leaky.py").write_text(LEAKY_PY)
    (tmp_path / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / ".gitignore").write_text("ignored/\n")
    r = run("check", "--format", "json", cwd=tmp_path)
    assert [f["path"] for f in json.loads(r.stdout)["findings"]] == ["src/leaky.py"]
    r = run("check", "--format", "json", "--exclude", "src/", cwd=tmp_path)
    assert json.loads(r.stdout)["findings"] == []
    # a file named explicitly is checked even inside an excluded folder (pre-commit passes files)
    assert run("check", "build/leaky.py", cwd=tmp_path).returncode == 1


def test_gitignore_pattern_git_reads_but_pathspec_rejects(tmp_path: Path) -> None:
    # black 26.10.1 ships a .gitignore with a lone "!" line: git reads it as matching nothing;
    # it must not stop the run, and the file's other lines still apply
    for d in ("src", "gen"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "leaky.py").write_text(LEAKY_PY)
    (tmp_path / ".gitignore").write_text("gen/\n!\n\\\n")
    r = run("check", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert [f["path"] for f in json.loads(r.stdout)["findings"]] == ["src/leaky.py"]


def test_invalid_exclude_pattern_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "leaky.py").write_text(LEAKY_PY)
    r = run("check", "--exclude", "build/,!", cwd=tmp_path)
    assert r.returncode == 2 and "--exclude: '!' is not a valid gitignore pattern" in r.stderr
    assert "Traceback" not in r.stderr
    (tmp_path / "leakspot.toml").write_text('exclude = ["!"]\n')
    r = run("check", cwd=tmp_path)
    assert r.returncode == 2 and "`exclude`: '!' is not a valid gitignore pattern" in r.stderr
    (tmp_path / "leakspot.toml").write_text('[per-file-ignores]\n"!" = ["LK103"]\n')
    r = run("check", cwd=tmp_path)
    assert r.returncode == 2 and "`per-file-ignores`: '!'" in r.stderr, r.stderr


def test_output_file_and_deterministic(tmp_path: Path) -> None:
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    run("check", str(ROOT / "fixtures"), "--format", "json", "-o", str(out1), "--root", str(ROOT), cwd=tmp_path)
    run("check", str(ROOT / "fixtures"), "--format", "json", "-o", str(out2), "--root", str(ROOT), "-j", "1", cwd=tmp_path)
    assert out1.read_bytes() == out2.read_bytes()
    assert json.loads(out1.read_text())["summary"]["findings"] > 10


def test_rules_and_explain(tmp_path: Path) -> None:
    r = run("rules", cwd=tmp_path)
    assert r.returncode == 0 and "LK101  unbounded-module-cache" in r.stdout
    r = run("explain", "lk201", cwd=tmp_path)
    assert r.returncode == 0 and "## Why is this bad?" in r.stdout and "malloc-without-free" in r.stdout
    assert run("explain", "open-without-close", cwd=tmp_path).returncode == 0
    assert run("explain", "nothing", cwd=tmp_path).returncode == 2


def test_console_script_installed() -> None:
    exe = Path(sys.executable).parent / ("leakspot.exe" if os.name == "nt" else "leakspot")
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("leakspot ")


def test_gitignore_above_the_work_tree_is_not_applied(tmp_path: Path) -> None:
    # a .gitignore in a folder above the checked one, with no git work tree, does not hide it
    (tmp_path / ".gitignore").write_text("proj/\n")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "leaky.py").write_text(LEAKY_PY)
    assert run("check", "proj", cwd=tmp_path).returncode == 1
    # inside a git work tree the root's .gitignore applies to sub-folders checked directly
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("*.py\n")
    assert run("check", "proj", cwd=tmp_path).returncode == 0
    # ... unless the user names the ignored folder itself
    (tmp_path / ".gitignore").write_text("proj/\n")
    assert run("check", "proj", cwd=tmp_path).returncode == 1


def test_container_cleared_in_another_file_is_not_reported(tmp_path: Path) -> None:
    (tmp_path / "middleware.py").write_text("log = []\n\n\ndef process(exc):\n    log.append(str(exc))\n")
    # LK101 is off by default: it runs when named
    assert run("check", "middleware.py", cwd=tmp_path).returncode == 0
    r = run("check", "middleware.py", "--select", "unbounded-module-cache", cwd=tmp_path)
    assert r.returncode == 1 and "unbounded-module-cache" in r.stdout
    (tmp_path / "tests.py").write_text("import middleware\n\n\ndef setup():\n    middleware.log.clear()\n")
    r = run("check", ".", "--extend-select", "LK101", cwd=tmp_path)
    assert r.returncode == 0, r.stdout
    # a hook's run of the one changed file reads the module that clears it too
    r = run("check", "middleware.py", "--extend-select", "LK101", cwd=tmp_path)
    assert r.returncode == 0, r.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.leakspot]\nextend-select = ["LK101"]\nexclude = ["tests.py"]\n')
    r = run("check", ".", cwd=tmp_path)
    assert r.returncode == 1 and "unbounded-module-cache" in r.stdout
    assert run("check", "middleware.py", cwd=tmp_path).returncode == 1  # an excluded file says nothing


def test_columns_are_code_points_and_form_feeds_do_not_shift_lines(tmp_path: Path) -> None:
    (tmp_path / "u.py").write_text("\f\ndef f(p):\n    é = 1; fh = open(p)\n    return fh.readline()\n",
                                   encoding="utf-8")
    (tmp_path / "u.c").write_text('void f(void) { /* é */ char *p = malloc(4); p[0] = 1; }\n', encoding="utf-8")
    doc = json.loads(run("check", ".", "--format", "json", cwd=tmp_path).stdout)
    by_path = {f["path"]: f for f in doc["findings"]}
    assert (by_path["u.py"]["line"], by_path["u.py"]["column"]) == (3, 17)
    assert (by_path["u.c"]["line"], by_path["u.c"]["column"]) == (1, 34)


def test_partly_parsed_c_is_a_warning_counted_unless_verbose(tmp_path: Path) -> None:
    (tmp_path / "m.c").write_text("int f(void) { char *p = malloc(4); WEIRD_MACRO(p) { x } ; return 0; }\n"
                                  "int g(void) { char *q = malloc(4); return 0; }\n")
    r = run("check", ".", cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # g's leak is found; a warning is not an error
    assert "m.c:2:" in r.stdout
    assert "1 file analysed in part" in r.stderr
    r = run("check", ".", "--verbose", cwd=tmp_path)
    assert "m.c: 1 function(s) not analysed" in r.stderr


def test_github_annotations_and_fail_on(tmp_path: Path) -> None:
    (tmp_path / "a,b.py").write_text(LEAKY_PY)
    r = run("check", ".", "--format", "github", cwd=tmp_path)
    assert r.returncode == 1
    line = r.stdout.splitlines()[0]
    assert line.startswith("::warning file=a%2Cb.py,line=2,col=10,endLine=2,endColumn=17,title=LK103 open-without-close::")
    assert "open-without-close.md)" in line
    # the rule is a warning: failing only on errors lets it pass
    assert run("check", ".", "--fail-on", "error", cwd=tmp_path).returncode == 0
    assert run("check", ".", "--fail-on", "warning", cwd=tmp_path).returncode == 1


def test_junit_and_gitlab_formats(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    (tmp_path / "leaky.py").write_text(LEAKY_PY)
    (tmp_path / "clean.py").write_text(CLEAN_PY)
    r = run("check", ".", "--format", "junit", cwd=tmp_path)
    suite = ET.fromstring(r.stdout)
    assert suite.get("failures") == "1"
    case = suite.find("testcase")
    assert case.get("name") == "leaky.py" and "LK103" in case.find("failure").get("type")
    r = run("check", ".", "--format", "gitlab", cwd=tmp_path)
    issues = json.loads(r.stdout)
    assert len(issues) == 1 and issues[0]["check_name"] == "open-without-close"
    assert issues[0]["location"] == {"path": "leaky.py", "lines": {"begin": 2}}
    assert issues[0]["severity"] == "major" and len(issues[0]["fingerprint"]) == 32


def test_c_file_checked_alone_reads_the_headers_it_includes(tmp_path: Path) -> None:
    """A hook on one staged file: the prototypes of `#include "io.h"` beside it say that
    `print_line` only reads its argument (a `const char *`), so the leak after it is found;
    the header's `#define` folds the constant branch. Nothing is reported in the header."""
    (tmp_path / "io.h").write_text(
        "#define VERBOSE 0\nvoid print_line(const char *line);\n"
        "static inline char *leaky_in_header(void) { char *p = malloc(4); return 0; }\n")
    (tmp_path / "main.c").write_text(
        '#include <stdlib.h>\n#include "io.h"\n'
        "void shown(void) {\n    char *d = malloc(8);\n    if (d == NULL)\n        return;\n"
        "    print_line(d);\n}\n"
        "void folded(void) {\n    char *d = malloc(8);\n    if (d == NULL)\n        return;\n"
        "    if (VERBOSE)\n        print_line(\"kept\");\n    else\n        free(d);\n}\n")
    r = run("check", "main.c", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "main.c:4:15: LK201 [malloc-without-free]" in r.stdout
    assert "folded" not in r.stdout and "io.h" not in r.stdout
    assert "Found 1 finding in 1 file" in r.stdout
    (tmp_path / "io.h").unlink()
    r = run("check", "main.c", cwd=tmp_path)
    # without the header: `print_line` may keep `d`, and `VERBOSE` may be true
    assert r.returncode == 1 and "`folded`" in r.stdout and "`shown`" not in r.stdout, r.stdout


def test_c_file_finds_its_headers_in_another_folder_of_the_project(tmp_path: Path) -> None:
    """`src/main.c` includes `"util.h"`, which a build would find with `-Iinclude`: the nearest
    header of that name under the project's root tells its prototypes and macros. Two headers
    of one name equally near leave it unresolved."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "include").mkdir()
    (tmp_path / "src" / "net").mkdir(parents=True)
    (tmp_path / "include" / "util.h").write_text(
        "#define OPEN open\nvoid print_line(const char *line);\n")
    (tmp_path / "src" / "net" / "main.c").write_text(
        '#include <stdlib.h>\n#include <fcntl.h>\n#include "util.h"\n'
        "void shown(void) {\n    char *d = malloc(8);\n    if (d == NULL)\n        return;\n"
        "    print_line(d);\n}\n"
        "int opened(const char *path) {\n    int fd = OPEN(path, O_RDONLY);\n    return fd < 0;\n}\n")
    r = run("check", "main.c", cwd=tmp_path / "src" / "net")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "main.c:5:15: LK201 [malloc-without-free]" in r.stdout, r.stdout
    assert "main.c:11:14: LK203 [fd-without-close]" in r.stdout, r.stdout
    assert "util.h" not in r.stdout
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.h").write_text("void print_line(char *line);\n")
    r = run("check", "main.c", cwd=tmp_path / "src" / "net")
    assert r.returncode == 0 and "Found 0 findings" in r.stdout, r.stdout
    # a folder the configuration excludes holds no candidate: include/util.h is the one again
    (tmp_path / "leakspot.toml").write_text('exclude = ["lib/"]\n')
    r = run("check", "main.c", cwd=tmp_path / "src" / "net")
    assert r.returncode == 1 and "main.c:11:14: LK203 [fd-without-close]" in r.stdout, r.stdout + r.stderr


def test_python_path_ends_on_the_statement_the_function_ends_on(tmp_path: Path) -> None:
    # modelled on logging.handlers.SMTPHandler.emit(): an exception after the connection is
    # made goes to the handler, and the function ends there with the connection open
    (tmp_path / "mail.py").write_text(
        "import smtplib\n\n\ndef emit(host, msg, report):\n    try:\n        smtp = smtplib.SMTP(host)\n"
        "        smtp.send_message(msg)\n        smtp.quit()\n    except Exception:\n        report(msg)\n")
    r = run("check", "mail.py", cwd=tmp_path)
    assert r.returncode == 1
    assert "path: line 6 -> line 10 (`smtp` is still open when `emit` ends here)" in r.stdout, r.stdout
