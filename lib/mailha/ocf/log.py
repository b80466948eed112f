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

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Iterable, Mapping

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
LEVELS = {"error": ERROR, "warn": WARNING, "warning": WARNING, "info": INFO,
          "debug": DEBUG, "trace": DEBUG}
_NAMES = {DEBUG: "debug", INFO: "info", WARNING: "WARNING", ERROR: "ERROR"}
_SYSLOG_PRIORITY = {DEBUG: 7, INFO: 6, WARNING: 4, ERROR: 3}
REDACTED = "******"


def level_param():
    """The ``log_level`` parameter every agent has (seed 004's ResLogLevel)."""
    from .params import Choice, Param

    return Param("log_level", Choice("error", "warn", "info", "debug"), "Agent log level",
                 "How much the agent logs (seed 004's ResLogLevel; its TRACE is debug).", default="info")


class Redactor:
    """Replaces known secret values in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class Logger:
    """A small leveled logger writing to the resource-agents destinations."""

    def __init__(self, ident: str, threshold: int = INFO, syslog_facility: str = "",
                 logfile: str = "", debuglog: str = "", stderr: bool = True,
                 redactor: Redactor | None = None, datefmt: str = "%b %d %H:%M:%S") -> None:
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
        """Write to ``HA_DEBUGLOG`` only: for tracebacks, which belong in no other sink."""
        if self.debuglog:
            try:
                text = self.redact(msg % args if args else msg)
                self._to_file(self.debuglog, "debug", text.replace("\n", "\n    "))
            except Exception:  # noqa: BLE001 - a log sink must never fail an action
                pass

    def _to_file(self, path: str, label: str, text: str) -> None:
        stamp = time.strftime(self.datefmt)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {self.ident}[{os.getpid()}]: {label}: {text}\n")

    def _to_syslog(self, level: int, line: str) -> None:
        if self._syslog is None:
            import syslog

            facility = getattr(syslog, "LOG_" + self.facility.upper(), syslog.LOG_DAEMON)
            syslog.openlog(self.ident, syslog.LOG_PID, facility)
            self._syslog = syslog
        self._syslog.syslog(_SYSLOG_PRIORITY[level], line)


def setup(agent: str, instance: str, environ: Mapping[str, str], level: str | None = None,
          secrets: Iterable[str] = ()) -> Logger:
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
    return Logger(f"{agent}({instance})", threshold, facility, logfile, debuglog,
                  stderr=by_hand or sys.stderr.isatty(), redactor=Redactor(secrets), datefmt=datefmt)
