"""Who else holds a service's ports: checked before a launch, named in the exit reason.

A daemon that cannot bind its port exits with a message in its own log; telling the admin
which process holds the port (Postfix's ``master`` on 25, a second instance) saves a search.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Iterable, List, Optional, Set

    from ..net import Listener
    from .model import Endpoint


def held_by_others(points: "Iterable[Endpoint]", address: "Optional[str]", own: "Set[int]") -> "List[str]":
    """One description per endpoint whose port on *address* (any address when None) is held
    by a process not in *own*, e.g. ``SMTP port 25 is held by pid 812 (master: ...) on ...``."""
    from .. import net

    found = []
    for point in points:
        try:
            holders = net.port_holders(point.port, address)
        except OSError:
            continue  # the kernel cannot be asked: the launch will tell
        holders = [h for h in holders if h.pid is None or h.pid not in own]
        if holders:
            found.append(f"{point.name.upper()} port {point.port} is held by {', '.join(map(describe, holders))}")
    return found


def describe(listener: "Listener") -> str:
    """``pid 812 (master) on 192.0.2.11:25``: short, since an exit reason keeps 128 bytes."""
    address = f"[{listener.address}]" if listener.address.version == 6 else str(listener.address)
    where = f"{address}:{listener.port}"
    if listener.pid is None:
        return "a process on " + where
    return f"pid {listener.pid} ({listener.process}) on {where}"
