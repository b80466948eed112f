"""Power a lab node on and off: the "hardware" that fencing and `lab fail` act on.

A node is powered on by starting its PID 1 (node_init) in fresh namespaces and
off by SIGKILL of that PID 1, which the kernel turns into the death of every
process of the node. Off returns only once the node's PID namespace is empty
and its link is down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import mailha
from mailha.lab import network, procs, state
from mailha.lab.layout import Layout
from mailha.ocf.budget import wait_until

BOOT_TIMEOUT = 10.0
OFF_TIMEOUT = 15.0
_children: list[subprocess.Popen] = []


def reap_children() -> None:
    """Collect exited `unshare` processes started by power_on (called by labd)."""
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)


def package_parent() -> str:
    """Directory to put on PYTHONPATH so that `python3 -m mailha.lab.node_init` imports this tree."""
    return os.path.dirname(os.path.abspath(list(mailha.__path__)[0]))


def is_on(layout: Layout, node: str) -> bool:
    st = state.read(layout) or {}
    rec = st.get("nodes", {}).get(node) or {}
    return procs.is_alive(rec.get("pid"), rec.get("start"))


def _find_ns_init(unshare_pid: int, timeout: float) -> int:
    """Host PID of the child `unshare --fork` made: PID 1 of the node's PID namespace."""
    children_file = f"/proc/{unshare_pid}/task/{unshare_pid}/children"
    kids: list[str] = []

    def forked() -> bool:
        try:
            with open(children_file, encoding="ascii") as f:
                kids[:] = f.read(4096).split()
        except FileNotFoundError:
            raise RuntimeError("unshare exited before the node started") from None
        return bool(kids)

    if not wait_until(forked, time.monotonic() + timeout, first=0.01, longest=0.05):
        raise RuntimeError("node PID 1 did not appear")
    return int(kids[0])


def power_on(layout: Layout, node: str) -> dict:
    if is_on(layout, node):
        return {"ok": True, "state": "on", "note": "already on"}
    with state.locked(layout) as st:
        rec = st["nodes"].setdefault(node, {"cable": "plugged"})
        cable = rec.get("cable", "plugged")
    network.set_link(layout, node, up=(cable == "plugged"))
    log = open(os.path.join(layout.node_dir(node), "init.log"), "ab")
    env = dict(os.environ, PYTHONPATH=package_parent())
    cmd = ["ip", "netns", "exec", layout.node_netns(node),
           "unshare", "--mount", "--uts", "--pid", "--fork", "--mount-proc", "--propagation", "private",
           sys.executable, "-m", "mailha.lab.node_init", "--root", layout.root, "--node", node]
    unshare = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                               start_new_session=True)
    log.close()
    _children.append(unshare)
    unshare_start = procs.start_time(unshare.pid)
    with state.locked(layout) as st:  # record at once: down must find it even if we crash now
        st["nodes"][node].update(unshare_pid=unshare.pid, unshare_start=unshare_start, power="booting")
    pid1 = _find_ns_init(unshare.pid, BOOT_TIMEOUT)
    with state.locked(layout) as st:
        st["nodes"][node].update(pid=pid1, start=procs.start_time(pid1),
                                 pidns=procs.pid_namespace(pid1), power="on")
    return {"ok": True, "state": "on"}


def power_off(layout: Layout, node: str) -> dict:
    """Hard power-off; returns only when no process of the node is left."""
    st = state.read(layout) or {}
    rec = st.get("nodes", {}).get(node) or {}
    pidns = rec.get("pidns")
    procs.kill_pid(rec.get("pid"), rec.get("start"), signal.SIGKILL)
    # `unshare` exits by itself once its child is dead; labd reaps it.
    gone = procs.wait_until_gone(rec.get("pid") or 0, rec.get("start"), OFF_TIMEOUT)
    if gone and pidns:
        gone = procs.wait_namespace_empty(pidns, OFF_TIMEOUT)
    if not gone:
        return {"ok": False, "state": "on", "error": f"{node} still has processes after SIGKILL"}
    if network.netns_exists(layout.switch_netns):
        network.set_link(layout, node, up=False)
    if network.netns_exists(layout.node_netns(node)):
        network.reset_addresses(layout, node)
    with state.locked(layout) as st:
        st["nodes"].setdefault(node, {})["power"] = "off"
    return {"ok": True, "state": "off"}


def reboot(layout: Layout, node: str) -> dict:
    off = power_off(layout, node)
    if not off["ok"]:
        return off
    return power_on(layout, node)


def status(layout: Layout, node: str) -> dict:
    return {"ok": True, "state": "on" if is_on(layout, node) else "off"}
