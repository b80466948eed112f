"""What every probe shares: a connected socket within a deadline, TLS, and error translation.

The standard library clients (smtplib, imaplib, poplib, http.client) put one timeout on each
socket operation, so a server that trickles a byte now and then could hold them far past the
probe's timeout.  :class:`Watchdog` enforces the overall deadline: when it passes, it shuts the
socket down from a timer thread, which ends any blocked read at once.
"""

from __future__ import annotations

import socket
import time

from . import AUTH, NETWORK, PROTOCOL, REFUSED, TIMEOUT, TLS, ProbeError, redact

TYPE_CHECKING = False  # not typing's: a monitor should not pay 4 ms for it
if TYPE_CHECKING:
    import ssl
    import threading
    from collections.abc import Callable
    from typing import Self


def tls_context(ca_file: str | None) -> "ssl.SSLContext":
    """Verify against *ca_file* when given; otherwise encrypt without verifying.

    Cluster services commonly use self-signed certificates, and a probe checks that the service
    answers, not who it is, so verification is opt-in.
    """
    import ssl  # about 17 ms: only probes that use TLS pay for it

    if ca_file:
        context = ssl.create_default_context(cafile=ca_file)
        context.check_hostname = False  # probes address the service by IP, not by name
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def remaining(deadline: float) -> float:
    """Seconds left until *deadline* (a ``time.monotonic()`` value); raises once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("deadline passed")
    return left


def connect(host: str, port: int, deadline: float) -> socket.socket:
    """A TCP connection to *host*:*port* (IPv4, IPv6 or a name), made before *deadline*."""
    # getaddrinfo() passes a str host through the idna codec, which imports re and unicodedata
    # (about 3 ms a monitor); an ASCII address or name means the same as bytes.
    name = host.encode("ascii") if host.isascii() else host
    return socket.create_connection((name, port), timeout=remaining(deadline))


def tls_wrap(sock: socket.socket, deadline: float, ca_file: str | None, host: str) -> socket.socket:
    """Run the TLS handshake on *sock* before *deadline*; return the TLS socket."""
    sock.settimeout(remaining(deadline))
    server_hostname = None if is_ip(host) else host  # SNI takes names only
    return tls_context(ca_file).wrap_socket(sock, server_hostname=server_hostname)


def open_connection(
    host: str, port: int, deadline: float, tls: bool, ca_file: str | None, watchdog: Watchdog | None = None
) -> socket.socket:
    """Connect (and with *tls*, handshake) before *deadline*; put *watchdog* on the socket."""
    sock = connect(host, port, deadline)
    if tls:
        try:
            sock = tls_wrap(sock, deadline, ca_file, host)
        except BaseException:
            sock.close()
            raise
    if watchdog is not None:
        watchdog.watch(sock)
    return sock


def require_password(service: str, host: str, port: int, login: str | None, password: str | None,
                     label: str = "user") -> None:
    """Refuse a *login* without a password before connecting.

    With an empty password most servers answer an anonymous or "unauthenticated" login: the
    probe would silently test something else than what was configured.
    """
    if login and not password:
        raise ProbeError(service, host, port, f"{label} {login!r} given without a password", AUTH)


class OnProbeSocket:
    """Mixin for an smtplib/imaplib/poplib client: instead of connecting, it uses the socket
    the probe opened, so that the deadline, TLS and watchdog are the probe's."""

    _probe_sock: socket.socket

    def _create_socket(self, timeout):  # imaplib's and poplib's hook
        return self._probe_sock

    def _get_socket(self, host, port, timeout):  # smtplib's hook
        return self._probe_sock


def is_ip(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except OSError:
            pass
    return False


class Watchdog:
    """Shut *sock* down when *deadline* passes, unblocking whatever reads or writes it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None

    def watch(self, sock: socket.socket) -> socket.socket:
        """Guard *sock* (again after a STARTTLS upgrade, which replaces the socket object)."""
        self._sock = sock
        if self._timer is not None:
            return sock
        import threading  # about 2 ms; only the standard-library probes need a watchdog

        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()
        return sock

    def _fire(self) -> None:
        self.fired = True
        sock = self._sock
        if sock is not None:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket, even under TLS
            except OSError:
                pass

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class Conversation:
    """One standard-library probe's connection: deadline, watchdog, clean-up and error translation.

    ::

        with Conversation(SERVICE, host, port, timeout, _explain, secret=password) as talk:
            client = _Client(talk.open(tls, ca_file), ...)
            talk.close_later(client.close)
            ...

    On the way out it cancels the watchdog, runs the ``close_later`` callbacks (newest first,
    ignoring OSError) and closes the socket -- also when the client failed before owning it.
    Any Exception leaving the block becomes a :class:`ProbeError`: *explain* gives the reason for
    the client library's own exceptions, a protocol failure (it is asked only while the watchdog
    has not fired, and returns None for what it does not know); :func:`translate` does the rest.
    *secret* is blanked out of the reason.
    """

    def __init__(
        self,
        service: str,
        host: str,
        port: int,
        timeout: float,
        explain: Callable[[Exception], str | None],
        secret: str | None = None,
    ) -> None:
        self.service, self.host, self.port = service, host, port
        self.deadline = time.monotonic() + timeout
        self.watchdog = Watchdog(self.deadline)
        self._explain = explain
        self._secret = secret
        self._sock: socket.socket | None = None
        self._closers: list[Callable[[], object]] = []

    def open(self, tls: bool, ca_file: str | None) -> socket.socket:
        """Connect (and with *tls*, handshake) within the deadline, under the watchdog."""
        self._sock = open_connection(self.host, self.port, self.deadline, tls, ca_file, self.watchdog)
        return self._sock

    def close_later(self, close: Callable[[], object]) -> None:
        self._closers.append(close)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        failure = None
        if isinstance(error, Exception):
            reason = None if self.watchdog.fired else self._explain(error)
            if reason is not None:
                failure = ProbeError(self.service, self.host, self.port, reason, PROTOCOL)
            else:
                failure = translate(error, self.service, self.host, self.port, self.watchdog)
        self.watchdog.cancel()
        for close in reversed(self._closers):
            try:
                close()
            except OSError:
                pass
        if self._sock is not None:
            self._sock.close()
        if failure is not None:
            raise redact(failure, self._secret) from None


def translate(error: BaseException, service: str, host: str, port: int, watchdog: Watchdog | None = None) -> ProbeError:
    """Turn a socket/TLS/library exception into a :class:`ProbeError` with a clear reason."""
    # Once the watchdog has cut the connection, whatever broke next is the timeout's doing:
    # even a "wrong banner" made of the half line read before the cut.
    if (watchdog is not None and watchdog.fired) or isinstance(error, (socket.timeout, TimeoutError)):
        return ProbeError(service, host, port, "no answer within the timeout", TIMEOUT)
    if isinstance(error, ProbeError):
        return error
    if isinstance(error, ConnectionRefusedError):
        return ProbeError(service, host, port, "connection refused", REFUSED)
    ssl_error = _ssl_error_type()
    if ssl_error is not None and isinstance(error, ssl_error):
        verify = getattr(error, "verify_message", None)
        if verify:
            return ProbeError(service, host, port, f"TLS certificate verification failed: {verify}", TLS)
        return ProbeError(service, host, port, f"TLS handshake failed: {getattr(error, 'reason', None) or error}", TLS)
    if isinstance(error, socket.gaierror):
        return ProbeError(service, host, port, f"cannot resolve host: {error.strerror}", NETWORK)
    if isinstance(error, EOFError) or isinstance(error, ConnectionError):
        return ProbeError(service, host, port, "connection closed by the server", NETWORK)
    if isinstance(error, OSError):
        return ProbeError(service, host, port, error.strerror or str(error) or type(error).__name__, NETWORK)
    return ProbeError(service, host, port, f"{type(error).__name__}: {error}")


def _ssl_error_type() -> type | None:
    import sys

    ssl = sys.modules.get("ssl")  # if ssl was never imported, no TLS error can have happened
    return ssl.SSLError if ssl is not None else None

