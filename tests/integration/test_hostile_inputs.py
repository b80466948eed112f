"""Hostile input to the installed agents on every action (issue 7, "Done when").

Every run drives ``/usr/lib/ocf/resource.d/mailha/{ldap,gwia,gwpoa,msgsrv,adminsrv}`` as
Pacemaker does (clean environment, ``HA_LOGFILE``/``HA_DEBUGLOG`` with ``HA_debug=1``, an
``OCF_TRACE_RA`` trace) and holds it to the contract:

* no traceback (nor a caught "internal error") anywhere; an OCF exit code, and the right one:
  stop of an instance that is not running returns 0 (or 1 when parameters that cannot identify
  it meet a process of the product that might be it), a monitor returns 6 only when validate-all
  says the configuration is wrong (6 is for what is wrong on every node, never for a run-time
  condition), a probe of nothing says 7;
* at most one exit reason, of at most 128 bytes;
* no secret (``password``, ``test_password``, ``http_password``, ``admin_password``,
  ``ssl_db_password`` hold random markers) in stdout, stderr, the log files or a trace; none in
  the environment or argv of anything the agent starts, which gets no ``OCF_RESKEY_*`` and has
  ``LC_ALL=C``;
* nothing changed outside the instance's own files (see :class:`hostile.Snapshot`); a stop never
  ends a process of another resource of the same installation (a Messaging Server's core beside
  its services resource, and the reverse).

Two kinds of trial:

* *static* (``test_static_trials``): one base configuration per agent and server type, valid
  but with stand-in product binaries that record what they were given and exit 1 at once,
  changed one parameter at a time to a hostile value from a fixed table, sampled with a fixed
  seed (plus a few whole-configuration combinations, hostile action names, hostile OCF
  versions for meta-data).  Nothing of the instance can run, so the right exit codes are known.
* *live* (``test_live_*``): real OpenLDAP, 389-ds and GroupWise, Messaging Server and
  Administration Server emulator instances started by the agent with secrets set; their
  processes' environments and command lines are read from /proc; hostile values are tried on
  monitors and stops of the running service; a parent directory of the running instance names
  no instance (7, and stop kills nothing); parameters that fail the agent's static checks are 6
  and their stop kills nothing and says 0; identifying parameters the framework drops make a
  stop kill nothing and say 1 (the running instance might be it).

The trial counts are printed (``pytest -s``) and bounded to keep the file near five minutes on
two cores (the Messaging and Administration Server trials about two of them): see
``VALUES_PER_PARAM`` and friends.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hostile
import pytest
from admintest import ADMIN_USER, Directory, adminlab_fixture  # noqa: F401 (the adminlab fixture)
from gwtest import gwlab_fixture  # noqa: F401 (the gwlab fixture)
from hostile import Harness, Run, Snapshot
from mstest import mslab_fixture  # noqa: F401 (the mslab fixture)

from mailha.adminsrv.layout import AdminServer
from mailha.agents import adminsrv as adminsrv_agent
from mailha.agents import gwia as gwia_agent
from mailha.agents import gwpoa as gwpoa_agent
from mailha.agents import ldap as ldap_agent
from mailha.agents import msgsrv as msgsrv_agent
from mailha.msgsrv import layout as ms_layout
from mailha.msgsrv import services as ms_services
from mailha.proc import ProcessMatch, find
from mailha.ocf import params as P
from mailha.sim import layout
from mailha.sim.adminsrv import builder as admin_builder
from mailha.sim.msgsrv import builder as ms_builder
from mailha.tools import dsinstance
from mailha.tools.dsinstance import free_port

pytestmark = pytest.mark.real_daemon

#: Fixed seed: the same trials on every run (a failure reproduces).
SEED = 7
#: Hostile values tried per parameter, drawn from the generic ones, on top of those made for
#: its type or name (see values_for), of which PATH_SAMPLE of the path values, FILE_SAMPLE of
#: the hostile files and SECRET_SAMPLE (and two fixed ones) of the secret-shaped values.
VALUES_PER_PARAM = 2
PATH_SAMPLE = 2
FILE_SAMPLE = 4
SECRET_SAMPLE = 3
NUMBER_SAMPLE = ADDRESS_SAMPLE = 3
#: MAILHA_HOSTILE_FULL=1 tries every value of the table on every parameter instead (about five
#: times as many static runs, some ten minutes): for a hunt, not for CI.
FULL = os.environ.get("MAILHA_HOSTILE_FULL", "") == "1"
#: Of the static trials, every MONITOR_EVERY-th also runs a recurring monitor and reload-agent
#: (with nothing running they take the probe's and validate-all's paths).
MONITOR_EVERY = 4
#: Random trials changing several parameters at once, per agent.
COMBINED_TRIALS = 6

TOKEN = secrets.token_hex(4)  # in every path the trials make: a stray file is recognised
# The secrets: password, test_password, http_password, admin_password, ssl_db_password.
PW, TPW, HPW, APW, DPW = (f"{kind}{secrets.token_hex(8)}" for kind in ("Pw", "Tp", "Hp", "Ap", "Db"))
SECRETS = (PW, TPW, HPW, APW, DPW)
#: Created only if a value is ever run through a shell.
CANARY = f"/run/mailha-hostile-{TOKEN}.pwned"
#: A root-owned directory, the parent of the pid file: no agent may change it.
ROOT_DIR = f"/run/mailha-hostile-{TOKEN}"
#: Another, where a pid file is named in a subdirectory that does not exist: the agent may create
#: that for the server's user (the configuration names it), but not chown or chmod this one.
ROOT_DIR_B = f"/run/mailha-hostile-{TOKEN}-b"

AGENTS = {"ldap": ldap_agent.AGENT, "gwia": gwia_agent.AGENT, "gwpoa": gwpoa_agent.AGENT,
          "msgsrv": msgsrv_agent.AGENT, "adminsrv": adminsrv_agent.AGENT}
#: Executables of each product, of any instance: what a stop that cannot identify its instance
#: must not kill.
PRODUCT = {"ldap": ("slapd", "ns-slapd"), "gwia": ("gwmta", "gwia", "gwpoa"), "gwpoa": ("gwmta", "gwia", "gwpoa"),
           "msgsrv": tuple(ms_services.PROCESSES), "adminsrv": ("uxwdog", "ns-httpd")}
#: Starts that use files of the instance they name, one at a time per instance (see
#: Harness.run_apart): adminsrv writes the trust database's pin file into server_root for a start
#: with ssl_db_password, and one with ssl=true and none looks for a pin file there (a concurrent
#: start's would make its answer a matter of timing).  The others run WORKERS at a time.
START_APART = {"adminsrv": lambda run: str(run.params.get("server_root"))}

# -- the hostile values -----------------------------------------------------------------------------

GENERIC = [
    ("empty", ""),
    ("blank", "   "),
    ("$(...)", f"$(touch {CANARY})"),
    ("backticks", f"`touch {CANARY}`"),
    ("semicolon", f"x; touch {CANARY} #"),
    ("pipe", f"x | touch {CANARY}"),
    ("quotes", "'\"\\"),
    ("control characters", "a\x01b\x1b[31mc\x7fd"),
    ("newline", "one\ntwo"),
    ("carriage return", "x\ry"),
    ("tab", "x\ty"),
    ("5000 characters", "A" * 5000),
    ("100000 characters", "B" * 100000),
    ("unicode", "é✓😀\u202eﬁ"),
    ("non-UTF-8 byte", "caf\udce9"),
    ("format string", "%s%n%x{0}%(x)s"),
    ("forged exit reason", "ocf-exit-reason:forged"),
    ("forged reason line", "x\nocf-exit-reason:forged"),
    ("lrm:// without a secret file", "lrm://"),
    ("option", "-D/"),
    ("../../etc/passwd", "../../etc/passwd"),
    ("huge integer", "9" * 40),
    ("negative", "-1"),
    ("very negative", "-99999999999"),
]
NUMBERS = [
    ("zero", "0"), ("65536", "65536"), ("1e3", "1e3"), ("spaces", " 389 "), ("hex", "0x185"),
    ("Arabic-Indic digits", "٣٨٩"), ("fullwidth digits", "３８９"), ("fraction", "3.5"), ("plus", "+389"),
    ("2**63", str(2 ** 63)), ("19 digits", "1" * 19),
]
BOOLEANS = [("maybe", "maybe"), ("TRUE", "TRUE"), ("2", "2"), ("fullwidth true", "ｔｒｕｅ"), ("y and a space", "y ")]
ADDRESSES = [
    ("all IPv4 addresses", "0.0.0.0"), ("all IPv6 addresses", "::"), ("not on this node", "192.0.2.1"),
    ("host name", "localhost"), ("address; id", "127.0.0.1; id"), ("bad octet", "999.1.1.1"),
    ("scoped", "fe80::1%lo"), ("short form", "127.1"), ("v4-mapped", "::ffff:127.0.0.1"),
]
SECRET_VALUES = [
    ("secret with $(...)", "{m}$(touch " + CANARY + ")"),
    ("secret with control characters", "{m}\x01\x1b[0m"),
    ("secret with a newline", "{m}\n{m}"),
    ("secret with spaces", "{m} and more"),
    ("secret with unicode", "{m}é😀"),
    ("secret of 5000 characters", "{m}" + "x" * 5000),
    ("secret with a format string", "{m}%s%n"),
    ("secret quoting an exit reason", "{m}ocf-exit-reason:x"),
    ("lrm:// without a secret file", "lrm://"),  # the last two: always tried
    ("empty", ""),
]
#: msgsrv's services: sets that break a rule of the services a resource may list (wrong on every
#: node: 6, and a stop that kills nothing and says 0), or that name ports the configuration does
#: not give them.  The first two are always tried; SERVICES_SAMPLE of the others.
SERVICE_SETS = [
    ("unknown service", "nosuch=1"),
    ("superscript digit port (isdigit() but not int())", "imap=\u00b2"),
    ("core with a client service", "core=49994 imap=143"),
    ("smtp with lmtp", "smtp lmtp=2525"),
    ("a port shared", "imap=143 pop=143"),
    ("core without the watcher's port", "core"),
    ("port 0", "imap=0"),
    ("port 65536", "imap=65536"),
    ("six-digit port", "imap=000143"),
    ("listed twice", "imap=143 imap=144"),
    ("a lone =", "="),
    ("a port alone", "143"),
    ("= without a port", "imap ="),
    ("braces, ports the configuration does not give", "{ imap 143 pop 110 }"),
]
SERVICES_SAMPLE = 4


@dataclass
class World:
    """Files the static trials point at: stand-in binaries, instances, hostile files, sentinels."""

    root: Path
    records: Path
    bases: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)  # agent -> name -> params
    files: dict[str, str] = field(default_factory=dict)  # kind -> a hostile file
    config_dirs: dict[str, str] = field(default_factory=dict)  # kind -> dir whose dse.ldif is that kind
    gw_dirs: dict[str, str] = field(default_factory=dict)  # kind -> dir whose startup files are that kind
    # agent -> kind -> a server root whose configuration files are that kind (msgsrv, adminsrv)
    root_dirs: dict[str, dict[str, str]] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)  # agent -> parent dir of its instances
    sentinels: list[str] = field(default_factory=list)  # trees no trial may change

    def path_values(self) -> list[tuple[str, str]]:
        values = [(f"{kind} file", path) for kind, path in self.files.items()]
        return values + [
            ("/dev/zero", "/dev/zero"), ("/", "/"), ("/proc/self/environ", "/proc/self/environ"),
            ("relative", "relative/path"), ("dot", "./x"), ("nonexistent", f"/nonexistent-{TOKEN}/x"),
            ("dot segments", "/a/./b//c/"), ("absolute with ..", "/srv/../etc/passwd"),
            ("5000-character path", "/" + "a" * 5000), ("unicode path", "/é/✓😀"),
            ("path with $(...)", f"/tmp/$(touch {CANARY})"), ("trailing slash", "/tmp/"),
        ]


def write_dse(path: Path, port: int, run: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("dn: cn=config\nobjectClass: top\nobjectClass: extensibleObject\ncn: config\n"
                    f"nsslapd-port: {port}\nnsslapd-localuser: dirsrv\nnsslapd-rundir: {run}/run\n"
                    f"nsslapd-lockdir: {run}/lock\n\n")


def make_hostile(path: Path, kind: str, rng: random.Random) -> None:
    """*path* as a file of *kind*: what no agent may block on, read without bound or trust."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "FIFO":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "256 MiB":
        with open(path, "wb") as handle:
            handle.truncate(256 << 20)  # sparse: costs no disk
    elif kind == "garbage":
        path.write_bytes(rng.randbytes(4096))
    elif kind == "/dev/zero link":
        path.symlink_to("/dev/zero")
    elif kind == "symlink loop":
        path.symlink_to(path.name)
    elif kind == "/proc/self/environ link":
        path.symlink_to("/proc/self/environ")
    elif kind == "empty":
        path.write_text("")
    elif kind == "passwd copy":
        path.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    elif kind == "not executable":
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o644)


HOSTILE_KINDS = ("FIFO", "directory", "256 MiB", "garbage", "/dev/zero link", "symlink loop",
                 "/proc/self/environ link", "empty", "passwd copy", "not executable")


@pytest.fixture(scope="module")
def config_directory() -> Iterator[Directory]:
    """A listener standing for the configuration directory the static adminsrv starts wait for
    (none: each start would wait for it half its timeout)."""
    directory = Directory()
    try:
        yield directory
    finally:
        directory.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory, config_directory) -> World:
    rng = random.Random(SEED)
    root = tmp_path_factory.mktemp("hostile")
    w = World(root, root / "records")
    w.records.mkdir()
    bin_dir = root / "bin"
    bin_dir.mkdir()

    def fake(name: str, directory: Path = bin_dir) -> str:
        directory.mkdir(parents=True, exist_ok=True)
        return hostile.write_recorder(str(directory / name), str(w.records), exit_code=1,
                                      say=f"{name}: stand-in, refusing to start")

    for kind in HOSTILE_KINDS:
        slug = kind.replace("/", "_").replace(" ", "-")
        w.files[kind] = str(root / "h" / slug)
        make_hostile(root / "h" / slug, kind, rng)
        if kind != "not executable":
            cfg = root / "h" / f"cfg-{slug}"  # a 389-ds configuration directory
            make_hostile(cfg / "dse.ldif", kind, rng)
            w.config_dirs[kind] = str(cfg)
            gw = root / "h" / f"gw-{slug}"  # a domain or post office directory
            for startup in (f"gw-{slug}.mta", "wpgate/gwia/gwia.cfg", f"gw-{slug}.poa"):
                make_hostile(gw / startup, kind, rng)
            w.gw_dirs[kind] = str(gw)

    # ldap: a 389-ds, an OpenLDAP and a Sun DS instance that are never running; another 389-ds
    # instance beside them that no trial names.
    ldap = root / "ldap"
    port = free_port()
    write_dse(ldap / "slapd-inst" / "dse.ldif", port, ldap / "slapd-inst")
    write_dse(ldap / "slapd-other" / "dse.ldif", port, ldap / "slapd-other")
    (ldap / "slapd.d" / "cn=config").mkdir(parents=True)
    (ldap / "slapd.d" / "cn=config.ldif").write_text("dn: cn=config\n")
    sun = ldap / "slapd-sun"
    fake("start-slapd", sun)
    fake("stop-slapd", sun)
    secret_ldap = {"bind_dn": "cn=Directory Manager", "password": PW,
                   "test_user_dn": "uid=probe,ou=people,dc=example,dc=com", "test_password": TPW}
    w.bases["ldap"] = {
        "389ds": {"server_type": "389ds", "instance": f"hostile{TOKEN}", "config_dir": str(ldap / "slapd-inst"),
                  "binary": fake("fake-ns-slapd"), "pidfile": f"{ROOT_DIR}/slapd-inst.pid", "port": port,
                  **secret_ldap},
        "openldap": {"server_type": "openldap", "config_dir": str(ldap / "slapd.d"), "binary": fake("fake-slapd"),
                     "pidfile": f"{ROOT_DIR}/slapd.pid", "port": port, "listen_address": "127.0.0.1",
                     "user": "openldap", "group": "openldap", **secret_ldap},
        "sunds": {"server_type": "sunds", "instance_root": str(sun), "port": port, **secret_ldap},
    }
    w.parents["ldap"] = str(ldap)
    w.sentinels.append(str(ldap / "slapd-other"))

    # GroupWise: dom1 and po1 on a "partition" with dom2 and po2 beside them, which no trial
    # names; launched directly (stand-ins) or through a stand-in grpwise and gwha.conf.
    gw = root / "gw"
    ports = iter(free_port() for _ in range(40))
    doms = {name: layout.create_domain(str(gw), name, ip="127.0.0.1",
                                       mta_ports={"msgtranport": next(ports), "httpport": next(ports)},
                                       gwia_ports={k: next(ports) for k in ("smtpport", "popport", "imapport",
                                                                             "ldapport", "httpport")})
            for name in ("dom1", "dom2")}
    offices = {}
    for name in ("po1", "po2"):
        offices[name] = layout.create_post_office(str(gw), name, "dom1", ip="127.0.0.1",
                                                  ports={k: next(ports) for k in ("port", "mtpinport", "httpport")})
        with open(offices[name].poa_startup, "a", encoding="utf-8") as handle:
            handle.write(f"--imap\n--imapport {next(ports)}\n")
    gwroot = root / "gwroot"
    agents_bin = gwroot / "opt/novell/groupwise/agents/bin"
    for name in ("gwmta", "gwia", "gwpoa"):
        fake(name, agents_bin)
    fake("grpwise", gwroot / "etc/init.d")
    gwha_conf = layout.register(str(gwroot), doms["dom1"], offices["po1"])
    common = {"storage_mount": "/", "gwha_binary": fake("fake-gwha"), "gwha_conf": gwha_conf,
              "grpwise_script": str(gwroot / "etc/init.d/grpwise"), "http_user": "admin", "http_password": HPW,
              "test_user": "probe", "test_password": TPW}
    w.bases["gwia"] = {
        "binary": {"domain_dir": doms["dom1"].directory, "mta_binary": fake("fake-gwmta"),
                   "gwia_binary": fake("fake-gwia"), **common},
        "grpwise": {"domain_dir": doms["dom1"].directory, "launch": "grpwise",
                    "mta_binary": str(agents_bin / "gwmta"), "gwia_binary": str(agents_bin / "gwia"), **common},
    }
    w.bases["gwpoa"] = {
        "binary": {"post_office_dir": offices["po1"].directory, "binary": fake("fake-gwpoa"), **common},
        "grpwise": {"post_office_dir": offices["po1"].directory, "launch": "grpwise", "domain": "dom1",
                    "binary": str(agents_bin / "gwpoa"), **common},
    }
    w.parents["gwia"] = w.parents["gwpoa"] = str(gw)
    w.sentinels += [doms["dom2"].directory, offices["po2"].directory, str(root / "h")]

    # Messaging Server: a 6.x instance bound to 127.0.0.1 that never runs (stand-in start-msg and
    # stop-msg in sbin), its core, client services, MTA and MMP each a base; another instance
    # beside it that no trial names.
    msdir = root / "ms"
    msports = {key: free_port() for key in ("core", "imap", "pop", "http", "smtp", "lmtp", "ens", "job_controller")}
    instances = {}
    for name in ("inst", "other"):
        instances[name] = ms_builder.create(ms_layout.Instance(str(msdir / name)), ip="127.0.0.1", ports=msports,
                                            users={}, enable={"local.mmp.enable": True})
        for tool in ("start-msg", "stop-msg"):
            fake(tool, Path(instances[name].home) / "sbin")
    ms_common = {"server_root": instances["inst"].server_root, "ip_address": "127.0.0.1", "user": "root",
                 "group": "root"}
    w.bases["msgsrv"] = {
        "core": {**ms_common, "services": f"core={msports['core']}", "launcher": "start-msg"},
        "clients": {**ms_common, "services": f"imap={msports['imap']} pop={msports['pop']} http={msports['http']}",
                    "test_user": "probe", "test_password": TPW},
        "mta": {**ms_common, "services": f"smtp={msports['smtp']}"},
        "mmp": {**ms_common, "server_type": "MMP", "services": f"imap={msports['imap']} pop={msports['pop']}"},
    }
    w.parents["msgsrv"] = str(msdir)

    # Administration Server: two server roots that never run (stand-in start-admin and
    # stop-admin), one plain and one HTTPS, waiting for config_directory; another beside them.
    admindir = root / "admin"
    admin_port = free_port()
    roots = {}
    for name in ("plain", "ssl", "other"):
        roots[name] = AdminServer(str(admindir / name))
        admin_builder.create(roots[name], ip="127.0.0.1", port=admin_port,
                             directory=(config_directory.ip, config_directory.port), users={ADMIN_USER: APW})
        for tool in ("start-admin", "stop-admin"):
            fake(tool, Path(roots[name].server_root))
    # HTTPS as builder.create(db_password=...) says it, without the certificate nothing here reads.
    magnus = Path(roots["ssl"].magnus_conf)
    magnus.write_text(magnus.read_text(encoding="utf-8").replace("Security off", "Security on"), encoding="utf-8")
    admin_common = {"ip_address": "127.0.0.1", "port": admin_port, "admin_user": ADMIN_USER, "admin_password": APW}
    w.bases["adminsrv"] = {
        "plain": {"server_root": roots["plain"].server_root, **admin_common},
        "ssl": {"server_root": roots["ssl"].server_root, **admin_common, "ssl": "true", "ssl_db_password": DPW},
    }
    w.parents["adminsrv"] = str(admindir)
    w.sentinels += [instances["other"].home, roots["other"].server_root]

    # Server roots whose configuration files are hostile (below root/h, a sentinel: no trial may
    # write there), with the stand-in commands that validate-all and start check first.
    for kind in HOSTILE_KINDS:
        if kind == "not executable":
            continue
        slug = kind.replace("/", "_").replace(" ", "-")
        inst = ms_layout.Instance(str(root / "h" / f"ms-{slug}"))
        for path in (inst.msg_conf, inst.dispatcher_cnf, inst.job_controller_cnf, inst.mmp_conf,
                     *inst.store_pidfiles()):
            make_hostile(Path(path), kind, rng)
        for tool in ("start-msg", "stop-msg"):
            fake(tool, Path(inst.home) / "sbin")
        w.root_dirs.setdefault("msgsrv", {})[kind] = inst.server_root
        admin = AdminServer(str(root / "h" / f"admin-{slug}"))
        for path in (admin.magnus_conf, admin.adm_conf):
            make_hostile(Path(path), kind, rng)
        for tool in ("start-admin", "stop-admin"):
            fake(tool, Path(admin.server_root))
        w.root_dirs.setdefault("adminsrv", {})[kind] = admin.server_root
    return w


@pytest.fixture(scope="module")
def root_dir():
    """ROOT_DIR and ROOT_DIR_B, root-owned 0755 with a file in each, for the module."""
    for path in (ROOT_DIR, ROOT_DIR_B):
        os.mkdir(path, 0o755)
        os.chown(path, 0, 0)
        Path(path, "keep").write_text("not the agents'\n")
    try:
        yield ROOT_DIR
    finally:
        for path in (ROOT_DIR, ROOT_DIR_B):
            shutil.rmtree(path, ignore_errors=True)


def snapshot(world: World | None, *extra_trees: str, pidfiles: set[str] = frozenset()) -> Snapshot:
    """Start watching what no trial may change: the sentinels, and *extra_trees*.  *pidfiles*
    are pid file paths the trials configure (their missing directories may be created)."""
    trees = [(ROOT_DIR, ()), ("/run/resource-agents", ("/run/resource-agents/mailha",))]
    trees += [(t, ()) for t in (world.sentinels if world else [])] + [(t, ()) for t in extra_trees]
    # Other sessions' cibsecret tests add and remove entries in the secrets directory.
    shot = Snapshot(strict_paths=[CANARY, "/var/lib/heartbeat/trace_ra"], strict_trees=trees,
                    shared_dirs=["/tmp", "/run", "/var/lib/pacemaker/lrm/secrets"], tokens=(TOKEN,),
                    instance_paths={os.path.normpath(p) for p in pidfiles if p.startswith("/")})
    shot.start()
    return shot


# -- trials -------------------------------------------------------------------------------------------


def pick(rng: random.Random, pool: list, count: int) -> list:
    """*count* items of *pool* drawn with *rng* (all of them with MAILHA_HOSTILE_FULL=1)."""
    return list(pool) if FULL or count >= len(pool) else rng.sample(pool, count)


def values_for(agent: str, param: P.Param, world: World, rng: random.Random) -> list[tuple[str, str]]:
    """The hostile values one parameter is tried with: all those made for its name or type, and
    VALUES_PER_PARAM more drawn from the generic ones."""
    kind = param.type
    own: list[tuple[str, str]] = []
    if param.secret:
        marker = {"password": PW, "test_password": TPW, "admin_password": APW,
                  "ssl_db_password": DPW}.get(param.name, HPW)
        picked = SECRET_VALUES[-2:] + pick(rng, SECRET_VALUES[:-2], SECRET_SAMPLE)
        return [(label, value.replace("{m}", marker)) for label, value in picked]
    if isinstance(kind, P.AbsPath):
        own = pick(rng, world.path_values(), PATH_SAMPLE)
        if param.name == "config_dir":
            own += [(f"dse.ldif is a {k}", d) for k, d in pick(rng, sorted(world.config_dirs.items()), FILE_SAMPLE)]
        if param.name in ("config_dir", "domain_dir", "post_office_dir", "instance_root", "server_root"):
            own += [("parent of the instance", world.parents[agent]), ("/", "/")]
        if param.name in ("domain_dir", "post_office_dir"):
            own += [(f"startup files are {k}", d) for k, d in pick(rng, sorted(world.gw_dirs.items()), FILE_SAMPLE)]
        if param.name == "server_root":
            own += [(f"configuration files: {k}", d)
                    for k, d in pick(rng, sorted(world.root_dirs[agent].items()), FILE_SAMPLE)]
        if param.name.endswith(("startup", "gwha_conf", "pidfile", "config_file")):
            own += [(f"{k} file", path) for k, path in pick(rng, sorted(world.files.items()), FILE_SAMPLE)]
        if param.name.endswith("binary") or param.name == "grpwise_script":
            own += [("/", "/"), ("directory", world.files["directory"]), ("FIFO", world.files["FIFO"]),
                    ("not executable", world.files["not executable"]), ("/dev/zero", "/dev/zero")]
        if param.name == "pidfile":
            own += [("in /run itself", f"/run/slapd-hostile-{TOKEN}.pid"),
                    ("in a missing directory of a root-owned one", f"{ROOT_DIR_B}/sub/x.pid")]
    elif isinstance(kind, P.Integer):
        own = pick(rng, NUMBERS, NUMBER_SAMPLE)
    elif isinstance(kind, P.Boolean):
        own = BOOLEANS
    elif isinstance(kind, P.Choice):
        own = [("upper case", kind.values[-1].upper()), ("TRACE", "TRACE"),
               ("fullwidth", "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in kind.values[0]))]
    elif isinstance(kind, P.Address):
        own = pick(rng, ADDRESSES, ADDRESS_SAMPLE)
    elif isinstance(kind, P.Command):
        own = [("unclosed quote", "'/bin/true"), ("relative", "bin/check x"), ("/", "/"), ("FIFO", world.files["FIFO"]),
               ("lone backslash", "/bin/true \\"), ("nonexistent", f"/nonexistent-{TOKEN}/check arg")]
    elif isinstance(kind, P.Name):
        own = [("slash", "a/b"), ("dot dot", ".."), ("at first", "@x")]
    if agent == "msgsrv" and param.name == "instance":
        own.append(("the layout's msg- prefix", "msg-hostile"))  # the name is without it
    if param.name == "services":
        own = SERVICE_SETS[:2] + pick(rng, SERVICE_SETS[2:], SERVICES_SAMPLE)
    seen = {value for _, value in own}
    generic = [item for item in GENERIC if item[1] not in seen]
    return own + pick(rng, generic, VALUES_PER_PARAM)


@dataclass
class Trial:
    """One configuration of one agent: a base configuration with what the label says changed."""

    agent: str
    base: str
    label: str
    params: dict[str, object]
    number: int
    deep: bool  # also a recurring monitor and reload-agent

    @property
    def instance(self) -> str:
        return f"hostile-{TOKEN}-{self.agent}-{self.number}"

    def run(self, action: str, **kw) -> Run:
        return Run(self.agent, action, self.params, label=f"{self.base}: {self.label}", instance=self.instance, **kw)


def static_trials(agent: str, world: World) -> list[Trial]:
    """The static trials of *agent*: each base unchanged, each parameter changed to each of its
    hostile values (on a base drawn at random), a few random combinations, whole
    configurations of junk."""
    rng = random.Random(f"{SEED}-{agent}")
    declared = AGENTS[agent].params
    bases = world.bases[agent]
    names = sorted(bases)
    trials: list[Trial] = []

    def add(base: str, label: str, params: dict) -> None:
        trials.append(Trial(agent, base, label, params, len(trials), deep=len(trials) % MONITOR_EVERY == 0))

    for base in names:
        add(base, "unchanged", dict(bases[base]))
    for param in declared:
        for label, value in values_for(agent, param, world, rng):
            base = rng.choice(names)
            add(base, f"{param.name}={label}", {**bases[base], param.name: value})
    for _ in range(COMBINED_TRIALS):
        base = rng.choice(names)
        changed = {p.name: rng.choice(values_for(agent, p, world, rng)) for p in rng.sample(declared, 3)}
        add(base, "combined " + ", ".join(f"{name}={label}" for name, (label, _) in changed.items()),
            {**bases[base], **{name: value for name, (_, value) in changed.items()}})
    # Whole configurations: nothing at all, every parameter empty, junk, lrm://, a FIFO; the
    # identifying parameters missing.
    every = [p.name for p in declared]
    base = names[0]
    add(base, "no parameters at all", {})
    for label, value in (("every parameter empty", ""), ("every parameter $(...)", f"$(touch {CANARY})"),
                         ("every parameter lrm://", "lrm://"), ("every parameter a FIFO", world.files["FIFO"])):
        add(base, label, {n: value for n in every})
    ident = [p.name for p in declared if p.unique or p.required]
    add(base, "identifying parameters missing", {k: v for k, v in bases[base].items() if k not in ident})
    return trials


def expected_problems(trial: Trial, runs: dict[str, Run], seen_product: bool) -> list[tuple[Run, str]]:
    """The exit codes a trial's runs should have: nothing of the instance can run."""
    found = []
    valid = runs["validate-all"].rc

    def want(kind: str, allowed: set, why: str) -> None:
        run = runs.get(kind)
        if run is not None and run.rc is not None and run.rc not in allowed:
            found.append((run, f"exit code {run.rc}, expected {sorted(allowed)}: {why}; reason {run.reason!r}"))

    static = {6} if valid == 6 else set()
    # validate-all stops at the first problem: a cibsecret this node lacks (5) may hide a static
    # mistake in another parameter, which a probe (needing no secret) then reports as 6.
    probe_static = {6} if valid == 6 or "cibsecret" in runs["validate-all"].reason else set()
    want("validate-all", {0, 5, 6}, "validate-all says 0, 5 or 6")
    want("reload-agent", {0, 5, 6}, "reload-agent checks parameters only")
    want("probe", {7} | probe_static, "nothing of the instance runs here (6 only when validate-all says 6)")
    want("monitor", {5, 7} | static, "nothing of the instance runs here (6 only when validate-all says 6)")
    want("start", {1, 5} | static, "the stand-in binaries exit 1 (6 only when validate-all says 6)")
    want("stop", {0, 1} if seen_product else {0},
         "nothing of the instance runs" + (" (a process of the product does)" if seen_product else
                                           " and no process of the product does"))
    if trial.label == "unchanged" and valid != 0:
        found.append((runs["validate-all"], f"the base configuration does not validate (harness): {runs['validate-all'].reason}"))
    return found


def reload_advertised(agent: str) -> bool:
    return AGENTS[agent].reload_action() is not None


def check_metadata(run: Run) -> list[str]:
    if run.rc != 0:
        return [f"meta-data exited {run.rc}"]
    try:
        doc = ET.fromstring(run.stdout)
    except ET.ParseError as err:
        return [f"meta-data is not well-formed XML: {err}"]
    if doc.tag != "resource-agent" or doc.get("version") not in ("1.0", "1.1"):
        return [f"meta-data root is <{doc.tag} version={doc.get('version')!r}>"]
    return []


HOSTILE_ACTIONS = ["", f"$(touch {CANARY})", "START", "monitor;id", "reload", "promote", "notify", "x" * 5000,
                   "../../bin/sh", "méta-data", "usage", "-h", "monitor\nstart"]
OCF_VERSIONS = [("1", "1"), ("1", "0"), ("", ""), ("$(id)", "x"), ("9" * 30, "1"), ("-1", "5"), ("٢", "٣"),
                ("1", "1.5"), ("2", "")]


class Report:
    """Every violation of a test, one entry per run with all its problems and how to reproduce it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.problems: dict[int, tuple[Run, list[str]]] = {}

    def add(self, run: Run | None, problem: str) -> None:
        if run is None:
            self.lines.append(problem)
        else:
            self.problems.setdefault(id(run), (run, []))[1].append(problem)

    def check(self, run: Run, secrets: tuple[str, ...] = SECRETS) -> None:
        for problem in hostile.run_problems(run, secrets):
            self.add(run, problem)

    def entries(self) -> list[str]:
        found = [f"{run.describe()}:\n" + "".join(f"    - {p}\n" for p in problems) + f"    repro: {run.repro()}"
                 for run, problems in self.problems.values()]
        return found + self.lines

    def assert_empty(self, title: str, path: Path) -> None:
        entries = self.entries()
        path.write_text("\n".join(entries) + "\n")
        if entries:
            shown = "\n".join(entries[:30])
            more = f"\n... and {len(entries) - 30} more" if len(entries) > 30 else ""
            pytest.fail(f"{title}: {len(entries)} violation(s) (all in {path}):\n{shown}{more}", pytrace=False)


def child_records(world: World, report: Report, agent_prefix: str) -> int:
    """Check what every stand-in the agents launched was given; returns how many ran."""
    count = 0
    for pid, environ, cmdline in hostile.recorded(str(world.records)):
        instance = hostile.environ_value(environ, "OCF_RESOURCE_INSTANCE") or "?"
        if not instance.startswith(agent_prefix):
            continue
        count += 1
        argv = cmdline.split(b"\0")[1:2]
        for problem in hostile.child_problems(f"child {b' '.join(argv).decode(errors='replace')} of {instance}",
                                              environ, cmdline, SECRETS):
            report.add(None, problem)
    return count


@pytest.mark.parametrize("agent", ["ldap", "gwia", "gwpoa", "msgsrv", "adminsrv"])
def test_static_trials(agent, world, root_dir, agent_runner, tmp_path):
    harness = Harness(str(tmp_path / "runs"), agent_runner)
    trials = static_trials(agent, world)
    report = Report()
    shot = snapshot(world, pidfiles={str(t.params.get("pidfile")) for t in trials if t.params.get("pidfile")})

    first = []
    for trial in trials:
        first += [trial.run("validate-all"), trial.run("monitor", interval=0)]
        if trial.deep:
            first.append(trial.run("monitor", interval=10000))
            if reload_advertised(agent):
                first.append(trial.run("reload-agent"))
    extras = [Run(agent, "meta-data", {}, label=f"OCF {major!r}.{minor!r}",
                  extra={"OCF_RA_VERSION_MAJOR": major, "OCF_RA_VERSION_MINOR": minor})
              for major, minor in OCF_VERSIONS]
    junk = next(t for t in trials if t.label == "every parameter $(...)")
    extras.append(Run(agent, "meta-data", junk.params, label=junk.label,
                      extra={"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}))
    extras += [Run(agent, action, world.bases[agent][sorted(world.bases[agent])[0]], label=f"action {action[:20]!r}")
               for action in HOSTILE_ACTIONS]
    # Pacemaker's order: probes and validation first, then start, then stop.
    done = harness.run_all(first + extras)
    starts = [trial.run("start") for trial in trials]
    done += harness.run_apart(starts, START_APART[agent]) if agent in START_APART else harness.run_all(starts)
    stops = [trial.run("stop") for trial in trials]
    with hostile.ProductWatch(PRODUCT[agent]) as watch:
        done += harness.run_all(stops)

    for run in done:
        report.check(run)
    for run in extras:
        if run.action == "meta-data":
            for problem in check_metadata(run):
                report.add(run, problem)
        elif run.rc not in (0, 2, 3):
            report.add(run, f"exit code {run.rc} for an action the agent does not have (expected 2 or 3; 0 for usage)")
    by_trial: dict[str, dict[str, Run]] = {}
    for run in done:
        by_trial.setdefault(run.instance, {})[run.kind] = run
    for trial, stop in zip(trials, stops):
        for run, problem in expected_problems(trial, by_trial[trial.instance], watch.seen(stop)):
            report.add(run, problem)
    launched = child_records(world, report, f"hostile-{TOKEN}-{agent}-")
    for change in shot.changes():
        report.add(None, f"changed outside the instance's files: {change}")
    shot.remove_created()
    print(f"\n{agent}: {len(trials)} static trials, {harness.count} runs, {launched} stand-in launches checked, "
          f"{len(report.entries())} violations")
    report.assert_empty(f"{agent} static hostile-input trials", tmp_path / "violations.txt")


# -- live trials: real servers started by the agents ---------------------------------------------------

#: Parameters that say which instance this is: changing one names another (or no) instance.
IDENTITY = {
    "ldap": ("server_type", "instance", "config_dir", "config_file", "instance_root", "binary"),
    "gwia": ("domain_dir", "domain", "mta_startup", "gwia_startup", "mta_binary", "gwia_binary"),
    "gwpoa": ("post_office_dir", "post_office", "startup", "binary"),
    "msgsrv": ("server_root", "instance", "services", "server_type"),
    "adminsrv": ("server_root",),
}
#: Hostile values tried per parameter on monitors of a running service.
LIVE_VALUES_PER_PARAM = 2
#: Short operation timeouts on a running service: a probe of an address that drops packets
#: gives up within them.
LIVE_TIMEOUT_MS = 6000


def secret_file(directory: Path, name: str, value: str) -> str:
    path = directory / name
    path.write_text(value)
    path.chmod(0o600)
    return str(path)


class Live:
    """One running service of one agent: its good parameters, its processes, and the trials."""

    def __init__(self, agent: str, params: dict, harness: Harness, report: Report, pids,
                 instance: str, beside=None) -> None:
        self.agent, self.params, self.harness, self.report = agent, params, harness, report
        self.pids = pids  # () -> the pids of the instance's processes
        self.instance = instance
        # () -> the pids of the other resources of the same installation (a Messaging Server's
        # core beside its services resource): no stop of this one may end one of them.
        self.beside = beside or (lambda: [])

    def run(self, action: str, params: dict | None = None, label: str = "good parameters", **kw) -> Run:
        kw.setdefault("timeout_ms", 60000 if action in ("start", "stop") else LIVE_TIMEOUT_MS)
        run = self.harness.run(Run(self.agent, action, self.params if params is None else params, label=label,
                                   instance=self.instance, **kw))
        self.report.check(run)
        return run

    def expect(self, run: Run, allowed: set, why: str) -> Run:
        if run.rc not in allowed:
            self.report.add(run, f"exit code {run.rc}, expected {sorted(allowed)}: {why}; reason {run.reason!r}")
        return run

    def start(self, label: str = "good parameters") -> None:
        self.expect(self.run("start", label=label), {0}, "a good configuration starts")
        self.check_children()

    def check_children(self) -> None:
        """Every process of the instance: no parameter, no secret, LC_ALL=C."""
        pids = self.pids()
        if not pids:
            self.report.add(None, f"{self.agent}: no process of the instance found after a successful start")
        for pid in pids:
            for problem in hostile.process_problems(pid, f"{self.agent} instance process", SECRETS):
                self.report.add(None, problem)

    def runtime_trials(self, world: World, rng: random.Random) -> int:
        """Hostile values of every parameter that does not identify the instance, on probes and
        monitors of the running service: it runs, so never 7; 6 only when validate-all says 6."""
        jobs = []
        for param in AGENTS[self.agent].params:
            if param.name in IDENTITY[self.agent]:
                continue
            for label, value in pick(rng, values_for(self.agent, param, world, rng), LIVE_VALUES_PER_PARAM):
                params = {**self.params, param.name: value}
                text = f"running; {param.name}={label}"
                jobs += [Run(self.agent, "validate-all", params, label=text, instance=self.instance,
                             timeout_ms=LIVE_TIMEOUT_MS),
                         Run(self.agent, "monitor", params, label=text, instance=self.instance, interval=0,
                             timeout_ms=LIVE_TIMEOUT_MS),
                         Run(self.agent, "monitor", params, label=text, instance=self.instance, interval=10000,
                             check_level=20, timeout_ms=LIVE_TIMEOUT_MS)]
        done = self.harness.run_all(jobs)
        for index in range(0, len(done), 3):
            valid, probe, monitor = done[index:index + 3]
            static = {6} if valid.rc == 6 else set()
            for run in (valid, probe, monitor):
                self.report.check(run)
            self.expect(valid, {0, 5, 6}, "validate-all says 0, 5 or 6")
            self.expect(probe, {0} | static, "the service runs (6 only when validate-all says 6)")
            self.expect(monitor, {0, 1, 5, 190} | static,
                        "the service runs: 0, 1 (a check fails), 190 (a login is rejected); 6 only when "
                        "validate-all says 6")
        return len(jobs)

    def foreign_trials(self, changes: list[tuple[str, dict]]) -> None:
        """Parameters naming another instance, or none (a parent directory of this one): the probe
        says not running, the stop kills nothing of this instance (nor of those beside it)."""
        for label, change in changes:
            params = {**self.params, **change}
            text = f"running; {label}"
            valid = self.run("validate-all", params, text)
            static = {6} if valid.rc == 6 else set()
            self.expect(self.run("monitor", params, text, interval=0), {7} | static,
                        "these parameters name no running instance")
            before, beside = sorted(self.pids()), sorted(self.beside())
            stop = self.run("stop", params, text)
            self.expect(stop, {0, 1}, "stop of an instance that is not running")
            self.untouched(stop, before, beside)

    def refused_trials(self, changes: list[tuple[str, dict]]) -> None:
        """Parameters that fail the agent's static checks (a services set that breaks a rule,
        instance=msg-NAME): wrong on every node, so validate-all and the probe say 6; a start with
        them is refused before it launches anything, so their stop says 0 at once and kills
        nothing, of this instance or beside it (a failed stop would fence the node for a typo)."""
        for label, change in changes:
            params = {**self.params, **change}
            text = f"running; {label}"
            self.expect(self.run("validate-all", params, text), {6}, "parameters that fail the static checks")
            self.expect(self.run("monitor", params, text, interval=0), {6}, "parameters that fail the static checks")
            before, beside = sorted(self.pids()), sorted(self.beside())
            stop = self.run("stop", params, text)
            self.expect(stop, {0}, "nothing these parameters could have started runs")
            self.untouched(stop, before, beside)

    def unusable_trials(self, changes: list[tuple[str, dict]]) -> None:
        """A parameter that identifies the instance made unusable (junk the framework drops, a
        cibsecret this node cannot load): validate-all says 5 or 6 and the probe 6 or 7 (a
        reference it cannot resolve names nothing here); the stop cannot tell which instance it
        is, and a process of the product runs (this instance's), so it kills nothing and says 1."""
        for label, change in changes:
            params = {**self.params, **change}
            text = f"running; {label}"
            self.expect(self.run("validate-all", params, text), {5, 6}, "an identifying parameter it cannot use")
            self.expect(self.run("monitor", params, text, interval=0), {6, 7},
                        "an identifying parameter it cannot use names no running instance")
            before, beside = sorted(self.pids()), sorted(self.beside())
            stop = self.run("stop", params, text)
            self.expect(stop, {1}, "cannot identify the instance while a process of the product (this one) runs")
            self.untouched(stop, before, beside)

    def untouched(self, stop: Run, before: list[int], beside: list[int]) -> None:
        """After a stop that named nothing of this instance: its processes run still (a wrongly
        killed instance is started again), and so do those beside it."""
        now = sorted(self.pids())
        if now != before:
            self.report.add(stop, f"the stop killed the running instance it did not name: pids {before} -> {now}")
            self.start("restart after a wrong kill")
        self.check_beside(stop, beside)

    def check_beside(self, stop: Run, beside: list[int]) -> None:
        now = sorted(self.beside())
        if now != beside:
            self.report.add(stop, f"the stop ended processes of another resource of the installation: pids "
                                  f"{beside} -> {now}")

    def stop_trials(self, changes: list[tuple[str, dict]]) -> None:
        """Stops with a bad parameter that does not identify the instance: stop never fails for a
        parameter, and never lies (0 means the instance is gone); it stops nothing beside it."""
        for label, change in changes:
            beside = sorted(self.beside())
            stop = self.run("stop", {**self.params, **change}, f"running; stop with {label}")
            self.expect(stop, {0}, "a parameter problem never fails a stop")
            left = self.pids()
            if stop.rc == 0 and left:
                self.report.add(stop, f"stop said 0 but the instance still runs: pids {left}")
            self.check_beside(stop, beside)
            self.restart(label, left)

    def damaged_trials(self, changes: list[tuple[str, dict]]) -> None:
        """Parameters that still name this instance (its unique ones are intact) but break another
        parameter that tells its processes (a binary that is a directory): whatever the probe says,
        a stop either stops the whole instance (0) or kills nothing of it and says so (1)."""
        for label, change in changes:
            params = {**self.params, **change}
            text = f"running; {label}"
            valid = self.run("validate-all", params, text)
            static = {6} if valid.rc == 6 else set()
            self.expect(self.run("monitor", params, text, interval=0), {0, 1, 7} | static, "an honest answer")
            before, beside = sorted(self.pids()), sorted(self.beside())
            stop = self.run("stop", params, text)
            self.expect(stop, {0, 1}, "stop with a parameter that cannot tell the instance's processes")
            left = sorted(self.pids())
            if stop.rc == 0 and left:
                self.report.add(stop, f"stop said 0 but the instance still runs: pids {before} -> {left}")
            elif stop.rc != 0 and left != before:
                self.report.add(stop, f"stop failed but killed part of the instance: pids {before} -> {left}")
            self.check_beside(stop, beside)
            self.restart(label, left)

    def restart(self, label: str, left: list[int]) -> None:
        """Back to the whole instance running, as the next trial expects it."""
        if left:
            self.expect(self.run("stop", label="clean-up stop"), {0}, "a good stop")
        self.start(f"restart after the stop with {label}")

    def finish(self) -> None:
        beside = sorted(self.beside())
        self.check_beside(self.expect(self.run("stop"), {0}, "a good stop"), beside)
        if self.pids():
            self.report.add(None, f"{self.agent}: processes left after stop: {self.pids()}")
        self.expect(self.run("monitor", interval=10000), {7}, "stopped")


def conclude_live(label: str, records: Path, shot: Snapshot, report: Report, harness: Harness,
                  count: int | None, tmp_path: Path) -> None:
    """The end of a live test: the monitor programs' records and the files outside the instance
    checked, the counts printed, every violation reported."""
    programs = check_program_records(records, report)
    for change in shot.changes():
        report.add(None, f"changed outside the instance's files: {change}")
    monitors = "" if count is None else f" ({count} hostile monitors)"
    print(f"\nlive {label}: {harness.count} runs{monitors}, {programs} monitor programs checked")
    report.assert_empty(f"live {label} hostile-input trials", tmp_path / "violations.txt")


def check_program_records(records: Path, report: Report) -> int:
    """The monitor program got no secret, no secret parameter, LC_ALL=C; the non-secret
    parameters only when monitor_program_params asked for them (and the operation's
    OCF_RESKEY_CRM_meta_*, as documented)."""
    count = 0
    for pid, environ, cmdline in hostile.recorded(str(records)):
        count += 1
        agent = hostile.environ_value(environ, "OCF_RESOURCE_TYPE") or "?"
        public = [p.name for p in AGENTS[agent].params if not p.secret] if agent in AGENTS else []
        asked = (hostile.environ_value(environ, "OCF_RESKEY_monitor_program_params") or "").strip().lower()
        allowed = public if asked in ("true", "yes", "1", "on", "y") else []
        for problem in hostile.child_problems(f"{agent} monitor_program (pid {pid})", environ, cmdline, SECRETS,
                                              params_allowed=allowed, meta_allowed=True):
            report.add(None, problem)
    return count


@pytest.fixture
def live_harness(agent_runner, tmp_path):
    return Harness(str(tmp_path / "runs"), agent_runner)


@pytest.mark.agent_lifecycle
def test_live_openldap(openldap_factory, world, root_dir, live_harness, tmp_path):
    inst = openldap_factory(password_file=secret_file(tmp_path, "root.pw", PW))
    dn = dsinstance.add_test_user(inst, "probe", secret_file(tmp_path, "probe.pw", TPW))
    inst.stop()
    records = tmp_path / "records"
    records.mkdir()
    program = hostile.write_recorder(str(tmp_path / "check"), str(records), exit_code=0)
    params = {"server_type": "openldap", "config_dir": inst.config_dir, "pidfile": inst.pidfile, "port": inst.port,
              "listen_address": "127.0.0.1", "user": inst.user, "group": inst.group, "bind_dn": inst.root_dn,
              "password": PW, "test_user_dn": dn, "test_password": TPW, "monitor_program": f"{program} MKT",
              "monitor_program_params": "true"}

    def pids() -> list[int]:
        return [i.pid for i in find(ProcessMatch(exe_names=("slapd",), args=(("-F", inst.config_dir),)), every=True)]

    report = Report()
    shot = snapshot(world)
    live = Live("ldap", params, live_harness, report, pids, f"hostile-{TOKEN}-live-openldap")
    try:
        live.expect(live.run("monitor", interval=0), {7}, "not started yet")
        live.expect(live.run("validate-all"), {0}, "a good configuration")
        live.start()
        live.expect(live.run("monitor", interval=0), {0}, "started")
        live.expect(live.run("monitor", interval=10000, check_level=20), {0}, "started, the test user logs in")
        live.expect(live.run("monitor", {**params, "monitor_program_params": "false"}, "no parameters for the program",
                             interval=10000), {0}, "started")
        live.expect(live.run("monitor", {**params, "test_password": TPW + "-wrong"}, "wrong test_password",
                             interval=10000, check_level=20), {190}, "a rejected login is degraded")
        live.expect(live.run("monitor", {**params, "password": PW + "-wrong"}, "wrong password",
                             interval=10000), {190}, "a rejected bind is degraded")
        count = live.runtime_trials(world, random.Random(f"{SEED}-live-openldap"))
        parent = os.path.dirname(inst.root)
        live.foreign_trials([("config_dir = the instance root (parent of slapd.d)", {"config_dir": inst.root}),
                             ("config_dir = its parent", {"config_dir": parent}),
                             ("config_dir=/", {"config_dir": "/"}),
                             ("server_type=389ds", {"server_type": "389ds"}),
                             ("config_dir junk", {"config_dir": "relative/x"})])
        live.damaged_trials([("binary = a directory", {"binary": "/usr/sbin"}), ("binary=/", {"binary": "/"})])
        live.stop_trials([("port=-1", {"port": "-1"}), ("password=lrm://", {"password": "lrm://"}),
                          ("log_level $(...)", {"log_level": f"$(touch {CANARY})"}),
                          ("pidfile a FIFO", {"pidfile": world.files["FIFO"]}),
                          ("second_level_monitor huge", {"second_level_monitor": "9" * 40}),
                          ("listen_address junk", {"listen_address": "999.1.1.1"})])
        live.finish()
    finally:
        live_harness.runner_for("ldap").started.append(params)  # the fixture stops it, whatever happened
    conclude_live("OpenLDAP", records, shot, report, live_harness, count, tmp_path)


@pytest.mark.agent_lifecycle
def test_live_389ds(ds389_factory, world, root_dir, live_harness, tmp_path):
    inst = ds389_factory(secure_port=free_port(), password_file=secret_file(tmp_path, "root.pw", PW))
    dn = dsinstance.add_test_user(inst, "probe", secret_file(tmp_path, "probe.pw", TPW))
    inst.stop()
    records = tmp_path / "records"
    records.mkdir()
    program = hostile.write_recorder(str(tmp_path / "check"), str(records), exit_code=0)
    params = {"server_type": "389ds", "instance": inst.name, "config_dir": inst.config_dir, "pidfile": inst.pidfile,
              "port": inst.port, "ssl_port": inst.secure_port, "bind_dn": inst.root_dn, "password": PW,
              "test_user_dn": dn, "test_password": TPW, "monitor_program": f"{program} MKT",
              "monitor_program_params": "true"}

    def pids() -> list[int]:
        match = ProcessMatch(exe_names=("ns-slapd",), args=(("-D", inst.config_dir),))
        return [i.pid for i in find(match, every=True)]

    report = Report()
    shot = snapshot(world)
    live = Live("ldap", params, live_harness, report, pids, f"hostile-{TOKEN}-live-389ds")
    try:
        live.expect(live.run("monitor", interval=0), {7}, "not started yet")
        live.expect(live.run("validate-all"), {0}, "a good configuration")
        live.start()
        live.expect(live.run("monitor", interval=0), {0}, "started")
        live.expect(live.run("monitor", interval=10000, check_level=20), {0}, "started, the test user logs in")
        live.expect(live.run("monitor", {**params, "test_password": TPW + "-wrong"}, "wrong test_password",
                             interval=10000, check_level=20), {190}, "a rejected login is degraded")
        live.expect(live.run("monitor", {**params, "password": PW + "-wrong"}, "wrong password",
                             interval=10000), {190}, "a rejected bind is degraded")
        parent = os.path.dirname(inst.config_dir)  # /etc/dirsrv: every instance of the node is below it
        live.foreign_trials([("config_dir = /etc/dirsrv, the parent of every instance",
                              {"config_dir": parent, "instance": "hostile"}),
                             ("config_dir=/", {"config_dir": "/"}),
                             ("server_type=openldap", {"server_type": "openldap"})])
        live.damaged_trials([("binary=/", {"binary": "/"})])
        live.stop_trials([("test_password=lrm://", {"test_password": "lrm://"}),
                          ("port=99999", {"port": "99999"})])
        live.finish()
    finally:
        live_harness.runner_for("ldap").started.append(params)
    conclude_live("389-ds", records, shot, report, live_harness, None, tmp_path)


def with_console(startup: str, password: str, imap_port: int | None = None) -> None:
    """Give a startup file an HTTP console login (and IMAP4), as an admin would."""
    with open(startup, "a", encoding="utf-8") as handle:
        handle.write(f"--httpuser admin\n--httppassword {password}\n")
        if imap_port:
            handle.write(f"--imap\n--imapport {imap_port}\n")


@pytest.mark.agent_lifecycle
def test_live_groupwise(gwlab, world, root_dir, live_harness, tmp_path):
    from gwtest import free_port as gw_free_port

    dom, po = gwlab.domain("dom1"), gwlab.post_office("po1", "dom1")
    others = [gwlab.domain("dom2"), gwlab.post_office("po2", "dom2")]  # beside them, never named
    with_console(dom.layout.mta_startup, HPW)
    with_console(po.layout.poa_startup, HPW, imap_port=gw_free_port(po.ip))
    records = tmp_path / "records"
    records.mkdir()
    program = hostile.write_recorder(str(tmp_path / "check"), str(records), exit_code=0)
    secret = {"http_user": "admin", "http_password": HPW, "test_user": "probe", "test_password": TPW,
              "monitor_program": f"{program} GW", "monitor_program_params": "true"}
    gwia_params, poa_params = {**dom.params, **secret}, {**po.params, **secret}

    def gwia_pids() -> list[int]:
        return (gwlab.agent_pids("gwmta", dom.layout.mta_startup) + gwlab.agent_pids("gwia", dom.layout.gwia_startup))

    def poa_pids() -> list[int]:
        return gwlab.agent_pids("gwpoa", po.layout.poa_startup)

    report = Report()
    shot = snapshot(world, *(o.layout.directory for o in others))
    gwia = Live("gwia", gwia_params, live_harness, report, gwia_pids, f"hostile-{TOKEN}-live-gwia")
    gwpoa = Live("gwpoa", poa_params, live_harness, report, poa_pids, f"hostile-{TOKEN}-live-gwpoa")
    count = 0
    try:
        for live in (gwia, gwpoa):
            live.expect(live.run("monitor", interval=0), {7}, "not started yet")
            live.expect(live.run("validate-all"), {0}, "a good configuration")
            live.start()
            live.expect(live.run("monitor", interval=0), {0}, "started")
            live.expect(live.run("monitor", interval=10000, check_level=20), {0}, "started, the test user logs in")
            live.expect(live.run("monitor", {**live.params, "http_password": HPW + "-wrong"}, "wrong http_password",
                                 interval=10000), {190}, "a rejected console login is degraded")
        for pid in gwlab.pids():  # everything of the installation, the agents and what they spawned
            for problem in hostile.process_problems(pid, "GroupWise process", SECRETS):
                report.add(None, problem)
        count += gwia.runtime_trials(world, random.Random(f"{SEED}-live-gwia"))
        count += gwpoa.runtime_trials(world, random.Random(f"{SEED}-live-gwpoa"))
        gwia.foreign_trials([("domain_dir = the partition, parent of every domain", {"domain_dir": str(gwlab.mount)}),
                             ("domain_dir = the post office's", {"domain_dir": po.layout.directory}),
                             ("domain_dir=/", {"domain_dir": "/"}),
                             ("domain_dir junk", {"domain_dir": "relative/x"})])
        gwia.damaged_trials([("mta_binary=/", {"mta_binary": "/"}),
                             ("gwia_binary a FIFO", {"gwia_binary": world.files["FIFO"]})])
        gwpoa.foreign_trials([("post_office_dir = the partition", {"post_office_dir": str(gwlab.mount)}),
                              ("startup = the MTA's startup file", {"startup": dom.layout.mta_startup}),
                              ("post_office_dir=lrm://", {"post_office_dir": "lrm://"})])
        gwpoa.damaged_trials([("binary=/", {"binary": "/"})])
        gwia.stop_trials([("http_password=lrm://", {"http_password": "lrm://"}),
                          ("gwha_binary a FIFO", {"gwha_binary": world.files["FIFO"]})])
        gwpoa.stop_trials([("launch junk", {"launch": f"$(touch {CANARY})"}),
                           ("test_password=lrm://", {"test_password": "lrm://"})])
        gwpoa.finish()
        gwia.finish()
    finally:
        live_harness.runner_for("gwpoa").started.append(poa_params)
        live_harness.runner_for("gwia").started.append(gwia_params)
    conclude_live("GroupWise", records, shot, report, live_harness, count, tmp_path)


#: The daemons of a Messaging Server core resource and of a client services resource.
MS_CORE, MS_CLIENTS = ("watcher", "stored", "imsched"), ("imapd", "popd", "mshttpd")


@pytest.mark.agent_lifecycle
def test_live_msgsrv(mslab, world, root_dir, live_harness, tmp_path):
    """The core and the client services of one emulated Messaging Server instance, each its own
    resource: no trial of one ends a process of the other."""
    ms = mslab.instance("ms", users={"probe": TPW})
    other = mslab.instance("other")  # beside it, never started; one foreign trial names it
    records = tmp_path / "records"
    records.mkdir()
    program = hostile.write_recorder(str(tmp_path / "check"), str(records), exit_code=0)
    watch = {"monitor_program": f"{program} MS", "monitor_program_params": "true"}
    core_params = ms.core(**watch)
    clients_params = ms.clients(test_user="probe", test_password=TPW, **watch)
    ports = ms.ports

    def core_pids() -> list[int]:
        return sorted(pid for name in MS_CORE for pid in ms.pids(name))

    def clients_pids() -> list[int]:
        return sorted(pid for name in MS_CLIENTS for pid in ms.pids(name))

    report = Report()
    shot = snapshot(world, other.home)
    core = Live("msgsrv", core_params, live_harness, report, core_pids, f"hostile-{TOKEN}-live-ms-core",
                beside=clients_pids)
    clients = Live("msgsrv", clients_params, live_harness, report, clients_pids, f"hostile-{TOKEN}-live-ms-clients",
                   beside=core_pids)
    count = 0
    try:
        for live in (core, clients):  # the services need the store: the core first
            live.expect(live.run("monitor", interval=0), {7}, "not started yet")
            live.expect(live.run("validate-all"), {0}, "a good configuration")
            live.start()
            live.expect(live.run("monitor", interval=0), {0}, "started")
        core.expect(core.run("monitor", interval=10000, check_level=10), {0}, "started, stored -t -v passes")
        clients.expect(clients.run("monitor", interval=10000, check_level=20), {0}, "started, the test user logs in")
        clients.expect(clients.run("monitor", {**clients_params, "test_password": TPW + "-wrong"},
                                   "wrong test_password", interval=10000, check_level=20),
                       {190}, "a rejected login is degraded")
        for pid in ms.pids():  # everything of the instance, whichever resource started it
            for problem in hostile.process_problems(pid, "Messaging Server process", SECRETS):
                report.add(None, problem)
        count += clients.runtime_trials(world, random.Random(f"{SEED}-live-msgsrv"))
        clients.refused_trials([
            ("services=nosuch=1", {"services": "nosuch=1"}),
            ("instance=msg-x (the layout's prefix)", {"instance": "msg-x"}),
            ("services = the core's with imap", {"services": f"core={ports['core']} imap={ports['imap']}"}),
            ("services imap and pop on one port", {"services": f"imap={ports['imap']} pop={ports['imap']}"}),
        ])
        core.refused_trials([("server_type=MMP, which has no core", {"server_type": "MMP"}),
                             ("services=core without the watcher's port", {"services": "core"})])
        clients.unusable_trials([
            ("services with a line break", {"services": f"imap={ports['imap']}\npop={ports['pop']}"}),
            ("services=lrm://", {"services": "lrm://"}),
            ("server_type junk", {"server_type": f"$(touch {CANARY})"}),
            ("instance junk", {"instance": "a/b"}),
            ("instance=lrm://", {"instance": "lrm://"}),
        ])
        core.unusable_trials([("server_root junk", {"server_root": "relative/x"})])
        parent = os.path.dirname(ms.inst.server_root)
        mta = {"services": f"smtp={ports['smtp']}", "test_user": None, "test_password": None}
        clients.foreign_trials([
            ("server_root = the parent of the instance", {"server_root": parent}),
            ("server_root = another instance beside it", {"server_root": other.inst.server_root}),
            ("instance=hostile, an iMS 5.x instance that is not there", {"instance": "hostile"}),
            ("services = the MTA's, which does not run", mta),
        ])
        # (every trial of the services resource above checked that the core ran on untouched)
        core.foreign_trials([("services = the MTA's, which does not run", {"services": mta["services"]})])
        clients.damaged_trials([("launcher=msstart, which the instance lacks", {"launcher": "msstart"})])
        clients.stop_trials([("test_password=lrm://", {"test_password": "lrm://"}),
                             ("launcher junk", {"launcher": f"$(touch {CANARY})"}),
                             ("ip_address junk", {"ip_address": "999.1.1.1"})])
        core.stop_trials([("second_level_monitor huge", {"second_level_monitor": "9" * 40})])
        core.finish()  # with the services running: the core's stop leaves them alone
        clients.finish()
    finally:
        live_harness.runner_for("msgsrv").started.extend([core_params, clients_params])  # stopped in reverse
    conclude_live("Messaging Server", records, shot, report, live_harness, count, tmp_path)


@pytest.mark.agent_lifecycle
def test_live_adminsrv(adminlab, world, root_dir, live_harness, tmp_path):
    admin = adminlab.server("admin", ssl=True)
    # The same installation laid out again with the module's markers as the admin's and the
    # trust database's passwords (the fixture's are fixed words).
    admin_builder.create(admin.admin, ip=admin.ip, port=admin.port,
                         directory=(adminlab.directory.ip, adminlab.directory.port),
                         users={ADMIN_USER: APW}, db_password=DPW)
    other = adminlab.server("other")  # beside it, never started; one foreign trial names it
    records = tmp_path / "records"
    records.mkdir()
    program = hostile.write_recorder(str(tmp_path / "check"), str(records), exit_code=0)
    params = admin.params(admin_password=APW, ssl_db_password=DPW, monitor_program=f"{program} ADM",
                          monitor_program_params="true")
    report = Report()

    def pids() -> list[int]:
        return sorted(admin.pids())

    def pin_left(when: str) -> None:
        """The pin file (and its marker) is the start's only: none is left once it is over."""
        for path in (admin.admin.pin_file, admin.admin.pin_file + adminsrv_agent.PIN_MARK):
            if os.path.lexists(path):
                report.add(None, f"adminsrv: {path} left {when}")

    shot = snapshot(world, other.root)
    live = Live("adminsrv", params, live_harness, report, pids, f"hostile-{TOKEN}-live-adminsrv")
    try:
        live.expect(live.run("monitor", interval=0), {7}, "not started yet")
        live.expect(live.run("validate-all"), {0}, "a good configuration")
        live.start()
        pin_left("after the start")
        live.expect(live.run("monitor", interval=0), {0}, "started")
        live.expect(live.run("monitor", interval=10000, check_level=10), {0},
                    "started, the admin logs in over HTTPS")
        live.expect(live.run("monitor", {**params, "admin_password": APW + "-wrong"}, "wrong admin_password",
                             interval=10000, check_level=10), {190}, "a rejected login is degraded")
        count = live.runtime_trials(world, random.Random(f"{SEED}-live-adminsrv"))
        live.foreign_trials([("server_root = its parent", {"server_root": os.path.dirname(admin.root)}),
                             ("server_root=/", {"server_root": "/"}),
                             ("server_root = another installation beside it", {"server_root": other.root}),
                             ("server_root = its configuration directory", {"server_root": admin.admin.config_dir})])
        live.unusable_trials([("server_root junk", {"server_root": "relative/x"}),
                              ("server_root=lrm://", {"server_root": "lrm://"})])
        live.stop_trials([("ssl_db_password=lrm://", {"ssl_db_password": "lrm://"}),
                          ("admin_password=lrm://", {"admin_password": "lrm://"}),
                          ("ssl junk", {"ssl": "maybe"})])
        live.finish()
    finally:
        live_harness.runner_for("adminsrv").started.append(params)
    pin_left("after the trials")
    conclude_live("Administration Server", records, shot, report, live_harness, count, tmp_path)


def test_the_properties_catch_what_they_look_for(tmp_path):
    """The checks above can fail: each property flags a run, a child or a change made to break it."""
    def problems(**kw) -> list[str]:
        return hostile.run_problems(Run("ldap", "stop", {}, **kw), SECRETS)

    assert problems(rc=0, stderr="ocf-exit-reason:fine\n") == []
    assert "a hang" in problems(rc=None)[0]
    assert "not an OCF exit code" in problems(rc=42)[0]
    assert "traceback" in problems(rc=1, logs={"debug.log": "Traceback (most recent call last):"})[0]
    assert "internal error" in problems(rc=1, stderr="ocf-exit-reason:internal error in stop: x\n")[0]
    assert "129 bytes" in problems(rc=1, stderr="ocf-exit-reason:" + "é" * 64 + "x\n")[0]
    assert "2 exit reason lines" in problems(rc=1, stderr="ocf-exit-reason:a\nocf-exit-reason:b\n")[0]
    assert "a secret" in problems(rc=0, logs={"trace/x": f"param password={PW[:12]}"})[0]

    environ = f"OCF_RESKEY_password={PW}\0LC_ALL=en_US.UTF-8\0".encode()
    found = hostile.child_problems("slapd", environ, f"slapd\0-w\0{TPW}\0".encode(), SECRETS)
    assert [p.split(": ", 1)[1][:12] for p in found] == [
        "the agent's ", "environment ", "a secret (Pw", "a secret (Tp"]
    assert hostile.child_problems("slapd", b"LC_ALL=C\0OCF_RESKEY_CRM_meta_interval=0\0", b"slapd\0", SECRETS,
                                  meta_allowed=True) == []

    sentinel, shared = tmp_path / "sentinel", tmp_path / "shared"
    sentinel.mkdir()
    (shared / "kept").mkdir(parents=True)
    shot = Snapshot(strict_paths=[], strict_trees=[(str(sentinel), ())], shared_dirs=[str(shared)], tokens=(TOKEN,),
                    instance_paths={str(shared / "pid" / "x.pid")})
    shot.start()
    assert shot.changes() == []
    (shared / "kept").chmod(0o700)
    (shared / f"stray-{TOKEN}").write_text("")
    (shared / "pid").mkdir()  # on the way to a configured pid file: allowed
    os.chown(shared / "pid", 105, 109)
    (sentinel / "new").write_text("")
    changed = shot.changes()
    assert len(changed) == 4 and all(str(shared / "pid") not in c for c in changed), changed
    shot.remove_created()
    assert not (shared / "pid").exists()
