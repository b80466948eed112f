"""Recorded lab processes (node PID 1s, labd, Postfix masters): identity and bounded termination.

A process is recorded as its pid and start time (clock ticks since boot, as
:class:`mailha.proc.ProcInfo` reads them) and is only signalled while both still match, so a
recycled PID is never hit.  Reading ``/proc`` and waiting are the library's
(:mod:`mailha.proc`, :func:`mailha.ocf.budget.wait_until`); what is lab-specific here is the
boot identity and the namespaces.
"""

from __future__ import annotations

import os
import signal
import time

from mailha.ocf.budget import wait_until
from mailha.proc import ProcInfo, read_process

#: Polling of a wait: quick at first (a SIGKILLed process is gone within milliseconds), then
#: no busier than this.
FIRST_POLL, LONGEST_POLL = 0.01, 0.1


def boot_id() -> str:
    """This boot's identity: recorded PIDs and start times mean nothing under another one."""
    with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
        return f.read().strip()


def start_time(pid: int) -> int | None:
    """Start time of PID in clock ticks since boot, or None if it is gone or a zombie."""
    info = read_process(pid, need_argv=False)
    return None if info is None or info.state == "Z" else info.start_ticks


def recorded(pid: int, start: int) -> ProcInfo:
    """The recorded process, as the library knows a process: its pid and start time."""
    return ProcInfo(pid=pid, ppid=0, comm="", state="", start_ticks=start, uid=-1, exe=None, argv=None)


def is_alive(pid: int | None, start: int | None) -> bool:
    """True while the recorded process (this pid with this start time) runs, not a zombie."""
    return bool(pid) and start is not None and recorded(pid, start).is_same()  # type: ignore[arg-type]


def pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def net_namespace_inode(netns_name: str) -> int | None:
    try:
        return os.stat(f"/run/netns/{netns_name}").st_ino
    except OSError:
        return None


def pids_in(ns_kind: str, ns_ids: set[str]) -> list[int]:
    """Host PIDs of live processes whose namespace of ns_kind (e.g. "pid") is in ns_ids."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/{ns_kind}") in ns_ids and start_time(int(entry)) is not None:
                found.append(int(entry))
        except OSError:
            continue
    return found


def wait_until_gone(pid: int, start: int | None, timeout: float) -> bool:
    """Wait up to *timeout* seconds for the recorded process to end; whether it did."""
    return wait_until(lambda: not is_alive(pid, start), time.monotonic() + timeout, FIRST_POLL, LONGEST_POLL)


def kill_pid(pid: int | None, start: int | None, sig: int = signal.SIGKILL) -> bool:
    """Signal PID if it is still the recorded process; True if it was signalled."""
    if not is_alive(pid, start):
        return False
    try:
        os.kill(pid, sig)  # type: ignore[arg-type]
    except ProcessLookupError:
        return False
    return True


def wait_namespace_empty(pidns: str, timeout: float) -> bool:
    """Wait until no process is left in the PID namespace pidns ("pid:[inode]")."""
    deadline = time.monotonic() + timeout
    return wait_until(lambda: not pids_in("pid", {pidns}), deadline, FIRST_POLL, LONGEST_POLL)
