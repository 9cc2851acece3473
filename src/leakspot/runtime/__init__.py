"""Runtime evidence (the ``runtime`` extra: numpy and scipy).

A static finding says "this may leak"; a trace of the running program says whether it did.
:mod:`leakspot.runtime.trace` is the trace file format, :mod:`leakspot.runtime.collector`
records one for a Python program under ``tracemalloc``, and :mod:`leakspot.runtime.factor`
turns each allocation site's live bytes over time into a verdict: the shape of its growth
(the *leak factor*), the bytes it leaked, its rate, and a trend test with a stated confidence.
"""
