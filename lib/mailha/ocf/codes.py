"""OCF exit codes and the exceptions that carry them out of an agent.

Agents raise; the run loop (:mod:`mailha.ocf.agent`) turns the exception into an exit code and
one ``ocf-exit-reason:`` line.  Which class to raise says how far an error reaches, and that
decides what Pacemaker does next:

* :class:`Misconfigured` (6): wrong on every node (a bad parameter value). Pacemaker will not try
  the resource anywhere until it is fixed.
* :class:`NotInstalled` (5): wrong on this node only (a missing binary, a path that is not
  mounted here). Pacemaker tries another node; a probe reports "not running" instead.
* :class:`GenericError` (1): the service failed; Pacemaker recovers it.
"""

from __future__ import annotations


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


class OcfError(Exception):
    """An error with an OCF exit code and a reason for the admin.

    The reason is kept as given: the run loop redacts secrets first and only then squashes it
    to one line (squashing first would hide a secret containing whitespace from the redactor)."""

    rc: int = Rc.ERR_GENERIC

    def __init__(self, reason: str) -> None:
        self.reason = str(reason)
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


class NotRunning(OcfError):
    """The service is cleanly stopped here."""

    rc = Rc.NOT_RUNNING
