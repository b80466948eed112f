"""Tools that ship with mailha but are not agents: instance builders, helpers for tests and demos.

Nothing under :mod:`mailha.agents` imports from here.  The lab (:mod:`mailha.lab`) and the
GroupWise emulator (:mod:`mailha.sim`) are tools too, in packages of their own.
"""
