"""What a service is made of, declared by an agent from its parameters.

Plain classes with ``__slots__``: a monitor builds a service on every run, and dataclasses or
typing would cost it more to import than the checks themselves.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, List, Optional, Sequence, Tuple, Union

    from ..proc import ProcessMatch, ProcInfo

    Points = Union[Sequence["Endpoint"], Callable[[], Sequence["Endpoint"]]]

#: Where a member is probed when neither it nor its service names an address.
LOOPBACK = "127.0.0.1"


class Credentials:
    """A user and password a probe logs in with (never shown: the password is a secret);
    ``params`` names the parameters they come from, for the message when they are rejected."""

    __slots__ = ("params", "password", "user")

    def __init__(self, user: str, password: str, params: str = "the credentials") -> None:
        self.user, self.password, self.params = user, password, params

    def __repr__(self) -> str:
        return "Credentials({!r}, '***')".format(self.user)


class Endpoint:
    """One listener of a member: a name for messages, the protocol a probe speaks, a port.

    ``protocol``: ``ldap``, ``smtp``, ``pop3``, ``imap`` (``imap4``), ``http``; anything else
    (a proprietary protocol) is checked by a TCP connection.  ``tls``: the port speaks TLS from
    the first byte.  ``auth``: what the second-level check binds or logs in with (an LDAP bind
    DN, an HTTP console user); a rejection makes the monitor report "degraded".  ``base``: the
    LDAP search base.  ``login``: the synthetic transaction logs in here as the test user.
    """

    __slots__ = ("auth", "base", "login", "name", "port", "protocol", "tls")

    def __init__(self, name: str, protocol: str, port: int, *, tls: bool = False,
                 auth: "Optional[Credentials]" = None, base: str = "", login: bool = False) -> None:
        self.name, self.protocol, self.port = name, protocol, port
        self.tls, self.auth, self.base, self.login = tls, auth, base, login

    def __repr__(self) -> str:
        return "Endpoint({!r}, {!r}, {!r}{})".format(self.name, self.protocol, self.port,
                                                      ", tls=True" if self.tls else "")


class Command:
    """A product command: argv (never through a shell), working directory, the exit codes that
    mean success (``start-slapd`` exits 2 when the server already runs)."""

    __slots__ = ("argv", "cwd", "ok")

    def __init__(self, argv: "Sequence[str]", cwd: str = "/", ok: "Tuple[int, ...]" = (0,)) -> None:
        self.argv, self.cwd, self.ok = tuple(argv), cwd, tuple(ok)

    def __repr__(self) -> str:
        return "Command({!r})".format(" ".join(self.argv))


class Member:
    """One process (or process group) of a service.

    ``label`` names it in messages ("POA", "slapd").  ``match`` finds its processes.
    ``launch``: the command that starts it; None when an earlier member's command starts it too
    (a product start script that launches several daemons).  ``stop``: its graceful stop
    command; None means SIGTERM.  Either way, whatever remains is killed before the deadline.
    ``endpoints``: its listeners, or a callable that returns them (read only when a check needs
    them: a first-level monitor never does).  ``address``: where it listens, when it differs
    from the service's; a callable is asked on first use, like ``endpoints``.  ``remember``: a key under which the pid found last is kept in the
    resource's state, for products that write no pid file (a /proc scan costs a monitor about
    1.7 ms per 100 processes).  ``ready``: a product check that must pass before the member
    counts as started, given the member's running processes, returning None when ready and
    otherwise why not.  ``log_hint``: where
    its log is, appended to "it exited during start".  ``inputs``: the files its endpoints and
    address are read from (a startup file), beside the parameters: the recurring monitor's fast
    path (:mod:`mailha.service.fastpath`) answers only while they are unchanged.  ``check``: a
    product check of the second level beside the endpoints' probes (Messaging Server's
    ``stored -t -v``), given a timeout in seconds, raising an OCF error when it fails.
    """

    __slots__ = ("_address", "_points", "check", "inputs", "label", "launch", "log_hint", "match", "ready",
                 "remember", "stop")

    def __init__(self, label: str, match: "ProcessMatch", *, launch: "Optional[Command]" = None,
                 stop: "Optional[Command]" = None, endpoints: "Points" = (),
                 address: "Union[None, str, Callable[[], Optional[str]]]" = None,
                 remember: "Optional[str]" = None,
                 ready: "Optional[Callable[[List[ProcInfo]], Optional[str]]]" = None,
                 log_hint: str = "", inputs: "Sequence[str]" = (),
                 check: "Optional[Callable[[float], None]]" = None) -> None:
        self.label, self.match, self.launch, self.stop = label, match, launch, stop
        self._points, self._address = endpoints, address
        self.remember, self.ready, self.log_hint = remember, ready, log_hint
        self.inputs, self.check = tuple(inputs), check

    @property
    def endpoints(self) -> "Sequence[Endpoint]":
        if callable(self._points):
            self._points = tuple(self._points())
        return self._points

    @property
    def address(self) -> "Optional[str]":
        if callable(self._address):
            self._address = self._address()
        return self._address

    def __repr__(self) -> str:
        return "Member({!r})".format(self.label)


class Service:
    """What one resource manages: its members in start order (stopped in reverse), the address
    they serve on (the resource's virtual IP; None: all addresses, probed on loopback), and the
    test user of the synthetic transaction (None: no transaction)."""

    __slots__ = ("address", "login", "members")

    def __init__(self, members: "Sequence[Member]", address: "Optional[str]" = None,
                 login: "Optional[Credentials]" = None) -> None:
        self.members = list(members)
        self.address, self.login = address, login

    def address_of(self, member: Member) -> "Optional[str]":
        return member.address or self.address

    def host_of(self, member: Member) -> str:
        """Where *member* is probed."""
        return self.address_of(member) or LOOPBACK
