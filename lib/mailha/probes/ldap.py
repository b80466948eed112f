"""LDAP probe: a minimal LDAPv3 client (RFC 4511) with a deadline on every byte.

It does what a monitor needs and nothing more: connect (``ldap://``, ``ldaps://``, StartTLS or
``ldapi://`` on a unix socket), simple bind (anonymous, or a DN and password sent only over the
socket), one search with a presence filter such as ``(objectClass=*)``, read the entries and the
result code, unbind.  The whole conversation ends within ``timeout`` seconds whatever the server
does: each read waits only for the time that is left.

Result codes that an agent must tell apart are kept apart (:class:`LdapResultError`):
``49 invalidCredentials`` (and the other authentication codes) has ``kind == AUTH``, a
configuration error; ``51 busy``, ``52 unavailable``, ``53 unwillingToPerform`` have
``kind == UNAVAILABLE``.

    >>> result = probe("127.0.0.1", 389, timeout=5)            # root DSE, anonymously
    >>> result.details["entries"][0].first("namingContexts")
    'dc=example,dc=com'
"""

import _socket  # not socket.py: see _common.connect
import time

from .. import ber
from . import AUTH, PROTOCOL, REFUSED, UNAVAILABLE, ProbeError, ProbeResult, redact
from ._common import connect, remaining, require_password, tls_wrap, translate

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    import socket
    from typing import Dict, List, Optional, Tuple, Union

SERVICE = "ldap"

# Protocol operations (RFC 4511 section 4.2 onwards): [APPLICATION n] tags.
BIND_REQUEST = 0x60
BIND_RESPONSE = 0x61
UNBIND_REQUEST = 0x42
SEARCH_REQUEST = 0x63
SEARCH_RESULT_ENTRY = 0x64
SEARCH_RESULT_DONE = 0x65
SEARCH_RESULT_REFERENCE = 0x73
EXTENDED_REQUEST = 0x77
EXTENDED_RESPONSE = 0x78
SIMPLE_AUTH = 0x80  # [0] password, primitive
PRESENT_FILTER = 0x87  # [7] attribute description, primitive
START_TLS_OID = b"1.3.6.1.4.1.1466.20037"

SCOPES = {"base": 0, "one": 1, "sub": 2}

RESULT_NAMES = {
    0: "success", 1: "operationsError", 2: "protocolError", 3: "timeLimitExceeded",
    4: "sizeLimitExceeded", 7: "authMethodNotSupported", 8: "strongerAuthRequired",
    10: "referral", 11: "adminLimitExceeded", 13: "confidentialityRequired", 32: "noSuchObject",
    34: "invalidDNSyntax", 48: "inappropriateAuthentication", 49: "invalidCredentials",
    50: "insufficientAccessRights", 51: "busy", 52: "unavailable", 53: "unwillingToPerform",
    80: "other",
}
AUTH_CODES = frozenset({7, 8, 13, 48, 49, 50})  # the credentials or their use are wrong
UNAVAILABLE_CODES = frozenset({51, 52, 53})  # the server answers but will not serve now


class LdapResultError(ProbeError):
    """The server answered with a result code other than success.

    ``code`` is the LDAP result code, ``code_name`` its RFC 4511 name; ``kind`` is
    :data:`~mailha.probes.AUTH` for 49 invalidCredentials and the other authentication codes,
    :data:`~mailha.probes.UNAVAILABLE` for 51/52/53, :data:`~mailha.probes.PROTOCOL` otherwise.
    """

    def __init__(self, address: str, port: int, operation: str, code: int, diagnostic: str = ""):
        self.code = code
        self.code_name = RESULT_NAMES.get(code, "unknown")
        self.operation = operation
        self.diagnostic = diagnostic
        kind = AUTH if code in AUTH_CODES else UNAVAILABLE if code in UNAVAILABLE_CODES else PROTOCOL
        reason = f"{operation} failed: {self.code_name} ({code})"
        if diagnostic:
            reason += f": {diagnostic[:200]}"
        super().__init__(SERVICE, address, port, reason, kind)


class Entry:
    """One search result entry: ``dn`` and ``attributes`` (values decoded as UTF-8 text)."""

    __slots__ = ("dn", "attributes")

    def __init__(self, dn: str, attributes: "Optional[Dict[str, List[str]]]" = None) -> None:
        self.dn = dn
        self.attributes = {} if attributes is None else attributes

    def __repr__(self) -> str:
        return f"Entry({self.dn!r}, {self.attributes!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and (self.dn, self.attributes) == (other.dn, other.attributes)

    def get(self, name: str) -> "List[str]":
        """All values of attribute *name* (case-insensitive, as LDAP attribute names are)."""
        wanted = name.lower()
        for key, values in self.attributes.items():
            if key.lower() == wanted:
                return values
        return []

    def first(self, name: str, default: "Optional[str]" = None) -> "Optional[str]":
        values = self.get(name)
        return values[0] if values else default


def presence_filter(text: str) -> bytes:
    """Encode ``(attr=*)``, the only filter a probe needs; anything else is a ValueError."""
    text = text.strip()
    if not (text.startswith("(") and text.endswith("=*)")):
        raise ValueError(f"unsupported LDAP filter {text!r}: only presence filters like (objectClass=*)")
    attribute = text[1:-3]
    if not attribute or any(c in attribute for c in "()=*\\ "):
        raise ValueError(f"unsupported LDAP filter {text!r}: bad attribute name")
    return ber.octet_string(attribute, PRESENT_FILTER)


class LdapConnection:
    """One LDAP session, modelled on smtplib: ``connect``, ``bind``, ``search``, ``unbind``.

    Every read and write is bounded by *deadline* (a ``time.monotonic()`` value).  Errors are
    raised as :class:`ProbeError` (network, TLS, garbage) or :class:`LdapResultError`.
    """

    def __init__(self, host: str, port: int, deadline: float) -> None:
        self.host = host
        self.port = port
        self.deadline = deadline
        self.sock: Optional[socket.socket] = None
        self._buffer = bytearray()
        self._next_id = 1

    # --- connection ------------------------------------------------------------------------

    def connect(self, *, tls: bool = False, ca_file: "Optional[str]" = None,
                ldapi: "Optional[str]" = None) -> None:
        """Open the TCP (or unix, for *ldapi*) connection; *tls* means ldaps (implicit TLS)."""
        if ldapi:
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                sock.settimeout(remaining(self.deadline))
                sock.connect(ldapi)
            except FileNotFoundError:  # no socket: the server is not running (or not here)
                sock.close()
                raise ProbeError(SERVICE, self.host, self.port, f"no LDAP socket at {ldapi}", REFUSED) from None
            except BaseException:
                sock.close()
                raise
        else:
            sock = connect(self.host, self.port, self.deadline)
        self.sock = sock
        if tls:
            self.sock = tls_wrap(sock, self.deadline, ca_file, self.host)

    def start_tls(self, ca_file: "Optional[str]" = None) -> None:
        """The StartTLS extended operation (RFC 4511 4.14), then the TLS handshake."""
        message_id = self._send(ber.sequence(ber.octet_string(START_TLS_OID, 0x80), tag=EXTENDED_REQUEST))
        response = self._expect(message_id, EXTENDED_RESPONSE)
        self._check_result(response, "StartTLS")
        assert self.sock is not None
        self.sock = tls_wrap(self.sock, self.deadline, ca_file, self.host)

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    # --- operations ------------------------------------------------------------------------

    def bind(self, dn: str = "", password: str = "") -> None:
        """Simple bind; anonymous with an empty DN and password."""
        request = ber.sequence(
            ber.integer(3),
            ber.octet_string(dn),
            ber.octet_string(password, SIMPLE_AUTH),
            tag=BIND_REQUEST,
        )
        message_id = self._send(request)
        self._check_result(self._expect(message_id, BIND_RESPONSE), "bind")

    def search(
        self,
        base: str = "",
        scope: str = "base",
        filter: str = "(objectClass=*)",
        attrs: "Union[Tuple[str, ...], List[str]]" = ("*", "+"),
        size_limit: int = 100,
    ) -> "List[Entry]":
        """Search and return the entries; raise :class:`LdapResultError` unless it succeeds."""
        if scope not in SCOPES:
            raise ValueError(f"LDAP scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        time_limit = max(1, int(self.deadline - time.monotonic()))  # the server gives up too
        request = ber.sequence(
            ber.octet_string(base),
            ber.enumerated(SCOPES[scope]),
            ber.enumerated(0),  # derefAliases: never
            ber.integer(size_limit),
            ber.integer(time_limit),
            ber.boolean(False),  # typesOnly
            presence_filter(filter),
            ber.sequence(*(ber.octet_string(a) for a in attrs)),
            tag=SEARCH_REQUEST,
        )
        message_id = self._send(request)
        entries: List[Entry] = []
        while True:
            op = self._expect(message_id, SEARCH_RESULT_ENTRY, SEARCH_RESULT_DONE, SEARCH_RESULT_REFERENCE)
            if op.tag == SEARCH_RESULT_DONE:
                self._check_result(op, "search")
                return entries
            if op.tag == SEARCH_RESULT_ENTRY:
                entries.append(self._entry(op))

    def unbind(self) -> None:
        """Say goodbye (no response comes) and close; never raises."""
        try:
            if self.sock is not None:
                self._send(ber.tlv(UNBIND_REQUEST, b""))
        except (OSError, ProbeError):
            pass
        finally:
            self.close()

    # --- messages --------------------------------------------------------------------------

    def _send(self, operation: bytes) -> int:
        message_id = self._next_id
        self._next_id += 1
        assert self.sock is not None, "not connected"
        self.sock.settimeout(remaining(self.deadline))
        self.sock.sendall(ber.sequence(ber.integer(message_id), operation))
        return message_id

    def _read_message(self) -> "Tuple[int, ber.Element]":
        """The next LDAPMessage: (messageID, protocolOp); controls are ignored."""
        assert self.sock is not None, "not connected"
        while True:
            if self._buffer and self._buffer[0] != ber.SEQUENCE:  # fail fast on a non-LDAP peer
                raise ber.BerError(f"not an LDAP message (first octet {self._buffer[0]:#04x})")
            header = ber.read_header(self._buffer)
            if header is not None and header[2] <= len(self._buffer):
                break
            self.sock.settimeout(remaining(self.deadline))  # each read waits only what is left
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProbeError(SERVICE, self.host, self.port, "connection closed by the server")
            self._buffer += chunk
        end = header[2]
        message = ber.decode(bytes(self._buffer[:end]))
        del self._buffer[:end]
        parts = message.children()
        if message.tag != ber.SEQUENCE or len(parts) < 2 or parts[0].tag != ber.INTEGER:
            raise ber.BerError("not an LDAPMessage")
        return parts[0].as_int(), parts[1]

    def _expect(self, message_id: int, *tags: int) -> "ber.Element":
        """The next operation for *message_id*, which must have one of *tags*."""
        for _ in range(10_000):  # bounded: a server could stream unsolicited messages forever
            got_id, op = self._read_message()
            if got_id == 0 and op.tag == EXTENDED_RESPONSE:  # notice of disconnection
                self._check_result(op, "server notice")
                raise ProbeError(SERVICE, self.host, self.port, "server sent a notice of disconnection")
            if got_id != message_id:
                continue  # an answer to something else (e.g. an abandoned request): skip it
            if op.tag not in tags:
                raise ProbeError(SERVICE, self.host, self.port, f"unexpected LDAP operation {op.tag:#x}")
            return op
        raise ProbeError(SERVICE, self.host, self.port, "too many unrelated LDAP messages")

    def _check_result(self, op: "ber.Element", operation: str) -> None:
        parts = op.children()
        if len(parts) < 3 or parts[0].tag != ber.ENUMERATED:
            raise ber.BerError("not an LDAPResult")
        code = parts[0].as_int()
        if code != 0:
            raise LdapResultError(self.host, self.port, operation, code, parts[2].as_str())

    @staticmethod
    def _entry(op: "ber.Element") -> "Entry":
        parts = op.children()
        if len(parts) != 2:
            raise ber.BerError("not a SearchResultEntry")
        entry = Entry(parts[0].as_str())
        for attribute in parts[1].children():
            pieces = attribute.children()
            if len(pieces) != 2:
                raise ber.BerError("not a PartialAttribute")
            entry.attributes[pieces[0].as_str()] = [v.as_str() for v in pieces[1].children()]
        return entry


def probe(
    host: str,
    port: int = 389,
    timeout: float = 5.0,
    tls: bool = False,
    *,
    starttls: bool = False,
    ca_file: "Optional[str]" = None,
    bind_dn: "Optional[str]" = None,
    password: "Optional[str]" = None,
    base: str = "",
    scope: str = "base",
    filter: str = "(objectClass=*)",
    attrs: "Union[Tuple[str, ...], List[str]]" = ("*", "+"),
    size_limit: int = 100,
    ldapi: "Optional[str]" = None,
) -> "ProbeResult":
    """Bind and search once; return the entries in ``result.details["entries"]``.

    *tls* is ldaps (implicit TLS, port 636); *starttls* upgrades a plain connection.  With
    *ldapi* (a unix socket path) *host* and *port* only label messages.  Without *bind_dn* the
    bind is anonymous.  The defaults read the root DSE (``base=""``, ``scope="base"``); for
    389-ds ``base="cn=monitor"`` gives ``version`` and ``currentconnections``.
    Raises :class:`LdapResultError` or :class:`~mailha.probes.ProbeError`; ValueError for
    arguments that can never work (an unknown scope, an unsupported filter).
    """
    require_password(SERVICE, host, port, bind_dn, password, label="bind DN")
    presence_filter(filter)
    if scope not in SCOPES:
        raise ValueError(f"LDAP scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    deadline = time.monotonic() + timeout
    connection = LdapConnection(host, port, deadline)
    try:
        connection.connect(tls=tls, ca_file=ca_file, ldapi=ldapi)
        if starttls and not tls:
            connection.start_tls(ca_file)
        if bind_dn:  # LDAPv3 needs no bind for anonymous access: one round trip saved
            connection.bind(bind_dn, password or "")
        entries = connection.search(base, scope, filter, attrs, size_limit)
    except ProbeError as error:
        connection.close()
        raise redact(error, password)
    except ber.BerError as error:
        connection.close()
        raise ProbeError(SERVICE, host, port, f"malformed LDAP answer: {error}") from None
    except Exception as error:  # socket and TLS errors, with a clear reason
        connection.close()
        raise translate(error, SERVICE, host, port) from None
    connection.unbind()
    return ProbeResult(SERVICE, host, port, "", {"entries": entries})
