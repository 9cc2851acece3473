"""LK209 pyobject-reference-leak: a new reference from the CPython C API not released on some
path. The shared path analysis (:mod:`leakspot.c.leaks`) reports the ``pyobject`` family of
``allocators.toml``."""

from leakspot.c.checks import c_check

c_check("LK209", "pyobject-reference-leak")
