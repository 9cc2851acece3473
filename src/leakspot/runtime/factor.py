"""The leak factor of an allocation site, and whether its growth is significant.

For each site of a trace (:mod:`leakspot.runtime.trace`), with live bytes ``b_i`` at wall-clock
times ``t_i`` (seconds; samples may be uneven, so time is never the sample index, which would
make a linear leak look logarithmic):

1. **Normalise** both axes to [0, 1]: ``x = (t - t_0) / (t_n - t_0)``, ``y = (b - min b) / (max b -
   min b)``. A leading flat stretch (a leak that starts mid-run) is cut off first, so the shape
   is that of the growth itself.
2. **Fit** ``y = a x^2 + b x + c`` by least squares (``numpy.polyfit``) and **classify** by the
   fitted slope at the start (``b``) and at the end (``2a + b``): *constant* (a range under
   ``min_growth`` bytes or no significant trend), *logarithmic* (the slope falls to under 0.4 of
   its start: a cache filling up to its bound), *exponential* (it rises over 2.5 times:
   super-linear growth), otherwise *linear*: the classes of edLeak's leak factor.
3. **Leaked bytes**: the fitted rise over the run scaled back, ``(p(1) - p(0)) * (max b - min
   b)``; **rate**: the Theil-Sen slope of bytes over seconds (``scipy.stats.theilslopes``),
   which a few outliers do not move.
4. **Significance**: the Mann-Kendall trend test on the minimum of each of up to 10 equal
   blocks of samples (minima ignore the saw-tooth of garbage that is collected later, and
   blocks damp autocorrelation): Kendall's tau of the minima against their order
   (``scipy.stats.kendalltau``), one-sided for an increase. Across the sites of a trace the
   p-values are adjusted by Benjamini-Hochberg (``scipy.stats.false_discovery_control``) over
   the sites whose live bytes vary by at least ``min_growth`` (the others are not tested:
   independent filtering, Bourgon, Gentleman and Huber, PNAS 2010).

A site **grows** when its adjusted p-value is under ``1 - confidence``, its floor rose by
``min_growth`` bytes at least (the median of the later half of the block minima less that of
the earlier half: a significant trend of a few hundred bytes is the sampler's phase drifting
over churn, not a leak), and its class is linear or exponential: a significant rise that
saturates is a cache filling, not a leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from leakspot.runtime.trace import Site, Trace

CLASSES = ("constant", "linear", "logarithmic", "exponential")
#: Default confidence of a "grows" verdict: p (Benjamini-Hochberg adjusted) < 0.01.
CONFIDENCE = 0.99


@dataclass
class SiteResult:
    """The verdict on one allocation site.

    Attributes:
        file, line: the allocation site (1-based line).
        function: the function around that line, when the source file could be read ("" else).
        klass: ``constant`` | ``linear`` | ``logarithmic`` | ``exponential``.
        growing: the verdict (see the module docstring).
        leaked_bytes: the fitted rise over the run, in bytes.
        rate_bytes_per_s: Theil-Sen slope, bytes per second.
        p_value: Mann-Kendall one-sided p-value, Benjamini-Hochberg adjusted over the trace's
            sites; ``None`` for an exit-time loss record, which is a fact, not a trend.
        confidence: ``1 - p_value`` (1 for a loss record).
        first_bytes, last_bytes, peak_bytes: live bytes at the first and last sample, and at most.
        coefficients: ``(a, b, c)`` of the fit on the normalised (trimmed) series.
        samples: number of samples.
        callers: the (file, line) frames of the stacks that allocated here, when recorded.
        blocks: the blocks of an exit-time loss record (``None`` for a series).
    """

    file: str
    line: int
    function: str
    klass: str
    growing: bool
    leaked_bytes: int
    rate_bytes_per_s: float
    p_value: float | None
    confidence: float
    first_bytes: int
    last_bytes: int
    peak_bytes: int
    coefficients: tuple[float, float, float]
    samples: int
    callers: tuple[Site, ...] = ()
    blocks: int | None = None

    def as_json(self) -> dict:
        """The documented JSON object of ``leakspot trace analyze --format json``."""
        return {
            "file": self.file, "line": self.line, "function": self.function, "class": self.klass,
            "growing": self.growing, "leaked_bytes": self.leaked_bytes,
            "rate_bytes_per_s": round(self.rate_bytes_per_s, 3), "p_value": self.p_value,
            "confidence": round(self.confidence, 6), "first_bytes": self.first_bytes,
            "last_bytes": self.last_bytes, "peak_bytes": self.peak_bytes, "samples": self.samples,
            "coefficients": [round(c, 6) for c in self.coefficients],
            **({"blocks": self.blocks} if self.blocks is not None else {}),
        }


def _block_minima(values: np.ndarray) -> np.ndarray:
    """The minimum of each of up to 10 equal blocks of ``values`` (blocks of two samples at
    least: short traces keep some power)."""
    k = min(10, len(values) // 2)
    return np.array([b.min() for b in np.array_split(values, k)], dtype=float)


def floor_rise(values: np.ndarray) -> float:
    """How far the floor of a series rose (bytes): the median of the later half of the block
    minima less the median of the earlier half (0 for fewer than 6 samples)."""
    if len(values) < 6:
        return 0.0
    minima = _block_minima(values)
    half = len(minima) // 2
    return float(np.median(minima[half:]) - np.median(minima[:half]))


def _trend_p(times: np.ndarray, values: np.ndarray) -> float:
    """One-sided Mann-Kendall p-value for an increase, on the minima of up to 10 blocks."""
    n = len(values)
    if n < 6:
        return 1.0
    minima = _block_minima(values)
    k = len(minima)
    if np.all(minima == minima[0]):
        return 1.0
    tau, p = stats.kendalltau(np.arange(k), minima)
    if np.isnan(tau) or np.isnan(p):
        return 1.0
    return float(p / 2 if tau > 0 else 1 - p / 2)


#: Theil-Sen takes every pair of samples: a longer series is thinned evenly to this many first
THEIL_SEN_POINTS = 1000


def theil_sen_rate(times: np.ndarray, values: np.ndarray) -> float:
    """Theil-Sen slope of ``values`` over ``times`` (per time unit), on at most
    :data:`THEIL_SEN_POINTS` evenly spaced samples (the estimator is O(n^2) in time and memory)."""
    if len(values) > THEIL_SEN_POINTS:
        keep = np.linspace(0, len(values) - 1, THEIL_SEN_POINTS).round().astype(int)
        times, values = times[keep], values[keep]
    return float(stats.theilslopes(values, times)[0])


def _onset(y: np.ndarray) -> int:
    """Index where a final rise starts after a flat stretch (0 when the series rises at once)."""
    low = y.min() + 0.05 * (y.max() - y.min())
    flat = np.nonzero(y <= low)[0]
    if len(flat) == 0:
        return 0
    last = int(flat[-1])
    # only a stretch at the start counts: the series stays low up to `last`, then rises
    return last if last < len(y) - 5 and np.all(y[: last + 1] <= low + 1e-12) else 0


def _window(times, values, min_growth: int):
    """The times and bytes the fit is made on, after the leading flat stretch is cut off;
    ``None`` when the series (or what is left of it) varies by less than ``min_growth``."""
    t = np.asarray(times, dtype=float)
    b = np.asarray(values, dtype=float)
    if len(b) < 4 or b.max() - b.min() < min_growth or t[-1] <= t[0]:
        return None
    start = _onset((b - b.min()) / (b.max() - b.min()))
    t, b = t[start:], b[start:]
    if b.max() - b.min() < min_growth or t[-1] <= t[0]:
        return None
    return t, b


def classify(times: list[float], values: list[int], min_growth: int = 4096) -> tuple[str, tuple, int]:
    """``(class, (a, b, c), leaked bytes)`` of one series by its normalised quadratic fit.

    :func:`fit_window` gives the window the coefficients are normalised to."""
    window = _window(times, values, min_growth)
    if window is None:
        return "constant", (0.0, 0.0, 0.0), 0
    t, b = window
    lo2, hi2 = b.min(), b.max()
    x = (t - t[0]) / (t[-1] - t[0])
    y = (b - lo2) / (hi2 - lo2)
    a, s, c = (float(v) for v in np.polyfit(x, y, 2))
    rise = (a + s) * (hi2 - lo2)  # p(1) - p(0), scaled back to bytes
    start_slope, end_slope = s, 2 * a + s
    if start_slope <= 0 and end_slope <= 0:
        klass = "constant"
    elif start_slope <= 1e-9:
        klass = "exponential" if end_slope > 0 else "constant"
    elif end_slope < 0.4 * start_slope:
        klass = "logarithmic"
    elif end_slope > 2.5 * start_slope:
        klass = "exponential"
    else:
        klass = "linear"
    return klass, (a, s, c), int(round(rise))


def fit_window(times: list[float], values: list[int], min_growth: int = 4096) -> tuple[float, float, float, float]:
    """``(t0, t1, low, high)``: the window (seconds, bytes) of :func:`classify`'s fit, after the
    leading flat stretch is cut off. The fitted curve in bytes is ``low + (high - low) * (a x^2 +
    b x + c)`` with ``x = (t - t0) / (t1 - t0)``; ``t1 == t0`` when there is no fit."""
    window = _window(times, values, min_growth)
    if window is None:
        t0 = float(times[0]) if len(times) else 0.0
        return t0, t0, 0.0, 0.0
    t, b = window
    return float(t[0]), float(t[-1]), float(b.min()), float(b.max())


def analyze(trace: Trace, confidence: float = CONFIDENCE, min_growth: int = 4096,
            functions=None) -> list[SiteResult]:
    """The :class:`SiteResult` of every site of ``trace``, growing ones first, then by leaked
    bytes. ``functions``: a callable ``(file, line) -> function name`` (default: none), asked
    when the trace itself does not name the site's function.

    An exit-time report (``trace.losses``, from memcheck or LeakSanitizer) has no series: each
    site's class is its kind of loss (``definite-loss``, ``indirect-loss``, ``possible-loss``,
    ``reachable``), it grows when the loss is definite, its leaked bytes are the record's, and
    it has no rate nor p-value (``p_value`` ``None``, confidence 1).
    """
    if trace.losses is not None:
        return _exit_time(trace, functions)
    times = np.asarray(trace.times, dtype=float)
    rows = []
    for (file, line), values in trace.series.items():
        v = np.asarray(values, dtype=float)
        if len(v) == 0:
            continue
        klass, coef, leaked = classify(trace.times, values, min_growth)
        tested = v.max() - v.min() >= min_growth
        p = _trend_p(times, v) if tested and len(v) == len(times) else 1.0
        rate = theil_sen_rate(times, v) if tested and len(v) >= 3 and times[-1] > times[0] else 0.0
        rows.append([file, line, klass, coef, leaked, rate, p, v, tested, p])
    tested_rows = [r for r in rows if r[8]]
    if len(tested_rows) > 1:
        for r, q in zip(tested_rows, stats.false_discovery_control([r[6] for r in tested_rows])):
            r[6] = float(min(1.0, q))
    out = []
    alpha = 1 - confidence
    for file, line, klass, coef, leaked, rate, p, v, _, raw in rows:
        # a trend is also an effect: the floor must rise by `min_growth` bytes at least (the
        # phase at which a sampler catches churn can drift by a buffer or two: massif thins its
        # snapshots as a run goes on)
        significant = p < alpha and floor_rise(v) >= min_growth
        # a filling cache rose for real (unadjusted p < 0.05) and then held what it filled: the
        # least live bytes of the second half are over half the range. Churn and saw-tooth
        # return to their floor, so anything else without a significant trend is constant
        held = len(v) > 1 and v[len(v) // 2:].min() - v.min() >= 0.5 * (v.max() - v.min())
        if not significant and not (klass == "logarithmic" and raw < 0.05 and held):
            klass = "constant"
        growing = significant and klass in ("linear", "exponential")
        out.append(SiteResult(
            file=file, line=line, function=_function(trace, functions, file, line), klass=klass,
            growing=growing, leaked_bytes=max(0, leaked) if klass != "constant" else 0, rate_bytes_per_s=rate,
            p_value=p, confidence=1 - p, first_bytes=int(v[0]), last_bytes=int(v[-1]),
            peak_bytes=int(v.max()), coefficients=coef, samples=len(v),
            callers=tuple(sorted(trace.callers.get((file, line), ())))))
    out.sort(key=lambda r: (not r.growing, -r.leaked_bytes, r.file, r.line))
    return out


#: the class of an exit-time loss record, per kind of loss
EXIT_CLASSES = {"definite": "definite-loss", "indirect": "indirect-loss", "possible": "possible-loss",
                "reachable": "reachable"}


def _function(trace: Trace, functions, file: str, line: int) -> str:
    name = trace.functions.get((file, line))
    if name:
        return name
    return functions(file, line) if functions and file.endswith((".py", ".pyw")) else ""


def _exit_time(trace: Trace, functions) -> list[SiteResult]:
    merged: dict[tuple, list] = {}
    for loss in trace.losses or []:
        key = (loss.site, loss.kind)
        row = merged.setdefault(key, [0, 0, set()])
        row[0] += loss.bytes
        row[1] += loss.blocks
        row[2].update(loss.stack)
    out = []
    for ((file, line), kind), (nbytes, blocks, stack) in merged.items():
        out.append(SiteResult(
            file=file, line=line, function=_function(trace, functions, file, line),
            klass=EXIT_CLASSES.get(kind, kind), growing=kind == "definite", leaked_bytes=nbytes,
            rate_bytes_per_s=0.0, p_value=None, confidence=1.0, first_bytes=0, last_bytes=nbytes,
            peak_bytes=nbytes, coefficients=(0.0, 0.0, 0.0), samples=0, callers=tuple(sorted(stack)),
            blocks=blocks))
    out.sort(key=lambda r: (not r.growing, -r.leaked_bytes, r.file, r.line))
    return out


def site_function(file: str, line: int) -> str:
    """The name of the innermost function or method around ``line`` of a Python ``file``
    (``Class.method``), read with the stdlib ``ast`` (never imported); "" when unknown."""
    import ast

    tree = _parsed(file)
    if tree is None:
        return ""
    best = ""
    stack = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if child.lineno <= line <= (child.end_lineno or child.lineno):
                    if not isinstance(child, ast.ClassDef):
                        best = name
                    stack.append((child, name + "."))
            else:
                stack.append((child, prefix))
    return best


_PARSED: dict[str, object] = {}


def _parsed(file: str):
    from leakspot.python.parse import parse_quietly

    if file not in _PARSED:
        try:
            with open(file, "rb") as fh:
                _PARSED[file] = parse_quietly(fh.read(), file)
        except (OSError, SyntaxError, ValueError):
            _PARSED[file] = None
    return _PARSED[file]
