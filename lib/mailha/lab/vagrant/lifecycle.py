"""Up and down of the Vagrant lab, each step timed (the figures the lab reports)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator

from mailha import proc
from mailha.lab import lifecycle as ns_lifecycle
from mailha.lab.layout import Layout, lab_root
from mailha.lab.preflight import LabError, check_root
from mailha.lab.vagrant import client, cluster, host, nodes
from mailha.lab.vagrant.layout import HOST_MEMORY_PER_NODE, RUN_DIR, VLab
from mailha.ocf.budget import wait_until

BOX_PREFIX = "mailha/bookworm"
VAGRANT_UP_TIMEOUT = 1800
VAGRANT_DESTROY_TIMEOUT = 300
#: Seconds an interrupted `vagrant up` gets to clean up before it is killed
VAGRANT_STOP_GRACE = 30


@contextmanager
def timed(figures: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        figures[name] = round(time.monotonic() - started, 1)


def default_nodes() -> int:
    """3, or 2 when the host has not the memory for three software-emulated VMs."""
    with open("/proc/meminfo", encoding="ascii") as f:
        available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    return 3 if available >= 3 * HOST_MEMORY_PER_NODE + 2 * 1024 ** 3 else 2


def liveness(vlab: VLab) -> str:
    """"none", "live", or "partial" (an up in progress, failed or killed: down() removes it)."""
    st = host.read_state(vlab)
    if st is None:
        return "none"
    return "live" if st.get("ready") else "partial"


def recorded(run_dir: str = RUN_DIR) -> VLab | None:
    """The lab that is up (as its up recorded it), or None."""
    st = host.read_state(VLab(run_dir=run_dir))
    if not st or not st.get("ready"):
        return None
    return VLab(nodes=st["nodes"], run_dir=run_dir, vagrant_dir=st["vagrant_dir"], token_ms=st["token_ms"])


def build_box(vlab: VLab) -> tuple[str, str]:
    """The box file (built, or taken from the cache) and its name in Vagrant."""
    out = host.run([os.path.join(vlab.vagrant_dir, "build-box"), vlab.cache_dir], "building the box",
                   timeout=3600)
    path = out.stdout.strip().splitlines()[-1]
    key = os.path.basename(path).rsplit("-", 1)[-1].split(".")[0]
    return path, f"{BOX_PREFIX}-{key}"


def add_box(vlab: VLab, path: str, name: str) -> None:
    """Vagrant's copy of the box, once per box; copies of older boxes are removed."""
    env = vlab.vagrant_env()
    listed = host.run(["vagrant", "box", "list", "--machine-readable"], "vagrant box list", env=env).stdout
    boxes = {line.split(",")[3] for line in listed.splitlines() if ",box-name," in line}
    for old in sorted(b for b in boxes if b.startswith(BOX_PREFIX) and b != name):
        host.run(["vagrant", "box", "remove", "--force", "--all", old], "vagrant box remove", env=env, check=False)
    if name not in boxes:
        host.run(["vagrant", "box", "add", "--name", name, path], "vagrant box add", env=env, timeout=600)


def _prepare_provisioning(vlab: VLab, debs: list[str], hacluster_pw: str, fence_key: str) -> None:
    """What the Vagrantfile's file provisioner uploads to each node."""
    d = vlab.path("provision")
    os.makedirs(d, mode=0o700, exist_ok=True)
    for deb in debs:
        shutil.copy(deb, d)
    shutil.copy(fence_key, os.path.join(d, "fence_xvm.key"))
    with open(hacluster_pw, encoding="ascii") as f:
        line = f"hacluster:{f.read().strip()}\n"
    with open(os.open(os.path.join(d, "hacluster.chpasswd"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              "w", encoding="ascii") as f:
        f.write(line)
    with open(os.path.join(d, "hosts"), "w", encoding="ascii") as f:
        f.writelines(f"{vlab.address('cluster', n)} {n}  # mailha-vlab\n" for n in vlab.node_names())


def _secret_file(path: str, nbytes: int, text: bool) -> str:
    if not os.path.exists(path):
        import secrets
        data = secrets.token_urlsafe(nbytes).encode() if text else secrets.token_bytes(nbytes)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(data)
    return path


def vagrant_up(vlab: VLab, box: str) -> None:
    """`vagrant up NODE`, one process per node.  One `vagrant up` of every node (its own
    parallel mode) was seen to stall for minutes after defining the domains; separate processes
    boot the VMs side by side.  The first node goes alone until it has uploaded the box into
    the pool: two uploads of the same volume at once gave a VM a corrupt root file system."""
    children: list[tuple[str, str, subprocess.Popen]] = []
    deadline = time.monotonic() + VAGRANT_UP_TIMEOUT
    failed = []
    try:
        for index, node in enumerate(vlab.node_names()):
            log = os.path.join(vlab.logs, f"vagrant-up-{node}.log")
            with open(log, "wb") as out:
                child = subprocess.Popen(["vagrant", "up", "--provider=libvirt", node], cwd=vlab.vagrant_dir,
                                         env=vlab.vagrant_env(box), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
            children.append((node, log, child))
            if index == 0:
                def uploaded() -> bool:
                    with open(log, "rb") as f:
                        return b"snapshot of base box volume" in f.read() or child.poll() is not None
                wait_until(uploaded, deadline, 0.5, 2.0)
        for node, log, child in children:
            try:
                rc: object = child.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                rc = "timed out"
            if rc != 0:
                failed.append(f"{node} ({rc}, see {log})")
    finally:
        # Interrupted (a signal, a timeout): no vagrant may go on defining VMs while down() runs.
        end_children([child for _, _, child in children])
    if failed:
        raise LabError(f"vagrant up failed for {', '.join(failed)}; serial consoles in {vlab.logs}")


def end_children(children: list[subprocess.Popen], grace: float = VAGRANT_STOP_GRACE) -> None:
    """End the children still running and everything they started (vagrant runs ruby and
    virsh): SIGTERM, which vagrant answers by cleaning up, then SIGKILL; by PID."""
    running = [child.pid for child in children if child.poll() is None]
    if running:
        proc.stop(running, time.monotonic() + grace)
    for child in children:
        child.wait()


def up(vlab: VLab, debs: list[str]) -> dict[str, float]:
    """Build (or take) the box, bring the VMs up, install mailha, set the cluster up with
    fencing. On failure everything made is removed (down), then the error is raised."""
    check_root()
    if ns_lifecycle.liveness(Layout(root=lab_root())) in ("live", "building"):
        raise LabError("the namespace lab is up: one lab at a time (mailha lab down first)")
    if liveness(vlab) != "none":
        raise LabError(f"a Vagrant lab is recorded in {vlab.state_file}: run down first")
    if not debs:
        raise LabError("no mailha .debs to install (packaging/build deb makes them)")
    figures: dict[str, float] = {}
    shutil.rmtree(vlab.logs, ignore_errors=True)
    os.makedirs(vlab.logs, exist_ok=True)
    host.write_state(vlab, {"nodes": vlab.nodes, "vagrant_dir": vlab.vagrant_dir, "token_ms": vlab.token_ms,
                            "started": time.time()})
    try:
        with timed(figures, "box"):
            path, box = build_box(vlab)
            add_box(vlab, path, box)
            host.record(vlab, "box", box)
        with timed(figures, "host"):
            host.start_daemons(vlab)
            host.define_libvirt_objects(vlab)
            fence_key = _secret_file(vlab.path("fence_xvm.key"), 512, text=False)
            host.start_fence_virtd(vlab, fence_key)
            hacluster_pw = _secret_file(vlab.path("hacluster.pw"), 18, text=True)
            _prepare_provisioning(vlab, debs, hacluster_pw, fence_key)
            nodes.write_ssh_config(vlab)
        with timed(figures, "vagrant_up"):
            vagrant_up(vlab, box)
        with timed(figures, "cluster_setup"):
            for name, step in cluster.setup_steps(vlab, hacluster_pw):
                with timed(figures, f"setup_{name}"):
                    step()
        host.record(vlab, "ready", True)
        host.record(vlab, "figures", figures)
    except BaseException:
        down(vlab)
        raise
    return figures


def down(vlab: VLab) -> dict[str, object]:
    """Remove everything the lab made, whatever state it is in: VMs, networks, pool and volumes,
    fence_virtd, the client's Postfix, leftover qemu and dnsmasq processes, the ssh connections,
    the daemons it started; the run directory but its logs.  Only the cached box stays."""
    check_root()
    started = time.monotonic()
    st = host.read_state(vlab) or {}
    report: dict[str, object] = {}
    nodes.close_connections(vlab)
    if host.libvirt_answers():
        if os.path.isdir(vlab.path("vagrant-machines")):
            env = vlab.vagrant_env(st.get("box", BOX_PREFIX))
            host.run(["vagrant", "destroy", "--force"], "vagrant destroy", env=env, cwd=vlab.vagrant_dir,
                     timeout=VAGRANT_DESTROY_TIMEOUT, check=False)
        report["not_removed"] = host.remove_libvirt_objects(vlab, st)
    client.stop_mta(st)
    host.stop_fence_virtd(st)
    report["leftovers_killed"] = host.stop_leftovers()
    host.stop_daemons(st)
    for entry in glob.glob(vlab.path("*")):
        if entry != vlab.logs:
            _remove(entry)
    report["seconds"] = round(time.monotonic() - started, 1)
    return report


def _remove(path: str) -> None:
    """A file or a tree, whatever of it is still there (an interrupted up may be removing its
    own pieces at the same moment)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)  # an entry that vanished meanwhile is no error...
        if os.path.lexists(path):
            shutil.rmtree(path)                  # ...what keeps a tree in place is
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
