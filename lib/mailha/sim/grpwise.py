"""``/etc/init.d/grpwise``: start|stop|status|restart|print [agent], driven by gwha.conf.

Agent names are the gwha.conf section names: MTA ``domain``, POA ``post_office.domain``, GWIA
``gwia.domain``.  ``start`` launches ``<server> @<startup>`` (the agent detaches) and waits up to
the section's ``wait`` seconds for its process; ``stop`` sends SIGTERM and waits up to ``wait``
seconds, and says ``failed`` when the agent is still there: it never kills, so a slow GWIA
outlives it, as the product's script lets it.  ``status`` prints one line per agent ending in
``running`` or ``unused`` and exits 0 when every agent asked about runs, 3 otherwise (LSB).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Sequence

from mailha.groupwise.gwha import GwhaAgent, load_gwha_conf
from mailha.groupwise.paths import GWHA_CONF

from . import procs

USAGE = "Usage: grpwise {start|stop|status|restart|print} [agent]"


def main(argv: Sequence[str], *, conf: str = GWHA_CONF) -> int:
    if not argv or argv[0] not in ("start", "stop", "status", "restart", "print"):
        print(USAGE, file=sys.stderr)
        return 2
    action = argv[0]
    agents = load_gwha_conf(conf)
    if action == "print":
        with open(conf, encoding="utf-8", errors="replace") as handle:
            sys.stdout.write(handle.read())
        return 0
    if len(argv) > 1:
        wanted = [a for a in agents if a.name.lower() == argv[1].lower()]
        if not wanted:
            print(f"grpwise: unknown agent {argv[1]!r} (not in {conf})", file=sys.stderr)
            return 5
        agents = wanted
    worst = 0
    if action == "stop":
        agents = agents[::-1]  # the reverse of the start order: the GWIA before its MTA
    for agent in agents:
        if action in ("stop", "restart"):
            worst = max(worst, _stop(agent))
        if action in ("start", "restart"):
            worst = max(worst, _start(agent))
        if action == "status":
            running = bool(procs.agent_pids(agent))
            print(f"Checking for GroupWise agent [{agent.name}]: {'running' if running else 'unused'}")
            worst = max(worst, 0 if running else 3)
    return worst


def _start(agent: GwhaAgent) -> int:
    label = f"Starting GroupWise agent [{agent.name}]"
    if procs.agent_pids(agent):
        print(f"{label}: already running")
        return 0
    result = subprocess.run(agent.argv(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=procs.launch_env())
    if result.returncode != 0:
        print(f"{label}: failed ({(result.stderr or result.stdout).strip()})")
        return 1
    ok = procs.wait_running(agent, agent.wait)
    print(f"{label}: {'done' if ok else 'failed'}")
    return 0 if ok else 1


def _stop(agent: GwhaAgent) -> int:
    label = f"Shutting down GroupWise agent [{agent.name}]"
    found = procs.agent_processes(agent)
    if not found:
        print(f"{label}: not running")
        return 0
    alive = procs.terminate(found, agent.wait)
    print(f"{label}: {'failed (still running, pid ' + ' '.join(map(str, alive)) + ')' if alive else 'done'}")
    return 1 if alive else 0
