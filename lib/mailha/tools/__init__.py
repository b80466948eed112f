"""Tools that are not agents: instance builders, helpers for tests and demos, the man page
generator.  They ship in the mailha-lab package, not in mailha (see ``mailha.cli.LAB_MODULES``).

Nothing under :mod:`mailha.agents` imports from here.  The lab (:mod:`mailha.lab`) and the
GroupWise emulator (:mod:`mailha.sim`) are tools too, in packages of their own.
"""
