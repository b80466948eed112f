"""OCF exit codes and the exceptions that carry them out of an agent.

Agents raise; the run loop (:mod:`mailha.ocf.agent`) turns the exception into an exit code and
one ``ocf-exit-reason:`` line.  Which class to raise says how far an error reaches, and that
decides what Pacemaker does next:

* :class:`Misconfigured` (6): wrong on every node (a bad parameter value). Pacemaker will not try
  the resource anywhere until it is fixed.
* :class:`NotInstalled` (5): wrong on this node only (a missing binary, a path that is not
  mounted here). Pacemaker tries another node; a probe reports "not running" instead.
* :class:`GenericError` (1): the service failed; Pacemaker recovers it.
* :class:`Degraded` (190, from a monitor): the service runs and answers but something the
  agent checks is wrong at run time (a probe login rejected): Pacemaker keeps it running and
  shows the reason.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional, Tuple


class Rc:
    """Every exit code of the OCF resource agent API, including OCF 1.1's degraded states.

    Plain integers, not an ``enum``: importing ``enum`` costs more than a whole monitor should."""

    SUCCESS = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    DEGRADED = 190
    DEGRADED_PROMOTED = 191

    @classmethod
    def name(cls, rc: int) -> str:
        for key, value in vars(cls).items():
            if value == rc and key.isupper():
                return key
        return str(rc)


def one_line(text: str, limit: int = 400) -> str:
    """Squash *text* to one line: Pacemaker keeps only the first line of an exit reason."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


#: Pacemaker keeps this many bytes of an exit reason (after its prefix) and drops the rest.
REASON_MAX = 128


def fits(text: str, limit: int = REASON_MAX) -> bool:
    """True when *text* takes at most *limit* bytes as written (UTF-8)."""
    return len(text.encode("utf-8", "backslashreplace")) <= limit


def fit(text: str, limit: int = REASON_MAX) -> "Tuple[str, bool]":
    """*text* in at most *limit* bytes of UTF-8, and whether it had to be cut.

    A cut one ends in "..." and never splits a character.  What UTF-8 cannot encode (bytes of
    the environment that were not UTF-8) becomes a backslash escape first, as on stderr."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return data.decode("utf-8"), False
    # The escaped bytes are valid UTF-8: "ignore" drops only a character split by the cut.
    return data[: limit - 3].decode("utf-8", "ignore") + "...", True


class OcfError(Exception):
    """An error with an OCF exit code and a reason for the admin.

    The reason is kept as given: the run loop redacts secrets first and only then squashes it
    to one line (squashing first would hide a secret containing whitespace from the redactor)
    and cuts it to the :data:`REASON_MAX` bytes Pacemaker keeps, so its start must say what is
    wrong and the fix.  *detail* (a server's message, the value that was refused, a long path)
    is logged with the error and never part of the exit reason."""

    rc: int = Rc.ERR_GENERIC

    def __init__(self, reason: str, detail: "Optional[str]" = None) -> None:
        self.reason = str(reason)
        self.detail = None if detail is None else str(detail)
        super().__init__(self.reason)


class GenericError(OcfError):
    """The service failed or could not be brought to the requested state."""

    rc = Rc.ERR_GENERIC


class ArgsError(OcfError):
    """The agent was called the wrong way (unknown action, bad arguments)."""

    rc = Rc.ERR_ARGS


class Unimplemented(OcfError):
    """The action exists in OCF but this agent does not implement it."""

    rc = Rc.ERR_UNIMPLEMENTED


class PermissionDenied(OcfError):
    """The agent lacks the privileges it needs on this node."""

    rc = Rc.ERR_PERM


class NotInstalled(OcfError):
    """Something the resource needs is missing on this node only (binary, file, mount)."""

    rc = Rc.ERR_INSTALLED


class Misconfigured(OcfError):
    """The configuration is wrong on every node: Pacemaker will not retry it elsewhere."""

    rc = Rc.ERR_CONFIGURED


class Degraded(OcfError):
    """Running, degraded (OCF 1.1): the service answers, but not everything is well."""

    rc = Rc.DEGRADED


class NotRunning(OcfError):
    """The service is cleanly stopped here."""

    rc = Rc.NOT_RUNNING
