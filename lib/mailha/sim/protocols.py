"""The protocol answers of the emulated agents: enough SMTP, POP3, IMAP4, LDAP and HTTP for probes.

Each handler is an asyncio stream callback built by :func:`handler`.  Every reply goes through
:meth:`Session.send`, which holds it back while the agent is hung, so a ``hang`` fault leaves
connections open and silent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hmac
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, Callable

if TYPE_CHECKING:
    import ssl

from . import ldap_ber, mailqueue

MAX_LINE = 8192
MAX_MESSAGE = 50 * 1024 * 1024
IDLE_TIMEOUT = 300.0


class LoginUnavailable(Exception):
    """Raised by ``Context.authenticate`` when no login can be checked now (the user directory
    does not answer): the client is told to retry (IMAP ``[UNAVAILABLE]``, RFC 5530; POP3
    ``[SYS/TEMP]``, RFC 3206), not that its password is wrong."""


@dataclass
class Context:
    """What the handlers need from the agent."""

    product: str  # "GroupWise Internet Agent", "GroupWise MTA", "GroupWise POA"
    hostname: str
    home: str
    is_hung: Callable[[], bool]
    log: Callable[[str], None]
    status_page: Callable[[], str]
    http_user: str | None = None
    http_password: str | None = None
    tls: "ssl.SSLContext | None" = None  # SMTP STARTTLS, when --certfile/--keyfile load
    sessions: set[asyncio.StreamWriter] = field(default_factory=set)
    #: Checks a POP3/IMAP4 login (None: every login is accepted, as the GroupWise agents' probes
    #: need); raises :class:`LoginUnavailable` when it cannot tell.
    authenticate: Callable[[str, str], bool] | None = None
    #: Delivers an accepted SMTP message (None: into the agent's receive directory); returns its path.
    deliver: Callable[[str, list[str], bytes], str] | None = None
    #: Checks an HTTP Basic login, for servers whose passwords are stored hashed (None: http_user).
    http_authenticate: Callable[[str, str], bool] | None = None
    #: The paths of a user's INBOX messages, oldest first (None: IMAP has no mailboxes to select).
    mailbox: Callable[[str], list[str]] | None = None


class Session:
    def __init__(self, ctx: Context, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.ctx, self.reader, self.writer = ctx, reader, writer

    async def wait_unhung(self) -> None:
        while self.ctx.is_hung():
            await asyncio.sleep(0.2)

    async def send(self, text: str | bytes) -> None:
        await self.wait_unhung()
        self.writer.write(text.encode("utf-8") if isinstance(text, str) else text)
        await self.writer.drain()

    async def line(self) -> str | None:
        """One line without its ending, or None at end of stream."""
        raw = await asyncio.wait_for(self.reader.readline(), IDLE_TIMEOUT)
        if not raw:
            return None
        await self.wait_unhung()
        return raw[:MAX_LINE].decode("utf-8", "replace").rstrip("\r\n")


def handler(protocol: str, ctx: Context) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    serve = {"smtp": _smtp, "pop3": _pop3, "imap4": _imap4, "ldap": _ldap, "http": _http, "tcp": _tcp}[protocol]

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ctx.sessions.add(writer)
        try:
            await serve(Session(ctx, reader, writer))
        except (ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError, ldap_ber.BerError, ValueError):
            # ValueError: a line longer than the stream limit. The session ends; the agent does not.
            pass
        finally:
            ctx.sessions.discard(writer)
            writer.close()

    return run


_ADDRESS = re.compile(r"^(?:MAIL FROM|RCPT TO):\s*<([^>]*)>", re.IGNORECASE)


async def _smtp(s: Session) -> None:
    ctx = s.ctx
    await s.send(f"220 {ctx.hostname} {ctx.product} Ready (mailha emulator)\r\n")
    mail_from: str | None = None
    rcpts: list[str] = []
    secured = False
    while (line := await s.line()) is not None:
        verb = line.split(" ", 1)[0].upper()
        if verb == "EHLO":
            starttls = "250-STARTTLS\r\n" if ctx.tls is not None and not secured else ""
            await s.send(f"250-{ctx.hostname}\r\n{starttls}250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE {MAX_MESSAGE}\r\n")
        elif verb == "STARTTLS":
            if ctx.tls is None or secured:
                await s.send("454 TLS not available\r\n")
                continue
            await s.send("220 Ready to start TLS\r\n")
            await s.writer.start_tls(ctx.tls)
            secured, mail_from, rcpts = True, None, []  # RFC 3207: forget everything said before
        elif verb == "HELO":
            await s.send(f"250 {ctx.hostname}\r\n")
        elif verb == "MAIL":
            match = _ADDRESS.match(line)
            if not match:
                await s.send("501 Syntax: MAIL FROM:<address>\r\n")
                continue
            mail_from, rcpts = match.group(1), []
            await s.send("250 Ok\r\n")
        elif verb == "RCPT":
            match = _ADDRESS.match(line)
            if mail_from is None:
                await s.send("503 Need MAIL command\r\n")
            elif not match or not match.group(1):
                await s.send("501 Syntax: RCPT TO:<address>\r\n")
            else:
                rcpts.append(match.group(1))
                await s.send("250 Ok\r\n")
        elif verb == "DATA":
            if mail_from is None or not rcpts:
                await s.send("503 Need RCPT command\r\n")
                continue
            await s.send("354 End data with <CR><LF>.<CR><LF>\r\n")
            data = await _smtp_data(s)
            if data is None:
                await s.send("552 Message too large\r\n")
            else:
                # Durable before the reply: the sender forgets the message once it reads 250.
                if ctx.deliver is not None:
                    write = functools.partial(ctx.deliver, mail_from, rcpts, data)
                else:
                    write = functools.partial(mailqueue.store, ctx.home, mail_from, rcpts, data)
                path = await asyncio.get_running_loop().run_in_executor(None, write)
                ctx.log(f"SMTP: received message from <{mail_from}> for {len(rcpts)} recipient(s) into {path}")
                await s.send(f"250 Ok: queued as {path.rsplit('/', 1)[-1]}\r\n")
            mail_from, rcpts = None, []
        elif verb == "RSET":
            mail_from, rcpts = None, []
            await s.send("250 Ok\r\n")
        elif verb == "NOOP":
            await s.send("250 Ok\r\n")
        elif verb == "VRFY":
            await s.send("252 Cannot VRFY user\r\n")
        elif verb == "QUIT":
            await s.send(f"221 {ctx.hostname} closing connection\r\n")
            return
        else:
            await s.send("500 Command unrecognized\r\n")


async def _smtp_data(s: Session) -> bytes | None:
    """The message up to the lone dot, dot-unstuffed; None when it exceeds the size limit."""
    chunks: list[bytes] = []
    size = 0
    too_big = False
    while True:
        raw = await asyncio.wait_for(s.reader.readline(), IDLE_TIMEOUT)
        if not raw:
            raise ConnectionResetError("connection closed during DATA")
        if raw in (b".\r\n", b".\n"):
            return None if too_big else b"".join(chunks)
        if raw.startswith(b".."):
            raw = raw[1:]
        size += len(raw)
        if size > MAX_MESSAGE:
            too_big, chunks = True, []
        elif not too_big:
            chunks.append(raw)


async def _pop3(s: Session) -> None:
    await s.send(f"+OK {s.ctx.hostname} {s.ctx.product} POP3 server ready\r\n")
    user = ""
    while (line := await s.line()) is not None:
        verb, _, argument = line.partition(" ")
        verb = verb.upper()
        if verb == "USER":
            user = argument
            await s.send("+OK\r\n")
        elif verb == "PASS":
            try:
                refused = s.ctx.authenticate is not None and not s.ctx.authenticate(user, argument)
            except LoginUnavailable:
                await s.send("-ERR [SYS/TEMP] User directory unavailable, try again later\r\n")
                continue
            await s.send("-ERR [AUTH] Authentication failed\r\n" if refused else "+OK\r\n")
        elif verb in ("NOOP", "RSET"):
            await s.send("+OK\r\n")
        elif verb == "STAT":
            await s.send("+OK 0 0\r\n")
        elif verb in ("LIST", "UIDL"):
            await s.send("+OK 0 messages\r\n.\r\n")
        elif verb == "CAPA":
            await s.send("+OK Capability list follows\r\nUSER\r\nUIDL\r\n.\r\n")
        elif verb == "QUIT":
            await s.send("+OK Bye\r\n")
            return
        else:
            await s.send("-ERR Unknown command\r\n")


async def _imap4(s: Session) -> None:
    """IMAP4rev1 as far as a probe and a reading client need: LOGIN, SELECT/EXAMINE INBOX,
    FETCH of whole messages, their sizes or chosen header fields."""
    await s.send(f"* OK {s.ctx.hostname} {s.ctx.product} IMAP4rev1 server ready\r\n")
    user, selected = None, None
    while (line := await s.line()) is not None:
        tag, _, rest = line.partition(" ")
        verb, _, args = rest.partition(" ")
        verb = verb.upper()
        if verb == "UID":  # UID FETCH: the emulator's UIDs are the sequence numbers
            verb, _, args = args.partition(" ")
            verb = verb.upper()
        if not tag or not verb:
            await s.send("* BAD Missing tag or command\r\n")
        elif verb == "CAPABILITY":
            await s.send(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK CAPABILITY completed\r\n")
        elif verb == "LOGIN":
            words = _imap_strings(args)
            try:
                refused = s.ctx.authenticate is not None and (len(words) != 2 or not s.ctx.authenticate(*words))
            except LoginUnavailable:
                await s.send(f"{tag} NO [UNAVAILABLE] User directory unavailable, try again later\r\n")
                continue
            if refused:
                await s.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
            else:
                user = words[0] if words else ""
                await s.send(f"{tag} OK LOGIN completed\r\n")
        elif verb in ("SELECT", "EXAMINE"):
            names = _imap_strings(args)
            if user is None or s.ctx.mailbox is None:
                await s.send(f"{tag} NO Not logged in\r\n" if user is None else f"{tag} NO No mailboxes\r\n")
            elif len(names) != 1 or names[0].upper() != "INBOX":
                await s.send(f"{tag} NO [NONEXISTENT] Only INBOX exists\r\n")
            else:
                selected = s.ctx.mailbox(user)
                mode = "READ-ONLY" if verb == "EXAMINE" else "READ-WRITE"  # flags are not kept either way
                await s.send(f"* {len(selected)} EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n"
                             f"* OK [UIDVALIDITY 1] UIDs valid\r\n{tag} OK [{mode}] {verb} completed\r\n")
        elif verb == "FETCH":
            seqs, _, items = args.partition(" ")
            if selected is None:
                await s.send(f"{tag} BAD No mailbox selected\r\n")
                continue
            try:
                numbers = _imap_sequence(seqs, len(selected))
            except ValueError:
                await s.send(f"{tag} BAD Invalid sequence set\r\n")
                continue
            for n in numbers:
                await s.send(_imap_fetch(n, selected[n - 1], items))
            await s.send(f"{tag} OK FETCH completed\r\n")
        elif verb in ("NOOP", "CLOSE", "CHECK"):
            await s.send(f"{tag} OK {verb} completed\r\n")
        elif verb == "LOGOUT":
            await s.send(f"* BYE {s.ctx.product} logging out\r\n{tag} OK LOGOUT completed\r\n")
            return
        else:
            await s.send(f"{tag} BAD Command not supported by the emulator\r\n")


def _imap_sequence(text: str, count: int) -> list[int]:
    """Message numbers of an IMAP sequence set ("1", "2:4", "3:*", "1,5"), those that exist."""
    numbers: list[int] = []
    if count == 0 and "*" in text:
        return []  # "1:*" on an empty mailbox: nothing to fetch (as most servers answer it)
    for part in text.split(","):
        low, _, high = part.partition(":")
        first = count if low == "*" else int(low)
        last = first if not high else count if high == "*" else int(high)
        if first < 1 or last < 1:
            raise ValueError(part)
        numbers += range(min(first, last), max(first, last) + 1)
    return [n for n in dict.fromkeys(numbers) if n <= count]


_HEADER_FIELDS = re.compile(r"BODY(?:\.PEEK)?\[HEADER\.FIELDS \(([^)]*)\)\]", re.IGNORECASE)


def _imap_fetch(n: int, path: str, items: str) -> bytes:
    """One ``* n FETCH (...)`` reply: UID, RFC822.SIZE, whole messages, chosen header fields."""
    with open(path, "rb") as f:
        message = f.read(MAX_MESSAGE)
    wanted = items.upper()
    parts = [b"UID %d" % n]
    if "RFC822.SIZE" in wanted:
        parts.append(b"RFC822.SIZE %d" % len(message))
    fields = _HEADER_FIELDS.search(items)
    if fields:
        names = {name.lower().encode() for name in fields.group(1).split()}
        head = re.split(rb"\r?\n\r?\n", message, 1)[0]
        kept, keep = [], False
        for line in re.split(rb"\r?\n", head):
            if not line[:1].isspace():  # a continuation line belongs to the field before it
                keep = line.split(b":", 1)[0].strip().lower() in names
            if keep:
                kept.append(line + b"\r\n")
        body = b"".join(kept) + b"\r\n"
        parts.append(b"BODY[HEADER.FIELDS (%s)] {%d}\r\n%s" % (fields.group(1).upper().encode(), len(body), body))
    elif re.search(r"BODY(\.PEEK)?\[\]|RFC822(?![.\w])", wanted):
        parts.append(b"BODY[] {%d}\r\n%s" % (len(message), message))
    return b"* %d FETCH (%s)\r\n" % (n, b" ".join(parts))


def _imap_strings(text: str) -> list[str]:
    """The atoms and quoted strings of an IMAP command's arguments (RFC 3501 quoting)."""
    words, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
        elif text[i] == '"':
            word, i = [], i + 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                word.append(text[i])
                i += 1
            words.append("".join(word))
            i += 1
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            words.append(text[i:end])
            i = end
    return words


async def _ldap(s: Session) -> None:
    root_dse = {
        "objectClass": ["top"],
        "namingContexts": ["o=GroupWise"],
        "supportedLDAPVersion": ["3"],
        "vendorName": ["mailha GroupWise emulator"],
    }
    buffer = b""
    while True:
        while (length := ldap_ber.message_length(buffer)) is None:
            chunk = await asyncio.wait_for(s.reader.read(65536), IDLE_TIMEOUT)
            if not chunk:
                return
            buffer += chunk
        message, buffer = buffer[:length], buffer[length:]
        reply, close = ldap_ber.respond(message, root_dse)
        if reply:
            await s.send(reply)
        if close:
            return


async def _http(s: Session) -> None:
    request = await s.line()
    if not request:
        return
    headers: dict[str, str] = {}
    while (header := await s.line()) not in (None, ""):
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    method, _, _ = request.partition(" ")
    ctx = s.ctx
    given = _basic_login(headers.get("authorization", ""))
    if ctx.http_authenticate is not None:
        refused = given is None or not ctx.http_authenticate(*given)
    else:
        refused = ctx.http_user is not None and not _authorised(given, ctx.http_user, ctx.http_password or "")
    if refused:
        await _http_reply(s, 401, "Unauthorized", "<html><body>Authorization required</body></html>",
                          extra=f'WWW-Authenticate: Basic realm="{ctx.product}"\r\n')
        return
    if method.upper() not in ("GET", "HEAD"):
        await _http_reply(s, 405, "Method Not Allowed", "")
        return
    await _http_reply(s, 200, "OK", ctx.status_page(), head=method.upper() == "HEAD")


def _basic_login(header: str) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic`` header, or None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        given = base64.b64decode(encoded.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = given.partition(":")
    return (user, password) if sep else None


def _authorised(given: tuple[str, str] | None, user: str, password: str) -> bool:
    return given is not None and hmac.compare_digest(f"{given[0]}:{given[1]}".encode(), f"{user}:{password}".encode())


async def _http_reply(s: Session, code: int, reason: str, body: str, *, extra: str = "", head: bool = False) -> None:
    payload = body.encode("utf-8")
    header = (
        f"HTTP/1.0 {code} {reason}\r\nServer: {s.ctx.product} (mailha emulator)\r\n"
        f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(payload)}\r\n{extra}Connection: close\r\n\r\n"
    )
    await s.send(header.encode("ascii") + (b"" if head else payload))


async def _tcp(s: Session) -> None:
    """MTP and client/server ports: proprietary protocols; accept and stay silent until closed."""
    while await asyncio.wait_for(s.reader.read(65536), IDLE_TIMEOUT):
        await s.wait_unhung()
