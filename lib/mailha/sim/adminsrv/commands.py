"""``start-admin``, ``stop-admin`` and ``restart-admin`` (no options, product facts §3.2).

``start-admin`` runs ``uxwdog -e -d <root>/admin-serv/config`` and exits 0 once the server
listens, 1 with the reason when it could not start (the configuration directory unreachable,
the trust database password missing or wrong, the port taken); 0 too when this server already
runs.  ``stop-admin`` sends SIGTERM to the watchdog (to the servers when it is gone) and waits
up to :data:`STOP_WAIT` seconds; it never kills: what outlives it is the cluster agent's to end.
"""

from __future__ import annotations

import sys
from typing import Sequence

from mailha.adminsrv.layout import NS_HTTPD, UXWDOG, AdminServer
from mailha.proc import ProcessMatch, ProcInfo, find

from .. import procs, ready

STOP_WAIT = 30.0


def running(admin: AdminServer, name: str) -> list[ProcInfo]:
    return find(ProcessMatch(exe_names=(admin.binary(name),), args=(("-d", admin.config_dir),)), every=True)


def start_admin(admin: AdminServer) -> int:
    if running(admin, UXWDOG):
        print("Administration Server is already running")
        return 0
    _, said = ready.launch([admin.binary(UXWDOG), "-e", "-d", admin.config_dir], admin.server_root)
    if said != "ok":
        print(f"startup: server not started: {said or 'the watchdog exited'}")
        return 1
    print("startup: server started successfully")
    return 0


def stop_admin(admin: AdminServer) -> int:
    found = running(admin, UXWDOG) or running(admin, NS_HTTPD)
    if not found:
        print("Administration Server is not running")
        return 0
    alive = procs.terminate(found, STOP_WAIT)
    if alive:
        print(f"shutdown: server did not stop (still running: {' '.join(map(str, alive))})")
        return 1
    print("shutdown: server shut down")
    return 0


def main(name: str, root: str, argv: Sequence[str]) -> int:
    if argv:
        print(f"usage: {name} (it takes no options)", file=sys.stderr)
        return 2
    admin = AdminServer(root)
    if name == "start-admin":
        return start_admin(admin)
    if name == "stop-admin":
        return stop_admin(admin)
    return stop_admin(admin) or start_admin(admin)
