"""SMTP probe (smtplib): the 220 banner, EHLO (or HELO), NOOP, QUIT.

``tls=True`` is implicit TLS (SMTPS, port 465); ``starttls=True`` upgrades a plain session
(ports 25/587) when the server offers STARTTLS, and fails if it does not.
"""

from __future__ import annotations

import smtplib
import time

from . import PROTOCOL, ProbeError, ProbeResult
from ._common import Watchdog, is_ip, open_connection, tls_context, translate

SERVICE = "smtp"


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP on a socket we opened: deadline, TLS and watchdog are ours."""

    def __init__(self, sock, **kwargs):
        self._probe_sock = sock
        super().__init__(**kwargs)

    def _get_socket(self, host, port, timeout):
        return self._probe_sock


def probe(
    host: str,
    port: int = 25,
    timeout: float = 10.0,
    tls: bool = False,
    *,
    starttls: bool = False,
    ca_file: str | None = None,
    helo_name: str = "mailha.probe",
) -> ProbeResult:
    """Check that an SMTP server greets with 220 and accepts EHLO/HELO and NOOP.

    Returns the banner as ``greeting`` and the EHLO extensions in ``details["extensions"]``.
    Raises :class:`~mailha.probes.ProbeError`.
    """
    deadline = time.monotonic() + timeout
    watchdog = Watchdog(deadline)
    client = sock = None
    try:
        sock = open_connection(host, port, deadline, tls, ca_file, watchdog)
        client = _SMTP(sock, local_hostname=helo_name, timeout=timeout)
        client._host = None if is_ip(host) else host  # type: ignore[attr-defined]  # STARTTLS's SNI
        code, banner = client.connect(host, port)  # reads the banner from our socket
        if code != 220:
            raise ProbeError(SERVICE, host, port, f"banner {code} {_text(banner)}, expected 220")
        code, _ = client.ehlo()
        if code != 250:
            code, answer = client.helo()
            if code != 250:
                raise ProbeError(SERVICE, host, port, f"HELO answered {code} {_text(answer)}")
        if starttls and not tls:
            if not client.has_extn("starttls"):
                raise ProbeError(SERVICE, host, port, "server does not offer STARTTLS")
            client.starttls(context=tls_context(ca_file))  # then smtplib forgets the old EHLO
            assert client.sock is not None
            watchdog.watch(client.sock)
            client.ehlo()
        code, answer = client.noop()
        if code != 250:
            raise ProbeError(SERVICE, host, port, f"NOOP answered {code} {_text(answer)}")
        extensions = sorted(client.esmtp_features)
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the conversation already proved the service; a rude goodbye is fine
        return ProbeResult(SERVICE, host, port, _text(banner), {"extensions": extensions})
    except Exception as error:
        raise _failure(error, host, port, watchdog) from None
    finally:
        watchdog.cancel()
        if client is not None:
            client.close()
        if sock is not None:  # also when the client failed before owning it
            sock.close()


def _failure(error: Exception, host: str, port: int, watchdog: Watchdog) -> ProbeError:
    if not watchdog.fired:
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return ProbeError(SERVICE, host, port, f"server closed the connection: {error}", PROTOCOL)
        if isinstance(error, smtplib.SMTPResponseException):
            return ProbeError(SERVICE, host, port, f"answered {error.smtp_code} {_text(error.smtp_error)}")
        if isinstance(error, smtplib.SMTPException):
            return ProbeError(SERVICE, host, port, _text(str(error)))
    return translate(error, SERVICE, host, port, watchdog)


def _text(answer: bytes | str) -> str:
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return " ".join(answer.split())[:200]
