"""The watcher: restarts a server that crashed (with ``local.autorestart``), never one stopped
on purpose, and gives up (exits, as in HA mode) after three crashes within 600 s, so the
cluster fails the instance over (product facts §2.3; spec A.6 item 7).

Each daemon keeps a connection open and says ``REGISTER <name> <pid>``; a clean stop says
``BYE`` first; ``stop-msg`` says ``STOPPING <components>`` before it signals, ``start-msg``
``STARTING <components>``.  A connection that ends without ``BYE`` from a daemon whose
component is not stopping is a crash.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import TYPE_CHECKING

from mailha.msgsrv import msgconf
from mailha.msgsrv.services import PROCESSES

from . import config

if TYPE_CHECKING:
    from .server import Daemon

RETRY_WINDOW = 600.0
GIVE_UP_AFTER = 3


class Watcher:
    def __init__(self, daemon: "Daemon") -> None:
        self.daemon = daemon
        self.stopping: set[str] = set()
        self.crashes: list[float] = []

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name, clean = None, False
        try:
            while True:
                line = (await reader.readline()).decode("utf-8", "replace").split()
                if not line:
                    break
                verb, args = line[0], line[1:]
                if verb == "REGISTER" and args:
                    name = args[0]
                elif verb == "BYE":
                    clean = True
                elif verb in ("STOPPING", "STARTING"):
                    (self.stopping.update if verb == "STOPPING" else self.stopping.difference_update)(args)
                    writer.write(b"OK\n")
                    await writer.drain()
                    break
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
        if name is not None and not clean and name in PROCESSES:
            self.crashed(name)
        elif name is not None:
            self.daemon.log(f"{name} stopped")

    def crashed(self, name: str) -> None:
        component = PROCESSES[name].start or PROCESSES[name].stop
        if component in self.stopping or "mta" in self.stopping and name in ("dispatcher", "job_controller"):
            self.daemon.log(f"{name} stopped on purpose: not restarted")
            return
        log = self.daemon.log
        log(f"{name} exited abnormally")
        if not msgconf.enabled(config.values(self.daemon.inst), msgconf.AUTORESTART):
            return
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < RETRY_WINDOW] + [now]
        if len(self.crashes) >= GIVE_UP_AFTER:
            log(f"{len(self.crashes)} failures within {RETRY_WINDOW:.0f} s: giving up, exiting (HA mode)")
            self.daemon.stopping = True
            if not self.daemon.done.done():
                self.daemon.done.set_result(1)
            return
        log(f"restarting {component}")
        starter = next((start for start, _ in self.daemon.inst.launchers() if _exists(start)), None)
        if starter is None:
            log("no start-msg to restart it with")
            return
        subprocess.Popen([starter, component], cwd=self.daemon.inst.home, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _exists(path: str) -> bool:
    import os

    return os.access(path, os.X_OK)
