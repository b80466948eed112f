"""What every probe shares: a connected socket within a deadline, TLS, and error translation.

The probes speak their protocols themselves, over a :class:`DeadlineSocket`: each of its reads
and writes may wait only for the time that remains, TLS included (the ssl module bounds one
call as a whole), so a server that trickles a byte now and then is cut at the deadline without
a watchdog thread.  The standard library's clients would cost a monitor more than everything
else it does: smtplib, poplib and imaplib import ``email``, ``ssl``, ``re``, ``subprocess`` and
``threading`` (about 80 modules), http.client ``email`` too.  SMTP, POP3 and IMAP are line
protocols: :class:`Chat` sends a command line and reads the answer a line at a time.
"""

import _socket
import io
import time

from . import AUTH, NETWORK, PROTOCOL, REFUSED, TIMEOUT, TLS, ProbeError, redact

TYPE_CHECKING = False  # not typing's: a monitor should not pay 4 ms for it
if TYPE_CHECKING:
    import socket
    import ssl
    from typing import Callable, List, Optional, Union


def tls_context(ca_file: "Optional[str]") -> "ssl.SSLContext":
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
        raise Timeout("deadline passed")
    return left


#: Raised when a socket call runs out of time (socket.timeout; TimeoutError since 3.10).
Timeout = _socket.timeout


def connect(host: str, port: int, deadline: float) -> "socket.socket":
    """A TCP connection to *host*:*port* (IPv4, IPv6 or a name), made before *deadline*.

    On the C socket module: ``socket.py`` brings ``enum``, ``selectors`` and ``collections``
    along, more than a whole first-level monitor costs.  Like ``socket.create_connection``,
    every address the name resolves to is tried in turn."""
    # getaddrinfo() passes a str host through the idna codec, which imports re and unicodedata
    # (about 3 ms a monitor); an ASCII address or name means the same as bytes.
    try:
        name = host.encode("ascii")  # type: Union[bytes, str]
    except UnicodeEncodeError:
        name = host
    error = None  # type: Optional[OSError]
    for family, kind, proto, _canonical, address in _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining(deadline))
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
            if isinstance(exc, Timeout):
                break  # the deadline is spent: no time left for the next address
    raise error if error is not None else OSError(f"no address for {host}")


def tls_wrap(sock: "socket.socket", deadline: float, ca_file: "Optional[str]", host: str) -> "socket.socket":
    """Run the TLS handshake on *sock* before *deadline*; return the TLS socket."""
    sock.settimeout(remaining(deadline))
    server_hostname = None if is_ip(host) else host  # SNI takes names only
    return tls_context(ca_file).wrap_socket(sock, server_hostname=server_hostname)


def open_connection(host: str, port: int, deadline: float, tls: bool,
                    ca_file: "Optional[str]") -> "socket.socket":
    """Connect (and with *tls*, handshake) before *deadline*."""
    sock = connect(host, port, deadline)
    if tls:
        try:
            sock = tls_wrap(sock, deadline, ca_file, host)
        except BaseException:
            sock.close()
            raise
    return sock


def require_password(service: str, host: str, port: int, login: "Optional[str]", password: "Optional[str]",
                     label: str = "user") -> None:
    """Refuse a *login* without a password before connecting.

    With an empty password most servers answer an anonymous or "unauthenticated" login: the
    probe would silently test something else than what was configured.
    """
    if login and not password:
        raise ProbeError(service, host, port, f"{label} {login!r} given without a password", AUTH)


def is_ip(host: str) -> bool:
    for family in (_socket.AF_INET, _socket.AF_INET6):
        try:
            _socket.inet_pton(family, host)
            return True
        except OSError:
            pass
    return False


class DeadlineSocket:
    """A connected socket (plain or TLS) whose every read and write waits at most until
    *deadline*, and ``makefile`` for buffered reads.

    ``expired`` tells afterwards that the deadline cut a call short: whatever broke next (a
    half line taken for a wrong answer) is the timeout's doing.
    """

    def __init__(self, sock: "socket.socket", deadline: float) -> None:
        self.sock, self.deadline, self.expired = sock, deadline, False

    def _arm(self) -> None:
        try:
            self.sock.settimeout(remaining(self.deadline))
        except Timeout:
            self.expired = True
            raise

    def recv_into(self, buffer: "Union[bytearray, memoryview]", size: int = 0) -> int:
        self._arm()
        try:
            return self.sock.recv_into(buffer, size)
        except Timeout:
            self.expired = True
            raise

    def sendall(self, data: bytes) -> None:
        self._arm()
        try:
            self.sock.sendall(data)
        except Timeout:
            self.expired = True
            raise

    def makefile(self, mode: str = "rb") -> "io.BufferedReader":
        if mode != "rb":
            raise ValueError(f"DeadlineSocket reads bytes only, not {mode!r}")
        return io.BufferedReader(_Reader(self))

    def close(self) -> None:
        self.sock.close()


class _Reader(io.RawIOBase):
    """The raw stream under a :class:`DeadlineSocket`'s ``makefile``; closing it leaves the
    socket open (the :class:`Conversation` closes that)."""

    def __init__(self, sock: DeadlineSocket) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "Union[bytearray, memoryview]") -> int:
        return self._sock.recv_into(buffer)


#: The longest line a probe reads from a server (RFC 5321 says 512 bytes; some send more).
MAX_LINE = 8192


class Chat:
    """A line protocol (SMTP, POP3, IMAP) over a :class:`DeadlineSocket`: commands go out as
    CRLF-terminated lines; answers come in a line at a time, each at most :data:`MAX_LINE`
    bytes, every read within the deadline.  :meth:`starttls` upgrades the connection in place
    (the protocol's STARTTLS/STLS command said yes)."""

    def __init__(self, talk: "Conversation", sock: DeadlineSocket) -> None:
        self.talk, self.sock = talk, sock
        self._file = sock.makefile("rb")

    def line(self) -> str:
        """The next line, without its end of line; EOFError when the server has closed."""
        raw = self._file.readline(MAX_LINE + 1)
        if not raw:
            raise EOFError("connection closed by the server")
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise self.talk.failure(f"answered a line longer than {MAX_LINE} bytes")
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")

    def send(self, line: "Union[str, bytes]") -> None:
        """One command line; a str is sent as UTF-8, surrogates as the bytes they stand for.

        A line break inside (a user or password holding one) would smuggle in a command of
        its own: refused, without saying what the line was."""
        data = line if isinstance(line, bytes) else line.encode("utf-8", "surrogateescape")
        if b"\r" in data or b"\n" in data:
            raise self.talk.failure("a command would hold a line break: check the test user and password",
                                    AUTH)
        self.sock.sendall(data + b"\r\n")

    def starttls(self, ca_file: "Optional[str]") -> None:
        """The TLS handshake on this connection, within the deadline; then fresh reads (no
        byte read before the upgrade may count as encrypted)."""
        self.sock.sock = tls_wrap(self.sock.sock, self.sock.deadline, ca_file, self.talk.host)
        self._file = self.sock.makefile("rb")


class Conversation:
    """One probe's connection: deadline, clean-up and error translation.

    ::

        with Conversation(SERVICE, host, port, timeout, secret=password) as talk:
            chat = talk.chat(tls, ca_file)
            ...
            raise talk.failure("answered 554, expected 220")

    On the way out it runs the ``close_later`` callbacks (newest first, ignoring OSError) and
    closes the socket.  Any Exception leaving the block becomes a :class:`ProbeError`:
    *explain*, when given, names a protocol failure the probe's own exceptions stand for (it is
    asked only while the deadline has not cut a call short, and returns None for what it does
    not know); :func:`translate` does the rest.  *secret* is blanked out of the reason, in case
    a server echoed it.
    """

    def __init__(
        self,
        service: str,
        host: str,
        port: int,
        timeout: float,
        explain: "Optional[Callable[[Exception], Optional[str]]]" = None,
        secret: "Optional[str]" = None,
    ) -> None:
        self.service, self.host, self.port = service, host, port
        self.deadline = time.monotonic() + timeout
        self._explain = explain
        self._secret = secret
        self._sock: Optional[DeadlineSocket] = None
        self._closers: List[Callable[[], object]] = []

    def open(self, tls: bool, ca_file: "Optional[str]") -> DeadlineSocket:
        """Connect (and with *tls*, handshake) within the deadline."""
        sock = open_connection(self.host, self.port, self.deadline, tls, ca_file)
        self._sock = DeadlineSocket(sock, self.deadline)
        return self._sock

    def chat(self, tls: bool, ca_file: "Optional[str]") -> Chat:
        """Connect as :meth:`open` does, for a line protocol."""
        return Chat(self, self.open(tls, ca_file))

    def failure(self, reason: str, kind: str = PROTOCOL) -> ProbeError:
        """The error for what the server answered (a protocol failure unless *kind* says)."""
        return ProbeError(self.service, self.host, self.port, reason, kind)

    def close_later(self, close: "Callable[[], object]") -> None:
        self._closers.append(close)

    def __enter__(self) -> "Conversation":
        return self

    def __exit__(self, kind: object, error: "Optional[BaseException]", traceback: object) -> None:
        failure = None
        if isinstance(error, Exception):
            expired = self._sock is not None and self._sock.expired
            reason = None if expired or self._explain is None else self._explain(error)
            if reason is not None:
                failure = ProbeError(self.service, self.host, self.port, reason, PROTOCOL)
            else:
                failure = translate(error, self.service, self.host, self.port, expired)
        for close in reversed(self._closers):
            try:
                close()
            except OSError:
                pass
        if self._sock is not None:
            self._sock.close()
        if failure is not None:
            raise redact(failure, self._secret) from None


def translate(error: BaseException, service: str, host: str, port: int,
              expired: bool = False) -> "ProbeError":
    """Turn a socket/TLS/library exception into a :class:`ProbeError` with a clear reason."""
    # Once the deadline has cut a call short, whatever broke next is the timeout's doing: even
    # a "wrong banner" made of the half line read before the cut.
    if expired or isinstance(error, (Timeout, TimeoutError)):
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
    if isinstance(error, _socket.gaierror):
        return ProbeError(service, host, port, f"cannot resolve host: {error.strerror}", NETWORK)
    if isinstance(error, EOFError) or isinstance(error, ConnectionError):
        return ProbeError(service, host, port, "connection closed by the server", NETWORK)
    if isinstance(error, OSError):
        return ProbeError(service, host, port, error.strerror or str(error) or type(error).__name__, NETWORK)
    return ProbeError(service, host, port, f"{type(error).__name__}: {error}")


def _ssl_error_type() -> "Optional[type]":
    import sys

    ssl = sys.modules.get("ssl")  # if ssl was never imported, no TLS error can have happened
    return ssl.SSLError if ssl is not None else None

