"""A real Postfix on each lab node, on the node's PRIMARY address only (port 25), and one in
the client namespace as the drills' sending MTA.

Seed 000: the cluster's Postfix holds port 25 of the primary IP while the GWIA serves port 25
on its secondary IP. Each node's Postfix has its own config, queue and data directories on
node-private storage (`<node dir>/postfix/`), and runs inside the node's namespaces, so a node
power-off takes it down like a real machine; `ensure()` starts it again after a (re)boot.

The client's Postfix (`start(layout, CLIENT, relay=IP)`) takes mail on 127.0.0.1 of the client
namespace and relays all of it to a virtual IP, retrying as Postfix does, with its backoff and
timeouts shortened for a drill: a real MTA's retries, in seconds instead of minutes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

from mailha.lab import nodecmd, procs, state
from mailha.lab.layout import Layout
from mailha.lab.preflight import LabError

SMTP_PORT = 25
CLIENT = "client"
#: The client's queue retries every second or two; a session with a vanished server gives up in
#: seconds (the defaults, up to 600 s for the end of DATA, would outlast a drill).
DRILL_TUNING = ("minimal_backoff_time = 1s", "maximal_backoff_time = 2s", "queue_run_delay = 1s",
                "smtp_connect_timeout = 3s", "smtp_helo_timeout = 5s", "smtp_mail_timeout = 5s",
                "smtp_rcpt_timeout = 5s", "smtp_data_init_timeout = 5s", "smtp_data_xfer_timeout = 10s",
                "smtp_data_done_timeout = 10s", "smtp_quit_timeout = 5s")


def base_dir(layout: Layout, node: str) -> str:
    return os.path.join(layout.node_dir(node), "postfix")


def config_dir(layout: Layout, node: str) -> str:
    return os.path.join(base_dir(layout, node), "etc")


def queue_dir(layout: Layout, node: str) -> str:
    return os.path.join(base_dir(layout, node), "spool")


def _main_cf(layout: Layout, node: str, relay: str | None = None) -> str:
    base = base_dir(layout, node)
    client = node == CLIENT
    lines = [
        "# mailha lab: the client's sending MTA" if client else "# mailha lab: this node's Postfix, on its primary address only",
        "compatibility_level = 3.6",
        f"queue_directory = {queue_dir(layout, node)}",
        f"data_directory = {os.path.join(base, 'lib')}",
        f"inet_interfaces = {'127.0.0.1' if client else layout.node_address(node)}",
        "inet_protocols = ipv4",
        f"myhostname = {node}.lab.test",
        "mydestination =",
        "mynetworks = 127.0.0.0/8",
        f"relayhost = [{relay}]:{SMTP_PORT}" if relay else "relayhost =",
        f"maillog_file = {os.path.join(base, 'maillog')}",
        "smtpd_banner = $myhostname ESMTP Postfix",
    ]
    return "\n".join([*lines, *(DRILL_TUNING if client else ()), ""])


def configure(layout: Layout, node: str, relay: str | None = None) -> str:
    """Write the node's (or the client's) Postfix config (idempotent); returns its config directory."""
    etc = config_dir(layout, node)
    os.makedirs(etc, exist_ok=True)
    os.makedirs(os.path.join(base_dir(layout, node), "lib"), exist_ok=True)
    os.makedirs(queue_dir(layout, node), exist_ok=True)
    with open(os.path.join(etc, "main.cf"), "w", encoding="utf-8") as f:
        f.write(_main_cf(layout, node, relay))
    shutil.copyfile("/etc/postfix/master.cf", os.path.join(etc, "master.cf"))
    # No chroot: the queue directory is not a prepared chroot jail.
    subprocess.run(["postconf", "-c", etc, "-F", "*/*/chroot = n"], check=True, capture_output=True, timeout=30)
    os.chown(os.path.join(base_dir(layout, node), "lib"), *_postfix_ids())
    return etc


def _postfix_ids() -> tuple[int, int]:
    import pwd
    entry = pwd.getpwnam("postfix")
    return entry.pw_uid, entry.pw_gid


def master_pid(layout: Layout, node: str) -> int | None:
    """Host PID of the node's Postfix master, or None when it does not run."""
    try:
        with open(os.path.join(queue_dir(layout, node), "pid", "master.pid"), encoding="ascii") as f:
            ns_pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    pid = ns_pid if node == CLIENT else host_pid(layout, node, ns_pid)  # the client has the host's PIDs
    # A pid file left from before a reboot may name a PID the new boot gave to another program.
    try:
        return pid if pid and os.readlink(f"/proc/{pid}/exe").endswith("/postfix/sbin/master") else None
    except OSError:
        return None


def host_pid(layout: Layout, node: str, ns_pid: int) -> int | None:
    """The host PID of the process that is `ns_pid` in the node's PID namespace."""
    try:
        pidns = procs.pid_namespace(nodecmd.node_pid(layout, node))
    except LabError:
        return None
    for pid in procs.pids_in("pid", {pidns} if pidns else set()):
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as f:
                nspids = next(line.split()[1:] for line in f if line.startswith("NSpid:"))
        except (OSError, StopIteration):
            continue
        if nspids and int(nspids[-1]) == ns_pid:
            return pid
    return None


def start(layout: Layout, node: str, relay: str | None = None) -> int:
    """Start the node's (or the client's, relaying to *relay*) Postfix unless it runs; record
    and return the master's host PID."""
    pid = master_pid(layout, node)
    if pid is None:
        etc = configure(layout, node, relay)
        out = nodecmd.run(layout, node, ["postfix", "-c", etc, "start"], timeout=60)
        if out.returncode != 0:
            raise LabError(f"postfix start on {node} failed: {(out.stderr or out.stdout).strip()[-500:]}")
        pid = master_pid(layout, node)
        if pid is None:
            raise LabError(f"postfix on {node} started but wrote no master pid")
    with state.locked(layout) as st:
        st.setdefault("postfix", {})[node] = {"pid": pid, "start": procs.start_time(pid)}
    return pid


def ensure(layout: Layout, nodes: list[str]) -> None:
    """Postfix running on every node given (after a boot, the node has none)."""
    for node in nodes:
        start(layout, node)


def queued(layout: Layout, node: str) -> list[dict]:
    """The messages in a Postfix's queue (postqueue -j), e.g. the client's deferred mail."""
    import json

    out = nodecmd.run(layout, node, ["postqueue", "-c", config_dir(layout, node), "-j"], timeout=30)
    if out.returncode != 0:
        raise LabError(f"postqueue on {node} failed: {out.stderr.strip()[-500:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def log(layout: Layout, node: str) -> str:
    """The Postfix's mail log (what it sent, deferred, bounced)."""
    try:
        with open(os.path.join(base_dir(layout, node), "maillog"), encoding="utf-8", errors="replace") as f:
            return f.read(16 * 1024 * 1024)
    except FileNotFoundError:
        return ""


def stop_recorded(st: dict) -> None:
    """SIGTERM every recorded Postfix master by PID, as `postfix stop` does (it ends its children)."""
    for rec in (st.get("postfix") or {}).values():
        procs.kill_pid(rec.get("pid"), rec.get("start"), signal.SIGTERM)
