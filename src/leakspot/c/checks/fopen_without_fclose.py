"""LK202 fopen-without-fclose: a ``FILE *`` not closed, returned or stored on some path.

The analysis is shared with the other leak rules (:mod:`leakspot.c.leaks`); this rule reports
the ``file`` family of ``allocators.toml``.
"""

from leakspot.c.checks import c_check

c_check("LK202", "fopen-without-fclose")
