"""The directory service group the lab runs: VIP + shared file system + LDAP server.

Two kinds of LDAP member, swappable in one place:
- ``openldap``: OpenLDAP's slapd under ``ocf:heartbeat:slapd`` (a stand-in from resource-agents);
- ``389ds``: 389 Directory Server under ``ocf:mailha:ldap``, the project's own agent.
Both keep their configuration and data on the shared file system and listen on the VIP only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from mailha.lab import cluster, nodecmd, power, state
from mailha.lab.layout import NODE_IFACE, PREFIX_LEN, Layout
from mailha.lab.preflight import LabError

# The names of crm-templates/directory.pcs: the Vagrant lab creates the group from that template,
# and the cluster tests address both labs by these names.
GROUP = "mail-dir"
VIP_RSC, FS_RSC, LDAP_RSC = "dir-ip", "dir-fs", "dir-ldap"
LDAP_PORT = 389
SUFFIX = "dc=example,dc=com"
MAILHA_LDAP_AGENT = "/usr/lib/ocf/resource.d/mailha/ldap"
KINDS = ("openldap", "389ds")
OPENLDAP_PIDFILE = "/run/slapd-lab.pid"


@dataclass(frozen=True)
class Directory:
    """How a client reaches the deployed directory."""
    kind: str
    host: str
    port: int
    bind_dn: str
    password_file: str   # readable by root on the host, in the nodes and in the client netns
    pidfile: str         # of the server, as seen inside the active node
    suffix: str = SUFFIX


def _record_file(layout: Layout) -> str:
    return os.path.join(layout.root, "directory.json")


def deployed(layout: Layout) -> Directory | None:
    """The directory deploy() last created, if its group is still configured."""
    try:
        with open(_record_file(layout), encoding="utf-8") as f:
            directory = Directory(**json.load(f))
    except FileNotFoundError:
        return None
    return directory if len(cluster.status(layout).groups.get(GROUP, [])) == 3 else None


def password_file(layout: Layout) -> str:
    return os.path.join(layout.root, "dir-admin.pw")


def _nvpairs(rsc: str, params: dict[str, str]) -> str:
    return "".join(f'<nvpair id="{rsc}-{k}" name="{k}" value={quoteattr(str(v))}/>' for k, v in params.items())


def primitive_xml(rsc: str, agent: str, params: dict[str, str], monitor: str = "10s",
                  timeouts: dict[str, str] | None = None, meta: dict[str, str] | None = None) -> str:
    cls, provider, kind = agent.split(":")
    t = {"start": "60s", "stop": "60s", "monitor": "20s", **(timeouts or {})}
    metas = f'<meta_attributes id="{rsc}-meta">{_nvpairs(rsc + "-meta", meta)}</meta_attributes>' if meta else ""
    return (f'<primitive id="{rsc}" class="{cls}" provider="{provider}" type="{kind}">'
            f'<instance_attributes id="{rsc}-ia">{_nvpairs(rsc, params)}</instance_attributes>{metas}'
            f'<operations>'
            f'<op id="{rsc}-monitor" name="monitor" interval="{monitor}" timeout="{t["monitor"]}"/>'
            f'<op id="{rsc}-start" name="start" interval="0s" timeout="{t["start"]}"/>'
            f'<op id="{rsc}-stop" name="stop" interval="0s" timeout="{t["stop"]}"/>'
            f'</operations></primitive>')


def storage_group_xml(layout: Layout) -> str:
    st = state.read(layout) or {}
    if not st.get("loop"):
        raise LabError("the lab has no shared storage loop device recorded")
    vip = primitive_xml(VIP_RSC, "ocf:heartbeat:IPaddr2",
                        {"ip": layout.vip, "cidr_netmask": str(PREFIX_LEN), "nic": NODE_IFACE})
    fs = primitive_xml(FS_RSC, "ocf:heartbeat:Filesystem",
                       {"device": st["loop"], "directory": layout.shared_mountpoint, "fstype": "ext4"},
                       monitor="20s")
    return f'<group id="{GROUP}">{vip}{fs}</group>'


def write_password(layout: Layout) -> str:
    path = password_file(layout)
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_urlsafe(18))
    return path


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


# ----------------------------------------------------------------- openldap stand-in

def _prepare_openldap(layout: Layout, node: str, pwfile: str) -> dict[str, str]:
    base = os.path.join(layout.shared_mountpoint, "openldap")
    conf = os.path.join(base, "slapd.conf")
    with open(pwfile, encoding="ascii") as f:
        hashed = _ssha(f.read().strip())
    slapd_conf = textwrap.dedent(f"""\
        include /etc/ldap/schema/core.schema
        include /etc/ldap/schema/cosine.schema
        include /etc/ldap/schema/inetorgperson.schema
        pidfile {OPENLDAP_PIDFILE}
        modulepath /usr/lib/ldap
        moduleload back_mdb
        database mdb
        maxsize 67108864
        suffix "{SUFFIX}"
        rootdn "cn=admin,{SUFFIX}"
        rootpw {hashed}
        directory {base}/db
        """)
    base_ldif = f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n"
    # Written through the active node: only it has the shared file system mounted.
    # The database may exist from an earlier deploy on this image: keep its data.
    script = (f"set -e; mkdir -p {base}/db; chmod 700 {base}; cat > {conf}; "
              f"[ -e {base}/db/data.mdb ] || slapadd -q -f {conf} <<'EOF'\n{base_ldif}EOF\n")
    out = nodecmd.run(layout, node, ["sh", "-c", script], input=slapd_conf, timeout=60)
    if out.returncode != 0:
        raise LabError(f"preparing slapd on {node} failed: {out.stderr.strip()}")
    return {"config": conf, "services": f"ldap://{layout.vip}:{LDAP_PORT}/", "watch_suffix": SUFFIX}


# ----------------------------------------------------------------- 389-ds with ocf:mailha:ldap

def mailha_ldap_available() -> str | None:
    """Why the 389-ds group cannot run yet, or None when it can."""
    if not os.path.exists(MAILHA_LDAP_AGENT):
        return f"{MAILHA_LDAP_AGENT} is not installed"
    try:
        import mailha.tools.dsinstance  # noqa: F401
    except ImportError:
        return "mailha.tools.dsinstance is not importable"
    return None


def prepare_389ds(layout: Layout, node: str, pwfile: str, *, root: str, name: str, listen_host: str) -> dict[str, str]:
    """A 389-ds instance *name* with all its files under *root* (on shared storage mounted on
    *node*), listening on *listen_host*; returns the ``ocf:mailha:ldap`` parameters for it.
    An instance made by an earlier deploy on this image is reused, data and all."""
    record = os.path.join(root, "instance.json")
    code = ("import json, os, sys\n"
            f"if os.path.exists({record!r}):\n"
            f"    sys.stdout.write(open({record!r}).read()); sys.exit(0)\n"
            "from mailha.tools.dsinstance import create_389ds\n"
            f"i = create_389ds({name!r}, {LDAP_PORT}, root={root!r}, suffix={SUFFIX!r}, "
            f"password_file={pwfile!r}, listen_host={listen_host!r})\n"
            "out = json.dumps({'config_dir': i.config_dir, 'pidfile': i.pidfile})\n"
            f"open({record!r}, 'w').write(out); sys.stdout.write(out)\n")
    out = nodecmd.run(layout, node, ["env", f"PYTHONPATH={power.package_parent()}",
                                     "/usr/bin/python3", "-c", code], timeout=300)
    if out.returncode != 0:
        raise LabError(f"creating the 389-ds instance {name} on {node} failed: {out.stderr.strip()[-2000:]}")
    inst = json.loads(out.stdout)
    return {"server_type": "389ds", "instance": name, "config_dir": inst["config_dir"],
            "listen_address": listen_host, "port": str(LDAP_PORT), "pidfile": inst["pidfile"]}


def default_kind() -> str:
    """The project's own agent when it is installed, else the stand-in."""
    return "389ds" if mailha_ldap_available() is None else "openldap"


def deploy(layout: Layout, kind: str = "openldap", timeout: float = 180) -> Directory:
    """Create group mail-dir = VIP + Filesystem + LDAP server of `kind` and wait until it runs.

    Idempotent; a group of another kind is removed first."""
    if kind not in KINDS:
        raise LabError(f"unknown directory kind {kind!r}; choose from {', '.join(KINDS)}")
    if kind == "389ds" and (why := mailha_ldap_available()):
        raise LabError(f"the 389ds group cannot run yet: {why}")
    current = deployed(layout)
    if current and current.kind == kind:
        cluster.wait_group(layout, GROUP, 3, timeout)
        return current
    remove(layout, timeout)
    pwfile = write_password(layout)
    on = cluster.powered_on_nodes(layout)[0]
    cluster.cibadmin(layout, on, "--create", "-o", "resources", xml=storage_group_xml(layout))
    node = cluster.wait_group(layout, GROUP, 2, timeout)
    if kind == "openldap":
        params, agent = _prepare_openldap(layout, node, pwfile), "ocf:heartbeat:slapd"
        directory = Directory(kind, layout.vip, LDAP_PORT, f"cn=admin,{SUFFIX}", pwfile, OPENLDAP_PIDFILE)
    else:
        params = prepare_389ds(layout, node, pwfile, root=os.path.join(layout.shared_mountpoint, "389ds"),
                               name="lab", listen_host=layout.vip)
        agent = "ocf:mailha:ldap"
        directory = Directory(kind, layout.vip, LDAP_PORT, "cn=Directory Manager", pwfile, params["pidfile"])
    ldap = primitive_xml(LDAP_RSC, agent, params, monitor="10s", timeouts={"start": "120s", "stop": "120s"})
    cluster.cibadmin(layout, on, "--modify", "-o", "resources", "--allow-create",
                     xml=f'<group id="{GROUP}">{ldap}</group>')
    cluster.wait_group(layout, GROUP, 3, timeout)
    with open(_record_file(layout), "w", encoding="utf-8") as f:
        json.dump(directory.__dict__, f)
    return directory


def remove(layout: Layout, timeout: float = 120) -> None:
    """Stop and delete the group (its data stays on the shared image)."""
    st = cluster.status(layout)
    members = st.groups.get(GROUP)
    if members is None:
        return
    on = cluster.powered_on_nodes(layout)[0]
    nodecmd.run(layout, on, ["crm_resource", "--resource", GROUP, "--meta", "--set-parameter",
                             "target-role", "--parameter-value", "Stopped"])

    def stopped():
        now = cluster.try_status(layout)
        return now is not None and not any(now.running_on(m) for m in members)
    cluster.wait_for(f"group {GROUP} stopped", stopped, timeout)
    cluster.cibadmin(layout, on, "--delete", "-o", "resources", xml=f'<group id="{GROUP}"/>')
    if os.path.exists(_record_file(layout)):
        os.unlink(_record_file(layout))
