"""LK204 opendir-without-closedir: the shared path analysis (:mod:`leakspot.c.leaks`) reports the ``directory``
family of ``allocators.toml``."""

from leakspot.c.checks import c_check

c_check("LK204", "opendir-without-closedir")
