"""The emulator's knobs: start/stop time and faults, from the environment and a control file.

The control file is ``<home>/mailha-sim.json`` (``MAILHA_SIM_CONTROL`` names another).  A running
agent re-reads it on SIGHUP and polls it every second, so a fault can be injected into a
running process.  Keys (all optional)::

    {"start_delay": 0, "stop_delay": 0, "fault": "none", "ignore_sigterm": false,
     "exit_code": 1, "pid": null, "node": null, "process": null}

``fault``: ``none`` | ``crash`` (exit at once with ``exit_code``) | ``hang`` (accept connections,
never answer) | ``freeze`` (the process blocks: the kernel queues connections, nothing is
accepted or answered, SIGTERM waits until the freeze ends) | ``bindfail`` (refuse to bind at
start).  ``pid``/``node``/``process`` restrict the file to one process, one node or one daemon name (``uname -n``), because
the file lives on shared storage and follows a failover.  The file wins over the environment
(``MAILHA_SIM_START_DELAY``, ``MAILHA_SIM_STOP_DELAY``, ``MAILHA_SIM_FAULT``,
``MAILHA_SIM_IGNORE_SIGTERM``, ``MAILHA_SIM_EXIT_CODE``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace

FAULTS = ("none", "crash", "hang", "freeze", "bindfail")
CONTROL_NAME = "mailha-sim.json"


@dataclass(frozen=True)
class Control:
    start_delay: float = 0.0
    stop_delay: float = 0.0
    fault: str = "none"
    ignore_sigterm: bool = False
    exit_code: int = 1


def control_path(home: str) -> str:
    return os.environ.get("MAILHA_SIM_CONTROL") or os.path.join(home, CONTROL_NAME)


def from_environment(env: dict[str, str] | os._Environ[str] = os.environ) -> Control:
    return _merge(
        Control(),
        {
            "start_delay": env.get("MAILHA_SIM_START_DELAY"),
            "stop_delay": env.get("MAILHA_SIM_STOP_DELAY"),
            "fault": env.get("MAILHA_SIM_FAULT"),
            "ignore_sigterm": env.get("MAILHA_SIM_IGNORE_SIGTERM"),
            "exit_code": env.get("MAILHA_SIM_EXIT_CODE"),
        },
    )


def load(home: str, base: Control | None = None, *, pid: int | None = None, process: str | None = None) -> Control:
    """The environment's settings overlaid with the control file's, if it applies to us
    (*process*: the daemon's name, for a file that names one: a Messaging Server instance runs
    several daemons from one home)."""
    control = base if base is not None else from_environment()
    try:
        with open(control_path(home), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return control
    if not isinstance(data, dict):
        return control
    if data.get("pid") not in (None, pid if pid is not None else os.getpid()):
        return control
    if data.get("node") not in (None, os.uname().nodename):
        return control
    if data.get("process") not in (None, process):
        return control
    return _merge(control, data)


def write(home: str, **settings: object) -> str:
    """Write a control file atomically (for tests and admins); returns its path."""
    path = control_path(home)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(settings, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def _merge(control: Control, data: dict[str, object]) -> Control:
    changes: dict[str, object] = {}
    for key in ("start_delay", "stop_delay"):
        if data.get(key) not in (None, ""):
            changes[key] = max(0.0, float(data[key]))  # type: ignore[arg-type]
    if data.get("fault") not in (None, ""):
        fault = str(data["fault"]).lower()
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {', '.join(FAULTS)}")
        changes["fault"] = fault
    if data.get("ignore_sigterm") not in (None, ""):
        value = data["ignore_sigterm"]
        changes["ignore_sigterm"] = value if isinstance(value, bool) else str(value).lower() in ("1", "yes", "true", "on")
    if data.get("exit_code") not in (None, ""):
        changes["exit_code"] = int(data["exit_code"])  # type: ignore[arg-type]
    return replace(control, **changes)
