"""LK205 popen-without-pclose: the shared path analysis (:mod:`leakspot.c.leaks`) reports the ``pipe``
family of ``allocators.toml``."""

from leakspot.c.checks import c_check

c_check("LK205", "popen-without-pclose")
