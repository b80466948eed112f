"""The recurring monitor's fast path: the last full monitor's answer, checked again cheaply.

Pacemaker runs a recurring monitor as a new process every few seconds, on every node, for as
long as the resource runs.  Importing the framework and parsing and checking every parameter
cost such a monitor more than its checks.  So when a full monitor finds the service running,
the lifecycle records (:func:`save`) what that answer rested on:

* the operation's environment (``OCF_*`` and ``HA_*``: the parameters, interval, timeout,
  ``OCF_CHECK_LEVEL``, logging and tracing), a secret standing only for whether it is set;
* each member's process, by pid and start time (the identity :mod:`mailha.proc` uses);
* the files the endpoints were read from (a startup file), by size, mtime and inode;
* the second level's endpoints on their addresses, unless they need credentials;
* the cadence, and whether a test user logs in.

The agent's executable calls :func:`replay` before it imports its agent.  A recurring monitor
with exactly the recorded environment, whose processes are the very same and whose inputs are
unchanged, and whose endpoints answer when the cadence says the second level is due, then
exits 0, having imported only what these checks need.  Anything else (a difference, a probe
that fails, a login or a monitor program due, an error of any kind) returns, and the full
agent runs as if there were no fast path: the fast path only ever answers "running", and only
where the full monitor would.  Like the full monitor, it logs nothing when all is well.
"""

import posix  # not os: see mailha.proc (os would be a tenth of this path's cost)
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Mapping, Optional, Sequence, Tuple

    from ..ocf.agent import Context
    from ..proc import ProcInfo
    from .model import Service

#: The record's keys, under the monitor's own prefix: a start forgets them with the cadence.
PREFIX = "monitor.fast."
#: The environment an operation's answer depends on (resource-agents' variables).
ENV_PREFIXES = ("OCF_", "HA_")
#: A replayed probe may use this share of the time left: half of what a full monitor's check
#: may (mailha.monitor.CHECK_SHARE), so that when it fails the full monitor still has the time
#: to check again and say why.
PROBE_SHARE = 0.4
#: The ``probes`` value of a record whose endpoints log in (only the full monitor has the
#: credentials, which are never recorded) or whose second level runs a product check.
NEEDS_CREDENTIALS = "-"
_FIELD, _ROW = "\x1f", "\x1e"  # ASCII unit and record separators


def replay(agent: str) -> None:
    """Exit 0 at once when this process is a recurring monitor that the record of the last
    full monitor answers (see the module's description); return otherwise."""
    if answer(agent, sys.argv, _environ()):
        sys.stdout.flush()
        posix._exit(0)  # nothing to tear down: no thread, no open file, nothing written


def _environ() -> "Dict[str, str]":
    """What ``os.environ`` holds, decoded as os decodes it."""
    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    return {key.decode(encoding, errors): value.decode(encoding, errors) for key, value in posix.environ.items()}


def answer(agent: str, argv: "Sequence[str]", environ: "Mapping[str, str]") -> bool:
    """True when the record still holds for this monitor and its due probes answered; never
    raises (any error means: let the full monitor decide)."""
    if list(argv[1:2]) != ["monitor"]:
        return False
    try:
        return _holds(agent, environ)
    except Exception:  # noqa: BLE001 - whatever it is, the full monitor will tell
        return False


def _holds(agent: str, environ: "Mapping[str, str]") -> bool:
    from ..ocf.state import StateFile

    state = StateFile(agent, environ.get("OCF_RESOURCE_INSTANCE", "") or agent, environ)
    record = {key[len(PREFIX):]: value for key, value in state.load().items() if key.startswith(PREFIX)}
    expected = record.get("env")
    if not expected or expected != signature(environ, (_rows(record.get("secrets", "")) or [[]])[0]):
        return False
    if not _same(record):
        return False
    from ..cadence import COUNTER, counts, levels_due

    level, every = int(record["level"]), int(record["every"])
    counted = counts(level, every)
    count = state.count(COUNTER) if counted else 0
    service_due, transaction_due = levels_due(level, every, count)
    if transaction_due and record.get("login") == "1":
        return False
    if service_due and not _probes_answer(record):
        return False
    if counted:
        state.put(COUNTER, str(count + 1))  # as the full monitor would have counted this one
    return True


def _same(record: "Mapping[str, str]") -> bool:
    """The recorded processes still run, and the recorded inputs are unchanged."""
    from ..files import stamp
    from ..proc import still_running

    for pid, ticks in _rows(record.get("procs", "")):
        if not still_running(int(pid), int(ticks)):
            return False
    for path, recorded in _rows(record.get("inputs", "")):
        try:
            if stamp(path) != recorded:
                return False
        except OSError:
            return False
    return True


def _probes_answer(record: "Mapping[str, str]") -> bool:
    import time

    from ..ocf.budget import Budget
    from .model import Endpoint
    from .probing import check

    rows = record.get("probes", NEEDS_CREDENTIALS)
    if rows == NEEDS_CREDENTIALS:
        return False
    deadline = time.monotonic() + Budget(float(record["timeout"])).share(PROBE_SHARE)
    for host, name, protocol, port, tls, base in _rows(rows):
        # The error a failing probe raises goes to answer(): the full monitor reports it.
        check(name, [Endpoint(name, protocol, int(port), tls=tls == "1", base=base)], host, deadline)
    return True


# -- the record, written by a full monitor ------------------------------------------------------


def signature(environ: "Mapping[str, str]", secrets: "Sequence[str]") -> str:
    """The environment an answer depends on, as one string; the parameters named in
    *secrets* appear only as set or not (a check such as "http_user needs http_password"
    depends on that), never with their values."""
    hidden = {"OCF_RESKEY_" + name for name in secrets}
    rows = []
    for key in sorted(environ):
        if key.startswith(ENV_PREFIXES):
            value = environ[key]
            rows.append((key, ("set" if value else "") if key in hidden else value))
    return _encode(rows) or ""


def stamps(service: "Service") -> "Optional[List[Tuple[str, str]]]":
    """The stamps of the service's input files, taken before a monitor reads them (a file
    edited meanwhile then differs from its record); None when one cannot be read."""
    from ..files import stamp

    try:
        return [(path, stamp(path)) for member in service.members for path in member.inputs]
    except OSError:
        return None


def save(ctx: "Context", service: "Service", found: "Sequence[ProcInfo]",
         inputs: "Optional[Sequence[Tuple[str, str]]]", rc: int) -> None:
    """After a full recurring monitor: record what its answer *rc* rested on (*found*: the
    process it found of each member; *inputs*: :func:`stamps`), or forget the record when
    this answer is not one to replay."""
    record = _record(ctx, service, found, inputs) if rc == 0 else None
    ctx.state.update(PREFIX, record or {})


def _record(ctx: "Context", service: "Service", found: "Sequence[ProcInfo]",
            inputs: "Optional[Sequence[Tuple[str, str]]]") -> "Optional[Dict[str, str]]":
    from ..ocf.codes import OcfError
    from ..ocf.log import DEBUG

    p = ctx.params.as_dict()
    if (ctx.is_probe or inputs is None or len(found) != len(service.members) or p.get("monitor_program")
            or ctx.log.floor <= DEBUG or ctx.log.trace is not None):
        return None  # what only the full monitor does: a debug log, a trace, the admin's program
    secrets = [prm.name for prm in ctx.agent.params if prm.secret]
    try:
        probes = []
        for member in service.members:
            if member.check is not None:
                probes = None  # a product command: only the full monitor runs it
                break
            host = service.host_of(member)
            for point in member.endpoints:
                if point.auth is not None:
                    probes = None
                    break
                probes.append((host, point.name, point.protocol, str(point.port), "1" if point.tls else "0",
                               point.base))
            if probes is None:
                break
    except OcfError:  # the endpoints cannot be read now (a first-level monitor did not need them)
        return None
    fields = {
        "env": signature(ctx.environ, secrets),
        "secrets": _encode([secrets]),
        "level": str(ctx.check_level),
        "every": str(p.get("second_level_monitor", 1)),
        "timeout": repr(ctx.budget.timeout),
        "login": "1" if service.login else "0",
        "procs": _encode([(str(info.pid), str(info.start_ticks)) for info in found]),
        "inputs": _encode(inputs),
        "probes": NEEDS_CREDENTIALS if probes is None else _encode(probes),
    }
    if any(value is None for value in fields.values()) or not fields["env"]:
        return None  # a value with a separator or a line break: not recorded, never replayed
    return {PREFIX + key: value for key, value in fields.items()}


def _encode(rows: "Sequence[Sequence[str]]") -> "Optional[str]":
    fields = [field for row in rows for field in row]
    if any(_FIELD in f or _ROW in f or "\n" in f or "\r" in f for f in fields):
        return None
    return _ROW.join(_FIELD.join(row) for row in rows)


def _rows(text: str) -> "List[List[str]]":
    return [row.split(_FIELD) for row in text.split(_ROW)] if text else []
