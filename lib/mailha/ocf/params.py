"""Typed agent parameters: declaration, parsing of ``OCF_RESKEY_*`` and error messages.

Every parameter has a type that parses the raw string Pacemaker passes and explains, when it
cannot, what is wrong and how to fix it, naming the parameter.  A bad value is wrong on every
node, so parsing errors become :class:`~mailha.ocf.codes.Misconfigured` (exit code 6).

Plain classes rather than dataclasses, and no ``re``/``typing`` at import time: every monitor
imports this module, and those imports alone would cost more than the whole check.
"""

import os

from .codes import Misconfigured, NotInstalled, OcfError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

RESKEY = "OCF_RESKEY_"
META_PREFIX = "CRM_meta_"
#: Where ``cibsecret`` stores values the CIB only references as ``lrm://``.
SECRETS_DIR = "/var/lib/pacemaker/lrm/secrets"
CIBSECRET_MARK = "lrm://"
#: Parameters the framework reads itself, declared by no agent: ``crm resource trace`` sets
#: them on an operation (see :func:`mailha.ocf.log.start_trace`).
FRAMEWORK_PARAMS = ("trace_ra", "trace_dir")
_BAD_CHARS = ("\n", "\r", "\0")
_DIGITS = frozenset("0123456789")
_SNAKE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


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
    #: The values an OCF 1.1 ``select`` offers; empty: any value of :attr:`content`.
    options: "Tuple[str, ...]" = ()

    def parse(self, raw: str) -> "Any":
        """Return the typed value or raise ``ValueError`` saying what is wrong."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.expects})"


class Text(ParamType):
    """Free text on one line (descriptions, DNs, user names)."""

    expects = "text on one line"

    def __init__(self, max_length: int = 1024, allowed: "Optional[str]" = None,
                 expects: "Optional[str]" = None) -> None:
        self.max_length = max_length
        self.allowed = frozenset(allowed) if allowed else None
        if expects:
            self.expects = expects

    def parse(self, raw: str) -> str:
        _one_line(raw)
        if len(raw) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        if self.allowed is not None and not set(raw) <= self.allowed:
            raise ValueError("has a character not allowed here")
        return raw


_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@+-"


class Name(Text):
    """An identifier used in file names and command lines (instance names, domains)."""

    def __init__(self, max_length: int = 128) -> None:
        super().__init__(max_length, _NAME_CHARS,
                         "letters, digits and . _ - @ +, a letter or digit first")

    def parse(self, raw: str) -> str:
        value = super().parse(raw)
        if not value[:1].isalnum():
            raise ValueError("does not start with a letter or digit")
        return value


class Integer(ParamType):
    content = "integer"

    def __init__(self, minimum: "Optional[int]" = None, maximum: "Optional[int]" = None) -> None:
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
    """One of a few words, matched without regard to case.  OCF 1.1 metadata shows it as a
    ``select`` of :attr:`options`; OCF 1.0 has no such type, so it stays a ``string`` there."""

    def __init__(self, *values: str) -> None:
        self.values = values

    @property
    def options(self) -> "Tuple[str, ...]":  # type: ignore[override]
        return self.values

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
        # The C module: socket.py (enum, selectors, collections) or ipaddress would cost a
        # monitor more than all its checks.
        import _socket

        text = raw.strip()
        for family in (_socket.AF_INET, _socket.AF_INET6):
            try:
                return _socket.inet_ntop(family, _socket.inet_pton(family, text))
            except (OSError, ValueError):
                continue
        raise ValueError("is not a numeric IP address")


class Command(ParamType):
    """A program with arguments, split like a shell would but never run through one."""

    expects = "a program's absolute path and its arguments"

    def parse(self, raw: str) -> "Tuple[str, ...]":
        import shlex

        _one_line(raw)
        if len(raw) > 65536:
            raise ValueError("is longer than 64 KiB")
        try:
            words = tuple(shlex.split(raw))
        except ValueError as err:  # shlex: "No closing quotation" or "No escaped character"
            raise ValueError("has an unclosed quote" if "quotation" in str(err)
                             else "ends in a lone backslash") from None
        if not words or not words[0].startswith("/"):
            raise ValueError("does not start with an absolute path")
        if len(words[0]) > 4096:
            raise ValueError("has a program path longer than 4096 characters")
        return words


def _snake_case(name: str) -> bool:
    return bool(name) and name[0].islower() and set(name) <= _SNAKE_CHARS


class Param:
    """One agent parameter as it appears in the metadata and in ``OCF_RESKEY_<name>``.

    *secret* values are never logged, never put in an exit reason or on a command line, and
    may be stored with ``cibsecret``.

    What OCF 1.1 metadata adds (OCF 1.0 callers see the 1.0 equivalent, if any):

    * *unique*: this parameter alone identifies an instance (no two resources of the agent
      share its value); OCF 1.1 shows it as a ``unique-group`` of its own.
    * *unique_group*: a name shared by the parameters that identify an instance together
      (no two resources share the combination); OCF 1.0 cannot say it.
    * *reloadable*: a change takes effect through ``reload-agent``, without a restart (the
      framework's own only validates: for what every action reads afresh; see
      :meth:`~mailha.ocf.agent.Agent.reload_action`); any other change restarts the resource.
    * *deprecated*, *replaced_with*: kept for old configurations only; *replaced_with* names
      the parameter that replaces a renamed one (and implies *deprecated*).
    """

    __slots__ = ("name", "type", "shortdesc", "longdesc", "default", "required", "unique", "secret",
                 "unique_group", "reloadable", "deprecated", "replaced_with")

    def __init__(self, name: str, type: "ParamType", shortdesc: str, longdesc: str = "",
                 default: "Optional[str]" = None, required: bool = False, unique: bool = False,
                 secret: bool = False, unique_group: "Optional[str]" = None, reloadable: bool = False,
                 deprecated: bool = False, replaced_with: "Optional[str]" = None) -> None:
        self.name = name
        self.type = type
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.default = default
        self.required = required
        self.unique = unique
        self.secret = secret
        self.unique_group = unique_group
        self.reloadable = reloadable
        self.deprecated = deprecated or bool(replaced_with)
        self.replaced_with = replaced_with

    def declaration_errors(self) -> "List[str]":
        """Mistakes in the declaration itself (checked by the test suite, not at run time)."""
        errors = []
        if not _snake_case(self.name):
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
        if self.unique_group is not None:
            if not _snake_case(self.unique_group):
                errors.append(f"{self.name}: unique_group {self.unique_group!r} must be lower_snake_case")
            if self.unique:
                errors.append(f"{self.name}: unique and unique_group exclude each other "
                              "(unique is a group of one)")
        if self.replaced_with is not None and not _snake_case(self.replaced_with):
            errors.append(f"{self.name}: replaced_with {self.replaced_with!r} is not a parameter name")
        if self.deprecated and self.required:
            errors.append(f"{self.name}: a deprecated parameter cannot be required")
        return errors

    def __repr__(self) -> str:
        return f"Param({self.name!r}, {self.type!r})"


class Params:
    """Parsed parameter values, read as attributes: ``params.port``.

    A parameter that is unset and has no default reads as ``None``.

    :attr:`unusable` is the frozenset of names whose value a tolerant parse (stop) could not
    use: a value that does not parse, a cibsecret reference this node cannot resolve, a
    required parameter that is missing.  Each reads as if it were not set (its default, or
    ``None``), is not :meth:`given`, and :attr:`problems` holds the warning that says why.  A
    handler that needs one of them to identify its instance must not guess."""

    def __init__(self, values: "Mapping[str, Any]", given: "Iterable[str]", secrets: "Iterable[str]",
                 problems: "Optional[Mapping[str, str]]" = None) -> None:
        self._values = dict(values)
        self._given = frozenset(given)
        self._secrets = tuple(s for s in secrets if s)
        self._problems = dict(problems or {})
        self.unusable = frozenset(self._problems)

    def __getattr__(self, name: str) -> "Any":
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def given(self, name: str) -> bool:
        """True when the admin set the parameter (as opposed to its default applying)."""
        return name in self._given

    @property
    def problems(self) -> "Dict[str, str]":
        """For each name in :attr:`unusable`, in declaration order, a warning naming it."""
        return dict(self._problems)

    @property
    def secret_values(self) -> "Tuple[str, ...]":
        """The values to redact from every log line and exit reason."""
        return self._secrets

    def as_dict(self) -> "Dict[str, Any]":
        return dict(self._values)


def _resolve_cibsecret(instance: str, name: str) -> str:
    """Read a value ``cibsecret`` keeps outside the CIB (the CIB holds only ``lrm://``)."""
    from ..files import KiB, read_text

    # Pacemaker's executor substitutes these itself; crm_resource and hand runs may still
    # pass the marker, so resolve it here too.
    base = instance.split(":", 1)[0]  # clone instances share their parent's secret
    path = os.path.join(SECRETS_DIR, base, name)
    try:
        return read_text(path, 64 * KiB, "cibsecret file").rstrip("\n")
    except (OSError, UnicodeDecodeError):
        # Missing here need not mean missing everywhere (a node not yet synced): this node only.
        # The path does not fit in an exit reason with the fix: the log has it.
        raise NotInstalled(
            f"parameter '{name}' is kept by cibsecret but is missing on this node: run 'cibsecret sync'",
            detail=f"{path} is missing or unreadable; 'cibsecret set {base} {name} VALUE' stores it "
                   "again") from None


def _bad_value(param: "Param", shown: str, why: object) -> "Misconfigured":
    from .codes import fits

    fix = f"set it to {param.type.expects}"
    reason = f"parameter '{param.name}' {shown} {why}: {fix}"
    if fits(reason):
        return Misconfigured(reason)
    # The value is what an exit reason can best do without: the admin knows what was typed.
    return Misconfigured(f"parameter '{param.name}' {why}: {fix}",
                         detail=None if param.secret else f"the value was {shown}")


def parse_params(declared: "Sequence[Param]", environ: "Mapping[str, str]", instance: str,
                 tolerant: bool = False, secrets_optional: bool = False) -> "Params":
    """Parse every declared parameter from *environ*.

    Strict (every action but stop): raise :class:`Misconfigured` naming the first parameter that
    is wrong and what to set it to (:class:`NotInstalled` for a cibsecret reference this node
    cannot resolve).

    *tolerant* (stop): raise nothing.  A value that does not parse, a cibsecret reference that
    cannot be resolved (Pacemaker runs stop even when it cannot load the CIB secrets, and the
    agent then sees the literal ``lrm://``) and a missing required parameter count as not set:
    the default applies.  :attr:`Params.unusable` names them, :attr:`Params.problems` says why.

    *secrets_optional* (probes): only an unresolvable cibsecret reference counts as not set, for
    a parameter that does not identify the instance (not unique, required or in a unique group): a probe
    checks processes, never logs in, and must not say "not running" about a running instance
    because this node lacks a password."""
    problems: Dict[str, str] = {}

    def unusable(param: "Param", err: "OcfError", secret_reference: bool = False) -> None:
        optional = secrets_optional and secret_reference and not (param.unique or param.required or param.unique_group)
        if not (tolerant or optional):
            raise err from None
        if param.default in (None, ""):
            fallback = "taken as not set"
        else:
            fallback = "its default applies" if param.secret else f"the default {show(param.default)} applies"
        problems[param.name] = f"{err.reason} (ignored: {fallback})"

    raws: Dict[str, Optional[str]] = {}
    for param in declared:
        raw = environ.get(RESKEY + param.name)
        if raw is not None and raw.startswith(CIBSECRET_MARK):
            try:
                raw = _resolve_cibsecret(instance, param.name)
            except NotInstalled as err:
                unusable(param, err, secret_reference=True)
                raw = None
        raws[param.name] = raw
    # Known before any message is built: a password pasted into the wrong parameter must not
    # show up in that parameter's error either.
    secrets = [raws[p.name] or p.default or "" for p in declared
               if p.secret and (raws[p.name] or p.default)]

    def shown(param: "Param", raw: str) -> str:
        if param.secret:
            return "(secret value)"
        text = show(raw, 32)
        return "(a value that contains a secret)" if any(s in raw for s in secrets) else text

    values: Dict[str, Any] = {}
    given: List[str] = []
    for param in declared:
        raw = raws[param.name]
        values[param.name] = None
        if raw:
            try:
                values[param.name] = param.type.parse(raw)
                given.append(param.name)
                continue
            except ValueError as err:
                unusable(param, _bad_value(param, shown(param, raw), err))
        elif param.required and param.name not in problems:
            unusable(param, Misconfigured(f"parameter '{param.name}' is required: set it to {param.type.expects}"))
        if param.default not in (None, ""):
            values[param.name] = param.type.parse(param.default)  # declaration_errors() vouches for it
    ordered = {p.name: problems[p.name] for p in declared if p.name in problems}
    return Params(values, given, secrets, ordered)


def unknown_params(declared: "Sequence[Param]", environ: "Mapping[str, str]") -> "List[str]":
    """Names of ``OCF_RESKEY_*`` the agent does not know: usually a typo in the CIB."""
    known = {p.name for p in declared}.union(FRAMEWORK_PARAMS)
    return sorted(
        key[len(RESKEY):] for key in environ
        if key.startswith(RESKEY) and key[len(RESKEY):] not in known
        and not key[len(RESKEY):].startswith(META_PREFIX) and not key.startswith(RESKEY + "crm_")
    )
