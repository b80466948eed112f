"""Logging the way resource-agents logs, with secrets redacted.

Destinations follow the variables Pacemaker passes to agents:

* ``HA_LOGFACILITY`` (unless ``none``): syslog, tagged ``agent(instance)``;
* ``HA_LOGFILE``: a file at the resource's level; ``HA_DEBUGLOG``: a file with debug too;
* stderr when nothing else is configured (the agent runs by hand) or stderr is a terminal.

``HA_debug=1`` (or the resource's ``log_level``) lowers the threshold.  Every line passes the
redactor, which replaces secret parameter values, so a password cannot leak into any sink.

This is deliberately not the ``logging`` package: a monitor that logs nothing should pay
nothing, and importing ``logging`` costs several milliseconds on every call.
"""

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Iterable, Mapping, Optional, TextIO

    from .agent import Agent

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
LEVELS = {"error": ERROR, "warn": WARNING, "warning": WARNING, "info": INFO,
          "debug": DEBUG, "trace": DEBUG}
_NAMES = {DEBUG: "debug", INFO: "info", WARNING: "WARNING", ERROR: "ERROR"}
_SYSLOG_PRIORITY = {DEBUG: 7, INFO: 6, WARNING: 4, ERROR: 3}
REDACTED = "******"


def level_param():
    """The ``log_level`` parameter every agent has (seed 004's ResLogLevel)."""
    from .params import Choice, Param

    # "trace" as the Veritas guide spells it (TRACE: matched without regard to case), so that a
    # ResLogLevel carries over unchanged; it is the most verbose level, the same as debug.
    return Param("log_level", Choice("error", "warn", "info", "debug", "trace"), "Agent log level",
                 "How much the agent logs: error, warn, info, or debug (everything). trace, seed 004's "
                 "ResLogLevel TRACE, is the same as debug.", default="info",
                 reloadable=True)


class Redactor:
    """Replaces known secret values in text."""

    def __init__(self, secrets: "Iterable[str]" = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class Logger:
    """A small leveled logger writing to the resource-agents destinations."""

    #: The action's :class:`Trace`, when one is asked for: it gets every line, debug included.
    trace: "Optional[Trace]" = None

    def __init__(self, ident: str, threshold: int = INFO, syslog_facility: str = "",
                 logfile: str = "", debuglog: str = "", stderr: bool = True,
                 redactor: "Optional[Redactor]" = None, datefmt: str = "%b %d %H:%M:%S") -> None:
        self.ident = ident
        self.threshold = threshold
        self.facility = syslog_facility
        self.logfile = logfile
        self.debuglog = debuglog
        self.stderr = stderr
        self.redact = redactor or Redactor()
        self.datefmt = datefmt
        self._syslog = None
        # The lowest level any sink wants: below it, a call returns at once.
        self.floor = DEBUG if debuglog else threshold

    def debug(self, msg: str, *args: object) -> None:
        if DEBUG >= self.floor:
            self._emit(DEBUG, msg, args)

    def info(self, msg: str, *args: object) -> None:
        if INFO >= self.floor:
            self._emit(INFO, msg, args)

    def warning(self, msg: str, *args: object) -> None:
        if WARNING >= self.floor:
            self._emit(WARNING, msg, args)

    def error(self, msg: str, *args: object) -> None:
        if ERROR >= self.floor:
            self._emit(ERROR, msg, args)

    def _emit(self, level: int, msg: str, args: tuple) -> None:
        try:
            text = msg % args if args else msg
        except (TypeError, ValueError):
            text = f"{msg} {args!r}"
        # One entry, one line: no logged value (server output, an action name) can start a
        # line of its own, such as a forged "ocf-exit-reason:".
        text = self.redact(text).replace("\r", "\\r").replace("\n", "\\n")
        label = _NAMES[level]
        try:
            if self.trace is not None:
                self.trace.line(label, text)
            if level >= self.threshold:
                if self.facility:
                    self._to_syslog(level, f"{label}: {text}")
                if self.logfile:
                    self._to_file(self.logfile, label, text)
                if self.stderr:
                    sys.stderr.write(f"{self.ident}: {label}: {text}\n")
            if self.debuglog:
                self._to_file(self.debuglog, label, text)
        except Exception:  # noqa: BLE001 - a log sink must never fail an action
            pass

    def debug_file(self, msg: str, *args: object) -> None:
        """Write to ``HA_DEBUGLOG`` only: for tracebacks, which belong in no other sink (but
        in the trace, which has everything)."""
        if self.debuglog or self.trace is not None:
            try:
                text = self.redact(msg % args if args else msg)
                if self.trace is not None:
                    self.trace.line("debug", text)
                if self.debuglog:
                    self._to_file(self.debuglog, "debug", text.replace("\n", "\n    "))
            except Exception:  # noqa: BLE001 - a log sink must never fail an action
                pass

    def _to_file(self, path: str, label: str, text: str) -> None:
        stamp = time.strftime(self.datefmt)
        with open(path, "a", encoding="utf-8", errors="replace") as handle:
            handle.write(f"{stamp} {self.ident}[{os.getpid()}]: {label}: {text}\n")

    def _to_syslog(self, level: int, line: str) -> None:
        if self._syslog is None:
            import syslog

            facility = getattr(syslog, "LOG_" + self.facility.upper(), syslog.LOG_DAEMON)
            syslog.openlog(self.ident, syslog.LOG_PID, facility)
            self._syslog = syslog
        self._syslog.syslog(_SYSLOG_PRIORITY[level], line)


def setup(agent: str, instance: str, environ: "Mapping[str, str]", level: "Optional[str]" = None,
          secrets: "Iterable[str]" = ()) -> "Logger":
    """The logger for one agent invocation, configured from the HA_* environment."""
    debug = environ.get("HA_debug", "0") not in ("", "0")
    threshold = DEBUG if debug else LEVELS.get((level or "info").lower(), INFO)
    facility = environ.get("HA_LOGFACILITY", "")
    if facility.lower() == "none":
        facility = ""
    logfile = environ.get("HA_LOGFILE", "")
    debuglog = environ.get("HA_DEBUGLOG", "")
    if debuglog and debuglog == logfile:
        logfile = ""  # one file for both: write each line once, debug included (as ha_log does)
    by_hand = not (facility or logfile or debuglog)
    datefmt = environ.get("HA_DATEFMT", "%b %d %H:%M:%S").replace("%T", "%H:%M:%S")
    logger = Logger(f"{agent}({instance})", threshold, facility, logfile, debuglog,
                    stderr=by_hand or sys.stderr.isatty(), redactor=Redactor(secrets), datefmt=datefmt)
    if _active_trace is not None:
        _active_trace.attach(logger)
    return logger


# -- tracing (OCF_TRACE_RA, crm resource trace) ----------------------------------------------
#
# ocf-shellfuncs answers OCF_TRACE_RA=1 (or the trace_ra=1 that `crm resource trace` puts on an
# operation) with `set -x` into a file, passwords and all.  Ours writes what the agent did
# instead: the action, its parameters, every log line at debug level, the exit reason and the
# rc, each line redacted and flushed as it is written (an agent killed at its timeout leaves a
# trace up to the hang), the file closed before the agent exits.

#: Where the shell agents put traces: ``$HA_VARLIB/trace_ra`` (ocf-directories' default).
HA_VARLIB = "/var/lib/heartbeat"
_TRUE_WORDS = ("1", "yes", "true", "on", "ja")  # ocf_is_true's words
_FILE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@+-")
#: Environment variables worth a line in the trace, besides the parameters.
_TRACE_ENV_PREFIXES = ("OCF_", "HA_", "PCMK_")
_active_trace: "Optional[Trace]" = None


def trace_wanted(environ: "Mapping[str, str]") -> bool:
    """True when this run is to be traced (``: ${OCF_TRACE_RA:=$OCF_RESKEY_trace_ra}``)."""
    word = environ.get("OCF_TRACE_RA") or environ.get("OCF_RESKEY_trace_ra") or ""
    return word.strip().lower() in _TRUE_WORDS


class Trace:
    """The trace of one action: redacted lines, each flushed as it is written, into one file."""

    def __init__(self, handle: "TextIO", secrets: "Iterable[str]" = ()) -> None:
        self._handle: Optional[TextIO] = handle
        self.redact = Redactor(secrets)

    def attach(self, logger: "Logger") -> None:
        """Give *logger*'s lines to the trace too, debug included, and learn its secrets."""
        self.redact = Redactor([*self.redact.secrets, *logger.redact.secrets])
        logger.trace = self
        logger.floor = DEBUG

    def line(self, label: str, text: str) -> None:
        now = time.time()
        self.write(f"{time.strftime('%H:%M:%S', time.localtime(now))}.{int(now * 1000) % 1000:03d} "
                   f"{label}: {text}")

    def write(self, text: str) -> None:
        if self._handle is None:
            return
        text = self.redact(text).replace("\r", "\\r").replace("\n", "\\n")
        try:
            self._handle.write(text + "\n")
            self._handle.flush()
        except (OSError, ValueError):  # a full disk ends the trace, never the action
            self._handle = None

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError:
                pass


def _file_part(text: str) -> str:
    """*text* made safe as one file name component (an action name is untrusted text)."""
    safe = "".join(ch if ch in _FILE_CHARS else "_" for ch in text[:100]).lstrip(".")
    return safe or "_"


def _at_a_terminal() -> bool:
    """``tty >/dev/null``: a hand run at a terminal, where the shell agents trace to the screen."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):  # closed or replaced stdin
        return False


def _open_trace(agent: str, instance: str, action: str, environ: "Mapping[str, str]") -> "TextIO":
    """The trace file ocf_start_trace would choose, open for appending.

    ``OCF_TRACE_FILE`` is a descriptor 3-9 or an absolute path (``crm_resource`` passes
    ``/dev/stderr``); unset, a terminal gets the trace on stderr and anything else a file
    ``<trace_dir>/<type>/<instance>.<action>.<date>``.  Raises OSError."""
    dest = environ.get("OCF_TRACE_FILE", "")
    if len(dest) == 1 and dest in "3456789":
        return open(int(dest), "a", encoding="utf-8", errors="replace", closefd=False)
    if dest.startswith("/") and "/" in dest[1:]:
        return open(dest, "a", encoding="utf-8", errors="replace")
    if _at_a_terminal():
        return open(2, "a", encoding="utf-8", errors="replace", closefd=False)
    base = environ.get("OCF_RESKEY_trace_dir", "")
    if not base.startswith("/"):  # a relative one would land wherever the agent was started
        base = os.path.join(environ.get("HA_VARLIB", "") or HA_VARLIB, "trace_ra")
    directory = os.path.join(base, _file_part(environ.get("OCF_RESOURCE_TYPE", "") or agent))
    stamp = time.strftime("%Y-%m-%d.%H:%M:%S")  # date +%F.%T, as the shell agents name theirs
    path = os.path.join(directory, f"{_file_part(instance)}.{_file_part(action)}.{stamp}")
    # The trace holds the resource's configuration: for root's eyes only, like the CIB.
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    return open(fd, "a", encoding="utf-8", errors="replace")


def start_trace(agent: "Agent", action: str, environ: "Mapping[str, str]") -> "Optional[Trace]":
    """Open the trace of *action*, write what the action was asked with, and make every logger
    :func:`setup` makes until :func:`end_trace` write into it.  None, with a warning, when no
    trace file can be opened: tracing never fails an action."""
    global _active_trace
    from .params import CIBSECRET_MARK, FRAMEWORK_PARAMS, RESKEY

    instance = environ.get("OCF_RESOURCE_INSTANCE", "") or agent.name
    declared = {p.name: p for p in agent.params}
    # Known before the parameters are parsed; values read with cibsecret join when they are.
    secrets = [v for p in agent.params if p.secret
               for v in (environ.get(RESKEY + p.name, ""), p.default or "")
               if v and not v.startswith(CIBSECRET_MARK)]
    try:
        handle = _open_trace(agent.name, instance, action, environ)
    except (OSError, ValueError) as err:
        setup(agent.name, instance, environ, secrets=secrets).warning(
            "OCF_TRACE_RA is set but no trace can be written (%s): not tracing", err)
        return None
    trace = Trace(handle, secrets)
    trace.write(f"# mailha trace: {agent.name} {action} of {instance}, pid {os.getpid()}, "
                f"{time.strftime('%Y-%m-%d %H:%M:%S %z')}")
    keys = sorted(environ)
    for key in keys:
        if key.startswith(RESKEY):
            name = key[len(RESKEY):]
            param = declared.get(name)
            if param is not None and param.secret:
                value = REDACTED
            elif param is not None or name.startswith(("CRM_meta_", "crm_")) or name in FRAMEWORK_PARAMS:
                value = environ[key]
            else:  # a misspelt name may hold a password: its value is not the trace's to show
                value = "(not a parameter of this agent: value not shown)"
            trace.write(f"param {name}={value}")
    for key in keys:
        if key.startswith(_TRACE_ENV_PREFIXES) and not key.startswith(RESKEY):
            trace.write(f"env {key}={environ[key]}")
    _active_trace = trace
    return trace


def trace_exit_reason(text: str) -> None:
    """Put the exit reason Pacemaker is given into the trace, if there is one."""
    if _active_trace is not None:
        _active_trace.write(f"exit reason: {text}")


def end_trace(trace: "Optional[Trace]", rc: "Optional[int]", seconds: float) -> None:
    """Write the rc (None: the run was cut short), close the trace, and stop handing new
    loggers to it."""
    global _active_trace
    if _active_trace is trace:
        _active_trace = None
    if trace is not None:
        ended = f"rc {rc}" if rc is not None else "no rc: the run was cut short"
        trace.write(f"# {ended} after {seconds:.3f}s")
        trace.close()
