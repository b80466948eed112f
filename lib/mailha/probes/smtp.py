"""SMTP probe: the 220 banner, EHLO (or HELO), NOOP, QUIT (RFC 5321).

``tls=True`` is implicit TLS (SMTPS, port 465); ``starttls=True`` upgrades a plain session
(ports 25/587) when the server offers STARTTLS (RFC 3207), and fails if it does not.
"""

from . import ProbeError, ProbeResult
from ._common import Chat, Conversation

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Tuple

SERVICE = "smtp"
MAX_REPLY_LINES = 100  # a multi-line reply longer than this is no SMTP server's


def probe(
    host: str,
    port: int = 25,
    timeout: float = 10.0,
    tls: bool = False,
    *,
    starttls: bool = False,
    ca_file: "Optional[str]" = None,
    helo_name: str = "mailha.probe",
) -> "ProbeResult":
    """Check that an SMTP server greets with 220 and accepts EHLO/HELO and NOOP.

    Returns the banner as ``greeting`` and the EHLO extensions (lower case) in
    ``details["extensions"]``.  Raises :class:`~mailha.probes.ProbeError`.
    """
    with Conversation(SERVICE, host, port, timeout) as talk:
        chat = talk.chat(tls, ca_file)
        code, banner = _reply(talk, chat)
        if code != 220:
            raise talk.failure(f"banner {code} {_text(banner)}, expected 220")
        extensions = _hello(talk, chat, helo_name)
        if starttls and not tls:
            if "starttls" not in extensions:
                raise talk.failure("server does not offer STARTTLS")
            _expect(talk, chat, "STARTTLS", 220)
            chat.starttls(ca_file)
            extensions = _hello(talk, chat, helo_name)  # what the server offers now, under TLS
        _expect(talk, chat, "NOOP", 250)
        try:
            chat.send("QUIT")
            _reply(talk, chat)
        except (ProbeError, OSError, EOFError):
            pass  # the conversation already proved the service; a rude goodbye is fine
        return ProbeResult(SERVICE, host, port, _text(banner), {"extensions": extensions})


def _reply(talk: "Conversation", chat: "Chat") -> "Tuple[int, List[str]]":
    """One reply: its code and its lines' texts (``250-first``, ..., ``250 last``)."""
    texts = []
    for _ in range(MAX_REPLY_LINES):
        line = chat.line()
        code, mark, text = line[:3], line[3:4], line[4:]
        if not (len(code) == 3 and not code.strip("0123456789") and mark in ("", " ", "-")):
            raise talk.failure(f"answered {_text([line])!r}, which is no SMTP reply")
        texts.append(text)
        if mark != "-":
            return int(code), texts
    raise talk.failure(f"sent a reply of more than {MAX_REPLY_LINES} lines")


def _expect(talk: "Conversation", chat: "Chat", command: str, wanted: int) -> "List[str]":
    chat.send(command)
    code, texts = _reply(talk, chat)
    if code != wanted:
        raise talk.failure(f"{command} answered {code} {_text(texts)}")
    return texts


def _hello(talk: "Conversation", chat: "Chat", helo_name: str) -> "List[str]":
    """EHLO, or HELO for a server that knows no ESMTP; the extensions EHLO lists."""
    chat.send(f"EHLO {helo_name}")
    code, texts = _reply(talk, chat)
    if code == 250:
        return sorted({words.split()[0].lower() for words in texts[1:] if words.split()})
    _expect(talk, chat, f"HELO {helo_name}", 250)
    return []


def _text(lines: "List[str]") -> str:
    return " ".join(" ".join(lines).split())[:200]
