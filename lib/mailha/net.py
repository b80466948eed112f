"""Address checks: is an address configured here, and who listens on a port.

Both answers come from the kernel of this network namespace, cheaply, without running a command:

* :func:`local_addresses` asks rtnetlink (RTM_GETADDR, what ``ip addr`` does) -- one round trip,
  IPv4 and IPv6, secondary addresses included.  (Trying to ``bind()`` instead would lie when
  ``net.ipv4.ip_nonlocal_bind`` is set, as it often is on HA nodes.)
* :func:`listeners` asks sock_diag (what ``ss -l`` does) for listening sockets only, and falls
  back to parsing ``/proc/net/tcp{,6}`` (or ``udp``), which is slower: reading it walks every
  socket of the host.  Mapping sockets to processes scans ``/proc/*/fd`` and is done only when
  asked (``with_owner=True``).
"""

import ipaddress
import os
import socket
import struct
from collections import namedtuple

# Not typing/dataclasses: together about 20 ms of imports, half a monitor's budget.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Optional, Set, Tuple, Union

    IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class AddressError(ValueError):
    """Text that is not an IP address; the message says what was wrong."""


class NetlinkError(OSError):
    """The kernel refused or garbled a netlink request (rtnetlink or sock_diag)."""


def parse_address(text: str) -> "IPAddress":
    """An IPv4 or IPv6 address from *text*; ``[::1]`` brackets are accepted.

    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) become the IPv4 address, as the kernel
    treats them so.  Raises :class:`AddressError` with a message fit for an exit reason.
    """
    if not isinstance(text, str):
        raise AddressError(f"not an IP address: {text!r}")
    cleaned = text.strip()
    if cleaned.startswith("[") and cleaned.endswith("]"):
        cleaned = cleaned[1:-1]
    if not cleaned:
        raise AddressError("empty IP address")
    if "%" in cleaned:
        raise AddressError(f"IP address {text!r} has a zone index (%...): use the address alone")
    if "/" in cleaned:
        raise AddressError(f"IP address {text!r} has a prefix length: give the address without /N")
    try:
        address = ipaddress.ip_address(cleaned)
    except ValueError:
        raise AddressError(f"not an IPv4 or IPv6 address: {text!r}") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def same_address(written: "Optional[str]", address: str) -> bool:
    """Whether an address written in a configuration file is *address* (``::ffff:10.0.0.1``
    is ``10.0.0.1``, ``::0:1`` is ``::1``); text that is no address matches only itself."""
    if written is None:
        return False
    try:
        return parse_address(written) == parse_address(address)
    except AddressError:
        return written == address


# --- local addresses (rtnetlink) -----------------------------------------------------------

_NLMSG = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_IFADDRMSG = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, ifindex
_RTATTR = struct.Struct("=HH")  # rtattr: length, type
RTM_NEWADDR, RTM_GETADDR = 20, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_FLAGS = 1, 2, 3, 8
IFA_F_DADFAILED = 0x08
RT_SCOPE_HOST = 254


class LocalAddress(namedtuple("LocalAddress", "address prefixlen ifindex label scope flags")):
    """An address configured on an interface of this network namespace.

    ``address`` (ipaddress object), ``prefixlen``, ``ifindex``, ``label`` (the interface or its
    alias label, e.g. ``eth0:vip``; ``""`` for IPv6), ``scope`` (0 global, 253 link, 254 host),
    ``flags`` (IFA_F_* bits).
    """

    __slots__ = ()

    @property
    def usable(self) -> bool:
        """False while duplicate address detection failed (IPv6): nothing can bind it."""
        return not self.flags & IFA_F_DADFAILED

    @property
    def network(self) -> "Union[ipaddress.IPv4Network, ipaddress.IPv6Network]":
        return ipaddress.ip_network(f"{self.address}/{self.prefixlen}", strict=False)


def _align(length: int) -> int:
    return (length + 3) & ~3


def _netlink_dump(protocol: int, request_type: int, answer_type: int, body: bytes, timeout: float = 2.0):
    """Send one NLM_F_DUMP request; yield the payload of each *answer_type* message until
    NLMSG_DONE.  Raises :class:`NetlinkError` (an OSError) when the kernel refuses."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol) as sock:
        sock.settimeout(timeout)
        sock.bind((0, 0))
        header = _NLMSG.pack(_NLMSG.size + len(body), request_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
        sock.send(header + body)
        for _ in range(100_000):  # bounded: even a dump of thousands of entries is a few reads
            data = sock.recv(65536)
            if not data:
                raise NetlinkError("netlink closed the socket")
            pos = 0
            while pos + _NLMSG.size <= len(data):
                length, kind, _flags, _seq, _pid = _NLMSG.unpack_from(data, pos)
                if length < _NLMSG.size or pos + length > len(data):
                    raise NetlinkError("truncated netlink message")
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, pos + _NLMSG.size)
                    if code:  # 0 would be an acknowledgement
                        raise NetlinkError(-code, os.strerror(-code))
                if kind == answer_type:
                    yield data[pos + _NLMSG.size : pos + length]
                pos += _align(length)
        raise NetlinkError("netlink dump did not end")


def local_addresses(timeout: float = 2.0) -> "List[LocalAddress]":
    """Every address configured in this network namespace (IPv4 and IPv6)."""
    body = _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    found = []
    for payload in _netlink_dump(socket.NETLINK_ROUTE, RTM_GETADDR, RTM_NEWADDR, body, timeout):
        parsed = _parse_newaddr(payload)
        if parsed is not None:
            found.append(parsed)
    return found


def _parse_newaddr(msg: bytes) -> "Optional[LocalAddress]":
    family, prefixlen, flags, scope, ifindex = _IFADDRMSG.unpack_from(msg, 0)
    attrs = _attributes(msg, _IFADDRMSG.size)
    # IFA_LOCAL is the local end of a point-to-point link; IFA_ADDRESS is then the peer.
    raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
    if raw is None or family not in (socket.AF_INET, socket.AF_INET6):
        return None
    if IFA_FLAGS in attrs and len(attrs[IFA_FLAGS]) >= 4:
        (flags,) = struct.unpack_from("=I", attrs[IFA_FLAGS])
    label = attrs.get(IFA_LABEL, b"").split(b"\0", 1)[0].decode("utf-8", "replace")
    return LocalAddress(ipaddress.ip_address(raw), prefixlen, ifindex, label, scope, flags)


def is_local_address(ip: "Union[str, IPAddress]") -> bool:
    """Is *ip* configured on an interface of this network namespace?

    Also true for addresses inside a host-scope network (``127.0.0.0/8`` on ``lo``), which
    the kernel treats as local.  Raises :class:`AddressError` for text that is not an address,
    :class:`NetlinkError` if the kernel cannot be asked.
    """
    address = ip if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else parse_address(ip)
    for local in local_addresses():
        if not local.usable or local.address.version != address.version:
            continue
        if local.address == address:
            return True
        if local.scope == RT_SCOPE_HOST and address in local.network:
            return True
    return False


# --- listening sockets (sock_diag, or /proc/net) -------------------------------------------

TCP_LISTEN = 10
UDP_UNCONNECTED = 7  # TCP_CLOSE: how the kernel shows a bound, unconnected UDP socket
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
_DIAG_REQ = struct.Struct("=BBBxI48x")  # inet_diag_req_v2: family, protocol, ext, states, (id)
_DIAG_MSG = struct.Struct("!BBBBHH16s16s")  # inet_diag_msg to the addresses; ports big-endian
_DIAG_INODE = struct.Struct("=I")
_DIAG_INODE_OFFSET = 4 + 48 + 16  # after the header, the socket id, expires/rqueue/wqueue/uid
_DIAG_ATTRS_OFFSET = _DIAG_INODE_OFFSET + 4  # the netlink attributes follow inet_diag_msg
INET_DIAG_SKV6ONLY = 11  # attribute: the socket's IPV6_V6ONLY, sent for every IPv6 socket


class Listener(namedtuple("Listener", "address port inode pid process v6only")):
    """A socket listening on (tcp) or bound to (udp) a port.

    ``address`` (ipaddress object; IPv4-mapped IPv6 shown as IPv4), ``port``, ``inode``; when
    asked for with ``with_owner=True``, the owner's ``pid`` and ``process`` (its comm);
    ``v6only`` for IPv6 sockets (IPV6_V6ONLY: a ``::`` listener then takes no IPv4), None
    when unknown (the /proc fallback cannot tell).
    """

    __slots__ = ()

    @property
    def wildcard(self) -> bool:
        return self.address.is_unspecified

    def __str__(self) -> str:
        where = f"[{self.address}]:{self.port}" if self.address.version == 6 else f"{self.address}:{self.port}"
        owner = f" by pid {self.pid} ({self.process})" if self.pid is not None else ""
        return f"{where}{owner}"


# namedtuple(defaults=...) is Python 3.7 and later
Listener.__new__.__defaults__ = (None, None, None)


def _decode_proc_address(text: str) -> "IPAddress":
    """``/proc/net/tcp`` prints each 32-bit word of the address in host byte order, in hex."""
    words = [int(text[i : i + 8], 16) for i in range(0, len(text), 8)]
    return _unmapped(ipaddress.ip_address(b"".join(struct.pack("=I", w) for w in words)))


def listeners(port: int, proto: str = "tcp", *, with_owner: bool = False) -> "List[Listener]":
    """The sockets listening on *port* (tcp: LISTEN state; udp: bound), IPv4 and IPv6.

    With *with_owner*, each listener also names the process holding it (``pid``, ``process``)
    when this process may look (root may).
    """
    if proto not in ("tcp", "udp"):
        raise ValueError(f"proto must be 'tcp' or 'udp', not {proto!r}")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port out of range: {port!r}")
    try:
        found = _diag_listeners(port, proto)
    except OSError:  # sock_diag unavailable (module not loaded, seccomp): read /proc instead
        found = _proc_listeners(port, proto)
    if with_owner and found:
        owners = socket_owners({listener.inode for listener in found})
        owned = []
        for item in found:
            pid, name = owners.get(item.inode, (None, None))
            owned.append(item._replace(pid=pid, process=name))
        found = owned
    return found


def _diag_listeners(port: int, proto: str) -> "List[Listener]":
    """Ask the kernel (NETLINK_SOCK_DIAG, as ``ss`` does) for listening sockets only.

    Much cheaper than /proc/net/tcp, whose reading walks every socket of the host (about 5 ms
    per file on a small machine, more under load); a LISTEN-only dump walks the listeners.
    """
    protocol = socket.IPPROTO_TCP if proto == "tcp" else socket.IPPROTO_UDP
    states = 1 << (TCP_LISTEN if proto == "tcp" else UDP_UNCONNECTED)
    found: List[Listener] = []
    for family in (socket.AF_INET, socket.AF_INET6):
        body = _DIAG_REQ.pack(family, protocol, 0, states)
        for payload in _netlink_dump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, SOCK_DIAG_BY_FAMILY, body):
            msg_family, state, _timer, _retrans, sport, _dport, src, _dst = _DIAG_MSG.unpack_from(payload)
            if sport != port or not states & (1 << state):
                continue
            (inode,) = _DIAG_INODE.unpack_from(payload, _DIAG_INODE_OFFSET)
            raw = src[:4] if msg_family == socket.AF_INET else src
            v6only = None
            if msg_family == socket.AF_INET6:
                flag = _attributes(payload, _DIAG_ATTRS_OFFSET).get(INET_DIAG_SKV6ONLY)
                v6only = bool(flag[0]) if flag else None
            found.append(Listener(_unmapped(ipaddress.ip_address(raw)), port, inode, v6only=v6only))
    return found


def _attributes(msg: bytes, pos: int) -> "Dict[int, bytes]":
    """Netlink attributes (rtattr/nlattr: length, type, value) from *pos* to the end."""
    attrs: Dict[int, bytes] = {}
    while pos + _RTATTR.size <= len(msg):
        length, kind = _RTATTR.unpack_from(msg, pos)
        if length < _RTATTR.size:
            break
        attrs[kind & 0x3FFF] = msg[pos + _RTATTR.size : pos + length]  # without NLA_F_* bits
        pos += _align(length)
    return attrs


def _unmapped(address: "IPAddress") -> "IPAddress":
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _proc_listeners(port: int, proto: str) -> "List[Listener]":
    """The same from ``/proc/net/{tcp,udp}{,6}``."""
    state = f"{TCP_LISTEN if proto == 'tcp' else UDP_UNCONNECTED:02X}"
    wanted_port = f"{port:04X}"
    found: List[Listener] = []
    for table in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):
        try:
            with open(table) as f:
                next(f, None)  # header
                for line in f:
                    fields = line.split()
                    # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    if len(fields) < 10 or fields[3] != state:
                        continue
                    address, _, hex_port = fields[1].partition(":")
                    if hex_port != wanted_port:
                        continue
                    found.append(Listener(_decode_proc_address(address), port, int(fields[9])))
        except FileNotFoundError:  # no IPv6 in this kernel or namespace
            continue
    return found


def socket_owners(inodes: "Set[int]") -> "Dict[int, Tuple[int, str]]":
    """Map socket inodes to (pid, comm) by scanning ``/proc/*/fd``; stops when all are found.

    A listening socket is often shared down a process tree (Postfix's ``master`` hands port 25
    to each ``smtpd``): the owner named is the topmost holder, the one that opened it, whichever
    pid the scan meets first (pids wrap, so a child may come before its parent).
    """
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    owners: Dict[int, Tuple[int, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        for target in _socket_targets(name):
            inode = wanted.get(target)
            if inode is not None and inode not in owners:
                pid = _topmost_holder(int(name), target)
                owners[inode] = (pid, _comm(str(pid)))
        if len(owners) == len(wanted):
            break
    return owners


def _socket_targets(pid: str) -> "List[str]":
    """What the descriptors of *pid* point to (``socket:[INODE]`` for sockets); [] if gone or not ours."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return []
    targets = []
    for fd in fds:
        try:
            targets.append(os.readlink(f"{fd_dir}/{fd}"))
        except OSError:
            continue
    return targets


def _topmost_holder(pid: int, target: str) -> int:
    """Climb from *pid* through the parents that hold *target* too."""
    seen = {pid}
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                ppid = int(f.read(4096).rsplit(b")", 1)[1].split()[1])  # field 4; comm may hold ")"
        except (OSError, IndexError, ValueError):
            return pid
        if ppid <= 0 or ppid in seen or target not in _socket_targets(str(ppid)):
            return pid
        seen.add(ppid)
        pid = ppid


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:  # any bytes, any locale
            return f.read().strip()
    except OSError:
        return "?"


# --- is a port bound on an address ---------------------------------------------------------

SPECIFIC = "specific"  # bound on exactly that address
WILDCARD = "wildcard"  # bound on all addresses (0.0.0.0 or ::), which includes that one
OTHER = "other"  # bound, but only on other addresses
NONE = "none"  # nothing listens on the port


class Binding(namedtuple("Binding", "kind listeners")):
    """How a port is bound with respect to one address: ``kind`` is one of :data:`SPECIFIC`,
    :data:`WILDCARD`, :data:`OTHER`, :data:`NONE`; ``listeners`` are the relevant ones (for
    SPECIFIC and WILDCARD those covering the address, for OTHER all of them)."""

    __slots__ = ()

    def __str__(self) -> str:
        if self.kind == NONE:
            return "not bound"
        return f"{self.kind}: " + ", ".join(str(item) for item in self.listeners)


Binding.__new__.__defaults__ = ((),)


def bound_on(port: int, ip: "Union[str, IPAddress]", proto: str = "tcp", *,
             with_owner: bool = False) -> "Binding":
    """Is *port* bound on *ip* itself, on the wildcard, only on other addresses, or not at all?

    A socket bound to ``::`` counts as a wildcard for IPv4 too, unless it set IPV6_V6ONLY
    (known from sock_diag; the /proc fallback cannot tell, and then assumes it covers IPv4).
    If both a specific and a wildcard listener exist (SO_REUSEPORT), SPECIFIC wins.
    """
    address = ip if isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)) else parse_address(ip)
    items = listeners(port, proto, with_owner=with_owner)
    if not items:
        return Binding(NONE)
    specific = tuple(item for item in items if item.address == address)
    if specific:
        return Binding(SPECIFIC, specific)
    wildcards = tuple(
        item
        for item in items
        if item.address.is_unspecified
        and (item.address.version == address.version or (item.address.version == 6 and not item.v6only))
    )
    if wildcards:
        return Binding(WILDCARD, wildcards)
    return Binding(OTHER, tuple(items))


def port_holders(port: int, ip: "Optional[str]" = None) -> "List[Listener]":
    """The listeners (with their owners) that stop a server from binding *port* on *ip*
    (on every address when *ip* is ``None``): what to name when a start cannot bind."""
    if ip is None:
        return listeners(port, with_owner=True)
    binding = bound_on(port, ip, with_owner=True)
    return list(binding.listeners) if binding.kind in (SPECIFIC, WILDCARD) else []
