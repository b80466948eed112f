"""Finding and stopping the emulated (or real) agents of ``gwha.conf``.

An agent is its binary run with its startup file, ``<server> @<startup>``, found by the library's
rule (:mod:`mailha.proc`, the one the resource agents use): the emulated ``grpwise`` and ``gwha``
and the agents therefore agree on which process is the agent, a relative ``@startup`` included.
"""

from __future__ import annotations

import os
import signal
import time

from mailha.groupwise.gwha import GwhaAgent
from mailha.ocf.budget import wait_until
from mailha.proc import ProcessMatch, ProcInfo, find

from . import ready


def agent_match(agent: GwhaAgent) -> ProcessMatch:
    """The agent's processes.  A relative startup file is the one ``grpwise`` would launch
    (``<server> @<startup>`` from its own working directory)."""
    return ProcessMatch(exe_names=(agent.server,), args=(("@", os.path.abspath(agent.startup)),))


def agent_processes(agent: GwhaAgent) -> list[ProcInfo]:
    return find(agent_match(agent), every=True)


def agent_pids(agent: GwhaAgent) -> list[int]:
    """Pids of processes running this agent's binary with its startup file."""
    return [p.pid for p in agent_processes(agent)]


def terminate(processes: list[ProcInfo], wait: float) -> list[int]:
    """SIGTERM each process and wait up to ``wait`` seconds; returns the pids still alive.

    Never SIGKILL: the product's script does not, so a slow agent outlives it."""
    for info in processes:
        if info.is_same():  # not a process that took over the pid since it was found
            try:
                os.kill(info.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass  # gone already, or not ours: reported as still running
    wait_until(lambda: not any(p.is_same() for p in processes), time.monotonic() + max(wait, 0.0),
               first=0.01, longest=0.2)
    return [p.pid for p in processes if p.is_same()]


def launch_env() -> dict[str, str]:
    """Our environment minus MAILHA_SIM_FOREGROUND: a launched agent must detach, as the product does."""
    return ready.detached_env()


def wait_running(agent: GwhaAgent, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for the agent's process to appear."""
    return wait_until(lambda: bool(agent_pids(agent)), time.monotonic() + timeout, first=0.05, longest=0.2)
