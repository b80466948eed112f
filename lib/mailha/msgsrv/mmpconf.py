"""``ImapProxyAService.cfg``: the MMP's configuration (product facts §2.4).

Lines ``default:Key value``; ``#`` starts a comment.  The facts give ``default:BindAddress``
(the address the proxy binds to, set for HA), ``default:BacksidePort`` and
``default:SSLPorts``; the keys of the client ports, ``default:ImapPort`` and
``default:PopPort``, are assumed (docs/emulator.md).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Optional

BIND_ADDRESS = "bindaddress"
#: The key of each MMP service's port (names lower-cased), and its default.
PORT_KEYS = {"imap": ("imapport", 143), "pop": ("popport", 110), "imaps": ("sslports", 993),
             "pops": ("popsslports", 995)}


def parse(text: str) -> "Dict[str, str]":
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        scope, _, rest = line.partition(":")
        key, _, value = rest.strip().partition(" ")
        if scope.strip().lower() == "default" and key:
            values[key.lower()] = value.strip()
    return values


def bind_address(text: str) -> "Optional[str]":
    return parse(text).get(BIND_ADDRESS) or None


def port(values: "Dict[str, str]", service: str) -> int:
    key, default = PORT_KEYS[service]
    raw = values.get(key, "").replace(",", " ").split()[:1]
    return int(raw[0]) if raw and raw[0].isdecimal() and 0 < int(raw[0]) <= 65535 else default
