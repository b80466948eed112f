"""Detaching from the caller the way Unix daemons do (double fork)."""

from __future__ import annotations

import os


def daemonize() -> bool:
    """Fork twice; returns True in the original process (which should exit), False in the daemon.

    The daemon gets a new session, umask 022 and stdio on /dev/null.  It keeps the working
    directory: a relative ``@file`` on its command line names a file there, for the agent at
    start and for whoever later looks for its process (:mod:`mailha.proc` resolves it the same
    way).  The original process returns only after the intermediate child is gone, so a caller
    that waits for the launcher never sees a zombie.
    """
    pid = os.fork()
    if pid > 0:
        os.waitpid(pid, 0)
        return True
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.umask(0o022)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
    return False
