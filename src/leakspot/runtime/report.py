"""``leakspot trace report``: one self-contained HTML page about a trace.

``leakspot trace report TRACE... [--findings SARIF] [--budget 2GiB] -o report.html`` writes a
page with no outside resource (styles inline, plots as inline SVG drawn by matplotlib):

- per trace, the **total** live memory the trace saw over time, with a **forecast** of when it
  crosses ``--budget``: the Theil-Sen slope of the total (bytes per second,
  ``scipy.stats.theilslopes``) extended from the last sample; "not at this rate" when it does
  not grow;
- each **growing site**: its live bytes over time and the fitted 2nd-order polynomial scaled back
  to bytes (:func:`leakspot.runtime.factor.fit_window`), with class, leaked bytes, rate, p-value;
- for an exit-time report (memcheck, LeakSanitizer), its loss records as a table;
- for each site, the **static finding** that matches it in ``--findings`` (a SARIF log from
  ``leakspot check``; matched by its ``properties.evidence.site``, else by file and line) with
  the rule, the message and a code excerpt read from the source.

Memory here is what the tracer saw (for tracemalloc and memray with Python allocators: Python
objects, not the process's resident set).
"""

from __future__ import annotations

import html
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from leakspot.runtime.trace import Trace

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
          "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_size(text: str) -> int:
    """Bytes of a size such as ``2GiB``, ``512 MiB``, ``1.5GB`` or ``1000000``.

    Raises:
        ValueError: not a size.
    """
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (say 2GiB, 512MiB, 1.5GB or a number of bytes)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def human_bytes(n: float) -> str:
    """``1.5 MiB`` style text for ``n`` bytes."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def human_seconds(s: float) -> str:
    """``3 h 12 min`` style text for ``s`` seconds."""
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 3 * 86400:
        return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"
    return f"{s / 86400:.1f} days"


def forecast(trace: Trace, budget: int) -> dict:
    """When the trace's total live memory crosses ``budget`` bytes, at its Theil-Sen rate.

    Returns ``{"rate_bytes_per_s", "last_bytes", "last_s", "seconds_left", "total"}`` (``total``:
    the total at each sample, bytes); ``seconds_left`` is ``None`` when the total does not grow
    (and 0 when it is already over).
    """
    from leakspot.runtime.factor import theil_sen_rate

    times = np.asarray(trace.times, dtype=float)
    total = np.zeros(len(times))
    for values in trace.series.values():
        total += np.asarray(values, dtype=float)
    if len(times) < 3 or times[-1] <= times[0]:
        return {"rate_bytes_per_s": 0.0, "last_bytes": float(total[-1]) if len(total) else 0.0,
                "last_s": float(times[-1]) if len(times) else 0.0, "seconds_left": None, "total": total}
    rate = theil_sen_rate(times, total)
    last = float(total[-1])
    left = 0.0 if last >= budget else ((budget - last) / rate if rate > 0 else None)
    return {"rate_bytes_per_s": rate, "last_bytes": last, "last_s": float(times[-1]), "seconds_left": left,
            "total": total}


# ---------------------------------------------------------------------------------------------
# findings from SARIF


def read_findings(path: Path) -> list[dict]:
    """The results of a SARIF log as ``{"rule", "message", "file", "line", "end_line", "lines",
    "site", "verdict"}`` (``lines``: those its related locations and code flows name in its file) (``file`` as the log gives it, relative to its ``%SRCROOT%``; ``base``: that
    directory when the log names one).

    Raises:
        ValueError: not a SARIF log.
        OSError: the file cannot be read.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        runs = doc["runs"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a SARIF log ({exc})") from None
    out = []
    for run in runs:
        base = (run.get("originalUriBaseIds") or {}).get("%SRCROOT%", {}).get("uri", "")
        if base.startswith("file://"):
            base = base[len("file://"):]
        for r in run.get("results", []):
            try:
                loc = r["locations"][0]["physicalLocation"]
                uri = loc["artifactLocation"]["uri"]
                region = loc.get("region", {})
            except (KeyError, IndexError, TypeError):
                continue
            ev = (r.get("properties") or {}).get("evidence") or {}
            # the lines the result names in its own file: related locations (where a container
            # grows) and the steps of its code flows
            named = [x.get("physicalLocation", {}) for x in r.get("relatedLocations", [])]
            for flow in r.get("codeFlows", []):
                for thread in flow.get("threadFlows", []):
                    named += [x.get("location", {}).get("physicalLocation", {}) for x in thread.get("locations", [])]
            lines = {int(x.get("region", {}).get("startLine", 0)) for x in named
                     if x.get("artifactLocation", {}).get("uri") == uri}
            out.append({"rule": r.get("ruleId", ""), "message": (r.get("message") or {}).get("text", ""),
                        "file": uri, "base": base, "line": int(region.get("startLine", 1)),
                        "end_line": int(region.get("endLine", region.get("startLine", 1))),
                        "lines": sorted(lines - {0}), "site": ev.get("site"), "verdict": ev.get("verdict")})
    return out


def _same_file(site_file: str, finding: dict) -> bool:
    a = Path(site_file).parts
    b = Path(finding["file"]).parts
    n = min(len(a), len(b))
    return n > 0 and a[-n:] == b[-n:]


def match_finding(r, findings: list[dict]) -> dict | None:
    """The finding that explains site result ``r``: the one whose evidence names the site, else
    one in the same file whose lines (its region, related locations, code flow) hold the site or a
    frame of its stack."""
    site = f"{r.file}:{r.line}"
    for f in findings:
        if f["site"] == site:
            return f
    frames = [(r.file, r.line), *r.callers]
    for f in findings:
        if any(_same_file(file, f) and (f["line"] <= line <= f["end_line"] or line in f.get("lines", ()))
               for file, line in frames):
            return f
    return None


def _excerpt(finding: dict, around: int = 3) -> tuple[int, list[str]] | None:
    for candidate in (Path(finding["base"]) / finding["file"] if finding["base"] else None, Path(finding["file"])):
        if candidate is not None and candidate.is_file():
            try:
                lines = candidate.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                return None
            first = max(1, finding["line"] - around)
            return first, lines[first - 1: finding["end_line"] + around]
    return None


# ---------------------------------------------------------------------------------------------
# plots


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _site_plot(trace: Trace, r) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leakspot.runtime.factor import fit_window

    values = trace.series[(r.file, r.line)]
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    ax.plot(trace.times, values, "o", color="#1f77b4", markersize=3.5, label="live bytes", zorder=3)
    t0, t1, low, high = fit_window(trace.times, values)
    if t1 > t0:
        ts = np.linspace(t0, t1, 200)
        x = (ts - t0) / (t1 - t0)
        a, b, c = r.coefficients
        ax.plot(ts, low + (high - low) * (a * x * x + b * x + c), "-", color="#d62728", linewidth=2,
                alpha=0.85, label=f"fit: {r.klass}", zorder=2)
    _axes(ax)
    return _svg(fig)


def _axes(ax) -> None:
    from matplotlib.ticker import EngFormatter

    ax.set_xlabel("seconds")
    ax.set_ylabel("live memory")
    ax.yaxis.set_major_formatter(EngFormatter(unit="B"))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)


def _total_plot(trace: Trace, fc: dict, budget: int) -> str:
    """The total over the trace and, beside it when the total grows, its forecast up to the
    budget (the trace's own stretch, then the Theil-Sen line, dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    left = fc["seconds_left"]
    panels = 2 if left else 1
    fig, axes = plt.subplots(1, panels, figsize=(7.5 if panels == 1 else 10, 2.6), squeeze=False)
    ax = axes[0][0]
    ax.plot(trace.times, fc["total"], "-", color="#2ca02c", linewidth=1.8, label="total live memory")
    ax.set_title("the trace", fontsize=9)
    _axes(ax)
    if left:
        fx = axes[0][1]
        end = fc["last_s"] + left
        fx.plot(trace.times, fc["total"], "-", color="#2ca02c", linewidth=1.8, label="the trace")
        fx.plot([fc["last_s"], end], [fc["last_bytes"], float(budget)], "--", color="#ff7f0e", linewidth=1.8,
                label="forecast")
        fx.axhline(budget, color="#7f7f7f", linestyle=":", label="budget")
        fx.set_title(f"forecast: the budget in {human_seconds(left)}", fontsize=9)
        _axes(fx)
        fx.set_ylabel("")
    return _svg(fig)


# ---------------------------------------------------------------------------------------------
# the page

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em;margin-bottom:.3em}.meta{color:#666}.site{margin:1.2em 0 2em}
table{border-collapse:collapse;margin:.6em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.grows{color:#b00;font-weight:600}
.forecast{background:#fff6e5;border-left:4px solid #ff7f0e;padding:.5em .8em}
.finding{background:#f5f7fb;border-left:4px solid #1f77b4;padding:.5em .8em;margin-top:.5em}
pre{background:#fafafa;border:1px solid #eee;padding:.5em;overflow-x:auto;font-size:12.5px}
pre .hit{background:#ffe9a8;display:inline-block;width:100%}code{font-size:.95em}svg{max-width:100%;height:auto}
"""


def render(traces: list[tuple[str, Trace, list]], findings: list[dict], budget: int) -> str:
    """The report's HTML for ``(name, trace, analyze() results)`` triples (:func:`read_findings`
    for ``findings``; ``budget`` in bytes)."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>leakspot trace report</title>"
             f"<style>{_CSS}</style></head><body><h1>leakspot trace report</h1>",
             f"<p class='meta'>{len(traces)} trace(s), budget {e(human_bytes(budget))}, written "
             f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}</p>"]
    for name, trace, results in traces:
        growing = [r for r in results if r.growing]
        parts.append(f"<h2>{e(Path(name).name)} <span class='meta'>({e(trace.format)})</span></h2>")
        if trace.losses is not None:
            parts.append(f"<p>An exit-time report: {len(results)} loss record site(s), {len(growing)} definitely "
                         "lost.</p>")
            parts.append(_loss_table(results))
        else:
            fc = forecast(trace, budget)
            span = trace.times[-1] - trace.times[0] if len(trace.times) > 1 else 0.0
            parts.append(f"<p>{len(trace.times)} samples over {e(human_seconds(span))}; {len(results)} sites, "
                         f"<span class='grows'>{len(growing)} growing</span>.</p>")
            parts.append(_forecast_text(fc, budget))
            if len(trace.times) > 1:
                parts.append(_total_plot(trace, fc, budget))
        for r in growing:
            parts.append(_site_section(trace, r, match_finding(r, findings)))
        if not growing:
            parts.append("<p>No site grows at the stated confidence.</p>")
    parts.append("<p class='meta'>How the class, rate and p-value are computed: docs/runtime.md.</p></body></html>")
    return "\n".join(parts)


def _forecast_text(fc: dict, budget: int) -> str:
    left = fc["seconds_left"]
    rate = human_bytes(fc["rate_bytes_per_s"]) + "/s"
    if left is None:
        what = "The total does not grow: it does not reach the budget at this rate."
    elif left == 0:
        what = f"The total, {human_bytes(fc['last_bytes'])}, is already over the budget."
    else:
        what = (f"At {rate}, the total ({human_bytes(fc['last_bytes'])} at the end of the trace) reaches "
                f"{human_bytes(budget)} in <b>{human_seconds(left)}</b> more.")
    return f"<p class='forecast'>Forecast: {what}</p>"


def _site_section(trace: Trace, r, finding: dict | None) -> str:
    e = html.escape
    where = f"{_short(r.file)}:{r.line}"
    head = (f"<div class='site'><h3><code>{e(where)}</code> {e(r.function)}</h3>"
            f"<table><tr><th>class</th><th>leaked</th><th>rate</th><th>p-value</th><th>confidence</th></tr>"
            f"<tr><td class='grows'>{e(r.klass)}</td><td class='n'>{e(human_bytes(r.leaked_bytes))}</td>")
    if r.p_value is None:
        head += "<td class='n'>-</td><td class='n'>-</td><td class='n'>exit-time record</td></tr></table>"
    else:
        head += (f"<td class='n'>{e(human_bytes(r.rate_bytes_per_s))}/s</td><td class='n'>{r.p_value:.2g}</td>"
                 f"<td class='n'>{r.confidence:.4f}</td></tr></table>")
        if (r.file, r.line) in trace.series:
            head += _site_plot(trace, r)
    if finding is None:
        head += "<p class='meta'>No static finding matches this site.</p>"
    else:
        head += (f"<div class='finding'><b>{e(finding['rule'])}</b> {e(finding['message'])}<br>"
                 f"<code>{e(finding['file'])}:{finding['line']}</code>")
        excerpt = _excerpt(finding)
        if excerpt:
            first, lines = excerpt
            rows = []
            for k, text in enumerate(lines):
                n = first + k
                row = f"{n:>5}  {e(text)}"
                rows.append(f"<span class='hit'>{row}</span>" if finding["line"] <= n <= finding["end_line"] else row)
            head += "<pre>" + "\n".join(rows) + "</pre>"
        head += "</div>"
    return head + "</div>"


def _short(path: str) -> str:
    """``path`` relative to the current directory when it is under it."""
    try:
        rel = Path(path).resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return path
    return rel.as_posix()


def _loss_table(results: list) -> str:
    e = html.escape
    rows = ["<table><tr><th>site</th><th>function</th><th>kind</th><th>bytes</th><th>blocks</th></tr>"]
    for r in results:
        cls = " class='grows'" if r.growing else ""
        rows.append(f"<tr><td><code>{e(_short(r.file))}:{r.line}</code></td><td>{e(r.function)}</td><td{cls}>{e(r.klass)}"
                    f"</td><td class='n'>{r.leaked_bytes:,}</td><td class='n'>{r.blocks or 0:,}</td></tr>")
    return "".join(rows) + "</table>"

