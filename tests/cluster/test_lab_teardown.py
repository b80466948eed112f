"""`mailha lab down` leaves nothing behind, also after the lab runner crashed; clear errors.

Runs its own labs: it needs no lab to be up when it starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from mailha.lab import gwservices, lifecycle, power, procs, services, state
from mailha.lab.layout import NETNS_PREFIX, Layout, lab_root

pytestmark = pytest.mark.cluster

PY = "/usr/bin/python3"


@pytest.fixture
def layout():
    layout = Layout(root=lab_root())
    if state.read(layout) is not None:
        pytest.fail(f"a lab is up ({layout.state_file}): take it down before the teardown tests")
    yield layout
    lifecycle.down(layout)  # whatever a failed test left


def cli(*args: str, env: dict[str, str] | None = None, user: str | None = None) -> subprocess.CompletedProcess:
    prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user else []
    full_env = {"PATH": os.environ["PATH"], "PYTHONPATH": power.package_parent(), **(env or {})}
    return subprocess.run([*prefix, PY, "-m", "mailha.lab.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=300)


def made_by(layout: Layout) -> dict:
    """Everything the recorded lab made, to check afterwards."""
    st = state.read(layout)
    return {"netns": st["netns"], "loop": st["loop"], "image": layout.image,
            "pidns": [n["pidns"] for n in st["nodes"].values() if n.get("pidns")],
            "pids": [(n["pid"], n["start"]) for n in st["nodes"].values() if n.get("pid")]
            + ([(st["labd"]["pid"], st["labd"]["start"])] if st.get("labd") else [])
            + [(p["pid"], p["start"]) for p in (st.get("postfix") or {}).values()],
            "fence_agent": st.get("fence_agent"),
            "gw_loops": [d for d in (st.get("images") or {}).values() if d],
            "gw_emulator": st.get("gw_emulator_paths") or []}


def assert_nothing_left(layout: Layout, made: dict) -> None:
    netns = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    assert [n for n in netns if n.startswith(NETNS_PREFIX)] == []
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=True).stdout
    assert layout.root not in loops and (made["loop"] or "/dev/none") + ":" not in loops
    assert not any(dev + ":" in loops for dev in made.get("gw_loops", []))
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        mounts = f.read()
    assert layout.root not in mounts and f"/run/netns/{NETNS_PREFIX}" not in mounts
    assert procs.pids_in("pid", set(made["pidns"])) == []
    assert not any(procs.is_alive(pid, start) for pid, start in made["pids"])
    if made["fence_agent"]:
        assert not os.path.exists(made["fence_agent"])
    assert not any(os.path.lexists(p) for p in made.get("gw_emulator", []))
    assert not os.path.exists(layout.root)


def test_down_removes_every_namespace_loop_mount_and_process(layout):
    lifecycle.up(layout)
    services.deploy(layout, "openldap")  # a Filesystem mount inside a node, slapd running
    gwservices.deploy(layout)  # two more images and mounts, the emulator, Postfix on every node
    made = made_by(layout)
    assert made["loop"] and len(made["pidns"]) == layout.nodes
    assert len(made["gw_loops"]) == 2 and len(made["pids"]) == 2 * layout.nodes + 1
    refused = cli("up")
    assert refused.returncode == 2 and "already up" in refused.stderr
    done = cli("down")
    assert done.returncode == 0, done.stderr
    assert_nothing_left(layout, made)


def test_down_cleans_up_after_the_lab_runner_and_power_controller_crashed(layout):
    runner = subprocess.Popen([PY, "-m", "mailha.lab.cli", "up"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={"PATH": os.environ["PATH"],
                                                               "PYTHONPATH": power.package_parent()})
    try:
        def nodes_booted():
            st = state.read(layout)
            return st and st.get("labd") and len([n for n in st["nodes"].values() if n.get("pid")]) == layout.nodes
        deadline = time.monotonic() + 60
        while not nodes_booted() and time.monotonic() < deadline and runner.poll() is None:
            time.sleep(0.1)
        assert nodes_booted(), "the lab never got as far as booting its nodes"
    finally:
        runner.kill()  # the crash: no finally blocks, no cleanup of its own
        runner.wait()
    made = made_by(layout)
    st = state.read(layout)
    os.kill(st["labd"]["pid"], signal.SIGKILL)  # and the power controller dies with it
    refused = cli("up")
    assert refused.returncode == 2 and "mailha lab down" in refused.stderr
    done = cli("down")
    assert done.returncode == 0, done.stderr
    assert_nothing_left(layout, made)


def test_clear_error_when_not_root(layout):
    out = cli("up", user="65534")  # nobody
    assert out.returncode == 2
    assert "needs root" in out.stderr and "Traceback" not in out.stderr
    assert state.read(layout) is None


def test_clear_error_names_missing_packages(layout, tmp_path):
    # Only python and the lab's own helpers reachable: every cluster tool is "missing".
    (tmp_path / "python3").symlink_to(sys.executable)
    out = cli("up", env={"PATH": str(tmp_path)})
    assert out.returncode == 2
    for package in ("corosync", "pacemaker", "pacemaker-cli-utils", "iproute2"):
        assert package in out.stderr
    assert "apt-get install" in out.stderr
    assert state.read(layout) is None and not os.path.exists(f"/run/netns/{NETNS_PREFIX}sw")


def test_up_after_a_reboot_replaces_the_recorded_lab_without_signalling_its_old_pids(layout):
    # What a machine (or CI image) looks like after a reboot with a lab recorded as up: the
    # record's PIDs now belong to unrelated processes. Here one such process is this decoy.
    decoy = subprocess.Popen([PY, "-c", "import time; time.sleep(300)"])
    try:
        old = {"pid": decoy.pid, "start": procs.start_time(decoy.pid)}
        with state.locked(layout, create=True) as st:
            st.update(boot_id="an-earlier-boot", ready=True, labd=old, postfix={"node1": old},
                      nodes={n: dict(old, pidns="pid:[1]") for n in layout.node_names()})
        out = cli("up")
        assert out.returncode == 0, out.stderr
        assert "removed a lab left" in out.stdout and "before the machine last booted" in out.stdout
        assert decoy.poll() is None, "a PID recorded before the reboot was signalled"
        assert lifecycle.liveness(layout) == "live" and state.from_this_boot(state.read(layout))
    finally:
        decoy.kill()
        decoy.wait()
