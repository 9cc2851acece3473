"""LK208 pointer-overwritten-before-free: the only pointer to a live resource is overwritten.

Reported by the shared path analysis (:mod:`leakspot.c.leaks`) as ``overwrite`` events."""

from leakspot.c.checks import c_check

c_check("LK208", "pointer-overwritten-before-free")
