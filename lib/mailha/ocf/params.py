"""Typed agent parameters: declaration, parsing of ``OCF_RESKEY_*`` and error messages.

Every parameter has a type that parses the raw string Pacemaker passes and explains, when it
cannot, what is wrong and how to fix it, naming the parameter.  A bad value is wrong on every
node, so parsing errors become :class:`~mailha.ocf.codes.Misconfigured` (exit code 6).

Plain classes rather than dataclasses, and no ``re``/``typing`` at import time: every monitor
imports this module, and those imports alone would cost more than the whole check.
"""

from __future__ import annotations

import os

from .codes import Misconfigured, NotInstalled

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Iterable, Mapping, Sequence

RESKEY = "OCF_RESKEY_"
META_PREFIX = "CRM_meta_"
#: Where ``cibsecret`` stores values the CIB only references as ``lrm://``.
SECRETS_DIR = "/var/lib/pacemaker/lrm/secrets"
CIBSECRET_MARK = "lrm://"
_BAD_CHARS = ("\n", "\r", "\0")
_DIGITS = frozenset("0123456789")


def show(raw: str, limit: int = 40) -> str:
    """Quote a user-supplied value for a message: printable, bounded, never multi-line."""
    return repr(raw if len(raw) <= limit else raw[:limit] + "...")


def _one_line(raw: str) -> None:
    if any(ch in raw for ch in _BAD_CHARS):
        raise ValueError("contains a line break or NUL byte")


class ParamType:
    """How one parameter's raw string becomes a value.

    :attr:`content` is the OCF metadata content type; :attr:`expects` says what a valid value
    looks like, for error messages ("set it to ...")."""

    content = "string"
    expects = "a value"

    def parse(self, raw: str) -> Any:
        """Return the typed value or raise ``ValueError`` saying what is wrong."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.expects})"


class Text(ParamType):
    """Free text on one line (descriptions, DNs, user names)."""

    expects = "text on one line"

    def __init__(self, max_length: int = 1024, allowed: str | None = None,
                 expects: str | None = None) -> None:
        self.max_length = max_length
        self.allowed = frozenset(allowed) if allowed else None
        if expects:
            self.expects = expects

    def parse(self, raw: str) -> str:
        _one_line(raw)
        if len(raw) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        if self.allowed is not None and not set(raw) <= self.allowed:
            raise ValueError("has characters that are not allowed here")
        return raw


_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@+-"


class Name(Text):
    """An identifier used in file names and command lines (instance names, domains)."""

    def __init__(self, max_length: int = 128) -> None:
        super().__init__(max_length, _NAME_CHARS,
                         "letters, digits and . _ - @ + (starting with a letter or digit)")

    def parse(self, raw: str) -> str:
        value = super().parse(raw)
        if not value[:1].isalnum():
            raise ValueError("does not start with a letter or digit")
        return value


class Integer(ParamType):
    content = "integer"

    def __init__(self, minimum: int | None = None, maximum: int | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum

    @property
    def expects(self) -> str:  # type: ignore[override]
        if self.minimum is not None and self.maximum is not None:
            return f"a whole number from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"a whole number of at least {self.minimum}"
        return "a whole number"

    def parse(self, raw: str) -> int:
        text = raw.strip()
        digits = text[1:] if text[:1] in ("+", "-") else text
        if not digits or len(digits) > 18 or not set(digits) <= _DIGITS:
            raise ValueError("is not a whole number")
        value = int(text)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"is below {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"is above {self.maximum}")
        return value


class Port(Integer):
    """A TCP port; ``0`` means "not used" when *allow_zero* is set."""

    def __init__(self, allow_zero: bool = False) -> None:
        super().__init__(0 if allow_zero else 1, 65535)
        self.allow_zero = allow_zero

    @property
    def expects(self) -> str:  # type: ignore[override]
        return "a TCP port from 1 to 65535" + (", or 0 to turn it off" if self.allow_zero else "")


_TRUE = frozenset(("1", "yes", "true", "on", "y"))
_FALSE = frozenset(("0", "no", "false", "off", "n"))


class Boolean(ParamType):
    content = "boolean"
    expects = "true or false (also yes/no, on/off, 1/0)"

    def parse(self, raw: str) -> bool:
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("is not a boolean")


_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "msec": 0.001,
          "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0}


class Seconds(ParamType):
    """A duration in Pacemaker's notation: ``30``, ``30s``, ``500ms``, ``2min``."""

    content = "time"
    expects = "a duration such as 30, 30s, 500ms or 2min"

    def __init__(self, minimum: float = 0.0, maximum: float = 86400.0) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def parse(self, raw: str) -> float:
        text = raw.strip().lower()
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz").strip()
        unit = text[len(number):].strip()
        whole, _, frac = number.partition(".")
        if (unit not in _UNITS or not whole or len(whole) > 9 or len(frac) > 6
                or not set(whole + frac) <= _DIGITS):
            raise ValueError("is not a duration")
        value = float(number) * _UNITS[unit]
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"is outside {self.minimum:g}s to {self.maximum:g}s")
        return value


class Choice(ParamType):
    def __init__(self, *values: str) -> None:
        self.values = values

    @property
    def expects(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(self.values)

    def parse(self, raw: str) -> str:
        word = raw.strip().lower()
        for value in self.values:
            if word == value.lower():
                return value
        raise ValueError("is not a known choice")


class AbsPath(ParamType):
    """An absolute path.  Whether it exists is a question for this node only (shared
    storage may not be mounted here), so parsing never looks at the file system."""

    expects = "an absolute path such as /srv/mail/dom"

    def parse(self, raw: str) -> str:
        _one_line(raw)
        if not raw.startswith("/"):
            raise ValueError("is not an absolute path")
        if len(raw) > 4096:
            raise ValueError("is too long for a path")
        if "/../" in raw + "/":
            raise ValueError("contains '..'")
        return os.path.normpath(raw)


class Address(ParamType):
    """A numeric IPv4 or IPv6 address (a virtual IP is never a host name: no DNS in a failover)."""

    expects = "a numeric IP address such as 192.0.2.10 or 2001:db8::10"

    def parse(self, raw: str) -> str:
        # socket, not ipaddress: the probe needs socket anyway, ipaddress costs ~5 ms more.
        import socket

        text = raw.strip()
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                return socket.inet_ntop(family, socket.inet_pton(family, text))
            except (OSError, ValueError):
                continue
        raise ValueError("is not a numeric IP address")


class Command(ParamType):
    """A program with arguments, split like a shell would but never run through one."""

    expects = "an absolute program path with optional arguments, e.g. /srv/check.sh MKT"

    def parse(self, raw: str) -> tuple[str, ...]:
        import shlex

        _one_line(raw)
        if len(raw) > 65536:
            raise ValueError("is longer than 64 KiB")
        try:
            words = tuple(shlex.split(raw))
        except ValueError as err:
            raise ValueError(f"cannot be split into words ({err})") from None
        if not words or not words[0].startswith("/"):
            raise ValueError("does not start with an absolute program path")
        if len(words[0]) > 4096:
            raise ValueError("has a program path longer than 4096 characters")
        return words


class Param:
    """One agent parameter as it appears in the metadata and in ``OCF_RESKEY_<name>``.

    *secret* values are never logged, never put in an exit reason or on a command line, and
    may be stored with ``cibsecret``."""

    __slots__ = ("name", "type", "shortdesc", "longdesc", "default", "required", "unique", "secret")

    def __init__(self, name: str, type: ParamType, shortdesc: str, longdesc: str = "",
                 default: str | None = None, required: bool = False, unique: bool = False,
                 secret: bool = False) -> None:
        self.name = name
        self.type = type
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.default = default
        self.required = required
        self.unique = unique
        self.secret = secret

    def declaration_errors(self) -> list[str]:
        """Mistakes in the declaration itself (checked by the test suite, not at run time)."""
        errors = []
        if not self.name or not (self.name[0].islower() and
                                 set(self.name) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")):
            errors.append(f"{self.name!r}: name must be lower_snake_case")
        if self.required and self.default is not None:
            errors.append(f"{self.name}: required parameters have no default")
        if self.default not in (None, ""):
            try:
                self.type.parse(self.default)
            except ValueError as err:
                errors.append(f"{self.name}: default {self.default!r} {err}")
        if not self.shortdesc:
            errors.append(f"{self.name}: shortdesc is empty")
        return errors

    def __repr__(self) -> str:
        return f"Param({self.name!r}, {self.type!r})"


class Params:
    """Parsed parameter values, read as attributes: ``params.port``.

    A parameter that is unset and has no default reads as ``None``."""

    def __init__(self, values: Mapping[str, Any], given: Iterable[str], secrets: Iterable[str]) -> None:
        self._values = dict(values)
        self._given = frozenset(given)
        self._secrets = tuple(s for s in secrets if s)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def given(self, name: str) -> bool:
        """True when the admin set the parameter (as opposed to its default applying)."""
        return name in self._given

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The values to redact from every log line and exit reason."""
        return self._secrets

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def _resolve_cibsecret(instance: str, name: str) -> str:
    """Read a value ``cibsecret`` keeps outside the CIB (the CIB holds only ``lrm://``)."""
    # Pacemaker's executor substitutes these itself; crm_resource and hand runs may still
    # pass the marker, so resolve it here too.
    base = instance.split(":", 1)[0]  # clone instances share their parent's secret
    path = os.path.join(SECRETS_DIR, base, name)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().rstrip("\n")
    except (OSError, UnicodeDecodeError):
        # Missing here need not mean missing everywhere (a node not yet synced): this node only.
        raise NotInstalled(
            f"parameter '{name}' is stored with cibsecret but {path} is missing or unreadable on "
            f"this node: run 'cibsecret sync' or 'cibsecret set {base} {name} VALUE'") from None


def parse_params(declared: Sequence[Param], environ: Mapping[str, str], instance: str) -> Params:
    """Parse every declared parameter from *environ*; raise :class:`Misconfigured` naming the
    first parameter that is wrong and what to set it to."""
    raws: dict[str, str | None] = {}
    for param in declared:
        raw = environ.get(RESKEY + param.name)
        if raw is not None and raw.startswith(CIBSECRET_MARK):
            raw = _resolve_cibsecret(instance, param.name)
        raws[param.name] = raw
    # Known before any message is built: a password pasted into the wrong parameter must not
    # show up in that parameter's error either.
    secrets = [raws[p.name] or p.default or "" for p in declared
               if p.secret and (raws[p.name] or p.default)]

    def shown(param: Param, raw: str) -> str:
        if param.secret:
            return "(secret value)"
        text = show(raw)
        return "(a value that contains a secret)" if any(s in raw for s in secrets) else text

    values: dict[str, Any] = {}
    given: list[str] = []
    for param in declared:
        raw = raws[param.name]
        if raw is None or raw == "":
            if param.required:
                raise Misconfigured(f"parameter '{param.name}' is required: set it to {param.type.expects}")
            raw = param.default
        else:
            given.append(param.name)
        if raw is None or raw == "":
            values[param.name] = None
            continue
        try:
            values[param.name] = param.type.parse(raw)
        except ValueError as err:
            raise Misconfigured(f"parameter '{param.name}' {shown(param, raw)} {err}: "
                                f"set it to {param.type.expects}") from None
    return Params(values, given, secrets)


def unknown_params(declared: Sequence[Param], environ: Mapping[str, str]) -> list[str]:
    """Names of ``OCF_RESKEY_*`` the agent does not know: usually a typo in the CIB."""
    known = {p.name for p in declared}
    return sorted(
        key[len(RESKEY):] for key in environ
        if key.startswith(RESKEY) and key[len(RESKEY):] not in known
        and not key[len(RESKEY):].startswith(META_PREFIX) and not key.startswith(RESKEY + "crm_")
    )
