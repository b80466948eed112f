"""TCP probe: can a connection be opened to the port?  The cheapest check there is."""

import time

from . import ProbeResult
from ._common import connect as _connect
from ._common import translate


def connect(host: str, port: int, timeout: float = 5.0) -> "ProbeResult":
    """Open and close a TCP connection to *host*:*port* within *timeout* seconds.

    Raises :class:`~mailha.probes.ProbeError` (kind ``refused``, ``timeout`` or ``network``).
    """
    try:
        _connect(host, port, time.monotonic() + timeout).close()
    except Exception as error:
        raise translate(error, "tcp", host, port) from None
    return ProbeResult("tcp", host, port)


probe = connect
