"""Reporters: each turns a :class:`leakspot.engine.RunResult` into text for one audience."""

from __future__ import annotations

from collections.abc import Callable

from leakspot.engine import RunResult


def get_reporter(name: str) -> Callable[[RunResult], str]:
    """The reporter function for ``--format name``.

    Raises:
        KeyError: unknown format.
    """
    from leakspot.report import github, gitlab, junit, sarif, text
    from leakspot.report import json as json_report

    return {"text": text.render, "json": json_report.render, "sarif": sarif.render, "github": github.render,
            "junit": junit.render, "gitlab": gitlab.render}[name]


FORMATS = ("text", "json", "sarif", "github", "junit", "gitlab")
