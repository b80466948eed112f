"""The services one Messaging Server resource manages, as Veritas ``SunJESMsg`` declares them
(``MsgServices``, seed 004), and the rules a set of them must follow.

A resource manages either the core (the message store, the scheduler and the watcher, given
with the watcher's port), or client services of a ``MSG`` server (``imap imaps pop pops http
https smtp lmtp ens snmp sms`` with their ports), or the services of an ``MMP`` (``imap imaps pop
pops``, served by ``AService``).  :func:`parse` reads the forms seed 004 shows (``{ core 49994 }``,
``{ http 80 pop 110 imap 143 smtp 25 }``, ``{ http = 80 }``) and the ``name=port`` words of a
Pacemaker parameter, and applies the rules that hold on every node; the rules that need the
instance's configuration (a listed service enabled, the scheduler enabled with the core) are the
agent's, at start.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Optional, Sequence, Tuple

MSG, MMP = "MSG", "MMP"
SERVER_TYPES = (MSG, MMP)
CORE = "core"


class Service:
    """One service: its name in ``MsgServices``, its default port (None when the sources give
    none: the admin must say), the processes that serve it on a ``MSG`` server (spec A.4), the
    ``configutil`` flag that enables it, the protocol a second-level probe speaks (None: no
    second level, as seed 004 says for ens and snmp), whether the port speaks TLS at once, and
    the ``start-msg`` component that starts it."""

    __slots__ = ("component", "default_port", "flag", "name", "processes", "protocol", "tls")

    def __init__(self, name: str, default_port: "Optional[int]", processes: "Tuple[str, ...]", flag: str,
                 protocol: "Optional[str]", component: str, tls: bool = False) -> None:
        self.name, self.default_port, self.processes, self.flag = name, default_port, processes, flag
        self.protocol, self.component, self.tls = protocol, component, tls

    def __repr__(self) -> str:
        return "Service({!r})".format(self.name)


class Process:
    """One daemon of an instance: its name (the kernel's ``comm``, the file in ``lib``), the
    ``start-msg`` component that starts it (None: its parent starts it, as the dispatcher starts
    ``tcp_smtp_server``) and the one that stops it."""

    __slots__ = ("name", "start", "stop")

    def __init__(self, name: str, start: "Optional[str]", stop: str) -> None:
        self.name, self.start, self.stop = name, start, stop

    def __repr__(self) -> str:
        return "Process({!r})".format(self.name)


#: The daemons (spec A.4; product facts §2.1): each has a component of its own in ``start-msg``,
#: so one that died alone is started again without the others; the dispatcher starts and stops
#: its TCP servers.  The watcher is launched by ``start-msg store`` ("Connecting to watcher ...
#: Launching watcher ..."): 6 2005Q4's start-msg has no ``watcher`` component, 6.3's has, and
#: ``store`` starts it on both.  ``stop-msg watcher`` exists from 6.3 on; before, the watcher
#: ends by SIGTERM once that command has failed.
PROCESSES = {p.name: p for p in (
    Process("watcher", "store", "watcher"),
    Process("stored", "store", "store"),
    Process("imsched", "sched", "sched"),
    Process("imapd", "imap", "imap"),
    Process("popd", "pop", "pop"),
    Process("mshttpd", "http", "http"),
    Process("job_controller", "job_controller", "job_controller"),
    Process("dispatcher", "dispatcher", "dispatcher"),
    Process("tcp_smtp_server", None, "dispatcher"),
    Process("tcp_lmtp_server", None, "dispatcher"),
    Process("enpd", "ens", "ens"),
    Process("snmpd", "snmp", "snmp"),
    Process("sms_gateway", "sms", "sms"),
    Process("AService", "mmp", "mmp"),
)}

#: Every service a MSG server's resource may list (spec A.1, A.4; product facts §2.1, §2.4).
#: Ports seed 004 and the product documentation give; LMTP and SMS have none there.  The
#: processes of snmp and sms are not in the sources: ``snmpd`` and ``sms_gateway`` are assumed.
#: Processes are in start order: the watcher first (start-msg launches it before the store).
SERVICES = {s.name: s for s in (
    # The core: the store and the scheduler, and the watcher that restarts crashed servers;
    # its "port" is the watcher's (seed 004: { core 49994 }).
    Service(CORE, None, ("watcher", "stored", "imsched"), "local.sched.enable", None, "store"),
    Service("imap", 143, ("imapd",), "service.imap.enable", "imap", "imap"),
    Service("imaps", 993, ("imapd",), "service.imap.enablesslport", "imap", "imap", tls=True),
    Service("pop", 110, ("popd",), "service.pop.enable", "pop3", "pop"),
    Service("pops", 995, ("popd",), "service.pop.enablesslport", "pop3", "pop", tls=True),
    Service("http", 80, ("mshttpd",), "service.http.enable", "http", "http"),
    Service("https", 443, ("mshttpd",), "service.http.enablesslport", "http", "http", tls=True),
    Service("smtp", 25, ("job_controller", "dispatcher", "tcp_smtp_server"), "local.imta.enable", "smtp", "smtp"),
    # LMTP is a dispatcher service too: a node running smtp and lmtp resources of one instance
    # shares the dispatcher, one more reason seed 004 keeps them in separate groups.
    Service("lmtp", None, ("dispatcher", "tcp_lmtp_server"), "local.imta.enable", "lmtp", "smtp"),
    Service("ens", 7997, ("enpd",), "local.ens.enable", None, "ens"),
    Service("snmp", 161, ("snmpd",), "local.snmp.enable", None, "snmp"),
    Service("sms", None, ("sms_gateway",), "local.smsgateway.enable", None, "sms"),
)}
#: What an MMP's resource may list: the proxy's own listeners, all served by AService.
MMP_SERVICES = {name: Service(name, SERVICES[name].default_port, ("AService",), "local.mmp.enable",
                              SERVICES[name].protocol, "mmp", tls=SERVICES[name].tls)
                for name in ("imap", "imaps", "pop", "pops")}


class ServicesError(ValueError):
    """A ``services`` value that breaks a rule; ``str()`` says which and how to fix it."""


def catalogue(server_type: str) -> "Dict[str, Service]":
    """The services a resource of *server_type* (``MSG`` or ``MMP``) may list."""
    if server_type == MMP:
        return MMP_SERVICES
    if server_type == MSG:
        return SERVICES
    raise ServicesError(f"server type {server_type!r} is neither MSG nor MMP")


def parse(text: str, server_type: str = MSG) -> "List[Tuple[Service, int]]":
    """The services and ports of *text*, in the order given, checked against the rules that
    hold on every node.  Raises :class:`ServicesError` with the rule and its fix."""
    known = catalogue(server_type)
    pairs = _pairs(text)
    if not pairs:
        raise ServicesError("no service listed: name the services this resource manages, e.g. 'imap=143 pop=110'")
    chosen: "List[Tuple[Service, int]]" = []
    seen = set()
    for name, port in pairs:
        service = known.get(name.lower())
        if service is None:
            raise ServicesError(f"unknown service {name!r} for a {server_type} server: use {' '.join(known)}")
        if service.name in seen:
            raise ServicesError(f"service {service.name} is listed twice: list it once")
        seen.add(service.name)
        if port is None:
            port = service.default_port
            if port is None:
                what = "the watcher's port" if service.name == CORE else "its port"
                raise ServicesError(f"service {service.name} needs {what}: write {service.name}=PORT")
        chosen.append((service, port))
    _check_rules([s.name for s, _ in chosen])
    ports: "Dict[int, str]" = {}
    for service, port in chosen:
        if port in ports:
            raise ServicesError(f"services {ports[port]} and {service.name} share port {port}: give each its own")
        ports[port] = service.name
    return chosen


def _check_rules(names: "Sequence[str]") -> None:
    if CORE in names and len(names) > 1:
        raise ServicesError("core (store, scheduler, watcher) must be listed alone: manage the other services "
                            "with a second resource")
    if "smtp" in names and "lmtp" in names:
        raise ServicesError("smtp and lmtp must not be in one resource (seed 004): give lmtp its own resource")


def _pairs(text: str) -> "List[Tuple[str, Optional[int]]]":
    """(name, port or None) from ``{ core 49994 }``, ``imap 143 pop 110``, ``http = 80``,
    ``imap=143,pop=110``: words, each name optionally followed by its port."""
    words = text.replace("{", " ").replace("}", " ").replace(",", " ").replace("=", " = ").split()
    pairs: "List[Tuple[str, Optional[int]]]" = []
    i = 0
    while i < len(words):
        name = words[i]
        if name == "=" or name.isdecimal():
            raise ServicesError(f"{name!r} is not a service name: write NAME or NAME=PORT, e.g. 'imap=143'")
        i += 1
        explicit = i < len(words) and words[i] == "="
        if explicit:
            i += 1
        port = None
        if i < len(words) and (explicit or words[i].isdecimal()):
            port = _port(name, words[i])
            i += 1
        elif explicit:
            raise ServicesError(f"service {name} has '=' but no port: write {name}=PORT")
        pairs.append((name, port))
    return pairs


def _port(name: str, word: str) -> int:
    if not word.isdecimal() or not 0 < int(word) <= 65535 or len(word) > 5:
        raise ServicesError(f"port {word!r} of service {name} is not a TCP port: use 1-65535")
    return int(word)


def processes(chosen: "Sequence[Tuple[Service, int]]") -> "List[str]":
    """The process names that serve *chosen*, each once, in the order of the services."""
    names: "List[str]" = []
    for service, _port in chosen:
        names.extend(p for p in service.processes if p not in names)
    return names


def components(chosen: "Sequence[Tuple[Service, int]]") -> "List[str]":
    """The ``start-msg`` components that start *chosen*, each once, in start order (the core:
    ``store sched``)."""
    names: "List[str]" = []
    for name in processes(chosen):
        component = PROCESSES[name].start
        if component is not None and component not in names:
            names.append(component)
    return names
