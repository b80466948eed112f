"""What the Vagrant lab makes on the host: daemons, libvirt networks and pool, the shared disk.

Everything made is recorded in the lab's state before or as it is made, so that
:func:`mailha.lab.vagrant.lifecycle.down` undoes it after any failure.  Processes are recorded
by PID and start time and ended by PID (:func:`mailha.proc.stop`), never by name: the daemons
this lab started, ``fence_virtd``, and what can outlive a killed libvirtd (a domain's qemu, a
network's dnsmasq), found by the names only this lab gives.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from xml.sax.saxutils import escape

from mailha import proc
from mailha.lab import procs
from mailha.lab.preflight import LabError
from mailha.lab.vagrant.layout import FENCE_MULTICAST, LIBVIRT_URI, NETWORKS, PREFIX, SHARED_DISKS, SHARED_SIZE, VLab
from mailha.ocf.budget import wait_until

#: libvirt's daemons in the order they start (virtlogd first: libvirtd's qemu logs go through it).
DAEMONS = ("virtlogd", "libvirtd")
DAEMON_STOP_TIMEOUT = 15.0


def without_kvm(argv: list[str], no_kvm: str, kvm: str = "/dev/kvm") -> list[str]:
    """*argv* in its own mount namespace, where *kvm* is *no_kvm*: a device node no user but root
    may open.  The lab emulates (driver qemu) whatever KVM there is.  Where /dev/kvm exists but
    cannot run a guest (this kind of machine's PVM), libvirt 9 sees the user QEMU runs as
    (libvirt-qemu) able to open /dev/kvm while its probe of QEMU found no KVM: it takes its
    capability cache for stale and probes QEMU again on every call, 15 to 60 s per call on two
    busy cores, minutes per `vagrant up`.  (/dev/null in its place is open to every user: the
    same.)  A device node, because libvirt copies /dev/kvm into each QEMU's own /dev, and a
    regular file mounted there it cannot move ("Unable to move ... mount to /dev/kvm")."""
    q_kvm, q_no_kvm = shlex.quote(kvm), shlex.quote(no_kvm)
    # /dev/null's numbers, mode 000: the node is never opened (QEMU emulates)
    hide = (f"if [ -e {q_kvm} ]; then rm -f {q_no_kvm} && mknod -m 000 {q_no_kvm} c 1 3"
            f" && mount --bind {q_no_kvm} {q_kvm}; fi")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{hide} && exec "$@"', "sh", *argv]


def daemon_argv(vlab: VLab, name: str) -> list[str]:
    return ["virtlogd", "-d"] if name == "virtlogd" else without_kvm(["libvirtd", "-d"], vlab.path("no-kvm"))


# ----------------------------------------------------------------- state

def read_state(vlab: VLab) -> dict | None:
    try:
        with open(vlab.state_file, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def write_state(vlab: VLab, st: dict) -> None:
    tmp = vlab.state_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(st, f, indent=1)
    os.replace(tmp, vlab.state_file)


def record(vlab: VLab, key: str, value: object) -> None:
    st = read_state(vlab) or {}
    st[key] = value
    write_state(vlab, st)


def process_record(pid: int) -> dict:
    """What identifies a process the lab started, for stop_recorded (its PID and start time)."""
    start = procs.start_time(pid)
    if start is None:
        raise LabError(f"process {pid} ended right after it started")
    return {"pid": pid, "start": start}


def stop_recorded(rec: dict | None, timeout: float = DAEMON_STOP_TIMEOUT) -> None:
    if rec and procs.is_alive(rec.get("pid"), rec.get("start")):
        proc.stop([procs.recorded(rec["pid"], rec["start"])], time.monotonic() + timeout)


# ----------------------------------------------------------------- commands

def run(argv: list[str], what: str, timeout: float = 120, input: str | None = None,
        check: bool = True, env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    try:
        out = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise LabError(f"{what}: timed out after {timeout:.0f}s ({' '.join(argv[:3])} ...)") from None
    except FileNotFoundError:
        raise LabError(f"{what}: {argv[0]} is not installed (./run vagrant-tests installs it)") from None
    if check and out.returncode != 0:
        raise LabError(f"{what} failed: {(out.stderr or out.stdout).strip()[-1500:]}")
    return out


def virsh(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    return run(["virsh", "-q", "-c", LIBVIRT_URI, *args], f"virsh {args[0]}", timeout=timeout, check=check)


def libvirt_answers() -> bool:
    try:
        return subprocess.run(["virsh", "-c", LIBVIRT_URI, "version"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# ----------------------------------------------------------------- daemons

def _daemon_pid(name: str) -> int | None:
    """The PID a running daemon wrote (Debian's pid files), checked against its command name."""
    pid = proc.read_pid(f"/run/{name}.pid")
    info = proc.read_process(pid, need_argv=False) if pid else None
    return pid if info is not None and info.comm == name[:15] else None


def start_daemons(vlab: VLab) -> None:
    """Start virtlogd and libvirtd unless they run (a service manager's or an earlier run's);
    only the ones started here are recorded, so only they are stopped by down()."""
    for name in DAEMONS:
        if _daemon_pid(name):
            continue
        run(daemon_argv(vlab, name), f"starting {name}", timeout=30)
        if not wait_until(lambda: _daemon_pid(name) is not None, time.monotonic() + 15, 0.05, 0.5):
            raise LabError(f"{name} did not write /run/{name}.pid within 15s")
        st = read_state(vlab) or {}
        st.setdefault("daemons", {})[name] = process_record(_daemon_pid(name))  # type: ignore[arg-type]
        write_state(vlab, st)
    if not wait_until(libvirt_answers, time.monotonic() + 30, 0.1, 1.0):
        raise LabError(f"libvirtd does not answer on {LIBVIRT_URI}")


def stop_daemons(st: dict) -> None:
    for name in reversed(DAEMONS):
        stop_recorded((st.get("daemons") or {}).get(name))


# ----------------------------------------------------------------- libvirt objects

def network_xml(vlab: VLab, network: str) -> str:
    """An isolated network (no <forward>): the VMs reach each other and this host, nothing else."""
    net, bridge = NETWORKS[network]
    dhcp = ""
    if network == "mgmt":
        hosts = "".join(f"<host mac='{vlab.mac(n)}' ip='{vlab.address('mgmt', n)}' name='{n}'/>"
                        for n in vlab.node_names())
        dhcp = f"<dhcp><range start='{net}.100' end='{net}.199'/>{hosts}</dhcp>"
    return (f"<network><name>{PREFIX}-{network}</name><bridge name='{bridge}' stp='off'/>"
            f"<ip address='{net}.1' netmask='255.255.255.0'>{dhcp}</ip></network>")


def pool_xml(vlab: VLab) -> str:
    return (f"<pool type='dir'><name>{PREFIX}</name>"
            f"<target><path>{escape(vlab.pool_dir)}</path></target></pool>")


def define_libvirt_objects(vlab: VLab) -> None:
    """The three networks and the storage pool (with the shared disks), recorded first."""
    record(vlab, "libvirt", {"networks": [f"{PREFIX}-{n}" for n in NETWORKS], "pool": PREFIX})
    for network in NETWORKS:
        path = vlab.path(f"net-{network}.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(network_xml(vlab, network))
        virsh("net-create", path)     # transient: gone with libvirtd, never autostarted
    os.makedirs(vlab.pool_dir, mode=0o711, exist_ok=True)
    path = vlab.path("pool.xml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(pool_xml(vlab))
    virsh("pool-create", path)
    _make_shared_disks(vlab)
    virsh("pool-refresh", PREFIX)


def _make_shared_disks(vlab: VLab) -> None:
    """A raw ext4 image per partition that every node attaches (`shareable`); the cluster mounts
    each on one node."""
    for partition, (volume, _device) in SHARED_DISKS.items():
        image = os.path.join(vlab.pool_dir, volume)
        with open(image, "wb") as f:
            f.truncate(SHARED_SIZE)
        run(["mkfs.ext4", "-q", "-F", "-L", f"mailha-{partition}", image], f"making the {partition} file system")


def domains() -> list[str]:
    out = virsh("list", "--all", "--name", check=False)
    return [d for d in out.stdout.split() if d.startswith(f"{PREFIX}_")]


def remove_libvirt_objects(vlab: VLab, st: dict) -> list[str]:
    """Every domain, network and pool of this lab, whoever made them; what could not be removed."""
    problems = []
    for domain in domains():
        virsh("destroy", domain, check=False)
        out = virsh("undefine", domain, "--remove-all-storage", check=False)
        if out.returncode != 0:
            problems.append(f"domain {domain}: {out.stderr.strip()}")
    libvirt = st.get("libvirt") or {}
    for network in libvirt.get("networks", []):
        if virsh("net-info", network, check=False).returncode == 0:
            virsh("net-destroy", network, check=False)
            virsh("net-undefine", network, check=False)
    pool = libvirt.get("pool")
    if pool and virsh("pool-info", pool, check=False).returncode == 0:
        virsh("pool-destroy", pool, check=False)
        virsh("pool-undefine", pool, check=False)
    return problems


# ----------------------------------------------------------------- fence_virtd

def fence_virtd_conf(vlab: VLab, key_file: str) -> str:
    """fence_virtd answering fence_xvm's multicast on the cluster network, acting through libvirt."""
    return f"""fence_virtd {{
    listener = "multicast";
    backend = "libvirt";
    module_path = "/usr/lib/x86_64-linux-gnu/fence-virt";
}}
listeners {{
    multicast {{
        key_file = "{key_file}";
        address = "{FENCE_MULTICAST}";
        interface = "{NETWORKS['cluster'][1]}";
        family = "ipv4";
        port = "1229";
    }}
}}
backends {{
    libvirt {{
        uri = "{LIBVIRT_URI}";
    }}
}}
"""


def start_fence_virtd(vlab: VLab, key_file: str) -> None:
    conf = vlab.path("fence_virtd.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(fence_virtd_conf(vlab, key_file))
    log = open(os.path.join(vlab.logs, "fence_virtd.log"), "ab")
    child = subprocess.Popen(["fence_virtd", "-F", "-w", "-f", conf, "-d", "1"], stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, start_new_session=True)
    log.close()
    record(vlab, "fence_virtd", process_record(child.pid))


def stop_fence_virtd(st: dict) -> None:
    stop_recorded(st.get("fence_virtd"), timeout=10)


# ----------------------------------------------------------------- leftovers

def _ours(argv: tuple[str, ...]) -> bool:
    """A qemu of this lab's domains or a dnsmasq of its networks (names only this lab uses)."""
    text = " ".join(argv)
    return ((argv[:1] and os.path.basename(argv[0]).startswith("qemu-system") and f"guest={PREFIX}_" in text)
            or (argv[:1] and os.path.basename(argv[0]) == "dnsmasq" and f"/{PREFIX}-" in text))


def lab_processes() -> list[proc.ProcInfo]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = proc.read_process(int(entry))
            if info is not None and info.argv and _ours(info.argv):
                found.append(info)
    return found


def vm_memory() -> dict[str, int]:
    """MiB of host memory (RSS) each running VM's qemu holds, by node."""
    import psutil
    out = {}
    for info in lab_processes():
        guest = next((a for a in info.argv if a.startswith(f"guest={PREFIX}_")), None)
        if guest and os.path.basename(info.argv[0]).startswith("qemu-system"):
            try:
                out[guest.split(",")[0].split("_", 1)[1]] = psutil.Process(info.pid).memory_info().rss // 2 ** 20
            except psutil.Error:
                continue
    return out


def stop_leftovers(timeout: float = 20) -> list[int]:
    """End what outlived libvirt's own clean-up; the PIDs that were still there."""
    left = lab_processes()
    if left:
        proc.stop(left, time.monotonic() + timeout)
    return [p.pid for p in left]
