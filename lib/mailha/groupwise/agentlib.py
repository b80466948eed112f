"""What the ``gwia`` and ``gwpoa`` resource agents share: one GroupWise agent process and its checks.

A resource manages one or more :class:`GwAgent` (the GWIA resource: its MTA, then the GWIA; the
POA resource: one POA).  Each is known by its binary and its startup file, which is also how its
process is told apart from the other domains' and post offices' on the same node: the products
keep no pid file (product facts §1.5), and two domains' MTAs differ only by ``@startup``.

Everything here runs on behalf of an agent action and raises the OCF exceptions of
:mod:`mailha.ocf.codes`; processes, probes, waits and stops are the shared modules' work
(:mod:`mailha.proc`, :mod:`mailha.net`, :mod:`mailha.probes`, :mod:`mailha.run`).

Import cost matters: a monitor imports this module.  Only ``os`` is imported at module level;
the startup-file grammar and the switch table are imported when a startup file has changed (see
:func:`endpoints`), the probes when a second-level check runs, psutil only to stop.
"""

from __future__ import annotations

import os

from ..ocf.codes import GenericError, Misconfigured, NotInstalled

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Self

    from ..net import Listener
    from ..ocf.agent import Context
    from ..ocf.budget import Budget
    from ..ocf.log import Logger
    from ..ocf.params import Param, Params
    from ..ocf.state import StateFile
    from ..proc import ProcessMatch, ProcInfo, StopResult
    from .startup import StartupFile

BINARY, GRPWISE = "binary", "grpwise"  # how a site launches its agents
REFUSE, SUSPEND = "refuse", "suspend"  # what to do about a gwha that would restart them
ALL_ADDRESSES = frozenset(("0.0.0.0", "::", "*", "[::]"))
GWHA_PORT = 8400  # gwha's listener (xinetd, or gwha.socket on GW 18.3+): product facts §1.3
#: Where each product writes its log, relative to its home (the emulator follows the products).
LOG_HINTS = {"mta": "mslocal/", "poa": "wpcsout/ofs/", "gwia": "000.prc/"}


class Endpoint:
    """A listener of an agent: service name, protocol a probe speaks, port."""

    __slots__ = ("port", "protocol", "service")

    def __init__(self, service: str, protocol: str, port: int) -> None:
        self.service, self.protocol, self.port = service, protocol, port

    def __repr__(self) -> str:
        return f"Endpoint({self.service!r}, {self.protocol!r}, {self.port!r})"


class GwAgent:
    """One GroupWise agent process of a resource (immutable by convention).

    ``label`` names it in messages ("MTA", "GWIA", "POA"); ``kind`` is ``mta``, ``poa`` or
    ``gwia`` (as in :class:`mailha.groupwise.switches.AgentKind`); ``name`` is the agent's name
    for ``grpwise`` (a gwha.conf section).
    """

    __slots__ = ("binary", "kind", "label", "name", "startup")

    def __init__(self, label: str, kind: str, binary: str, startup: str, name: str | None = None) -> None:
        self.label, self.kind, self.binary, self.startup, self.name = label, kind, binary, startup, name

    @property
    def match(self) -> ProcessMatch:
        """Its process: the binary run with this startup file (``@file`` as the products take it).

        ``mailha.proc`` matches the startup path as whole path components, so ``/gw/dom1/dom1.mta``
        never matches ``/gw/dom10/dom10.mta``, and it recognises the emulator's ``#!`` scripts."""
        from ..proc import ProcessMatch

        return ProcessMatch(exe_names=(self.binary,), cmdline_contains=(self.startup,))

    def find(self, every: bool = False, known_pid: int | None = None) -> list[ProcInfo]:
        from ..proc import find

        return find(self.match, every=every, known_pid=known_pid)

    def locate(self, state: StateFile) -> list[ProcInfo]:
        """:meth:`find`, trying first where the last start or monitor found the agent.

        The products write no pid file, and scanning /proc costs a monitor about 1.7 ms per
        100 processes; the state file is written only when the process changed."""
        key = f"pid.{self.kind}"
        data = state.load()
        known = data.get(key, "")
        found = self.find(known_pid=int(known) if known.isdigit() and len(known) < 10 else None)
        now = str(found[0].pid) if found else ""
        if now != known:
            data[key] = now
            try:
                state.save(data)
            except OSError:
                pass  # no state directory: the next monitor scans again
        return found

    @property
    def home(self) -> str:
        return os.path.dirname(self.startup)

    def log_hint(self, home: str | None = None) -> str:
        return f"; see its log in {os.path.join(home or self.home, LOG_HINTS.get(self.kind, ''))}"


# -- startup files -----------------------------------------------------------------------------


def load_startup(agent: GwAgent) -> StartupFile:
    """The agent's startup file, parsed.  Unreadable: not on this node (5); bad syntax: the
    file is on the shared partition, so it is wrong on every node (6)."""
    from .startup import StartupFile, StartupFileError

    try:
        return StartupFile.load(agent.startup)
    except OSError as err:
        raise NotInstalled(f"cannot read the {agent.label} startup file {agent.startup}: {err.strerror}: "
                           f"is the GroupWise partition mounted on this node?") from None
    except StartupFileError as err:
        raise Misconfigured(f"{agent.label} startup file {err}") from None


def listen_address(sf: StartupFile) -> str | None:
    """The ``--ip`` the agent binds to; None when it would listen on all addresses."""
    ip = sf.ip
    return None if ip is None or ip.strip() in ALL_ADDRESSES else ip.strip()


def endpoints_from(agent: GwAgent, sf: StartupFile) -> list[Endpoint]:
    from .startup import StartupFileError
    from .switches import AgentKind, endpoints

    try:
        return [Endpoint(p.service.name, p.service.protocol, p.port) for p in endpoints(AgentKind(agent.kind), sf)]
    except StartupFileError as err:
        raise Misconfigured(f"{agent.label} startup file {err}") from None


def endpoints(agent: GwAgent, cache: StateFile | None = None) -> tuple[str | None, list[Endpoint]]:
    """(address, listeners) of the agent as its startup file configures them, for a monitor.

    The summary is kept in the resource's state file, keyed on the file's size, mtime and inode:
    an unchanged file costs one ``stat``, and neither the grammar nor the switch table (together
    about 30 ms of imports, more than the rest of a monitor) is loaded.  A changed file is parsed
    again.  Raises :class:`GenericError` when the file cannot be read (the partition went away
    under a running agent)."""
    try:
        st = os.stat(agent.startup)
    except OSError as err:
        raise GenericError(f"cannot read the {agent.label} startup file {agent.startup}: {err.strerror}") from None
    stamp = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    key = f"endpoints.{agent.kind}"
    if cache is not None:
        raw = cache.load().get(key, "")
        if raw.startswith(stamp + "|"):
            decoded = _decode(raw[len(stamp) + 1:])
            if decoded is not None:
                return decoded
    try:
        sf = load_startup(agent)
    except NotInstalled as err:
        raise GenericError(err.reason) from None
    address, points = listen_address(sf), endpoints_from(agent, sf)
    if cache is not None:
        data = cache.load()
        data[key] = f"{stamp}|{address or ''}|" + ",".join(f"{p.service}:{p.protocol}:{p.port}" for p in points)
        try:
            cache.save(data)
        except OSError:
            pass  # no state directory: the next monitor parses again
    return address, points


def _decode(raw: str) -> tuple[str | None, list[Endpoint]] | None:
    address, sep, rest = raw.partition("|")
    if not sep:
        return None
    points = []
    for item in filter(None, rest.split(",")):
        service, protocol, port = (item.split(":") + ["", "", ""])[:3]
        if not port.isdigit():
            return None
        points.append(Endpoint(service, protocol, int(port)))
    return address or None, points


# -- checks at start and validate-all --------------------------------------------------------


def mount_point_of(path: str) -> str:
    """The mount point of the file system holding *path* (of its nearest existing ancestor)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def is_under(path: str, directory: str) -> bool:
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return directory == "/" or path == directory or path.startswith(directory.rstrip("/") + "/")


def check_storage(directory: str, mount: str | None, what: str) -> None:
    """*directory* is on the mounted GroupWise partition (raises :class:`NotInstalled`).

    With *mount* (the worksheet's "cluster resource mount point"), that must be a mount point
    here; without it, the directory must be on some file system other than ``/``: a directory on
    the root file system means the partition is not mounted and we would see an empty mount
    point, or worse, start an agent on a stale local copy.  ``mount=/`` accepts a local directory.
    """
    if mount:
        if not os.path.ismount(mount):
            raise NotInstalled(f"storage_mount {mount} is not a mount point on this node: mount the GroupWise "
                               f"partition first (a Filesystem resource before this one in the group)")
    elif mount_point_of(directory) == "/":
        raise NotInstalled(f"{what} {directory} is not on a mounted file system (it is on /): mount the "
                           f"GroupWise partition first, or set storage_mount to its mount point")
    if not os.path.isdir(directory):
        raise NotInstalled(f"{what} {directory} does not exist on this node: is the GroupWise partition mounted?")


def check_executable(path: str, what: str) -> None:
    if not os.access(path, os.X_OK):
        raise NotInstalled(f"{what} {path} is missing or not executable on this node: install the GroupWise "
                           f"agents here (or set the parameter naming it)")


def gwha_entries(gwha_conf: str) -> list:
    """The agents of gwha.conf (none when it is absent); unreadable or garbled: NotInstalled."""
    import configparser

    from .gwha import load_gwha_conf

    try:
        return load_gwha_conf(gwha_conf)
    except (OSError, UnicodeError, configparser.Error) as err:
        raise NotInstalled(f"cannot read {gwha_conf}: {getattr(err, 'strerror', None) or type(err).__name__}") from None


def check_grpwise_entry(agent: GwAgent, gwha_conf: str) -> None:
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


def others_on_ports(points: Iterable[Endpoint], address: str | None, own: set[int]) -> list[str]:
    """Who (not us) holds one of these ports on *address* (any address when None), described."""
    from .. import net

    found = []
    for point in points:
        try:
            holders = net.port_holders(point.port, address)
        except OSError:
            continue  # cannot ask the kernel: the start will tell
        holders = [h for h in holders if h.pid is None or h.pid not in own]
        if holders:
            found.append(f"{point.service.upper()} port {point.port} is held by "
                         + ", ".join(_holder(h) for h in holders))
    return found


def _holder(listener: Listener) -> str:
    """``pid 812 (master: /usr/lib/postfix/sbin/master -w) on 192.0.2.11:25``."""
    address = f"[{listener.address}]" if listener.address.version == 6 else str(listener.address)
    where = f"{address}:{listener.port}"
    if listener.pid is None:
        return f"a process on {where}"
    from ..proc import read_process

    info = read_process(listener.pid)
    argv = " ".join(info.argv[:3]) if info and info.argv else "?"
    return f"pid {listener.pid} ({listener.process}: {argv}) on {where}"


def check_binding(agent: GwAgent, sf: StartupFile, ip: str | None, set_ip: bool, *, write: bool,
                  log: Logger | None = None) -> str:
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
        held = others_on_ports(endpoints_from(agent, sf), None, set())
        # Pacemaker shows only the first 128 characters of an exit reason: the conflict and
        # the fix come first, the (long) file path last.
        fight = f" ({'; '.join(held)})" if held else ""
        fix = f"add '--ip {ip}' or set set_ip=true" if ip else "add '--ip <secondary IP>' (or set ip_address and set_ip=true)"
        raise Misconfigured(f"{agent.label} would listen on all addresses{fight}: {fix} in {agent.startup}")
    if ip:
        raise Misconfigured(f"{agent.startup} binds the {agent.label} to --ip {current} but ip_address is {ip}: "
                            f"correct one of them, or set set_ip=true to let the agent write --ip {ip}")
    return current


def check_ssl_files(agent: GwAgent, sf: StartupFile, storage_mount: str | None) -> None:
    """The certificate and key the startup file names exist.  On the partition a missing file is
    missing on every node (6); elsewhere (the software's default place) only here (5)."""
    from .switches import ssl_files

    for switch, path in ssl_files(sf).items():
        if not os.path.isabs(path):
            path = os.path.join(agent.home, path)
        if os.path.isfile(path) and os.access(path, os.R_OK):
            continue
        reason = (f"the {agent.label} SSL file --{switch} {path} is missing or unreadable: the agent would run "
                  f"without TLS; copy it there or correct {agent.startup}")
        if storage_mount and storage_mount != "/" and is_under(path, storage_mount):
            raise Misconfigured(reason)
        raise NotInstalled(reason)


# -- gwha ------------------------------------------------------------------------------------------


def gwha_processes(gwha_binary: str) -> list[ProcInfo]:
    from ..proc import ProcessMatch, find

    return find(ProcessMatch(exe_names=(gwha_binary,)), every=True)


def gwha_conflict(agents: Sequence[GwAgent], gwha_binary: str, gwha_conf: str) -> str | None:
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
    # Kept short: Pacemaker shows one line of at most a few hundred characters.
    return (f"gwha runs on this node ({', '.join(running)}) and gwha.conf lists {', '.join(listed)}: it would "
            f"restart them behind the cluster; drop their gwha.conf sections or disable gwha (systemctl "
            f"disable --now gwha.socket; chkconfig gwha off), or set gwha=suspend")


class Suspended:
    """Context manager: gwha processes stopped (SIGSTOP) inside, resumed (SIGCONT) after, always.

    A pid that was reused in between is not signalled (``ProcInfo.is_same``)."""

    def __init__(self, processes: Sequence[ProcInfo], log: Logger) -> None:
        self.processes = list(processes)
        self.log = log
        self.stopped: list[ProcInfo] = []

    def __enter__(self) -> Self:
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


# -- launching, probing, stopping ------------------------------------------------------------------


def child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The agent's environment minus every ``OCF_RESKEY_*``: parameters (and the secrets among
    them) never reach a product process, whose environment other root tools can read."""
    return {k: v for k, v in environ.items() if not k.startswith("OCF_RESKEY_")}


def launch(agent: GwAgent, method: str, grpwise: str, budget: Budget, environ: Mapping[str, str], log: Logger) -> None:
    """Start the agent as the site does: ``<binary> @<startup>`` or ``grpwise start <name>``."""
    from ..run import run_command

    argv = [grpwise, "start", agent.name or ""] if method == GRPWISE else [agent.binary, f"@{agent.startup}"]
    log.info("starting the %s: %s", agent.label, " ".join(argv))
    # "/" as working directory: a daemon keeping ours would hold the partition busy at umount.
    result = run_command(argv, timeout=budget.share(0.5, cap=120), cwd="/", env=child_env(environ))
    if result.timed_out:
        raise GenericError(f"{argv[0]} did not return within {budget.share(0.5, cap=120):.0f}s while starting the {agent.label}")
    if result.returncode != 0:
        raise GenericError(f"{' '.join(argv[:2])} exited {result.returncode} starting the {agent.label}: "
                           f"{result.last_line or 'no output'}")


class Credentials:
    """What second-level probes log in with: the synthetic-transaction user, the HTTP console."""

    __slots__ = ("http_password", "http_user", "password", "user")

    def __init__(self, user: str | None = None, password: str | None = None, http_user: str | None = None,
                 http_password: str | None = None) -> None:
        self.user, self.password = user, password
        self.http_user, self.http_password = http_user, http_password


def probe_endpoint(point: Endpoint, host: str, timeout: float, creds: Credentials | None = None,
                   login: bool = False) -> None:
    """One listener answers its protocol (raises :class:`mailha.probes.ProbeError`).

    MTP and client/server are proprietary: a TCP connection is all a probe can ask of them.
    The HTTP console counts as answering with 200, or 401 when no console login is configured;
    with *login*, POP3 and IMAP4 log in as the test user."""
    creds = creds or Credentials()
    user = creds.user if login else None
    password = creds.password if login else None
    if point.protocol == "smtp":
        from ..probes import smtp

        smtp.probe(host, point.port, timeout)
    elif point.protocol == "pop3":
        from ..probes import pop3

        pop3.probe(host, point.port, timeout, user=user, password=password)
    elif point.protocol == "imap4":
        from ..probes import imap

        imap.probe(host, point.port, timeout, user=user, password=password)
    elif point.protocol == "ldap":
        from ..probes import ldap

        ldap.probe(host, point.port, timeout, attrs=("1.1",))
    elif point.protocol == "http":
        from ..probes import http

        expect = (200,) if creds.http_user else (200, 401)
        http.probe(host, point.port, timeout, expect_status=expect, user=creds.http_user,
                   password=creds.http_password)
    else:
        from ..probes import tcp

        tcp.connect(host, point.port, timeout)


def probe_all(agent: GwAgent, address: str | None, points: Sequence[Endpoint], timeout: float,
              creds: Credentials | None = None, login: bool = False) -> None:
    """Every listener of *agent* answers on *address*; the first failure raises an OCF error.

    The probes share *timeout*: a hung agent fails on its first listener, well within the
    monitor's timeout.  Rejected credentials are wrong on every node (6)."""
    import time

    from ..probes import AUTH, ProbeError

    host = address or "127.0.0.1"
    deadline = time.monotonic() + timeout
    for point in points:
        left = deadline - time.monotonic()
        if left <= 0:
            raise GenericError(f"{agent.label} {point.service} {host}:{point.port}: no time left to probe it")
        try:
            probe_endpoint(point, host, left, creds, login)
        except ProbeError as err:
            if err.kind == AUTH:
                raise Misconfigured(f"the {agent.label} rejects the configured login: {err}; fix the test user "
                                    f"or HTTP console credentials (same on every node)") from None
            raise GenericError(f"the {agent.label} does not answer: {err}") from None


def wait_until_answering(agent: GwAgent, address: str | None, points: Sequence[Endpoint], budget: Budget,
                         deadline: float, creds: Credentials | None = None) -> None:
    """Wait (within *deadline*) until the agent's process exists and every listener answers."""
    import time

    started = time.monotonic()
    seen = [False]
    last = [""]

    def ready() -> bool:
        if not agent.find():
            # A launcher may return just before its daemon shows up: absence counts as an exit
            # only once the process was seen, or after a grace period.
            if seen[0] or time.monotonic() - started > 5.0:
                raise GenericError(f"the {agent.label} exited during start{agent.log_hint()}")
            return False
        seen[0] = True
        try:
            probe_all(agent, address, points, min(5.0, max(0.5, deadline - time.monotonic())), creds)
        except GenericError as err:
            last[0] = err.reason
            return False
        return True

    if not budget.wait_for(ready, deadline):
        raise GenericError(f"the {agent.label} did not answer within the start timeout: {last[0] or 'not running'}"
                           f"{agent.log_hint()}")


def stop_agent(agent: GwAgent, deadline: float, method: str, grpwise: str, environ: Mapping[str, str],
               log: Logger) -> StopResult | None:
    """Stop the agent before *deadline*: ``grpwise stop`` (when the site uses it) or SIGTERM,
    then SIGKILL what is left (the products: "if an agent does not respond ... use kill")."""
    import time

    from ..proc import stop

    processes = agent.find(every=True)
    if not processes:
        log.info("the %s is already stopped", agent.label)
        return None
    graceful: Callable[[float], object] | None = None
    if method == GRPWISE and agent.name:
        def graceful(until: float) -> None:
            from ..run import run_command

            run_command([grpwise, "stop", agent.name or ""], timeout=until - time.monotonic(), env=child_env(environ))
    result = stop(processes, deadline, graceful=graceful)
    log.info("%s: %s", agent.label, result.describe())
    if agent.find():
        raise GenericError(f"the {agent.label} survived the stop: {result.describe()}")
    return result


# -- declarations and handlers shared by the two agents ---------------------------------------------


def common_params(what: str) -> list[Param]:
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
        level_param(),
    ]


def check_common(p: Params) -> None:
    """Rules across the common parameters (every node)."""
    if bool(p.http_user) != bool(p.http_password):
        raise Misconfigured("'http_user' and 'http_password' go together: set both or neither")
    if bool(p.test_user) != bool(p.test_password):
        raise Misconfigured("'test_user' and 'test_password' go together: set both or neither")
    if p.set_ip and not p.ip_address:
        raise Misconfigured("set_ip=true needs ip_address: the address to write as --ip")


def check_installed(p: Params, agents: Sequence[GwAgent], directory: str, what: str) -> None:
    """This node can run the agents: software, storage, gwha (raises NotInstalled)."""
    if p.launch == GRPWISE:
        check_executable(p.grpwise_script, "the grpwise script")
    for agent in agents:
        check_executable(agent.binary, f"the {agent.label} binary")
    check_storage(directory, p.storage_mount, what)
    if p.launch == GRPWISE:
        for agent in agents:
            check_grpwise_entry(agent, p.gwha_conf)
    if p.gwha == REFUSE:
        conflict = gwha_conflict(agents, p.gwha_binary, p.gwha_conf)
        if conflict:
            raise NotInstalled(conflict)


def credentials(p: Params) -> Credentials:
    return Credentials(p.test_user, p.test_password, p.http_user, p.http_password)


def prepare(ctx: Context, agents: Sequence[GwAgent], *, write: bool) -> list[tuple[GwAgent, str, list[Endpoint]]]:
    """Read and check every startup file: the address each agent binds to, SSL files, listeners."""
    p = ctx.params
    prepared = []
    for agent in agents:
        sf = load_startup(agent)
        address = check_binding(agent, sf, p.ip_address, p.set_ip, write=write, log=ctx.log)
        check_ssl_files(agent, sf, p.storage_mount)
        prepared.append((agent, address, endpoints_from(agent, sf)))
    return prepared


def validate(ctx: Context, agents: Sequence[GwAgent]) -> None:
    prepare(ctx, agents, write=False)


def start(ctx: Context, agents: Sequence[GwAgent]) -> None:
    """Start the agents in order, each answering on its secondary IP before the next one starts."""
    from .. import monitor, net

    p, budget, log = ctx.params, ctx.budget, ctx.log
    prepared = prepare(ctx, agents, write=True)
    for address in {a for _, a, _ in prepared}:
        try:
            local = net.is_local_address(address)
        except (OSError, ValueError) as err:
            raise GenericError(f"cannot tell whether {address} is configured here: {err}") from None
        if not local:
            raise GenericError(f"the secondary IP {address} is not configured on this node: start the IP "
                               f"address resource first (same group, before this one)")
    creds = credentials(p)
    running = {agent.label: agent.find(every=True) for agent in agents}
    own = {info.pid for found in running.values() for info in found}
    # Every port of every agent still to launch is checked before anything is launched: a
    # GWIA that cannot bind must not leave its MTA half-started behind.
    for agent, address, points in prepared:
        taken = [] if running[agent.label] else others_on_ports(points, address, own)
        if taken:
            raise GenericError(f"cannot start the {agent.label} on {address}: {'; '.join(taken)}: stop that "
                               f"process or bind it to another address")
    for index, (agent, address, points) in enumerate(prepared):
        later = len(prepared) - index - 1
        deadline = budget.until(budget.remaining() * later / (later + 1))
        if running[agent.label]:
            log.info("the %s is already running", agent.label)
        else:
            launch(agent, p.launch, p.grpwise_script, budget, ctx.environ, log)
        wait_until_answering(agent, address, points, budget, deadline, creds)
        log.info("the %s answers on %s (%s)", agent.label, address,
                 ", ".join(f"{pt.service} {pt.port}" for pt in points))
    monitor.reset(ctx)
    for agent in agents:  # prime what the monitor remembers: endpoint summary and process
        endpoints(agent, ctx.state)
        agent.locate(ctx.state)


def stop(ctx: Context, agents: Sequence[GwAgent]) -> None:
    """Stop the agents in reverse order within the budget, gwha suspended meanwhile.

    Each agent may use the time left minus a reserve for those still to stop (the MTA after a
    GWIA that takes minutes: seed 000), then is killed."""
    p, budget, log = ctx.params, ctx.budget, ctx.log
    order = list(reversed(agents))
    with Suspended(gwha_processes(p.gwha_binary), log):
        for index, agent in enumerate(order):
            later = len(order) - index - 1
            reserve = min(30.0, budget.remaining() * 0.2) * later
            stop_agent(agent, budget.until(reserve), p.launch, p.grpwise_script, ctx.environ, log)


def monitor_plan(ctx: Context, agents: Sequence[GwAgent]) -> int:
    """First level: every agent's process (all missing: not running; some missing: failed).
    Second level: every listener on the secondary IP.  Transaction: log in as the test user."""
    from .. import monitor

    p = ctx.params
    creds = credentials(p)

    def running() -> bool:
        up = [agent for agent in agents if agent.locate(ctx.state)]
        if not up:
            return False
        if len(up) < len(agents):
            down = " and ".join(a.label for a in agents if a not in up)
            alive = " and ".join(a.label for a in up)
            raise GenericError(f"the {down} is not running (the {alive} is)")
        return True

    def service(timeout: float, login: bool = False) -> None:
        import time

        deadline = time.monotonic() + timeout
        probed = 0
        for agent in agents:
            address, points = endpoints(agent, ctx.state)
            if login:
                points = [pt for pt in points if pt.protocol in ("pop3", "imap4")][:1]
            probed += len(points)
            probe_all(agent, address, points, max(0.1, deadline - time.monotonic()), creds, login)
        if login and not probed:
            raise Misconfigured("test_user is set but no agent of this resource enables POP3 or IMAP4 to log in to")

    plan = monitor.MonitorPlan(
        running=running,
        service=service,
        transaction=(lambda timeout: service(timeout, login=True)) if creds.user else None,
        every=p.second_level_monitor,
        program=p.monitor_program,
    )
    return monitor.run(ctx, plan)
