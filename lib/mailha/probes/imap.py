"""IMAP probe (imaplib): greeting, CAPABILITY, optionally LOGIN (the synthetic transaction), LOGOUT.

``tls=True`` is implicit TLS (IMAPS, port 993); ``starttls=True`` upgrades a plain session.
"""

import imaplib

from . import AUTH, ProbeError, ProbeResult
from ._common import Conversation, OnProbeSocket, require_password

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional

SERVICE = "imap"


class _IMAP4(OnProbeSocket, imaplib.IMAP4):
    def __init__(self, sock, host, port):
        self._probe_sock = sock
        super().__init__(host, port)  # the socket's deadline is the timeout (3.6: no argument)


def probe(
    host: str,
    port: int = 143,
    timeout: float = 10.0,
    tls: bool = False,
    *,
    starttls: bool = False,
    ca_file: "Optional[str]" = None,
    user: "Optional[str]" = None,
    password: "Optional[str]" = None,
) -> "ProbeResult":
    """Check that an IMAP server greets (OK or PREAUTH) and answers CAPABILITY.

    With *user* and *password*, also LOGIN: a rejected login raises a ProbeError of kind
    ``auth``.  Returns the greeting and ``details["capabilities"]``, ``details["logged_in"]``.
    """
    require_password(SERVICE, host, port, user, password)
    with Conversation(SERVICE, host, port, timeout, _explain, secret=password) as talk:
        client = _IMAP4(talk.open(tls, ca_file), host, port)  # reads the greeting; BYE raises
        talk.close_later(client.shutdown)
        greeting = client.welcome.decode("utf-8", "replace")
        if starttls and not tls:
            client.starttls(ssl_context=talk.starttls(ca_file))
        status, _ = client.capability()
        if status != "OK":
            raise ProbeError(SERVICE, host, port, f"CAPABILITY answered {status}")
        logged_in = False
        if user:
            try:
                client.login(user, password or "")
            except client.error as error:
                raise ProbeError(SERVICE, host, port, f"LOGIN as {user!r} rejected: {_text(error)}", AUTH) from None
            logged_in = True
        capabilities = sorted(client.capabilities)
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
        return ProbeResult(SERVICE, host, port, " ".join(greeting.split())[:200],
                           {"capabilities": capabilities, "logged_in": logged_in})


def _explain(error: Exception) -> "Optional[str]":
    if isinstance(error, imaplib.IMAP4.abort):  # connection-level trouble
        return f"connection aborted: {_text(error)}"
    if isinstance(error, imaplib.IMAP4.error):
        return _text(error)
    return None


def _text(error: BaseException) -> str:
    return " ".join(str(error).split())[:200]
