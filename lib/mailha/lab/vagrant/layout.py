"""Names, addresses and paths of the Vagrant lab: one place, shared with vagrant/Vagrantfile."""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Prefix of everything the lab makes in libvirt (domains, networks, pool): how down finds it.
PREFIX = "mailha-vlab"
RUN_DIR = "/var/tmp/mailha-vlab"
#: The one thing that outlives a tear-down: the built box and Vagrant's copy of it.
CACHE_DIR = "/var/cache/mailha-vagrant"
LIBVIRT_URI = "qemu:///system"
CLUSTER_NAME = "mailha-vlab"
#: network -> (first three octets, bridge); the host is .1 on each, node i is .(10+i)
NETWORKS = {
    "mgmt": ("10.231.0", "mhvl-mg"),      # Vagrant's ssh; DHCP with a fixed lease per node
    "cluster": ("10.232.0", "mhvl-cl"),   # corosync, pcsd, fence_xvm
    "client": ("10.233.0", "mhvl-cli"),   # the virtual IPs; the host is the client
}
#: Where the nodes see those networks (eth0 is the management network)
IFACES = {"cluster": "eth1", "client": "eth2"}
#: The virtual IPs of the topologies, on the client network
DIRECTORY_VIP = "10.233.0.100"
GWIA_VIP = "10.233.0.101"
PO_VIP = "10.233.0.102"
MESSAGING_VIP = "10.233.0.103"
#: The shared disks, one per partition as a site has one LUN each: partition -> (volume in the
#: lab's pool, the device every node sees).  vagrant/Vagrantfile attaches them in this order.
SHARED_DISKS = {
    "directory": ("shared.raw", "/dev/vdb"),
    "gwia": ("shared-gwia.raw", "/dev/vdc"),
    "gwpo": ("shared-gwpo.raw", "/dev/vdd"),
    "msg": ("shared-msg.raw", "/dev/vde"),
}
SHARED_SIZE = 512 * 1024 * 1024   # sparse: what the file systems use is what the host stores
FENCE_KEY_ON_NODE = "/etc/cluster/fence_xvm.key"
FENCE_MULTICAST = "225.0.0.12"
#: Each VM's guest memory (MiB) and virtual CPUs.  1 GiB left 180 MB free on the node running
#: the Messaging Server group; one vCPU was 75 % busy there with the monitors alone.
GUEST_MEMORY_MIB, GUEST_CPUS = 1536, 2
#: Host memory a software-emulated node takes: the guest's plus QEMU's 1 GiB translation cache
#: (a 1 GiB guest measured 2.0-2.1 GB).  With less available than three, the lab has two nodes.
HOST_MEMORY_PER_NODE = GUEST_MEMORY_MIB * 1024 ** 2 + 1024 ** 3


@dataclass(frozen=True)
class VLab:
    nodes: int = 3
    run_dir: str = RUN_DIR
    cache_dir: str = CACHE_DIR
    vagrant_dir: str = ""          # the source tree's vagrant/ (Vagrantfile, build-box)
    token_ms: int = 5000

    def node_names(self) -> list[str]:
        return [f"node{i}" for i in range(1, self.nodes + 1)]

    @staticmethod
    def index(node: str) -> int:
        return int(node[len("node"):])

    def address(self, network: str, node: str) -> str:
        return f"{NETWORKS[network][0]}.{10 + self.index(node)}"

    @staticmethod
    def host_address(network: str) -> str:
        return f"{NETWORKS[network][0]}.1"

    @staticmethod
    def domain(node: str) -> str:
        """The libvirt domain Vagrant makes for node (the Vagrantfile's default_prefix)."""
        return f"{PREFIX}_{node}"

    @staticmethod
    def mac(node: str) -> str:
        return "52:54:00:4d:48:%02x" % VLab.index(node)

    def path(self, *parts: str) -> str:
        return os.path.join(self.run_dir, *parts)

    @property
    def state_file(self) -> str:
        return self.path("state.json")

    @property
    def ssh_config(self) -> str:
        return self.path("ssh_config")

    @property
    def pool_dir(self) -> str:
        return self.path("pool")

    @property
    def logs(self) -> str:
        """Serial consoles and tool logs; kept after a tear-down, replaced by the next up."""
        return self.path("logs")

    @property
    def vagrant_home(self) -> str:
        # Not under /root (0700): libvirt's qemu user reads the box's kernel and initrd there.
        return os.path.join(self.cache_dir, "vagrant.d")

    def vagrant_env(self, box: str = "") -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAGRANT_", "MAILHA_VLAB_"))}
        env.update(VAGRANT_HOME=self.vagrant_home, VAGRANT_CHECKPOINT_DISABLE="1",
                   VAGRANT_DEFAULT_PROVIDER="libvirt", VAGRANT_DOTFILE_PATH=self.path("vagrant-machines"),
                   MAILHA_VLAB_NODES=str(self.nodes), MAILHA_VLAB_RUN=self.run_dir,
                   MAILHA_VLAB_MEMORY=str(GUEST_MEMORY_MIB), MAILHA_VLAB_CPUS=str(GUEST_CPUS), LC_ALL="C")
        if box:
            env["MAILHA_VLAB_BOX"] = box
        return env
