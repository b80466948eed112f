"""Each lab node is its own machine: namespaces, private dirs, sysrq masked, quorum, fencing."""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from mailha.lab import procs, state
from mailha.lab.layout import FENCE_AGENT_PATH, PRIVATE_DIRS, SUBNET_PREFIX

pytestmark = pytest.mark.cluster

PRIVATE_MOUNTS = ["/run", "/dev/shm", "/tmp", *PRIVATE_DIRS]


def test_each_node_has_its_own_hostname_and_pid_namespace(harness):
    for node, host in harness.hosts.items():
        assert host.check_output("hostname") == node
        assert "mailha.lab.node_init" in host.check_output("tr '\\0' ' ' < /proc/1/cmdline")
        # Only this node's daemons are visible: one pacemakerd, one corosync.
        assert host.check_output("pgrep -c -x pacemakerd") == "1"
        assert host.check_output("pgrep -c -x corosync") == "1"


def test_run_shm_tmp_and_cluster_dirs_are_private(harness):
    first, second = harness.nodes[:2]
    for node, host in harness.hosts.items():
        for path in PRIVATE_MOUNTS:
            assert host.run("findmnt -n %s", path).rc == 0, f"{path} is not a private mount on {node}"
    marker = f"/run/mailha-lab-test-{os.getpid()}"
    harness.hosts[first].check_output("touch %s", marker)
    try:
        assert harness.hosts[first].file(marker).exists
        assert not harness.hosts[second].file(marker).exists
        assert not os.path.exists(marker)
    finally:
        harness.hosts[first].run("rm -f %s", marker)
    # Each node has its own corosync ring identity in /var/lib/corosync and its own CIB copy.
    cibs = {n: h.file("/var/lib/pacemaker/cib/cib.xml").exists for n, h in harness.hosts.items()}
    assert all(cibs.values()), cibs


def test_sysrq_trigger_is_masked_in_every_node(harness):
    """A Pacemaker panic writes to /proc/sysrq-trigger: in a node that must reach /dev/null, not the host."""
    host_has_sysrq = os.path.exists("/proc/sysrq-trigger")
    for node, host in harness.hosts.items():
        exists = host.file("/proc/sysrq-trigger").exists
        if host_has_sysrq:
            assert exists
        if exists:
            source = host.check_output("findmnt -n -o SOURCE /proc/sysrq-trigger")
            assert "null" in source, f"{node}: /proc/sysrq-trigger is not masked ({source!r})"


def test_lab_network_is_invisible_in_the_host_namespace(harness):
    host_addrs = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert f"{SUBNET_PREFIX}." not in host_addrs
    assert "p-node" not in host_links and "p-client" not in host_links
    for node, host in harness.hosts.items():
        assert sorted(host.interface.names()) == ["eth0", "lo"]
    assert harness.client.interface("eth0").addresses[0] == harness.layout.client_address


def test_quorum_is_plain_votequorum_of_three(harness):
    out = harness.hosts[harness.nodes[0]].check_output("corosync-quorumtool -s")
    assert "Quorate:          Yes" in out
    assert f"Expected votes:   {len(harness.nodes)}" in out
    assert "2Node" not in out and "WaitForAll" not in out


def test_fence_agent_metadata_is_valid_and_complete(harness):
    host = harness.hosts[harness.nodes[0]]
    root = ET.fromstring(host.check_output("%s -o metadata", FENCE_AGENT_PATH))
    assert root.tag == "resource-agent" and root.get("name") == "fence_mailha_lab"
    actions = {a.get("name") for a in root.iterfind("./actions/action")}
    assert {"on", "off", "reboot", "status", "list", "monitor", "metadata"} <= actions
    params = {p.get("name") for p in root.iterfind("./parameters/parameter")}
    assert {"action", "plug", "port"} <= params
    assert host.run("stonith_admin --list %s", harness.nodes[1]).stdout.startswith("fence-lab")
    listed = host.check_output("%s -o list", FENCE_AGENT_PATH).split()
    assert listed == [f"{n},{n}" for n in harness.nodes]


def test_fence_agent_powers_off_for_real_and_status_tells_the_truth(harness):
    caller, victim = harness.nodes[0], harness.nodes[-1]
    host = harness.hosts[caller]
    harness.restore()
    # fenced-style call: options on stdin.
    on = host.run("printf 'action=status\\nplug=%s\\n' | %s", victim, FENCE_AGENT_PATH)
    assert on.rc == 0 and "ON" in on.stdout
    rec = state.read(harness.layout)["nodes"][victim]
    off = host.run("%s -o off -n %s", FENCE_AGENT_PATH, victim)
    try:
        assert off.rc == 0, off.stderr
        # Success was reported only once the node was really gone: nothing left in its PID namespace.
        assert procs.pids_in("pid", {rec["pidns"]}) == []
        assert not procs.is_alive(rec["pid"], rec["start"])
        assert host.run("%s -o status -n %s", FENCE_AGENT_PATH, victim).rc == 2
    finally:
        harness.restore()  # the cluster fences (reboots) the lost node; wait until it is back
    assert host.run("%s -o status -n %s", FENCE_AGENT_PATH, victim).rc == 0
    booted = state.read(harness.layout)["nodes"][victim]
    assert (booted["pid"], booted["start"]) != (rec["pid"], rec["start"])  # a new boot
