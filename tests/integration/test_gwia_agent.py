"""``ocf:mailha:gwia`` against the GroupWise emulator (real processes, a real tmpfs partition,
secondary IPs on loopback) and a real Postfix holding port 25 on the node's own address.

Every test drives the installed agent as Pacemaker does and checks what a client sees with an
independent socket.  The emulator's knobs (``mailha.sim.control``) make the agents slow, hung,
deaf to SIGTERM or unable to bind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from gwtest import banner, gwlab_fixture, process_state, refused, secondary_ip, silent, wait_for  # noqa: F401

from mailha.sim import control
from ocftools import CrmResource, ocf_tester

pytestmark = [pytest.mark.real_daemon, pytest.mark.agent_lifecycle]

SUCCESS, GENERIC, INSTALLED, CONFIGURED, NOT_RUNNING, DEGRADED = 0, 1, 5, 6, 7, 190


@pytest.fixture
def gwia(agent_runner):
    return agent_runner("gwia")


def pids(lab, dom) -> dict[str, list[int]]:
    return {"MTA": lab.agent_pids("gwmta", dom.layout.mta_startup),
            "GWIA": lab.agent_pids("gwia", dom.layout.gwia_startup)}


def smtp_greets(ip: str, port: int) -> bool:
    return banner(ip, port).startswith(b"220 ")


def test_lifecycle_probe_start_monitor_stop_is_idempotent(gwia, gwlab):
    dom = gwlab.domain()
    params = dom.params
    assert gwia.probe(params).rc == NOT_RUNNING
    assert gwia("validate-all", params).rc == SUCCESS

    started = gwia("start", params)
    assert started.rc == SUCCESS, started.stderr
    assert smtp_greets(dom.ip, dom.ports["smtpport"])
    assert banner(dom.ip, dom.ports["popport"]).startswith(b"+OK")
    assert banner(dom.ip, dom.ports["imapport"]).startswith(b"* OK")
    # MTA first, then the GWIA
    assert started.stderr.index("starting the MTA") < started.stderr.index("starting the GWIA")
    running = pids(gwlab, dom)
    assert len(running["MTA"]) == 1 and len(running["GWIA"]) == 1
    assert gwia.monitor(params).rc == SUCCESS
    assert gwia.probe(params).rc == SUCCESS
    assert gwia("start", params).rc == SUCCESS  # a second start changes nothing
    assert pids(gwlab, dom) == running

    stopped = gwia("stop", params)
    assert stopped.rc == SUCCESS
    assert stopped.stderr.index("GWIA: stopped") < stopped.stderr.index("MTA: stopped")  # GWIA first
    assert pids(gwlab, dom) == {"MTA": [], "GWIA": []}
    assert refused(dom.ip, dom.ports["smtpport"])
    assert gwia("stop", params).rc == SUCCESS
    assert gwia.monitor(params).rc == NOT_RUNNING


def test_mta_crash_fails_the_monitor_and_stop_start_recovers(gwia, gwlab):
    dom = gwlab.domain()
    assert gwia("start", dom.params).rc == SUCCESS
    (mta,) = pids(gwlab, dom)["MTA"]
    os.kill(mta, signal.SIGKILL)
    wait_for(lambda: not pids(gwlab, dom)["MTA"], 10, "the MTA to die")
    result = gwia.monitor(dom.params)
    assert result.rc == GENERIC
    assert "MTA is not running" in result.reason
    assert gwia("stop", dom.params).rc == SUCCESS  # Pacemaker's recovery: stop, then start
    assert pids(gwlab, dom) == {"MTA": [], "GWIA": []}
    assert gwia("start", dom.params).rc == SUCCESS
    assert gwia.monitor(dom.params).rc == SUCCESS


def test_hung_gwia_is_caught_by_the_second_level_within_the_monitor_timeout(gwia, gwlab):
    dom = gwlab.domain()
    assert gwia("start", dom.params).rc == SUCCESS
    control.write(dom.gwia_home, fault="hang")
    wait_for(lambda: silent(dom.ip, dom.ports["smtpport"]), 10, "the GWIA to hang")
    assert gwia.probe(dom.params).rc == SUCCESS  # the process is there: a probe says running
    result = gwia.monitor(dom.params, timeout_ms=6000, enforce_timeout=True)
    assert result.rc == GENERIC
    assert "GWIA does not answer" in result.reason and "no answer" in result.reason
    assert gwia("stop", dom.params, timeout_ms=20000, enforce_timeout=True).rc == SUCCESS
    assert pids(gwlab, dom) == {"MTA": [], "GWIA": []}


def test_second_level_cadence(gwia, gwlab):
    dom = gwlab.domain()
    params = dict(dom.params, second_level_monitor=3)
    assert gwia("start", params).rc == SUCCESS
    control.write(dom.gwia_home, fault="hang")
    wait_for(lambda: silent(dom.ip, dom.ports["smtpport"]), 10, "the GWIA to hang")
    # the first monitor after a start runs the second level, then every third one
    results = [gwia.monitor(params, timeout_ms=6000).rc for _ in range(4)]
    assert results == [GENERIC, SUCCESS, SUCCESS, GENERIC]
    assert gwia.monitor(params, check_level=10, timeout_ms=6000).rc == GENERIC  # OCF_CHECK_LEVEL forces it


def test_slow_gwia_then_mta_ignoring_sigterm_stop_escalates_within_its_timeout(gwia, gwlab):
    dom = gwlab.domain()
    assert gwia("start", dom.params).rc == SUCCESS
    control.write(dom.gwia_home, stop_delay=3)  # a busy GWIA finishing its queues
    control.write(dom.layout.directory, ignore_sigterm=True)  # the MTA's home is the domain
    (gwia_pid,) = pids(gwlab, dom)["GWIA"]
    (mta_pid,) = pids(gwlab, dom)["MTA"]
    result = gwia("stop", dom.params, timeout_ms=20000, enforce_timeout=True)
    assert result.rc == SUCCESS, result.stderr
    assert pids(gwlab, dom) == {"MTA": [], "GWIA": []}
    gwia_line = next(line for line in result.stderr.splitlines() if "GWIA: stopped" in line)
    mta_line = next(line for line in result.stderr.splitlines() if "MTA: stopped" in line)
    assert "SIGKILL" not in gwia_line  # the slow GWIA was given the time to finish
    assert f"SIGKILL needed for pid(s) {mta_pid}" in mta_line
    del gwia_pid


def test_gwia_ignoring_sigterm_is_killed_and_the_mta_still_stops_cleanly(gwia, gwlab):
    dom = gwlab.domain()
    assert gwia("start", dom.params).rc == SUCCESS
    control.write(dom.gwia_home, ignore_sigterm=True, stop_delay=600)
    result = gwia("stop", dom.params, timeout_ms=15000, enforce_timeout=True)
    assert result.rc == SUCCESS, result.stderr
    assert pids(gwlab, dom) == {"MTA": [], "GWIA": []}
    mta_line = next(line for line in result.stderr.splitlines() if "MTA: stopped" in line)
    assert "SIGKILL" not in mta_line  # the reserve kept for the MTA was enough for SIGTERM


def test_gwia_that_cannot_bind_fails_the_start_pointing_to_its_log(gwia, gwlab):
    dom = gwlab.domain()
    control.write(dom.gwia_home, fault="bindfail")
    result = gwia("start", dom.params)
    assert result.rc == GENERIC
    assert "GWIA exited during start; see its log in" in result.reason
    assert os.path.join(dom.gwia_home, "000.prc") in result.stderr  # the logged reason is whole
    logs = list(Path(dom.gwia_home, "000.prc").iterdir())
    assert any("Unable to bind" in log.read_text() for log in logs)


def test_unmounted_partition_probe_says_not_running_and_start_refuses(gwia, gwlab):
    dom = gwlab.domain()
    gwlab.unmount()
    assert gwia.probe(dom.params).rc == NOT_RUNNING
    result = gwia("start", dom.params)
    assert result.rc == INSTALLED
    assert "domain_dir is on / (not mounted): mount the GroupWise partition" in result.reason
    assert gwia("validate-all", dom.params).rc == INSTALLED
    assert gwia("stop", dom.params).rc == SUCCESS
    # with the mount point named, an empty mount point directory is refused as well
    named = dict(dom.params, storage_mount=str(gwlab.mount))
    result = gwia("start", named)
    assert result.rc == INSTALLED
    assert f"storage_mount {gwlab.mount} is not a mount point" in result.reason
    assert gwia.probe(named).rc == NOT_RUNNING


def test_domain_outside_the_named_mount_point_is_a_configuration_error(gwia, gwlab):
    dom = gwlab.domain()
    result = gwia("validate-all", dict(dom.params, storage_mount="/srv/elsewhere"))
    assert result.rc == CONFIGURED
    assert "not under storage_mount" in result.reason


def test_agent_listening_on_all_addresses_is_refused_and_a_probe_still_answers(gwia, gwlab):
    dom = gwlab.domain(ip_in_file=False)  # ';--ip' stays commented out, as after an install
    assert gwia.probe(dom.params).rc == NOT_RUNNING
    for action in ("validate-all", "start"):
        result = gwia(action, dom.params)
        assert result.rc == CONFIGURED
        assert "would listen on all addresses" in result.reason
        assert dom.layout.mta_startup in result.stderr  # the MTA's file is read first; the log has it whole
    assert gwlab.pids() == []


def test_ip_other_than_the_startup_file_is_refused(gwia, gwlab):
    dom = gwlab.domain()
    result = gwia("start", dict(dom.params, ip_address=secondary_ip()))
    assert result.rc == CONFIGURED
    assert f"--ip {dom.ip}" in result.reason


def test_set_ip_writes_the_address_keeping_a_backup(gwia, gwlab):
    dom = gwlab.domain(ip_in_file=False)
    original = Path(dom.layout.gwia_startup).read_bytes()
    params = dict(dom.params, ip_address=dom.ip, set_ip="true")
    assert gwia("validate-all", params).rc == SUCCESS
    assert Path(dom.layout.gwia_startup).read_bytes() == original  # validate changes nothing
    assert gwia("start", params).rc == SUCCESS
    for startup in (dom.layout.gwia_startup, dom.layout.mta_startup):
        text = Path(startup).read_text()
        assert f"\n--ip {dom.ip}\n" in text and ";--ip 0.0.0.0" in text  # the comment stays
        backups = [p for p in Path(startup).parent.iterdir() if p.name.startswith(Path(startup).name + ".mailha-bak.")]
        assert len(backups) == 1
    backup = next(p for p in Path(dom.gwia_home).iterdir() if ".mailha-bak." in p.name)
    assert backup.read_bytes() == original
    assert smtp_greets(dom.ip, dom.ports["smtpport"])
    assert refused("127.0.0.1", dom.ports["smtpport"])  # bound to the secondary IP alone
    assert gwia.monitor(params).rc == SUCCESS


def test_start_names_the_process_holding_a_port_and_launches_nothing(gwia, gwlab):
    import socket

    dom = gwlab.domain()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((dom.ip, dom.ports["popport"]))
        squatter.listen()
        result = gwia("start", dom.params)
    assert result.rc == GENERIC
    assert f"POP3 port {dom.ports['popport']} is held by pid {os.getpid()}" in result.reason
    assert gwlab.pids() == []  # not even the MTA was left behind


def test_secondary_ip_not_on_this_node_is_refused(gwia, gwlab):
    dom = gwlab.domain(ip="192.0.2.77")  # TEST-NET-1: never local here
    result = gwia("start", dom.params)
    assert result.rc == GENERIC
    assert "192.0.2.77 is not configured on this node" in result.reason


def test_two_domains_on_one_node_never_see_each_other(gwia, gwlab):
    one = gwlab.domain("dom1")
    ten = gwlab.domain("dom10")  # one name a prefix of the other
    assert gwia("start", one.params).rc == SUCCESS
    assert gwia.probe(ten.params).rc == NOT_RUNNING
    assert gwia("start", ten.params).rc == SUCCESS
    (gwia_one,) = pids(gwlab, one)["GWIA"]
    os.kill(gwia_one, signal.SIGKILL)
    wait_for(lambda: not pids(gwlab, one)["GWIA"], 10, "dom1's GWIA to die")
    assert gwia.monitor(one.params).rc == GENERIC
    assert gwia.monitor(ten.params).rc == SUCCESS
    assert gwia("stop", one.params).rc == SUCCESS
    assert gwia.monitor(one.params).rc == NOT_RUNNING
    assert gwia.monitor(ten.params).rc == SUCCESS
    assert smtp_greets(ten.ip, ten.ports["smtpport"])


def test_manage_mta_false_runs_the_gwia_alone(gwia, gwlab):
    dom = gwlab.domain()
    params = dict(dom.params, manage_mta="false")
    assert gwia("start", params).rc == SUCCESS
    assert pids(gwlab, dom)["MTA"] == [] and len(pids(gwlab, dom)["GWIA"]) == 1
    assert gwia.monitor(params).rc == SUCCESS
    assert gwia("stop", params).rc == SUCCESS
    assert pids(gwlab, dom)["GWIA"] == []


def test_only_the_services_the_startup_file_enables_are_probed(gwia, gwlab):
    dom = gwlab.domain(services=("smtp",))
    assert gwia("start", dom.params).rc == SUCCESS
    assert refused(dom.ip, dom.ports["popport"])
    assert gwia.monitor(dom.params).rc == SUCCESS


def test_monitor_follows_a_changed_startup_file(gwia, gwlab):
    dom = gwlab.domain(services=("smtp",))
    assert gwia("start", dom.params).rc == SUCCESS
    assert gwia.monitor(dom.params).rc == SUCCESS  # listeners summarised in the state file
    text = Path(dom.layout.gwia_startup).read_text().replace(";--pop\n", "--pop\n")
    Path(dom.layout.gwia_startup).write_text(text)  # POP3 enabled, not yet restarted
    result = gwia.monitor(dom.params)
    assert result.rc == GENERIC
    assert f"pop3 {dom.ip}:{dom.ports['popport']}: connection refused" in result.reason


def test_launch_through_grpwise_with_the_names_of_gwha_conf(gwia, gwlab):
    dom = gwlab.domain()
    gwlab.register(dom.layout)
    params = dict(dom.params, launch="grpwise")
    started = gwia("start", params)
    assert started.rc == SUCCESS, started.stderr
    assert f"{gwlab.grpwise} start gwia.dom1" in started.stderr
    assert gwia.monitor(params).rc == SUCCESS
    status = subprocess.run([str(gwlab.grpwise), "status", "gwia.dom1"], check=False, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0 and "running" in status.stdout
    stopped = gwia("stop", params)
    assert stopped.rc == SUCCESS
    assert "by graceful" in stopped.stderr  # grpwise stop did it
    assert pids(gwlab, dom) == {"MTA": [], "GWIA": []}


def test_grpwise_section_for_another_startup_file_is_refused(gwia, gwlab):
    dom = gwlab.domain()
    other = gwlab.domain("other")
    gwlab.register(other.layout)
    result = gwia("start", dict(dom.params, launch="grpwise", mta_name="other", gwia_name="gwia.other"))
    assert result.rc == INSTALLED
    assert "gwha.conf section [other] does not run this resource's MTA" in result.reason
    missing = gwia("validate-all", dict(dom.params, launch="grpwise"))
    assert missing.rc == INSTALLED and "has no section [dom1]" in missing.reason


def test_running_gwha_that_would_restart_the_agents_is_refused_with_the_fix(gwia, gwlab):
    dom = gwlab.domain()
    gwlab.register(dom.layout)
    gwha_pid, _log = gwlab.start_gwha()
    for action in ("validate-all", "start"):
        result = gwia(action, dom.params)
        assert result.rc == INSTALLED
        assert f"gwha (pid {gwha_pid}) would restart dom1, gwia.dom1" in result.reason
        assert "gwha=suspend" in result.reason and len(result.reason.encode()) <= 128
        assert "systemctl disable --now gwha.socket" in result.stderr  # how to disable it: in the log
    assert pids(gwlab, dom) == {"MTA": [], "GWIA": []}


def test_gwha_suspend_holds_gwha_during_the_stop_and_it_restarts_the_agents_afterwards(gwia, gwlab):
    """gwha=suspend protects the stop itself; what gwha does after it is why refuse is the default."""
    dom = gwlab.domain()
    gwlab.register(dom.layout)
    gwha_pid, log = gwlab.start_gwha(poll=0.1)
    params = dict(dom.params, gwha="suspend")
    assert gwia("start", params).rc == SUCCESS
    wait_for(lambda: "Agent [gwia.dom1] is running" in log.read_text(), 10, "gwha to see the GWIA")
    control.write(dom.gwia_home, stop_delay=2)  # gwha would poll 20 times while the GWIA stops
    states: list[str] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            states.append(process_state(gwha_pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = gwia("stop", params)
    finally:
        done.set()
        sampler.join()
    assert result.rc == SUCCESS  # the agent checks that no process of the domain is left
    assert f"gwha suspended while stopping: pid(s) {gwha_pid}" in result.stderr
    assert "T" in states  # stopped while the agents stopped ...
    assert process_state(gwha_pid) != "T"  # ... and running again afterwards,
    # when it restarts what the cluster stopped, as long as the partition is still mounted.
    wait_for(lambda: "is down; restarting it" in log.read_text(), 10, "gwha to restart the stopped agents")


def test_missing_ssl_certificate_on_the_partition_is_refused(gwia, gwlab):
    dom = gwlab.domain()
    cert = os.path.join(dom.layout.directory, "ssl", "gwia.crt")
    with open(dom.layout.gwia_startup, "a") as handle:
        handle.write(f"--certfile {cert}\n--keyfile {cert[:-4]}.key\n")
    result = gwia("start", dict(dom.params, storage_mount=str(gwlab.mount)))
    assert result.rc == CONFIGURED  # on the shared partition: missing on every node
    assert "GWIA SSL file --certfile is missing" in result.reason
    assert f"copy it to {cert}" in result.stderr  # the logged reason is whole
    local = gwia("validate-all", dom.params)
    assert local.rc == INSTALLED  # without storage_mount it cannot tell: this node only
    assert gwlab.pids() == []


def test_secrets_never_leak_and_a_rejected_console_password_is_degraded(gwia, gwlab, tmp_path):
    dom = gwlab.domain()
    console = "Console-Pw-8811"
    with open(dom.layout.mta_startup, "a") as handle:
        handle.write(f"--httpuser admin\n--httppassword {console}\n")
    debuglog = tmp_path / "debug.log"
    extra = {"HA_DEBUGLOG": str(debuglog), "HA_debug": "1"}
    good = dict(dom.params, http_user="admin", http_password=console, test_user="probe",
                test_password="Probe-Pw-4471")
    results = [gwia("start", good, extra=extra)]
    assert results[-1].rc == SUCCESS, results[-1].stderr
    results.append(gwia.monitor(good, check_level=20, extra=extra))
    assert results[-1].rc == SUCCESS
    bad = dict(good, http_password="Wrong-Pw-3390")
    results.append(gwia.monitor(bad, extra=extra))
    assert results[-1].rc == DEGRADED  # a password changed at run time must not stop it everywhere
    assert "rejects http_user/http_password" in results[-1].reason
    for pid in gwlab.pids():  # nothing reaches the agents' command lines or environments
        for name in ("cmdline", "environ"):
            with open(f"/proc/{pid}/{name}", "rb") as handle:
                data = handle.read()
            assert b"Probe-Pw-4471" not in data and b"Wrong-Pw-3390" not in data
            if name == "environ":  # the MTA and the GWIA get no parameter at all, and the C locale
                variables = data.split(b"\0")
                assert not [v for v in variables if v.startswith(b"OCF_RESKEY_")] and b"LC_ALL=C" in variables
    for text in [r.stderr + r.stdout for r in results] + [debuglog.read_text()]:
        for secret in (console, "Probe-Pw-4471", "Wrong-Pw-3390"):
            assert secret not in text


@pytest.mark.parametrize("code, expected", [(0, SUCCESS), (100, NOT_RUNNING), (3, GENERIC)])
def test_monitor_program_exit_codes(gwia, gwlab, tmp_path, code, expected):
    program = tmp_path / "check.sh"
    program.write_text(f"#!/bin/sh\n[ \"$1\" = GWIA ] || exit 3\nexit {code}\n")
    program.chmod(0o755)
    dom = gwlab.domain()
    params = dict(dom.params, monitor_program=f"{program} GWIA")
    assert gwia("start", params).rc == SUCCESS
    assert gwia.monitor(params).rc == expected


# -- a real Postfix on the node's primary address, in a network namespace ------------------------


class Node:
    """A network namespace standing for a cluster node: one interface (a veth end) with the
    node's primary address and the GWIA partition's secondary IP, as IPaddr2 would add it."""

    def __init__(self) -> None:
        import random

        self.name = f"mailha-gw-{os.getpid()}-{random.randrange(10**6)}"
        subnet = random.randrange(1, 250)
        self.primary, self.secondary = f"10.231.{subnet}.1", f"10.231.{subnet}.2"
        self.created = False

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", "-n", self.name, *args], check=True, timeout=30)

    def create(self) -> None:
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=30)
        self.created = True
        self.ip("link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
        self.ip("addr", "add", f"{self.primary}/24", "dev", "eth0")
        self.ip("addr", "add", f"{self.secondary}/24", "dev", "eth0")
        for link in ("lo", "eth0", "peer0"):
            self.ip("link", "set", link, "up")

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], check=False, capture_output=True,
                              text=True, **kw)

    def banner(self, address: str, port: int) -> str:
        code = ("import socket,sys\n"
                "try:\n with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as s:"
                " print(s.recv(200).decode(errors='replace'))\n"
                "except OSError as e: print('ERROR', e)")
        return self.run(["/usr/bin/python3", "-c", code, address, str(port)], timeout=60).stdout

    def agent(self, runner, action: str, params: dict, **kw) -> subprocess.CompletedProcess:
        """The installed agent run inside the node, with the environment Pacemaker gives it."""
        if action == "start":
            runner.started.append(dict(params))
        env = runner.env(params, kw.pop("interval", None), None, kw.pop("timeout_ms", 20000))
        return self.run([runner.path, action], env=env, timeout=60)

    def destroy(self) -> None:
        """Every process left in the namespace is killed by pid, then the namespace goes."""
        if not self.created:
            return
        pids = subprocess.run(["ip", "netns", "pids", self.name], check=False, capture_output=True, text=True,
                              timeout=30).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", self.name], check=True, timeout=30)
        self.created = False


def reason_of(done: subprocess.CompletedProcess) -> str:
    lines = [line.split(":", 1)[1] for line in done.stderr.splitlines() if line.startswith("ocf-exit-reason:")]
    return lines[-1] if lines else ""


class Postfix:
    """A private Postfix instance (its own config and queue directories) inside a node, listening
    on the node's primary address only, as OES Cluster Services' Postfix does (seed 000)."""

    def __init__(self, node: Node, base: Path) -> None:
        if not shutil.which("postfix"):
            pytest.fail("the Postfix tests need the Debian package postfix")
        self.node = node
        self.conf = base / "postfix"
        self.conf.mkdir()
        for name in ("main.cf", "master.cf"):
            shutil.copy(f"/etc/postfix/{name}", self.conf / name)
        self.queue = base / "postfix-spool"
        settings = {
            "inet_interfaces": node.primary, "inet_protocols": "ipv4", "queue_directory": str(self.queue),
            "data_directory": str(base / "postfix-data"), "myhostname": "primary.example.test",
            "mydestination": "", "syslog_name": "postfix-mailha-test", "maillog_file": str(base / "postfix.log"),
            "maillog_file_prefixes": str(base),
        }
        subprocess.run(["postconf", "-c", str(self.conf), "-e"] + [f"{k} = {v}" for k, v in settings.items()],
                       check=True, timeout=60)
        self.log = base / "postfix.log"
        self.queue.mkdir()
        (base / "postfix-data").mkdir()
        shutil.chown(base / "postfix-data", "postfix")
        self.pid: int | None = None

    def start(self) -> int:
        done = self.node.run(["postfix", "-c", str(self.conf), "start"], timeout=120)
        assert done.returncode == 0, (done.stdout, done.stderr, self.log.read_text() if self.log.exists() else "")
        pidfile = self.queue / "pid" / "master.pid"
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 30, "Postfix's master.pid")
        self.pid = int(pidfile.read_text().strip())
        wait_for(lambda: self.node.banner(self.node.primary, 25).startswith("220 "), 30,
                 "Postfix to greet on the primary address")
        return self.pid

    def stop(self) -> None:
        """By pid: the master, whose children exit with it."""
        if self.pid is None:
            return
        import psutil

        try:
            master = psutil.Process(self.pid)
            family = [master, *master.children(recursive=True)]
            master.terminate()
            _, alive = psutil.wait_procs(family, timeout=20)
            for proc in alive:
                proc.kill()
        except psutil.NoSuchProcess:
            pass
        self.pid = None


@pytest.fixture
def node():
    made = Node()
    try:
        made.create()
        yield made
    finally:
        made.destroy()


@pytest.fixture
def postfix(node):
    import tempfile

    # Postfix's own user must reach its data directory: not under pytest's 0700 tmp_path.
    base = Path(tempfile.mkdtemp(prefix="mailha-postfix-"))
    base.chmod(0o755)
    instance = Postfix(node, base)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_gwia_serves_port_25_on_the_secondary_ip_beside_postfix_on_the_primary(gwia, gwlab, node, postfix):
    dom = gwlab.domain(ip=node.secondary, smtp_port=25)
    started = node.agent(gwia, "start", dom.params)
    assert started.returncode == SUCCESS, started.stderr
    assert "ESMTP Postfix" in node.banner(node.primary, 25)
    assert "GroupWise Internet Agent" in node.banner(node.secondary, 25)
    assert node.agent(gwia, "monitor", dom.params, interval=10000).returncode == SUCCESS
    assert node.agent(gwia, "stop", dom.params).returncode == SUCCESS
    assert node.banner(node.secondary, 25).startswith("ERROR")  # nothing there any more
    assert "ESMTP Postfix" in node.banner(node.primary, 25)  # Postfix untouched by the stop


def test_gwia_on_all_addresses_is_refused_naming_postfix(gwia, gwlab, node, postfix):
    dom = gwlab.domain(ip=node.secondary, smtp_port=25, ip_in_file=False)
    params = dict(dom.params, manage_mta="false")
    for action in ("validate-all", "start"):
        result = node.agent(gwia, action, params)
        assert result.returncode == CONFIGURED
        assert "would listen on all addresses" in reason_of(result)
        assert f"SMTP port 25 is held by pid {postfix.pid} (master" in reason_of(result)
        assert f"on {node.primary}:25" in reason_of(result)
    assert node.agent(gwia, "monitor", params, interval=0).returncode == NOT_RUNNING  # a probe is fine
    assert gwlab.pids() == []
    assert "ESMTP Postfix" in node.banner(node.primary, 25)


# -- what Pacemaker's own tools do with the agent -------------------------------------------------


def test_ocf_tester_passes(gwlab):
    done = ocf_tester("gwia", gwlab.domain().params)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed all tests" in done.stdout


@pytest.mark.ocf_root
def test_crm_resource_drives_the_agent(gwlab):
    dom = gwlab.domain()
    crm = CrmResource("gwia", dom.params)

    assert crm("--validate").returncode == 0
    try:
        assert crm("--force-start").returncode == 0
        assert crm("--force-check").returncode == 0
        assert crm("--force-check=10").returncode == 0
        assert smtp_greets(dom.ip, dom.ports["smtpport"])
    finally:
        assert crm("--force-stop").returncode == 0
    assert crm("--force-check").returncode == NOT_RUNNING
    bad = crm("--validate", options=["--option", f"domain_dir={dom.layout.directory}", "--option", "set_ip=true"])
    assert bad.returncode == CONFIGURED
    assert "ip_address" in bad.stdout + bad.stderr
