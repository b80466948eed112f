"""`mailha lab up` and `mailha lab down`."""

from __future__ import annotations

import filecmp
import grp
import os
import pwd
import shutil
import subprocess
import sys

from mailha.lab import cluster, corosync_conf, gwservices, images, labd, network, postfix, power, procs, state
from mailha.lab.layout import FENCE_AGENT_PATH, NETNS_PREFIX, PRIVATE_DIRS, Layout
from mailha.lab.preflight import LabError, check_can_host, check_root, leftover_netns

IMAGE_SIZE = 512 * 1024 * 1024
LABD_START_TIMEOUT = 10.0
KILL_TIMEOUT = 8.0


def _chown_ha(path: str) -> None:
    os.chown(path, pwd.getpwnam("hacluster").pw_uid, grp.getgrnam("haclient").gr_gid)


def _prepare_node_dirs(layout: Layout, token_ms: int) -> None:
    with open(layout.authkey, "rb") as f:
        key = f.read()
    for node in layout.node_names():
        base = layout.node_dir(node)
        for name in PRIVATE_DIRS.values():
            os.makedirs(os.path.join(base, name), exist_ok=True)
        etc = os.path.join(base, "etc-corosync")
        with open(os.path.join(etc, "corosync.conf"), "w", encoding="utf-8") as f:
            f.write(corosync_conf.render(layout, token_ms))
        fd = os.open(os.path.join(etc, "authkey"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        pcmk = os.path.join(base, "var-lib-pacemaker")
        for sub in ("cib", "pengine", "blackbox", "cores"):
            os.makedirs(os.path.join(pcmk, sub), exist_ok=True)
            _chown_ha(os.path.join(pcmk, sub))
        cib = os.path.join(pcmk, "cib", "cib.xml")
        with open(cib, "w", encoding="utf-8") as f:
            f.write(cluster.seed_cib(layout))
        os.chmod(cib, 0o600)
        _chown_ha(cib)
        _chown_ha(os.path.join(base, "var-log-pacemaker"))


def _make_network(layout: Layout) -> None:
    with state.locked(layout) as st:  # recorded before creation: down removes what exists
        st["netns"] = layout.all_netns()
    network.create_switch(layout)
    for node in layout.node_names():
        network.plug(layout, layout.node_netns(node), layout.switch_port(node), layout.node_address(node))
    network.plug(layout, layout.client_netns, "p-client", layout.client_address)


def _make_shared_storage(layout: Layout) -> None:
    with open(layout.image, "wb") as f:
        f.truncate(IMAGE_SIZE)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "mailha-shared", layout.image], check=True,
                   capture_output=True, timeout=60)
    os.makedirs(layout.shared_mountpoint, exist_ok=True)
    loop = subprocess.run(["losetup", "--find", "--show", layout.image], check=True,
                          capture_output=True, text=True, timeout=20).stdout.strip()
    with state.locked(layout) as st:
        st["loop"] = loop


def _install_fence_agent(layout: Layout) -> None:
    source = os.path.join(os.path.dirname(__file__), "fence_mailha_lab.py")
    if os.path.exists(FENCE_AGENT_PATH):
        if not filecmp.cmp(source, FENCE_AGENT_PATH, shallow=False):
            raise LabError(f"{FENCE_AGENT_PATH} exists and is not this lab's agent; not overwriting it")
        return  # installed by a package or an earlier lab: not ours to remove
    with state.locked(layout) as st:
        st["fence_agent"] = FENCE_AGENT_PATH
    shutil.copyfile(source, FENCE_AGENT_PATH)
    os.chmod(FENCE_AGENT_PATH, 0o755)


def _start_labd(layout: Layout) -> None:
    env = dict(os.environ, PYTHONPATH=power.package_parent())
    log = open(layout.labd_log, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "mailha.lab.labd", "--root", layout.root,
                             "--nodes", str(layout.nodes)],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    log.close()
    with state.locked(layout) as st:
        st["labd"] = {"pid": proc.pid, "start": procs.start_time(proc.pid)}

    def answering():
        if proc.poll() is not None:
            raise LabError(f"labd exited with {proc.returncode}; see {layout.labd_log}")
        try:
            return labd.request(layout.power_socket, "ping", timeout=2).get("ok")
        except OSError:
            return False
    cluster.wait_for("the lab power controller", answering, LABD_START_TIMEOUT, interval=0.1)


def power_request(layout: Layout, op: str, node: str) -> dict:
    """Ask labd to power a node on/off/reboot; raises on failure."""
    try:
        reply = labd.request(layout.power_socket, op, node)
    except OSError as exc:
        raise LabError(f"lab power controller not reachable at {layout.power_socket}: {exc}") from None
    if not reply.get("ok"):
        raise LabError(f"power {op} {node} failed: {reply.get('error')}")
    return reply


def liveness(layout: Layout) -> str:
    """"none", "live", "building" (an `up` in progress or killed) or why a recorded lab is stale.

    A ready lab is live while its power controller runs: without labd there is no fencing.
    """
    st = state.read(layout)
    if st is None:
        return "none"
    if not state.from_this_boot(st):
        return "stale: recorded before the machine last booted"
    if not st.get("ready"):
        return "building"
    labd_rec = st.get("labd") or {}
    if procs.is_alive(labd_rec.get("pid"), labd_rec.get("start")):
        return "live"
    return "stale: its power controller (labd) is not running"


def up(layout: Layout, token_ms: int = 3000, wait: bool = True, keep_on_failure: bool = False) -> list[str]:
    """Build the lab; a stale record (machine rebooted, labd dead) is removed first. Returns notes."""
    notes = []
    found = liveness(layout)
    if found == "live":
        raise LabError(f"a lab is already up (recorded in {layout.state_file}); run `mailha lab down` first")
    if found == "building":
        raise LabError(f"a lab is being built, or its `up` was killed (recorded in {layout.state_file}); "
                       "run `mailha lab down` first")
    if found.startswith("stale"):
        down(layout)
        notes.append(f"removed a lab left in {layout.root} ({found.split(': ', 1)[1]})")
    check_can_host(layout)
    with state.locked(layout, create=True):
        pass
    try:
        os.makedirs(layout.power_dir, mode=0o700, exist_ok=True)
        with open(layout.authkey, "wb") as f:
            os.fchmod(f.fileno(), 0o400)
            f.write(os.urandom(256))
        _prepare_node_dirs(layout, token_ms)
        _make_network(layout)
        _make_shared_storage(layout)
        _install_fence_agent(layout)
        _start_labd(layout)
        for node in layout.node_names():
            power_request(layout, "on", node)
        if wait:
            cluster.wait_ready(layout)
        with state.locked(layout) as st:
            st["ready"] = True
        return notes
    except BaseException:
        if keep_on_failure:
            raise
        # A half-built lab is of no use: take it down so that the next `up` can start clean.
        down(layout)
        raise


# ---------------------------------------------------------------- down


def _kill_nodes(st: dict) -> list[str]:
    """SIGKILL every recorded node PID 1 and unshare; wait until their namespaces are empty."""
    pidnss = []
    for rec in st.get("nodes", {}).values():
        procs.kill_pid(rec.get("pid"), rec.get("start"))
        if rec.get("pidns"):
            pidnss.append(rec["pidns"])
    for rec in st.get("nodes", {}).values():
        procs.wait_until_gone(rec.get("pid") or 0, rec.get("start"), KILL_TIMEOUT)
        procs.kill_pid(rec.get("unshare_pid"), rec.get("unshare_start"))
    return pidnss


def _sweep_netns(names: list[str]) -> None:
    """Kill what is still inside a lab network namespace (e.g. a node PID not yet recorded).

    Only processes living in a namespace the lab created are hit, found by namespace, never by name.
    """
    inodes = {f"net:[{procs.net_namespace_inode(n)}]" for n in names if procs.net_namespace_inode(n)}
    if not inodes:
        return
    victims = {pid: procs.start_time(pid) for pid in procs.pids_in("net", inodes)}
    for pid, start in victims.items():
        procs.kill_pid(pid, start)
    for pid, start in victims.items():
        procs.wait_until_gone(pid, start, KILL_TIMEOUT)


def _detach_loops(layout: Layout, recorded: str | None) -> None:
    if not os.path.exists(layout.image):
        return
    found = subprocess.run(["losetup", "-j", layout.image, "-O", "NAME", "-n"], capture_output=True,
                           text=True, timeout=20).stdout.split()
    for dev in sorted(set(found) | ({recorded} if recorded in found else set())):
        subprocess.run(["losetup", "-d", dev], capture_output=True, timeout=20)


def down(layout: Layout) -> list[str]:
    """Remove every namespace, loop device, mount, process and file the lab made. Returns notes."""
    check_root()
    notes = []
    st = state.read(layout)
    if st is None:
        notes.append(f"no lab recorded in {layout.state_file}; removing leftovers only")
        st = {"nodes": {}, "netns": leftover_netns()}
    elif not state.from_this_boot(st):
        notes.append("the lab was recorded before the machine last booted: its processes are gone")
        st = state.without_processes(st)  # recycled PIDs of this boot must never be hit
    labd_rec = st.get("labd") or {}
    # labd first, so that it cannot power a node back on while we take them down.
    procs.kill_pid(labd_rec.get("pid"), labd_rec.get("start"))
    postfix.stop_recorded(st)
    _kill_nodes(st)
    names = sorted(set(st.get("netns", [])) | set(leftover_netns()))
    names = [n for n in names if n.startswith(NETNS_PREFIX)]
    _sweep_netns(names)
    procs.wait_until_gone(labd_rec.get("pid") or 0, labd_rec.get("start"), KILL_TIMEOUT)
    for name in names:
        network.delete_netns(name)
    _detach_loops(layout, st.get("loop"))
    images.detach_all(layout)
    gwservices.remove_emulator(st)
    agent = st.get("fence_agent")
    if agent == FENCE_AGENT_PATH and os.path.exists(agent):
        os.unlink(agent)
    if os.path.isdir(layout.root):
        shutil.rmtree(layout.root)
    return notes
