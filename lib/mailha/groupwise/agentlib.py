"""What the ``gwia`` and ``gwpoa`` resource agents share: GroupWise knowledge only.

A resource manages one or more :class:`GwAgent` (the GWIA resource: its MTA, then the GWIA; the
POA resource: one POA).  Each is known by its binary and its startup file, which is also how its
process is told apart from the other domains' and post offices' on the same node: the products
keep no pid file (product facts §1.5), and two domains' MTAs differ only by ``@startup``.

Here: how a GroupWise agent is launched (``binary @startup`` or ``grpwise start NAME``), which
listeners its startup file opens, the exclusive binding to the partition's secondary IP, SSL
files, and gwha, which must not restart what the cluster stops.  Starting, stopping and
monitoring are the product-neutral lifecycle's (:mod:`mailha.service.lifecycle`), given the
service :func:`service` declares.

Import cost matters: a monitor imports this module.  Only ``os`` is imported at module level;
the startup-file grammar and the switch table are imported when a startup file has changed (see
:func:`endpoints`), the probes when a second-level check runs, psutil only to stop.
"""

import os

from ..ocf.codes import GenericError, Misconfigured, NotInstalled

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, List, Optional, Sequence, Tuple

    from ..ocf.agent import Context
    from ..ocf.log import Logger
    from ..ocf.params import Param, Params
    from ..ocf.state import StateFile
    from ..proc import ProcessMatch, ProcInfo
    from ..service.model import Credentials, Endpoint, Member, Service
    from .startup import StartupFile

BINARY, GRPWISE = "binary", "grpwise"  # how a site launches its agents
REFUSE, SUSPEND = "refuse", "suspend"  # what to do about a gwha that would restart them
ALL_ADDRESSES = frozenset(("0.0.0.0", "::", "*", "[::]"))
GWHA_PORT = 8400  # gwha's listener (xinetd, or gwha.socket on GW 18.3+): product facts §1.3
#: Where each product writes its log, relative to its home (the emulator follows the products).
LOG_HINTS = {"mta": "mslocal/", "poa": "wpcsout/ofs/", "gwia": "000.prc/"}
#: Protocols on which the synthetic transaction can log in as the test user.
LOGIN_PROTOCOLS = ("pop3", "imap4")
STORAGE = "the GroupWise partition"
#: State key prefix of the endpoint summaries kept per agent kind.
ENDPOINTS_PREFIX = "endpoints."


class GwAgent:
    """One GroupWise agent process of a resource (immutable by convention).

    ``label`` names it in messages ("MTA", "GWIA", "POA"); ``kind`` is ``mta``, ``poa`` or
    ``gwia`` (as in :class:`mailha.groupwise.switches.AgentKind`); ``name`` is the agent's name
    for ``grpwise`` (a gwha.conf section).
    """

    __slots__ = ("binary", "kind", "label", "name", "startup")

    def __init__(self, label: str, kind: str, binary: str, startup: str,
                 name: "Optional[str]" = None) -> None:
        self.label, self.kind, self.binary, self.startup, self.name = label, kind, binary, startup, name

    @property
    def match(self) -> "ProcessMatch":
        """Its process: the binary run with exactly this startup file (``@file`` as the products
        take it; a relative one resolved against the process's working directory).  The
        product's own program name counts as well as the configured binary, so that a wrong
        binary parameter never hides a running agent from stop.  The emulator's ``#!`` scripts
        are recognised too."""
        from ..proc import ProcessMatch

        from .paths import PROGRAMS

        return ProcessMatch(exe_names=(self.binary, PROGRAMS[self.kind]), args=(("@", self.startup),))

    @property
    def home(self) -> str:
        return os.path.dirname(self.startup)

    def log_hint(self, home: "Optional[str]" = None) -> str:
        return f"; see its log in {os.path.join(home or self.home, LOG_HINTS.get(self.kind, ''))}"


def any_agent(p: "Params") -> "ProcessMatch":
    """Any GroupWise agent process: what a stop that cannot identify its instance looks for.

    By path (the products' own and those the parameters name), not by program name: the
    resource agents ``gwia`` and ``gwpoa`` bear the products' names, and another resource's
    monitor running meanwhile is no product process."""
    from ..proc import ProcessMatch
    from . import paths

    given = {v for v in (p.as_dict().get(n) for n in ("binary", "mta_binary", "gwia_binary")) if v}
    return ProcessMatch(exe_names=tuple(sorted({paths.GWMTA, paths.GWIA, paths.GWPOA} | given)))


# -- startup files -----------------------------------------------------------------------------


def load_startup(agent: "GwAgent") -> "StartupFile":
    """The agent's startup file, parsed.  Unreadable: not on this node (5); bad syntax: the
    file is on the shared partition, so it is wrong on every node (6)."""
    from .startup import StartupFile, StartupFileError

    from ..files import FileRefused

    try:
        return StartupFile.load(agent.startup)
    except FileRefused as err:  # there, but not a startup file: wrong wherever it is read
        raise NotInstalled(f"{agent.label} startup file is {err.strerror}: correct it ({agent.startup})") from None
    except OSError as err:
        raise NotInstalled(f"{agent.label} startup file: {err.strerror}: is {STORAGE} mounted? "
                           f"({agent.startup})") from None
    except StartupFileError as err:
        raise Misconfigured(f"{agent.label} startup file {err}") from None


def listen_address(sf: "StartupFile") -> "Optional[str]":
    """The ``--ip`` the agent binds to; None when it would listen on all addresses."""
    ip = sf.ip
    return None if ip is None or ip.strip() in ALL_ADDRESSES else ip.strip()


def endpoints_from(agent: "GwAgent", sf: "StartupFile") -> "List[Endpoint]":
    from .startup import StartupFileError
    from .switches import AgentKind, endpoints

    try:
        return [_endpoint(p.service.name, p.service.protocol, p.port) for p in endpoints(AgentKind(agent.kind), sf)]
    except StartupFileError as err:
        raise Misconfigured(f"{agent.label} startup file {err}") from None


def _endpoint(name: str, protocol: str, port: int) -> "Endpoint":
    from ..service.model import Endpoint

    return Endpoint(name, protocol, port, login=protocol in LOGIN_PROTOCOLS)


def endpoints(agent: "GwAgent",
              cache: "Optional[StateFile]" = None) -> "Tuple[Optional[str], List[Endpoint]]":
    """(address, listeners) of the agent as its startup file configures them, for a monitor.

    The summary is kept in the resource's state file, keyed on the file's size, mtime and inode:
    an unchanged file costs one ``stat``, and neither the grammar nor the switch table (together
    about 30 ms of imports, more than the rest of a monitor) is loaded.  A changed file is parsed
    again.  Raises :class:`GenericError` when the file cannot be read (the partition went away
    under a running agent)."""
    from ..files import stamp as file_stamp

    try:
        stamp = file_stamp(agent.startup)
    except OSError as err:
        raise GenericError(f"cannot read the {agent.label} startup file {agent.startup}: {err.strerror}") from None
    key = ENDPOINTS_PREFIX + agent.kind
    if cache is not None:
        raw = cache.get(key)
        if raw.startswith(stamp + "|"):
            decoded = _decode(raw[len(stamp) + 1:])
            if decoded is not None:
                return decoded
    try:
        sf = load_startup(agent)
    except NotInstalled as err:
        raise GenericError(err.reason) from None
    address, points = listen_address(sf), endpoints_from(agent, sf)
    if cache is not None:  # without a state directory the next monitor parses again
        cache.put(key, f"{stamp}|{address or ''}|" + ",".join(f"{p.name}:{p.protocol}:{p.port}" for p in points))
    return address, points


def _decode(raw: str) -> "Optional[Tuple[Optional[str], List[Endpoint]]]":
    address, sep, rest = raw.partition("|")
    if not sep:
        return None
    points = []
    for item in filter(None, rest.split(",")):
        service, protocol, port = (item.split(":") + ["", "", ""])[:3]
        if not port.isdigit():
            return None
        points.append(_endpoint(service, protocol, int(port)))
    return address or None, points


# -- checks at start and validate-all --------------------------------------------------------


def gwha_entries(gwha_conf: str) -> list:
    """The agents of gwha.conf (none when it is absent); unreadable or garbled: NotInstalled."""
    import configparser

    from .gwha import load_gwha_conf

    try:
        return load_gwha_conf(gwha_conf)
    except (OSError, UnicodeError, configparser.Error) as err:
        raise NotInstalled(f"cannot read {gwha_conf}: {getattr(err, 'strerror', None) or type(err).__name__}") from None


def check_grpwise_entry(agent: "GwAgent", gwha_conf: str) -> None:
    """``grpwise start NAME`` launches this agent: the gwha.conf section exists and names the
    same binary and startup file (otherwise the monitor would look for another process)."""
    if not agent.name:
        raise Misconfigured(f"launch=grpwise needs the {agent.label}'s grpwise agent name")
    entry = next((e for e in gwha_entries(gwha_conf) if e.name.lower() == agent.name.lower()), None)
    if entry is None:
        raise NotInstalled(f"{gwha_conf} has no section [{agent.name}] on this node: grpwise cannot start the "
                           f"{agent.label}; add it (server, command, startup) or use launch=binary")
    if os.path.normpath(entry.startup) != os.path.normpath(agent.startup) or \
            os.path.normpath(entry.server) != os.path.normpath(agent.binary):
        raise NotInstalled(f"gwha.conf section [{agent.name}] does not run this resource's {agent.label}: make it "
                           f"run {agent.binary} @{agent.startup}, not {entry.server} @{entry.startup}")


def same_address(a: str, b: str) -> bool:
    from .. import net

    try:
        return net.parse_address(a) == net.parse_address(b)
    except ValueError:
        return a == b


def check_binding(agent: "GwAgent", sf: "StartupFile", ip: "Optional[str]", set_ip: bool, *, write: bool,
                  log: "Optional[Logger]" = None) -> str:
    """The secondary IP the agent binds to exclusively, from its startup file.

    The startup file lives on the shared partition, so what it says holds on every node: an
    agent that would listen on all addresses (no ``--ip``, or ``--ip 0.0.0.0``) is refused with
    :class:`Misconfigured`, naming what already holds its ports (Postfix's ``master`` on port
    25, typically: seed 000).  With *set_ip* (and *write*, i.e. at start) the agent writes
    ``--ip`` itself, keeping a backup of the file."""
    current = listen_address(sf)
    if ip and current and same_address(ip, current):
        return current
    if ip and set_ip:
        if write:
            sf.set("ip", ip)
            try:
                backup = sf.write_with_backup()
            except OSError as err:
                raise GenericError(f"cannot write --ip {ip} to {agent.startup}: {err.strerror}") from None
            if log is not None:
                log.info("%s bound to %s in %s (previous file kept as %s)", agent.label, ip, agent.startup, backup)
        return ip
    if current is None:
        from ..service.ports import held_by_others

        held = held_by_others(endpoints_from(agent, sf), None, set())
        # Pacemaker shows only the first 128 characters of an exit reason: the conflict and
        # the fix come first, the (long) file path last.
        fight = f" ({'; '.join(held)})" if held else ""
        fix = f"add --ip {ip} or set_ip=true" if ip else "add --ip <secondary IP> (or ip_address and set_ip=true)"
        raise Misconfigured(f"{agent.label} would listen on all addresses{fight}: {fix} in {agent.startup}")
    if ip:
        raise Misconfigured(f"{agent.label} startup file has --ip {current}, ip_address is {ip}: correct one, "
                            f"or set set_ip=true", detail=agent.startup)
    return current


def check_ssl_files(agent: "GwAgent", sf: "StartupFile", storage_mount: "Optional[str]") -> None:
    """The certificate and key the startup file names exist.  On the partition a missing file is
    missing on every node (6); elsewhere (the software's default place) only here (5)."""
    from .switches import ssl_files

    for switch, path in ssl_files(sf).items():
        if not os.path.isabs(path):
            path = os.path.join(agent.home, path)
        if os.path.isfile(path) and os.access(path, os.R_OK):
            continue
        # What and the fix first: Pacemaker keeps 128 bytes, and partition paths are long.
        reason = (f"{agent.label} SSL file --{switch} is missing or unreadable: copy it to {path} or correct "
                  f"{agent.startup}")
        from ..service.storage import is_under

        if storage_mount and storage_mount != "/" and is_under(path, storage_mount):
            raise Misconfigured(reason)
        raise NotInstalled(reason)


# -- gwha ------------------------------------------------------------------------------------------


def gwha_processes(gwha_binary: str) -> "List[ProcInfo]":
    from ..proc import ProcessMatch, find

    return find(ProcessMatch(exe_names=(gwha_binary,)), every=True)


def gwha_conflict(agents: "Sequence[GwAgent]", gwha_binary: str, gwha_conf: str) -> "Optional[str]":
    """Why gwha on this node would restart these agents behind the cluster's back, or None.

    It would when it runs (a gwha process, or its port-8400 listener under xinetd/systemd) and
    gwha.conf lists one of the agents' startup files (seed 000 step 5; seed 001)."""
    wanted = {os.path.normpath(a.startup) for a in agents}
    listed = [e.name for e in gwha_entries(gwha_conf) if os.path.normpath(e.startup) in wanted]
    if not listed:
        return None
    running = [f"pid {p.pid}" for p in gwha_processes(gwha_binary)]
    try:
        from .. import net

        running += [f"pid {h.pid} ({h.process}) on port {GWHA_PORT}" for h in net.port_holders(GWHA_PORT)]
    except OSError:
        pass
    if not running:
        return None
    # Pacemaker keeps 128 bytes: how to disable gwha goes to the log (GWHA_DISABLE).
    return (f"gwha ({', '.join(running)}) would restart {', '.join(listed)} behind the cluster: set gwha=suspend, "
            f"disable gwha or drop them from gwha.conf")


GWHA_DISABLE = "disable gwha: systemctl disable --now gwha.socket (GW 18.3+), or chkconfig gwha off"


class Suspended:
    """Context manager: gwha processes stopped (SIGSTOP) inside, resumed (SIGCONT) after, always.

    A pid that was reused in between is not signalled (``ProcInfo.is_same``)."""

    def __init__(self, processes: "Sequence[ProcInfo]", log: "Logger") -> None:
        self.processes = list(processes)
        self.log = log
        self.stopped: List[ProcInfo] = []

    def __enter__(self) -> "Suspended":
        import signal

        for info in self.processes:
            # One already stopped by someone else stays as we found it: never continued by us.
            if info.state not in ("T", "t") and info.is_same():
                try:
                    os.kill(info.pid, signal.SIGSTOP)
                    self.stopped.append(info)
                except ProcessLookupError:
                    continue
        if self.stopped:
            self.log.info("gwha suspended while stopping: pid(s) %s", ", ".join(str(p.pid) for p in self.stopped))
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for info in self.stopped:
            if info.is_same():
                try:
                    os.kill(info.pid, signal.SIGCONT)
                except ProcessLookupError:
                    continue
        if self.stopped:
            self.log.info("gwha resumed: pid(s) %s", ", ".join(str(p.pid) for p in self.stopped))


# -- declarations and handlers shared by the two agents ---------------------------------------------


def common_params(what: str) -> "List[Param]":
    """The parameters both agents take, in the order the admin guide explains them.

    *what* names the resource's agents in descriptions ("MTA and GWIA", "POA")."""
    from .. import monitor
    from ..ocf.log import level_param
    from ..ocf.params import AbsPath, Address, Boolean, Choice, Param, Text
    from . import paths

    return [
        Param("storage_mount", AbsPath(), "Mount point of the GroupWise partition",
              "The worksheet's cluster resource mount point. Start refuses to run unless it is a mount "
              "point on this node and the directory above is under it. Unset: the directory must be on "
              "some mounted file system other than /. Set it to / to run from a local directory."),
        Param("ip_address", Address(), "Secondary IP address",
              f"The partition's secondary IP address (worksheet item 1). The {what} must bind to it alone "
              "(--ip in the startup file): start refuses an agent that would listen on all addresses, "
              "and on another address than this one; the second-level monitor probes it. Unset: the "
              "--ip of the startup file."),
        Param("set_ip", Boolean(), "Write --ip into the startup file",
              "When the startup file lacks --ip ip_address (or has another address), write it at start, "
              "keeping the previous file as <file>.mailha-bak.<time>.", default="false"),
        Param("launch", Choice(BINARY, GRPWISE), "How to launch the agents",
              "binary: run the agent binary with @startup_file, as the products document it. grpwise: "
              "run 'grpwise start NAME' (/etc/init.d/grpwise, agent names from gwha.conf), as NCS load "
              "scripts do; the gwha.conf section must name the same binary and startup file.",
              default=BINARY),
        Param("grpwise_script", AbsPath(), "The grpwise init script", "Used with launch=grpwise.",
              default=paths.GRPWISE_INIT),
        Param("gwha_conf", AbsPath(), "gwha.conf",
              "Where grpwise and gwha find the agents by name.", default=paths.GWHA_CONF),
        Param("gwha", Choice(REFUSE, SUSPEND), "What to do about gwha",
              "The GroupWise High Availability service restarts agents that go down, also when the "
              "cluster stops them (seed 000 step 5). refuse: start and validate-all fail on a node where "
              "gwha runs and gwha.conf lists this resource's agents, saying how to disable it. suspend: "
              "allow it. Either way, every gwha process is stopped (SIGSTOP) while this resource stops "
              "and continued (SIGCONT) afterwards.", default=REFUSE),
        Param("gwha_binary", AbsPath(), "The gwha executable", "How a running gwha is recognised.",
              default=paths.GWHA),
        monitor.cadence_param(f"Probe every listener of the {what} on the secondary IP"),
        Param("http_user", Text(), "HTTP console user",
              "When set (with http_password), the second level logs in to each agent's HTTP console "
              "and expects 200; otherwise a 401 also counts as answering."),
        Param("http_password", Text(), "HTTP console password", secret=True),
        monitor.PROGRAM_PARAM,
        monitor.PROGRAM_PARAMS_PARAM,
        level_param(),
    ]


def check_common(p: "Params") -> None:
    """Rules across the common parameters (every node)."""
    if bool(p.http_user) != bool(p.http_password):
        raise Misconfigured("'http_user' and 'http_password' go together: set both or neither")
    if bool(p.test_user) != bool(p.test_password):
        raise Misconfigured("'test_user' and 'test_password' go together: set both or neither")
    if p.set_ip and not p.ip_address:
        raise Misconfigured("set_ip=true needs ip_address: the address to write as --ip")


def check_installed(p: "Params", agents: "Sequence[GwAgent]", directory: str, what: str) -> None:
    """This node can run the agents: software, storage, gwha (raises NotInstalled)."""
    from .. import monitor
    from ..files import check_executable
    from ..service.storage import check_mounted

    monitor.check_program(p)
    fix = "install GroupWise or set its parameter"
    if p.launch == GRPWISE:
        check_executable(p.grpwise_script, "grpwise_script", fix)
    for agent in agents:
        check_executable(agent.binary, f"{agent.label} binary", fix)
    check_mounted(directory, p.storage_mount, what, STORAGE)
    if p.launch == GRPWISE:
        for agent in agents:
            check_grpwise_entry(agent, p.gwha_conf)
    if p.gwha == REFUSE:
        conflict = gwha_conflict(agents, p.gwha_binary, p.gwha_conf)
        if conflict:
            raise NotInstalled(conflict, detail=GWHA_DISABLE)


def prepare(ctx: "Context", agents: "Sequence[GwAgent]", *,
            write: bool) -> "List[Tuple[str, List[Endpoint]]]":
    """Read and check every startup file: (the address the agent binds to, its listeners) each.
    With *write* (at start), ``set_ip`` may write ``--ip`` into a startup file."""
    p = ctx.params
    prepared = []
    for agent in agents:
        sf = load_startup(agent)
        address = check_binding(agent, sf, p.ip_address, p.set_ip, write=write, log=ctx.log)
        check_ssl_files(agent, sf, p.storage_mount)
        prepared.append((address, endpoints_from(agent, sf)))
    if p.test_user and not any(pt.login for _, points in prepared for pt in points):
        raise Misconfigured("test_user is set but no agent of this resource enables POP3 or IMAP4: enable one "
                            "in its startup file or unset test_user")
    return prepared


def service(ctx: "Context", agents: "Sequence[GwAgent]",
            prepared: "Optional[Sequence[Tuple[Optional[str], Sequence[Endpoint]]]]" = None) -> "Service":
    """The resource's agents as a service for the lifecycle.

    Addresses and listeners come from *prepared* (start: the startup files just checked) or,
    for monitor and stop, from the summaries kept in the resource's state (:func:`endpoints`),
    read only when a check needs them."""
    from ..service.model import Command, Credentials, Member, Service

    p = ctx.params
    http = Credentials(p.http_user, p.http_password, "http_user/http_password") if p.http_user else None
    members = []
    for index, agent in enumerate(agents):
        if prepared is not None:
            address, listeners = prepared[index][0], _with_console_login(prepared[index][1], http)
        else:
            summary = _Summary(agent, ctx.state, http)
            address, listeners = summary.address, summary.endpoints
        if p.launch == GRPWISE:
            launch = Command([p.grpwise_script, "start", agent.name or ""])
            stop = Command([p.grpwise_script, "stop", agent.name]) if agent.name else None
        else:
            launch, stop = Command([agent.binary, f"@{agent.startup}"]), None
        members.append(Member(agent.label, agent.match, launch=launch, stop=stop, endpoints=listeners,
                              address=address, remember=agent.kind, log_hint=agent.log_hint(),
                              inputs=(agent.startup,)))
    login = Credentials(p.test_user, p.test_password, "test_user/test_password") if p.test_user else None
    return Service(members, login=login)


class _Summary:
    """An agent's address and listeners from the state's summary, read once, when first asked."""

    def __init__(self, agent: "GwAgent", state: "StateFile", http: "Optional[Credentials]") -> None:
        self.agent, self.state, self.http = agent, state, http
        self._read: Optional[Tuple[Optional[str], List[Endpoint]]] = None

    def _get(self) -> "Tuple[Optional[str], List[Endpoint]]":
        if self._read is None:
            address, points = endpoints(self.agent, self.state)
            self._read = address, _with_console_login(points, self.http)
        return self._read

    def address(self) -> "Optional[str]":
        return self._get()[0]

    def endpoints(self) -> "List[Endpoint]":
        return self._get()[1]


def _with_console_login(points: "Sequence[Endpoint]", http: "Optional[Credentials]") -> "List[Endpoint]":
    """The HTTP consoles log in with the configured console user."""
    for point in points:
        if point.protocol == "http":
            point.auth = http
    return list(points)


def validate(ctx: "Context", agents: "Sequence[GwAgent]") -> None:
    prepare(ctx, agents, write=False)


def start(ctx: "Context", agents: "Sequence[GwAgent]") -> None:
    """Start the agents in order, each answering on its secondary IP before the next one."""
    from ..service import lifecycle

    prepared = prepare(ctx, agents, write=True)
    lifecycle.start(ctx, service(ctx, agents, prepared))
    for agent in agents:  # the first monitor then reads the summary, not the startup file
        endpoints(agent, ctx.state)


def stop(ctx: "Context", agents: "Callable[[], Sequence[GwAgent]]", identity: "Sequence[str]") -> None:
    """Stop the resource's *agents()* in reverse order within the budget, gwha suspended
    meanwhile.  *agents* is called only once the parameters are known to identify them
    (*identity*: see :func:`mailha.service.lifecycle.stop`).

    Each agent may use the time left minus a reserve for those still to stop (the MTA after a
    GWIA that takes minutes: seed 000), then is killed."""
    from ..service import lifecycle

    p = ctx.params
    with Suspended(gwha_processes(p.gwha_binary), ctx.log):
        lifecycle.stop(ctx, lambda: service(ctx, agents()), any_agent(p), identity)


def monitor(ctx: "Context", agents: "Sequence[GwAgent]") -> int:
    """First level: every agent's process.  Second level: every listener on the secondary IP.
    Transaction: the test user logs in over POP3 or IMAP4."""
    from ..service import lifecycle

    return lifecycle.monitor(ctx, service(ctx, agents))
