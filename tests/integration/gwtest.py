"""Test kit for the GroupWise agents: the emulator under a private root, a GroupWise partition
on a real tmpfs mount, secondary IPs on loopback, and a clean-up by PID that also unmounts.

``gwlab`` is the fixture (import ``gwlab_fixture`` into a test module).  Every agent process runs the emulator
from ``<tmp>/root/opt/novell/groupwise/agents/bin``, so the clean-up finds them all by their
command line, even those a gwha restarted, and kills them by pid before unmounting.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from mailha.sim import install, layout
from mailha.sim.layout import DomainLayout, PostOfficeLayout
from testkit import free_port as _free_port
from testkit import wait_for  # noqa: F401 (re-exported for the test modules)

BIN = "opt/novell/groupwise/agents/bin"
_SUBNET = random.randrange(1, 250)
_HOSTS = itertools.count(2)


def secondary_ip() -> str:
    """A fresh loopback address standing for a partition's secondary IP."""
    n = next(_HOSTS)
    return f"127.88.{(_SUBNET + n // 250) % 250 + 1}.{n % 250 + 2}"


def free_port(address: str) -> int:
    """A free port on *address* (on 127.0.0.1 for an address that is not on this node)."""
    return _free_port(address, fallback="127.0.0.1")


def banner(address: str, port: int, timeout: float = 5.0) -> bytes:
    """What an independent client sees first on a port (an SMTP/POP3/IMAP greeting)."""
    with socket.create_connection((address, port), timeout=timeout) as sock:
        return sock.recv(200)


def refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def silent(address: str, port: int, seconds: float = 0.5) -> bool:
    """Accepts but says nothing for *seconds* (an agent told to hang), even when asked: an HTTP
    console says nothing until it gets a request, so one is sent (a server that speaks first,
    SMTP, POP3, IMAP4, greets whatever it is sent)."""
    try:
        with socket.create_connection((address, port), timeout=2) as sock:
            sock.settimeout(seconds)
            try:
                sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
                sock.recv(100)  # an answer, or the peer closing: not silent
                return False
            except TimeoutError:
                return True
    except OSError:
        return False


@dataclass
class Domain:
    layout: DomainLayout
    ip: str
    ports: dict[str, int]
    params: dict[str, object] = field(default_factory=dict)

    @property
    def gwia_home(self) -> str:
        assert self.layout.gwia_home
        return self.layout.gwia_home


@dataclass
class PostOffice:
    layout: PostOfficeLayout
    ip: str
    ports: dict[str, int]
    params: dict[str, object] = field(default_factory=dict)


class GwLab:
    """One emulator installation and one mounted GroupWise partition for a test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "root"
        install(str(self.root))
        self.bin = self.root / BIN
        self.gwha_conf = self.root / "etc/opt/novell/groupwise/gwha.conf"
        self.grpwise = self.root / "etc/init.d/grpwise"
        self.mount = tmp / "partition"
        self.mount.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "mailha-gwtest", str(self.mount)],
                       check=True, timeout=30)
        self.mounted = True
        self.gwha_popen: list[subprocess.Popen] = []

    # -- layout ------------------------------------------------------------------------------

    def common(self) -> dict[str, object]:
        return {"gwha_binary": self.bin / "gwha", "gwha_conf": self.gwha_conf, "grpwise_script": self.grpwise}

    def domain(self, name: str = "dom1", *, ip: str | None = None, ip_in_file: bool = True,
               smtp_port: int | None = None, services: tuple[str, ...] = ("smtp", "pop", "imap", "ldap"),
               base: Path | None = None) -> Domain:
        ip = ip or secondary_ip()
        ports = {k: free_port(ip) for k in ("msgtranport", "mta_http", "popport", "imapport", "ldapport", "httpport")}
        ports["smtpport"] = smtp_port or free_port(ip)
        made = layout.create_domain(
            str(base or self.mount), name, ip=ip if ip_in_file else None,
            mta_ports={"msgtranport": ports["msgtranport"], "httpport": ports["mta_http"]},
            gwia_ports={k: ports[k] for k in ("smtpport", "popport", "imapport", "ldapport", "httpport")},
            gwia_services=services,
        )
        params = {"domain_dir": made.directory, "mta_binary": self.bin / "gwmta", "gwia_binary": self.bin / "gwia",
                  **self.common()}
        return Domain(made, ip, ports, params)

    def post_office(self, name: str = "po1", domain: str = "dom1", *, ip: str | None = None,
                    ip_in_file: bool = True) -> PostOffice:
        ip = ip or secondary_ip()
        ports = {k: free_port(ip) for k in ("port", "mtpinport", "httpport")}
        made = layout.create_post_office(str(self.mount), name, domain, ip=ip if ip_in_file else None, ports=ports)
        params = {"post_office_dir": made.directory, "binary": self.bin / "gwpoa", **self.common()}
        return PostOffice(made, ip, ports, params)

    def register(self, *items: DomainLayout | PostOfficeLayout) -> None:
        layout.register(str(self.root), *items)

    # -- processes ----------------------------------------------------------------------------

    def pids(self, binary: str | None = None) -> list[int]:
        """Processes running one of this installation's executables (or only *binary*)."""
        prefix = str(self.bin) + "/"
        found = []
        for proc in psutil.process_iter(["pid", "cmdline", "status"]):
            argv = proc.info.get("cmdline") or []
            if proc.info["status"] == psutil.STATUS_ZOMBIE or proc.info["pid"] == os.getpid():
                continue
            if any(a.startswith(prefix) and (binary is None or a == prefix + binary) for a in argv[:2]):
                found.append(proc.info["pid"])
        return found

    def agent_pids(self, binary: str, startup: str) -> list[int]:
        return [pid for pid in self.pids(binary) if any(startup in a for a in _cmdline(pid))]

    def start_gwha(self, poll: float = 0.2) -> tuple[int, Path]:
        """The emulator's gwha, polling gwha.conf every *poll* seconds; returns (pid, log)."""
        log = self.tmp / "gwha.log"
        proc = subprocess.Popen([str(self.bin / "gwha"), "--poll", str(poll), "--log", str(log)],
                                env={**os.environ, "MAILHA_SIM_FOREGROUND": "1"},
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.gwha_popen.append(proc)
        wait_for(lambda: log.exists() and "polling" in log.read_text(), 20, "gwha to start")
        return proc.pid, log

    def kill_all(self) -> None:
        for proc in self.gwha_popen:  # first gwha, or it restarts what we kill
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.wait(timeout=10)
        for _ in range(5):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            psutil.wait_procs([p for p in map(_process, pids) if p], timeout=10)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.mount)], check=True, timeout=30)
            self.mounted = False

    def cleanup(self) -> None:
        try:
            self.kill_all()
        finally:
            if self.mounted:
                done = subprocess.run(["umount", str(self.mount)], check=False, capture_output=True, timeout=30)
                if done.returncode:  # still busy: detach it now, it goes when the last user does
                    subprocess.run(["umount", "-l", str(self.mount)], check=True, timeout=30)
                self.mounted = False


def _cmdline(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


@pytest.fixture(name="gwlab")
def gwlab_fixture(tmp_path: Path) -> Iterator[GwLab]:
    """A GwLab for the test (import ``gwlab_fixture``; tests ask for ``gwlab``)."""
    if os.geteuid() != 0:
        pytest.fail("the GroupWise agent tests mount a tmpfs partition: run them as root")
    lab = GwLab(tmp_path)
    try:
        yield lab
    finally:
        lab.cleanup()
