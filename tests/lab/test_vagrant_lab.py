"""The Vagrant lab's host side, checked without VMs: isolation of its networks, what fence_virtd
listens on, which processes a tear-down may end, the topology's template values, the CLI's
choice of node count, and the harness switch."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from mailha import templates
from mailha.lab.vagrant import cluster, host, lifecycle
from mailha.lab.vagrant.layout import NETWORKS, VLab


@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_every_network_is_isolated_with_the_host_on_it(network):
    root = ET.fromstring(host.network_xml(VLab(nodes=3), network))
    assert root.find("forward") is None  # no NAT, no routing: nothing a VM sends leaves the host
    assert root.find("ip").get("address") == f"{NETWORKS[network][0]}.1"
    assert root.find("bridge").get("name") == NETWORKS[network][1]


def test_the_management_network_leases_each_node_its_fixed_address():
    vlab = VLab(nodes=3)
    hosts = ET.fromstring(host.network_xml(vlab, "mgmt")).findall("./ip/dhcp/host")
    assert [(h.get("mac"), h.get("ip")) for h in hosts] == [
        ("52:54:00:4d:48:01", "10.231.0.11"), ("52:54:00:4d:48:02", "10.231.0.12"),
        ("52:54:00:4d:48:03", "10.231.0.13")]


def test_fence_virtd_listens_on_the_cluster_bridge_only_with_the_lab_key():
    conf = host.fence_virtd_conf(VLab(), "/var/tmp/mailha-vlab/fence_xvm.key")
    assert 'interface = "mhvl-cl";' in conf
    assert 'key_file = "/var/tmp/mailha-vlab/fence_xvm.key";' in conf
    assert 'uri = "qemu:///system";' in conf


@pytest.mark.parametrize("argv, ours", [
    (("/usr/bin/qemu-system-x86_64", "-name", "guest=mailha-vlab_node1,debug-threads=on"), True),
    (("/usr/sbin/dnsmasq", "--conf-file=/var/lib/libvirt/dnsmasq/mailha-vlab-mgmt.conf"), True),
    (("/usr/bin/qemu-system-x86_64", "-name", "guest=other_node1,debug-threads=on"), False),
    (("/usr/sbin/dnsmasq", "--conf-file=/var/lib/libvirt/dnsmasq/default.conf"), False),
    (("/usr/bin/vim", "guest=mailha-vlab_node1"), False),
    ((), False),
])
def test_a_tear_down_ends_only_processes_named_for_this_lab(argv, ours):
    assert bool(host._ours(argv)) is ours


def test_the_directory_template_is_filled_completely_and_names_the_lab_group():
    vlab = VLab(vagrant_dir=str(__import__("pathlib").Path(__file__).resolve().parents[2] / "vagrant"))
    commands = templates.pcs_commands(templates.fill(cluster.template(vlab, "directory.pcs"),
                                                     cluster.directory_values()))
    from mailha.lab import services
    assert [c[3] for c in commands] == [services.VIP_RSC, services.FS_RSC, services.LDAP_RSC]
    assert all(c[-2:] == ["--group", services.GROUP] for c in commands)
    assert "device=/dev/vdb" in commands[1] and "ip=10.233.0.100" in commands[0]


def test_a_partial_record_is_not_a_lab_to_test_on(tmp_path):
    vlab = VLab(run_dir=str(tmp_path))
    assert lifecycle.liveness(vlab) == "none" and lifecycle.recorded(str(tmp_path)) is None
    host.write_state(vlab, {"nodes": 2, "vagrant_dir": "/src/vagrant", "token_ms": 5000})
    assert lifecycle.liveness(vlab) == "partial" and lifecycle.recorded(str(tmp_path)) is None
    host.record(vlab, "ready", True)
    assert lifecycle.recorded(str(tmp_path)) == VLab(nodes=2, run_dir=str(tmp_path), vagrant_dir="/src/vagrant")


def test_vagrant_sees_the_lab_settings_and_none_of_the_callers(monkeypatch):
    monkeypatch.setenv("VAGRANT_CWD", "/elsewhere")
    monkeypatch.setenv("MAILHA_VLAB_NODES", "7")
    env = VLab(nodes=2, run_dir="/r", cache_dir="/c").vagrant_env("mailha/bookworm-abc")
    assert "VAGRANT_CWD" not in env
    assert env["MAILHA_VLAB_NODES"] == "2" and env["MAILHA_VLAB_BOX"] == "mailha/bookworm-abc"
    assert env["VAGRANT_HOME"] == "/c/vagrant.d" and env["VAGRANT_DOTFILE_PATH"] == "/r/vagrant-machines"
