"""``uxwdog`` and ``ns-httpd`` of an emulated Administration Server.

``uxwdog -e -d CONFIG`` runs ``ns-httpd -d CONFIG``, passes on what it says at start (``ok``
or why not) to ``start-admin`` (the pipe ``MAILHA_SIM_READY_FD``), and stays until SIGTERM,
which it passes on; an ``ns-httpd`` that dies is logged, not restarted (docs/emulator.md).
``ns-httpd`` contacts the configuration directory (``adm.conf``), opens the trust database with
the pin file's password when ``Security on``, binds, forks :data:`WORKERS` copies of itself
that serve HTTP(S), writes its ``PidLog`` and waits for SIGTERM.  Faults from the control file
(``process`` ``uxwdog`` or ``ns-httpd``): ``crash``, ``hang`` (requests stay unanswered),
``bindfail``, ``ignore_sigterm``, ``start_delay``, ``stop_delay``.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import socket
import sys
import time
from typing import Callable, Sequence

from mailha.adminsrv import conf
from mailha.adminsrv.layout import NS_HTTPD, UXWDOG, AdminServer
from mailha.files import read_text, replace_text

from .. import control as controls
from .. import protocols, ready
from . import builder

WORKERS = 2
#: How long ns-httpd waits for the configuration directory to accept a connection.
DIRECTORY_WAIT = 5.0
#: How long a daemon waits for its children after passing SIGTERM on.
CHILD_WAIT = 20.0
PRODUCT = "Sun Java(tm) System Administration Server"
MAX = 1 << 20


class Daemon:
    """What both processes share: the log, the control file, telling the starter, the wait."""

    def __init__(self, name: str, root: str) -> None:
        self.name, self.admin = name, AdminServer(root)
        self.control = controls.load(self.admin.server_root, process=name)
        os.makedirs(self.admin.logs, exist_ok=True)
        self._log = open(os.path.join(self.admin.logs, "error"), "a", encoding="utf-8", buffering=1)

    def log(self, message: str) -> None:
        self._log.write(f"[{time.strftime('%d/%b/%Y:%H:%M:%S')}] {self.name}[{os.getpid()}]: {message}\n")

    def reload(self) -> None:
        try:
            control = controls.load(self.admin.server_root, process=self.name)
        except ValueError:
            return
        if control != self.control:
            self.log(f"control: fault {control.fault}, ignore_sigterm {control.ignore_sigterm}")
        self.control = control

    def wait_for_term(self, children: Callable[[], list[int]]) -> int:
        """Until SIGTERM (or a ``crash`` fault); then SIGTERM to *children* and wait for them."""
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w)
        got: list[int] = []
        signal.signal(signal.SIGTERM, lambda *_: got.append(signal.SIGTERM))
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select to reap
        while True:
            select.select([wake_r], [], [], 1.0)
            try:
                os.read(wake_r, 512)  # the signals' wake-up bytes
            except BlockingIOError:
                pass
            self.reap()
            self.reload()
            if self.control.fault == "crash":
                self.log("crashing (control file)")
                os._exit(self.control.exit_code or 1)
            if got and self.control.ignore_sigterm:
                self.log("SIGTERM ignored")
                got.clear()
            elif got:
                break
        self.log("shutting down")
        time.sleep(self.control.stop_delay)
        pids = children()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + CHILD_WAIT
        while pids and time.monotonic() < deadline:
            self.reap()
            pids = [p for p in pids if _alive(p)]
            select.select([wake_r], [], [], 0.1)
        self.log("exiting")
        return 0

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.on_child_exit(pid, status)

    def on_child_exit(self, pid: int, status: int) -> None:
        self.log(f"child {pid} exited (status {status})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- uxwdog -------------------------------------------------------------------------------------


def uxwdog(root: str, argv: Sequence[str]) -> int:
    d = Daemon(UXWDOG, root)
    if "-d" not in argv or argv[argv.index("-d") + 1:][:1] != [d.admin.config_dir]:
        print(f"usage: uxwdog -e -d {d.admin.config_dir}", file=sys.stderr)
        return 2
    if d.control.fault in ("crash", "bindfail"):
        ready.tell("watchdog: fatal error at start")
        return d.control.exit_code or 1
    child, said = ready.launch([d.admin.binary(NS_HTTPD), "-d", d.admin.config_dir], d.admin.server_root,
                               os.environ, new_session=False)
    if said != "ok":
        ready.tell(said or f"the server exited ({child.returncode})")
        return 1
    d.log(f"server {child.pid} started")
    ready.tell("ok")
    return d.wait_for_term(lambda: [child.pid] if child.poll() is None else [])


# -- ns-httpd -----------------------------------------------------------------------------------


class Server(Daemon):
    def __init__(self, root: str) -> None:
        super().__init__(NS_HTTPD, root)
        self.workers: list[int] = []

    def start(self) -> int:
        admin = self.admin
        try:
            magnus = conf.parse_magnus(read_text(admin.magnus_conf, MAX, "magnus.conf"))
            port, address = conf.port(magnus), conf.address(magnus)
            host, ldap_port = conf.directory(conf.parse_adm(read_text(admin.adm_conf, MAX, "adm.conf")))
        except (OSError, ValueError) as err:
            return self.fail(f"configuration: {err}")
        try:
            socket.create_connection((host, ldap_port), timeout=DIRECTORY_WAIT).close()
        except OSError as err:
            return self.fail(f"cannot contact the configuration directory at {host}:{ldap_port}: {err}")
        tls = None
        if conf.secure(magnus):
            tls = self.trust_database()
            if tls is None:
                return self.fail("cannot open the trust database: the password is missing or wrong "
                                 f"({admin.pin_file})")
        if self.control.fault == "bindfail":
            return self.fail(f"cannot bind {address or '*'}:{port} (control file)")
        try:
            sock = socket.create_server((address or "", port), reuse_port=False)
        except OSError as err:
            return self.fail(f"cannot bind {address or '*'}:{port}: {err}")
        time.sleep(self.control.start_delay)
        for _ in range(WORKERS):
            pid = os.fork()
            if pid == 0:
                os._exit(self.work(sock, tls))
            self.workers.append(pid)
        sock.close()
        replace_text(f"{admin.logs}/pid", f"{os.getpid()}\n")
        self.log(f"listening on {address or '*'}:{port}{' (SSL)' if tls else ''}, workers "
                 f"{' '.join(map(str, self.workers))}")
        ready.tell("ok")
        code = self.wait_for_term(lambda: [p for p in self.workers if _alive(p)])
        try:
            os.unlink(f"{admin.logs}/pid")
        except FileNotFoundError:
            pass
        return code

    def fail(self, why: str) -> int:
        self.log(why)
        ready.tell(why)
        return 1

    def trust_database(self):
        import ssl

        try:
            password = conf.read_pin(read_text(self.admin.pin_file, 4096, "pin file"))
        except OSError:
            password = None
        if password is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cfg = self.admin.config_dir
        try:
            context.load_cert_chain(os.path.join(cfg, builder.CERT), os.path.join(cfg, builder.KEY), password=password)
        except (OSError, ssl.SSLError):
            return None
        return context

    def on_child_exit(self, pid: int, status: int) -> None:
        if pid in self.workers:
            self.workers.remove(pid)
            self.log(f"worker {pid} exited (status {status})")

    # -- a worker ---------------------------------------------------------------------------

    def work(self, sock: socket.socket, tls) -> int:
        """One worker: serve until SIGTERM (the parent's), the control file polled every second."""
        ready.forget()  # the parent says when the server is up
        try:
            asyncio.run(self.serve(sock, tls))
        except Exception as err:  # noqa: BLE001 - a worker reports and ends, the server stays
            self.log(f"worker failed: {err}")
            return 1
        return 0

    async def serve(self, sock: socket.socket, tls) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def on_term() -> None:
            self.reload()
            if not self.control.ignore_sigterm and not done.done():
                done.set_result(None)

        loop.add_signal_handler(signal.SIGTERM, on_term)
        ctx = protocols.Context(PRODUCT, socket.gethostname(), self.admin.server_root,
                                lambda: self.control.fault in ("hang", "freeze"), self.log, self.status_page,
                                http_authenticate=self.authenticate)
        server = await asyncio.start_server(protocols.handler("http", ctx), sock=sock, ssl=tls)
        while not done.done():
            await asyncio.wait([done], timeout=1.0)
            self.reload()
            if self.control.fault == "crash":
                os._exit(self.control.exit_code or 1)
        server.close()

    def authenticate(self, user: str, password: str) -> bool:
        try:
            text = read_text(self.admin.admpw, MAX, "admpw")
        except OSError:
            return False
        return not text.strip() or conf.admpw_accepts(text, user, password)

    def status_page(self) -> str:
        return f"<html><body><h1>{PRODUCT}</h1><p>{self.admin.server_root}</p></body></html>"


def ns_httpd(root: str, argv: Sequence[str]) -> int:
    server = Server(root)
    if "-d" not in argv or argv[argv.index("-d") + 1:][:1] != [server.admin.config_dir]:
        print(f"usage: ns-httpd -d {server.admin.config_dir}", file=sys.stderr)
        return 2
    if server.control.fault == "crash":
        return server.fail("fatal error at start (control file)")
    return server.start()


def main(name: str, root: str, argv: Sequence[str]) -> int:
    return {UXWDOG: uxwdog, NS_HTTPD: ns_httpd}[name](root, argv)
