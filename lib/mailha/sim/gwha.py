"""``gwha``: the GroupWise High Availability service, as far as it matters to a cluster.

The product restarts any agent of ``gwha.conf`` that the Monitor Agent reports down, including
one an administrator (or a cluster) just stopped on purpose: seed 000 step 5 stops gwha around
an unload for that reason.  The emulator polls instead of waiting for the Monitor Agent: every
``--poll`` seconds (default 10) it looks for each agent's process, and an agent it has seen
running that is now gone is started again with ``<server> @<startup>`` as long as its startup
file exists (the storage is mounted here).

Ways to keep it from interfering, in the order an agent should prefer them:

* stop it: SIGTERM to its pid (the equivalent of ``chkconfig gwha off`` / stopping
  ``gwha.socket``), and start it again afterwards;
* suspend it: SIGUSR1 suspends restarts, SIGUSR2 resumes them (emulator only; SIGSTOP/SIGCONT
  has the same effect on the emulator and on any real daemon).

Every decision is logged to ``--log`` (default ``/var/log/novell/groupwise/gwha.log`` under the
install root).  Usage: ``gwha [--conf FILE] [--poll SECONDS] [--log FILE]``; set
``MAILHA_SIM_FOREGROUND=1`` to keep it attached.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from typing import Sequence

from mailha.groupwise.gwha import load_gwha_conf
from mailha.groupwise.paths import GWHA_CONF

from . import procs
from .daemon import daemonize

DEFAULT_LOG = "/var/log/novell/groupwise/gwha.log"


class Gwha:
    def __init__(self, conf: str, poll: float, log_path: str, *, foreground: bool) -> None:
        self.conf, self.poll, self.foreground = conf, poll, foreground
        os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
        self._log = open(log_path, "a", encoding="utf-8", buffering=1)
        self.suspended = False
        self.stop = False
        self.seen: set[str] = set()
        self._logged_suspended = False

    def log(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} gwha[{os.getpid()}] {message}"
        self._log.write(line + "\n")
        if self.foreground:
            print(line, file=sys.stderr, flush=True)

    def _signal(self, sig: int, _frame: object) -> None:
        # Only flags here: logging from a signal handler could re-enter the log file's buffer.
        if sig == signal.SIGUSR1:
            self.suspended = True
        elif sig == signal.SIGUSR2:
            self.suspended = False
        else:
            self.stop = True

    def _log_suspension(self) -> None:
        if self.suspended != self._logged_suspended:
            self._logged_suspended = self.suspended
            self.log("Suspended: agents that go down will not be restarted" if self.suspended
                     else "Resumed: agents that go down will be restarted")

    def run(self) -> int:
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._signal)
        self.log(f"GroupWise High Availability service (mailha emulator) polling {self.conf} every {self.poll:g} s")
        while not self.stop:
            self.check()
            deadline = time.monotonic() + self.poll
            while not self.stop and time.monotonic() < deadline:
                self._log_suspension()
                time.sleep(min(0.1, self.poll))
        self.log("Stopped")
        return 0

    def check(self) -> None:
        self._log_suspension()
        for agent in load_gwha_conf(self.conf):
            if procs.agent_pids(agent):
                if agent.name not in self.seen:
                    self.log(f"Agent [{agent.name}] is running")
                self.seen.add(agent.name)
                continue
            if agent.name not in self.seen:
                continue
            if self.suspended:
                self.log(f"Agent [{agent.name}] is down; suspended, not restarting")
                continue
            if not os.path.exists(agent.startup):
                self.log(f"Agent [{agent.name}] is down; startup file {agent.startup} not found, not restarting")
                continue
            self.log(f"Agent [{agent.name}] is down; restarting it: {' '.join(agent.argv())}")
            try:
                result = subprocess.run(agent.argv(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=procs.launch_env())
                if result.returncode:
                    self.log(f"Agent [{agent.name}] restart failed: {(result.stderr or result.stdout).strip()}")
            except (OSError, subprocess.TimeoutExpired) as exc:
                self.log(f"Agent [{agent.name}] restart failed: {exc}")


def main(argv: Sequence[str], *, conf: str = GWHA_CONF, log: str = DEFAULT_LOG) -> int:
    parser = argparse.ArgumentParser(prog="gwha", description="GroupWise High Availability service (mailha emulator)")
    parser.add_argument("--conf", default=conf)
    parser.add_argument("--poll", type=float, default=10.0)
    parser.add_argument("--log", default=log)
    args = parser.parse_args(list(argv))
    if args.poll <= 0:
        parser.error("--poll must be positive")
    foreground = os.environ.get("MAILHA_SIM_FOREGROUND", "").lower() in ("1", "yes", "true")
    if not foreground and daemonize():
        return 0
    return Gwha(args.conf, args.poll, args.log, foreground=foreground).run()
