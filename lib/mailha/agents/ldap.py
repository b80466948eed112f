"""``ocf:mailha:ldap``: the directory server of a mail system.

Manages one instance of 389 Directory Server (``ns-slapd -D CONFIG_DIR``), Sun/Netscape Directory
Server 5.x (``start-slapd``/``stop-slapd`` in its instance root) or OpenLDAP (``slapd -F``/``-f``),
following seed 004's Directory Server agent: first-level process check, second-level LDAP search
with a cadence, SSL port check, a monitor program, and in Pacemaker's terms: probes that are
safe with unmounted shared storage, a start that returns when the server answers, a stop that
escalates before its timeout, and a server bound to the resource's virtual IP.
"""

from __future__ import annotations

import os
import time

from .. import monitor
from ..ocf.agent import Action, Agent
from ..ocf.codes import GenericError, Misconfigured, NotInstalled
from ..ocf.log import level_param as log_level_param
from ..ocf.params import AbsPath, Address, Choice, Name, Param, Port, Text

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from ..ocf.agent import Context
    from ..ocf.params import Params

DS389, OPENLDAP, SUNDS = "389ds", "openldap", "sunds"
NS_SLAPD = "/usr/sbin/ns-slapd"
SLAPD = "/usr/sbin/slapd"

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
          "Where the server writes its PID. 389ds default /run/dirsrv/slapd-NAME.pid; openldap: its "
          "olcPidFile. Optional: processes are also found by binary and configuration path."),
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

def config_dir(p: Params) -> str | None:
    if p.config_dir:
        return p.config_dir
    if p.server_type == DS389 and p.instance:
        return f"/etc/dirsrv/slapd-{p.instance}"
    return None


def binary(p: Params) -> str:
    return p.binary or (SLAPD if p.server_type == OPENLDAP else NS_SLAPD)


def pidfile(p: Params) -> str | None:
    if p.pidfile:
        return p.pidfile
    if p.server_type == DS389 and p.instance:
        return f"/run/dirsrv/slapd-{p.instance}.pid"
    if p.server_type == SUNDS and p.instance_root:
        return os.path.join(p.instance_root, "logs", "pid")
    return None


def probe_host(p: Params) -> str:
    return p.listen_address or "127.0.0.1"


def urls(p: Params) -> str:
    """OpenLDAP's -h: bound to the virtual IP alone when one is configured."""
    host = p.listen_address or ""
    if ":" in host:
        host = f"[{host}]"
    listen = [f"ldap://{host}:{p.port}/"]
    if p.ssl_port:
        listen.append(f"ldaps://{host}:{p.ssl_port}/")
    return " ".join(listen)


def process_match(p: Params):
    from ..proc import ProcessMatch

    if p.server_type == SUNDS:
        # start-slapd runs ./ns-slapd -D <instance root>
        return ProcessMatch(exe_names=("ns-slapd",), cmdline_contains=(p.instance_root,),
                            pidfile=pidfile(p))
    identity = p.config_file if (p.server_type == OPENLDAP and p.config_file) else config_dir(p)
    return ProcessMatch(exe_names=(os.path.basename(binary(p)),), cmdline_contains=(identity,),
                        pidfile=pidfile(p))


# -- checks ----------------------------------------------------------------------------------

@AGENT.check
def check_params(p: Params) -> None:
    if p.server_type == DS389 and not (p.instance or p.config_dir):
        raise Misconfigured("server_type=389ds needs 'instance' (slapd-NAME) or 'config_dir'")
    if p.server_type == OPENLDAP and not (p.config_dir or p.config_file):
        raise Misconfigured("server_type=openldap needs 'config_dir' (slapd.d) or 'config_file' (slapd.conf)")
    if p.server_type == OPENLDAP and p.config_dir and p.config_file:
        raise Misconfigured("set only one of 'config_dir' and 'config_file' for openldap")
    if p.server_type == SUNDS and not p.instance_root:
        raise Misconfigured("server_type=sunds needs 'instance_root' (the slapd-ID directory)")
    if p.ssl_port and p.ssl_port == p.port:
        raise Misconfigured(f"'ssl_port' and 'port' are both {p.port}: give LDAPS its own port")
    if bool(p.bind_dn) != bool(p.password):
        raise Misconfigured("'bind_dn' and 'password' go together: set both or neither")
    if bool(p.test_user_dn) != bool(p.test_password):
        raise Misconfigured("'test_user_dn' and 'test_password' go together: set both or neither")


@AGENT.local_check
def check_installed(p: Params) -> None:
    if p.server_type == SUNDS:
        for script in ("start-slapd", "stop-slapd"):
            path = os.path.join(p.instance_root, script)
            if not os.access(path, os.X_OK):
                raise NotInstalled(f"{path} is missing or not executable: is the instance root mounted here?")
        return
    if not os.access(binary(p), os.X_OK):
        package = "slapd" if p.server_type == OPENLDAP else "389-ds-base"
        raise NotInstalled(f"{binary(p)} is not installed on this node (Debian package {package})")
    where = p.config_file if p.config_file else config_dir(p)
    wanted = os.path.join(where, "dse.ldif") if p.server_type == DS389 else where
    if not os.path.exists(wanted):
        raise NotInstalled(f"{wanted} does not exist on this node: is its file system mounted?")


# -- actions ---------------------------------------------------------------------------------

def find(p: Params, every: bool = False) -> list:
    """The instance's processes (every one of them with *every*, for stop)."""
    from ..proc import find as find_processes

    return find_processes(process_match(p), every=every)


def search(ctx: Context, timeout: float) -> None:
    """Second level: the directory answers a search on its address (and LDAPS when set)."""
    from ..probes import ProbeError
    from ..probes import ldap as ldap_probe

    p = ctx.params
    base = p.monitor_base if p.monitor_base is not None else ("cn=monitor" if p.server_type == DS389 else "")
    targets = [(p.port, False)] + ([(p.ssl_port, True)] if p.ssl_port else [])
    share = timeout / len(targets)
    for port, tls in targets:
        try:
            ldap_probe.probe(probe_host(p), port, share, tls, bind_dn=p.bind_dn, password=p.password,
                             base=base, attrs=("1.1",))
        except ProbeError as err:
            raise _probe_failure(err, "bind_dn/password") from None


def login(ctx: Context, timeout: float) -> None:
    """Synthetic transaction: the test user can log in and read its own entry."""
    from ..probes import ProbeError
    from ..probes import ldap as ldap_probe

    p = ctx.params
    try:
        ldap_probe.probe(probe_host(p), p.port, timeout, bind_dn=p.test_user_dn,
                         password=p.test_password, base=p.test_user_dn, attrs=("1.1",))
    except ProbeError as err:
        raise _probe_failure(err, "test_user_dn/test_password") from None


def _probe_failure(err: Exception, credentials: str) -> Exception:
    from ..probes import AUTH

    if getattr(err, "kind", None) == AUTH:
        return Misconfigured(f"{err}: the directory rejects {credentials}; fix them (same on every node)")
    return GenericError(str(err))


@AGENT.handler("monitor")
def do_monitor(ctx: Context) -> int:
    p = ctx.params
    plan = monitor.MonitorPlan(
        running=lambda: bool(find(p)),
        service=lambda timeout: search(ctx, timeout),
        transaction=(lambda timeout: login(ctx, timeout)) if p.test_user_dn else None,
        every=p.second_level_monitor,
        program=p.monitor_program,
    )
    return monitor.run(ctx, plan)


@AGENT.handler("start")
def do_start(ctx: Context) -> None:
    p = ctx.params
    if find(p) and answers(ctx):
        ctx.log.info("already running and answering")
        return
    check_address(ctx)
    if p.server_type == DS389:
        prepare_389ds(ctx)
    launch(ctx)
    wait_until_answering(ctx)
    monitor.reset(ctx)
    ctx.log.info("started; answering LDAP on %s:%s", probe_host(p), p.port)


def answers(ctx: Context) -> bool:
    try:
        search(ctx, min(5.0, ctx.budget.share(0.2)))
    except GenericError:
        return False
    return True


def check_address(ctx: Context) -> None:
    """The virtual IP is here and nothing else holds our port on it."""
    from .. import net

    p = ctx.params
    if p.listen_address and not net.is_local_address(p.listen_address):
        raise GenericError(f"listen_address {p.listen_address} is not configured on this node: "
                           f"start the virtual IP first (group or order constraint)")
    for port in [p.port] + ([p.ssl_port] if p.ssl_port else []):
        holders = net.port_holders(port, p.listen_address)
        if holders:
            where = p.listen_address or "this node"
            raise GenericError(f"port {port} on {where} is already taken ({', '.join(map(str, holders))}): "
                               f"stop that process or bind it to another address")


def prepare_389ds(ctx: Context) -> None:
    """Bind to the virtual IP and make the run and lock directories a fresh /run lacks."""
    import pwd

    from ..directory import dse

    p = ctx.params
    path = os.path.join(config_dir(p), "dse.ldif")
    try:
        config = dse.read_config(path)
    except OSError as err:
        raise NotInstalled(f"cannot read {path}: {err.strerror}") from None
    configured = config.get("nsslapd-port")
    if configured and configured != str(p.port):
        raise GenericError(f"{path} has nsslapd-port {configured} but port={p.port}: set port={configured}")
    if p.listen_address:
        changes = {"nsslapd-listenhost": p.listen_address}
        if p.ssl_port:
            changes["nsslapd-securelistenhost"] = p.listen_address
        backup = dse.set_config(path, changes)
        if backup:
            ctx.log.info("bound to %s in %s (previous file kept as %s)", p.listen_address, path, backup)
    user = config.get("nsslapd-localuser", "dirsrv")
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        raise NotInstalled(f"user {user} (nsslapd-localuser) does not exist on this node") from None
    pid_path = pidfile(p)
    for directory in filter(None, (config.get("nsslapd-rundir"), config.get("nsslapd-lockdir"),
                                   os.path.dirname(pid_path) if pid_path else None)):
        os.makedirs(directory, mode=0o770, exist_ok=True)
        os.chown(directory, account.pw_uid, account.pw_gid)
    if config.get("nsslapd-lockdir"):
        clear_stale_locks(ctx, os.path.join(config["nsslapd-lockdir"], "server"), process_match(p))


def clear_stale_locks(ctx: Context, directory: str, match) -> None:
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


def command(p: Params) -> list[str]:
    if p.server_type == DS389:
        argv = [binary(p), "-D", config_dir(p)]
        return argv + (["-i", pidfile(p)] if pidfile(p) else [])
    if p.server_type == OPENLDAP:
        argv = [binary(p), "-h", urls(p)]
        argv += ["-f", p.config_file] if p.config_file else ["-F", p.config_dir]
        argv += ["-u", p.user] if p.user else []
        return argv + (["-g", p.group] if p.group else [])
    return [os.path.join(p.instance_root, "start-slapd")]


def launch(ctx: Context) -> None:
    from ..run import run_command

    p = ctx.params
    argv = command(p)
    ctx.log.info("starting: %s", " ".join(argv))
    result = run_command(argv, timeout=ctx.budget.share(0.5), cwd=p.instance_root or "/")
    # start-slapd: 0 started, 2 already running; ns-slapd and slapd: 0 once daemonized.
    ok = (0, 2) if p.server_type == SUNDS else (0,)
    if result.returncode not in ok:
        raise GenericError(f"{argv[0]} exited {result.returncode}: {result.last_line or 'no output'}")


def wait_until_answering(ctx: Context) -> None:
    p = ctx.params
    last: list[str] = []

    def ready() -> bool:
        if not find(p):
            raise GenericError(f"the server exited during start{log_hint(p)}")
        try:
            search(ctx, min(5.0, max(0.5, ctx.budget.share(0.25))))
        except GenericError as err:
            last[:] = [str(err)]
            return False
        return True

    if not ctx.budget.wait_for(ready):
        raise GenericError(f"the server did not answer within the start timeout: {last[0] if last else ''}")


def log_hint(p: Params) -> str:
    if p.server_type == DS389:
        return f"; see the errors log of {config_dir(p)}"
    return "; see slapd's syslog messages"


@AGENT.handler("stop")
def do_stop(ctx: Context) -> None:
    from ..proc import stop as stop_processes
    from ..run import run_command

    p = ctx.params
    processes = find(p, every=True)
    if not processes:
        ctx.log.info("already stopped")
        return
    graceful = None
    if p.server_type == SUNDS:
        def graceful(deadline: float) -> None:
            run_command([os.path.join(p.instance_root, "stop-slapd")],
                        timeout=deadline - time.monotonic(), cwd=p.instance_root)
    result = stop_processes(processes, ctx.budget.deadline, graceful=graceful)
    ctx.log.info("stopped: %s", result.describe())
    if find(p):
        raise GenericError(f"processes of the instance survived SIGKILL: {result}")
