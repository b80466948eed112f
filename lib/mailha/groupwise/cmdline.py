"""Recognising a GroupWise agent process by its command line.

The products run as ``/opt/novell/groupwise/agents/bin/gwpoa @/po/po.poa`` (or ``--home /po``).
The emulator's executables are Python scripts, so the kernel shows them as
``/usr/bin/python3 /opt/novell/groupwise/agents/bin/gwpoa @/po/po.poa``: a leading interpreter
is skipped.  Pure functions on argv lists, so callers choose how to list processes (psutil).
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple, Sequence

_INTERPRETER = re.compile(r"(?:python[0-9.]*|perl|sh|bash)\Z")


class AgentCommand(NamedTuple):
    binary: str
    startup: str | None  # the @file argument as given
    home: str | None  # the --home argument, if on the command line
    args: tuple[str, ...]  # every argument after the binary


def parse_agent_cmdline(argv: Sequence[str]) -> AgentCommand | None:
    """Split a process's argv into binary, ``@startup`` and ``--home``; ``None`` for an empty argv."""
    argv = list(argv)
    if argv and _INTERPRETER.match(os.path.basename(argv[0])) and len(argv) > 1:
        argv = argv[1:]
        while argv and argv[0].startswith("-") and len(argv) > 1 and not argv[0].startswith("--"):
            argv = argv[1:]  # interpreter options such as -u / -E
    if not argv:
        return None
    args = tuple(argv[1:])
    startup = home = None
    for i, arg in enumerate(args):
        if arg.startswith("@") and startup is None:
            startup = arg[1:]
        elif arg.lower() == "--home" and i + 1 < len(args):
            home = args[i + 1]
        elif arg.lower().startswith("--home="):
            home = arg.split("=", 1)[1]
    return AgentCommand(argv[0], startup, home, args)


def matches(
    argv: Sequence[str],
    binary: str,
    *,
    startup: str | None = None,
    home: str | None = None,
    cwd: str | None = None,
) -> bool:
    """Whether this argv runs ``binary`` for this startup file or home directory.

    With neither ``startup`` nor ``home`` any process of the binary matches.  A relative
    ``@file`` is resolved against ``cwd`` (the process's working directory) when given;
    paths compare after normalisation (no symlink resolution: a monitor must not touch a
    storage that may hang).
    """
    cmd = parse_agent_cmdline(argv)
    if cmd is None or os.path.normpath(cmd.binary) != os.path.normpath(binary):
        return False
    if startup is None and home is None:
        return True
    if startup is not None and cmd.startup is not None and _same(cmd.startup, startup, cwd):
        return True
    if home is not None and cmd.home is not None and _same(cmd.home, home, cwd):
        return True
    return False


def _same(given: str, wanted: str, cwd: str | None) -> bool:
    if not os.path.isabs(given) and cwd:
        given = os.path.join(cwd, given)
    return os.path.normpath(given).rstrip("/") == os.path.normpath(wanted).rstrip("/")
