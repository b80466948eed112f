"""POP3 probe: the +OK greeting, optionally USER/PASS (the synthetic transaction), QUIT (RFC 1939).

``tls=True`` is implicit TLS (POP3S, port 995); ``starttls=True`` upgrades a plain session
with STLS (RFC 2595).
"""

from . import AUTH, UNAVAILABLE, ProbeError, ProbeResult
from ._common import Chat, Conversation, require_password

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional

SERVICE = "pop3"


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

    A rejected login raises a ProbeError of kind ``auth``, one the server cannot check now
    (``-ERR [SYS/TEMP]``) of kind ``unavailable``.  Returns the greeting and
    ``details["logged_in"]``.
    """
    require_password(SERVICE, host, port, user, password)
    with Conversation(SERVICE, host, port, timeout, secret=password) as talk:
        chat = talk.chat(tls, ca_file)
        greeting = chat.line()
        if not greeting.startswith("+OK"):
            raise talk.failure(f"greeting {_text(greeting)}, expected +OK")
        if starttls and not tls:
            _expect(talk, chat, "STLS")
            chat.starttls(ca_file)
        logged_in = False
        if user:
            for command in (f"USER {user}", f"PASS {password or ''}"):
                chat.send(command)
                answer = chat.line()
                if not answer.startswith("+OK"):
                    # RFC 3206: [SYS/TEMP] is the server's own trouble (its directory), not the password.
                    kind = UNAVAILABLE if answer[4:].lstrip().upper().startswith("[SYS/TEMP]") else AUTH
                    raise talk.failure(f"login as {user!r} rejected: {_text(answer)}", kind)
            logged_in = True
        try:
            chat.send("QUIT")
            chat.line()
        except (ProbeError, OSError, EOFError):
            pass
        return ProbeResult(SERVICE, host, port, _text(greeting), {"logged_in": logged_in})


def _expect(talk: "Conversation", chat: "Chat", command: str) -> None:
    chat.send(command)
    answer = chat.line()
    if not answer.startswith("+OK"):
        raise talk.failure(f"{command} answered {_text(answer)}")


def _text(line: str) -> str:
    return " ".join(line.split())[:200]
