"""``ocf:mailha:adminsrv`` against the Administration Server emulator: uxwdog and its ns-httpd
servers of one server root, bound to a virtual IP (a loopback address), the configuration
directory a listener the test can take down."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest
from admintest import ADMIN_PASSWORD, DB_PASSWORD, adminlab_fixture  # noqa: F401
from gwtest import refused
from ocftools import ocf_tester
from testkit import wait_for

pytestmark = [pytest.mark.real_daemon, pytest.mark.agent_lifecycle]

SUCCESS, GENERIC, INSTALLED, CONFIGURED, NOT_RUNNING, DEGRADED = 0, 1, 5, 6, 7, 190


@pytest.fixture
def adminsrv(agent_runner):
    return agent_runner("adminsrv")


def fault(admin, process: str, **knobs: object) -> None:
    """Write the emulator's control file for one of the two processes."""
    with open(os.path.join(admin.root, "mailha-sim.json"), "w", encoding="utf-8") as handle:
        json.dump(dict(knobs, process=process), handle)


def test_start_monitor_stop_of_one_installation_on_its_virtual_ip(adminsrv, adminlab):
    admin = adminlab.server()
    params = admin.params()
    assert adminsrv.probe(params).rc == NOT_RUNNING
    assert adminsrv("validate-all", params).rc == SUCCESS
    assert adminsrv("start", params).rc == SUCCESS
    assert len(admin.pids("uxwdog")) == 1 and len(admin.pids("ns-httpd")) >= 2  # "several ns-httpd"
    assert refused("127.0.0.1", admin.port)  # bound to the virtual IP alone
    assert adminsrv.monitor(params, check_level=10).rc == SUCCESS  # an authenticated request
    first = admin.pids()
    assert adminsrv("start", params).rc == SUCCESS and admin.pids() == first  # started once
    assert adminsrv("stop", params).rc == SUCCESS
    assert admin.pids() == []
    assert adminsrv("stop", params).rc == SUCCESS
    assert adminsrv.probe(params).rc == NOT_RUNNING


def test_a_rejected_admin_login_is_degraded_not_stopped(adminsrv, adminlab):
    admin = adminlab.server()
    assert adminsrv("start", admin.params(admin_password="not-it")).rc == SUCCESS  # up, and says the login fails
    result = adminsrv.monitor(admin.params(admin_password="not-it"), check_level=10)
    assert result.rc == DEGRADED and "admin_user/admin_password" in result.reason
    assert "not-it" not in result.stderr
    assert adminsrv.monitor(admin.params(admin_user=None, admin_password=None), check_level=10).rc == SUCCESS


def test_ssl_gets_the_trust_database_password_in_a_pin_file_made_for_the_start(adminsrv, adminlab):
    admin = adminlab.server(ssl=True)
    pin = admin.admin.pin_file
    fault(admin, "ns-httpd", start_delay=1.5)  # time to look at the pin file while start-admin runs
    seen: list[int] = []

    def watch() -> None:
        def look() -> bool:
            try:
                seen.append(os.stat(pin).st_mode)
            except FileNotFoundError:
                return False
            return True

        wait_for(look, 30, "the pin file")

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = adminsrv("start", admin.params())
    watcher.join()
    assert result.rc == SUCCESS, result.stderr
    assert stat.S_IMODE(seen[0]) == 0o600
    assert not os.path.exists(pin)  # removed once the start is over
    assert adminsrv.monitor(admin.params(), check_level=10).rc == SUCCESS  # HTTPS, authenticated
    for proc in admin.processes():
        assert DB_PASSWORD not in " ".join(proc.cmdline())
        assert not any(DB_PASSWORD in v or ADMIN_PASSWORD in v for v in proc.environ().values())
        assert not any(k.startswith("OCF_RESKEY_") for k in proc.environ())
    assert DB_PASSWORD not in result.stderr and DB_PASSWORD not in admin.log()


def test_ssl_without_the_right_trust_database_password_does_not_start(adminsrv, adminlab):
    admin = adminlab.server(ssl=True)
    result = adminsrv("start", admin.params(ssl_db_password=None))
    assert result.rc == CONFIGURED and "ssl_db_password" in result.reason
    result = adminsrv("start", admin.params(ssl_db_password="not-the-password"))
    assert result.rc == GENERIC and "trust database" in result.reason
    assert admin.pids() == [] and not os.path.exists(admin.admin.pin_file)


def test_a_pin_file_left_by_a_node_fenced_mid_start_is_removed_by_the_next(adminsrv, adminlab, tmp_path):
    """The pin file is on the shared storage, the agent's state on the node: the node that takes
    over (another HA_RSCTMP) still knows the file is the agent's, by its marker beside it."""
    admin = adminlab.server(ssl=True)
    pin = admin.admin.pin_file
    for path, text in ((pin + ".mailha-pin", ""), (pin, f"internal:{DB_PASSWORD}\n")):
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
            handle.write(text)
    other_node = {"HA_RSCTMP": str(tmp_path / "other-node")}
    assert adminsrv("start", admin.params(), extra=other_node).rc == SUCCESS
    assert not os.path.exists(pin) and not os.path.exists(pin + ".mailha-pin")
    assert adminsrv("stop", admin.params(), extra=other_node).rc == SUCCESS


def test_an_admins_own_pin_file_is_used_and_never_touched(adminsrv, adminlab):
    admin = adminlab.server(ssl=True)
    pin = admin.admin.pin_file
    with open(pin, "w", encoding="utf-8") as handle:
        handle.write(f"internal:{DB_PASSWORD}\n")
    os.chmod(pin, 0o400)
    before = os.stat(pin)
    assert adminsrv("start", admin.params(ssl_db_password=None)).rc == SUCCESS
    assert adminsrv("stop", admin.params(ssl_db_password="something-else")).rc == SUCCESS
    after = os.stat(pin)
    assert (after.st_ino, after.st_mtime_ns, stat.S_IMODE(after.st_mode)) == (before.st_ino, before.st_mtime_ns, 0o400)


def test_start_waits_for_the_configuration_directory_within_its_timeout(adminsrv, adminlab):
    """Configuration 2: ordered after the directory, not colocated with it (an optional order
    does not hold the start back while the directory is still coming up)."""
    admin = adminlab.server()
    adminlab.directory.close()
    result = adminsrv("start", admin.params(), timeout_ms=8000)
    assert result.rc == GENERIC and "configuration directory" in result.reason
    assert "failure-timeout" in result.stderr and admin.pids() == []
    later = threading.Timer(1.5, adminlab.directory.open)  # the directory comes up during the start
    later.start()
    try:
        result = adminsrv("start", admin.params())
    finally:
        later.join()
    assert result.rc == SUCCESS and "waiting for the configuration directory" in result.stderr


def test_uxwdog_alive_with_its_server_dead_fails_the_monitor_and_stop_ends_it(adminsrv, adminlab):
    admin = adminlab.server()
    params = admin.params()
    assert adminsrv("start", params).rc == SUCCESS
    fault(admin, "ns-httpd", fault="crash")
    wait_for(lambda: not admin.pids("ns-httpd"), 20, "ns-httpd to die")
    assert admin.pids("uxwdog")
    result = adminsrv.monitor(params)
    assert result.rc == GENERIC and "Administration Server" in result.reason
    assert adminsrv("stop", params).rc == SUCCESS
    assert admin.pids() == []


def test_a_hung_server_fails_the_second_level_within_the_monitor_timeout(adminsrv, adminlab):
    admin = adminlab.server()
    params = admin.params()
    assert adminsrv("start", params).rc == SUCCESS
    fault(admin, "ns-httpd", fault="hang")
    wait_for(lambda: "fault hang" in admin.log(), 20, "the server to read the fault")
    first_level = dict(params, second_level_monitor=0)
    assert adminsrv.monitor(first_level).rc == SUCCESS  # the processes run
    result = adminsrv.monitor(first_level, check_level=10, timeout_ms=6000, enforce_timeout=True)
    assert result.rc == GENERIC and "does not answer" in result.reason


def test_stop_kills_what_stop_admin_leaves_of_this_installation_only(adminsrv, adminlab):
    admin, other = adminlab.server("one"), adminlab.server("two")
    assert adminsrv("start", admin.params()).rc == SUCCESS
    assert adminsrv("start", other.params()).rc == SUCCESS
    theirs = other.pids()
    fault(admin, "uxwdog", ignore_sigterm=True)
    wait_for(lambda: "ignore_sigterm True" in admin.log(), 20, "the watchdog to read the fault")
    assert adminsrv("stop", admin.params()).rc == SUCCESS
    assert admin.pids() == []
    assert other.pids() == theirs  # another installation's processes are not this one's
    assert adminsrv.monitor(other.params(), check_level=10).rc == SUCCESS


@pytest.mark.parametrize("change, words", [
    ({"port": 1}, "magnus.conf has Port"),
    ({"ssl": "true", "ssl_db_password": "x"}, "magnus.conf has Security off"),
    ({"ip_address": "127.0.0.9"}, "magnus.conf has Address"),
])
def test_magnus_conf_must_agree_with_the_parameters(adminsrv, adminlab, change, words):
    admin = adminlab.server()
    for action in ("validate-all", "start"):
        result = adminsrv(action, admin.params(**change))
        assert result.rc == CONFIGURED and words in result.reason, result.stderr
    assert admin.pids() == []


def test_an_unbound_server_is_refused_when_an_address_is_given(adminsrv, adminlab):
    admin = adminlab.server(bound=False)
    result = adminsrv("start", admin.params())
    assert result.rc == CONFIGURED and "(all addresses)" in result.reason
    assert adminsrv("start", admin.params(ip_address=None)).rc == SUCCESS
    assert adminsrv.monitor(admin.params(ip_address=None), check_level=10).rc == SUCCESS  # on loopback


def test_admin_user_and_password_go_together(adminsrv, adminlab):
    admin = adminlab.server()
    result = adminsrv("validate-all", admin.params(admin_password=None))
    assert result.rc == CONFIGURED and "admin_password" in result.reason


def test_probes_are_not_running_with_the_storage_gone(adminsrv, tmp_path):
    params = {"server_root": str(tmp_path / "unmounted" / "serverroot")}
    assert adminsrv.probe(params).rc == NOT_RUNNING
    result = adminsrv("start", params)
    assert result.rc == INSTALLED and "server_root" in result.reason
    assert adminsrv("stop", params).rc == SUCCESS


def test_ocf_tester_passes(adminlab):
    admin = adminlab.server()
    result = ocf_tester("adminsrv", admin.params())
    assert result.returncode == 0, result.stdout + result.stderr
