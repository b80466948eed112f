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
from typing import Callable

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


def main_cf(base: str, *, interfaces: str, hostname: str, relay: str | None = None, sending: bool = False) -> str:
    """main.cf of a Postfix whose directories are all under *base*; *sending*: the client's,
    relaying everything to *relay* with the drill's retries."""
    lines = [
        "# mailha lab: the client's sending MTA" if sending else "# mailha lab: this node's Postfix, on its primary address only",
        "compatibility_level = 3.6",
        f"queue_directory = {os.path.join(base, 'spool')}",
        f"data_directory = {os.path.join(base, 'lib')}",
        f"inet_interfaces = {interfaces}",
        "inet_protocols = ipv4",
        f"myhostname = {hostname}",
        "mydestination =",
        "mynetworks = 127.0.0.0/8",
        f"relayhost = [{relay}]:{SMTP_PORT}" if relay else "relayhost =",
        f"maillog_file = {os.path.join(base, 'maillog')}",
        "smtpd_banner = $myhostname ESMTP Postfix",
    ]
    return "\n".join([*lines, *(DRILL_TUNING if sending else ()), ""])


def configure_at(base: str, main: str, listen: str | None = None) -> str:
    """Write a Postfix under *base* (idempotent): *main* as main.cf, the system's master.cf
    without chroot; *listen* (host:port): its SMTP server there instead of port 25.  Returns
    the config directory."""
    etc = os.path.join(base, "etc")
    for d in (etc, os.path.join(base, "lib"), os.path.join(base, "spool")):
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(etc, "main.cf"), "w", encoding="utf-8") as f:
        f.write(main)
    shutil.copyfile("/etc/postfix/master.cf", os.path.join(etc, "master.cf"))
    # No chroot: the queue directory is not a prepared chroot jail.
    edits = [["-F", "*/*/chroot = n"]]
    if listen:
        edits += [["-MX", "smtp/inet"], ["-Me", f"{listen}/inet = {listen} inet n - n - - smtpd"]]
    for edit in edits:
        subprocess.run(["postconf", "-c", etc, *edit], check=True, capture_output=True, timeout=30)
    os.chown(os.path.join(base, "lib"), *_postfix_ids())
    return etc


def configure(layout: Layout, node: str, relay: str | None = None) -> str:
    """Write the node's (or the client's) Postfix config (idempotent); returns its config directory."""
    client = node == CLIENT
    return configure_at(base_dir(layout, node), main_cf(
        base_dir(layout, node), interfaces="127.0.0.1" if client else layout.node_address(node),
        hostname=f"{node}.lab.test", relay=relay, sending=client))


def _postfix_ids() -> tuple[int, int]:
    import pwd
    entry = pwd.getpwnam("postfix")
    return entry.pw_uid, entry.pw_gid


def read_master_pid(base: str) -> int | None:
    """The PID in the master's pid file of the Postfix under *base* (as its PID namespace sees it)."""
    try:
        with open(os.path.join(base, "spool", "pid", "master.pid"), encoding="ascii") as f:
            return int(f.read(64).strip())
    except (OSError, ValueError):
        return None


def is_master(pid: int | None) -> bool:
    """Whether host PID *pid* is a Postfix master: a pid file left from before a reboot may
    name a PID the new boot gave to another program."""
    try:
        return bool(pid) and os.readlink(f"/proc/{pid}/exe").endswith("/postfix/sbin/master")
    except OSError:
        return False


def master_at(base: str) -> int | None:
    """PID of the running master of the Postfix under *base* that shares this host's PIDs."""
    pid = read_master_pid(base)
    return pid if is_master(pid) else None


def master_pid(layout: Layout, node: str) -> int | None:
    """Host PID of the node's Postfix master, or None when it does not run."""
    if node == CLIENT:  # the client namespace has the host's PIDs
        return master_at(base_dir(layout, node))
    ns_pid = read_master_pid(base_dir(layout, node))
    pid = host_pid(layout, node, ns_pid) if ns_pid is not None else None
    return pid if is_master(pid) else None


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
    return queued_with(lambda argv: nodecmd.run(layout, node, argv, timeout=30), config_dir(layout, node))


def queued_with(run: Callable[[list[str]], subprocess.CompletedProcess], etc: str) -> list[dict]:
    """The same for the Postfix of config directory *etc*, postqueue run by *run*."""
    import json

    out = run(["postqueue", "-c", etc, "-j"])
    if out.returncode != 0:
        raise LabError(f"postqueue -c {etc} failed: {out.stderr.strip()[-500:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def log(layout: Layout, node: str) -> str:
    """The Postfix's mail log (what it sent, deferred, bounced)."""
    return log_at(base_dir(layout, node))


def log_at(base: str) -> str:
    """The mail log of the Postfix under *base*."""
    try:
        with open(os.path.join(base, "maillog"), encoding="utf-8", errors="replace") as f:
            return f.read(16 * 1024 * 1024)
    except FileNotFoundError:
        return ""


def stop_recorded(st: dict) -> None:
    """SIGTERM every recorded Postfix master by PID, as `postfix stop` does (it ends its children)."""
    for rec in (st.get("postfix") or {}).values():
        procs.kill_pid(rec.get("pid"), rec.get("start"), signal.SIGTERM)
