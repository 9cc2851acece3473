"""SARIF 2.1.0 (OASIS standard, errata 01) for machines and GitHub code scanning.

Written as plain JSON from our own model. Section numbers refer to the SARIF 2.1.0 spec.
URIs are relative to ``%SRCROOT%`` (§3.14.14 ``originalUriBaseIds``), each rule is a
``reportingDescriptor`` with ``id`` = code and ``name`` = slug (§3.49), each result has
``ruleIndex`` (§3.27.6), ``partialFingerprints`` (§3.27.17), related locations and a
``codeFlow`` (§3.36) from the allocation to the leaking exit. Unreadable or unparseable files
are ``toolExecutionNotifications`` of the invocation (§3.20.21).
"""

from __future__ import annotations

import json
from pathlib import Path

from leakspot import __version__
from leakspot.runtime.matcher import RANK
from leakspot.engine import RunResult
from leakspot.model import Location, Notification
from leakspot.registry import Rule, load_rules

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/leakspot/leakspot"
FINGERPRINT_KEY = "leakspotFingerprint/v1"
#: GitHub's security-severity scale (0-10) for rules with a CWE: resource exhaustion (DoS).
SECURITY_SEVERITY = {"error": "7.5", "warning": "5.3", "note": "3.1"}


def rule_descriptor(rule: Rule) -> dict:
    """The SARIF ``reportingDescriptor`` of a rule, generated from its document."""
    tags = ["leak", *rule.languages] + [f"external/cwe/cwe-{c}" for c in rule.cwe]
    props = {
        "tags": tags,
        "precision": {"high": "high", "medium": "medium", "low": "low"}[rule.confidence],
        "problem.severity": {"error": "error", "warning": "warning", "note": "recommendation"}[rule.severity],
    }
    if rule.cwe:
        props["security-severity"] = SECURITY_SEVERITY[rule.severity]
    first_paragraph = rule.why.split("\n\n")[0].replace("\n", " ")
    return {
        "id": rule.code,
        "name": rule.slug,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": first_paragraph},
        "help": {"text": rule.why, "markdown": rule.body},
        "helpUri": rule.help_uri,
        # §3.50.2: a rule that is off by default says so; a run that selected it says so in
        # its invocation's ruleConfigurationOverrides (§3.20.5)
        "defaultConfiguration": {"level": rule.severity} if rule.default_enabled
        else {"enabled": False, "level": rule.severity},
        "properties": props,
    }


def _physical(loc: Location) -> dict:
    r = loc.region
    return {
        "artifactLocation": {"uri": loc.path, "uriBaseId": "%SRCROOT%"},
        "region": {
            "startLine": r.start_line,
            "startColumn": r.start_column,
            "endLine": r.end_line,
            "endColumn": max(r.end_column, r.start_column + 1) if r.end_line == r.start_line else r.end_column,
        },
    }


def _location(loc: Location, id_: int | None = None) -> dict:
    out: dict = {"physicalLocation": _physical(loc)}
    if id_ is not None:
        out["id"] = id_
    if loc.message:
        out["message"] = {"text": loc.message}
    return out


def _notification(n: Notification) -> dict:
    out: dict = {"level": n.level, "message": {"text": f"{n.path}: {n.message}" if n.path else n.message}}
    if n.path:
        loc = {"physicalLocation": {"artifactLocation": {"uri": n.path, "uriBaseId": "%SRCROOT%"}}}
        if n.line:
            loc["physicalLocation"]["region"] = {"startLine": n.line}
        out["locations"] = [loc]
    out["properties"] = {"kind": n.kind}
    return out


def to_sarif(result: RunResult, category: str = "leakspot", report_suppressed: bool = False) -> dict:
    """The SARIF log as a dict.

    Args:
        result: the run.
        category: ``automationDetails.id`` prefix; GitHub keeps one set of alerts per category.
        report_suppressed: also write suppressed findings, each with ``suppressions`` (§3.27.23,
            kind ``inSource`` with the justification). Off by default: GitHub code scanning
            opens suppressed results as alerts anyway.
    """
    rules = list(load_rules())
    index = {r.code: i for i, r in enumerate(rules)}
    results = []
    shown = result.findings + (result.suppressed if report_suppressed else [])
    for f in sorted(shown, key=lambda f: f.sort_key()):
        rule = rules[index[f.code]]
        res = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": rule.severity,
            "message": {"text": f.message},
            "locations": [_location(f.location)],
            "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        }
        if f.suppression is not None:
            res["suppressions"] = [{"kind": f.suppression_kind, "justification": f.suppression}]
        if f.evidence is not None:
            res["properties"] = {"evidence": f.evidence}
            if f.evidence["verdict"] in RANK:
                res["rank"] = RANK[f.evidence["verdict"]]
        if f.related:
            res["relatedLocations"] = [_location(loc, i + 1) for i, loc in enumerate(f.related)]
        if f.flow:
            res["codeFlows"] = [{
                "message": {"text": f.message},
                "threadFlows": [{
                    "locations": [
                        {"location": _location(step.location), "kinds": [step.kind]} if step.kind
                        else {"location": _location(step.location)}
                        for step in f.flow
                    ]
                }],
            }]
        results.append(res)
    root = Path(result.root).resolve().as_uri().rstrip("/") + "/"
    overrides = [{"descriptor": {"id": r.code, "index": index[r.code]}, "configuration": {"enabled": True}}
                 for r in rules if not r.default_enabled and r.code in result.codes]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "leakspot",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(r) for r in rules],
            }},
            "automationDetails": {"id": category.rstrip("/") + "/"},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root}},
            "invocations": [{
                **({"ruleConfigurationOverrides": overrides} if overrides else {}),
                "executionSuccessful": not any(n.kind == "internal-error" for n in result.notifications),
                "toolExecutionNotifications": [_notification(n) for n in result.notifications],
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render(result: RunResult, category: str = "leakspot", report_suppressed: bool = False) -> str:
    """The SARIF log as JSON text with a trailing newline."""
    return json.dumps(to_sarif(result, category, report_suppressed), indent=2) + "\n"
