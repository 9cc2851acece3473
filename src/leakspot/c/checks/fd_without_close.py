"""LK203 fd-without-close: the shared path analysis (:mod:`leakspot.c.leaks`) reports the ``descriptor``
family of ``allocators.toml``."""

from leakspot.c.checks import c_check

c_check("LK203", "fd-without-close")
