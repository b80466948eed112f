"""The GroupWise topology the lab runs (seed 000): a GWIA partition and a post office partition.

- `gwia-grp` = IPaddr2 (GWIA secondary IP) + Filesystem (gwia.img) + `ocf:mailha:gwia` (MTA, then GWIA);
- `po-grp`   = IPaddr2 (POA secondary IP)  + Filesystem (gwpo.img) + `ocf:mailha:gwpoa`;
- a failover list per group ("Preferred Nodes"): location scores in list order;
- a real Postfix on every node, on port 25 of the node's primary address only.

The GroupWise agents are the emulator (`mailha.sim`), installed on every node. Each partition is
its own loop image, as a real site has one LUN per partition.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass

from mailha.lab import cluster, images, nodecmd, postfix, state
from mailha.lab.layout import NODE_IFACE, PREFIX_LEN, SUBNET_PREFIX, Layout
from mailha.lab.preflight import LabError
from mailha.lab.services import primitive_xml

GWIA_GROUP, POA_GROUP = "gwia-grp", "po-grp"
GWIA_IP_RSC, GWIA_FS_RSC, GWIA_RSC = "gwia-ip", "gwia-fs", "gwia"
POA_IP_RSC, POA_FS_RSC, POA_RSC = "po-ip", "po-fs", "po"
GROUPS = (GWIA_GROUP, POA_GROUP)
DOMAIN, POST_OFFICE = "gwdom", "po1"
MTA_BINARY = "/opt/novell/groupwise/agents/bin/gwmta"
GWIA_BINARY = "/opt/novell/groupwise/agents/bin/gwia"
POA_BINARY = "/opt/novell/groupwise/agents/bin/gwpoa"
#: What `mailha sim install` creates on a node; `down` removes those the lab created.
EMULATOR_PATHS = ("/opt/novell", "/etc/opt/novell", "/etc/init.d/grpwise", "/var/log/novell")
#: Failover lists (seed 000 "Preferred Nodes"), most preferred first.
FAILOVER = {GWIA_GROUP: ("node1", "node2", "node3"), POA_GROUP: ("node2", "node3", "node1")}


@dataclass(frozen=True)
class GroupWise:
    """Where the deployed GroupWise topology lives and answers."""
    gwia_ip: str
    poa_ip: str
    gwia_mount: str
    poa_mount: str
    domain_dir: str
    mta_startup: str
    gwia_home: str
    gwia_startup: str
    po_dir: str
    poa_startup: str


def gwia_ip(layout: Layout) -> str:
    return f"{SUBNET_PREFIX}.60"


def poa_ip(layout: Layout) -> str:
    return f"{SUBNET_PREFIX}.61"


def topology(layout: Layout) -> GroupWise:
    return topology_at(gwia_ip(layout), poa_ip(layout), os.path.join(layout.root, "gwia"),
                       os.path.join(layout.root, "gwpo"))


def topology_at(gwia_address: str, poa_address: str, gwia_mount: str, poa_mount: str) -> GroupWise:
    """Where domain gwdom (its MTA and GWIA) and post office po1 live with the partitions
    mounted at *gwia_mount* and *poa_mount*: what `mailha sim layout` writes there."""
    domain_dir = os.path.join(gwia_mount, DOMAIN)
    gwia_home = os.path.join(domain_dir, "wpgate", "gwia")
    po_dir = os.path.join(poa_mount, POST_OFFICE)
    return GroupWise(gwia_address, poa_address, gwia_mount, poa_mount, domain_dir,
                     os.path.join(domain_dir, f"{DOMAIN}.mta"), gwia_home, os.path.join(gwia_home, "gwia.cfg"),
                     po_dir, os.path.join(po_dir, f"{POST_OFFICE}.poa"))


def _record_file(layout: Layout) -> str:
    return os.path.join(layout.root, "groupwise.json")


def deployed(layout: Layout) -> GroupWise | None:
    try:
        with open(_record_file(layout), encoding="utf-8") as f:
            return GroupWise(**json.load(f))
    except FileNotFoundError:
        return None


# ----------------------------------------------------------------- node software and storage

def install_emulator(layout: Layout) -> None:
    """`mailha sim install` on every powered-on node, one command per node.

    The nodes share the host's /opt and /etc, so the first install writes the files and the
    others find them in place; the paths the lab created are recorded for `down`."""
    with state.locked(layout) as st:
        created = st.setdefault("gw_emulator_paths", [])
        for path in EMULATOR_PATHS:
            if not os.path.lexists(path) and path not in created:
                created.append(path)
    for node in cluster.powered_on_nodes(layout):
        out = nodecmd.run(layout, node, ["/usr/bin/python3", "-m", "mailha.sim", "install", "--root", "/"],
                          timeout=60)
        if out.returncode != 0:
            raise LabError(f"installing the GroupWise emulator on {node} failed: {out.stderr.strip()}")


def remove_emulator(st: dict) -> None:
    for path in st.get("gw_emulator_paths") or []:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)


def _lay_out(layout: Layout, gw: GroupWise, loops: dict[str, str]) -> None:
    """Mount each image on the host briefly and write the GroupWise layout with `mailha sim layout`.

    Done before the cluster owns the images (no resource refers to them yet), in a private
    mount namespace so nothing leaks into the host's mount table."""
    script = (
        "set -e; "
        f"mount {loops['gwia']} {gw.gwia_mount}; "
        f"[ -e {gw.gwia_startup} ] || /usr/bin/python3 -m mailha.sim layout --base {gw.gwia_mount} "
        f"--domain {DOMAIN} --ip {gw.gwia_ip} >/dev/null; umount {gw.gwia_mount}; "
        f"mount {loops['gwpo']} {gw.poa_mount}; "
        f"[ -e {gw.poa_startup} ] || /usr/bin/python3 -c 'from mailha.sim.layout import create_post_office; "
        f"create_post_office(\"{gw.poa_mount}\", \"{POST_OFFICE}\", \"{DOMAIN}\", ip=\"{gw.poa_ip}\")'; "
        f"umount {gw.poa_mount}"
    )
    out = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         check=False, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise LabError(f"laying out GroupWise on the partitions failed: {out.stderr.strip()[-1000:]}")


# ----------------------------------------------------------------- cluster configuration

def _group_xml(group: str, members: list[str]) -> str:
    # Created stopped: the location constraints can only refer to existing resources, and the
    # groups must not start before those say where.
    meta = (f'<meta_attributes id="{group}-meta">'
            f'<nvpair id="{group}-meta-target-role" name="target-role" value="Stopped"/></meta_attributes>')
    return f'<group id="{group}">{meta}{"".join(members)}</group>'


def resources_xml(layout: Layout, gw: GroupWise, loops: dict[str, str]) -> list[str]:
    ipaddr = "ocf:heartbeat:IPaddr2"
    fs = "ocf:heartbeat:Filesystem"
    gwia = _group_xml(GWIA_GROUP, [
        primitive_xml(GWIA_IP_RSC, ipaddr, {"ip": gw.gwia_ip, "cidr_netmask": str(PREFIX_LEN), "nic": NODE_IFACE}),
        primitive_xml(GWIA_FS_RSC, fs, {"device": loops["gwia"], "directory": gw.gwia_mount, "fstype": "ext4"},
                      monitor="20s"),
        primitive_xml(GWIA_RSC, "ocf:mailha:gwia",
                      {"domain_dir": gw.domain_dir, "storage_mount": gw.gwia_mount, "ip_address": gw.gwia_ip},
                      monitor="10s", timeouts={"start": "90s", "stop": "120s", "monitor": "20s"}),
    ])
    poa = _group_xml(POA_GROUP, [
        primitive_xml(POA_IP_RSC, ipaddr, {"ip": gw.poa_ip, "cidr_netmask": str(PREFIX_LEN), "nic": NODE_IFACE}),
        primitive_xml(POA_FS_RSC, fs, {"device": loops["gwpo"], "directory": gw.poa_mount, "fstype": "ext4"},
                      monitor="20s"),
        primitive_xml(POA_RSC, "ocf:mailha:gwpoa",
                      {"post_office_dir": gw.po_dir, "domain": DOMAIN, "storage_mount": gw.poa_mount,
                       "ip_address": gw.poa_ip},
                      monitor="10s", timeouts={"start": "90s", "stop": "120s", "monitor": "20s"}),
    ])
    return [gwia, poa]


def constraints_xml(layout: Layout) -> list[str]:
    """Location scores in failover-list order, below the group's stickiness (3 x 100): a group
    that failed over stays where it is when its preferred node comes back (seed 000 default)."""
    rules = []
    for group, nodes in FAILOVER.items():
        for rank, node in enumerate(n for n in nodes if n in layout.node_names()):
            score = 200 // (2 ** rank)
            rules.append(f'<rsc_location id="loc-{group}-{node}" rsc="{group}" node="{node}" score="{score}"/>')
    return rules


def wait_groups(layout: Layout, timeout: float = 180) -> dict[str, str]:
    def placed():
        st = cluster.try_status(layout)
        if not st:
            return None
        where = {g: st.group_node(g) for g in GROUPS}
        return where if all(where.values()) else None
    return cluster.wait_for("the GroupWise groups started", placed, timeout)  # type: ignore[return-value]


def deploy(layout: Layout, timeout: float = 180) -> GroupWise:
    """Emulator on every node, Postfix on every node, both partitions, both groups; idempotent."""
    gw = topology(layout)
    nodes = cluster.powered_on_nodes(layout)
    if not nodes:
        raise LabError("no lab node is powered on")
    install_emulator(layout)
    postfix.ensure(layout, nodes)
    current = cluster.status(layout)
    if all(g in current.groups for g in GROUPS):
        wait_groups(layout, timeout)
        return gw
    loops = {"gwia": images.make(layout, "gwia", gw.gwia_mount),
             "gwpo": images.make(layout, "gwpo", gw.poa_mount)}
    _lay_out(layout, gw, loops)
    on = nodes[0]
    for group in resources_xml(layout, gw, loops):
        cluster.cibadmin(layout, on, "--create", "-o", "resources", xml=group)
    for rule in constraints_xml(layout):
        cluster.cibadmin(layout, on, "--create", "-o", "constraints", xml=rule)
    for group in GROUPS:
        out = nodecmd.run(layout, on, ["crm_resource", "--resource", group, "--meta",
                                       "--delete-parameter", "target-role"])
        if out.returncode != 0:
            raise LabError(f"starting {group} failed: {out.stderr.strip()}")
    with open(_record_file(layout), "w", encoding="utf-8") as f:
        json.dump(asdict(gw), f)
    wait_groups(layout, timeout)
    return gw


# ----------------------------------------------------------------- inside a node
# Both labs: *run(node, argv)* runs a command on a node, however the lab reaches it.

def agent_pid(run: nodecmd.NodeRunner, node: str, binary: str, startup: str) -> int | None:
    """PID (as the node sees it) of the agent running `binary @startup` on node.

    Found inside the node by the library's matching (:mod:`mailha.proc`, as the resource agents
    find their processes), so the lab and the agent agree on which process is the agent."""
    code = ("from mailha.proc import ProcessMatch, find\n"
            f"match = ProcessMatch(exe_names=({binary!r},), args=(('@', {startup!r}),))\n"
            "print(*[p.pid for p in find(match, every=True)])\n")
    out = run(node, ["/usr/bin/python3", "-c", code])
    pids = [int(p) for p in out.stdout.split()]
    return pids[0] if len(pids) == 1 else None


def received_message_ids(run: nodecmd.NodeRunner, node: str, gw: GroupWise) -> list[str]:
    """Message-IDs of every message in the GWIA's receive queue, read on the node that mounts it."""
    code = ("import email, os, sys\n"
            f"d = os.path.join({gw.gwia_home!r}, 'receive')\n"
            "for n in sorted(os.listdir(d)):\n"
            "    if not n.endswith('.eml'): continue\n"
            "    with open(os.path.join(d, n), 'rb') as f: m = email.message_from_binary_file(f)\n"
            "    print(m.get('Message-ID', ''))\n")
    out = run(node, ["/usr/bin/python3", "-c", code])
    if out.returncode != 0:
        raise LabError(f"reading the GWIA queue on {node} failed: {out.stderr.strip()[-500:]}")
    return out.stdout.split()
