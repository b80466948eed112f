"""The Administration Server's configuration files.

* ``magnus.conf``: one ``Directive value`` per line, ``#`` comments; the cluster reads
  ``Port``, ``Address`` (absent or ``0.0.0.0``: every address) and ``Security`` (``on``: HTTPS).
* ``adm.conf``: ``key: value`` lines; ``ldapurl: ldap://HOST:PORT/o=NetscapeRoot`` names the
  configuration directory the server needs at start.
* ``admpw``: ``user:{SHA}base64(sha1(password))``, the administrator's login.
* the pin file: ``internal:<password>`` (the trust database's token and its password).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Optional, Tuple

PORT, ADDRESS, SECURITY = "port", "address", "security"
TOKEN = "internal"
#: What ``Address`` may say for "every address".
ANY_ADDRESS = ("", "0.0.0.0", "::", "*")


class ConfError(ValueError):
    pass


def parse_magnus(text: str) -> "Dict[str, str]":
    """Directives by lower-cased name; the first occurrence counts, as in the server."""
    values: "Dict[str, str]" = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(" ")
        values.setdefault(name.lower(), value.strip().strip('"'))
    return values


def port(values: "Dict[str, str]") -> int:
    """``Port``; magnus.conf without one is not a server's."""
    raw = values.get(PORT, "")
    if not raw.isdecimal() or not 0 < int(raw) < 65536:
        raise ConfError(f"magnus.conf has Port {raw or '(none)'}: not a port number")
    return int(raw)


def address(values: "Dict[str, str]") -> "Optional[str]":
    """``Address``, or None for every address."""
    value = values.get(ADDRESS, "")
    return None if value in ANY_ADDRESS else value


def secure(values: "Dict[str, str]") -> bool:
    return values.get(SECURITY, "off").lower() == "on"


def parse_adm(text: str) -> "Dict[str, str]":
    values: "Dict[str, str]" = {}
    for raw in text.splitlines():
        key, sep, value = raw.partition(":")
        if sep and key.strip() and not key.lstrip().startswith("#"):
            values.setdefault(key.strip().lower(), value.strip())
    return values


def directory(values: "Dict[str, str]") -> "Tuple[str, int]":
    """(host, port) of ``ldapurl``; 389 when the URL gives no port."""
    url = values.get("ldapurl", "")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("ldap", "ldaps"):
        raise ConfError(f"adm.conf has ldapurl {url or '(none)'}: not an ldap:// URL")
    hostport = rest.split("/", 1)[0]
    if hostport.startswith("["):  # [IPv6]:port
        host, _, tail = hostport[1:].partition("]")
        number = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, number = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    if not host or (number and not (number.isdecimal() and 0 < int(number) < 65536)):
        raise ConfError(f"adm.conf has ldapurl {url}: no host, or a bad port")
    return host, int(number) if number else (636 if scheme.lower() == "ldaps" else 389)


def pin_line(password: str) -> str:
    if "\n" in password or "\r" in password:
        raise ConfError("the trust database password cannot hold a line break")
    return f"{TOKEN}:{password}\n"


def read_pin(text: str) -> "Optional[str]":
    """The password of the ``internal`` token in a pin file's text, or None."""
    for line in text.splitlines():
        token, sep, password = line.partition(":")
        if sep and token.strip().lower() == TOKEN:
            return password
    return None


def admpw_line(user: str, password: str) -> str:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha1(password.encode("utf-8")).digest()).decode("ascii")
    return f"{user}:{{SHA}}{digest}\n"


def admpw_accepts(text: str, user: str, password: str) -> bool:
    """Whether ``admpw``'s text lets *user* in with *password*."""
    import hmac

    for line in text.splitlines():
        name, sep, _ = line.partition(":")
        if sep and name == user:
            return hmac.compare_digest(line.strip(), admpw_line(user, password).strip())
    return False
