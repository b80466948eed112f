"""A GroupWise emulator: ``gwmta``, ``gwpoa``, ``gwia``, ``gwha`` and ``/etc/init.d/grpwise``.

For tests, the lab and admins rehearsing a cluster.  The executables read real-syntax startup
files, listen where the products listen, answer the probes, store received mail durably, log
under the home directory, and take faults and delays from :mod:`.control`.  Install them with
:func:`install` or ``python3 -m mailha.sim install [--root DIR]``.  See docs/emulator.md.
"""

from __future__ import annotations


def install(root: str = "/", *, force: bool = False) -> list[str]:
    from .installer import install as _install

    return _install(root, force=force)


__all__ = ["install"]
