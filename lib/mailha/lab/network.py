"""The lab network: a bridge in a "switch" namespace, one cable per node and one client.

Every link is created inside a lab namespace (veth peers are placed directly
into their namespace), so nothing of the lab network ever exists in the
host's own network namespace.
"""

from __future__ import annotations

import os
import subprocess

from mailha.lab.layout import NODE_IFACE, PREFIX_LEN, Layout

BRIDGE = "br0"


def ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["ip"] + (["-n", netns] if netns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=20)


def netns_exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def add_netns(name: str) -> None:
    ip("netns", "add", name)
    ip("link", "set", "lo", "up", netns=name)


def create_switch(layout: Layout) -> None:
    add_netns(layout.switch_netns)
    sw = layout.switch_netns
    ip("link", "add", BRIDGE, "type", "bridge", netns=sw)
    # No STP and no forwarding delay: a port is usable as soon as it is up.
    ip("link", "set", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0", netns=sw)
    ip("link", "set", BRIDGE, "up", netns=sw)


def plug(layout: Layout, netns: str, port: str, address: str) -> None:
    """Create netns's cable: its eth0 <-> a switch port enslaved to the bridge."""
    add_netns(netns)
    sw = layout.switch_netns
    ip("link", "add", port, "type", "veth", "peer", "name", NODE_IFACE, "netns", netns, netns=sw)
    ip("link", "set", port, "master", BRIDGE, netns=sw)
    ip("link", "set", port, "up", netns=sw)
    ip("addr", "add", f"{address}/{PREFIX_LEN}", "dev", NODE_IFACE, netns=netns)
    ip("link", "set", NODE_IFACE, "up", netns=netns)


def reset_addresses(layout: Layout, node: str) -> None:
    """Forget addresses a node added at run time (e.g. a VIP): its netns outlives its processes,
    but a machine that loses power loses its IP configuration."""
    ns = layout.node_netns(node)
    ip("addr", "flush", "dev", NODE_IFACE, netns=ns)
    ip("addr", "add", f"{layout.node_address(node)}/{PREFIX_LEN}", "dev", NODE_IFACE, netns=ns)
    ip("link", "set", NODE_IFACE, "up", netns=ns)


def set_link(layout: Layout, node: str, up: bool) -> None:
    """Plug (up) or pull (down) the node's cable at the switch."""
    ip("link", "set", layout.switch_port(node), "up" if up else "down", netns=layout.switch_netns)


def link_is_up(layout: Layout, node: str) -> bool:
    out = ip("-o", "link", "show", layout.switch_port(node), netns=layout.switch_netns, check=False).stdout
    return ",UP" in out or "<UP" in out


def delete_netns(name: str) -> None:
    if netns_exists(name):
        ip("netns", "delete", name, check=False)
