"""The instance's commands: ``start-msg``, ``stop-msg``, ``msstart``, ``configutil``,
``stored -t``.

``start-msg [COMPONENT...]`` (none: every enabled one) launches the watcher first when it does
not run (``Launching watcher ...``), refuses every component but the watcher while the store
does not run ("If stored doesn't start ..., no other processes will start"), starts each daemon
and waits until it listens (``Starting imap server .... <pid>``); for the store it then waits
for ``ready`` (``checking store server status ... ready``).  ``stop-msg [-f] [COMPONENT...]``
first tells the watcher the components stop on purpose, then sends SIGTERM (SIGKILL with
``-f``) and waits up to :data:`STOP_WAIT` seconds; it never kills after a SIGTERM: a daemon
that outlives it is the cluster agent's to end.  ``msstart C...`` is start-msg and ``msstart
-k C...`` stop-msg (seed 004; the product documents neither).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Sequence

from mailha.files import read_text, rewrite
from mailha.msgsrv import layout, msgconf
from mailha.msgsrv.services import PROCESSES, SERVICES
from mailha.ocf.budget import wait_until
from mailha.proc import ProcessMatch, find

from .. import procs, ready
from . import config

STOP_WAIT = 60.0
#: How long start-msg waits for the store to say ready before it reports its state and goes on
#: (a recovery may take minutes: the caller waits for ready itself).
STORE_WAIT = 5.0
#: The components start-msg knows; "smtp" starts the MTA's two daemons.
COMPONENTS = ("watcher", "store", "sched", "imap", "pop", "http", "ens", "snmp", "sms", "mmp",
              "job_controller", "dispatcher", "smtp", "mta")
_MTA = ("job_controller", "dispatcher")


def daemons(component: str, *, stopping: bool = False) -> list[str]:
    if component in ("smtp", "mta"):
        return list(_MTA)
    key = "stop" if stopping else "start"
    # The watcher comes with "store" (and "watcher" on 6.3): start_msg launches it first.
    return [p.name for p in PROCESSES.values() if getattr(p, key) == component and (stopping or p.name != "watcher")]


def enabled(conf: dict[str, str], component: str) -> bool:
    """Whether msg.conf enables *component* (start-msg with no argument starts these)."""
    if component in ("watcher", "store"):
        return True
    flags: dict[str, str] = {}
    for service in SERVICES.values():
        if service.name != "core" and not service.tls:  # imaps: the SSL port of imap's daemon
            flags.setdefault(service.component, service.flag)
    flags.update(sched="local.sched.enable", job_controller="local.imta.enable", dispatcher="local.imta.enable",
                 smtp="local.imta.enable", mta="local.imta.enable", mmp="local.mmp.enable")
    flag = flags.get(component)
    return flag is not None and msgconf.enabled(conf, flag)


def running(inst: layout.Instance, name: str) -> list:
    return find(ProcessMatch(exe_names=(inst.daemon(name),)), every=True)


def tell_watcher(inst: layout.Instance, line: str) -> None:
    """One line to the watcher (best effort: a watcher that is not there has nothing to know)."""
    try:
        with socket.create_connection(config.watcher_address(inst), timeout=2) as sock:
            sock.sendall(line.encode() + b"\n")
            sock.recv(16)
    except OSError:
        pass


def launch(inst: layout.Instance, name: str) -> tuple[int | None, str]:
    """Start daemon *name* and wait until it says it listens: (pid or None, what it said)."""
    child, said = ready.launch([inst.daemon(name)], inst.home)
    if said != "ok":
        return None, said or f"exited {child.poll()}"
    return child.pid, said


def start_msg(home: str, argv: Sequence[str]) -> int:
    inst = config.instance_of(home)
    if argv[:1] in (["-h"], ["--help"]):
        print("Usage: ./start-msg [COMPONENTS...]\nStart all or some Messaging Server components.")
        return 0
    conf = config.values(inst)
    wanted = [a for a in argv if a != "ha"] or [c for c in ("store", "sched", "imap", "pop", "http", "ens", "mta", "mmp")
                                                  if enabled(conf, c)]
    unknown = [c for c in wanted if c not in COMPONENTS]
    if unknown:
        print(f"start-msg: unknown component {unknown[0]}", file=sys.stderr)
        return 2
    worst = 0
    print("Connecting to watcher ...")
    # Launched with the core only: a services resource started without its store must not
    # leave a watcher behind that no resource manages.
    if not running(inst, "watcher") and {"watcher", "store"} & set(wanted):
        print("Launching watcher ...")
        pid, said = launch(inst, "watcher")
        if pid is None:
            print(f"watcher failed to start: {said}")
            return 1
    tell_watcher(inst, "STARTING " + " ".join(wanted))
    for component in wanted:
        if component == "watcher":
            continue
        if not enabled(conf, component):
            print(f"{component} is disabled in the configuration: not started")
            worst = 1
            continue
        if component not in ("store", "mmp") and not running(inst, "stored"):  # an MMP host has no store
            print(f"store server is not running: {component} not started")
            worst = 1
            continue
        for name in daemons(component):
            if running(inst, name):
                print(f"{name} server is already running")
                continue
            pid, said = launch(inst, name)
            if pid is None:
                print(f"Starting {component} server .... failed: {said}")
                worst = 1
                continue
            print(f"Starting {component} server .... {pid}")
        if component == "store" and running(inst, "stored"):
            print(f"checking store server status ... {wait_store(inst)}")
    return worst


def store_state(inst: layout.Instance) -> str | None:
    try:
        return layout.store_state(read_text(config.store_pidfile(inst), 4096, "store pid file"))[1]
    except OSError:
        return None


def wait_store(inst: layout.Instance) -> str:
    wait_until(lambda: store_state(inst) == layout.READY or not running(inst, "stored"),
               time.monotonic() + STORE_WAIT, first=0.05, longest=0.5)
    return store_state(inst) or "not running"


def stop_msg(home: str, argv: Sequence[str]) -> int:
    inst = config.instance_of(home)
    force = "-f" in argv
    wanted = [a for a in argv if a not in ("-f", "ha")]
    if not wanted:  # everything started, the watcher last
        wanted = ["mmp", "mta", "ens", "http", "pop", "imap", "sched", "store", "watcher"]
    unknown = [c for c in wanted if c not in COMPONENTS]
    if unknown:
        print(f"stop-msg: unknown component {unknown[0]}", file=sys.stderr)
        return 2
    tell_watcher(inst, "STOPPING " + " ".join(wanted))
    worst = 0
    for component in wanted:
        found = [p for name in daemons(component, stopping=True) for p in running(inst, name)]
        if component in ("smtp", "mta", "dispatcher"):
            found += [p for name in ("tcp_smtp_server", "tcp_lmtp_server") for p in running(inst, name)]
        if not found:
            continue
        if force:
            import signal

            for info in found:
                if info.is_same():
                    os.kill(info.pid, signal.SIGKILL)
            alive: list[int] = []
        else:
            alive = procs.terminate(found, STOP_WAIT)
        print(f"Stopping {component} server .... {'failed (still running: ' + ' '.join(map(str, alive)) + ')' if alive else 'done'}")
        worst = worst or (1 if alive else 0)
    return worst


def msstart(home: str, argv: Sequence[str]) -> int:
    if argv[:1] == ["-k"]:
        return stop_msg(home, argv[1:])
    return start_msg(home, argv)


def configutil(home: str, argv: Sequence[str]) -> int:
    """``configutil [-o NAME [-v VALUE]]``: print every value, one, or set one in msg.conf."""
    inst = config.instance_of(home)
    args = list(argv)
    option = value = None
    while args:
        flag = args.pop(0)
        if flag in ("-o", "-v") and args:
            if flag == "-o":
                option = args.pop(0)
            else:
                value = args.pop(0)
        else:
            print("Usage: configutil [-o option [-v value]]", file=sys.stderr)
            return 2
    try:
        text = read_text(inst.msg_conf, config.MAX, "msg.conf")
    except FileNotFoundError:
        text = ""
    except OSError as err:
        print(f"configutil: {err}", file=sys.stderr)
        return 1
    values = msgconf.parse(text)
    if option is None:
        for name in sorted(values):
            print(f"{name} = {values[name]}")
        return 0
    if value is None:
        print(msgconf.value(values, option))
        return 0
    try:
        rewrite(inst.msg_conf, msgconf.with_value(text, option, value).encode("utf-8"))
    except ValueError as err:
        print(f"configutil: {err}", file=sys.stderr)
        return 1
    return 0


def stored_check(home: str, verbose: bool) -> int:
    """``stored -t [-v]``: 0 when the store runs, is ready and answers; otherwise the state.
    It waits for the store's answer up to :data:`CHECK_WAIT` seconds (a hung store)."""
    inst = config.instance_of(home)
    state = store_state(inst)
    if not running(inst, "stored"):
        print("store server is not running")
        return 1
    if state != layout.READY:
        print(f"store server is {state or 'starting'}")
        return 2
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CHECK_WAIT)
            sock.connect(config.store_socket(inst))
            sock.sendall(b"status\n")
            answer = sock.recv(200).decode("utf-8", "replace").strip()
    except OSError as err:
        print(f"store server is not responding: {err}")
        return 3
    if verbose:
        print(answer or "store server: no answer")
    return 0 if answer.startswith("ready") else 3


CHECK_WAIT = 120.0


def main(name: str, home: str, argv: Sequence[str]) -> int:
    tools = {"start-msg": start_msg, "stop-msg": stop_msg, "msstart": msstart, "configutil": configutil}
    return tools[name](home, argv)
