"""Probing a member's endpoints: one protocol probe each, dispatched by protocol, under one
deadline.

A probe module is imported only when an endpoint speaks its protocol.  What a failure means is
decided here once for every agent: no answer is a failed service (:class:`GenericError`); an
answer that rejects the probe's credentials is a running service whose check is wrong at run
time (an expired test password), reported as :class:`Degraded`, never as a configuration error
that would stop the resource on every node.  So is a mail server that cannot check the login
now because its user directory is down: restarting it would not help, and the directory's own
resource reports the fault.
"""

import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional, Sequence

    from .model import Credentials, Endpoint

#: Protocols a probe module speaks; every other endpoint gets a TCP connection.
IMAP = ("imap", "imap4")
#: HTTP statuses that prove a console answers when the agent has no login for it.
HTTP_ANSWERS_WITHOUT_LOGIN = (200, 401)


def probe(point: "Endpoint", host: str, timeout: float, login: "Optional[Credentials]" = None) -> None:
    """*point* answers its protocol on *host* within *timeout* seconds; with *login*, the test
    user logs in there.  Raises :class:`mailha.probes.ProbeError`."""
    protocol = point.protocol
    if protocol == "ldap":
        from ..probes import ldap

        who = login or point.auth
        # The transaction reads the test user's own entry: a login as a mail server does it.
        base = login.user if login else point.base
        ldap.probe(host, point.port, timeout, point.tls, bind_dn=who.user if who else None,
                   password=who.password if who else None, base=base, attrs=("1.1",))
    elif protocol == "smtp":
        from ..probes import smtp

        smtp.probe(host, point.port, timeout, point.tls)
    elif protocol == "pop3":
        from ..probes import pop3

        pop3.probe(host, point.port, timeout, point.tls, user=login.user if login else None,
                   password=login.password if login else None)
    elif protocol in IMAP:
        from ..probes import imap

        imap.probe(host, point.port, timeout, point.tls, user=login.user if login else None,
                   password=login.password if login else None)
    elif protocol == "http":
        from ..probes import http

        auth = point.auth
        http.probe(host, point.port, timeout, point.tls,
                   expect_status=(200,) if auth else HTTP_ANSWERS_WITHOUT_LOGIN,
                   user=auth.user if auth else None, password=auth.password if auth else None)
    else:
        from ..probes import tcp

        tcp.connect(host, point.port, timeout)


def check(label: str, points: "Sequence[Endpoint]", host: str, deadline: float,
          login: "Optional[Credentials]" = None) -> None:
    """Every endpoint of *points* answers on *host* before the monotonic *deadline*.

    The endpoints share the time: a hung member fails on its first listener, within the
    operation's timeout.  Raises :class:`GenericError` (no answer) or :class:`Degraded` (an
    answer rejecting the credentials, or a mail login its server cannot check now)."""
    from ..probes import AUTH, UNAVAILABLE, ProbeError

    for point in points:
        left = deadline - time.monotonic()
        if left <= 0:
            from ..ocf.codes import GenericError  # here: a monitor that passes never needs it

            raise GenericError("the {} did not answer in time: no time left to probe {} port {}"
                               .format(label, point.name, point.port))
        try:
            probe(point, host, left, login)
        except ProbeError as err:
            from ..ocf.codes import Degraded, GenericError

            if err.kind == AUTH:
                creds = login or point.auth
                names = creds.params if creds else "the login"
                raise Degraded(f"the {label} rejects {names} ({err.reason}): fix them") from None
            if err.kind == UNAVAILABLE and login is not None and point.protocol != "ldap":
                raise Degraded(f"the {label} cannot check logins now, its user directory is down: "
                               f"start the directory ({err.reason})") from None
            raise GenericError("the {} does not answer: {}".format(label, err)) from None
