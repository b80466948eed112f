"""The Messaging Server topologies the lab runs, from seed 004, with the real 389-ds as the
directory and the emulator (`mailha sim msgsrv`/`adminsrv`) as the Administration Server and
the Messaging Server:

Configuration 1 (crm-templates/messaging.pcs): one group on one virtual IP, everything on one
shared file system:

    mail-msg = IPaddr2 + Filesystem + ldap (389-ds) + msgsrv core + client services + MTA + adminsrv

Configuration 2 (crm-templates/messaging-config2.pcs): a group per component, each with its
own virtual IP and file system; the MTA and the IMAP server are Messaging Server instances of
their own, ordered after the directory by an optional order, not colocated with it:

    mail-dir  = IPaddr2 + Filesystem + ldap (389-ds) + adminsrv
    mail-mta  = IPaddr2 + Filesystem + msgsrv core + smtp
    mail-imap = IPaddr2 + Filesystem + msgsrv core + imap http

Each server is laid out once on its shared file system, through the node that mounts it.
Logins are checked against 389-ds, where the lab adds the test user.  The servers run as root:
the lab adds no account to the host its nodes share.  The lab's passwords live in the lab
root, mode 0600.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass

from mailha.lab import cluster, images, nodecmd, power, services
from mailha.lab.layout import NODE_IFACE, PREFIX_LEN, SUBNET_PREFIX, Layout
from mailha.lab.preflight import LabError
from mailha.lab.services import primitive_xml

PORTS = {"core": 49994, "imap": 143, "pop": 110, "http": 80, "smtp": 25, "admin": 390, "ldap": 389}
TEST_USER = "probe"
IMAGE_SIZE = 256 * 1024 * 1024  # 389-ds wants room for its database and logs
#: Seed 004's RestartLimit 2: the third failure within failure-timeout moves the group.
MIGRATION_THRESHOLD, FAILURE_TIMEOUT = 3, "600s"
START_TIMEOUT = 120  # s; a Messaging Server start waits for its directory within half of it

# Configuration 1
GROUP = "mail-msg"
IP_RSC, FS_RSC, LDAP_RSC, ADMIN_RSC = "msg-ip", "msg-fs", "msg-ldap", "msg-admin"
CORE_RSC, SVC_RSC, MTA_RSC = "msg-core", "msg-svc", "msg-mta"
# The admin server last: seed 004's Critical = 0 is critical=false, which also cuts the pull of
# every later member on the group (a third failure of the IMAP server would not move it).
MEMBERS = (IP_RSC, FS_RSC, LDAP_RSC, CORE_RSC, SVC_RSC, MTA_RSC, ADMIN_RSC)
# Configuration 2
DIR_GROUP, MTA_GROUP, IMAP_GROUP = "mail-dir", "mail-mta", "mail-imap"
CONFIG2_GROUPS = (DIR_GROUP, MTA_GROUP, IMAP_GROUP)
#: The IMAP instance's job controller port: two instances on one node must not share one.
IMAP_JOB_CONTROLLER_PORT = 27443
#: Every group of either configuration (restore() clears moves and waits for each one).
GROUPS = (GROUP, *CONFIG2_GROUPS)


@dataclass(frozen=True)
class Messaging:
    """Where a deployed configuration answers and keeps its files.  In Configuration 1 the
    IMAP and MTA instance are one; in Configuration 2 each has its group."""
    config: int
    groups: tuple
    ip: str                # IMAP, POP, HTTP (and in Configuration 1 everything else)
    smtp_ip: str
    directory_ip: str
    server_root: str       # the instance serving IMAP
    mta_root: str          # the instance serving SMTP
    admin_root: str
    user: str              # the test user, also the drills' recipient
    password_file: str     # its password, on the host (the client namespace reads it there)

    @property
    def home(self) -> str:
        return self.server_root

    def password(self) -> str:
        return _read_secret(self.password_file)


@dataclass(frozen=True)
class Stack:
    """One group: its virtual IP and its image, mounted at `mount` on the node that runs it."""
    group: str
    prefix: str            # of its resources' ids: <prefix>-ip, <prefix>-fs, ...
    ip: str
    image: str

    def mount(self, layout: Layout) -> str:
        return os.path.join(layout.root, self.image)

    def rsc(self, name: str) -> str:
        return f"{self.prefix}-{name}"


CONFIG1 = Stack(GROUP, "msg", f"{SUBNET_PREFIX}.62", "msg")
CONFIG2 = {DIR_GROUP: Stack(DIR_GROUP, "mdir", f"{SUBNET_PREFIX}.63", "mdir"),
           MTA_GROUP: Stack(MTA_GROUP, "mta", f"{SUBNET_PREFIX}.64", "mta"),
           IMAP_GROUP: Stack(IMAP_GROUP, "imap", f"{SUBNET_PREFIX}.65", "imap")}


def _record_file(layout: Layout, config: int) -> str:
    return os.path.join(layout.root, f"messaging-config{config}.json")


def deployed(layout: Layout, config: int = 1) -> Messaging | None:
    try:
        with open(_record_file(layout, config), encoding="utf-8") as f:
            record = json.load(f)
    except FileNotFoundError:
        return None
    return Messaging(**{**record, "groups": tuple(record["groups"])})


def _secret_file(path: str, content: str) -> str:
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
    return path


def _read_secret(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read(256).strip()


def _user_password(layout: Layout) -> str:
    # No newline: ldapadd -y reads the file whole.
    return _secret_file(os.path.join(layout.root, "msg-user.pw"), secrets.token_urlsafe(12))


# ----------------------------------------------------------------- laying out a shared file system

def _sim(layout: Layout, node: str, conf: str, argv: list[str]) -> None:
    """`mailha sim ARGV` on *node*, unless *conf* shows an earlier deploy laid it out."""
    if nodecmd.run(layout, node, ["test", "-e", conf]).returncode == 0:
        return
    out = nodecmd.run(layout, node, ["env", f"PYTHONPATH={power.package_parent()}", "/usr/bin/python3", "-m",
                                     "mailha.sim", *argv], timeout=120)
    if out.returncode != 0:
        raise LabError(f"laying out the {argv[0]} emulator on {node} failed: {out.stderr.strip()[-1000:]}")


def _lay_out_directory(layout: Layout, node: str, stack: Stack) -> tuple[dict[str, str], str]:
    """389-ds and the Administration Server on *stack*'s file system; returns the ldap
    resource's parameters and the Administration Server's root."""
    mount = stack.mount(layout)
    ldap = services.prepare_389ds(layout, node, services.write_password(layout), root=os.path.join(mount, "389ds"),
                                  name=stack.prefix, listen_host=stack.ip)
    admin_root = os.path.join(mount, "serverroot")
    admin_pw = _secret_file(os.path.join(layout.root, "msg-admin.pw"), secrets.token_urlsafe(12))
    _sim(layout, node, os.path.join(admin_root, "admin-serv", "config", "magnus.conf"),
         ["adminsrv", "--server-root", admin_root, "--ip", stack.ip, "--port", str(PORTS["admin"]),
          "--directory", f"{stack.ip}:{PORTS['ldap']}", "--admin-user", "admin", "--admin-password-file", admin_pw])
    return ldap, admin_root


def _lay_out_instance(layout: Layout, node: str, stack: Stack, directory_ip: str, *ports: str) -> str:
    """A Messaging Server instance on *stack*'s file system, bound to its IP, its logins
    checked by the directory at *directory_ip*; returns its server root."""
    root = os.path.join(stack.mount(layout), "SUNWmsgsr")
    _sim(layout, node, os.path.join(root, "config", "msg.conf"),
         ["msgsrv", "--server-root", root, "--ip", stack.ip, "--directory", f"{directory_ip}:{PORTS['ldap']}",
          "--directory-base", services.SUFFIX, *(a for p in ports for a in ("--port", p))])
    return root


def _add_test_user(layout: Layout, directory_ip: str) -> None:
    """uid=TEST_USER,ou=people in 389-ds (added, or its password reset), through the virtual IP
    from the client namespace, bound as the Directory Manager."""
    code = ("import types\n"
            "from mailha.tools.dsinstance import add_test_user\n"
            f"ds = types.SimpleNamespace(ldap_url='ldap://{directory_ip}:{PORTS['ldap']}/', "
            f"root_dn='cn=Directory Manager', password_file={services.password_file(layout)!r}, "
            f"suffix={services.SUFFIX!r})\n"
            f"add_test_user(ds, {TEST_USER!r}, {_user_password(layout)!r})\n")
    out = nodecmd.run(layout, "client", ["env", f"PYTHONPATH={power.package_parent()}", "/usr/bin/python3", "-c",
                                         code], timeout=60)
    if out.returncode != 0:
        raise LabError(f"adding the test user {TEST_USER} to 389-ds failed: {out.stderr.strip()[-1000:]}")


# ----------------------------------------------------------------- cluster configuration

def _storage(layout: Layout, stack: Stack, loop: str) -> list[str]:
    return [
        primitive_xml(stack.rsc("ip"), "ocf:heartbeat:IPaddr2",
                      {"ip": stack.ip, "cidr_netmask": str(PREFIX_LEN), "nic": NODE_IFACE}),
        primitive_xml(stack.rsc("fs"), "ocf:heartbeat:Filesystem",
                      {"device": loop, "directory": stack.mount(layout), "fstype": "ext4"}, monitor="20s"),
    ]


def _ldap(stack: Stack, params: dict[str, str]) -> str:
    return primitive_xml(stack.rsc("ldap"), "ocf:mailha:ldap", params, monitor="10s",
                         timeouts={"start": "120s", "stop": "120s"})


def _admin(stack: Stack, admin_root: str) -> str:
    return primitive_xml(stack.rsc("admin"), "ocf:mailha:adminsrv",
                         {"server_root": admin_root, "ip_address": stack.ip, "port": str(PORTS["admin"])},
                         monitor="10s", timeouts={"start": "120s", "stop": "120s", "monitor": "30s"},
                         meta={"critical": "false"})  # seed 004's Critical = 0: it never moves the group


def _msgsrv(rsc: str, stack: Stack, root: str, listed: str, **more: str) -> str:
    params = {"server_root": root, "services": listed, "ip_address": stack.ip, "user": "root", "group": "root",
              **more}
    return primitive_xml(rsc, "ocf:mailha:msgsrv", params, monitor="10s",
                         timeouts={"start": f"{START_TIMEOUT}s", "stop": "120s", "monitor": "30s"})


def _group_xml(group: str, members: list[str], restart_limit: bool) -> str:
    meta = ""
    if restart_limit:
        meta = (f'<meta_attributes id="{group}-meta">'
                f'<nvpair id="{group}-meta-mt" name="migration-threshold" value="{MIGRATION_THRESHOLD}"/>'
                f'<nvpair id="{group}-meta-ft" name="failure-timeout" value="{FAILURE_TIMEOUT}"/>'
                f'</meta_attributes>')
    return f'<group id="{group}">{meta}{"".join(members)}</group>'


class _Builder:
    """Grows one group member by member: the storage first (the servers are laid out through
    the node that mounts it), then each server once the one before it runs."""

    def __init__(self, layout: Layout, stack: Stack, restart_limit: bool, timeout: float) -> None:
        self.layout, self.stack, self.restart_limit, self.timeout = layout, stack, restart_limit, timeout
        self.on = cluster.powered_on_nodes(layout)[0]
        loop = images.make(layout, stack.image, stack.mount(layout), IMAGE_SIZE)
        self.members = _storage(layout, stack, loop)
        cluster.cibadmin(layout, self.on, "--create", "-o", "resources", xml=self._xml())
        self.node = cluster.wait_group(layout, stack.group, len(self.members), timeout)

    def _xml(self) -> str:
        return _group_xml(self.stack.group, self.members, self.restart_limit)

    def add(self, *members: str) -> None:
        self.members += members
        cluster.cibadmin(self.layout, self.on, "--modify", "-o", "resources", "--allow-create", xml=self._xml())
        self.node = cluster.wait_group(self.layout, self.stack.group, len(self.members), self.timeout)


def _preflight(layout: Layout) -> None:
    if not cluster.powered_on_nodes(layout):
        raise LabError("no lab node is powered on")
    why = services.mailha_ldap_available()
    if why:
        raise LabError(f"the Messaging Server topologies need ocf:mailha:ldap: {why}")


def _save(layout: Layout, ms: Messaging) -> Messaging:
    with open(_record_file(layout, ms.config), "w", encoding="utf-8") as f:
        json.dump(asdict(ms), f)
    return ms


def _already(layout: Layout, config: int, members: dict[str, int], timeout: float) -> Messaging | None:
    ms = deployed(layout, config)
    if ms is None or not all(g in cluster.status(layout).groups for g in members):
        return None
    for group, count in members.items():
        cluster.wait_group(layout, group, count, timeout)
    return ms


def deploy(layout: Layout, timeout: float = 300) -> Messaging:
    """Configuration 1: the image, its layout and the whole group, running; idempotent."""
    _preflight(layout)
    done = _already(layout, 1, {GROUP: len(MEMBERS)}, timeout)
    if done:
        return done
    s = CONFIG1
    b = _Builder(layout, s, restart_limit=True, timeout=timeout)
    ldap, admin_root = _lay_out_directory(layout, b.node, s)
    root = _lay_out_instance(layout, b.node, s, s.ip)
    b.add(_ldap(s, ldap))
    _add_test_user(layout, s.ip)  # before the servers whose logins it checks
    p = PORTS
    b.add(_msgsrv(CORE_RSC, s, root, f"core={p['core']}"),
          _msgsrv(SVC_RSC, s, root, f"imap={p['imap']} pop={p['pop']} http={p['http']}", second_level_monitor="1",
                  test_user=TEST_USER, test_password=_read_secret(_user_password(layout))),
          _msgsrv(MTA_RSC, s, root, f"smtp={p['smtp']}", second_level_monitor="1"),
          _admin(s, admin_root))
    return _save(layout, Messaging(1, (GROUP,), s.ip, s.ip, s.ip, root, root, admin_root, TEST_USER,
                                   _user_password(layout)))


def deploy_config2(layout: Layout, timeout: float = 300) -> Messaging:
    """Configuration 2: the directory group, then the MTA and IMAP groups with their optional
    orders after it; idempotent."""
    _preflight(layout)
    done = _already(layout, 2, {DIR_GROUP: 4, MTA_GROUP: 4, IMAP_GROUP: 4}, timeout)
    if done:
        return done
    d, m, i = (CONFIG2[g] for g in CONFIG2_GROUPS)
    p = PORTS
    b = _Builder(layout, d, restart_limit=False, timeout=timeout)
    ldap, admin_root = _lay_out_directory(layout, b.node, d)
    b.add(_ldap(d, ldap))
    _add_test_user(layout, d.ip)
    b.add(_admin(d, admin_root))
    b = _Builder(layout, m, restart_limit=True, timeout=timeout)
    mta_root = _lay_out_instance(layout, b.node, m, d.ip)
    b.add(_msgsrv(m.rsc("core"), m, mta_root, f"core={p['core']}"),
          _msgsrv(m.rsc("smtp"), m, mta_root, f"smtp={p['smtp']}", second_level_monitor="1"))
    b = _Builder(layout, i, restart_limit=True, timeout=timeout)
    imap_root = _lay_out_instance(layout, b.node, i, d.ip, f"job_controller={IMAP_JOB_CONTROLLER_PORT}")
    b.add(_msgsrv(i.rsc("core"), i, imap_root, f"core={p['core']}"),
          _msgsrv(i.rsc("svc"), i, imap_root, f"imap={p['imap']} http={p['http']}", second_level_monitor="1",
                  test_user=TEST_USER, test_password=_read_secret(_user_password(layout))))
    # Seed 004's "online global soft" dependency: an optional order, no colocation.
    for group in (MTA_GROUP, IMAP_GROUP):
        cluster.cibadmin(layout, b.on, "--create", "-o", "constraints",
                         xml=f'<rsc_order id="order-{DIR_GROUP}-{group}" first="{DIR_GROUP}" first-action="start" '
                             f'then="{group}" then-action="start" kind="Optional"/>')
    return _save(layout, Messaging(2, CONFIG2_GROUPS, i.ip, m.ip, d.ip, imap_root, mta_root, admin_root, TEST_USER,
                                   _user_password(layout)))


# ----------------------------------------------------------------- inside a node

def daemon_pids(run: nodecmd.NodeRunner, node: str, server_root: str, daemon: str) -> list[int]:
    """PIDs (as the node sees them) of *daemon* of the instance at *server_root*, found as the
    agent finds them."""
    code = ("from mailha.agents.msgsrv import process_match\n"
            "from mailha.msgsrv.layout import Instance\n"
            "from mailha.proc import find\n"
            f"match = process_match(Instance({server_root!r}), {daemon!r})\n"
            "print(*[p.pid for p in find(match, every=True)])\n")
    out = run(node, ["/usr/bin/python3", "-c", code])
    if out.returncode != 0:
        raise LabError(f"finding {daemon} on {node} failed: {out.stderr.strip()[-500:]}")
    return [int(p) for p in out.stdout.split()]
