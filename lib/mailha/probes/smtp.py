"""SMTP probe (smtplib): the 220 banner, EHLO (or HELO), NOOP, QUIT.

``tls=True`` is implicit TLS (SMTPS, port 465); ``starttls=True`` upgrades a plain session
(ports 25/587) when the server offers STARTTLS, and fails if it does not.
"""

import smtplib

from . import ProbeError, ProbeResult
from ._common import Conversation, OnProbeSocket, is_ip

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Optional, Union

SERVICE = "smtp"


class _SMTP(OnProbeSocket, smtplib.SMTP):
    def __init__(self, sock, **kwargs):
        self._probe_sock = sock
        super().__init__(**kwargs)


def probe(
    host: str,
    port: int = 25,
    timeout: float = 10.0,
    tls: bool = False,
    *,
    starttls: bool = False,
    ca_file: "Optional[str]" = None,
    helo_name: str = "mailha.probe",
) -> "ProbeResult":
    """Check that an SMTP server greets with 220 and accepts EHLO/HELO and NOOP.

    Returns the banner as ``greeting`` and the EHLO extensions in ``details["extensions"]``.
    Raises :class:`~mailha.probes.ProbeError`.
    """
    with Conversation(SERVICE, host, port, timeout, _explain) as talk:
        client = _SMTP(talk.open(tls, ca_file), local_hostname=helo_name, timeout=timeout)
        talk.close_later(client.close)
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
            client.starttls(context=talk.starttls(ca_file))  # then smtplib forgets the old EHLO
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


def _explain(error: Exception) -> "Optional[str]":
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"server closed the connection: {error}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"answered {error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPException):
        return _text(str(error))
    return None


def _text(answer: "Union[bytes, str]") -> str:
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return " ".join(answer.split())[:200]
