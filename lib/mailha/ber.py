"""A minimal BER codec: just what an LDAPv3 client needs (RFC 4511 section 5.1, X.690).

LDAP messages are BER with definite lengths only, so this codec refuses the indefinite form.
Encoding builds bytes from the inside out (``sequence(integer(1), octet_string(b"x"))``);
decoding walks a buffer without copying and raises only :class:`BerError`, whatever the bytes.

The standard library has no LDAP client and ``ldap3`` costs about 100 ms to import, more than a
whole monitor may take; this module and :mod:`mailha.probes.ldap` replace it for probing.
"""

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing costs a monitor 4 ms to import
if TYPE_CHECKING:
    from typing import Iterator, List, Optional, Tuple, Union

# Universal tags (X.690 8.x), as LDAP uses them.
BOOLEAN = 0x01
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
ENUMERATED = 0x0A
SEQUENCE = 0x30  # constructed
SET = 0x31  # constructed

CONSTRUCTED = 0x20
APPLICATION = 0x40
CONTEXT = 0x80

# A probe never needs a message this big; refusing it bounds memory against a hostile peer.
MAX_LENGTH = 16 * 1024 * 1024


class BerError(ValueError):
    """The bytes are not the BER this codec accepts (truncated, indefinite, oversized, ...)."""


# --- encoding ------------------------------------------------------------------------------


def encode_length(length: int) -> bytes:
    """Definite length octets: short form below 128, long form above."""
    if length < 0:
        raise BerError(f"negative length {length}")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > 126:
        raise BerError("length too large to encode")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    """One element: a single-octet tag (all LDAP tags fit), its length and its content."""
    if not 0 <= tag <= 0xFF or tag & 0x1F == 0x1F:
        raise BerError(f"tag {tag:#x} is not a single-octet tag")
    return bytes([tag]) + encode_length(len(content)) + content


def encode_integer_body(value: int) -> bytes:
    """Two's complement, minimal length (X.690 8.3)."""
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return value.to_bytes(size, "big", signed=True)


def integer(value: int, tag: int = INTEGER) -> bytes:
    return tlv(tag, encode_integer_body(value))


def enumerated(value: int) -> bytes:
    return integer(value, ENUMERATED)


def boolean(value: bool) -> bytes:
    return tlv(BOOLEAN, b"\xff" if value else b"\x00")


def octet_string(value: "Union[bytes, str]", tag: int = OCTET_STRING) -> bytes:
    """A str is sent as UTF-8 (LDAP's strings); surrogates stand for the bytes they escape, as
    Python 3.6 reads a parameter's non-ASCII bytes from an environment in the C locale."""
    return tlv(tag, value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value)


def sequence(*items: bytes, tag: int = SEQUENCE) -> bytes:
    return tlv(tag, b"".join(items))


# --- decoding ------------------------------------------------------------------------------


class Element:
    """One decoded element: its ``tag`` and a view of its ``content`` in the original buffer."""

    __slots__ = ("tag", "content")

    def __init__(self, tag: int, content: memoryview) -> None:
        self.tag = tag
        self.content = content

    def __repr__(self) -> str:
        return f"Element({self.tag:#04x}, {bytes(self.content)!r})"

    @property
    def constructed(self) -> bool:
        return bool(self.tag & CONSTRUCTED)

    def children(self) -> "List[Element]":
        """The elements inside a constructed element (SEQUENCE, SET, [APPLICATION n] ...)."""
        return list(iter_elements(self.content))

    def as_bytes(self) -> bytes:
        return bytes(self.content)

    def as_str(self) -> str:
        """Content as UTF-8 text (LDAPString); undecodable bytes are replaced, never raised."""
        return bytes(self.content).decode("utf-8", "replace")

    def as_int(self) -> int:
        return decode_integer(self.content)

    def as_bool(self) -> bool:
        if len(self.content) != 1:
            raise BerError(f"BOOLEAN of {len(self.content)} octets")
        return self.content[0] != 0


def decode_integer(content: "Union[bytes, memoryview]") -> int:
    if len(content) == 0:
        raise BerError("INTEGER with no content octets")
    if len(content) > 16:
        raise BerError(f"INTEGER of {len(content)} octets is too long")
    return int.from_bytes(content, "big", signed=True)


def read_header(buf: "Union[bytes, bytearray, memoryview]", pos: int = 0) -> "Optional[Tuple[int, int, int]]":
    """Parse the tag and length at *pos*.

    Returns ``(tag, content_start, content_end)``, or None when *buf* holds too few bytes to
    know (a stream reader then reads more).  Raises :class:`BerError` for what can never become
    valid BER: multi-octet tags, the indefinite form, lengths beyond :data:`MAX_LENGTH`.
    """
    end = len(buf)
    if pos + 2 > end:
        return None
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise BerError(f"multi-octet tag {tag:#x} is not used by LDAP")
    first = buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise BerError("indefinite length is not allowed in LDAP")
    else:
        count = first & 0x7F
        if count > 4:
            raise BerError(f"length of {count} octets is too large")
        if pos + count > end:
            return None
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    if length > MAX_LENGTH:
        raise BerError(f"element of {length} octets exceeds the {MAX_LENGTH} limit")
    return tag, pos, pos + length


def read_element(buf: "Union[bytes, memoryview]", pos: int = 0) -> "Tuple[Element, int]":
    """Decode the complete element at *pos*; return it and the position after it."""
    header = read_header(buf, pos)
    if header is None or header[2] > len(buf):
        raise BerError("truncated element")
    tag, start, end = header
    view = buf if isinstance(buf, memoryview) else memoryview(buf)
    return Element(tag, view[start:end]), end


def iter_elements(buf: "Union[bytes, memoryview]") -> "Iterator[Element]":
    """Every element laid end to end in *buf*, which must hold nothing else."""
    pos = 0
    while pos < len(buf):
        element, pos = read_element(buf, pos)
        yield element


def decode(buf: "Union[bytes, memoryview]") -> "Element":
    """Decode exactly one element that fills *buf*."""
    element, end = read_element(buf, 0)
    if end != len(buf):
        raise BerError(f"{len(buf) - end} trailing octets after the element")
    return element
