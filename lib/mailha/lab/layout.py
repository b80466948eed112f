"""Names, paths and addresses of one lab: the single place they are decided."""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Prefix of every network namespace the lab creates; nothing else is touched.
NETNS_PREFIX = "mhlab-"
SUBNET_PREFIX = "192.168.77"
PREFIX_LEN = 24
NODE_IFACE = "eth0"
FENCE_AGENT_PATH = "/usr/sbin/fence_mailha_lab"
DEFAULT_ROOT = "/var/lib/mailha-lab"


def lab_root() -> str:
    """Directory holding the lab's state, node dirs and shared image."""
    return os.environ.get("MAILHA_LAB_ROOT", DEFAULT_ROOT)


@dataclass(frozen=True)
class Layout:
    root: str
    nodes: int = 3

    @property
    def state_file(self) -> str:
        return os.path.join(self.root, "state.json")

    @property
    def lock_file(self) -> str:
        return os.path.join(self.root, "state.lock")

    @property
    def power_dir(self) -> str:
        return os.path.join(self.root, "power")

    @property
    def power_socket(self) -> str:
        return os.path.join(self.power_dir, "power.sock")

    @property
    def labd_log(self) -> str:
        return os.path.join(self.root, "labd.log")

    @property
    def image(self) -> str:
        return os.path.join(self.root, "shared.img")

    @property
    def shared_mountpoint(self) -> str:
        """Where Filesystem mounts the shared image inside a node."""
        return os.path.join(self.root, "shared")

    @property
    def authkey(self) -> str:
        return os.path.join(self.root, "authkey")

    @property
    def switch_netns(self) -> str:
        return NETNS_PREFIX + "sw"

    @property
    def client_netns(self) -> str:
        return NETNS_PREFIX + "client"

    @property
    def client_address(self) -> str:
        return f"{SUBNET_PREFIX}.100"

    @property
    def vip(self) -> str:
        return f"{SUBNET_PREFIX}.50"

    def node_names(self) -> list[str]:
        return [f"node{i}" for i in range(1, self.nodes + 1)]

    def node_dir(self, node: str) -> str:
        return os.path.join(self.root, "nodes", node)

    def node_netns(self, node: str) -> str:
        return NETNS_PREFIX + node

    def node_address(self, node: str) -> str:
        return f"{SUBNET_PREFIX}.{10 + node_index(node)}"

    def switch_port(self, node: str) -> str:
        """The switch-side end of the node's cable (veth peer)."""
        return f"p-{node}"

    def all_netns(self) -> list[str]:
        return [self.switch_netns, self.client_netns] + [self.node_netns(n) for n in self.node_names()]


def node_index(node: str) -> int:
    if not node.startswith("node") or not node[4:].isdigit():
        raise ValueError(f"not a lab node name: {node!r}")
    return int(node[4:])


#: Per-node private directories: mount point in the node -> name of the backing dir.
PRIVATE_DIRS = {
    "/etc/corosync": "etc-corosync",
    "/var/lib/pacemaker": "var-lib-pacemaker",
    "/var/lib/corosync": "var-lib-corosync",
    "/var/log/pacemaker": "var-log-pacemaker",
    "/var/log/cluster": "var-log-cluster",
}
