"""The Vagrant lab's host side, checked without VMs: isolation of its networks, what fence_virtd
listens on, which processes a tear-down may end, the topology's template values, the CLI's
choice of node count, and the harness switch."""

from __future__ import annotations

import base64
import os
import pathlib
import re
import signal
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest

from mailha import templates
from mailha.lab import crmmon
from mailha.lab import gwservices as gws
from mailha.lab import msgservices as mss
from mailha.lab import services
from mailha.lab.vagrant import client, cluster, drill, host, lifecycle
from mailha.lab.vagrant.layout import GUEST_CPUS, GUEST_MEMORY_MIB, MESSAGING_VIP, NETWORKS, SHARED_DISKS, VLab


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


VAGRANT_DIR = pathlib.Path(__file__).resolve().parents[2] / "vagrant"


def test_the_directory_template_is_filled_completely_and_names_the_lab_group():
    vlab = VLab(vagrant_dir=str(VAGRANT_DIR))
    commands = templates.pcs_commands(templates.fill(cluster.template(vlab, "directory.pcs"),
                                                     cluster.directory_values()))
    assert [c[3] for c in commands] == [services.VIP_RSC, services.FS_RSC, services.LDAP_RSC]
    assert all(c[-2:] == ["--group", services.GROUP] for c in commands)
    assert "device=/dev/vdb" in commands[1] and "ip=10.233.0.100" in commands[0]


def test_the_groupwise_template_is_filled_completely_with_the_names_the_tests_use():
    vlab = VLab(vagrant_dir=str(VAGRANT_DIR))
    commands = templates.pcs_commands(templates.fill(cluster.template(vlab, "groupwise.pcs"),
                                                     cluster.groupwise_values(vlab)))
    members = {}
    for c in commands:
        if "--group" in c:
            members.setdefault(c[-1], []).append(c[3])
    assert members == {gws.GWIA_GROUP: [gws.GWIA_IP_RSC, gws.GWIA_FS_RSC, gws.GWIA_RSC],
                       gws.POA_GROUP: [gws.POA_IP_RSC, gws.POA_FS_RSC, gws.POA_RSC]}
    gw = cluster.groupwise()
    gwia = next(c for c in commands if c[3] == gws.GWIA_RSC)
    po = next(c for c in commands if c[3] == gws.POA_RSC)
    assert f"domain_dir={gw.domain_dir}" in gwia and f"ip_address={gw.gwia_ip}" in gwia
    assert f"post_office_dir={gw.po_dir}" in po and f"ip_address={gw.poa_ip}" in po
    # The tests expect each group first on the head of its failover list.
    for group, order in gws.FAILOVER.items():
        rule = next(c for c in commands if c[1:3] == ["constraint", "location"] and c[3] == group)
        scores = dict(arg.split("=") for arg in rule[5:])
        assert sorted(scores, key=lambda n: -int(scores[n])) == list(order)


def test_the_messaging_template_is_filled_completely_with_the_names_the_tests_use():
    vlab = VLab(vagrant_dir=str(VAGRANT_DIR))
    commands = templates.pcs_commands(templates.fill(cluster.template(vlab, "messaging.pcs"),
                                                     cluster.messaging_values()))
    created = [c for c in commands if c[1:3] == ["resource", "create"]]
    assert [c[3] for c in created] == list(mss.MEMBERS)
    assert all(c[-2:] == ["--group", mss.GROUP] for c in created)
    by_id = {c[3]: c for c in created}
    assert f"ip={MESSAGING_VIP}" in by_id[mss.IP_RSC] and f"device={SHARED_DISKS['msg'][1]}" in by_id[mss.FS_RSC]
    assert f"config_dir={cluster.MESSAGING_MOUNT}/etc/dirsrv/slapd-{cluster.MESSAGING_INSTANCE}" in by_id[mss.LDAP_RSC]
    for rsc in (mss.CORE_RSC, mss.SVC_RSC, mss.MTA_RSC):
        assert f"server_root={cluster.MESSAGING_MOUNT}/SUNWmsgsr" in by_id[rsc]
    # The test user's logins and the migration threshold the tests count on
    assert [c for c in commands if c[1:3] == ["resource", "meta"]] == [
        ["pcs", "resource", "meta", mss.GROUP, f"migration-threshold={mss.MIGRATION_THRESHOLD}",
         f"failure-timeout={mss.FAILURE_TIMEOUT}"]]


def test_messaging_is_laid_out_through_the_node_that_mounts_it_and_its_user_added_from_the_host(
        monkeypatch, tmp_path):
    fake = FakeNodes()
    steps = []
    monkeypatch.setattr(cluster.nodes, "check", fake.check)
    monkeypatch.setattr(cluster.nodes, "powered_on", lambda vlab: vlab.node_names())
    monkeypatch.setattr(cluster, "node_postfix", lambda vlab, node: steps.append(("postfix", node)))

    def deploy_template(vlab, name, values, prepare, timeout):
        steps.append(("template", name))
        prepare[mss.GROUP]("node2")
        return {mss.GROUP: "node2"}
    monkeypatch.setattr(cluster, "deploy_template", deploy_template)
    monkeypatch.setattr(cluster, "add_test_user", lambda ds, uid, pw: steps.append(("user", ds.ldap_url, uid)))
    password = tmp_path / "dir-admin.pw"
    password.write_text("dm-secret")
    vlab = VLab(nodes=3, run_dir=str(tmp_path), vagrant_dir=str(VAGRANT_DIR))
    ms = cluster.deploy_messaging(vlab, str(password))

    assert steps == [("postfix", "node1"), ("postfix", "node2"), ("postfix", "node3"), ("template", "messaging.pcs"),
                     ("user", f"ldap://{MESSAGING_VIP}:389/", mss.TEST_USER)]
    adds = [n for n, argv, _ in fake.calls if "useradd" in " ".join(argv)]
    assert adds == vlab.node_names()  # every node, one uid
    assert all(f"--uid {cluster.MSG_UID} " in " ".join(argv) for _, argv, _ in fake.calls if "useradd" in " ".join(argv))
    laid_out = [(n, argv) for n, argv, _ in fake.calls if "mailha.sim" in " ".join(argv) or "create_389ds" in " ".join(argv)]
    assert {n for n, _ in laid_out} == {"node2"}
    assert [next(a for a in ("create_389ds", "adminsrv", "msgsrv") if a in " ".join(argv)) for _, argv in laid_out] == [
        "create_389ds", "adminsrv", "msgsrv"]
    assert all(f"--ip {MESSAGING_VIP}" in " ".join(argv) for _, argv in laid_out[1:])
    assert ("node2", cluster.NODE_ADMIN_PASSWORD_FILE) in fake.files
    assert (ms.ip, ms.server_root, ms.admin_root) == (MESSAGING_VIP, f"{cluster.MESSAGING_MOUNT}/SUNWmsgsr",
                                                      f"{cluster.MESSAGING_MOUNT}/serverroot")
    assert all("dm-secret" not in " ".join(argv) for _, argv, _ in fake.calls)


def test_a_nodes_postfix_is_restarted_only_when_its_settings_change_or_it_is_down(tmp_path):
    # Every topology's deploy configures it; a needless restart on a busy VM took over 2 minutes.
    bin_dir, conf, calls = tmp_path / "bin", tmp_path / "main.cf", tmp_path / "calls"
    bin_dir.mkdir()
    conf.write_text("")
    (bin_dir / "postconf").write_text(
        '#!/bin/sh\nif [ "$1" = -n ]; then sort "$CONF"; exit; fi\nshift\n'
        'for kv in "$@"; do k=${kv%% =*}; grep -v "^$k =" "$CONF" > "$CONF.new"; echo "$kv" >> "$CONF.new"; '
        'mv "$CONF.new" "$CONF"; done\n')
    (bin_dir / "systemctl").write_text('#!/bin/sh\necho "$*" >> "$CALLS"\n'
                                       '[ "$1" != is-active ] || [ -e "$CALLS.active" ]\n')
    for tool in ("postconf", "systemctl"):
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CONF": str(conf), "CALLS": str(calls)}

    def configure(*settings):
        calls.write_text("")
        subprocess.run(["sh", "-c", cluster.NODE_POSTFIX_SCRIPT, "sh", *settings], env=env, check=True)
        return [c for c in calls.read_text().splitlines() if c.startswith("restart")]

    assert configure("inet_interfaces = 10.233.0.11") == ["restart postfix"]   # changed
    (tmp_path / "calls.active").write_text("")
    assert configure("inet_interfaces = 10.233.0.11") == []                    # same, running
    assert configure("inet_interfaces = 10.233.0.12") == ["restart postfix"]   # changed
    (tmp_path / "calls.active").unlink()
    assert configure("inet_interfaces = 10.233.0.12") == ["restart postfix"]   # same, down


def test_the_clients_postfix_takes_mail_on_its_own_port_only_and_relays_it_to_the_vip(tmp_path):
    # The host's own Postfix may hold port 25: the lab's client must not need it.
    from mailha.lab import postfix
    base = str(tmp_path / "client-postfix")
    etc = postfix.configure_at(base, postfix.main_cf(base, interfaces="127.0.0.1", hostname="client.lab.test",
                                                     relay=MESSAGING_VIP, sending=True),
                               listen=f"127.0.0.1:{client.SUBMIT_PORT}")
    services_ = subprocess.run(["postconf", "-c", etc, "-M"], capture_output=True, text=True, check=True).stdout
    smtpd = [line.split()[0] for line in services_.splitlines() if line.split()[1:2] == ["inet"]]
    assert smtpd == [f"127.0.0.1:{client.SUBMIT_PORT}"]
    main = subprocess.run(["postconf", "-c", etc, "-h", "relayhost", "queue_directory"], capture_output=True,
                          text=True, check=True).stdout.split()
    assert main == [f"[{MESSAGING_VIP}]:25", f"{base}/spool"]


def test_a_tear_down_ends_the_clients_postfix_by_its_recorded_pid(monkeypatch, tmp_path):
    master = subprocess.Popen(["sleep", "60"])   # stands for the Postfix master the lab recorded
    vlab = VLab(run_dir=str(tmp_path))
    host.write_state(vlab, {"nodes": 2})
    host.record(vlab, client.STATE_KEY, host.process_record(master.pid))
    monkeypatch.setattr(lifecycle, "check_root", lambda: None)
    monkeypatch.setattr(lifecycle.host, "libvirt_answers", lambda: False)
    monkeypatch.setattr(lifecycle.host, "stop_leftovers", lambda: [])
    monkeypatch.setattr(lifecycle.nodes, "close_connections", lambda vlab: None)
    lifecycle.down(vlab)
    assert master.wait(timeout=10) == -signal.SIGTERM


def test_the_vagrantfile_attaches_the_shared_disks_the_lab_makes():
    text = (VAGRANT_DIR / "Vagrantfile").read_text()
    attached = dict(re.findall(r'"([\w.-]+\.raw)" => "(vd[a-z])"', text))
    assert attached == {volume: device[len("/dev/"):] for volume, device in SHARED_DISKS.values()}


def test_the_vagrantfile_sizes_each_vm_as_the_lab_does_when_run_by_hand():
    # The lab passes its sizes; `vagrant status` or `vagrant ssh` by hand falls back on these.
    text = (VAGRANT_DIR / "Vagrantfile").read_text()
    env = VLab().vagrant_env()
    for variable, value in (("MAILHA_VLAB_MEMORY", GUEST_MEMORY_MIB), ("MAILHA_VLAB_CPUS", GUEST_CPUS)):
        assert f'ENV.fetch("{variable}", "{value}")' in text and env[variable] == str(value)


def test_a_template_runs_storage_first_then_the_products_data_then_servers_then_constraints(monkeypatch):
    fake = FakeNodes()
    steps = []
    monkeypatch.setattr(cluster.nodes, "check", fake.check)
    monkeypatch.setattr(cluster.nodes, "powered_on", lambda vlab: vlab.node_names())
    monkeypatch.setattr(cluster, "status", lambda vlab: type("St", (), {"groups": {}})())
    placed = {gws.GWIA_GROUP: "node1", gws.POA_GROUP: "node2"}
    monkeypatch.setattr(cluster, "wait_groups", lambda vlab, members, timeout: steps.append(("wait", members))
                        or {g: placed[g] for g in members})
    monkeypatch.setattr(cluster, "_pcs", lambda vlab, node, argv, what, **kw: steps.append(("pcs", argv[2])))
    vlab = VLab(nodes=3, vagrant_dir=str(VAGRANT_DIR))
    where = cluster.deploy_template(vlab, "groupwise.pcs", cluster.groupwise_values(vlab),
                                    {g: (lambda g: lambda node: steps.append(("prepare", g, node)))(g)
                                     for g in gws.GROUPS}, timeout=1)
    assert where == placed
    assert steps == [
        ("pcs", gws.GWIA_IP_RSC), ("pcs", gws.GWIA_FS_RSC), ("pcs", gws.POA_IP_RSC), ("pcs", gws.POA_FS_RSC),
        ("wait", {gws.GWIA_GROUP: 2, gws.POA_GROUP: 2}),
        ("prepare", gws.GWIA_GROUP, "node1"), ("prepare", gws.POA_GROUP, "node2"),
        ("pcs", gws.GWIA_RSC), ("pcs", gws.POA_RSC), ("pcs", gws.GWIA_GROUP), ("pcs", gws.POA_GROUP),
        ("wait", {gws.GWIA_GROUP: 3, gws.POA_GROUP: 3})]


def _status(failures=(), fence_events=(), offline=(), stopped=False):
    """A crm_mon view of a 2-VM lab with the fence device and the directory group."""
    nodes = {n: crmmon.NodeState(n, n not in offline, False, False) for n in ("node1", "node2")}
    resources = {cluster.FENCE_DEVICE: crmmon.ResourceState(cluster.FENCE_DEVICE, "stonith:fence_xvm", "Started",
                                                            True, False, ["node2"])}
    for rsc in ("dir-ip", "dir-fs", "dir-ldap"):
        resources[rsc] = crmmon.ResourceState(rsc, "ocf", "Stopped" if stopped else "Started", not stopped, False,
                                              [] if stopped else ["node1"])
    return crmmon.ClusterStatus("node1", True, nodes, resources, {services.GROUP: ["dir-ip", "dir-fs", "dir-ldap"]},
                                list(failures), list(fence_events))


class StopDrill(Exception):
    """Raised where the drill would power a VM off: the test looks only at its preparation."""


def stop_drill(vlab):
    raise StopDrill


@pytest.mark.parametrize("status, constraints, expected", [
    (_status(), "<constraints/>", True),
    (_status(failures=[{"op_key": "dir-ldap_monitor_10000"}]), "<constraints/>", False),
    (_status(fence_events=[{"target": "node2"}]), "<constraints/>", False),
    (_status(offline=["node2"]), "<constraints/>", False),
    (_status(stopped=True), "<constraints/>", False),
    (None, "<constraints/>", False),
    (_status(), '<constraints><rsc_location id="cli-ban-dir-grp-on-node1" rsc="dir-grp"/></constraints>', False),
])
def test_the_drill_restores_only_a_cluster_that_is_not_healthy(monkeypatch, status, constraints, expected):
    monkeypatch.setattr(cluster, "try_status", lambda vlab: status)
    monkeypatch.setattr(cluster.nodes, "powered_on", lambda vlab: vlab.node_names())
    monkeypatch.setattr(cluster.nodes, "run", lambda vlab, node, argv, timeout=60: subprocess.CompletedProcess(
        argv, 0, constraints, ""))
    assert cluster.healthy(VLab(nodes=2)) is expected

    restored = []
    monkeypatch.setattr(drill.cluster, "deploy_directory", lambda vlab, pw: services.Directory(
        "389ds", "192.0.2.1", 389, "cn=probe", "/pw", "/pid"))
    monkeypatch.setattr(drill.cluster, "write_password", lambda path: path)
    monkeypatch.setattr(drill.cluster, "restore", lambda vlab: restored.append(True))
    monkeypatch.setattr(drill.cluster, "status", stop_drill)
    with pytest.raises(StopDrill):
        drill.power_off(VLab(nodes=2))
    assert restored == ([] if expected else [True])


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


class FakeNodes:
    """What cluster.setup asks of each node over ssh, with the files it installs decoded."""

    CONF = "totem {\n    cluster_name: mailha-vlab\n    token: 5000\n}\n"

    def __init__(self):
        self.calls: list[tuple[str, list[str], str | None]] = []
        self.files: dict[tuple[str, str], tuple[bytes, str, str]] = {}

    def check(self, vlab, node, argv, what, input=None, timeout=60):
        self.calls.append((node, list(argv), input))
        if argv == ["cat", cluster.COROSYNC_CONF]:
            return self.CONF
        if argv[:2] == ["sh", "-c"] and "base64 -d" in argv[2]:
            m = re.search(r"base64 -d > (\S+)\.new && chown (\S+) \S+ && chmod (\d+) ", argv[2])
            self.files[(node, m.group(1))] = (base64.b64decode(input), m.group(2), m.group(3))
        return ""


def test_cluster_setup_asks_no_pcsd_and_gives_every_node_the_same_configuration_and_keys(monkeypatch, tmp_path):
    # pcs cluster setup's default mode has each node's pcsd destroy an old cluster with a fixed 60 s
    # per request, which ran out on these VMs in 2 runs of 3: the lab uses the local only mode.
    fake = FakeNodes()
    monkeypatch.setattr(cluster.nodes, "check", fake.check)
    monkeypatch.setattr(cluster, "try_status", lambda vlab: type("St", (), {"dc": "node1"})())
    monkeypatch.setattr(cluster, "wait_ready", lambda vlab: None)
    password = tmp_path / "pw"
    password.write_text("s3cret-pw\n")
    vlab = VLab(nodes=3)
    cluster.setup(vlab, str(password))

    setups = [argv for _, argv, _ in fake.calls if argv[1:3] == ["cluster", "setup"]]
    assert len(setups) == 1 and setups[0][-2:] == ["--corosync_conf", cluster.COROSYNC_CONF]
    assert "token=5000" in setups[0]
    assert not any(a.startswith("--start") or a == "--enable" for a in setups[0])
    for path, owner, mode in [(cluster.COROSYNC_CONF, "root:root", "644"),
                              (cluster.COROSYNC_AUTHKEY, "root:root", "400"),
                              (cluster.PACEMAKER_AUTHKEY, "hacluster:haclient", "400")]:
        copies = {fake.files[(node, path)] for node in vlab.node_names()}
        assert len(copies) == 1, f"{path} differs between nodes"
        data, got_owner, got_mode = copies.pop()
        assert (got_owner, got_mode) == (owner, mode)
        assert data == FakeNodes.CONF.encode() if path == cluster.COROSYNC_CONF else len(data) == 256
    for node in vlab.node_names():
        mine = [argv for n, argv, _ in fake.calls if n == node and argv[:2] == ["pcs", "cluster"]]
        assert ["pcs", "cluster", "enable"] in mine and ["pcs", "cluster", "start"] in mine
    assert all("s3cret-pw" not in " ".join(argv) for _, argv, _ in fake.calls)


def test_an_interrupted_vagrant_up_leaves_no_child_running():
    # A `vagrant up` that goes on after the lab's up was interrupted defines VMs while down()
    # removes the lab (seen: "virDomainDefineXML failed", then a tear-down racing the up's own).
    children = [subprocess.Popen(["sleep", "60"]),
                subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 60 & wait"])]   # ignores SIGTERM
    lifecycle.end_children(children, grace=2)
    assert all(child.returncode is not None for child in children)
    assert [child.returncode for child in children][0] == -signal.SIGTERM


def test_a_terminated_up_tears_down_what_it_made(monkeypatch, tmp_path):
    from mailha.lab.vagrant import __main__ as cli
    torn_down = []
    monkeypatch.setattr(lifecycle, "check_root", lambda: None)
    monkeypatch.setattr(lifecycle.ns_lifecycle, "liveness", lambda layout: "none")
    monkeypatch.setattr(lifecycle, "build_box", lambda vlab: os.kill(os.getpid(), signal.SIGTERM))
    monkeypatch.setattr(lifecycle, "down", lambda vlab: torn_down.append(vlab.run_dir))
    deb = tmp_path / "mailha_0_all.deb"
    deb.write_bytes(b"")
    previous = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as ended:
            cli.main(["--run-dir", str(tmp_path / "run"), "--nodes", "2", "up", str(deb)])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert ended.value.code == 128 + signal.SIGTERM
    assert torn_down == [str(tmp_path / "run")]


def test_a_tear_down_removes_a_tree_whose_files_vanish_under_it(tmp_path, monkeypatch):
    tree = tmp_path / "pool"
    tree.mkdir()
    (tree / "mailha-vlab_node2.img").write_bytes(b"x")
    real_unlink = os.unlink

    def raced(path, *args, **kwargs):
        # Listed, then removed by someone else (an interrupted up's own tear-down) first.
        real_unlink(path, *args, **kwargs)
        return real_unlink(path, *args, **kwargs)
    monkeypatch.setattr(os, "unlink", raced)
    lifecycle._remove(str(tree))
    assert not tree.exists()


@pytest.mark.parametrize("recovered, rc", [(True, 0), (False, 1)])
def test_a_drill_whose_service_never_came_back_fails(monkeypatch, tmp_path, capsys, recovered, rc):
    # The smoke's drill is its measured failover: one that never recovers must fail the run.
    from mailha.lab.vagrant import __main__ as cli
    monkeypatch.setattr(cli.drill, "power_off", lambda vlab: {"from": "node1", "recovered": recovered})
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert cli.main(["--run-dir", str(tmp_path), "--nodes", "2", "drill"]) == rc
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert ("did not answer on its VIP again" in capsys.readouterr().err) is (not recovered)


def test_provisioning_marks_each_vm_a_lab_node_at_every_boot():
    # `mailha sim install --root /` takes the product's paths only where this marker exists; /run
    # is emptied at every boot (a fenced node reboots), so systemd-tmpfiles makes it each time.
    from mailha.sim.installer import LAB_NODE_MARKER
    text = (VAGRANT_DIR / "provision-node").read_text()
    line = next(l for l in text.splitlines() if "/etc/tmpfiles.d/" in l and l.startswith("echo"))
    assert line.split('"')[1].split()[:2] == ["f", LAB_NODE_MARKER]


def test_libvirtd_runs_where_qemus_user_cannot_open_kvm():
    # libvirt 9 probes QEMU again on every call (a minute each on busy cores) when the user QEMU
    # runs as can open /dev/kvm but the probe found no KVM.  A stand-in /dev/kvm open to all:
    with tempfile.TemporaryDirectory(dir="/tmp") as d:
        os.chmod(d, 0o755)  # the unprivileged user must reach the files: only their modes decide
        kvm = os.path.join(d, "kvm")
        with open(kvm, "w"):
            pass
        os.chmod(kvm, 0o666)
        as_qemus_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                         "sh", "-c", 'test -r "$1" || test -w "$1"', "sh", kvm]
        assert subprocess.run(as_qemus_user).returncode == 0  # the stand-in is open to the user
        hidden = host.without_kvm(as_qemus_user, os.path.join(d, "no-kvm"), kvm=kvm)
        assert subprocess.run(hidden).returncode == 1
        assert subprocess.run(as_qemus_user).returncode == 0  # the mount stayed in its namespace
