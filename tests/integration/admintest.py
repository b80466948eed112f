"""Test kit for ``ocf:mailha:adminsrv``: an emulated Administration Server under the test's own
directory, on a loopback address standing for its virtual IP, with its configuration directory
(a listener standing for the directory server: the emulator only needs it to accept), and a
clean-up that ends by PID every process running from the server root.

``adminlab`` is the fixture (import ``adminlab_fixture`` into a test module):
``adminlab.server()`` makes one installation; ``admin.params()`` the resource's parameters.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from gwtest import free_port, secondary_ip

from mailha.adminsrv.layout import AdminServer
from mailha.sim.adminsrv import builder, installer

ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-pw-1"
DB_PASSWORD = "trust-db-pw-1"


class Directory:
    """A TCP listener standing for the configuration directory; :meth:`close` takes it down."""

    def __init__(self) -> None:
        self.ip = secondary_ip()
        self.port = free_port(self.ip)
        self.sock: socket.socket | None = None
        self.thread: threading.Thread | None = None
        self.open()

    def open(self) -> None:
        """(Again) accept connections on the same address and port."""
        sock = self.sock = socket.create_server((self.ip, self.port))
        self.thread = threading.Thread(target=self._accept, args=(sock,), daemon=True)
        self.thread.start()

    @staticmethod
    def _accept(sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # closed
            conn.close()

    def close(self) -> None:
        """Stop listening before returning.  close() alone would not: the thread blocked in
        accept() keeps the socket listening until it has accepted one more connection."""
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() with an error
            except OSError:
                pass
            self.thread.join(5)
            self.sock.close()
            self.sock = None


@dataclass
class Admin:
    admin: AdminServer
    ip: str
    port: int
    ssl: bool

    @property
    def root(self) -> str:
        return self.admin.server_root

    def params(self, **more: object) -> dict[str, object]:
        params: dict[str, object] = {"server_root": self.root, "ip_address": self.ip, "port": self.port,
                                     "admin_user": ADMIN_USER, "admin_password": ADMIN_PASSWORD,
                                     "second_level_monitor": 1}
        if self.ssl:
            params.update(ssl="true", ssl_db_password=DB_PASSWORD)
        params.update(more)
        return {k: v for k, v in params.items() if v is not None}

    def processes(self, name: str | None = None) -> list[psutil.Process]:
        """Live processes of this installation's binaries (one of them, or both)."""
        binaries = [self.admin.binary(n) for n in (("uxwdog", "ns-httpd") if name is None else (name,))]
        found = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            cmd = proc.info["cmdline"] or []
            if proc.info["status"] != psutil.STATUS_ZOMBIE and len(cmd) > 1 and cmd[1] in binaries:
                found.append(proc)
        return found

    def pids(self, name: str | None = None) -> list[int]:
        return [p.pid for p in self.processes(name)]

    def log(self) -> str:
        path = Path(self.admin.logs, "error")
        return path.read_text(encoding="utf-8") if path.exists() else ""


class AdminLab:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.made: list[Admin] = []
        self.directory = Directory()

    def server(self, name: str = "srvr", *, ssl: bool = False, bound: bool = True) -> Admin:
        ip = secondary_ip()
        port = free_port(ip)
        admin = AdminServer(str(self.tmp / name))
        builder.create(admin, ip=ip if bound else None, port=port, directory=(self.directory.ip, self.directory.port),
                       users={ADMIN_USER: ADMIN_PASSWORD}, db_password=DB_PASSWORD if ssl else None)
        installer.install(admin)
        made = Admin(admin, ip, port, ssl)
        self.made.append(made)
        return made

    def cleanup(self) -> None:
        procs = [p for made in self.made for p in made.processes()]
        for proc in procs:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        psutil.wait_procs(procs, timeout=10)
        self.directory.close()


@pytest.fixture(name="adminlab")
def adminlab_fixture(tmp_path: Path) -> Iterator[AdminLab]:
    lab = AdminLab(tmp_path)
    yield lab
    lab.cleanup()
