"""Where a Messaging Server instance keeps what the cluster needs (product facts §2.1-§2.2,
spec A.3-A.5).

Two layouts:

* 6.x and later: one instance per server root (``/opt/SUNWmsgsr``): launchers ``start-msg`` and
  ``stop-msg`` in ``sbin`` (6 2005Q4) or ``bin`` (8.x), daemons and ``stored`` in ``lib``,
  configuration in ``config`` (often a link to ``/var/opt/SUNWmsgsr/config``), the store's pid
  file ``config/pidfile.store`` (6.0-6.2) or ``data/proc/store`` (6.3 and later);
* iMS 5.x: several ``msg-<instance>`` directories under one server root, registered in
  ``/etc/msgregistry.inf``; each holds its own launchers, ``config`` and ``imta/config``.

Seed 004's ``<ServerRoot>/lib/msstart`` (``msstart -k`` to stop) is found in no product
document (product facts §2.1, unverified); it is supported as the seed describes it.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional, Sequence, Tuple

REGISTRY = "/etc/msgregistry.inf"
USER, GROUP = "mailsrv", "mail"
READY, INIT = "ready", "init"  # the store's states in its pid file


def _join(*parts: str) -> str:
    return "/".join([parts[0].rstrip("/")] + [p.strip("/") for p in parts[1:]])


class Instance:
    """One instance: its *server_root* and, for iMS 5.x, the *instance* name without ``msg-``
    (None for the 6.x layout, where the server root is the instance)."""

    __slots__ = ("instance", "server_root")

    def __init__(self, server_root: str, instance: "Optional[str]" = None) -> None:
        if not server_root.startswith("/"):
            raise ValueError(f"server root {server_root!r} is not an absolute path")
        if instance is not None and (not instance or "/" in instance or instance.startswith("msg-")):
            raise ValueError(f"instance {instance!r}: give the name without 'msg-' and without '/'")
        self.server_root, self.instance = server_root.rstrip("/") or "/", instance

    @property
    def home(self) -> str:
        """The directory that identifies the instance on its processes' command lines."""
        return _join(self.server_root, f"msg-{self.instance}") if self.instance else self.server_root

    @property
    def config_dir(self) -> str:
        return _join(self.home, "config")

    @property
    def imta_config_dir(self) -> str:
        """Where dispatcher.cnf and job_controller.cnf are: ``config`` (6.x), ``imta/config`` (5.x)."""
        return _join(self.home, "imta", "config") if self.instance else self.config_dir

    @property
    def dispatcher_cnf(self) -> str:
        return _join(self.imta_config_dir, "dispatcher.cnf")

    @property
    def job_controller_cnf(self) -> str:
        return _join(self.imta_config_dir, "job_controller.cnf")

    @property
    def msg_conf(self) -> str:
        """The values ``configutil`` sets (never ``msg.conf.defaults``)."""
        return _join(self.config_dir, "msg.conf")

    @property
    def mmp_conf(self) -> str:
        """The MMP's configuration (product facts §2.4)."""
        return _join(self.config_dir, "ImapProxyAService.cfg")

    @property
    def stored(self) -> str:
        return _join(self.home, "lib", "stored")

    def daemon(self, name: str) -> str:
        """Where the daemon *name* runs from: the instance's ``lib`` (spec A.4)."""
        return _join(self.home, "lib", name)

    def configutil(self) -> "Tuple[str, ...]":
        """Where ``configutil`` may be: ``sbin`` (6.x), ``bin`` (8.x)."""
        return tuple(_join(self.home, d, "configutil") for d in ("sbin", "bin"))

    def store_pidfiles(self) -> "Tuple[str, ...]":
        """Where the store's pid file may be, newest layout first."""
        return (_join(self.home, "data", "proc", "store"), _join(self.config_dir, "pidfile.store"))

    def launchers(self) -> "Tuple[Tuple[str, str], ...]":
        """(start, stop) command pairs in the order they are looked for: ``start-msg`` and
        ``stop-msg`` in ``bin`` (8.x) then ``sbin`` (6.x), then seed 004's ``lib/msstart``
        (stop: ``msstart -k``)."""
        found = tuple((_join(self.home, d, "start-msg"), _join(self.home, d, "stop-msg")) for d in ("bin", "sbin"))
        msstart = _join(self.home, "lib", "msstart")
        return found + ((msstart, msstart),)

    def __repr__(self) -> str:
        return "Instance({!r}, {!r})".format(self.server_root, self.instance)


def store_state(text: str) -> "Tuple[Optional[int], Optional[str]]":
    """(pid, state) from the content of ``pidfile.store`` (``28250 ready``, ``28250 init``,
    or the pid alone on the first line and the state on the second); None for what is missing
    or not one of them."""
    words = text.split()[:2]
    pid = int(words[0]) if words and words[0].isdecimal() and len(words[0]) <= 7 and int(words[0]) > 0 else None
    state = words[1].lower() if len(words) > 1 and words[1].lower() in (READY, INIT) else None
    return pid, state


def stop_command(start: str, stop: str, components: "Sequence[str]") -> "Tuple[str, ...]":
    """The stop command for *components* with the launcher pair (start, stop) of
    :meth:`Instance.launchers`: ``stop-msg comp...`` or ``msstart -k comp...``."""
    return (stop, "-k", *components) if start == stop else (stop, *components)
