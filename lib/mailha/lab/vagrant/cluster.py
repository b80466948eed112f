"""The cluster on the VMs, made as an admin makes one: pcs host auth, pcs cluster setup, fencing
by fence_xvm, and the topologies of crm-templates/ run line by line with pcs."""

from __future__ import annotations

import base64
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from mailha import templates
from mailha.lab import crmmon
from mailha.lab.cluster import recovery_commands, status_from, wait_for
from mailha.lab.preflight import LabError
from mailha.lab.services import GROUP, LDAP_PORT, SUFFIX, Directory
from mailha.lab.vagrant import nodes
from mailha.lab.vagrant.layout import CLUSTER_NAME, DIRECTORY_VIP, FENCE_KEY_ON_NODE, FENCE_MULTICAST, IFACES, SHARED_DISK, VLab

FENCE_DEVICE = "fence-xvm"
DIRECTORY_MOUNT = "/srv/dir"
DIRECTORY_INSTANCE = "dir"
#: The directory admin's password on the nodes (read by the instance builder, never on a command line)
NODE_PASSWORD_FILE = "/root/dir-admin.pw"
COROSYNC_CONF = "/etc/corosync/corosync.conf"
COROSYNC_AUTHKEY = "/etc/corosync/authkey"
PACEMAKER_AUTHKEY = "/etc/pacemaker/authkey"
#: Seconds pcs waits for a pcsd answer (its default 60 s is too short for these VMs)
PCSD_REQUEST_TIMEOUT = 300


def _pcs(vlab: VLab, node: str, argv: list[str], what: str, timeout: float = 300, **kwargs) -> str:
    return nodes.check(vlab, node, ["pcs", *argv], what, timeout=timeout, **kwargs)


def status(vlab: VLab, node: str | None = None) -> crmmon.ClusterStatus:
    """crm_mon as seen from node, or from the first powered-on node whose cluster answers."""
    return status_from(lambda name, argv: nodes.run(vlab, name, argv, timeout=30),
                       [node] if node else nodes.powered_on(vlab))


def try_status(vlab: VLab, node: str | None = None) -> crmmon.ClusterStatus | None:
    try:
        return status(vlab, node)
    except LabError:
        return None


def all_online(vlab: VLab, st: crmmon.ClusterStatus | None) -> bool:
    return bool(st and st.have_quorum and st.dc and st.online_nodes() == vlab.node_names()
                and st.running_on(FENCE_DEVICE))


def wait_ready(vlab: VLab, timeout: float = 600) -> crmmon.ClusterStatus:
    """Every node online, quorum, a DC, and the fence device started."""
    def ready():
        st = try_status(vlab)
        return st if all_online(vlab, st) else None
    return wait_for("every VM online in the cluster, with quorum and fencing", ready, timeout, interval=2)  # type: ignore[return-value]


def setup(vlab: VLab, password_file: str) -> None:
    """pcs host auth, pcs cluster setup (the measured token), started and enabled on boot (a
    fenced node comes back into the cluster), fencing on with fence_xvm, stickiness."""
    first = vlab.node_names()[0]
    hosts = [arg for n in vlab.node_names() for arg in (n, f"addr={vlab.address('cluster', n)}")]
    with open(password_file, encoding="ascii") as f:
        password = f.read().strip()
    # pcs reads the password from stdin when it has no terminal: it stays off every command line.
    # pcsd answers slowly on software-emulated VMs: each request may take PCSD_REQUEST_TIMEOUT.
    _pcs(vlab, first, ["host", "auth", *hosts, "-u", "hacluster", f"--request-timeout={PCSD_REQUEST_TIMEOUT}"],
         "pcs host auth", input=password + "\n", timeout=PCSD_REQUEST_TIMEOUT + 60)
    # pcs's local only mode: it writes corosync.conf and asks no pcsd.  Its default mode first
    # has every node's pcsd destroy an old cluster, each request capped at 60 s with no option to
    # lengthen it for this command; on these VMs that ran out in 2 runs of 3.  The lab then does
    # what pcs's help says that mode skips: the same corosync.conf and keys on every node (the
    # provisioning already destroyed Debian's example cluster).
    _pcs(vlab, first, ["cluster", "setup", CLUSTER_NAME, *hosts, "totem", f"token={vlab.token_ms}",
                       "--corosync_conf", COROSYNC_CONF], "pcs cluster setup")
    corosync_conf = nodes.check(vlab, first, ["cat", COROSYNC_CONF], "reading corosync.conf").encode()
    files = [(COROSYNC_CONF, corosync_conf, "root:root", "644"),
             # corosync-keygen's default: 256 random bytes, root's alone
             (COROSYNC_AUTHKEY, secrets.token_bytes(256), "root:root", "400"),
             # as pcs writes it: pacemaker_remote connections authenticate with it
             (PACEMAKER_AUTHKEY, secrets.token_bytes(256), "hacluster:haclient", "400")]
    for node in vlab.node_names():
        for path, data, owner, mode in files:
            install_file(vlab, node, path, data, owner, mode)

    def start(node: str) -> None:
        _pcs(vlab, node, ["cluster", "enable"], "pcs cluster enable")
        _pcs(vlab, node, ["cluster", "start"], "pcs cluster start")

    # Every node at once: pcs alone takes seconds to start on these VMs.
    with ThreadPoolExecutor(max_workers=vlab.nodes) as pool:
        list(pool.map(start, vlab.node_names()))
    wait_for("a DC (the cluster's configuration answers)", lambda: getattr(try_status(vlab), "dc", None), 600,
             interval=2)
    host_map = ";".join(f"{n}:{vlab.domain(n)}" for n in vlab.node_names())
    _pcs(vlab, first, ["resource", "defaults", "update", "resource-stickiness=100"], "setting stickiness")
    _pcs(vlab, first, ["stonith", "create", FENCE_DEVICE, "fence_xvm", f"pcmk_host_map={host_map}",
                       f"key_file={FENCE_KEY_ON_NODE}", f"multicast_address={FENCE_MULTICAST}",
                       "op", "monitor", "interval=60s"], "creating the fence device")
    _pcs(vlab, first, ["property", "set", "stonith-enabled=true", "stonith-timeout=120s"], "enabling fencing")
    wait_ready(vlab)


def install_file(vlab: VLab, node: str, path: str, data: bytes, owner: str, mode: str) -> None:
    """*data* into *path* on *node*, owned and moded before it is renamed into place (a key is
    never readable by others, even for a moment).  base64 over ssh: the input is text."""
    script = (f"mkdir -p {os.path.dirname(path)} && umask 077 && base64 -d > {path}.new && chown {owner} {path}.new && chmod {mode} {path}.new"
              f" && mv {path}.new {path}")
    nodes.check(vlab, node, ["sh", "-c", script], f"installing {path}", input=base64.b64encode(data).decode())


# ----------------------------------------------------------------- topologies from the templates

def template(vlab: VLab, name: str) -> str:
    path = os.path.join(os.path.dirname(os.path.abspath(vlab.vagrant_dir)), "crm-templates", name)
    with open(path, encoding="utf-8") as f:
        return f.read()


def directory_values() -> dict[str, str]:
    return {"VIP": DIRECTORY_VIP, "CIDR": "24", "DEVICE": SHARED_DISK, "MOUNT": DIRECTORY_MOUNT,
            "INSTANCE": DIRECTORY_INSTANCE}


def wait_group(vlab: VLab, group: str, members: int, timeout: float) -> str:
    def placed():
        st = try_status(vlab)
        return st.group_node(group) if st and len(st.groups.get(group, [])) == members else None
    return wait_for(f"group {group} started", placed, timeout, interval=2)  # type: ignore[return-value]


def deploy_directory(vlab: VLab, host_password_file: str, timeout: float = 900) -> Directory:
    """crm-templates/directory.pcs on the cluster, with 389-ds on the shared disk.

    The template's storage lines run first; the instance is then made on the node that mounted
    the disk (what an admin does before the server's resource exists), then the server's line.
    Idempotent: a running group is reused."""
    commands = templates.pcs_commands(templates.fill(template(vlab, "directory.pcs"), directory_values()))
    storage, server = commands[:-1], commands[-1]
    first = nodes.powered_on(vlab)[0]
    st = status(vlab)
    pidfile = f"{DIRECTORY_MOUNT}/run/dirsrv/slapd-{DIRECTORY_INSTANCE}.pid"
    directory = Directory("389ds", DIRECTORY_VIP, LDAP_PORT, "cn=Directory Manager", host_password_file, pidfile,
                          SUFFIX)
    if len(st.groups.get(GROUP, [])) == len(commands):
        wait_group(vlab, GROUP, len(commands), timeout)
        return directory
    if GROUP in st.groups:
        raise LabError(f"group {GROUP} exists with other members than the template's: delete it first")
    for argv in storage:
        _pcs(vlab, first, argv[1:], f"{' '.join(argv[:4])}")
    active = wait_group(vlab, GROUP, len(storage), timeout)
    with open(host_password_file, encoding="ascii") as f:
        nodes.check(vlab, active, ["sh", "-c", f"umask 077; cat > {NODE_PASSWORD_FILE}"], "writing the password",
                    input=f.read())
    code = ("import os\n"
            f"if not os.path.exists({DIRECTORY_MOUNT + '/etc/dirsrv/slapd-' + DIRECTORY_INSTANCE + '/dse.ldif'!r}):\n"
            "    from mailha.tools.dsinstance import create_389ds\n"
            f"    create_389ds({DIRECTORY_INSTANCE!r}, {LDAP_PORT}, root={DIRECTORY_MOUNT!r}, suffix={SUFFIX!r},"
            f" password_file={NODE_PASSWORD_FILE!r}, listen_host={DIRECTORY_VIP!r})\n")
    nodes.check(vlab, active, ["python3", "-c", code], "creating the 389-ds instance", timeout=timeout)
    _pcs(vlab, first, server[1:], f"{' '.join(server[:4])}")
    wait_group(vlab, GROUP, len(commands), timeout)
    return directory


def write_password(path: str) -> str:
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_urlsafe(18))
    return path


# ----------------------------------------------------------------- faults

def partition(vlab: VLab, node: str) -> None:
    """Cables out: the node drops everything on the cluster and client networks (ssh stays)."""
    rules = [f"iptables -I {chain} -{flag} {iface} -j DROP" for iface in IFACES.values()
             for chain, flag in (("INPUT", "i"), ("OUTPUT", "o"))]
    nodes.check(vlab, node, ["sh", "-c", " && ".join(rules)], "pulling the cables")


def heal(vlab: VLab) -> None:
    rules = [f"while iptables -D {chain} -{flag} {iface} -j DROP 2>/dev/null; do :; done"
             for iface in IFACES.values() for chain, flag in (("INPUT", "i"), ("OUTPUT", "o"))]
    for node in nodes.powered_on(vlab):
        try:
            nodes.run(vlab, node, ["sh", "-c", "; ".join(rules)])
        except LabError:
            continue   # just fenced: a rebooted node has no rules


def restore(vlab: VLab, groups: tuple[str, ...] = (GROUP,), timeout: float = 900) -> None:
    """Back to health: cables in, every VM on and online, no move constraint, no failures, an
    empty fencing history, the groups running."""
    heal(vlab)
    for node in vlab.node_names():
        if nodes.power_state(vlab, node) == "off":
            nodes.power_on(vlab, node)
    wait_ready(vlab, timeout)
    first = nodes.powered_on(vlab)[0]
    for argv in recovery_commands(groups, timeout):
        nodes.run(vlab, first, argv, timeout=timeout + 10)

    def clean():
        st = try_status(vlab)
        return st and not st.failures and not st.fence_events and all(
            g not in st.groups or st.group_node(g) for g in groups)
    wait_for("a clean cluster (and its groups running)", clean, timeout, interval=2)


def start_times(vlab: VLab, node: str, viewer: str) -> dict[str, float]:
    """Seconds each resource's last start took on *node* (the executor's exec-time, from
    crm_mon's operation history as *viewer* sees it): where a failover's time goes."""
    import xml.etree.ElementTree as ET
    out = nodes.run(vlab, viewer, ["crm_mon", "--output-as=xml", "--include=operations"], timeout=60)
    times = {}
    for rh in ET.fromstring(out.stdout).iterfind(f"./node_history/node[@name='{node}']/resource_history"):
        for op in rh.iterfind("./operation_history[@task='start']"):
            times[rh.get("id")] = int(op.get("exec-time", "0").rstrip("ms") or 0) / 1000
    return times


def membership_report(vlab: VLab) -> dict[str, dict[str, int]]:
    """What corosync logged on each powered-on node since its boot: the longest wait for the
    token it warned about ("Token has not been received in N ms", logged from 75 % of the token
    timeout) and how many memberships it formed.  Slowness alone shows as warnings with no
    membership change; a token too short for these VMs shows as memberships without a fault."""
    import re
    report = {}
    for node in nodes.powered_on(vlab):
        try:
            log = nodes.run(vlab, node, ["journalctl", "-b", "-u", "corosync", "--no-pager", "-o", "cat"],
                            timeout=60).stdout
        except LabError:
            continue
        waits = [int(m) for m in re.findall(r"Token has not been received in (\d+) ms", log)]
        report[node] = {"token_warnings": len(waits), "longest_wait_ms": max(waits, default=0),
                        "memberships": len(re.findall(r"A new membership \(", log))}
    return report
