"""IMAP probe: greeting, CAPABILITY, optionally LOGIN (the synthetic transaction), LOGOUT (RFC 3501).

``tls=True`` is implicit TLS (IMAPS, port 993); ``starttls=True`` upgrades a plain session.
"""

from . import AUTH, UNAVAILABLE, ProbeError, ProbeResult
from ._common import Chat, Conversation, require_password

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Tuple

SERVICE = "imap"
MAX_UNTAGGED = 1000  # untagged lines accepted before the tagged answer


class _Session:
    """Tagged commands (``a1 CAPABILITY``) and their answers on one :class:`Chat`."""

    def __init__(self, talk: "Conversation", chat: "Chat") -> None:
        self.talk, self.chat, self.count = talk, chat, 0

    def command(self, *words: str) -> "Tuple[str, str, List[str]]":
        """Send a command; return its status (OK, NO, BAD), the status text, and the untagged
        lines that came before it."""
        self.count += 1
        tag = f"a{self.count}"
        self.chat.send(" ".join((tag,) + words))
        untagged = []
        for _ in range(MAX_UNTAGGED):
            line = self.chat.line()
            if line.startswith("* "):
                untagged.append(line[2:])
                continue
            got, _, rest = line.partition(" ")
            if got != tag:
                raise self.talk.failure(f"answered {_text(line)!r} to {words[0]}")
            status, _, text = rest.partition(" ")
            return status.upper(), text, untagged
        raise self.talk.failure(f"sent more than {MAX_UNTAGGED} lines to {words[0]}")

    def capabilities(self) -> "List[str]":
        status, text, untagged = self.command("CAPABILITY")
        if status != "OK":
            raise self.talk.failure(f"CAPABILITY answered {status} {_text(text)}")
        found = set()
        for line in untagged:
            if line.upper().startswith("CAPABILITY "):
                found.update(line.upper().split()[1:])
        return sorted(found)


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
    ``auth``, one the server cannot check now (``NO [UNAVAILABLE]``) of kind ``unavailable``.  Returns the greeting and ``details["capabilities"]`` (upper case),
    ``details["logged_in"]``.
    """
    require_password(SERVICE, host, port, user, password)
    with Conversation(SERVICE, host, port, timeout, secret=password) as talk:
        chat = talk.chat(tls, ca_file)
        greeting = chat.line()
        if not greeting.upper().startswith(("* OK", "* PREAUTH")):
            raise talk.failure(f"greeting {_text(greeting)}, expected * OK")
        session = _Session(talk, chat)
        capabilities = session.capabilities()
        if starttls and not tls:
            status, text, _ = session.command("STARTTLS")
            if status != "OK":
                raise talk.failure(f"STARTTLS answered {status} {_text(text)}")
            chat.starttls(ca_file)
            capabilities = session.capabilities()  # what the server offers now, under TLS
        logged_in = False
        if user:
            status, text, _ = session.command("LOGIN", _quoted(user), _quoted(password or ""))
            if status != "OK":
                # RFC 5530: [UNAVAILABLE] is a subsystem (the user directory) down, not the password.
                kind = UNAVAILABLE if text.upper().startswith("[UNAVAILABLE]") else AUTH
                raise talk.failure(f"LOGIN as {user!r} rejected: {status} {_text(text)}", kind)
            logged_in = True
        try:
            session.command("LOGOUT")
        except (ProbeError, OSError, EOFError):
            pass
        return ProbeResult(SERVICE, host, port, _text(greeting),
                           {"capabilities": capabilities, "logged_in": logged_in})


def _quoted(text: str) -> str:
    """An IMAP quoted string (a line break cannot be quoted: Chat.send refuses it)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(line: str) -> str:
    return " ".join(line.split())[:200]
