"""The emulator's LDAP server side (RFC 4511): bind, a base search of the root DSE, unbind.

The BER itself is :mod:`mailha.ber`, the codec the LDAP probe speaks, so the emulator and the
probe cannot drift apart; this module holds only what a server answers.
"""

from __future__ import annotations

from .. import ber
from ..ber import BerError  # protocols.py ends a session on it

# LDAP protocol operations: [APPLICATION n] tags.
BIND_REQUEST, BIND_RESPONSE, UNBIND_REQUEST = 0x60, 0x61, 0x42
SEARCH_REQUEST, SEARCH_ENTRY, SEARCH_DONE = 0x63, 0x64, 0x65
EXTENDED_REQUEST, EXTENDED_RESPONSE, ABANDON_REQUEST = 0x77, 0x78, 0x50
SUCCESS, PROTOCOL_ERROR, NO_SUCH_OBJECT, UNWILLING = 0, 2, 32, 53
# Tighter than the codec's own limit: no request a probe sends comes near it, and each open
# connection may buffer this much.
MAX_MESSAGE = 1 << 20


def message_length(buffer: bytes) -> int | None:
    """Length of the first complete LDAPMessage in ``buffer``, or None if more bytes are needed."""
    header = ber.read_header(buffer)  # raises at once on what can never become an LDAPMessage
    if header is None:
        return None
    _, start, end = header
    if end - start > MAX_MESSAGE:
        raise BerError("message too large")
    return end if end <= len(buffer) else None


def result(op: int, message_id: int, code: int, diagnostic: str = "") -> bytes:
    """An LDAPMessage carrying an LDAPResult (matchedDN empty) under operation tag *op*."""
    body = ber.sequence(ber.enumerated(code), ber.octet_string(""), ber.octet_string(diagnostic), tag=op)
    return ber.sequence(ber.integer(message_id), body)


def entry(message_id: int, dn: str, attributes: dict[str, list[str]]) -> bytes:
    """An LDAPMessage carrying a SearchResultEntry."""
    attrs = (
        ber.sequence(ber.octet_string(name), ber.sequence(*map(ber.octet_string, values), tag=ber.SET))
        for name, values in attributes.items()
    )
    return ber.sequence(ber.integer(message_id), ber.sequence(ber.octet_string(dn), ber.sequence(*attrs), tag=SEARCH_ENTRY))


def respond(message: bytes, root_dse: dict[str, list[str]]) -> tuple[bytes, bool]:
    """The reply to one LDAPMessage and whether to close the connection afterwards."""
    envelope = ber.decode(message)
    if envelope.tag != ber.SEQUENCE:
        raise BerError("not an LDAPMessage")
    id_element, pos = ber.read_element(envelope.content)
    if id_element.tag != ber.INTEGER:
        raise BerError("no message id")
    message_id = id_element.as_int()
    request, _ = ber.read_element(envelope.content, pos)  # controls, if any, are ignored
    op = request.tag
    if op == UNBIND_REQUEST:
        return b"", True
    if op == ABANDON_REQUEST:
        return b"", False
    if op == BIND_REQUEST:
        return result(BIND_RESPONSE, message_id, SUCCESS), False
    if op == SEARCH_REQUEST:
        base, pos = ber.read_element(request.content)
        scope, _ = ber.read_element(request.content, pos)
        if not base.content and scope.as_int() == 0:  # scope 0: baseObject
            return entry(message_id, "", root_dse) + result(SEARCH_DONE, message_id, SUCCESS), False
        return result(SEARCH_DONE, message_id, NO_SUCH_OBJECT, "only the root DSE is served"), False
    if op == EXTENDED_REQUEST:
        return result(EXTENDED_RESPONSE, message_id, PROTOCOL_ERROR, "extended operations not supported"), False
    # Other constructed requests are answered under the next tag, as RFC 4511 numbers responses.
    return result(op + 1 if op & ber.CONSTRUCTED else op, message_id, UNWILLING, "operation not supported"), False
