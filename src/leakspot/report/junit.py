"""JUnit XML for CI systems that show test reports: one test case per file, failing when the
file has findings (one ``<failure>`` per finding). Schema: the de-facto Ant/Jenkins JUnit format."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from leakspot.engine import RunResult


def render(result: RunResult) -> str:
    """The JUnit XML document, files with findings first-sorted by path."""
    by_file = defaultdict(list)
    for f in result.findings:
        by_file[f.location.path].append(f)
    suite = ET.Element("testsuite", name="leakspot", tests=str(max(len(by_file), 1)),
                       failures=str(len(result.findings)), errors=str(sum(n.level == "error" for n in result.notifications)))
    for path in sorted(by_file):
        case = ET.SubElement(suite, "testcase", classname="leakspot", name=path)
        for f in by_file[path]:
            r = f.location.region
            failure = ET.SubElement(case, "failure", type=f"{f.code} {f.slug}",
                                    message=f"{path}:{r.start_line}:{r.start_column}: {f.message}")
            failure.text = f"{path}:{r.start_line}:{r.start_column}: {f.code} [{f.slug}] {f.message}"
    for n in result.notifications:
        if n.level == "error":
            case = ET.SubElement(suite, "testcase", classname="leakspot", name=n.path)
            ET.SubElement(case, "error", message=n.message).text = n.message
    if not by_file and not any(n.level == "error" for n in result.notifications):
        ET.SubElement(suite, "testcase", classname="leakspot", name="no findings")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
