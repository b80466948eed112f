"""Process identity and bounded termination, by PID only.

A PID is only signalled when its start time (field 22 of /proc/PID/stat)
still matches the one recorded, so a recycled PID is never hit.
"""

from __future__ import annotations

import os
import signal
import time


def boot_id() -> str:
    """This boot's identity: recorded PIDs and start times mean nothing under another one."""
    with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
        return f.read().strip()


def start_time(pid: int) -> int | None:
    """Start time of PID in clock ticks since boot, or None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def is_alive(pid: int | None, start: int | None) -> bool:
    return bool(pid) and start is not None and start_time(pid) == start


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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid, start):
            return True
        time.sleep(0.05)
    return not is_alive(pid, start)


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
    while time.monotonic() < deadline:
        if not pids_in("pid", {pidns}):
            return True
        time.sleep(0.05)
    return not pids_in("pid", {pidns})
