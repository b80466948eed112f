"""PID 1 of a lab node: private mounts, sysrq mask, then corosync and pacemakerd.

Started by labd as
``ip netns exec mhlab-nodeN unshare --mount --uts --pid --fork --mount-proc --propagation private
python3 -m mailha.lab.node_init --root ROOT --node nodeN``.
Killing this process from the host kills the whole node (power off).
"""

from __future__ import annotations

import argparse
import os
import pwd
import grp
import signal
import subprocess
import sys
import time

from mailha.lab.layout import PRIVATE_DIRS, Layout
from mailha.sim.installer import LAB_NODE_MARKER
from mailha.ocf.budget import wait_until

SYSRQ = "/proc/sysrq-trigger"
COROSYNC_READY_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} node_init: {msg}", flush=True)


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, timeout=10)


def is_mount_point(path: str) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return any(line.split()[4] == path for line in f)


def mask_sysrq() -> None:
    """A Pacemaker panic writes 'b' to /proc/sysrq-trigger, which would reboot the HOST.

    Kernels built without magic SysRq have no such file: then there is nothing to mask.
    """
    if not os.path.exists(SYSRQ):
        log(f"{SYSRQ} absent on this kernel: nothing to mask")
        return
    mount("--bind", "/dev/null", SYSRQ)
    if not is_mount_point(SYSRQ):
        raise SystemExit(f"refusing to start pacemaker: {SYSRQ} is not masked")
    log(f"{SYSRQ} masked with /dev/null")


def private_mounts(layout: Layout, node: str) -> None:
    ha = pwd.getpwnam("hacluster").pw_uid
    hagid = grp.getgrnam("haclient").gr_gid
    node_dir = layout.node_dir(node)
    for target, name in PRIVATE_DIRS.items():
        os.makedirs(target, exist_ok=True)
        mount("--bind", os.path.join(node_dir, name), target)
    # Sizes as on a real machine (tmpfs default: half the RAM): 389-ds sizes its db region
    # files in /dev/shm from the RAM it sees.
    for tmpfs, mode in (("/run", "755"), ("/dev/shm", "1777"), ("/tmp", "1777")):
        mount("-t", "tmpfs", "-o", f"mode={mode}", "tmpfs", tmpfs)
    for d in ("/run/crm", "/run/pacemaker", "/run/resource-agents", "/run/lock", "/run/corosync"):
        os.makedirs(d, exist_ok=True)
    with open(LAB_NODE_MARKER, "w", encoding="utf-8") as marker:  # `mailha sim install --root /` may run here
        marker.write(node + "\n")
    for d in ("/run/crm", "/run/pacemaker"):
        os.chown(d, ha, hagid)


def node_env(layout: Layout) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/root",
        "PCMK_logfile": "/var/log/pacemaker/pacemaker.log",
        "PCMK_logfacility": "none",
        "MAILHA_LAB_ROOT": layout.root,
    }
    # For the tools run in a node by hand from a tree; the agents start python3 -IS, which
    # ignores it, and find the library where their install wrote it.
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def wait_corosync(corosync: subprocess.Popen, env: dict[str, str]) -> None:
    def answers() -> bool:
        if corosync.poll() is not None:
            raise SystemExit(f"corosync exited with {corosync.returncode}")
        return subprocess.run(["corosync-cmapctl", "-g", "totem.cluster_name"], env=env,
                              capture_output=True, timeout=5).returncode == 0

    if not wait_until(answers, time.monotonic() + COROSYNC_READY_TIMEOUT, first=0.1, longest=0.2):
        raise SystemExit("corosync did not become ready")


def stop(children: list[subprocess.Popen]) -> None:
    """Orderly node shutdown: pacemakerd first (it stops resources), then corosync."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()


class _Stop(Exception):
    pass


def _raise_stop(*_: object) -> None:
    raise _Stop()


def supervise(children: list[subprocess.Popen]) -> int:
    """Reap every child (we are PID 1); leave when corosync or pacemakerd ends, or on SIGTERM."""
    shutdown_order = list(reversed(children))
    # waitpid() is retried after a handler returns (PEP 475), so the handler raises.
    signal.signal(signal.SIGTERM, _raise_stop)
    try:
        while True:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                return 1
            for child in children:
                if child.pid == pid:
                    child.returncode = -1
                    log(f"{child.args[0]} ended; halting node")
                    stop(shutdown_order)
                    return 1
    except _Stop:
        log("SIGTERM: stopping pacemakerd, then corosync")
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(shutdown_order)
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailha.lab.node_init")
    parser.add_argument("--root", required=True)
    parser.add_argument("--node", required=True)
    args = parser.parse_args(argv)
    if os.getpid() != 1:
        raise SystemExit("node_init must run as PID 1 of a fresh PID namespace")
    layout = Layout(root=args.root)
    private_mounts(layout, args.node)
    mask_sysrq()
    subprocess.run(["hostname", args.node], check=True, timeout=5)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=5)
    env = node_env(layout)
    devnull = subprocess.DEVNULL
    corosync = subprocess.Popen(["corosync", "-f"], env=env, stdin=devnull)
    wait_corosync(corosync, env)
    log("corosync ready")
    pacemakerd = subprocess.Popen(["pacemakerd"], env=env, stdin=devnull)
    log("pacemakerd started")
    # Stop pacemakerd before corosync; supervise() reverses this list.
    return supervise([corosync, pacemakerd])


if __name__ == "__main__":
    sys.exit(main())
