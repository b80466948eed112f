"""The GroupWise emulator test kit: real processes on 127.77.x.y, cleaned up by PID, and startup files."""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import mailha
from mailha import proc
from testkit import free_port, wait_for  # noqa: F401 (re-exported for the test modules)

LIB = str(Path(mailha.__file__).resolve().parent.parent)
_SUBNET = random.randrange(1, 250)
_HOSTS = itertools.count(2)


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


class Sim:
    """One emulator installation under a private root, and the processes the tests start."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "opt/novell/groupwise/agents/bin"
        self.grpwise = root / "etc/init.d/grpwise"
        self.gwha_conf = root / "etc/opt/novell/groupwise/gwha.conf"
        self.popens: list[subprocess.Popen] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MAILHA_SIM_")}
        self.env["PYTHONPATH"] = LIB

    def address(self) -> str:
        return f"127.77.{_SUBNET}.{next(_HOSTS) % 250 + 2}"

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 60,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in argv], env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=timeout, cwd=cwd)

    def popen(self, argv: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start in the foreground (MAILHA_SIM_FOREGROUND=1), so the test holds the pid."""
        proc = subprocess.Popen(
            [str(a) for a in argv], env={**self.env, "MAILHA_SIM_FOREGROUND": "1", **(env or {})},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.popens.append(proc)
        return proc

    def processes(self) -> list[proc.ProcInfo]:
        """Every process running one of this installation's executables (found as the agents find theirs)."""
        executables = tuple(str(p) for p in (*self.bin.iterdir(), self.grpwise))
        return proc.find(proc.ProcessMatch(exe_names=executables), every=True)

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes()]

    def cleanup(self) -> None:
        for child in self.popens:
            if child.poll() is None:
                child.kill()
            try:
                child.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for _ in range(3):  # daemons, and agents a gwha may restart meanwhile
            found = self.processes()
            if not found:
                break
            proc.stop(found, time.monotonic() + 10, term_signal=signal.SIGKILL)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@dataclass
class GwiaSetup:
    home: Path
    cfg: Path
    ip: str
    smtp: int
    pop: int
    imap: int
    ldap: int
    http: int


def gwia_config(home: Path, ip: str, *, extra: str = "") -> GwiaSetup:
    ports = {name: free_port(ip) for name in ("smtp", "pop", "imap", "ldap", "http")}
    cfg = write(
        home / "gwia.cfg",
        ";------------------------------------------\r\n"
        "; GWIA startup file (emulator test)\r\n"
        f"--home {home}\r\n"
        f"--ip {ip}\r\n"
        f"--smtp\r\n--smtpport {ports['smtp']}\r\n"
        f"--pop\r\n/popport-{ports['pop']}\r\n"
        f"--imap\r\n--imapport={ports['imap']}\r\n"
        f"--ldap   --ldapport {ports['ldap']}   ; address book\r\n"
        f"--httpport {ports['http']}\r\n"
        "--hn gwia.example.test\r\n" + extra,
    )
    return GwiaSetup(home, cfg, ip, **ports)


def mta_config(domain: Path, ip: str | None, *, extra: str = "") -> tuple[Path, int, int]:
    mtp, http = free_port(ip or "127.0.0.1"), free_port(ip or "127.0.0.1")
    lines = [f"--home {domain}", f"--msgtranport {mtp}", f"--httpport {http}"]
    if ip:
        lines.append(f"--ip {ip}")
    cfg = write(domain / f"{domain.name}.mta", "\n".join(lines) + "\n" + extra)
    return cfg, mtp, http


def silent_for(address: str, port: int, seconds: float) -> bool:
    """Connects, and receives nothing for ``seconds`` (an agent that hangs)."""
    with socket.create_connection((address, port), timeout=5) as sock:
        sock.settimeout(seconds)
        try:
            sock.recv(100)  # an answer, or the peer closing: not silent
            return False
        except socket.timeout:
            return True


def banner(address: str, port: int, timeout: float = 10) -> bytes:
    with socket.create_connection((address, port), timeout=timeout) as sock:
        return sock.recv(200)
