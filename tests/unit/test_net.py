"""Address checks against this host's real network namespace; sockets on loopback only."""

import ipaddress
import json
import os
import socket
import subprocess
import sys

import pytest

from mailha import net
from mailha.net import NONE, OTHER, SPECIFIC, WILDCARD, AddressError
from testkit import CAPTURE_TEXT, free_port

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Set, Union


def ip_addr_oracle() -> "Set[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]":
    """What iproute2 says is configured: an independent reading of the same kernel state."""
    out = subprocess.run(["ip", "-j", "addr"], check=True, **CAPTURE_TEXT, timeout=30).stdout
    return {ipaddress.ip_address(a["local"]) for link in json.loads(out) for a in link.get("addr_info", [])}


@pytest.fixture
def sockets():
    opened: List[socket.socket] = []

    def listen(address: str, port: int, family=socket.AF_INET, kind=socket.SOCK_STREAM, v6only=True) -> socket.socket:
        sock = socket.socket(family, kind)
        opened.append(sock)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
        sock.bind((address, port))
        if kind == socket.SOCK_STREAM:
            sock.listen()
        return sock

    yield listen
    for sock in opened:
        sock.close()


def has_ipv6_loopback() -> bool:
    return ipaddress.ip_address("::1") in ip_addr_oracle()


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [("10.0.0.1", "10.0.0.1"), (" 10.0.0.1 ", "10.0.0.1"), ("[::1]", "::1"), ("fd00::2", "fd00::2"),
     ("::ffff:10.0.0.1", "10.0.0.1")],
)
def test_parse_address(text, expected):
    assert net.parse_address(text) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "text,message",
    [("", "empty"), ("10.0.0.1/24", "prefix length"), ("fe80::1%eth0", "zone"), ("999.1.1.1", "not an IPv4"),
     ("mail.example.com", "not an IPv4"), (None, "not an IP"), ("1.2.3", "not an IPv4")],
)
def test_parse_address_errors_say_what_is_wrong(text, message):
    with pytest.raises(AddressError, match=message):
        net.parse_address(text)


# --- local addresses -----------------------------------------------------------------------


def test_local_addresses_agree_with_iproute2():
    assert {a.address for a in net.local_addresses()} == ip_addr_oracle()


def test_is_local_address():
    assert net.is_local_address("127.0.0.1")
    assert net.is_local_address("127.0.0.77")  # inside lo's host-scope 127.0.0.0/8
    not_here = ipaddress.ip_address("198.51.100.77")  # TEST-NET-2
    assert not_here not in ip_addr_oracle()
    assert not net.is_local_address(str(not_here))
    for configured in ip_addr_oracle():
        assert net.is_local_address(configured)
    with pytest.raises(AddressError):
        net.is_local_address("not-an-ip")


def test_ipv6_loopback_is_local_when_configured():
    assert net.is_local_address("::1") == has_ipv6_loopback()
    assert not net.is_local_address("2001:db8::77")


# --- listeners -----------------------------------------------------------------------------


def test_decode_proc_address():
    assert str(net._decode_proc_address("0100007F")) == "127.0.0.1"
    assert str(net._decode_proc_address("00000000000000000000000001000000")) == "::1"
    assert str(net._decode_proc_address("0000000000000000FFFF00000100007F")) == "127.0.0.1"  # v4-mapped


def test_listener_on_a_specific_address(sockets):
    port = free_port()
    sockets("127.0.0.2", port)
    (found,) = net.listeners(port)
    assert str(found.address) == "127.0.0.2" and found.port == port and found.inode > 0
    assert found.pid is None and not found.wildcard
    assert net.bound_on(port, "127.0.0.2").kind == SPECIFIC
    other = net.bound_on(port, "127.0.0.3")
    assert other.kind == OTHER and other.listeners == (found,)


def test_owner_is_found_when_asked(sockets):
    port = free_port()
    sockets("127.0.0.2", port)
    (found,) = net.listeners(port, with_owner=True)
    assert found.pid == os.getpid()
    with open("/proc/self/comm") as f:
        assert found.process == f.read().strip()
    binding = net.bound_on(port, "127.0.0.2", with_owner=True)
    assert f"by pid {os.getpid()}" in str(binding)


def test_wildcard_binding(sockets):
    port = free_port()
    sockets("0.0.0.0", port)
    binding = net.bound_on(port, "127.0.0.3")
    assert binding.kind == WILDCARD and binding.listeners[0].wildcard


def test_dual_stack_ipv6_wildcard_covers_ipv4(sockets):
    if not socket.has_ipv6 or not has_ipv6_loopback():
        pytest.fail("IPv6 is not available on this host")
    port = free_port()
    sockets("::", port, socket.AF_INET6, v6only=False)
    assert net.listeners(port)[0].v6only is False
    assert net.bound_on(port, "127.0.0.3").kind == WILDCARD
    assert net.bound_on(port, "::1").kind == WILDCARD


def test_ipv6_only_wildcard_does_not_cover_ipv4(sockets):
    if not has_ipv6_loopback():
        pytest.fail("::1 is not configured on this host")
    port = free_port()
    sockets("::", port, socket.AF_INET6, v6only=True)
    (found,) = net.listeners(port)
    assert found.v6only is True and found.wildcard
    assert net.bound_on(port, "127.0.0.3").kind == OTHER
    assert net.bound_on(port, "::1").kind == WILDCARD


def test_ipv6_specific_listener(sockets):
    if not has_ipv6_loopback():
        pytest.fail("::1 is not configured on this host")
    port = free_port()
    sockets("::1", port, socket.AF_INET6)
    (found,) = net.listeners(port, with_owner=True)
    assert found.address == ipaddress.ip_address("::1") and found.pid == os.getpid()
    assert net.bound_on(port, "[::1]").kind == SPECIFIC
    assert net.bound_on(port, "127.0.0.1").kind == OTHER
    assert str(found).startswith(f"[::1]:{port}")


def test_nothing_bound_and_bound_but_not_listening(sockets):
    port = free_port()
    assert net.listeners(port) == [] and net.bound_on(port, "127.0.0.1").kind == NONE
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.2", port))  # bound, no listen(): not a listener
        assert net.listeners(port) == []
    finally:
        sock.close()


def test_udp(sockets):
    port = free_port()
    sockets("127.0.0.2", port, kind=socket.SOCK_DGRAM)
    (found,) = net.listeners(port, "udp", with_owner=True)
    assert str(found.address) == "127.0.0.2" and found.pid == os.getpid()
    assert net.listeners(port, "tcp") == []


def test_listeners_argument_errors():
    with pytest.raises(ValueError):
        net.listeners(389, "sctp")
    with pytest.raises(ValueError):
        net.listeners(0)
    with pytest.raises(ValueError):
        net.listeners(70000)


def test_sock_diag_and_proc_agree(sockets):
    # The fast path (sock_diag) and the fallback (/proc/net) read the same kernel state.
    port = free_port()
    sockets("127.0.0.2", port)
    sockets("127.0.0.3", port)
    sockets("127.0.0.2", port, kind=socket.SOCK_DGRAM)
    if has_ipv6_loopback():
        sockets("::1", port, socket.AF_INET6)
    def essentials(listeners):  # what both know; only sock_diag knows v6only
        return sorted((str(item.address), item.port, item.inode) for item in listeners)

    for proto in ("tcp", "udp"):
        fast = essentials(net._diag_listeners(port, proto))
        assert fast and fast == essentials(net._proc_listeners(port, proto))


def test_listeners_falls_back_to_proc_without_sock_diag(sockets, monkeypatch):
    def unavailable(port, proto):
        raise net.NetlinkError(93, "Protocol not supported")

    monkeypatch.setattr(net, "_diag_listeners", unavailable)
    port = free_port()
    sockets("127.0.0.2", port)
    (found,) = net.listeners(port, with_owner=True)
    assert str(found.address) == "127.0.0.2" and found.pid == os.getpid()


def test_port_holders_name_who_blocks_a_bind(sockets):
    port = free_port()
    sockets("127.0.0.2", port)
    (holder,) = net.port_holders(port, "127.0.0.2")
    assert holder.pid == os.getpid()
    assert net.port_holders(port, "127.0.0.3") == []  # another address is free to bind
    assert [h.pid for h in net.port_holders(port)] == [os.getpid()]


@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_a_socket_shared_with_a_child_is_owned_by_the_parent(sockets, monkeypatch, order):
    """Postfix's master hands port 25 to its smtpd children; after pids wrap a child may be
    scanned before its parent, and the parent (who opened it) must still be the one named."""
    port = free_port()
    sock = sockets("127.0.0.2", port)
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE,
                             pass_fds=(sock.fileno(),))
    try:
        real = os.listdir

        def listdir(path):
            names = real(path)
            if path == "/proc":
                names = sorted(names, key=lambda n: int(n) if n.isdigit() else -1, reverse=order == "descending")
            return names

        monkeypatch.setattr(net.os, "listdir", listdir)
        assert f"socket:[{net.listeners(port)[0].inode}]" in net._socket_targets(str(child.pid))  # shared
        (holder,) = net.port_holders(port, "127.0.0.2")
        assert holder.pid == os.getpid()
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def test_an_address_written_in_a_configuration_file_is_compared_as_an_address():
    from mailha.net import same_address

    assert same_address("::ffff:192.0.2.20", "192.0.2.20") and same_address("192.0.2.20", "::ffff:192.0.2.20")
    assert same_address("::0:1", "::1") and not same_address("192.0.2.2", "192.0.2.20")
    assert not same_address(None, "192.0.2.20") and not same_address("", "192.0.2.20")
    assert same_address("mail.example.com", "mail.example.com")  # no address: the text itself
