"""POP3 probe (poplib): greeting, optionally USER/PASS (the synthetic transaction), QUIT.

``tls=True`` is implicit TLS (POP3S, port 995); ``starttls=True`` upgrades with STLS.
"""

import poplib

from . import AUTH, ProbeError, ProbeResult
from ._common import Conversation, OnProbeSocket, require_password

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional

SERVICE = "pop3"


class _POP3(OnProbeSocket, poplib.POP3):
    def __init__(self, sock, host, port, timeout):
        self._probe_sock = sock
        try:
            super().__init__(host, port, timeout)  # reads the greeting
        except BaseException:
            # poplib keeps a file on the socket: close it too, or the connection stays open.
            if getattr(self, "file", None) is not None:
                self.file.close()
            raise


def probe(
    host: str,
    port: int = 110,
    timeout: float = 10.0,
    tls: bool = False,
    *,
    starttls: bool = False,
    ca_file: "Optional[str]" = None,
    user: "Optional[str]" = None,
    password: "Optional[str]" = None,
) -> "ProbeResult":
    """Check that a POP3 server greets with +OK; with *user*/*password* also log in.

    A rejected login raises a ProbeError of kind ``auth``.
    """
    require_password(SERVICE, host, port, user, password)
    with Conversation(SERVICE, host, port, timeout, _explain, secret=password) as talk:
        client = _POP3(talk.open(tls, ca_file), host, port, timeout)  # reads the greeting; -ERR raises
        talk.close_later(client.close)
        greeting = client.getwelcome().decode("utf-8", "replace")
        if starttls and not tls:
            client.stls(context=talk.starttls(ca_file))
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


def _explain(error: Exception) -> "Optional[str]":
    return _text(error) if isinstance(error, poplib.error_proto) else None


def _text(error: BaseException) -> str:
    args = error.args[0] if error.args else error
    if isinstance(args, bytes):
        args = args.decode("utf-8", "replace")
    return " ".join(str(args).split())[:200]
