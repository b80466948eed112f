"""Protocol probes with deadlines: one module per protocol, one result and one error type.

Each probe connects to ``host:port``, has the short conversation that proves the service answers,
and returns a :class:`ProbeResult` -- or raises :class:`ProbeError`, whose ``kind`` tells the
agent what went wrong (so it can choose the OCF code) and whose ``str()`` is one line fit for an
OCF exit reason.  Every call ends within its ``timeout`` (seconds), including against a server
that accepts and then never answers.  Passwords are sent only over the socket and never appear
in a result, an error or a log.

The modules are imported on demand: ``from mailha.probes import smtp`` costs only what SMTP needs.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional


# What went wrong, coarsely, for the agent's choice of exit code.
REFUSED = "refused"  # nothing listens (connection refused): the service is down
TIMEOUT = "timeout"  # no answer within the timeout: hung, frozen or overloaded
NETWORK = "network"  # other socket errors (unreachable, reset, name resolution)
TLS = "tls"  # TLS handshake or certificate verification failed
PROTOCOL = "protocol"  # an answer, but not the one the service must give
AUTH = "auth"  # the server rejected the test credentials: a configuration error
UNAVAILABLE = "unavailable"  # the server says it is busy or unavailable (e.g. LDAP 51-53)
KINDS = (REFUSED, TIMEOUT, NETWORK, TLS, PROTOCOL, AUTH, UNAVAILABLE)


class ProbeError(Exception):
    """A probe failed.  ``str()`` is one line: ``"<service> <address>:<port>: <reason>"``."""

    def __init__(self, service: str, address: str, port: int, reason: str, kind: str = PROTOCOL):
        self.service = service
        self.address = address
        self.port = port
        self.reason = " ".join(str(reason).split())  # one line whatever the server sent
        self.kind = kind
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.address if self.port is None else f"{_host(self.address)}:{self.port}"
        return f"{self.service} {where}: {self.reason}"


def redact(error: "ProbeError", secret: "Optional[str]") -> "ProbeError":
    """Blank *secret* out of *error*'s reason, in case a server echoed it back."""
    if secret and secret in error.reason:
        error.reason = error.reason.replace(secret, "***")
        error.args = (str(error),)
    return error


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


class ProbeResult:
    """What the service said: its greeting line and protocol-specific details.

    ``details`` per probe: smtp ``{"extensions": [...]}``; imap ``{"capabilities": [...],
    "logged_in": bool}``; pop3 ``{"logged_in": bool}``; http ``{"status": int, "reason": str}``;
    ldap ``{"entries": [Entry, ...]}`` (see :mod:`mailha.probes.ldap`); tcp ``{}``.
    """

    __slots__ = ("service", "address", "port", "greeting", "details")

    def __init__(self, service: str, address: str, port: int, greeting: str = "",
                 details: "Optional[dict]" = None):
        self.service = service
        self.address = address
        self.port = port
        self.greeting = greeting
        self.details = {} if details is None else details

    def __repr__(self) -> str:
        return f"ProbeResult({self.service!r}, {self.address!r}, {self.port!r}, {self.greeting!r}, {self.details!r})"
