"""mailha.tools.dsinstance against real 389 Directory Server and OpenLDAP daemons."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from typing import Iterator

import pytest

from mailha.tools import dsinstance
from mailha.tools.dsinstance import InstanceError, free_port, server_tempdir, unique_name
from testkit import wait_for

HEARTBEAT_SLAPD = "/usr/lib/ocf/resource.d/heartbeat/slapd"


def ldapsearch(url: str, base: str, *extra: str,
               env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "nettimeout=10", "-H", url,
                           "-b", base, "-s", "base", *extra],
                          capture_output=True, text=True, timeout=30, env=env)


def connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def gone(pid: int) -> bool:
    """The process has exited: no /proc entry, or a zombie with no thread left (the reaper may
    not have collected it yet)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            zombie = f.read().rpartition(")")[2].split()[0] == "Z"
        return zombie and len(os.listdir(f"/proc/{pid}/task")) <= 1
    except FileNotFoundError:
        return True


@pytest.fixture()
def parent() -> Iterator[str]:
    """A traversable scratch directory for an instance root; removed even after a failure."""
    path = server_tempdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def leftovers(inst) -> list[str]:
    return [p for p in inst.owned_paths + inst.created_dirs if os.path.lexists(p)]


# --------------------------------------------------------------------------- 389-ds


def test_389ds_default_layout_create_start_stop_remove():
    inst = dsinstance.create_389ds(unique_name(), free_port())
    try:
        assert inst.config_dir == f"/etc/dirsrv/slapd-{inst.name}"
        assert os.path.isfile(os.path.join(inst.config_dir, "dse.ldif"))
        assert not inst.is_running() and not connects("127.0.0.1", inst.port)
        assert oct(os.stat(inst.password_file).st_mode & 0o777) == "0o600"

        inst.start()
        res = ldapsearch(inst.ldap_url, "cn=monitor")
        assert res.returncode == 0, res.stderr
        assert "version: 389-Directory/" in res.stdout

        pid = inst.pid()
        inst.stop()
        assert inst.pid() is None and gone(pid)
        assert not connects("127.0.0.1", inst.port)

        inst.start()  # then crash it: a killed server leaves more behind than a stopped one
        os.kill(inst.pid(), signal.SIGKILL)
    finally:
        dsinstance.remove_389ds(inst)
    assert leftovers(inst) == []
    assert not os.path.exists(f"/etc/dirsrv/slapd-{inst.name}")


def test_389ds_under_a_root_runs_from_there_only(parent):
    root = os.path.join(parent, "shared")
    inst = dsinstance.create_389ds(unique_name(), free_port(), root=root, listen_host="127.0.0.1",
                                   secure_port=free_port())
    try:
        for path in (inst.config_dir, inst.db_dir, inst.log_dir, inst.run_dir, inst.pidfile,
                     inst.lock_dir, inst.ldapi_socket, inst.password_file):
            assert path.startswith(root + "/"), path
        assert not os.path.exists(f"/etc/dirsrv/slapd-{inst.name}")
        with open(os.path.join(inst.config_dir, "dse.ldif"), encoding="utf-8") as f:
            dse = f.read()
        assert dse.count(f"/etc/dirsrv/slapd-{inst.name}") == dse.count(inst.config_dir) > 0
        assert "nsslapd-listenhost: 127.0.0.1" in dse

        # As another node would start it: no database environment of its own yet in /dev/shm,
        # and the bare daemon command, nothing else.
        shutil.rmtree(f"/dev/shm/slapd-{inst.name}")
        subprocess.run(inst.command, check=True, capture_output=True, timeout=60)
        assert wait_for(lambda: connects("127.0.0.1", inst.port), 60, "the instance's LDAP port")
        assert ldapsearch(inst.ldap_url, "cn=monitor").returncode == 0
        self_signed = dict(os.environ, LDAPTLS_REQCERT="never")
        tls = ldapsearch(inst.ldaps_url, "cn=monitor", env=self_signed)
        assert tls.returncode == 0, tls.stderr
        # nsslapd-listenhost: bound to 127.0.0.1 only, not to the rest of 127/8.
        assert not connects("127.0.0.2", inst.port)
        inst.stop()
        assert not inst.is_running()
    finally:
        dsinstance.remove_389ds(inst)
    assert leftovers(inst) == []
    assert os.listdir(parent) == []


def test_389ds_test_user_binds(ds389, user_password_file, tmp_path):
    dn = dsinstance.add_test_user(ds389, "mailha-probe", user_password_file)
    assert dn == f"uid=mailha-probe,ou=people,{ds389.suffix}"
    who = subprocess.run(["ldapwhoami", "-x", "-H", ds389.ldap_url, "-D", dn, "-y",
                          user_password_file], capture_output=True, text=True, timeout=30)
    assert who.returncode == 0 and dn in who.stdout

    # Adding it again resets the password instead of failing.
    other = tmp_path / "other.pw"
    other.write_text("another-Secret-1")
    assert dsinstance.add_test_user(ds389, "mailha-probe", str(other)) == dn
    old = subprocess.run(["ldapwhoami", "-x", "-H", ds389.ldap_url, "-D", dn, "-y",
                          user_password_file], capture_output=True, text=True, timeout=30)
    assert old.returncode == 49  # invalid credentials


def test_389ds_name_collision_is_refused_and_harmless(ds389):
    with pytest.raises(InstanceError, match="already exists"):
        dsinstance.create_389ds(ds389.name, free_port())
    assert ds389.is_running()
    assert os.path.isfile(os.path.join(ds389.config_dir, "dse.ldif"))


def test_389ds_failed_create_leaves_nothing():
    busy = socket.socket()
    busy.bind(("0.0.0.0", 0))
    busy.listen()
    name = unique_name()
    try:
        with pytest.raises(InstanceError, match="in use"):
            dsinstance.create_389ds(name, busy.getsockname()[1])
    finally:
        busy.close()
    for path in (f"/etc/dirsrv/slapd-{name}", f"/var/lib/dirsrv/slapd-{name}",
                 f"/var/log/dirsrv/slapd-{name}", f"/run/lock/dirsrv/slapd-{name}",
                 f"/run/slapd-{name}.socket", f"/dev/shm/slapd-{name}",
                 f"/run/dirsrv/slapd-{name}.stats", f"/dev/shm/sem.slapd-{name}.stats"):
        assert not os.path.exists(path), path


def test_389ds_stale_pid_file_is_not_a_server(ds389):
    """The pid file outlives ns-slapd; a pid that is not this instance is never signalled."""
    ds389.stop()
    try:
        assert os.path.exists(ds389.pidfile)  # ns-slapd leaves it behind
        with open(ds389.pidfile, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")  # pid reuse: now an unrelated live process
        assert not ds389.is_running()
        ds389.stop()  # must not signal us
    finally:
        ds389.start()
    assert ldapsearch(ds389.ldap_url, "cn=monitor").returncode == 0


def test_password_file_with_newline_is_refused(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("Secret123!\n")
    name = unique_name()
    with pytest.raises(InstanceError, match="newline"):
        dsinstance.create_389ds(name, free_port(), password_file=str(pw))
    assert not os.path.exists(f"/etc/dirsrv/slapd-{name}")


# --------------------------------------------------------------------------- OpenLDAP


def test_openldap_create_start_stop_remove(parent):
    inst = dsinstance.create_openldap(unique_name(), free_port(), os.path.join(parent, "ldap"))
    try:
        assert os.path.isdir(os.path.join(inst.config_dir, "cn=config"))
        assert not inst.is_running()
        inst.start()
        dse = ldapsearch(inst.ldap_url, "", "namingContexts")
        assert dse.returncode == 0 and f"namingContexts: {inst.suffix}" in dse.stdout
        # cn=Monitor: readable by the root DN, hidden from anonymous users (32: no such object).
        mon = ldapsearch(inst.ldap_url, "cn=monitor", "-D", inst.root_dn, "-y", inst.password_file)
        assert mon.returncode == 0 and "dn: cn=Monitor" in mon.stdout
        assert ldapsearch(inst.ldap_url, "cn=monitor").returncode == 32
        inst.stop()
        assert not inst.is_running() and not connects("127.0.0.1", inst.port)
    finally:
        dsinstance.remove_openldap(inst)
    assert leftovers(inst) == []
    assert os.listdir(parent) == []


def test_openldap_without_monitor_database(openldap_factory):
    inst = openldap_factory(monitor_db=False)
    mon = ldapsearch(inst.ldap_url, "cn=monitor", "-D", inst.root_dn, "-y", inst.password_file)
    assert mon.returncode == 32
    assert ldapsearch(inst.ldap_url, "", "namingContexts").returncode == 0


def test_openldap_test_user_binds(openldap, user_password_file):
    dn = dsinstance.add_test_user(openldap, "mailha-probe", user_password_file)
    who = subprocess.run(["ldapwhoami", "-x", "-H", openldap.ldap_url, "-D", dn, "-y",
                          user_password_file], capture_output=True, text=True, timeout=30)
    assert who.returncode == 0 and dn in who.stdout
    # Stored hashed, not in clear.
    entry = ldapsearch(openldap.ldap_url, dn, "userPassword", "-D", openldap.root_dn, "-y",
                       openldap.password_file)
    with open(user_password_file, encoding="utf-8") as f:
        assert f.read() not in entry.stdout


def test_openldap_is_what_the_heartbeat_agent_manages(openldap_factory):
    """ocf:heartbeat:slapd starts, monitors and stops the instance with its usual parameters."""
    inst = openldap_factory()
    inst.stop()
    env = dict(os.environ, OCF_ROOT="/usr/lib/ocf", OCF_RESOURCE_INSTANCE="dsinstance-test",
               OCF_RESKEY_config=inst.config_dir, OCF_RESKEY_pidfile=inst.pidfile,
               OCF_RESKEY_services=inst.services, OCF_RESKEY_user=inst.user,
               OCF_RESKEY_group=inst.group)

    def agent(action: str) -> int:
        return subprocess.run([HEARTBEAT_SLAPD, action], env=env, capture_output=True,
                              timeout=60).returncode

    assert agent("monitor") == 7  # OCF_NOT_RUNNING
    assert agent("start") == 0 and inst.is_running()
    assert agent("monitor") == 0
    assert agent("stop") == 0 and not inst.is_running()
    assert agent("monitor") == 7


def test_openldap_stop_ends_a_frozen_server(openldap):
    pid = openldap.pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        openldap.stop(timeout=5)
        assert gone(pid)
    finally:
        openldap.start()
    assert ldapsearch(openldap.ldap_url, "", "namingContexts").returncode == 0


def test_openldap_root_the_daemon_cannot_reach_is_refused(parent):
    os.chmod(parent, 0o700)
    with pytest.raises(InstanceError, match="not searchable by openldap"):
        dsinstance.create_openldap(unique_name(), free_port(), os.path.join(parent, "ldap"))
    assert os.listdir(parent) == []


def test_two_openldap_instances_do_not_see_each_other(openldap, openldap_factory):
    second = openldap_factory()
    assert second.pid() != openldap.pid()
    second.stop()
    try:
        assert openldap.is_running() and not second.is_running()
    finally:
        second.start()


def test_command_line_drives_an_instance_through_a_state_file(parent, tmp_path):
    state = str(tmp_path / "inst.json")
    port = free_port()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mailha.tools.dsinstance", *args, "--state", state],
                              capture_output=True, text=True, timeout=120)

    root = os.path.join(parent, "ldap")
    created = cli("create-openldap", unique_name(), str(port), "--root", root, "--start")
    assert created.returncode == 0, created.stderr
    assert ldapsearch(f"ldap://127.0.0.1:{port}/", "", "namingContexts").returncode == 0
    assert cli("stop").returncode == 0 and not connects("127.0.0.1", port)
    assert cli("remove").returncode == 0
    assert not os.path.exists(state) and os.listdir(parent) == []
    refused = cli("create-openldap", "bad name", str(port), "--root", root)
    assert refused.returncode == 1 and "instance name" in refused.stderr
