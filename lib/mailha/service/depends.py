"""Waiting at start for a service this one needs and is not colocated with.

Seed 004's Configuration 2 orders the Messaging Server groups after the directory with "online
global soft" dependencies: in Pacemaker an optional order, which does not hold a start back
while the directory is still coming up elsewhere (or being recovered).  A server that needs
the directory at start waits for it here, within a share of its start timeout, and then fails
with the reason; the group's ``failure-timeout`` has the start tried again later.
"""

import time

from ..ocf.codes import GenericError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from ..ocf.agent import Context

#: Share of what is left of the start that the wait may use: the server's own start needs the rest.
WAIT_SHARE = 0.5
#: Longest single connection attempt: a host that drops packets is asked again.
ATTEMPT_CAP = 5.0


def wait_reachable(ctx: "Context", what: str, host: str, port: int, share: float = WAIT_SHARE) -> None:
    """Return once *host*:*port* accepts a TCP connection; raise :class:`GenericError` naming
    *what* when it has not within *share* of the start's remaining time."""
    from ..probes import ProbeError, tcp

    deadline = time.monotonic() + ctx.budget.share(share)
    last = {"why": "", "logged": False}

    def reachable() -> bool:
        try:
            tcp.connect(host, port, max(0.1, min(ATTEMPT_CAP, deadline - time.monotonic())))
        except ProbeError as err:
            if not last["logged"]:
                ctx.log.info("waiting for %s at %s: %s", what, _where(host, port), err.reason)
                last["logged"] = True
            last["why"] = err.reason
            return False
        return True

    if not ctx.budget.wait_for(reachable, deadline, first=0.1, longest=1.0):
        raise GenericError(f"{what} at {_where(host, port)} does not answer ({last['why']}): start it first; "
                           f"a failure-timeout retries this start later")


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
