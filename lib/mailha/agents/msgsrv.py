"""``ocf:mailha:msgsrv``: one Sun Java System / iPlanet Messaging Server instance, or one set
of its services.

Seed 004's ``SunJESMsg`` in Pacemaker's terms: a resource manages either the core (store,
scheduler and watcher), or client services (IMAP, POP, HTTP, SMTP, ...), or an MMP's
listeners, of the instance in ``server_root`` (6.x) or ``server_root/msg-<instance>`` (iMS
5.x).  Each daemon is one member of the service: found by its own binary in the instance's
``lib`` (spec A.4), so a services resource never touches the store and the core never touches
IMAP; started and stopped with its own ``start-msg``/``stop-msg`` component (or seed 004's
``msstart``/``msstart -k``), which tells the product's watcher it is stopped on purpose, then
killed if it outlives its share of the stop.  Start waits for the store's ``ready`` and every
listed port on the virtual IP; the second level probes each port, runs ``stored -t -v`` for
the core and logs the test user in over IMAP or POP.  Product knowledge: :mod:`mailha.msgsrv`.
"""

from .. import monitor
from ..msgsrv import layout
from ..msgsrv import services as catalogue
from ..ocf.agent import Action, Agent
from ..ocf.codes import GenericError, Misconfigured, NotInstalled
from ..ocf.log import level_param
from ..ocf.params import AbsPath, Address, Boolean, Choice, Name, Param, Text

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Optional, Sequence, Tuple

    from ..msgsrv.layout import Instance
    from ..msgsrv.services import Service as MsgService
    from ..ocf.agent import Context
    from ..ocf.params import Params
    from ..proc import ProcessMatch, ProcInfo
    from ..service.model import Service

AUTO, START_MSG, MSSTART = "auto", "start-msg", "msstart"
#: The store check of the second level.
STORED_CHECK = ("-t", "-v")
#: The protocols the synthetic transaction logs in with.
LOGINS = ("imap", "pop3")

PARAMS = [
    Param("server_root", AbsPath(), "Server root",
          "The Messaging Server installation directory on the shared storage (seed 004's ServerRoot), "
          "e.g. /opt/SUNWmsgsr; for iMS 5.x the directory holding msg-<instance>.",
          required=True, unique_group="instance"),
    Param("instance", Name(), "iMS 5.x instance name",
          "The instance without msg- (seed 002's InstanceName): the instance is server_root/msg-NAME. "
          "Unset: the 6.x layout, one instance per server root.", unique_group="instance"),
    Param("server_type", Choice(catalogue.MSG, catalogue.MMP), "Server type",
          "MSG: a Messaging Server; MMP: a Messaging Multiplexor (services imap imaps pop pops, served by "
          "AService).", default=catalogue.MSG),
    Param("services", Text(), "Services managed by this resource",
          "Seed 004's MsgServices: 'core=49994' (store, scheduler and watcher, alone, with the watcher's "
          "port), or client services with ports, e.g. 'imap=143 pop=110 http=80 smtp=25' (imap imaps "
          "pop pops http https smtp lmtp ens snmp sms; a port may be left out where it has a default). "
          "smtp and lmtp go in separate resources. The forms '{ imap 143 }' and 'imap = 143' work too.",
          required=True, unique_group="instance"),
    Param("ip_address", Address(), "Virtual IP of the instance",
          "The instance's logical IP (seed 004's MsgHost). Start refuses to run unless it is configured "
          "here and the instance is bound to it (service.listenaddr, dispatcher.cnf and "
          "job_controller.cnf INTERFACE_ADDRESS, the MMP's BindAddress); the second level probes it. "
          "Unset: all addresses, probed on 127.0.0.1."),
    Param("set_binding", Boolean(), "Bind the instance to ip_address at start",
          "Do what ha_ip_config does when the binding is missing: configutil -o service.listenaddr, "
          "INTERFACE_ADDRESS in dispatcher.cnf and job_controller.cnf, each file first kept as "
          "<file>.pre-ha (an existing backup is never replaced).", default="false"),
    Param("launcher", Choice(AUTO, START_MSG, MSSTART), "Start and stop commands",
          "start-msg: start-msg/stop-msg COMPONENT in bin (8.x) or sbin (6.x); msstart: seed 004's "
          "lib/msstart COMPONENT and msstart -k COMPONENT; auto: the first of these found.", default=AUTO),
    Param("user", Name(), "Runtime user", "The user the servers run as (same uid on every node).",
          default=layout.USER),
    Param("group", Name(), "Runtime group", "The group of the runtime user.", default=layout.GROUP),
    monitor.cadence_param("Probe every listed port on the virtual IP (the core: its watcher port and "
                          "stored -t -v)", default=6),
    Param("test_user", Text(), "Test user for the synthetic transaction",
          "When set, the second level also logs in as this user over IMAP or POP (seed 004's "
          "LDAPTestUser). A rejected login reports the resource degraded, never stopped."),
    Param("test_password", Text(), "Password of test_user", "Seed 004's LDAPTestPasswd.", secret=True),
    monitor.PROGRAM_PARAM,
    monitor.PROGRAM_PARAMS_PARAM,
    level_param(),
]

ACTIONS = [
    Action("start", 600),  # store recovery after a power-off may take minutes
    Action("stop", 300),  # "some processes may take several minutes to stop"
    Action("monitor", 60, interval=10, depth=0),
    Action("validate-all", 30),
    Action("meta-data", 5),
]

AGENT = Agent(
    "msgsrv",
    "Sun Java System / iPlanet Messaging Server instance or service set",
    "Starts, stops and monitors the core (store, scheduler, watcher), a set of client services "
    "(IMAP, POP, HTTP, SMTP, LMTP, ENS, SNMP, SMS) or an MMP of one Messaging Server instance, "
    "bound to its virtual IP. The monitor finds each daemon of the listed services by its binary in "
    "the instance, then (every second_level_monitor-th time) probes each port on the virtual IP, "
    "runs stored -t -v for the core and logs in as a test user.",
    PARAMS,
    ACTIONS,
)


# -- what the parameters name -----------------------------------------------------------------


def instance(p: "Params") -> "Instance":
    try:
        return layout.Instance(p.server_root, p.instance)
    except ValueError as err:  # instance=msg-NAME: the prefix is the layout's, not the name's
        raise Misconfigured(f"instance: {err}") from None


def chosen(p: "Params") -> "List[Tuple[MsgService, int]]":
    try:
        return catalogue.parse(p.services, p.server_type)
    except catalogue.ServicesError as err:
        raise Misconfigured(f"services: {err}") from None


def launchers(p: "Params", inst: "Instance") -> "Tuple[str, str]":
    """The (start, stop) pair: the first existing one of the chosen kind (the first of its
    kind when none exists yet: the check at start names it)."""
    import os

    pairs = inst.launchers()
    if p.launcher == START_MSG:
        pairs = pairs[:-1]
    elif p.launcher == MSSTART:
        pairs = pairs[-1:]
    for pair in pairs:
        if os.access(pair[0], os.X_OK):
            return pair
    return pairs[0]


def process_match(inst: "Instance", name: str) -> "ProcessMatch":
    from ..proc import ProcessMatch

    return ProcessMatch(exe_names=(inst.daemon(name),))


def any_daemon(p: "Params") -> "ProcessMatch":
    """Any Messaging Server daemon: what a stop that cannot identify its instance looks for."""
    from ..proc import ProcessMatch

    return ProcessMatch(exe_names=tuple(catalogue.PROCESSES))


def service(ctx: "Context") -> "Service":
    """The resource as the lifecycle sees it: one member per daemon, in start order."""
    from ..service.model import Command, Credentials, Endpoint, Member, Service

    p = ctx.params
    inst, listed = instance(p), chosen(p)
    start, stop = launchers(p, inst)
    points: "Dict[str, List[Endpoint]]" = {}
    for svc, port in listed:
        if svc.protocol is None and svc.name != catalogue.CORE:
            continue  # ens, snmp, sms: no second level (seed 004)
        # The process that serves the port: the watcher for the core, tcp_smtp_server, imapd, ...
        front = "watcher" if svc.name == catalogue.CORE else svc.processes[-1]
        login = svc.protocol in LOGINS
        points.setdefault(front, []).append(
            Endpoint(svc.name, svc.protocol or "tcp", port, tls=svc.tls, login=login))
    members = []
    for name in catalogue.processes(listed):
        daemon = catalogue.PROCESSES[name]
        launch = Command([start, daemon.start], cwd=inst.home) if daemon.start else None
        halt = Command(layout.stop_command(start, stop, [daemon.stop]), cwd=inst.home)
        members.append(Member(
            name, process_match(inst, name), launch=launch, stop=halt, endpoints=points.get(name, ()),
            remember=name, log_hint=f"; see the logs in {inst.home}/log",
            ready=(lambda processes: store_not_ready(inst, processes)) if name == "stored" else None,
            check=(lambda timeout: check_store(ctx, inst, timeout)) if name == "stored" else None))
    login = Credentials(p.test_user, p.test_password, "test_user/test_password") if p.test_user else None
    return Service(members, address=p.ip_address, login=login)


# -- product checks -----------------------------------------------------------------------------


def store_not_ready(inst: "Instance", stored: "Sequence[ProcInfo]") -> "Optional[str]":
    """Why the store does not count as started yet (None: its pid file says ready for one of
    the running *stored* processes; a ``ready`` left on the shared storage by a node that lost
    power names a pid of that node, until the new store writes its own)."""
    from ..files import read_text

    for path in inst.store_pidfiles():
        try:
            pid, state = layout.store_state(read_text(path, 4096, "store pid file"))
        except FileNotFoundError:
            continue
        except OSError as err:
            return f"cannot read {path}: {err}"
        if state != layout.READY:
            return f"the store is {'recovering' if state == layout.INIT else 'starting'} ({path} says {state})"
        if pid is not None and any(info.pid == pid for info in stored):
            return None
        return f"{path} says ready for pid {pid}, which is not the running stored: an old file"
    return "the store has written no pid file yet"


def check_store(ctx: "Context", inst: "Instance", timeout: float) -> None:
    """``stored -t -v``: its exit status is the store's (product facts §2.2)."""
    from ..run import product_env, run_command

    result = run_command((inst.stored,) + STORED_CHECK, timeout=max(timeout, 0.1), cwd=inst.home,
                         env=product_env(ctx.environ))
    if result.timed_out:
        raise GenericError(f"stored -t -v gave no answer within {timeout:.0f}s: the store hangs")
    if result.returncode != 0:
        raise GenericError(f"stored -t -v exited {result.returncode}: {result.last_line or 'no output'}")


def read_config(inst: "Instance", path: str, what: str) -> str:
    """An instance file, at start (the shared storage is mounted)."""
    from ..service.storage import read_config as read

    return read(path, what, f"is {inst.home} a Messaging Server instance?")


def check_enabled(inst: "Instance", listed: "Sequence[Tuple[MsgService, int]]", server_type: str) -> None:
    """Every listed service is enabled, and listens on the listed port (rules 2 and 5 of seed 004).
    On the shared storage: wrong on every node."""
    from ..msgsrv import cnf, msgconf

    values = msgconf.parse(read_config(inst, inst.msg_conf, "msg.conf"))
    dispatcher = None
    for svc, port in listed:
        if not msgconf.enabled(values, svc.flag):
            fix = f"configutil -o {svc.flag} -v 1"
            if svc.name != catalogue.CORE:  # the core cannot be dropped: its flag must be on
                fix += " or drop it from services"
            raise Misconfigured(f"{svc.name} is listed but {svc.flag} is off: {fix}")
        if server_type == catalogue.MMP:
            continue
        if svc.name in ("smtp", "lmtp"):
            dispatcher = dispatcher or read_config(inst, inst.dispatcher_cnf, "dispatcher.cnf")
            have, where = cnf.service_port(dispatcher, svc.name.upper()), f"dispatcher.cnf [SERVICE={svc.name.upper()}] PORT"
        else:
            have, where = msgconf.port(values, svc.name), msgconf.PORT_OPTIONS.get(svc.name, "")
        if where and have is not None and have != port:
            raise Misconfigured(f"services has {svc.name}={port} but {where} is {have}: make them agree")


def check_binding(ctx: "Context", inst: "Instance", listed: "Sequence[Tuple[MsgService, int]]") -> None:
    """The instance is bound to ip_address as ha_ip_config leaves it; with set_binding, bind it."""
    from ..msgsrv import binding, cnf, msgconf
    from ..net import same_address

    p = ctx.params
    address = p.ip_address
    names = {svc.name for svc, _ in listed}
    wrong: "List[str]" = []
    if p.server_type == catalogue.MMP:
        from ..msgsrv import mmpconf

        have = mmpconf.bind_address(read_config(inst, inst.mmp_conf, "ImapProxyAService.cfg"))
        if not same_address(have, address):
            raise Misconfigured(f"ImapProxyAService.cfg has default:BindAddress {have or '(all addresses)'}, not "
                                f"{address}: set it")
        return
    if names & {"imap", "imaps", "pop", "pops", "http", "https"}:
        have = msgconf.value(msgconf.parse(read_config(inst, inst.msg_conf, "msg.conf")), msgconf.LISTEN_ADDRESS)
        if not same_address(have, address):
            wrong.append(f"msg.conf {msgconf.LISTEN_ADDRESS} is {have or 'unset (all addresses)'}, not {address}")
    if names & {"smtp", "lmtp"}:
        wrong += cnf.binding_problems(read_config(inst, inst.dispatcher_cnf, "dispatcher.cnf"),
                                      read_config(inst, inst.job_controller_cnf, "job_controller.cnf"), address)
    if not wrong:
        return
    if not p.set_binding:
        raise Misconfigured(f"{wrong[0]}: {binding.FIX}", detail="; ".join(wrong))
    if any(w.startswith("msg.conf") for w in wrong):
        set_listen_address(ctx, inst, address)
    if names & {"smtp", "lmtp"}:
        for path in binding.write(inst, address):
            ctx.log.info("bound %s to %s (the original kept as %s%s)", path, address, path, binding.BACKUP_SUFFIX)


def set_listen_address(ctx: "Context", inst: "Instance", address: str) -> None:
    """``configutil -o service.listenaddr -v ADDRESS``, msg.conf first kept as ``msg.conf.pre-ha``."""
    import os

    from ..files import keep_copy
    from ..msgsrv import binding, msgconf
    from ..run import product_env, run_command

    tool = next((t for t in inst.configutil() if os.access(t, os.X_OK)), None)
    if tool is None:
        raise NotInstalled(f"configutil is not in {inst.home}/sbin or bin: cannot set {msgconf.LISTEN_ADDRESS}")
    try:
        keep_copy(inst.msg_conf, inst.msg_conf + binding.BACKUP_SUFFIX)
    except FileExistsError:
        pass  # the configuration from before the cluster is kept already
    result = run_command([tool, "-o", msgconf.LISTEN_ADDRESS, "-v", address], timeout=ctx.budget.share(0.2, cap=30),
                         cwd=inst.home, env=product_env(ctx.environ))
    if result.returncode != 0:
        raise GenericError(f"configutil -o {msgconf.LISTEN_ADDRESS} exited {result.returncode}: {result.last_line}")
    ctx.log.info("set %s to %s with configutil", msgconf.LISTEN_ADDRESS, address)


def check_job_controller_port(inst: "Instance") -> None:
    """No job controller of another instance holds this instance's TCP_PORT on this node
    (seed 002: several instances on one node need one TCP_PORT each)."""
    from .. import net
    from ..msgsrv import cnf

    port = cnf.job_controller_port(read_config(inst, inst.job_controller_cnf, "job_controller.cnf"))
    mine = inst.daemon("job_controller")
    try:
        holders = net.port_holders(port)
    except OSError:
        return
    from ..proc import read_process

    for holder in holders:
        info = read_process(holder.pid) if holder.pid else None
        argv = info.argv if info is not None and info.argv else ()
        if holder.process == "job_controller" and mine not in argv[:2]:
            raise GenericError(f"job_controller TCP_PORT {port} held by pid {holder.pid} of another instance: give "
                               f"each instance its own in job_controller.cnf")


# -- declarations ---------------------------------------------------------------------------------


@AGENT.check
def check_params(p: "Params") -> None:
    instance(p)
    listed = chosen(p)
    if bool(p.test_user) != bool(p.test_password):
        raise Misconfigured("'test_user' and 'test_password' go together: set both or neither")
    if p.test_user and not any(svc.protocol in LOGINS for svc, _ in listed):
        raise Misconfigured("test_user is set but no listed service takes a login (imap, imaps, pop, pops): "
                            "unset test_user/test_password on this resource")
    if p.set_binding and not p.ip_address:
        raise Misconfigured("set_binding=true needs ip_address: the address to bind the instance to")


@AGENT.local_check
def check_installed(p: "Params") -> None:
    """This node can run the instance: ids, storage, launchers, iMS 5.x registry."""
    import grp
    import os
    import pwd

    from ..files import check_executable

    monitor.check_program(p)
    # The product before the node's ids: on a node without Messaging Server, that is the news.
    if not os.path.isdir(p.server_root):
        raise NotInstalled(f"server_root {p.server_root} does not exist here: mount the instance's storage or "
                           f"install Messaging Server")
    inst = instance(p)
    start, stop = launchers(p, inst)
    check_executable(start, "the start command", "install Messaging Server here or set launcher")
    if stop != start:
        check_executable(stop, "the stop command", "install Messaging Server here or set launcher")
    if not os.path.isdir(inst.config_dir):
        raise NotInstalled(f"{inst.config_dir} does not exist here: is the instance's storage mounted?")
    for what, lookup, name in (("user", pwd.getpwnam, p.user), ("group", grp.getgrnam, p.group)):
        try:
            lookup(name)
        except KeyError:
            raise NotInstalled(f"{what} {name} does not exist on this node: create it with the same id as on the "
                               f"other nodes") from None
    if p.instance is not None:
        from ..files import read_text

        try:
            registry = read_text(layout.REGISTRY, 1 << 20, "msgregistry.inf")
        except OSError:
            raise NotInstalled(f"{layout.REGISTRY} is missing on this node: copy it from the node where the "
                               f"instance was installed (seed 002)") from None
        import re

        # A whole name: msg-mail1 is not listed by msg-mail10 (the file's format is not documented).
        if f"msg-{p.instance}" not in re.split(r"[^A-Za-z0-9._-]+", registry):
            raise NotInstalled(f"{layout.REGISTRY} does not list msg-{p.instance}: copy it from the node where the "
                               f"instance was installed")


@AGENT.handler("validate-all")
def do_validate(ctx: "Context") -> None:
    p = ctx.params
    inst, listed = instance(p), chosen(p)
    check_enabled(inst, listed, p.server_type)
    if p.ip_address and not p.set_binding:  # with set_binding, start writes it: validate-all writes nothing
        check_binding(ctx, inst, listed)


@AGENT.handler("start")
def do_start(ctx: "Context") -> None:
    from ..service import lifecycle

    p = ctx.params
    inst, listed = instance(p), chosen(p)

    def prepare() -> None:
        from ..msgsrv import msgconf
        from ..service import depends

        check_enabled(inst, listed, p.server_type)
        users = msgconf.directory(msgconf.parse(read_config(inst, inst.msg_conf, "msg.conf")))
        if users is not None:  # the servers look users up there (Configuration 2: not colocated)
            depends.wait_reachable(ctx, "the user directory (local.ugldaphost)", *users)
        if p.ip_address:
            check_binding(ctx, inst, listed)
        if any(svc.name == "smtp" for svc, _ in listed):
            check_job_controller_port(inst)

    lifecycle.start(ctx, service(ctx), prepare)


@AGENT.handler("stop")
def do_stop(ctx: "Context") -> None:
    from ..service import lifecycle

    lifecycle.stop(ctx, lambda: service(ctx), any_daemon(ctx.params),
                   ("server_root", "instance", "services", "server_type"))


@AGENT.handler("monitor")
def do_monitor(ctx: "Context") -> int:
    from ..service import lifecycle

    return lifecycle.monitor(ctx, service(ctx))
