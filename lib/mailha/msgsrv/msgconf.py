"""``msg.conf``: the values ``configutil`` reads and sets (product facts §2.1, §2.4).

One ``name = "value"`` per line; ``!`` and ``#`` start comments.  ``msg.conf.defaults`` holds
the product's defaults and is never edited; a name missing from ``msg.conf`` has the default
given here (the sources give the flags' meaning, not the file's exact syntax: the quoting is
assumed, and an unquoted value is read the same way).

Where each service listens comes from here too: the ports (``service.imap.port``, ...), the
address POP, IMAP and Messenger Express bind to (``service.listenaddr``), the watcher's port
(``local.watcher.port``); SMTP and LMTP ports are the dispatcher's (:mod:`.cnf`).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Optional

MAX_SIZE = 1 << 20
LISTEN_ADDRESS = "service.listenaddr"
AUTORESTART = "local.autorestart"
#: Directory of the users: where the servers check a login (product facts §2.4, ``local.ugldap*``).
LDAP_HOST, LDAP_PORT, LDAP_BASE = "local.ugldaphost", "local.ugldapport", "local.ugldapbasedn"

#: The option that holds each service's port, when msg.conf holds it (smtp and lmtp: dispatcher.cnf).
PORT_OPTIONS = {
    "core": "local.watcher.port",
    "imap": "service.imap.port", "imaps": "service.imap.sslport",
    "pop": "service.pop.port", "pops": "service.pop.sslport",
    "http": "service.http.port", "https": "service.http.sslport",
    "ens": "local.ens.port", "snmp": "local.snmp.port",
}
#: Defaults of msg.conf.defaults the cluster depends on.  Enable flags default to on, except the
#: SSL ports and the optional servers (SNMP, SMS, MMP): an instance runs what it was installed with.
DEFAULTS = {
    "local.watcher.port": "49994",
    "service.imap.port": "143", "service.imap.sslport": "993",
    "service.pop.port": "110", "service.pop.sslport": "995",
    "service.http.port": "80", "service.http.sslport": "443",
    "local.ens.port": "7997", "local.snmp.port": "161",
    "service.imap.enable": "1", "service.pop.enable": "1", "service.http.enable": "1",
    "service.imap.enablesslport": "0", "service.pop.enablesslport": "0", "service.http.enablesslport": "0",
    "local.imta.enable": "1", "local.sched.enable": "1", "local.ens.enable": "1",
    "local.snmp.enable": "0", "local.smsgateway.enable": "0", "local.mmp.enable": "0",
    AUTORESTART: "0",
}
_TRUE = ("1", "yes", "true", "on")


def _line(raw: str) -> "Optional[tuple]":
    text = raw.strip()
    if not text or text[0] in "!#":
        return None
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or " " in name:
        return None  # not a value line: kept as it is, never read
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return name.lower(), value


def parse(text: str) -> "Dict[str, str]":
    """The values set in *text* (names lower-cased; a name set twice: the last wins)."""
    values = {}
    for raw in text.splitlines():
        pair = _line(raw)
        if pair is not None:
            values[pair[0]] = pair[1]
    return values


def value(values: "Dict[str, str]", name: str) -> str:
    """*name*'s value, or its default ("" when there is none)."""
    return values.get(name.lower(), DEFAULTS.get(name.lower(), ""))


def enabled(values: "Dict[str, str]", flag: str) -> bool:
    return value(values, flag).lower() in _TRUE


def port(values: "Dict[str, str]", service: str) -> "Optional[int]":
    """The port msg.conf gives *service* (None: not a msg.conf port, or garbled)."""
    option = PORT_OPTIONS.get(service)
    raw = value(values, option) if option else ""
    return int(raw) if raw.isdecimal() and 0 < int(raw) <= 65535 else None


def directory(values: "Dict[str, str]") -> "Optional[tuple]":
    """(host, port) of the user directory (``local.ugldaphost``, its first host when it lists
    several; ``local.ugldapport``, 389 by default), or None when msg.conf names none."""
    hosts = value(values, LDAP_HOST).split()
    if not hosts:
        return None
    host, number = hosts[0], value(values, LDAP_PORT)
    if host.count(":") == 1:  # host:port
        host, number = host.split(":")
    return host, int(number) if number.isdecimal() and 0 < int(number) <= 65535 else 389


def with_value(text: str, name: str, new: str) -> str:
    """*text* with *name* set to *new*: its line replaced where it is, or one added at the end;
    every other line kept byte for byte (what ``configutil -o NAME -v VALUE`` does)."""
    if "\n" in new or '"' in new or "\r" in new:
        raise ValueError(f"{name} value {new!r} cannot be written on one msg.conf line")
    lines = text.splitlines(keepends=True)
    line = f'{name} = "{new}"'
    for index, raw in enumerate(lines):
        pair = _line(raw)
        if pair is not None and pair[0] == name.lower():
            lines[index] = line + (raw[len(raw.rstrip("\r\n")):] or "\n")
            return "".join(lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines) + line + "\n"
