"""HTTP probe (http.client): one request, the status must be one of those expected.

``tls=True`` is HTTPS.  Basic authentication is sent only when *user* is given.
"""

from __future__ import annotations

import http.client

from . import AUTH, PROTOCOL, ProbeError, ProbeResult
from ._common import Conversation

SERVICE = "http"
MAX_BODY = 65536  # read (and discard) at most this much: the status is what matters


class _Connection(http.client.HTTPConnection):
    """HTTPConnection on a socket we opened: deadline, TLS and watchdog are ours."""

    def __init__(self, sock, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self.sock = sock

    def connect(self):  # already connected; never reconnect behind the probe's back
        raise http.client.NotConnected("connection closed")


def probe(
    host: str,
    port: int = 80,
    timeout: float = 10.0,
    tls: bool = False,
    *,
    path: str = "/",
    method: str = "GET",
    expect_status: tuple[int, ...] = (200,),
    user: str | None = None,
    password: str | None = None,
    host_header: str | None = None,
    ca_file: str | None = None,
) -> ProbeResult:
    """Request *path*; succeed if the status is in *expect_status*.

    A 401 or 403 when *user* was given raises a ProbeError of kind ``auth``.  Returns
    ``details["status"]`` and ``details["reason"]``; the greeting is the status line.
    """
    if not path.startswith("/"):
        raise ValueError(f"HTTP path must start with '/': {path!r}")
    with Conversation(SERVICE, host, port, timeout, _explain, secret=password) as talk:
        connection = _Connection(talk.open(tls, ca_file), host, port, timeout)
        talk.close_later(connection.close)
        headers = {"User-Agent": "mailha-probe", "Connection": "close"}
        if host_header:
            headers["Host"] = host_header
        if user is not None:
            import base64

            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        response.read(MAX_BODY)
        response.close()
        status, reason = response.status, " ".join(str(response.reason).split())[:100]
        if status not in expect_status:
            kind = AUTH if user is not None and status in (401, 403) else PROTOCOL
            wanted = "/".join(map(str, expect_status))
            raise ProbeError(SERVICE, host, port, f"{method} {path} answered {status} {reason}, expected {wanted}", kind)
        return ProbeResult(SERVICE, host, port, f"{status} {reason}", {"status": status, "reason": reason})


def _explain(error: Exception) -> str | None:
    if isinstance(error, http.client.HTTPException):
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        return f"bad HTTP answer: {reason}"
    return None
