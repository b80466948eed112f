"""Finding and stopping the emulated (or real) agents of ``gwha.conf`` by command line."""

from __future__ import annotations

import os
import signal
import time

import psutil

from mailha.groupwise.cmdline import matches
from mailha.groupwise.gwha import GwhaAgent


def agent_pids(agent: GwhaAgent) -> list[int]:
    """Pids of processes running this agent's binary with its startup file."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        argv = proc.info.get("cmdline") or []
        if proc.info["pid"] == os.getpid() or not argv:
            continue
        try:
            cwd = proc.cwd() if not os.path.isabs(_startup_arg(argv)) else None
        except (psutil.Error, OSError):
            cwd = None
        if matches(argv, agent.server, startup=agent.startup, cwd=cwd):
            found.append(proc.info["pid"])
    return found


def _startup_arg(argv: list[str]) -> str:
    for arg in argv:
        if arg.startswith("@"):
            return arg[1:]
    return "/"


def terminate(pids: list[int], wait: float) -> list[int]:
    """SIGTERM each pid and wait up to ``wait`` seconds; returns the pids still alive."""
    procs = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            proc.send_signal(signal.SIGTERM)
            procs.append(proc)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=max(wait, 0.0))
    return [p.pid for p in alive]


def launch_env() -> dict[str, str]:
    """Our environment minus MAILHA_SIM_FOREGROUND: a launched agent must detach, as the product does."""
    return {k: v for k, v in os.environ.items() if k != "MAILHA_SIM_FOREGROUND"}


def wait_running(agent: GwhaAgent, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if agent_pids(agent):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
