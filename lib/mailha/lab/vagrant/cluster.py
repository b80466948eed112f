"""The cluster on the VMs, made as an admin makes one: pcs host auth, pcs cluster setup, fencing
by fence_xvm, and the topologies of crm-templates/ run line by line with pcs."""

from __future__ import annotations

import base64
import os
import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Callable

from mailha import templates
from mailha.lab import crmmon
from mailha.lab import gwservices as gws
from mailha.lab import msgservices as mss
from mailha.lab.cluster import recovery_commands, status_from, wait_for
from mailha.lab.preflight import LabError
from mailha.lab.services import GROUP, LDAP_PORT, SUFFIX, Directory
from mailha.lab.vagrant import nodes
from mailha.lab.vagrant.layout import (CLUSTER_NAME, DIRECTORY_VIP, FENCE_KEY_ON_NODE, FENCE_MULTICAST, GWIA_VIP, IFACES,
                                         MESSAGING_VIP, PO_VIP, SHARED_DISKS, VLab)
from mailha.tools.dsinstance import add_test_user

FENCE_DEVICE = "fence-xvm"
DIRECTORY_MOUNT = "/srv/dir"
GWIA_MOUNT = "/srv/gwia"
PO_MOUNT = "/srv/gwpo"
MESSAGING_MOUNT = "/srv/msg"
DIRECTORY_INSTANCE = "dir"
MESSAGING_INSTANCE = "msg"
#: The directory admin's password on the nodes (read by the instance builder, never on a command line)
NODE_PASSWORD_FILE = "/root/dir-admin.pw"
#: The Administration Server's administrator password, read once by the emulator's layout
NODE_ADMIN_PASSWORD_FILE = "/root/msg-admin.pw"
#: The Messaging Server's runtime user (ocf:mailha:msgsrv's default user and group), made on
#: every node with one uid, as the agent asks
MSG_USER, MSG_GROUP, MSG_UID = "mailsrv", "mail", 2200
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
    for _, step in setup_steps(vlab, password_file):
        step()


def setup_steps(vlab: VLab, password_file: str) -> list[tuple[str, Callable[[], None]]]:
    """The steps of :func:`setup` by name, in order (the lab times each)."""
    return [("host_auth", lambda: host_auth(vlab, password_file)), ("corosync", lambda: write_corosync(vlab)),
            ("start", lambda: start_cluster(vlab)), ("fencing", lambda: enable_fencing(vlab))]


def host_auth(vlab: VLab, password_file: str) -> None:
    with open(password_file, encoding="ascii") as f:
        password = f.read().strip()
    # pcs reads the password from stdin when it has no terminal: it stays off every command line.
    # pcsd answers slowly on software-emulated VMs: each request may take PCSD_REQUEST_TIMEOUT.
    _pcs(vlab, vlab.node_names()[0], ["host", "auth", *_hosts(vlab), "-u", "hacluster",
                                      f"--request-timeout={PCSD_REQUEST_TIMEOUT}"],
         "pcs host auth", input=password + "\n", timeout=PCSD_REQUEST_TIMEOUT + 60)


def _hosts(vlab: VLab) -> list[str]:
    return [arg for n in vlab.node_names() for arg in (n, f"addr={vlab.address('cluster', n)}")]


def write_corosync(vlab: VLab) -> None:
    """pcs's local only mode (--corosync_conf): it writes corosync.conf and asks no pcsd.  Its
    default mode first has every node's pcsd destroy an old cluster, each request capped at 60 s
    with no option to lengthen it for this command; on these VMs that ran out in 2 runs of 3.
    The lab then does what pcs's help says that mode skips: the same corosync.conf and keys on
    every node (the box has no example cluster, vagrant/build-box)."""
    first = vlab.node_names()[0]
    _pcs(vlab, first, ["cluster", "setup", CLUSTER_NAME, *_hosts(vlab), "totem", f"token={vlab.token_ms}",
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


def start_cluster(vlab: VLab) -> None:
    """pcs cluster enable and start on every node at once (pcs alone takes seconds to start on
    these VMs), until the cluster has a DC."""
    def enable_and_start(node: str) -> None:
        _pcs(vlab, node, ["cluster", "enable"], "pcs cluster enable")
        _pcs(vlab, node, ["cluster", "start"], "pcs cluster start")

    with ThreadPoolExecutor(max_workers=vlab.nodes) as pool:
        list(pool.map(enable_and_start, vlab.node_names()))
    wait_for("a DC (the cluster's configuration answers)", lambda: getattr(try_status(vlab), "dc", None), 600,
             interval=2)


def enable_fencing(vlab: VLab) -> None:
    """Stickiness, fence_xvm (node -> domain), fencing on; until every node is online with it."""
    first = vlab.node_names()[0]
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
    return {"VIP": DIRECTORY_VIP, "CIDR": "24", "DEVICE": SHARED_DISKS["directory"][1], "MOUNT": DIRECTORY_MOUNT,
            "INSTANCE": DIRECTORY_INSTANCE}


def groupwise_values(vlab: VLab) -> dict[str, str]:
    names = vlab.node_names()
    return {"GWIA_IP": GWIA_VIP, "GWIA_DEV": SHARED_DISKS["gwia"][1], "GWIA_MNT": GWIA_MOUNT,
            "DOMAIN": gws.DOMAIN, "PO_IP": PO_VIP, "PO_DEV": SHARED_DISKS["gwpo"][1], "PO_MNT": PO_MOUNT,
            "PO": gws.POST_OFFICE, **{f"NODE{i}": n for i, n in enumerate(names, 1)}}


def wait_groups(vlab: VLab, members: dict[str, int], timeout: float) -> dict[str, str]:
    """The node each group runs on, once it has started *members[group]* members there."""
    def placed():
        st = try_status(vlab)
        if not st:
            return None
        where = {g: st.group_node(g) for g, n in members.items() if len(st.groups.get(g, [])) == n}
        return where if len(where) == len(members) and all(where.values()) else None
    return wait_for(f"{', '.join(members)} started", placed, timeout, interval=2)  # type: ignore[return-value]


def deploy_template(vlab: VLab, name: str, values: dict[str, str], prepare: dict[str, Callable[[str], None]],
                    timeout: float) -> dict[str, str]:
    """crm-templates/NAME on the cluster as an admin runs it, with pcs, line by line.

    A server cannot start before its data exist on the shared storage, and those are made on the
    node that mounts it: the storage lines (IP, file system) run first; then *prepare[group]*
    runs with the node holding the group's storage; then the servers' lines, then the rest
    (constraints).  Idempotent: groups already complete are reused; where the groups run."""
    commands = templates.pcs_commands(templates.fill(template(vlab, name), values))

    def group_of(argv: list[str]) -> str | None:
        return argv[argv.index("--group") + 1] if "--group" in argv else None

    def is_server(argv: list[str]) -> bool:
        return argv[1:3] == ["resource", "create"] and argv[4].startswith("ocf:mailha:")

    storage = [a for a in commands if group_of(a) and not is_server(a)]
    servers = [a for a in commands if group_of(a) and is_server(a)]
    rest = [a for a in commands if not group_of(a)]
    groups = dict(Counter(map(group_of, storage + servers)))
    st = status(vlab)
    if all(len(st.groups.get(g, [])) == n for g, n in groups.items()):
        return wait_groups(vlab, groups, timeout)
    if any(g in st.groups for g in groups):
        raise LabError(f"groups {', '.join(g for g in groups if g in st.groups)} exist with other members than "
                       f"{name}'s: delete them first")
    first = nodes.powered_on(vlab)[0]
    for argv in storage:
        _pcs(vlab, first, argv[1:], " ".join(argv[:4]))
    where = wait_groups(vlab, dict(Counter(map(group_of, storage))), timeout)
    for group, step in prepare.items():
        step(where[group])
    for argv in servers + rest:
        _pcs(vlab, first, argv[1:], " ".join(argv[:4]))
    return wait_groups(vlab, groups, timeout)


def create_389ds(vlab: VLab, node: str, host_password_file: str, mount: str, instance: str, vip: str,
                 timeout: float) -> None:
    """389-ds instance *instance* on the file system at *mount* (*node* mounts it), bound to
    *vip*, its Directory Manager's password from *host_password_file*; unless it exists."""
    with open(host_password_file, encoding="ascii") as f:
        nodes.check(vlab, node, ["sh", "-c", f"umask 077; cat > {NODE_PASSWORD_FILE}"], "writing the password",
                    input=f.read())
    code = ("import os\n"
            f"if not os.path.exists({mount + '/etc/dirsrv/slapd-' + instance + '/dse.ldif'!r}):\n"
            "    from mailha.tools.dsinstance import create_389ds\n"
            f"    create_389ds({instance!r}, {LDAP_PORT}, root={mount!r}, suffix={SUFFIX!r},"
            f" password_file={NODE_PASSWORD_FILE!r}, listen_host={vip!r})\n")
    nodes.check(vlab, node, ["python3", "-c", code], "creating the 389-ds instance", timeout=timeout)


def deploy_directory(vlab: VLab, host_password_file: str, timeout: float = 900) -> Directory:
    """crm-templates/directory.pcs on the cluster, with 389-ds made on the shared disk."""
    pidfile = f"{DIRECTORY_MOUNT}/run/dirsrv/slapd-{DIRECTORY_INSTANCE}.pid"

    def create_instance(node: str) -> None:
        create_389ds(vlab, node, host_password_file, DIRECTORY_MOUNT, DIRECTORY_INSTANCE, DIRECTORY_VIP, timeout)

    deploy_template(vlab, "directory.pcs", directory_values(), {GROUP: create_instance}, timeout)
    return Directory("389ds", DIRECTORY_VIP, LDAP_PORT, "cn=Directory Manager", host_password_file, pidfile, SUFFIX)


def groupwise() -> gws.GroupWise:
    return gws.topology_at(GWIA_VIP, PO_VIP, GWIA_MOUNT, PO_MOUNT)


def deploy_groupwise(vlab: VLab, timeout: float = 900) -> gws.GroupWise:
    """crm-templates/groupwise.pcs on the cluster: the GroupWise emulator on every node, each
    node's Postfix on its own client address (the GWIA takes port 25 of its virtual IP), the
    domain and the post office laid out on their shared disks."""
    if vlab.nodes < 3:
        raise LabError("crm-templates/groupwise.pcs names three nodes in its failover lists: up with --nodes 3")
    gw = groupwise()
    for node in nodes.powered_on(vlab):
        nodes.check(vlab, node, ["python3", "-m", "mailha.sim", "install", "--root", "/"],
                    "installing the GroupWise emulator")
        node_postfix(vlab, node)

    def lay_out_domain(node: str) -> None:
        nodes.check(vlab, node, ["sh", "-c", f"[ -e {gw.gwia_startup} ] || python3 -m mailha.sim layout --base "
                                 f"{gw.gwia_mount} --domain {gws.DOMAIN} --ip {gw.gwia_ip} >/dev/null"],
                    "laying out the GroupWise domain")

    def lay_out_post_office(node: str) -> None:
        code = (f"import os\nif not os.path.exists({gw.poa_startup!r}):\n"
                "    from mailha.sim.layout import create_post_office\n"
                f"    create_post_office({gw.poa_mount!r}, {gws.POST_OFFICE!r}, {gws.DOMAIN!r}, ip={gw.poa_ip!r})\n")
        nodes.check(vlab, node, ["python3", "-c", code], "laying out the post office")

    deploy_template(vlab, "groupwise.pcs", groupwise_values(vlab),
                    {gws.GWIA_GROUP: lay_out_domain, gws.POA_GROUP: lay_out_post_office}, timeout)
    return gw


#: postconf -e "$@", enabled; restarted only when that changed its settings or it is down: each
#: topology's deploy runs it, and a restart on a busy node took more than two minutes.
NODE_POSTFIX_SCRIPT = ('before=$(postconf -n) && postconf -e "$@" && systemctl enable --quiet postfix && '
                       'if [ "$(postconf -n)" != "$before" ] || ! systemctl is-active --quiet postfix; '
                       'then systemctl restart postfix; fi')


def node_postfix(vlab: VLab, node: str) -> None:
    """The node's Postfix as seed 000 has it: port 25 of the node's own address alone, so the
    GWIA or the Messaging Server's MTA can take port 25 of its virtual IP on whichever node it
    runs.  Enabled: a fenced node boots with it."""
    settings = [f"inet_interfaces = {vlab.address('client', node)}", "inet_protocols = ipv4",
                f"myhostname = {node}.lab.test", "mydestination =", "smtpd_banner = $myhostname ESMTP Postfix"]
    nodes.check(vlab, node, ["sh", "-c", NODE_POSTFIX_SCRIPT, "sh", *settings], "configuring Postfix", timeout=300)


def messaging_values() -> dict[str, str]:
    return {"VIP": MESSAGING_VIP, "CIDR": "24", "DEVICE": SHARED_DISKS["msg"][1], "MOUNT": MESSAGING_MOUNT,
            "INSTANCE": MESSAGING_INSTANCE, "ADMROOT": f"{MESSAGING_MOUNT}/serverroot",
            "ROOT": f"{MESSAGING_MOUNT}/SUNWmsgsr"}


def deploy_messaging(vlab: VLab, host_password_file: str, timeout: float = 900) -> mss.Messaging:
    """crm-templates/messaging.pcs (seed 004's Configuration 1) on the cluster.  On every node:
    the runtime user the agent expects, one uid everywhere, and Postfix off port 25 of the
    virtual IP.  On the shared disk, through the node that mounts it: 389-ds, the
    Administration Server and the Messaging Server (the emulators).  Then the test user in
    389-ds, added from the host (the client) through the virtual IP."""
    values = messaging_values()
    for node in nodes.powered_on(vlab):
        nodes.check(vlab, node, ["sh", "-c", f"id -u {MSG_USER} >/dev/null 2>&1 || useradd --uid {MSG_UID} --gid "
                                 f"{MSG_GROUP} --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "
                                 f"{MSG_USER}"], "adding the Messaging Server's user")
        node_postfix(vlab, node)
    admin_password = write_password(vlab.path("msg-admin.pw"))

    def lay_out(node: str) -> None:
        create_389ds(vlab, node, host_password_file, MESSAGING_MOUNT, MESSAGING_INSTANCE, MESSAGING_VIP, timeout)
        with open(admin_password, "rb") as f:
            install_file(vlab, node, NODE_ADMIN_PASSWORD_FILE, f.read(), "root:root", "600")
        directory = f"{MESSAGING_VIP}:{LDAP_PORT}"
        for conf, argv in (
                (f"{values['ADMROOT']}/admin-serv/config/magnus.conf",
                 ["adminsrv", "--server-root", values["ADMROOT"], "--ip", MESSAGING_VIP, "--port",
                  str(mss.PORTS["admin"]), "--directory", directory, "--admin-user", "admin",
                  "--admin-password-file", NODE_ADMIN_PASSWORD_FILE]),
                (f"{values['ROOT']}/config/msg.conf",
                 ["msgsrv", "--server-root", values["ROOT"], "--ip", MESSAGING_VIP, "--directory", directory,
                  "--directory-base", SUFFIX])):
            nodes.check(vlab, node, ["sh", "-c", f'[ -e {conf} ] || exec python3 -m mailha.sim "$@" >/dev/null',
                                     "sh", *argv], f"laying out the {argv[0]} emulator", timeout=timeout)

    deploy_template(vlab, "messaging.pcs", values, {mss.GROUP: lay_out}, timeout)
    user_password = write_password(vlab.path("msg-user.pw"))
    add_test_user(SimpleNamespace(ldap_url=f"ldap://{MESSAGING_VIP}:{LDAP_PORT}/", root_dn="cn=Directory Manager",
                                  password_file=host_password_file, suffix=SUFFIX), mss.TEST_USER, user_password)
    return mss.Messaging(1, (mss.GROUP,), MESSAGING_VIP, MESSAGING_VIP, MESSAGING_VIP, values["ROOT"], values["ROOT"],
                         values["ADMROOT"], mss.TEST_USER, user_password)


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
    wait_for("a clean cluster (and its groups running)", lambda: _clean(try_status(vlab), groups), timeout,
             interval=2)


def _clean(st: crmmon.ClusterStatus | None, groups: tuple[str, ...]) -> bool:
    return bool(st and not st.failures and not st.fence_events
                and all(g not in st.groups or st.group_node(g) for g in groups))


def healthy(vlab: VLab, groups: tuple[str, ...] = (GROUP,)) -> bool:
    """Where :func:`restore` leads, seen without changing anything: every VM online (so no cable
    pulled), no failures, no fencing history, the groups running, no move constraint.  A restore
    re-probes every resource, which takes a while on these VMs; a cluster just set up needs none."""
    st = try_status(vlab)
    if not (all_online(vlab, st) and _clean(st, groups)):
        return False
    out = nodes.run(vlab, nodes.powered_on(vlab)[0], ["cibadmin", "--query", "--scope", "constraints"], timeout=60)
    return out.returncode == 0 and 'id="cli-' not in out.stdout


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
