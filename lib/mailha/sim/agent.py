"""One emulated GroupWise agent process: ``gwmta``, ``gwpoa`` or ``gwia``.

Command line as the products: ``gwmta @/dom/dom.mta``, ``gwmta --home /dom``, ``gwpoa @/po/po.poa``,
``gwia @/opt/novell/groupwise/agents/share/gwia.cfg``; switches on the command line override the
startup file.  ``--show`` is accepted and ignored (there is no console UI).

Life of the process:

1. Read the startup file with :mod:`mailha.groupwise.startup`; an unreadable file, a missing
   ``--home`` or a home directory that does not exist ends the program at once (exit 1, message
   on stderr), before it detaches.
2. Detach (double fork, new session, stdio on /dev/null) unless ``MAILHA_SIM_FOREGROUND=1``.
   The parent exits 0 as soon as the child exists, like a daemon that forks early: a caller
   must watch the ports or the log to know the agent is up.
3. Log to ``--log`` or the product's directory under the home (:data:`LOG_DIRS`), one new file
   per start named like the products' (``mmddmta.nnn``).
4. Wait ``start_delay`` seconds (opening databases), then bind every listener of
   :func:`mailha.groupwise.switches.endpoints`: all addresses unless ``--ip``.  A listener that
   cannot bind ends the program with exit 1 and the reason in the log and on stderr.
5. Serve until SIGTERM/SIGINT: close the listeners, take ``stop_delay`` seconds to "finish
   processing", exit 0.  SIGHUP re-reads the control file (it is also polled).

There is no pid file, as on the products.
"""

from __future__ import annotations

import asyncio
import errno
import html
import os
import shlex
import signal
import socket
import sys
import time
from typing import Sequence

from mailha.groupwise.startup import StartupFile, StartupFileError
from mailha.groupwise.switches import (
    CERT_FILE, HTTP_PASSWORD, HTTP_USER, KEY_FILE, KEY_PASSWORD, LOG_DIR, AgentKind, Endpoint, endpoints,
)

from . import control as controls
from .daemon import daemonize

PRODUCT = {AgentKind.MTA: "GroupWise MTA", AgentKind.POA: "GroupWise POA", AgentKind.GWIA: "GroupWise Internet Agent"}
LOG_DIRS = {AgentKind.MTA: "mslocal", AgentKind.POA: "wpcsout/ofs", AgentKind.GWIA: "000.prc"}
LOG_SUFFIX = {AgentKind.MTA: "mta", AgentKind.POA: "poa", AgentKind.GWIA: "gwia"}
POLL = 1.0  # control-file poll: an idle emulated agent stays under 0.05 % of a core


class AgentError(Exception):
    """A reason the agent cannot run, worded like the product would word it."""


def load_config(kind: AgentKind, argv: Sequence[str], cwd: str | None = None) -> tuple[StartupFile, str | None]:
    """The effective switches: the ``@startup`` file, then the command line's switches after it."""
    cwd = cwd or os.getcwd()
    startup_path = None
    switch_args: list[str] = []
    for arg in argv:
        if arg.startswith("@"):
            startup_path = arg[1:] if os.path.isabs(arg[1:]) else os.path.join(cwd, arg[1:])
        else:
            switch_args.append(arg)
    text = ""
    if startup_path is not None:
        try:
            with open(startup_path, "rb") as handle:
                text = handle.read().decode("utf-8", "surrogateescape")
        except OSError as exc:
            raise AgentError(f"Unable to open startup file {startup_path}: {exc.strerror}") from None
    if switch_args:  # command-line switches come last, so they win
        text += ("" if not text or text.endswith("\n") else "\n") + " ".join(shlex.quote(a) for a in switch_args) + "\n"
    try:
        config = StartupFile.parse(text, source=startup_path or "command line")
    except StartupFileError as exc:
        raise AgentError(f"Invalid startup file: {exc}") from None
    if not config.home:
        raise AgentError("The --home switch is required (path to the domain, post office or gateway directory)")
    if not os.path.isdir(config.home):
        raise AgentError(f"Home directory {config.home} not found or not accessible")
    return config, startup_path


class Agent:
    def __init__(self, kind: AgentKind, config: StartupFile, *, foreground: bool) -> None:
        self.kind, self.config, self.foreground = kind, config, foreground
        self.home = os.path.abspath(config.home or ".")
        parts = self.home.rstrip("/").split("/")
        # A GWIA's home is <domain>/wpgate/<gateway>: it is known by its domain's name.
        self.name = parts[-3] if len(parts) >= 3 and parts[-2].lower() == "wpgate" else parts[-1] or self.home
        self.control = controls.load(self.home)
        self.log_path = self._open_log()
        self.servers: list[asyncio.base_events.Server] = []
        self.started = time.time()
        self.stopping = False
        self.done: asyncio.Future[int] | None = None
        self._pending: list[int] = []  # signals caught while initialising
        self._control_mtime: int | None = None

    # -- logging ------------------------------------------------------------------------------

    def _open_log(self) -> str:
        directory = self.config.get(LOG_DIR) or os.path.join(self.home, LOG_DIRS[self.kind])
        os.makedirs(directory, exist_ok=True)
        stem = time.strftime("%m%d") + LOG_SUFFIX[self.kind]
        numbers = [int(n.rsplit(".", 1)[1]) for n in os.listdir(directory) if n.startswith(stem + ".") and n.rsplit(".", 1)[1].isdigit()]
        path = os.path.join(directory, f"{stem}.{max(numbers, default=0) + 1:03d}")
        self._log = open(path, "a", encoding="utf-8", buffering=1)
        return path

    def log(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {os.getpid()} {message}"
        self._log.write(line + "\n")
        if self.foreground:
            print(line, file=sys.stderr, flush=True)

    # -- life cycle ---------------------------------------------------------------------------

    def run(self) -> int:
        self.log(f"{PRODUCT[self.kind]} (mailha emulator) starting for {self.home}")
        self.log(f"Log file: {self.log_path}")
        if self.control.fault == "crash":
            return self._crash()
        if self.control.start_delay:
            self.log(f"Initializing ({self.control.start_delay:g} s)")
            for sig in (signal.SIGTERM, signal.SIGINT):  # a stop while initialising is honoured
                signal.signal(sig, lambda signum, _frame: self._pending.append(signum))
            if not self._sleep_interruptible(self.control.start_delay):
                self.log("Stopped while initializing")
                return 0
        try:
            return asyncio.run(self._serve())
        except AgentError as exc:
            self.log(f"Error: {exc}")
            print(f"{os.path.basename(sys.argv[0]) or self.kind.binary}: {exc}", file=sys.stderr, flush=True)
            return 1

    def _sleep_interruptible(self, seconds: float) -> bool:
        """Sleep; False as soon as a SIGTERM/SIGINT that is not ignored arrives."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))
            while self._pending:
                sig = self._pending.pop()
                if sig == signal.SIGTERM and self.control.ignore_sigterm:
                    self.log("Received SIGTERM: ignored")
                else:
                    return False
        return True

    async def _serve(self) -> int:
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        from . import protocols

        ctx = protocols.Context(
            product=PRODUCT[self.kind],
            hostname=self.config.get("hn") or socket.gethostname(),
            home=self.home,
            is_hung=lambda: self.control.fault == "hang",
            log=self.log,
            status_page=self._status_page,
            http_user=self.config.get(HTTP_USER),
            http_password=self.config.get(HTTP_PASSWORD),
            tls=self._tls_context(),
        )
        self.ctx = ctx
        try:
            points = endpoints(self.kind, self.config)
        except StartupFileError as exc:
            raise AgentError(f"Invalid startup file: {exc}") from None
        # Handlers first: a SIGTERM once the first port answers (a caller's cue) is a graceful
        # stop, not Python's default death while the other ports are still being bound.
        for sig, handler in ((signal.SIGTERM, self._on_term), (signal.SIGINT, self._on_term), (signal.SIGHUP, self._reload)):
            loop.add_signal_handler(sig, handler, sig)
        for sig in self._pending:  # came as the initialisation ended
            self._on_term(sig)
        for point in points:
            if self.stopping:
                break
            self.servers.append(await self._listen(point, protocols.handler(point.service.protocol, ctx)))
        if self.stopping:  # a listener bound while the shutdown already closed the others
            for server in self.servers:
                server.close()
        else:
            self.log("Agent is up: " + ", ".join(f"{p.service.name.upper()} {p.address or '*'}:{p.port}" for p in points))
        poller = loop.create_task(self._poll_control())
        code = await self.done
        poller.cancel()
        return code

    async def _listen(self, point: Endpoint, callback) -> asyncio.base_events.Server:  # type: ignore[no-untyped-def]
        host = point.address or "0.0.0.0"
        if self.control.fault == "bindfail":
            raise AgentError(self._bind_message(point, host, errno.EADDRINUSE))
        try:
            return await asyncio.start_server(callback, host=host, port=point.port, reuse_address=True, backlog=64)
        except OSError as exc:
            raise AgentError(self._bind_message(point, host, exc.errno or errno.EADDRINUSE)) from None

    @staticmethod
    def _bind_message(point: Endpoint, host: str, code: int) -> str:
        return (f"{point.service.name.upper()}: Unable to bind to TCP port {point.port} at address {host}: "
                f"{os.strerror(code)}. Another program may be using this port; the agent cannot start")

    def _tls_context(self):  # type: ignore[no-untyped-def]
        """The server TLS context of --certfile/--keyfile; without them (or unreadable) no TLS.

        The product's behaviour with an unreadable certificate is not documented; the emulator
        logs it and serves without TLS, which is what a monitor must notice.
        """
        cert, key = self.config.get(CERT_FILE), self.config.get(KEY_FILE)
        if not cert or not key:
            return None
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(cert, key, password=self.config.get(KEY_PASSWORD))
        except (OSError, ssl.SSLError) as exc:
            self.log(f"SSL: cannot load certificate {cert} / key {key}: {getattr(exc, 'strerror', None) or exc}; SSL disabled")
            return None
        self.log(f"SSL: certificate {cert} loaded")
        return context

    def _on_term(self, sig: int) -> None:
        name = signal.Signals(sig).name
        self._reload()  # a knob written just before the signal must count
        if self.control.ignore_sigterm and sig == signal.SIGTERM:
            self.log(f"Received {name}: ignored")
            return
        if self.stopping:
            return
        self.stopping = True
        self.log(f"Received {name}: shutting down")
        asyncio.get_running_loop().create_task(self._shutdown())

    async def _shutdown(self) -> None:
        for server in self.servers:
            server.close()  # no new connections while the queues drain
        if self.control.stop_delay:
            self.log(f"Finishing processing ({self.control.stop_delay:g} s)")
            await asyncio.sleep(self.control.stop_delay)
        for writer in list(self.ctx.sessions):
            writer.close()
        self.log("Agent terminated normally")
        assert self.done is not None
        if not self.done.done():
            self.done.set_result(0)

    def _reload(self, _sig: int = 0) -> None:
        previous = self.control
        try:
            self.control = controls.load(self.home)
        except ValueError as exc:
            self.log(f"Control file ignored: {exc}")
            return
        if self.control != previous:
            self.log(f"Control: {self.control}")
        if self.control.fault == "crash":
            self._crash()
        elif self.control.fault == "freeze":
            self._freeze()

    async def _poll_control(self) -> None:
        path = controls.control_path(self.home)
        while True:
            await asyncio.sleep(POLL)
            try:
                mtime: int | None = os.stat(path).st_mtime_ns
            except OSError:
                mtime = None
            if mtime != self._control_mtime:
                self._control_mtime = mtime
                self._reload()

    def _crash(self) -> int:
        self.log(f"Abnormal termination (emulated crash, exit {self.control.exit_code})")
        self._log.flush()
        os._exit(self.control.exit_code)

    def _freeze(self) -> None:
        """Block the whole process: the kernel still completes handshakes, nothing is accepted."""
        self.log("Frozen (emulated hang: no accept, no answer, signals wait)")
        while self.control.fault == "freeze":
            time.sleep(POLL)
            try:
                self.control = controls.load(self.home)
            except ValueError:
                pass
        self.log("Thawed")
        if self.control.fault == "crash":
            self._crash()

    def _status_page(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(s.sockets[0].getsockname()[0])}:{s.sockets[0].getsockname()[1]}</td></tr>" for s in self.servers if s.sockets
        )
        up = int(time.time() - self.started)
        return (
            f"<html><head><title>{PRODUCT[self.kind]} - {html.escape(self.name)}</title></head><body>"
            f"<h1>{PRODUCT[self.kind]}: {html.escape(self.name)}</h1><p>Status: Up</p><p>Up time: {up} s</p>"
            f"<table>{rows}</table><p>mailha GroupWise emulator</p></body></html>"
        )


def main(binary: str, argv: Sequence[str]) -> int:
    kind = AgentKind.from_binary(binary)
    if kind is None:
        print(f"{binary}: not a GroupWise agent the emulator knows", file=sys.stderr)
        return 2
    argv = [a for a in argv if a.lower() != "--show"]  # the console UI does not exist here
    if not argv:
        print(f"Usage: {kind.binary} [--show] @startup_file | --home directory [switches]", file=sys.stderr)
        return 1
    try:
        config, _ = load_config(kind, argv)
    except AgentError as exc:
        print(f"{kind.binary}: {exc}", file=sys.stderr)
        return 1
    foreground = os.environ.get("MAILHA_SIM_FOREGROUND", "").lower() in ("1", "yes", "true")
    if not foreground and daemonize():
        return 0  # the launching parent
    agent = Agent(kind, config, foreground=foreground)
    return agent.run()
