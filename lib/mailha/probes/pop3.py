"""POP3 probe (poplib): greeting, optionally USER/PASS (the synthetic transaction), QUIT.

``tls=True`` is implicit TLS (POP3S, port 995); ``starttls=True`` upgrades with STLS.
"""

from __future__ import annotations

import poplib
import time

from . import AUTH, PROTOCOL, ProbeError, ProbeResult, redact
from ._common import Watchdog, open_connection, tls_context, translate

SERVICE = "pop3"


class _POP3(poplib.POP3):
    """poplib.POP3 on a socket we opened: deadline, TLS and watchdog are ours."""

    def __init__(self, sock, host, port, timeout):
        self._probe_sock = sock
        try:
            super().__init__(host, port, timeout)  # reads the greeting
        except BaseException:
            # poplib keeps a file on the socket: close it too, or the connection stays open.
            if getattr(self, "file", None) is not None:
                self.file.close()
            raise

    def _create_socket(self, timeout):
        return self._probe_sock


def probe(
    host: str,
    port: int = 110,
    timeout: float = 10.0,
    tls: bool = False,
    *,
    starttls: bool = False,
    ca_file: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> ProbeResult:
    """Check that a POP3 server greets with +OK; with *user*/*password* also log in.

    A rejected login raises a ProbeError of kind ``auth``.
    """
    if user and not password:
        raise ProbeError(SERVICE, host, port, f"user {user!r} given without a password", AUTH)
    deadline = time.monotonic() + timeout
    watchdog = Watchdog(deadline)
    client = sock = None
    try:
        sock = open_connection(host, port, deadline, tls, ca_file, watchdog)
        client = _POP3(sock, host, port, timeout)  # reads the greeting; -ERR raises
        greeting = client.getwelcome().decode("utf-8", "replace")
        if starttls and not tls:
            client.stls(context=tls_context(ca_file))
            watchdog.watch(client.sock)
        logged_in = False
        if user:
            try:
                client.user(user)
                client.pass_(password or "")
            except poplib.error_proto as error:
                raise ProbeError(SERVICE, host, port, f"login as {user!r} rejected: {_text(error)}", AUTH) from None
            logged_in = True
        try:
            client.quit()
        except (poplib.error_proto, OSError):
            pass
        return ProbeResult(SERVICE, host, port, " ".join(greeting.split())[:200], {"logged_in": logged_in})
    except Exception as error:
        raise redact(_failure(error, host, port, watchdog), password) from None
    finally:
        watchdog.cancel()
        if client is not None:
            try:
                client.close()
            except OSError:
                pass
        if sock is not None:  # also when the client failed before owning it
            sock.close()


def _failure(error: Exception, host: str, port: int, watchdog: Watchdog) -> ProbeError:
    if not watchdog.fired and isinstance(error, poplib.error_proto):
        return ProbeError(SERVICE, host, port, _text(error), PROTOCOL)
    return translate(error, SERVICE, host, port, watchdog)


def _text(error: BaseException) -> str:
    args = error.args[0] if error.args else error
    if isinstance(args, bytes):
        args = args.decode("utf-8", "replace")
    return " ".join(str(args).split())[:200]
