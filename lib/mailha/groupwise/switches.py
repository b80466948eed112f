"""Which startup-file switch opens which listener, with the product's default port: one table.

``confirmed`` says whether product facts §1.2/§1.3 confirm the switch name (the port defaults of
MTA/POA are confirmed, the GWIA ones are the standard service ports).  Every other name here is
an assumption kept in this one place, so that correcting it corrects the agents and the emulator
together.
"""

import enum
import os
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # keep import of this module free of pyparsing
    from typing import Dict, List, Optional, Tuple

    from .startup import StartupFile


class AgentKind(str, enum.Enum):
    MTA = "mta"
    POA = "poa"
    GWIA = "gwia"

    @property
    def binary(self) -> str:
        from .paths import PROGRAMS

        return PROGRAMS[self.value]

    @classmethod
    def from_binary(cls, path: str) -> "Optional[AgentKind]":
        base = os.path.basename(path)
        return {"gwmta": cls.MTA, "gwpoa": cls.POA, "gwia": cls.GWIA}.get(base)


class Service(NamedTuple):
    """A listener an agent may open."""

    name: str  # short name used in logs and by probes: "smtp", "pop3", "imap4", "ldap", "http", "mtp", "cs"
    protocol: str  # what answers on it: "smtp" | "pop3" | "imap4" | "ldap" | "http" | "tcp"
    port_switch: str
    default_port: int
    enable_switch: "Optional[str]"  # None: always open
    confirmed: bool


SERVICES: "Dict[AgentKind, Tuple[Service, ...]]" = {
    AgentKind.MTA: (
        Service("mtp", "tcp", "msgtranport", 7100, None, False),
        Service("http", "http", "httpport", 7180, None, False),
    ),
    AgentKind.POA: (
        Service("cs", "tcp", "port", 1677, None, False),
        Service("mtp", "tcp", "mtpinport", 7101, None, False),
        Service("http", "http", "httpport", 7181, None, False),
        Service("imap4", "imap4", "imapport", 143, "imap", False),
    ),
    AgentKind.GWIA: (
        Service("smtp", "smtp", "smtpport", 25, "smtp", True),
        Service("pop3", "pop3", "popport", 110, "pop", False),
        Service("imap4", "imap4", "imapport", 143, "imap", False),
        Service("ldap", "ldap", "ldapport", 389, "ldap", False),
        Service("http", "http", "httpport", 9850, None, False),
    ),
}

# Switches that name files the agent must be able to read when it starts.
CERT_FILE = "certfile"
KEY_FILE = "keyfile"
KEY_PASSWORD = "keypasswd"  # a secret: never log its value
HTTP_USER = "httpuser"
HTTP_PASSWORD = "httppassword"  # a secret: never log its value
LOG_DIR = "log"
IP = "ip"
HOME = "home"
# SSL mode switches per service (values such as enabled/required/disabled): assumptions.
SSL_SWITCHES: "Dict[str, str]" = {
    "smtp": "smtpssl", "pop3": "popssl", "imap4": "imapssl", "ldap": "ldapssl", "http": "httpssl",
}

# Switches whose values must never be shown (logs, exit reasons, ps).
SECRET_SWITCHES = frozenset({KEY_PASSWORD, HTTP_PASSWORD, "hapassword", "password", "ldappwd"})


class Endpoint(NamedTuple):
    service: "Service"
    address: "Optional[str]"  # None: all addresses (the product's default without --ip)
    port: int


def endpoints(kind: "AgentKind", startup: "StartupFile") -> "List[Endpoint]":
    """The listeners this startup file opens, in table order.

    A service with an enable switch opens only when the switch is enabled; ``--ip`` (when set)
    is the one address every listener binds to, as on the product.
    """
    address = startup.ip
    found = []
    for service in SERVICES[kind]:
        if service.enable_switch is not None and not startup.enabled(service.enable_switch):
            continue
        port = startup.port(service.port_switch, service.default_port)
        assert port is not None
        found.append(Endpoint(service, address, port))
    return found


def ssl_files(startup: "StartupFile") -> "Dict[str, str]":
    """The certificate and key files the startup file names (``{"certfile": path, ...}``)."""
    named = {name: startup.get(name) for name in (CERT_FILE, KEY_FILE)}
    return {name: value for name, value in named.items() if value}
