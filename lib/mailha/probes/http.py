"""HTTP probe: one request, the status must be one of those expected.

``tls=True`` is HTTPS.  Basic authentication is sent only when *user* is given.

The client is a few lines over a socket rather than http.client, which imports ``email`` and
``ssl`` (40-70 ms) for every monitor of an agent's HTTP console.  It speaks HTTP/1.0: the
server then may neither chunk the body nor send 1xx interim answers, and closes the connection
after the answer -- so one status line, headers up to a blank line, and a body that ends at
its Content-Length or at end of file.  The limits are http.client's.
"""

from . import AUTH, PROTOCOL, ProbeError, ProbeResult
from ._common import Conversation

TYPE_CHECKING = False  # not typing's: a monitor should not pay for it
if TYPE_CHECKING:
    from typing import Optional, Tuple

    from io import BufferedReader

SERVICE = "http"
MAX_LINE = 65536  # longest status or header line accepted
MAX_HEADERS = 100  # most header lines accepted
MAX_BODY = 65536  # read (and discard) at most this much: the status is what matters
NO_BODY = (204, 304)  # statuses that never carry a body


class _BadAnswer(Exception):
    """The server answered, but not in HTTP."""


def probe(
    host: str,
    port: int = 80,
    timeout: float = 10.0,
    tls: bool = False,
    *,
    path: str = "/",
    method: str = "GET",
    expect_status: "Tuple[int, ...]" = (200,),
    user: "Optional[str]" = None,
    password: "Optional[str]" = None,
    host_header: "Optional[str]" = None,
    ca_file: "Optional[str]" = None,
) -> "ProbeResult":
    """Request *path*; succeed if the status is in *expect_status*.

    A 401 or 403 when *user* was given raises a ProbeError of kind ``auth``.  Returns
    ``details["status"]`` and ``details["reason"]``; the greeting is the status line.
    """
    if not path.startswith("/"):
        raise ValueError(f"HTTP path must start with '/': {path!r}")
    request = _request(method, path, host_header or _authority(host, port, tls), user, password)
    with Conversation(SERVICE, host, port, timeout, _explain, secret=password) as talk:
        sock = talk.open(tls, ca_file)
        sock.sendall(request)
        answer = sock.makefile("rb")
        talk.close_later(answer.close)
        status, reason = _read_status(answer)
        length = _read_headers(answer)
        if method.upper() != "HEAD" and status not in NO_BODY:
            _discard_body(answer, length)  # so that closing does not reset a server still writing
        if status not in expect_status:
            kind = AUTH if user is not None and status in (401, 403) else PROTOCOL
            wanted = "/".join(map(str, expect_status))
            raise ProbeError(SERVICE, host, port, f"{method} {path} answered {status} {reason}, expected {wanted}", kind)
        return ProbeResult(SERVICE, host, port, f"{status} {reason}", {"status": status, "reason": reason})


def _authority(host: str, port: int, tls: bool) -> str:
    """The Host header's value: the port only when it is not the scheme's default."""
    name = f"[{host}]" if ":" in host else host
    return name if port == (443 if tls else 80) else f"{name}:{port}"


def _request(method: str, path: str, authority: str, user: "Optional[str]",
             password: "Optional[str]") -> bytes:
    for what, text in (("method", method), ("path", path), ("host header", authority)):
        if not text or any(c <= " " or c >= "\x7f" for c in text):
            raise ValueError(f"HTTP {what} must be printable ASCII without blanks: {text!r}")
    lines = [f"{method} {path} HTTP/1.0", f"Host: {authority}", "User-Agent: mailha-probe"]
    lines.append("Connection: close")  # HTTP/1.0 means it, but some servers keep the connection without it
    if user is not None:
        import binascii  # about 0.2 ms, and only with credentials

        # surrogateescape: the bytes of a parameter Python 3.6 decoded as ASCII (C locale)
        credentials = f"{user}:{password or ''}".encode("utf-8", "surrogateescape")
        token = binascii.b2a_base64(credentials, newline=False).decode("ascii")
        lines.append(f"Authorization: Basic {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _read_line(answer: "BufferedReader", what: str) -> bytes:
    line = answer.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise _BadAnswer(f"{what} longer than {MAX_LINE} bytes")
    return line


def _read_status(answer: "BufferedReader") -> "Tuple[int, str]":
    """``HTTP/1.x NNN reason`` -> (NNN, reason as one short line)."""
    line = _read_line(answer, "status line")
    if not line:
        raise _BadAnswer("connection closed without a status line")
    text = line.decode("iso-8859-1")
    parts = text.split(None, 2)  # version, code and a reason, which may be missing
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not _is_status_code(parts[1]):
        raise _BadAnswer(text)
    code, reason = parts[1], parts[2] if len(parts) > 2 else ""
    return int(code), " ".join(reason.split())[:100]


def _is_status_code(text: str) -> bool:
    return len(text) == 3 and not text.strip("0123456789")  # not isdigit(): "²" is a digit


def _read_headers(answer: "BufferedReader") -> "Optional[int]":
    """Read the headers up to the blank line; return the Content-Length, if one is valid."""
    length = None
    for _ in range(MAX_HEADERS + 1):
        line = _read_line(answer, "header line")
        if line in (b"\r\n", b"\n", b""):  # b"": a server that closes after the headers
            return length
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    raise _BadAnswer(f"more than {MAX_HEADERS} headers")


def _discard_body(answer: "BufferedReader", length: "Optional[int]") -> None:
    left = MAX_BODY if length is None else min(length, MAX_BODY)
    while left > 0:
        chunk = answer.read1(left)
        if not chunk:
            return
        left -= len(chunk)


def _explain(error: Exception) -> "Optional[str]":
    if isinstance(error, _BadAnswer):
        return f"bad HTTP answer: {' '.join(str(error).split())[:200]}"
    return None
