"""Test kit for ``ocf:mailha:msgsrv``: an emulated Messaging Server instance under the test's
own directory, on a loopback address standing for its virtual IP, with free ports, and a
clean-up that ends by PID every process running from the instance's home.

``mslab`` is the fixture (import ``mslab_fixture`` into a test module): ``mslab.instance()``
makes one instance; ``inst.params(services)`` the resource's parameters.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from gwtest import free_port, secondary_ip

from mailha.msgsrv.layout import Instance
from mailha.sim.msgsrv import builder, installer

USERS = {"alice": "alice-pw-1"}


@dataclass
class MsInstance:
    inst: Instance
    ip: str
    ports: dict[str, int]
    launcher: str = "start-msg"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def home(self) -> str:
        return self.inst.home

    def params(self, services: str, **more: object) -> dict[str, object]:
        params: dict[str, object] = {"server_root": self.inst.server_root, "services": services,
                                     "ip_address": self.ip, "user": "root", "group": "root",
                                     "second_level_monitor": 1, "launcher": self.launcher}
        if self.inst.instance:
            params["instance"] = self.inst.instance
        params.update(self.extra)
        params.update(more)
        return params

    def core(self, **more: object) -> dict[str, object]:
        return self.params(f"core={self.ports['core']}", **more)

    def clients(self, **more: object) -> dict[str, object]:
        p = self.ports
        return self.params(f"imap={p['imap']} pop={p['pop']} http={p['http']}", **more)

    def mta(self, **more: object) -> dict[str, object]:
        return self.params(f"smtp={self.ports['smtp']}", **more)

    def pids(self, daemon: str | None = None) -> list[int]:
        """Live processes running from the instance's lib (one daemon, or all)."""
        lib = os.path.join(self.home, "lib") + "/"
        found = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            cmd = proc.info["cmdline"] or []
            if proc.info["status"] == psutil.STATUS_ZOMBIE or len(cmd) < 2:
                continue
            if cmd[1].startswith(lib) and (daemon is None or cmd[1] == lib + daemon):
                found.append(proc.info["pid"])
        return found

    def log(self, daemon: str) -> str:
        path = Path(self.home, "log", f"{daemon}.log")
        return path.read_text(encoding="utf-8") if path.exists() else ""


class MsLab:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.made: list[MsInstance] = []

    def instance(self, name: str = "ms", *, instance: str | None = None, bound: bool = True,
                 launchers: str = "sbin", autorestart: bool = False, enable: dict[str, bool] | None = None,
                 job_controller_port: int | None = None,
                 directory: tuple[str, int] | None = None, base_dn: str | None = None,
                 users: dict[str, str] | None = None) -> MsInstance:
        ip = secondary_ip()
        ports = {key: free_port(ip) for key in ("core", "imap", "pop", "http", "smtp", "lmtp", "ens")}
        ports["job_controller"] = job_controller_port or free_port(ip)
        inst = Instance(str(self.tmp / name), instance)
        builder.create(inst, ip=ip if bound else None, ports=ports, users=USERS if users is None else users,
                       enable=enable, autorestart=autorestart, directory=directory, base_dn=base_dn)
        installer.install(inst, launchers=launchers)
        made = MsInstance(inst, ip, ports, launcher="msstart" if launchers == "msstart" else "start-msg")
        self.made.append(made)
        return made

    def cleanup(self) -> None:
        pids = [pid for made in self.made for pid in made.pids()]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        psutil.wait_procs([p for p in map(_process, pids) if p], timeout=10)


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


@pytest.fixture(name="mslab")
def mslab_fixture(tmp_path: Path) -> Iterator[MsLab]:
    lab = MsLab(tmp_path)
    yield lab
    lab.cleanup()
