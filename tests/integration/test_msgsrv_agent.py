"""``ocf:mailha:msgsrv`` against the Messaging Server emulator: the core and service sets of one
instance, each its own resource, bound to the instance's virtual IP (a loopback address)."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from admintest import Directory
from gwtest import refused
from mstest import USERS, mslab_fixture  # noqa: F401
from ocftools import ocf_tester
from testkit import wait_for

from mailha.msgsrv import layout
from mailha.sim import control

pytestmark = [pytest.mark.real_daemon, pytest.mark.agent_lifecycle]

SUCCESS, GENERIC, INSTALLED, CONFIGURED, NOT_RUNNING, DEGRADED = 0, 1, 5, 6, 7, 190
CORE = ("watcher", "stored", "imsched")
CLIENTS = ("imapd", "popd", "mshttpd")


@pytest.fixture
def msgsrv(agent_runner):
    return agent_runner("msgsrv")


def running(ms, daemons) -> dict[str, list[int]]:
    return {name: ms.pids(name) for name in daemons}


def all_up(ms, daemons) -> bool:
    return all(ms.pids(name) for name in daemons)


def answers(ip: str, port: int) -> bool:
    try:
        return greets(ip, port).startswith(b"* OK")
    except OSError:
        return False


def greets(ip: str, port: int) -> bytes:
    with socket.create_connection((ip, port), timeout=5) as sock:
        return sock.recv(200)


def test_core_and_services_are_separate_resources_of_one_instance(msgsrv, mslab):
    ms = mslab.instance()
    core, clients = ms.core(), ms.clients()
    assert msgsrv.probe(core).rc == NOT_RUNNING
    assert msgsrv.probe(clients).rc == NOT_RUNNING
    assert msgsrv("validate-all", core).rc == SUCCESS
    assert msgsrv("start", core).rc == SUCCESS
    assert all_up(ms, CORE) and not any(running(ms, CLIENTS).values())
    assert msgsrv.monitor(core, check_level=10).rc == SUCCESS  # the watcher's port and stored -t -v
    assert msgsrv("start", clients).rc == SUCCESS
    assert greets(ms.ip, ms.ports["imap"]).startswith(b"* OK")
    assert greets(ms.ip, ms.ports["pop"]).startswith(b"+OK")
    assert refused("127.0.0.1", ms.ports["imap"])  # bound to the virtual IP alone
    before = running(ms, CORE + CLIENTS)
    assert msgsrv("start", core).rc == SUCCESS and msgsrv("start", clients).rc == SUCCESS
    assert running(ms, CORE + CLIENTS) == before  # started once
    assert msgsrv.monitor(clients, check_level=10).rc == SUCCESS
    # Stopping the services never touches the core, and the reverse.
    assert msgsrv("stop", clients).rc == SUCCESS
    assert not any(running(ms, CLIENTS).values()) and running(ms, CORE) == {n: before[n] for n in CORE}
    assert msgsrv.probe(clients).rc == NOT_RUNNING and msgsrv.monitor(core).rc == SUCCESS
    assert msgsrv("start", clients).rc == SUCCESS
    assert msgsrv("stop", core).rc == SUCCESS
    assert not any(running(ms, CORE).values()) and all_up(ms, CLIENTS)
    assert msgsrv("stop", clients).rc == SUCCESS and msgsrv("stop", clients).rc == SUCCESS
    assert ms.pids() == []
    assert msgsrv.probe(core).rc == NOT_RUNNING


def test_services_do_not_start_without_their_store(msgsrv, mslab):
    ms = mslab.instance()
    result = msgsrv("start", ms.clients())
    assert result.rc == GENERIC
    assert "store server is not running" in result.reason
    assert ms.pids() == []  # no watcher left behind that no resource manages


def test_start_waits_for_the_user_directory_within_its_timeout(msgsrv, mslab):
    """Configuration 2: the MTA group is ordered after the directory, not colocated with it, so
    its start meets a directory that may still be coming up; it waits, then fails retryably."""
    directory = Directory()
    directory.close()
    ms = mslab.instance(directory=(directory.ip, directory.port))
    result = msgsrv("start", ms.core(), timeout_ms=8000)
    assert result.rc == GENERIC and "user directory" in result.reason
    assert "failure-timeout" in result.stderr and ms.pids() == []
    directory.open()
    try:
        result = msgsrv("start", ms.core())
    finally:
        directory.close()
    assert result.rc == SUCCESS
    assert msgsrv("stop", ms.core()).rc == SUCCESS


def test_the_mta_delivers_into_the_store_and_imap_logs_the_test_user_in(msgsrv, mslab):
    import imaplib
    import smtplib

    ms = mslab.instance()
    user, password = next(iter(USERS.items()))
    assert msgsrv("start", ms.core()).rc == SUCCESS
    mta = ms.mta()
    assert msgsrv("start", mta).rc == SUCCESS
    assert all_up(ms, ("job_controller", "dispatcher", "tcp_smtp_server"))
    with smtplib.SMTP(ms.ip, ms.ports["smtp"], timeout=10) as client:
        client.sendmail("sender@example.org", [f"{user}@example.com"],
                        "Subject: drill\r\nMessage-ID: <one@client.test>\r\n\r\nbody\r\n")
    box = os.path.join(ms.home, "data", "store", "user", user)
    assert len(os.listdir(box)) == 1
    clients = ms.clients(test_user=user, test_password=password)
    assert msgsrv("start", clients).rc == SUCCESS
    assert msgsrv.monitor(clients, check_level=20).rc == SUCCESS
    wrong = msgsrv.monitor(ms.clients(test_user=user, test_password="not-it"), check_level=20)
    assert wrong.rc == DEGRADED and "rejects test_user/test_password" in wrong.reason
    # A reading client sees the delivered message in the INBOX, header fields and whole.
    imap = imaplib.IMAP4(ms.ip, ms.ports["imap"])
    assert imap.login(user, password)[0] == "OK"
    assert imap.select("INBOX", readonly=True) == ("OK", [b"1"])
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert typ == "OK" and data[0][1] == b"Message-ID: <one@client.test>\r\n\r\n"
    typ, data = imap.fetch("1", "(RFC822)")
    assert typ == "OK" and data[0][1].endswith(b"\r\n\r\nbody\r\n")
    assert imap.select("Sent")[0] == "NO"
    imap.logout()
    assert msgsrv("stop", mta).rc == SUCCESS
    assert ms.pids("tcp_smtp_server") == [] and ms.pids("dispatcher") == []


def test_logins_are_checked_against_the_user_directory(msgsrv, mslab, openldap, user_password_file):
    """With no users file entry, IMAP logins bind to the directory msg.conf names (a real
    OpenLDAP here): the synthetic transaction passes; a wrong password is a rejected login, a
    directory that is down a login the server cannot check now (both degraded, each with its
    own fix), never a crash of the service."""
    import imaplib

    from mailha.tools import dsinstance

    dsinstance.add_test_user(openldap, "bob", user_password_file)
    password = open(user_password_file).read().strip()
    ms = mslab.instance(directory=(openldap.host, openldap.port), base_dn=openldap.suffix, users={})
    assert msgsrv("start", ms.core()).rc == SUCCESS
    clients = ms.clients(test_user="bob", test_password=password)
    assert msgsrv("start", clients).rc == SUCCESS
    assert msgsrv.monitor(clients, check_level=20).rc == SUCCESS
    imap = imaplib.IMAP4(ms.ip, ms.ports["imap"])
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("bob", password + "x")
    assert imap.login("bob", password)[0] == "OK"
    imap.logout()
    wrong = msgsrv.monitor(ms.clients(test_user="bob", test_password="not-it"), check_level=20)
    assert wrong.rc == DEGRADED and "rejects test_user/test_password" in wrong.reason
    openldap.stop()
    try:
        down = msgsrv.monitor(clients, check_level=20)
        assert down.rc == DEGRADED and "user directory is down: start the directory" in down.reason
        assert "rejects" not in down.reason
        assert all_up(ms, CLIENTS)
    finally:
        openldap.start()


@pytest.mark.parametrize("case,words", [
    ("core=1 imap=143", "core (store, scheduler, watcher) must be listed alone"),
    ("smtp lmtp=2525", "smtp and lmtp must not be in one resource"),
    ("imap=143 pop=143", "share port 143"),
    ("nosuch=1", "unknown service 'nosuch'"),
    ("core", "needs the watcher's port"),
])
def test_a_bad_service_set_is_a_configuration_error_everywhere(msgsrv, mslab, case, words):
    ms = mslab.instance()
    result = msgsrv("validate-all", ms.params(case))
    assert result.rc == CONFIGURED and words in result.reason
    assert msgsrv.probe(ms.params(case)).rc == CONFIGURED
    assert msgsrv("stop", ms.params(case)).rc == SUCCESS  # stop never fails for a parameter


def test_a_stop_with_parameters_that_fail_the_checks_kills_nothing_and_succeeds(msgsrv, mslab):
    """A new resource with a typo is probed (6) and then stopped on every node, also where
    another resource of the same instance runs: that stop must succeed (a failed stop fences
    the node) and must leave the running instance alone."""
    ms = mslab.instance()
    assert msgsrv("start", ms.core()).rc == SUCCESS
    before = running(ms, CORE)
    for bad in (ms.params("imap=143 pop=143"), ms.params("nosuch=1"), {**ms.clients(), "instance": "msg-mail1"}):
        result = msgsrv("validate-all", bad)
        assert result.rc == CONFIGURED and len(result.reason.encode()) <= 128, (bad, result.reason)
        assert msgsrv.probe(bad).rc == CONFIGURED
        assert msgsrv("stop", bad).rc == SUCCESS, bad
        assert running(ms, CORE) == before
    # A test user on a resource without a login is wrong everywhere; its stop still names the
    # core exactly (stop runs no static check), so it is no stop "with a typo".
    result = msgsrv("validate-all", ms.core(test_user="u", test_password="p"))
    assert result.rc == CONFIGURED and "no listed service takes a login" in result.reason
    assert msgsrv("stop", ms.core()).rc == SUCCESS


def test_a_listed_service_that_is_disabled_fails_start_with_the_flag_to_set(msgsrv, mslab):
    ms = mslab.instance(enable={"service.pop.enable": False})
    assert msgsrv("start", ms.core()).rc == SUCCESS
    result = msgsrv("start", ms.clients())
    assert result.rc == CONFIGURED
    assert "configutil -o service.pop.enable -v 1" in result.reason
    assert running(ms, CLIENTS) == {n: [] for n in CLIENTS}


def test_a_port_that_differs_from_the_configuration_is_named(msgsrv, mslab):
    ms = mslab.instance()
    assert msgsrv("start", ms.core()).rc == SUCCESS
    other = ms.ports["imap"] + 1
    result = msgsrv("start", ms.params(f"imap={other}"))
    assert result.rc == CONFIGURED
    assert f"services has imap={other} but service.imap.port is {ms.ports['imap']}" in result.reason


def test_an_unbound_instance_is_refused_or_bound_keeping_the_first_pre_ha_backup(msgsrv, mslab):
    ms = mslab.instance(bound=False)
    assert msgsrv("start", ms.core()).rc == SUCCESS
    result = msgsrv("start", ms.mta())
    assert result.rc == CONFIGURED
    assert "run ha_ip_config or set set_binding=true" in result.reason
    originals = {path: open(path, "rb").read() for path in (ms.inst.dispatcher_cnf, ms.inst.job_controller_cnf)}
    assert msgsrv("start", ms.mta(set_binding="true")).rc == SUCCESS
    for path, text in originals.items():
        assert open(path + ".pre-ha", "rb").read() == text  # ha_ip_config's backup
        assert f"INTERFACE_ADDRESS={ms.ip}" in open(path).read()
    assert refused("127.0.0.1", ms.ports["smtp"])
    assert msgsrv("stop", ms.mta()).rc == SUCCESS
    clients = ms.clients(set_binding="true")
    os.chown(ms.inst.msg_conf, 4242, 4343)  # mailsrv:mail on a real node: the backup keeps them
    assert msgsrv("start", clients).rc == SUCCESS  # service.listenaddr set with configutil
    assert f'service.listenaddr = "{ms.ip}"' in open(ms.inst.msg_conf).read()
    assert "service.listenaddr" not in open(ms.inst.msg_conf + ".pre-ha").read()
    backup = os.stat(ms.inst.msg_conf + ".pre-ha")
    assert (backup.st_uid, backup.st_gid) == (4242, 4343)
    assert refused("127.0.0.1", ms.ports["imap"])


def test_start_waits_for_the_store_to_recover_and_says_so_when_it_does_not(msgsrv, mslab):
    ms = mslab.instance()
    control.write(ms.home, process="stored", start_delay=60)
    result = msgsrv("start", ms.core(), timeout_ms=15000)
    assert result.rc == GENERIC
    assert "the store is recovering" in result.reason
    assert msgsrv("stop", ms.core()).rc == SUCCESS and ms.pids() == []
    control.write(ms.home, process="stored", start_delay=2)
    begun = time.monotonic()
    assert msgsrv("start", ms.core()).rc == SUCCESS
    assert time.monotonic() - begun >= 2  # it returned only once the store said ready
    state = open(os.path.join(ms.home, "data", "proc", "store")).read().split()
    assert state[1] == layout.READY


def test_a_hung_store_is_caught_by_stored_t_v_at_the_second_level(msgsrv, mslab):
    ms = mslab.instance()
    core = ms.core()
    assert msgsrv("start", core).rc == SUCCESS
    control.write(ms.home, process="stored", fault="hang")
    wait_for(lambda: "control: fault hang" in ms.log("stored"), what="the store reading its control file")
    first = msgsrv.monitor(core, check_level=0, extra={"OCF_RESKEY_second_level_monitor": "0"})
    assert first.rc == SUCCESS  # the process is there: only the second level can tell
    result = msgsrv.monitor(core, check_level=10, timeout_ms=6000, enforce_timeout=True)
    assert result.rc == GENERIC and "stored -t -v gave no answer" in result.reason


def test_a_killed_service_process_fails_the_monitor(msgsrv, mslab):
    ms = mslab.instance()
    assert msgsrv("start", ms.core()).rc == SUCCESS
    clients = ms.clients()
    assert msgsrv("start", clients).rc == SUCCESS
    (pid,) = ms.pids("popd")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not ms.pids("popd"), what="popd gone")
    result = msgsrv.monitor(clients)
    assert result.rc == GENERIC and "the popd is not running" in result.reason


def test_the_watcher_restarts_a_crash_never_a_stop_and_gives_up_after_three(msgsrv, mslab):
    ms = mslab.instance(autorestart=True)
    core, clients = ms.core(), ms.clients()
    assert msgsrv("start", core).rc == SUCCESS and msgsrv("start", clients).rc == SUCCESS
    (pid,) = ms.pids("imapd")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: ms.pids("imapd") and ms.pids("imapd") != [pid], what="the watcher restarting imapd")
    # A stop on purpose, even one that ends with SIGKILL, is never undone by the watcher.
    control.write(ms.home, process="popd", ignore_sigterm=True)
    assert msgsrv("stop", clients, timeout_ms=8000).rc == SUCCESS
    wait_for(lambda: "popd stopped on purpose" in ms.log("watcher"), what="the watcher seeing popd stop")
    assert "restarting pop" not in ms.log("watcher") and ms.pids("popd") == []
    os.unlink(control.control_path(ms.home))
    assert msgsrv("start", clients).rc == SUCCESS
    for _ in range(2):  # two more crashes within 600 s: the third in all
        (pid,) = wait_for(lambda: ms.pids("imapd"), what="imapd running")
        wait_for(lambda: answers(ms.ip, ms.ports["imap"]), what="imapd answering")  # so: registered
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: ms.pids("imapd") != [pid], what="imapd gone")
    wait_for(lambda: not ms.pids("watcher"), what="the watcher giving up")
    assert "giving up" in ms.log("watcher")
    result = msgsrv.monitor(core)
    assert result.rc == GENERIC and "the watcher is not running" in result.reason


def test_two_instances_on_one_node_must_not_share_a_job_controller_port(msgsrv, mslab):
    first = mslab.instance("one")
    second = mslab.instance("two", job_controller_port=first.ports["job_controller"])
    for ms in (first, second):
        assert msgsrv("start", ms.core()).rc == SUCCESS
    assert msgsrv("start", first.mta()).rc == SUCCESS
    result = msgsrv("start", second.mta())
    assert result.rc == GENERIC
    assert f"job_controller TCP_PORT {first.ports['job_controller']} held by pid" in result.reason
    assert len(result.reason.encode()) <= 128


def test_seed_004s_msstart_launcher(msgsrv, mslab):
    ms = mslab.instance(launchers="msstart")
    core = ms.core()
    assert msgsrv("start", core).rc == SUCCESS and all_up(ms, CORE)
    assert msgsrv("stop", core).rc == SUCCESS and ms.pids() == []


def test_an_ims5_instance_needs_its_registry_on_every_node(msgsrv, mslab):
    assert not os.path.exists(layout.REGISTRY), "this test needs a machine without iMS 5.x"
    ms = mslab.instance("srv", instance="mail1")
    result = msgsrv("validate-all", ms.core())
    assert result.rc == INSTALLED and "/etc/msgregistry.inf is missing" in result.reason
    assert msgsrv.probe(ms.core()).rc == NOT_RUNNING
    # The registry must list the instance by its whole name: msg-mail10 is another instance.
    try:
        with open(layout.REGISTRY, "x", encoding="utf-8") as registry:
            registry.write(f"{ms.inst.server_root}/msg-mail10\n")
        result = msgsrv("validate-all", ms.core())
        assert result.rc == INSTALLED and "does not list msg-mail1" in result.reason
        with open(layout.REGISTRY, "a", encoding="utf-8") as registry:
            registry.write(f"{ms.inst.server_root}/msg-mail1\n")
        assert msgsrv("validate-all", ms.core()).rc == SUCCESS
    finally:
        os.unlink(layout.REGISTRY)


def test_probes_are_not_running_with_the_storage_gone(msgsrv, mslab, tmp_path):
    params = {"server_root": str(tmp_path / "unmounted" / "SUNWmsgsr"), "services": "core=49994",
              "user": "root", "group": "root"}
    assert msgsrv.probe(params).rc == NOT_RUNNING
    assert msgsrv("start", params).rc == INSTALLED
    assert msgsrv("stop", params).rc == SUCCESS


def test_ocf_tester_passes_on_a_services_resource(mslab, agent_runner):
    ms = mslab.instance()
    msgsrv = agent_runner("msgsrv")
    assert msgsrv("start", ms.core()).rc == SUCCESS
    result = ocf_tester("msgsrv", ms.clients())
    assert result.returncode == 0, result.stdout + result.stderr
