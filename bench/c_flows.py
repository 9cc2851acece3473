"""Precision and recall of the C leak rules on generated flow-variant programs.

Writes a small C project: a support library (``support.h``/``support.c``: printing functions
that only read, constants, functions that return constants) and one file per (flow variant,
resource) pair, each with a ``bad`` function that leaks the resource once and ``good``
functions that do not. The flow variants are the control- and data-flow shapes that leak test
suites are built from: constant conditions of every kind (literals, ``#define``, ``static
const``, never-written ``static`` and global variables, functions returning constants, in this
file or in another), ``switch``, ``while (1) ... break``, ``for`` loops that run once, ``goto``,
copies of the pointer, sinks and sources in the same file and in other files, pointers to the
pointer, function pointers, structs and arrays. The resources are heap memory (``malloc``,
``calloc``, ``strdup``), ``FILE *`` (``fopen``), descriptors (``open``, and ``OPEN``/``CLOSE``
macros for ``open``/``close`` defined in the support header) and directory streams
(``opendir``). The code is generated here, written for this benchmark.

Then it runs ``leakspot check`` on the whole project (one run) and on each file alone (as a
pre-commit hook on one staged file would, its headers beside it), and ``gcc -fanalyzer`` on each
file with ``support.c`` when gcc is installed. A finding inside a ``bad`` function is a true
positive (one per function at most), any finding in a ``good`` function a false positive, a
``bad`` function without a finding a false negative. It prints precision, recall and F1 per
tool and the cases each one gets wrong.

Usage: ``python bench/c_flows.py [--keep DIR] [--no-gcc] [--show-misses]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUPPORT_H = """#ifndef SUPPORT_H
#define SUPPORT_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#define DEFINE_TRUE 1
#define DEFINE_FALSE 0
#ifdef _WIN32
#define OPEN _open
#define CLOSE _close
#else
#define OPEN open
#define CLOSE close
#endif
typedef struct { void *first; void *second; } pair_t;
extern const int GLOBAL_CONST_TRUE;
extern const int GLOBAL_CONST_FALSE;
extern const int GLOBAL_CONST_FIVE;
extern int globalTrue;
extern int globalFalse;
extern int globalFive;
int globalReturnsTrue(void);
int globalReturnsFalse(void);
int globalReturnsTrueOrFalse(void);
void printLine(const char *line);
void printInt(int value);
void printPointer(void *p);
#endif
"""

SUPPORT_C = """#include "support.h"
const int GLOBAL_CONST_TRUE = 1;
const int GLOBAL_CONST_FALSE = 0;
const int GLOBAL_CONST_FIVE = 5;
int globalTrue = 1;
int globalFalse = 0;
int globalFive = 5;
int globalReturnsTrue(void) { return 1; }
int globalReturnsFalse(void) { return 0; }
int globalReturnsTrueOrFalse(void) { return rand() % 2; }
void printLine(const char *line) { if (line != NULL) printf("%s\\n", line); }
void printInt(int value) { printf("%d\\n", value); }
void printPointer(void *p) { printf("%p\\n", p); }
"""

#: resource: (type, variable declaration, acquire, failure test, release, use)
RESOURCES = {
    "malloc": ("char *", "NULL", "(char *)malloc(100)", "{v} == NULL", "free({v})", "strcpy({v}, \"x\"); printLine({v})"),
    "calloc": ("int *", "NULL", "(int *)calloc(10, sizeof(int))", "{v} == NULL", "free({v})", "{v}[0] = 5; printInt({v}[0])"),
    "strdup": ("char *", "NULL", "strdup(\"text\")", "{v} == NULL", "free({v})", "printLine({v})"),
    "fopen": ("FILE *", "NULL", "fopen(\"out.txt\", \"w+\")", "{v} == NULL", "fclose({v})", "fputs(\"x\", {v})"),
    "open": ("int ", "-1", "open(\"out.txt\", O_RDWR | O_CREAT, 0600)", "{v} < 0", "close({v})", "write({v}, \"x\", 1)"),
    "opendir": ("DIR *", "NULL", "opendir(\".\")", "{v} == NULL", "closedir({v})", "printPointer(readdir({v}))"),
    # descriptors through the header's OPEN/CLOSE macros, as portable code spells them
    "OPEN": ("int ", "-1", "OPEN(\"out.txt\", O_RDWR | O_CREAT, 0600)", "{v} < 0", "CLOSE({v})", "write({v}, \"x\", 1)"),
}

#: constant-condition variants: (file-scope definitions, true condition, false condition)
CONSTANTS = {
    "02_literal": ("", "1", "0"),
    "03_literal_compare": ("", "5 == 5", "5 != 5"),
    "04_static_const": ("static const int STATIC_CONST_TRUE = 1;\nstatic const int STATIC_CONST_FALSE = 0;\n",
                        "STATIC_CONST_TRUE", "STATIC_CONST_FALSE"),
    "05_static_var": ("static int staticTrue = 1;\nstatic int staticFalse = 0;\n", "staticTrue", "staticFalse"),
    "06_static_const_five": ("static const int STATIC_CONST_FIVE = 5;\n", "STATIC_CONST_FIVE == 5", "STATIC_CONST_FIVE != 5"),
    "07_static_five": ("static int staticFive = 5;\n", "staticFive == 5", "staticFive != 5"),
    "08_static_function": ("static int staticReturnsTrue(void) { return 1; }\nstatic int staticReturnsFalse(void) { return 0; }\n",
                           "staticReturnsTrue()", "staticReturnsFalse()"),
    "09_global_const": ("", "GLOBAL_CONST_TRUE", "GLOBAL_CONST_FALSE"),
    "10_global_var": ("", "globalTrue", "globalFalse"),
    "11_global_function": ("", "globalReturnsTrue()", "globalReturnsFalse()"),
    "13_global_const_five": ("", "GLOBAL_CONST_FIVE == 5", "GLOBAL_CONST_FIVE != 5"),
    "14_global_five": ("", "globalFive == 5", "globalFive != 5"),
    "19_define": ("", "DEFINE_TRUE", "DEFINE_FALSE"),
}


def _body(r: str, release: bool, v: str = "data") -> tuple[str, str, str]:
    """(declaration + acquisition + check + use, release or empty, type) for resource ``r``."""
    typ, init, acquire, fail, rel, use = RESOURCES[r]
    head = (f"    {typ}{v} = {init};\n    {v} = {acquire};\n"
            f"    if ({fail.format(v=v)}) exit(1);\n    {use.format(v=v)};\n")
    return head, (f"    {rel.format(v=v)};\n" if release else "    ; /* no release */\n"), typ


def variants(r: str) -> dict[str, str]:
    """File name -> C source for resource ``r`` (plus extra files for cross-file variants)."""
    typ, init, acquire, fail, rel, use = RESOURCES[r]
    head, free_, _ = _body(r, True)
    _, keep, _ = _body(r, False)
    acq = f"    data = {acquire};\n    if ({fail.format(v='data')}) exit(1);\n    {use.format(v='data')};\n"
    decl = f"    {typ}data = {init};\n"
    out: dict[str, str] = {}

    def unit(name: str, text: str, top: str = "") -> None:
        out[f"{name}_{r}.c"] = f'#include "support.h"\n{top}\n{text}'

    unit("01_plain", f"void bad(void) {{\n{head}{keep}}}\n\nvoid good(void) {{\n{head}{free_}}}\n")
    for name, (top, yes, no) in CONSTANTS.items():
        unit(name, f"void bad(void) {{\n{decl}    if ({yes}) {{\n{acq}    }}\n    if ({yes}) {{\n    ;\n    }}\n}}\n\n"
                   f"void good1(void) {{\n{decl}    if ({yes}) {{\n{acq}    }}\n    if ({no}) {{\n        printLine(\"benign\");\n"
                   f"    }} else {{\n        {rel.format(v='data')};\n    }}\n}}\n\n"
                   f"void good2(void) {{\n{decl}    if ({yes}) {{\n{acq}    }}\n    if ({yes}) {{\n        {rel.format(v='data')};\n    }}\n}}\n",
             top)
    unit("12_either", f"void bad(void) {{\n{decl}    if (globalReturnsTrueOrFalse()) {{\n{acq}    }} else {{\n{acq}"
                      f"        {rel.format(v='data')};\n    }}\n}}\n\n"
                      f"void good(void) {{\n{decl}    if (globalReturnsTrueOrFalse()) {{\n{acq}        {rel.format(v='data')};\n"
                      f"    }} else {{\n{acq}        {rel.format(v='data')};\n    }}\n}}\n")
    unit("15_switch", f"void bad(void) {{\n{decl}    switch (6) {{\n    case 6:\n{acq}        break;\n    default:\n"
                      f"        printLine(\"benign\");\n        break;\n    }}\n}}\n\n"
                      f"void good(void) {{\n{decl}    switch (6) {{\n    case 6:\n{acq}        break;\n    default:\n"
                      f"        printLine(\"benign\");\n        break;\n    }}\n    switch (7) {{\n    case 7:\n"
                      f"        {rel.format(v='data')};\n        break;\n    default:\n        printLine(\"benign\");\n        break;\n    }}\n}}\n")
    unit("16_while_break", f"void bad(void) {{\n{decl}    while (1) {{\n{acq}        break;\n    }}\n}}\n\n"
                           f"void good(void) {{\n{decl}    while (1) {{\n{acq}        break;\n    }}\n    while (1) {{\n"
                           f"        {rel.format(v='data')};\n        break;\n    }}\n}}\n")
    unit("17_for_once", f"void bad(void) {{\n    int i;\n{decl}    for (i = 0; i < 1; i++) {{\n{acq}    }}\n}}\n\n"
                        f"void good(void) {{\n    int i, j;\n{decl}    for (i = 0; i < 1; i++) {{\n{acq}    }}\n"
                        f"    for (j = 0; j < 1; j++) {{\n        {rel.format(v='data')};\n    }}\n}}\n")
    unit("18_goto", f"void bad(void) {{\n{decl}    goto source;\nsource:\n{acq}    goto sink;\nsink:\n    ;\n}}\n\n"
                    f"void good(void) {{\n{decl}    goto source;\nsource:\n{acq}    goto sink;\nsink:\n    {rel.format(v='data')};\n}}\n")
    unit("31_copy", f"void bad(void) {{\n{decl}{acq}    {{\n        {typ}copy = data;\n        {typ}again = copy;\n"
                    f"        {use.format(v='again')};\n    }}\n}}\n\n"
                    f"void good(void) {{\n{decl}{acq}    {{\n        {typ}copy = data;\n        {typ}again = copy;\n"
                    f"        {rel.format(v='again')};\n    }}\n}}\n")
    unit("41_sink", f"static void badSink({typ}data) {{\n    {use.format(v='data')};\n}}\n\n"
                    f"void bad(void) {{\n{decl}{acq}    badSink(data);\n}}\n\n"
                    f"static void goodSink({typ}data) {{\n    {use.format(v='data')};\n    {rel.format(v='data')};\n}}\n\n"
                    f"void good(void) {{\n{decl}{acq}    goodSink(data);\n}}\n")
    unit("42_source", f"static {typ}source(void) {{\n{decl}{acq}    return data;\n}}\n\n"
                      f"void bad(void) {{\n    {typ}data = source();\n    {use.format(v='data')};\n}}\n\n"
                      f"void good(void) {{\n    {typ}data = source();\n    {rel.format(v='data')};\n}}\n")
    unit("44_function_pointer", f"static void badSink({typ}data) {{\n    {use.format(v='data')};\n}}\n\n"
                                f"void bad(void) {{\n    void (*sink)({typ}) = badSink;\n{decl}{acq}    sink(data);\n}}\n\n"
                                f"static void goodSink({typ}data) {{\n    {rel.format(v='data')};\n}}\n\n"
                                f"void good(void) {{\n    void (*sink)({typ}) = goodSink;\n{decl}{acq}    sink(data);\n}}\n")
    unit("63_pointer_to_pointer", f"static void badSink({typ}*dataPtr) {{\n    {typ}data = *dataPtr;\n    {use.format(v='data')};\n}}\n\n"
                                  f"void bad(void) {{\n{decl}{acq}    badSink(&data);\n}}\n\n"
                                  f"static void goodSink({typ}*dataPtr) {{\n    {typ}data = *dataPtr;\n    {rel.format(v='data')};\n}}\n\n"
                                  f"void good(void) {{\n{decl}{acq}    goodSink(&data);\n}}\n")
    unit("64_void_pointer", f"static void badSink(void *voidPtr) {{\n    {typ}*dataPtr = ({typ}*)voidPtr;\n    {typ}data = *dataPtr;\n"
                            f"    {use.format(v='data')};\n}}\n\n"
                            f"void bad(void) {{\n{decl}{acq}    badSink(&data);\n}}\n\n"
                            f"static void goodSink(void *voidPtr) {{\n    {typ}*dataPtr = ({typ}*)voidPtr;\n    {typ}data = *dataPtr;\n"
                            f"    {rel.format(v='data')};\n}}\n\n"
                            f"void good(void) {{\n{decl}{acq}    goodSink(&data);\n}}\n")
    unit("66_array", f"static void badSink({typ}array[]) {{\n    {typ}data = array[2];\n    {use.format(v='data')};\n}}\n\n"
                     f"void bad(void) {{\n    {typ}array[5];\n{decl}{acq}    array[2] = data;\n    badSink(array);\n}}\n\n"
                     f"static void goodSink({typ}array[]) {{\n    {typ}data = array[2];\n    {rel.format(v='data')};\n}}\n\n"
                     f"void good(void) {{\n    {typ}array[5];\n{decl}{acq}    array[2] = data;\n    goodSink(array);\n}}\n")
    unit("67_struct", f"typedef struct {{ {typ}first; }} holder_t;\n\n"
                      f"static void badSink(holder_t h) {{\n    {typ}data = h.first;\n    {use.format(v='data')};\n}}\n\n"
                      f"void bad(void) {{\n    holder_t h;\n{decl}{acq}    h.first = data;\n    badSink(h);\n}}\n\n"
                      f"static void goodSink(holder_t h) {{\n    {typ}data = h.first;\n    {rel.format(v='data')};\n}}\n\n"
                      f"void good(void) {{\n    holder_t h;\n{decl}{acq}    h.first = data;\n    goodSink(h);\n}}\n")
    # data handed to a sink, or taken from a source, in another file
    out[f"51a_other_file_sink_{r}.c"] = (f'#include "support.h"\nvoid badSink51_{r}({typ}data);\nvoid goodSink51_{r}({typ}data);\n\n'
                                         f"void bad(void) {{\n{decl}{acq}    badSink51_{r}(data);\n}}\n\n"
                                         f"void good(void) {{\n{decl}{acq}    goodSink51_{r}(data);\n}}\n")
    out[f"51b_other_file_sink_{r}.c"] = (f'#include "support.h"\n'
                                         f"void badSink51_{r}({typ}data) {{\n    {use.format(v='data')};\n}}\n\n"
                                         f"void goodSink51_{r}({typ}data) {{\n    {rel.format(v='data')};\n}}\n")
    out[f"61a_other_file_source_{r}.c"] = (f'#include "support.h"\n{typ}source61_{r}(void);\n\n'
                                           f"void bad(void) {{\n    {typ}data = source61_{r}();\n    {use.format(v='data')};\n}}\n\n"
                                           f"void good(void) {{\n    {typ}data = source61_{r}();\n    {rel.format(v='data')};\n}}\n")
    out[f"61b_other_file_source_{r}.c"] = (f'#include "support.h"\n{typ}source61_{r}(void) {{\n{decl}{acq}    return data;\n}}\n')
    return out


FUNC = re.compile(r"^(?:static )?[\w\s\*]+?\b(\w+)\s*\([^;{]*\)\s*\{", re.M)


def functions_by_line(src: str) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of each top-level function (1-based lines)."""
    lines = src.split("\n")
    out = []
    for m in FUNC.finditer(src):
        start = src.count("\n", 0, m.start()) + 1
        depth, line = 0, start
        for i in range(start - 1, len(lines)):
            depth += lines[i].count("{") - lines[i].count("}")
            if depth == 0 and "{" in "".join(lines[start - 1:i + 1]):
                line = i + 1
                break
        out.append((start, line, m.group(1)))
    return out


def score(project: Path, findings: dict[str, set[int]]) -> dict:
    """TP/FP/FN over the ``bad``/``good*`` functions, from the finding lines per file."""
    tp = fp = fn = 0
    misses, noise = [], []
    for path in sorted(project.glob("*.c")):
        if path.name == "support.c":
            continue
        src = path.read_text()
        for first, last, name in functions_by_line(src):
            hit = any(first <= ln <= last for ln in findings.get(path.name, ()))
            if name == "bad":
                tp += hit
                fn += not hit
                if not hit:
                    misses.append(path.name)
            elif name.startswith("good"):
                fp += hit
                if hit:
                    noise.append(f"{path.name}:{name}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1,
            "misses": misses, "noise": noise}


def leakspot_findings(project: Path, files: list[Path] | None) -> dict[str, set[int]]:
    """Finding lines per file name: one run over the project, or one run per file."""
    out: dict[str, set[int]] = {}
    runs = [[str(project)]] if files is None else [[str(f)] for f in files]
    for args in runs:
        r = subprocess.run([sys.executable, "-m", "leakspot", "check", *args, "--select", "LK2", "--format", "json",
                            "--root", str(project)], capture_output=True, text=True, cwd=project)
        for f in json.loads(r.stdout)["findings"]:
            out.setdefault(Path(f["path"]).name, set()).add(f["line"])
    return out


def gcc_findings(project: Path, files: list[Path]) -> dict[str, set[int]]:
    """``gcc -fanalyzer`` leak warnings (CWE-401, CWE-775: -Wanalyzer-malloc-leak,
    -Wanalyzer-file-leak, -Wanalyzer-fd-leak) per file, each compiled with support.c."""
    out: dict[str, set[int]] = {}
    pattern = re.compile(r"^([^:\s]+\.c):(\d+):\d+: warning: .*\[-Wanalyzer-(?:malloc|file|fd)-leak\]", re.M)
    for f in files:
        partner = [str(project / f.name.replace("a_", "b_", 1))] if re.match(r"\d+a_", f.name) else []
        # link-time analysis (-flto) sees support.c and the partner file, as a program would
        r = subprocess.run(["gcc", "-fanalyzer", "-flto", "-shared", "-fPIC", "-o", os.devnull, str(f), *partner,
                            str(project / "support.c")], capture_output=True, text=True, cwd=project)
        for m in pattern.finditer(r.stderr):
            out.setdefault(Path(m.group(1)).name, set()).add(int(m.group(2)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", type=Path, help="write the project here and keep it")
    ap.add_argument("--no-gcc", action="store_true", help="do not run gcc -fanalyzer")
    ap.add_argument("--show-misses", action="store_true", help="list the cases each tool gets wrong")
    args = ap.parse_args(argv)
    project = args.keep or Path(tempfile.mkdtemp(prefix="leakspot-flows-"))
    project.mkdir(parents=True, exist_ok=True)
    (project / "support.h").write_text(SUPPORT_H)
    (project / "support.c").write_text(SUPPORT_C)
    for r in RESOURCES:
        for name, text in variants(r).items():
            (project / name).write_text(text)
    files = sorted(p for p in project.glob("*.c") if p.name != "support.c")
    print(f"{len(files)} files, {len(RESOURCES)} resources; bad functions leak once, good ones never")
    tools = [("leakspot (whole project)", lambda: leakspot_findings(project, None)),
             ("leakspot (each file alone)", lambda: leakspot_findings(project, [f for f in files if "b_other" not in f.name]))]
    if not args.no_gcc and shutil.which("gcc"):
        tools.append(("gcc -fanalyzer", lambda: gcc_findings(project, [f for f in files if "b_other" not in f.name])))
    print(f"{'tool':30} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7} {'F1':>6} {'seconds':>8}")
    for label, get in tools:
        start = time.perf_counter()
        found = get()
        seconds = time.perf_counter() - start
        s = score(project, found)
        print(f"{label:30} {s['tp']:4} {s['fp']:4} {s['fn']:4} {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} {seconds:8.1f}")
        if args.show_misses:
            for m in s["misses"]:
                print(f"    missed: {m}")
            for m in s["noise"]:
                print(f"    false positive: {m}")
    if not args.keep:
        shutil.rmtree(project)
    return 0


if __name__ == "__main__":
    sys.exit(main())
