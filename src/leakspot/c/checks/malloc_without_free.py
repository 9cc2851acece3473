"""LK201 malloc-without-free: heap memory not freed, returned or stored on some path.

The analysis is shared with the other leak rules (:mod:`leakspot.c.leaks`); this rule reports
the ``memory`` family of ``allocators.toml``.
"""

from leakspot.c.checks import c_check

c_check("LK201", "malloc-without-free")
