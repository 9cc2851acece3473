"""LK207 mismatched-deallocator: a resource released by another family's deallocator
(``free`` on a ``FILE *``, ``fclose`` on a ``popen`` pipe, ``close`` on heap memory).

Reported by the shared path analysis (:mod:`leakspot.c.leaks`) as ``mismatch`` events."""

from leakspot.c.checks import c_check

c_check("LK207", "mismatched-deallocator")
