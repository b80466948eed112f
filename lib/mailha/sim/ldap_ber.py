"""Just enough LDAPv3 BER (RFC 4511) for a probe: simple bind, a base search of the root DSE, unbind."""

from __future__ import annotations

# Tags: universal and LDAP application/context ones.
INTEGER, OCTET_STRING, ENUMERATED, SEQUENCE, SET = 0x02, 0x04, 0x0A, 0x30, 0x31
BIND_REQUEST, BIND_RESPONSE, UNBIND_REQUEST = 0x60, 0x61, 0x42
SEARCH_REQUEST, SEARCH_ENTRY, SEARCH_DONE = 0x63, 0x64, 0x65
EXTENDED_REQUEST, EXTENDED_RESPONSE, ABANDON_REQUEST = 0x77, 0x78, 0x50
SUCCESS, PROTOCOL_ERROR, NO_SUCH_OBJECT, UNWILLING = 0, 2, 32, 53
MAX_MESSAGE = 1 << 20


class BerError(ValueError):
    pass


def encode(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def integer(value: int, tag: int = INTEGER) -> bytes:
    return encode(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def octets(value: str | bytes, tag: int = OCTET_STRING) -> bytes:
    return encode(tag, value.encode() if isinstance(value, str) else value)


def decode(data: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """One TLV at ``pos``: (tag, content, position after it); raises BerError when incomplete."""
    if pos + 2 > len(data):
        raise BerError("short")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise BerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        length = first
    if length > MAX_MESSAGE:
        raise BerError("message too large")
    if pos + length > len(data):
        raise BerError("short")
    return tag, data[pos : pos + length], pos + length


def message_length(buffer: bytes) -> int | None:
    """Length of the first complete LDAPMessage in ``buffer``, or None if more bytes are needed."""
    try:
        _, _, end = decode(buffer)
    except BerError as exc:
        if str(exc) == "short":
            return None
        raise
    return end


def result(op: int, message_id: int, code: int, diagnostic: str = "") -> bytes:
    body = integer(code, ENUMERATED) + octets("") + octets(diagnostic)
    return encode(SEQUENCE, integer(message_id) + encode(op, body))


def entry(message_id: int, dn: str, attributes: dict[str, list[str]]) -> bytes:
    attrs = b"".join(encode(SEQUENCE, octets(k) + encode(SET, b"".join(octets(v) for v in vs))) for k, vs in attributes.items())
    return encode(SEQUENCE, integer(message_id) + encode(SEARCH_ENTRY, octets(dn) + encode(SEQUENCE, attrs)))


def respond(message: bytes, root_dse: dict[str, list[str]]) -> tuple[bytes, bool]:
    """The reply to one LDAPMessage and whether to close the connection afterwards."""
    tag, content, _ = decode(message)
    if tag != SEQUENCE:
        raise BerError("not an LDAPMessage")
    id_tag, id_bytes, pos = decode(content)
    if id_tag != INTEGER:
        raise BerError("no message id")
    message_id = int.from_bytes(id_bytes, "big", signed=True)
    op, body, _ = decode(content, pos)
    if op == UNBIND_REQUEST:
        return b"", True
    if op == ABANDON_REQUEST:
        return b"", False
    if op == BIND_REQUEST:
        return result(BIND_RESPONSE, message_id, SUCCESS), False
    if op == SEARCH_REQUEST:
        _, base, p = decode(body)
        _, scope, _ = decode(body, p)
        if base == b"" and scope == b"\x00":
            return entry(message_id, "", root_dse) + result(SEARCH_DONE, message_id, SUCCESS), False
        return result(SEARCH_DONE, message_id, NO_SUCH_OBJECT, "only the root DSE is served"), False
    if op == EXTENDED_REQUEST:
        return result(EXTENDED_RESPONSE, message_id, PROTOCOL_ERROR, "extended operations not supported"), False
    return result(op + 1 if op & 0x20 else op, message_id, UNWILLING, "operation not supported"), False
