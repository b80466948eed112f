"""``ocf:mailha:ldap``: the directory server of a mail system.

Manages one instance of 389 Directory Server (``ns-slapd -D CONFIG_DIR``), Sun/Netscape Directory
Server 5.x (``start-slapd``/``stop-slapd`` in its instance root) or OpenLDAP (``slapd -F``/``-f``),
following seed 004's Directory Server agent: first-level process check, second-level LDAP search
with a cadence, SSL port check, a monitor program, and in Pacemaker's terms: probes that are
safe with unmounted shared storage, a start that returns when the server answers, a stop that
escalates before its timeout, and a server bound to the resource's virtual IP.
"""

import os

from .. import monitor
from ..directory import paths
from ..ocf.agent import Action, Agent
from ..ocf.codes import GenericError, Misconfigured, NotInstalled
from ..ocf.log import level_param as log_level_param
from ..ocf.params import AbsPath, Address, Choice, Name, Param, Port, Text
from ..service import lifecycle

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Tuple

    from ..ocf.agent import Context
    from ..ocf.params import Params
    from ..proc import ProcessMatch
    from ..service.model import Service

DS389, OPENLDAP, SUNDS = "389ds", "openldap", "sunds"

PARAMS = [
    Param("server_type", Choice(DS389, OPENLDAP, SUNDS), "Directory server product",
          "389ds: 389 Directory Server (ns-slapd); openldap: OpenLDAP slapd; sunds: Sun/Netscape/"
          "iPlanet Directory Server 5.x started with start-slapd in its instance root.",
          default=DS389),
    Param("instance", Name(), "389-ds instance name",
          "The NAME of slapd-NAME. Gives the default config_dir /etc/dirsrv/slapd-NAME and pidfile "
          "/run/dirsrv/slapd-NAME.pid. Required for 389ds unless config_dir is set.", unique=True),
    Param("config_dir", AbsPath(), "Configuration directory",
          "389ds: the directory holding dse.ldif (ns-slapd -D), e.g. on the shared file system. "
          "openldap: the cn=config directory (slapd -F), e.g. /srv/ldap/slapd.d.", unique=True),
    Param("config_file", AbsPath(), "OpenLDAP slapd.conf",
          "openldap only: a slapd.conf file (slapd -f) instead of a cn=config directory.", unique=True),
    Param("instance_root", AbsPath(), "Sun DS instance root",
          "sunds only: the instance directory serverRoot/slapd-ID holding start-slapd and stop-slapd "
          "(seed 004's InstanceRoot), e.g. /sunone/dir51/srvr/slapd-mail.", unique=True),
    Param("binary", AbsPath(), "Server binary",
          "The server executable; default /usr/sbin/ns-slapd (389ds) or /usr/sbin/slapd (openldap)."),
    Param("pidfile", AbsPath(), "PID file",
          "Where the server writes its PID. 389ds default /run/dirsrv/slapd-NAME.pid (made for the "
          "server's user where missing); openldap: its olcPidFile. Optional: processes are also found "
          "by binary and configuration path."),
    Param("listen_address", Address(), "Virtual IP to bind to",
          "The resource's virtual IP. The server is bound to it alone (389ds nsslapd-listenhost, "
          "set in dse.ldif at start with a backup; openldap slapd -h), start refuses to run when the "
          "address is not on this node, and the second-level monitor searches on it. Unset: all "
          "addresses, probed on 127.0.0.1."),
    Param("port", Port(), "LDAP port", "The non-secure LDAP port (seed 004's LDAPPort).", default="389"),
    Param("ssl_port", Port(allow_zero=True), "LDAPS port",
          "The secure port; when not 0 the second-level monitor checks that LDAPS answers there.",
          default="0"),
    Param("user", Name(), "OpenLDAP user", "openldap only: run slapd as this user (slapd -u)."),
    Param("group", Name(), "OpenLDAP group", "openldap only: run slapd with this group (slapd -g)."),
    monitor.cadence_param("Search the directory (and check LDAPS)"),
    Param("monitor_base", Text(), "Base DN searched by the monitor",
          "Default: cn=monitor for 389ds (readable anonymously), the root DSE for the others.",),
    Param("bind_dn", Text(), "Bind DN for the monitor search", "Default: anonymous."),
    Param("password", Text(), "Password of bind_dn", secret=True),
    Param("test_user_dn", Text(), "Test user DN for the synthetic transaction",
          "When set, the second-level monitor also binds as this user and reads its own entry "
          "(a login, as a mail server would do it)."),
    Param("test_password", Text(), "Password of test_user_dn", secret=True),
    monitor.PROGRAM_PARAM,
    monitor.PROGRAM_PARAMS_PARAM,
    log_level_param(),
]

ACTIONS = [
    Action("start", 120),
    Action("stop", 120),
    Action("monitor", 30, interval=20, depth=0),
    Action("validate-all", 10),
    Action("meta-data", 5),
]

AGENT = Agent(
    "ldap",
    "Directory server (389-ds, OpenLDAP, Sun DS) of a mail system",
    "Starts, stops and monitors one directory server instance: 389 Directory Server, OpenLDAP "
    "or Sun/Netscape Directory Server 5.x. The monitor checks the instance's processes, then "
    "(every second_level_monitor-th time) searches the directory on its address, checks the "
    "LDAPS port, logs in as a test user and runs a monitor program when configured. Passwords "
    "are never put on a command line or in a log.",
    PARAMS,
    ACTIONS,
)


# -- where things are ------------------------------------------------------------------------

def config_dir(p: "Params") -> "Optional[str]":
    if p.config_dir:
        return p.config_dir
    if p.server_type == DS389 and p.instance:
        return paths.ds389_config_dir(p.instance)
    return None


def binary(p: "Params") -> str:
    return p.binary or (paths.SLAPD if p.server_type == OPENLDAP else paths.NS_SLAPD)


def pidfile(p: "Params") -> "Optional[str]":
    if p.pidfile:
        return p.pidfile
    if p.server_type == DS389 and p.instance:
        return paths.ds389_pidfile(p.instance)
    if p.server_type == SUNDS and p.instance_root:
        return paths.sunds_pidfile(p.instance_root)
    return None


def urls(p: "Params") -> str:
    """OpenLDAP's -h: bound to the virtual IP alone when one is configured."""
    host = p.listen_address or ""
    if ":" in host:
        host = f"[{host}]"
    listen = [f"ldap://{host}:{p.port}/"]
    if p.ssl_port:
        listen.append(f"ldaps://{host}:{p.ssl_port}/")
    return " ".join(listen)


def identity(p: "Params") -> "Tuple[str, str]":
    """The option and path that name this instance on the server's command line, exactly:
    ``-D`` with the config directory (389-ds, and Sun DS's instance root), ``-F`` or ``-f``
    (OpenLDAP).  A parent directory never matches the instances below it."""
    if p.server_type == SUNDS:
        if not p.instance_root:
            raise Misconfigured("server_type=sunds needs 'instance_root' (the slapd-ID directory)")
        return "-D", p.instance_root
    if p.server_type == OPENLDAP:
        if bool(p.config_dir) == bool(p.config_file):
            raise Misconfigured("server_type=openldap needs exactly one of 'config_dir' (slapd.d) and "
                                "'config_file' (slapd.conf)")
        return ("-f", p.config_file) if p.config_file else ("-F", p.config_dir)
    where = config_dir(p)
    if not where:
        raise Misconfigured("server_type=389ds needs 'instance' (slapd-NAME) or 'config_dir'")
    return "-D", where


def process_match(p: "Params") -> "ProcessMatch":
    """The instance's server: its option and path (:func:`identity`) on the command line of
    the product's server program, whether the configured ``binary`` or the product's own name
    (a ``binary`` that names no program must not hide the running server from stop)."""
    from ..proc import ProcessMatch

    product = "slapd" if p.server_type == OPENLDAP else "ns-slapd"  # start-slapd runs ./ns-slapd
    names = (product,) if p.server_type == SUNDS else (binary(p), product)
    return ProcessMatch(exe_names=names, args=(identity(p),), pidfile=pidfile(p))


#: Parameters besides the unique ones whose default could name another instance's processes.
IDENTITY = ("server_type", "binary")


def any_server() -> "ProcessMatch":
    """Any directory server process: what a stop that cannot identify its instance looks for."""
    from ..proc import ProcessMatch

    return ProcessMatch(exe_names=("ns-slapd", "slapd"))


def command(p: "Params") -> "List[str]":
    if p.server_type == DS389:
        argv = [binary(p), "-D", config_dir(p)]
        return argv + (["-i", pidfile(p)] if pidfile(p) else [])
    if p.server_type == OPENLDAP:
        argv = [binary(p), "-h", urls(p)]
        argv += ["-f", p.config_file] if p.config_file else ["-F", p.config_dir]
        argv += ["-u", p.user] if p.user else []
        return argv + (["-g", p.group] if p.group else [])
    return [os.path.join(p.instance_root, "start-slapd")]


def log_hint(p: "Params") -> str:
    if p.server_type == DS389:
        return f"; see the errors log of {config_dir(p)}"
    return "; see slapd's syslog messages"


def service(p: "Params") -> "Service":
    """The instance as the lifecycle sees it: one server process, its LDAP (and LDAPS) port on
    the virtual IP, the bind of the monitor search, the test user's login."""
    from ..service.model import Command, Credentials, Endpoint, Member, Service

    match = process_match(p)  # first: it raises when the parameters name no instance
    auth = Credentials(p.bind_dn, p.password, "bind_dn/password") if p.bind_dn else None
    base = p.monitor_base if p.monitor_base is not None else ("cn=monitor" if p.server_type == DS389 else "")
    points = [Endpoint("LDAP", "ldap", p.port, auth=auth, base=base, login=True)]
    if p.ssl_port:
        points.append(Endpoint("LDAPS", "ldap", p.ssl_port, tls=True, auth=auth, base=base))
    if p.server_type == SUNDS:
        # start-slapd: 0 started, 2 already running; stop-slapd: 0 stopped, 2 already stopped.
        launch = Command(command(p), cwd=p.instance_root, ok=(0, 2))
        stop = Command([os.path.join(p.instance_root, "stop-slapd")], cwd=p.instance_root, ok=(0, 2))
    else:
        launch, stop = Command(command(p)), None  # ns-slapd and slapd: 0 once daemonized; SIGTERM
    server = Member("directory server", match, launch=launch, stop=stop, endpoints=points,
                    log_hint=log_hint(p))
    login = Credentials(p.test_user_dn, p.test_password, "test_user_dn/test_password") if p.test_user_dn else None
    return Service([server], address=p.listen_address, login=login)


# -- checks ----------------------------------------------------------------------------------

@AGENT.check
def check_params(p: "Params") -> None:
    identity(p)
    if p.ssl_port and p.ssl_port == p.port:
        raise Misconfigured(f"'ssl_port' and 'port' are both {p.port}: give LDAPS its own port")
    if bool(p.bind_dn) != bool(p.password):
        raise Misconfigured("'bind_dn' and 'password' go together: set both or neither")
    if bool(p.test_user_dn) != bool(p.test_password):
        raise Misconfigured("'test_user_dn' and 'test_password' go together: set both or neither")


@AGENT.local_check
def check_installed(p: "Params") -> None:
    from ..files import check_executable

    monitor.check_program(p)
    if p.server_type == SUNDS:
        for script in ("start-slapd", "stop-slapd"):
            check_executable(os.path.join(p.instance_root, script), script,
                             "is the instance root mounted here?")
        return
    package = "slapd" if p.server_type == OPENLDAP else "389-ds-base"
    check_executable(binary(p), "binary", f"install {package} or set 'binary'")
    where = p.config_file if p.config_file else config_dir(p)
    wanted = os.path.join(where, "dse.ldif") if p.server_type == DS389 else where
    if not os.path.exists(wanted):
        raise NotInstalled(f"{wanted} does not exist here: is its file system mounted?")


# -- actions ---------------------------------------------------------------------------------

@AGENT.handler("monitor")
def do_monitor(ctx: "Context") -> int:
    return lifecycle.monitor(ctx, service(ctx.params))


@AGENT.handler("start")
def do_start(ctx: "Context") -> None:
    p = ctx.params
    prepare = (lambda: prepare_389ds(ctx)) if p.server_type == DS389 else None
    lifecycle.start(ctx, service(p), prepare=prepare)


@AGENT.handler("stop")
def do_stop(ctx: "Context") -> None:
    lifecycle.stop(ctx, lambda: service(ctx.params), any_server(), identity=IDENTITY)


def prepare_389ds(ctx: "Context") -> None:
    """Bind to the virtual IP in dse.ldif, create the run and lock directories a fresh /run
    lacks, and clear stale lock entries."""
    import pwd

    from ..directory import dse
    from ..service.storage import make_missing_dirs

    p = ctx.params
    path = os.path.join(config_dir(p), "dse.ldif")
    try:
        config = dse.read_config(path)
    except OSError as err:
        raise NotInstalled(f"cannot read {path}: {err.strerror}") from None
    configured = config.get("nsslapd-port")
    if configured and configured != str(p.port):
        raise GenericError(f"port={p.port} but dse.ldif has nsslapd-port {configured}: set port={configured} "
                           f"({path})")
    if p.listen_address:
        changes = {"nsslapd-listenhost": p.listen_address}
        if p.ssl_port:
            changes["nsslapd-securelistenhost"] = p.listen_address
        backup = dse.set_config(path, changes)
        if backup:
            ctx.log.info("bound to %s in %s (previous file kept as %s)", p.listen_address, path, backup)
    user = config.get("nsslapd-localuser", paths.DIRSRV_USER)
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise NotInstalled(f"user {user} (nsslapd-localuser) does not exist on this node") from None
    # Only the directories the instance's configuration names are created (a fresh /run lacks
    # /run/dirsrv), and the default pid file's: 389-ds's tmpfiles.d entry makes /run/dirsrv only
    # on the node where dscreate ran.  A pid file set elsewhere must be in a directory that exists.
    named = [d for d in (config.get("nsslapd-rundir"), config.get("nsslapd-lockdir")) if d]
    default_pid = None if p.pidfile else pidfile(p)
    if default_pid:
        named.append(os.path.dirname(default_pid))
    for directory in named:
        for made in make_missing_dirs(directory, account.pw_uid, account.pw_gid):
            ctx.log.info("created %s for %s", made, user)
    pid_dir = os.path.dirname(pidfile(p) or "/")
    if not os.path.isdir(pid_dir):
        raise NotInstalled(f"pidfile's directory {pid_dir} does not exist here: create it, or put the pid file "
                           f"in nsslapd-rundir")
    if config.get("nsslapd-lockdir"):
        clear_stale_locks(ctx, os.path.join(config["nsslapd-lockdir"], "server"), process_match(p))


def clear_stale_locks(ctx: "Context", directory: str, match: "ProcessMatch") -> None:
    """Remove lock entries of server processes that are gone.

    ns-slapd refuses to start while ``lockdir/server/<pid>`` names a live process; after a crash
    that pid may be reused by anything (or linger as a zombie), and the server would then never
    start again on this node without a hand clean-up."""
    from ..proc import read_process

    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        if not name.isdigit():
            continue
        info = read_process(int(name))
        if info is None or info.state == "Z" or not match.matches(info):
            ctx.log.info("removing stale lock %s/%s of a server process that is gone", directory, name)
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass
