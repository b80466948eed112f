"""One daemon of an emulated Messaging Server instance (its name is the file in ``lib``).

It reads where it listens from the instance's configuration (:mod:`.config`), binds, writes
``ok`` to the pipe ``start-msg`` gave it (``MAILHA_SIM_READY_FD``) or the reason it cannot,
registers with the watcher (a connection kept open: a crash drops it without ``BYE``), and
serves until SIGTERM.  The store writes ``data/proc/store`` (``<pid>`` then ``init``, then
``ready`` after the control file's ``start_delay``: recovery) and answers ``stored -t`` on a
local socket.  The dispatcher binds SMTP and LMTP and hands each socket to a
``tcp_smtp_server``/``tcp_lmtp_server`` child it starts again when it dies.  Faults come from
the control file (``process`` names the daemon): ``crash`` (exit at once; for the store, at
start: nothing else then starts), ``hang`` (connections and the store check stay silent),
``bindfail``, ``ignore_sigterm``, ``stop_delay``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Sequence

from mailha.msgsrv import layout

from .. import control as controls
from .. import protocols, ready
from . import builder, config

POLL = 1.0
LOGIN_TIMEOUT = 3.0  # a directory that does not answer refuses the login (the session waits that long)
NOT_WATCHED = ("watcher", "tcp_smtp_server", "tcp_lmtp_server")
PRODUCT = "Sun Java(tm) System Messaging Server"


class Daemon:
    def __init__(self, name: str, home: str) -> None:
        self.name, self.home = name, home
        self.inst = config.instance_of(home)
        self.control = controls.load(home, process=name)
        self.stopping = False
        self.children: dict[str, subprocess.Popen] = {}
        os.makedirs(os.path.join(self.inst.home, "log"), exist_ok=True)
        self._log = open(os.path.join(self.inst.home, "log", f"{name}.log"), "a", encoding="utf-8", buffering=1)

    def log(self, message: str) -> None:
        self._log.write(f"{time.strftime('%H:%M:%S')} {os.getpid()} {self.name}: {message}\n")

    def hung(self) -> bool:
        return self.control.fault in ("hang", "freeze")

    # -- life ---------------------------------------------------------------------------------

    def run(self) -> int:
        self.log(f"starting in {self.inst.home}")
        if self.control.fault in ("crash", "bindfail"):
            why = "cannot bind" if self.control.fault == "bindfail" else "fatal error at start"
            self.log(why)
            ready.tell(why)
            return self.control.exit_code or 1
        try:
            return asyncio.run(self.serve())
        except OSError as err:
            self.log(f"cannot start: {err}")
            ready.tell(f"cannot start: {err}")
            return 1

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        self.done: asyncio.Future[int] = loop.create_future()
        servers = await self.bind()
        if self.name == "stored":
            self.write_store_state(layout.INIT)
            servers.append(await asyncio.start_unix_server(self.store_status, config.store_socket(self.inst)))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.on_term)
        watcher = None
        if self.name == "watcher":
            from .watch import Watcher

            watcher = Watcher(self)
            servers.append(await asyncio.start_server(watcher.session, *self.watcher_bind()))
        if self.name == "dispatcher":
            self.spawn_children()
        # Registered before it says it is up: a crash right after start-msg returns is seen.
        # The dispatcher restarts its TCP servers itself: only the daemons start-msg starts register.
        registration = None if self.name in NOT_WATCHED else await self.register()
        # Bound at once (a port in use fails the start), served only now: a client that was
        # greeted knows the watcher would see this daemon crash.
        for server in servers:
            await server.start_serving()
        ready.tell("ok")
        self.log("ready for connections")
        if self.name == "stored":
            loop.create_task(self.recover())
        loop.create_task(self.poll())
        code = await self.done
        for server in servers:
            server.close()
        if self.control.stop_delay:
            await asyncio.sleep(self.control.stop_delay)
        self.stop_children()
        if registration is not None:
            try:
                registration.write(b"BYE\n")
                await registration.drain()
                registration.close()
            except (OSError, RuntimeError):
                pass
        if self.name == "stored":
            for path in (config.store_socket(self.inst),):
                try:
                    os.unlink(path)
                except OSError:
                    pass
        self.log(f"exiting ({code})")
        return code

    def on_term(self) -> None:
        self.reload()  # a knob set just before the signal counts
        if self.control.ignore_sigterm:
            self.log("SIGTERM ignored")
            return
        self.stopping = True
        if not self.done.done():
            self.done.set_result(0)

    async def poll(self) -> None:
        while not self.done.done():
            await asyncio.sleep(POLL)
            self.reload()
            if self.control.fault == "crash":
                self.log("crashing (control file)")
                self._log.flush()
                os._exit(self.control.exit_code or 1)
            if self.name == "dispatcher" and not self.stopping:
                self.spawn_children()

    def reload(self) -> None:
        try:
            control = controls.load(self.home, process=self.name)
        except ValueError:
            return
        if control != self.control:
            self.log(f"control: fault {control.fault}, ignore_sigterm {control.ignore_sigterm}")
        self.control = control

    # -- sockets -------------------------------------------------------------------------------

    async def bind(self) -> list:
        servers = []
        ctx = protocols.Context(PRODUCT, socket.gethostname(), self.inst.home, self.hung, self.log,
                                self.status_page, authenticate=self.authenticate, deliver=self.deliver,
                                mailbox=self.inbox)
        for service, protocol, address, port in config.listeners(self.inst, self.name):
            if self.name in ("watcher", "dispatcher"):
                continue  # the watcher's own protocol; the dispatcher hands its sockets to children
            server = await asyncio.start_server(protocols.handler(protocol, ctx), address or None, port,
                                                reuse_address=True, start_serving=False)
            self.log(f"{service} listening on {address or '*'}:{port}")
            servers.append(server)
        if self.name in ("tcp_smtp_server", "tcp_lmtp_server"):
            fd = int(sys.argv[sys.argv.index("--fd") + 1]) if "--fd" in sys.argv else -1
            sock = socket.socket(fileno=fd)
            servers.append(await asyncio.start_server(protocols.handler("smtp", ctx), sock=sock, start_serving=False))
        return servers

    def watcher_bind(self) -> tuple:
        (_, _, address, port), = config.listeners(self.inst, "watcher")
        return address or None, port

    async def register(self):
        address, port = config.watcher_address(self.inst)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), 5)
        except (OSError, asyncio.TimeoutError):
            self.log("watcher not reachable: running without it")
            return None
        writer.write(f"REGISTER {self.name} {os.getpid()}\n".encode())
        await writer.drain()
        return writer

    # -- the store ---------------------------------------------------------------------------

    def write_store_state(self, state: str) -> None:
        from mailha.files import replace_text

        replace_text(config.store_pidfile(self.inst), f"{os.getpid()}\n{state}\n", 0o644)

    async def recover(self) -> None:
        if self.control.start_delay:
            self.log(f"recovering the store ({self.control.start_delay:g} s)")
            await asyncio.sleep(self.control.start_delay)
        self.write_store_state(layout.READY)
        self.log("store ready")
        while not self.done.done():  # the checkpoint heartbeat (stored.ckp, product facts §2.2)
            if not self.hung():
                with open(os.path.join(self.inst.config_dir, "stored.ckp"), "w"):
                    pass
            await asyncio.sleep(60)

    async def store_status(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readline()
            while self.hung():
                await asyncio.sleep(0.2)
            writer.write(b"ready: store server running, pid %d\n" % os.getpid())
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    # -- the dispatcher's children -----------------------------------------------------------

    def spawn_children(self) -> None:
        for service, _protocol, address, port in config.listeners(self.inst, "dispatcher"):
            child = self.children.get(service)
            if child is not None and child.poll() is None:
                continue
            if child is not None:
                self.log(f"tcp_{service}_server pid {child.pid} exited {child.returncode}: starting another")
            sock = self.sockets.get(service) if hasattr(self, "sockets") else None
            if sock is None:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address or "0.0.0.0", port))
                sock.listen(64)
                sock.set_inheritable(True)
                self.sockets = {**getattr(self, "sockets", {}), service: sock}
                self.log(f"{service} listening on {address or '*'}:{port}")
            self.children[service] = subprocess.Popen(
                [self.inst.daemon(f"tcp_{service}_server"), "--fd", str(sock.fileno())], pass_fds=(sock.fileno(),),
                cwd=self.inst.home, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={k: v for k, v in os.environ.items() if k != ready.READY_FD})

    def stop_children(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.terminate()
        for child in self.children.values():
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                pass  # stop-msg's caller ends it

    # -- what the protocols need ---------------------------------------------------------------

    def authenticate(self, user: str, password: str) -> bool:
        """A login of the emulator's users file, else of the user directory (msg.conf's
        ``local.ugldaphost`` and ``local.ugldapbasedn``): a bind as ``uid=USER,ou=People,BASE``."""
        import hmac

        known = config.users(self.inst).get(user.lower())
        if known is not None:
            return hmac.compare_digest(known.encode(), password.encode())
        return self.directory_login(user, password)

    def directory_login(self, user: str, password: str) -> bool:
        import re

        from mailha.msgsrv import msgconf
        from mailha.probes import AUTH, ProbeError
        from mailha.probes.ldap import LdapConnection

        from ..protocols import LoginUnavailable

        values = config.values(self.inst)
        where, base = msgconf.directory(values), msgconf.value(values, msgconf.LDAP_BASE)
        # An empty password would be an anonymous bind, which LDAP accepts: never a login.
        if where is None or not base or not password or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", user):
            return False
        conn = LdapConnection(*where, deadline=time.monotonic() + LOGIN_TIMEOUT)
        try:
            conn.connect()
            conn.bind(f"uid={user},ou=People,{base}", password)
            return True
        except (ProbeError, OSError) as err:
            if isinstance(err, ProbeError) and err.kind == AUTH:
                self.log(f"login of {user} refused by the directory: {err}")
                return False
            # A directory that is down or busy: the client is told to retry, not that it is wrong.
            self.log(f"login of {user} not checked, the directory fails: {err}")
            raise LoginUnavailable(str(err)) from None
        finally:
            conn.close()

    def deliver(self, mail_from: str, rcpts: list[str], data: bytes) -> str:
        from ..mailqueue import deliver

        paths = [deliver(builder.mailbox(self.inst, rcpt), mail_from, [rcpt], data) for rcpt in rcpts]
        return paths[-1]

    def inbox(self, user: str) -> list[str]:
        from ..mailqueue import delivered

        return delivered(builder.mailbox(self.inst, user))

    def status_page(self) -> str:
        return f"<html><head><title>{PRODUCT}</title></head><body><h1>Messenger Express</h1><p>{self.inst.home}</p></body></html>"


def main(name: str, home: str, argv: Sequence[str]) -> int:
    if name == "stored" and "-t" in argv:
        from .commands import stored_check

        return stored_check(home, "-v" in argv)
    return Daemon(name, home).run()
