"""``ocf:mailha:ldap`` against real 389 Directory Server and OpenLDAP instances.

Every test drives the installed agent as Pacemaker does (``/usr/bin/python3``, an OCF
environment, exit codes) and checks what a client sees with an independent LDAP client.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess

import pytest

from mailha.tools import dsinstance
from mailha.tools.dsinstance import free_port, read_password_file
from mailha.proc import ProcessMatch, find, read_process
from ocftools import CrmResource, ocf_tester
from testkit import wait_for

pytestmark = [pytest.mark.real_daemon, pytest.mark.agent_lifecycle]

SUCCESS, GENERIC, INSTALLED, CONFIGURED, NOT_RUNNING, DEGRADED = 0, 1, 5, 6, 7, 190


def ldap_answers(host: str, port: int) -> bool:
    """An independent client: OpenLDAP's ldapsearch reading the root DSE."""
    done = subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "nettimeout=3", "-H", f"ldap://{host}:{port}",
                           "-s", "base", "-b", "", "objectClass"], capture_output=True, timeout=30)
    return done.returncode == 0


def server_pids(params: dict) -> list[int]:
    marker = params.get("config_dir")
    return [p.pid for p in find(ProcessMatch(exe_names=("ns-slapd", "slapd"), cmdline_contains=(marker,)),
                                 every=True)]


def ds_params(inst: dsinstance.DsInstance, **extra) -> dict:
    params = {"server_type": "389ds", "instance": inst.name, "config_dir": inst.config_dir,
              "pidfile": inst.pidfile, "port": inst.port}
    params.update(extra)
    return params


def slapd_params(inst: dsinstance.SlapdInstance, **extra) -> dict:
    params = {"server_type": "openldap", "config_dir": inst.config_dir, "pidfile": inst.pidfile,
              "port": inst.port, "listen_address": "127.0.0.1", "user": inst.user, "group": inst.group}
    params.update(extra)
    return params


@pytest.fixture(scope="module")
def ds(ds389_factory):
    inst = ds389_factory(secure_port=free_port())
    inst.stop()  # from here on the agent manages it
    return inst


@pytest.fixture(scope="module")
def slapd(openldap_factory):
    inst = openldap_factory()
    inst.stop()
    return inst


@pytest.fixture(params=["389ds", "openldap"])
def server(request, ds, slapd):
    """(instance, agent parameters) for each server type; left stopped after the test."""
    return (ds, ds_params(ds)) if request.param == "389ds" else (slapd, slapd_params(slapd))


@pytest.fixture
def ldap(agent_runner):
    return agent_runner("ldap")


def test_lifecycle_probe_start_monitor_stop_is_idempotent(ldap, server):
    inst, params = server
    assert ldap("monitor", params, interval=0).rc == NOT_RUNNING
    assert ldap("validate-all", params).rc == SUCCESS

    assert ldap("start", params).rc == SUCCESS
    assert ldap_answers("127.0.0.1", inst.port)
    assert ldap("monitor", params, interval=10000).rc == SUCCESS
    assert ldap("monitor", params, interval=0).rc == SUCCESS
    assert ldap("start", params).rc == SUCCESS  # a second start changes nothing
    assert len(server_pids(params)) == 1

    assert ldap("stop", params).rc == SUCCESS
    assert not server_pids(params)
    assert not ldap_answers("127.0.0.1", inst.port)
    assert ldap("stop", params).rc == SUCCESS
    assert ldap("monitor", params, interval=10000).rc == NOT_RUNNING


def test_killed_server_is_not_running_and_starts_again_over_its_stale_pid_file(ldap, server):
    inst, params = server
    assert ldap("start", params).rc == SUCCESS
    for pid in server_pids(params):
        os.kill(pid, signal.SIGKILL)
    assert wait_gone(params)
    assert ldap("monitor", params, interval=10000).rc == NOT_RUNNING
    assert ldap("monitor", params, interval=0).rc == NOT_RUNNING
    assert ldap("start", params).rc == SUCCESS
    assert ldap_answers("127.0.0.1", inst.port)


def wait_gone(params: dict) -> bool:
    import time

    end = time.monotonic() + 10
    while time.monotonic() < end:
        if not server_pids(params):
            return True
        time.sleep(0.05)
    return False


def test_frozen_server_fails_the_second_level_within_the_monitor_timeout(ldap, server):
    inst, params = server
    assert ldap("start", params).rc == SUCCESS
    (pid,) = server_pids(params)
    os.kill(pid, signal.SIGSTOP)
    # kill() only queues the stop: a daemon was seen answering with SIGSTOP still pending
    wait_for(lambda: read_process(pid, need_argv=False).state == "T", 20, "the server to stop")
    result = ldap("monitor", params, interval=10000, timeout_ms=5000, enforce_timeout=True)
    assert result.rc == GENERIC
    assert "no answer" in result.reason
    # Pacemaker's recovery stops it: a stopped process must still go, within the stop timeout.
    assert ldap("stop", params, timeout_ms=20000, enforce_timeout=True).rc == SUCCESS
    assert not server_pids(params)


def test_stale_pid_file_naming_an_unrelated_process_is_not_the_server(ldap, slapd, tmp_path):
    params = slapd_params(slapd, pidfile=str(tmp_path / "stale.pid"))
    (tmp_path / "stale.pid").write_text(f"{os.getpid()}\n")  # alive, but it is pytest
    assert ldap("monitor", params, interval=0).rc == NOT_RUNNING
    assert ldap("start", params).rc == SUCCESS
    assert ldap("monitor", params, interval=10000).rc == SUCCESS


def sigterm_ignoring_preload(directory: os.PathLike | str) -> str:
    """Build ignore_sigterm.c (next to this file) into *directory*; the path of the library.

    Loaded with LD_PRELOAD, it turns every SIGTERM handler the program installs into SIG_IGN.
    It needs a C compiler and libc headers, which ./run installs: without them the test fails."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the SIGTERM-ignoring preload library: "
                    "apt-get install gcc libc6-dev (./run installs them)")
    library = os.path.join(str(directory), "ignore_sigterm.so")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ignore_sigterm.c")
    done = subprocess.run(["gcc", "-Wall", "-Werror", "-shared", "-fPIC", "-o", library, source, "-ldl"],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"could not build {source} (gcc and libc6-dev needed): {done.stderr.strip()}")
    return library


def ignored_signals(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("SigIgn:")).split()[1], 16)


def test_server_ignoring_sigterm_is_killed_before_the_stop_timeout(ldap, slapd, tmp_path):
    # The real slapd ignores SIGTERM, as a hung or misbehaving daemon would: a preload library
    # (passed on by the agent, as its whole environment but OCF_RESKEY_*) turns slapd's own
    # SIGTERM handler into SIG_IGN.  It works alike on any Linux with gcc.  Not chosen: injecting
    # a call with a debugger (fails on some machines of this kind); a cgroup freezer (v2 needs a
    # writable cgroup2 hierarchy, found in different places or read-only in containers; a task
    # frozen by v1 survives even SIGKILL until thawed); SIGSTOP (the stop sends SIGCONT).
    params = slapd_params(slapd)
    preload = sigterm_ignoring_preload(tmp_path)
    assert ldap("start", params, extra={"LD_PRELOAD": preload}).rc == SUCCESS
    (pid,) = server_pids(params)
    assert ignored_signals(pid) & (1 << (signal.SIGTERM - 1)), \
        f"slapd (pid {pid}) does not ignore SIGTERM: {preload} was not preloaded into it"

    log = tmp_path / "agent.log"
    result = ldap("stop", params, timeout_ms=8000, enforce_timeout=True, extra={"HA_LOGFILE": str(log)})
    assert result.rc == SUCCESS
    assert not server_pids(params)
    # SIGTERM was not acted on: the stop had to escalate to SIGKILL for the server itself.
    killed = re.findall(r"SIGKILL needed for pid\(s\) ([\d, ]+)", log.read_text())
    assert killed and str(pid) in killed[-1].replace(",", " ").split(), log.read_text()


def test_configuration_on_unmounted_storage(ldap, tmp_path):
    params = {"server_type": "389ds", "instance": "notmounted",
              "config_dir": str(tmp_path / "san" / "etc" / "dirsrv" / "slapd-notmounted"), "port": free_port()}
    assert ldap("monitor", params, interval=0).rc == NOT_RUNNING
    result = ldap("start", params)
    assert result.rc == INSTALLED
    assert "mounted" in result.reason
    assert ldap("stop", params).rc == SUCCESS


def test_two_instances_on_one_node_never_see_each_other(ldap):
    parent = dsinstance.server_tempdir()  # searchable by the openldap user, unlike tmp_path
    made = []
    try:
        for name in ("a", "ab"):  # one instance path a prefix of the other's
            made.append(dsinstance.create_openldap(dsinstance.unique_name(), free_port(),
                                                   os.path.join(parent, name)))
        a, b = (slapd_params(inst) for inst in made)
        assert ldap("start", a).rc == SUCCESS
        assert ldap("monitor", b, interval=0).rc == NOT_RUNNING
        assert ldap("start", b).rc == SUCCESS
        assert ldap("stop", a).rc == SUCCESS
        assert ldap("monitor", a, interval=10000).rc == NOT_RUNNING
        assert ldap("monitor", b, interval=10000).rc == SUCCESS
        assert ldap_answers("127.0.0.1", made[1].port)
        # The directory holding both instances identifies neither: a probe finds nothing and a
        # stop kills nothing (it used to report "running" and kill both).
        assert ldap("start", a).rc == SUCCESS
        above = dict(a, config_dir=parent, pidfile=None)
        assert ldap("monitor", above, interval=0).rc == NOT_RUNNING
        before = server_pids(a) + server_pids(b)
        assert len(before) == 2
        assert ldap("stop", above).rc == SUCCESS
        assert server_pids(a) + server_pids(b) == before
    finally:
        ldap.stop_everything_started()
        for inst in made:
            dsinstance.remove_openldap(inst)
        shutil.rmtree(parent, ignore_errors=True)


def environment_of(pid: int) -> dict[bytes, bytes]:
    with open(f"/proc/{pid}/environ", "rb") as handle:
        return dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)


def assert_no_secrets(pid: int, *secrets: str) -> None:
    """The server process got no resource parameter, the C locale, and no secret anywhere."""
    environ = environment_of(pid)
    assert not [key for key in environ if key.startswith(b"OCF_RESKEY_")], environ.keys()
    assert environ.get(b"LC_ALL") == b"C"
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        argv = handle.read()
    for secret in secrets:
        assert secret.encode() not in b"".join(environ.values()) and secret.encode() not in argv


def test_secrets_never_reach_the_server_process(ldap, server):
    _inst, params = server
    secrets = ("Bind-Marker-7731", "Test-Marker-9902")
    params = dict(params, bind_dn="cn=mailha-nobody", password=secrets[0], test_user_dn="cn=mailha-probe",
                  test_password=secrets[1])
    result = ldap("start", params)
    assert result.rc == SUCCESS  # the bind is rejected: degraded, but running
    (pid,) = server_pids(params)
    assert_no_secrets(pid, *secrets)


def test_start_never_changes_an_existing_directory_it_does_not_own(ldap, ds, tmp_path):
    # pidfile=/run/slapd-mail.pid once chowned /run to dirsrv: an existing directory is never
    # changed, whatever the start's outcome.
    parent = tmp_path / "root-owned"
    parent.mkdir(mode=0o755)
    before = os.stat(parent)
    params = ds_params(ds, pidfile=str(parent / "slapd.pid"))
    ldap("start", params)
    after = os.stat(parent)
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)
    assert ldap("stop", params).rc == SUCCESS


def test_389ds_is_bound_to_the_virtual_ip_alone(ldap, ds):
    params = ds_params(ds, listen_address="127.0.0.2")
    assert ldap("start", params).rc == SUCCESS
    assert ldap_answers("127.0.0.2", ds.port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", ds.port), timeout=5).close()
    assert any(name.startswith("dse.ldif.mailha-bak.") for name in os.listdir(ds.config_dir))
    assert ldap("monitor", params, interval=10000).rc == SUCCESS
    assert ldap("stop", params).rc == SUCCESS
    # back to all addresses for the other tests
    from mailha.directory import dse

    dse.set_config(os.path.join(ds.config_dir, "dse.ldif"), {"nsslapd-listenhost": None,
                                                             "nsslapd-securelistenhost": None})


def test_start_names_the_process_holding_the_port(ldap, slapd):
    params = slapd_params(slapd, listen_address="127.0.0.3")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.3", slapd.port))
        squatter.listen()
        result = ldap("start", params)
    assert result.rc == GENERIC
    assert "is held by" in result.reason and str(os.getpid()) in result.reason
    assert not server_pids(params)


def test_listen_address_not_on_this_node_is_refused(ldap, slapd):
    params = slapd_params(slapd, listen_address="192.0.2.77")  # TEST-NET-1: never local here
    result = ldap("start", params)
    assert result.rc == GENERIC
    assert "not configured on this node" in result.reason


def test_rejected_monitor_bind_is_degraded_never_a_configuration_error_and_never_leaks(ldap, ds, tmp_path):
    # A password that expires or is changed at run time must not stop the service on every node
    # (6 would): the server answers, so the resource runs, degraded, with the fix as the reason.
    password = read_password_file(ds.password_file)
    debuglog = tmp_path / "debug.log"
    extra = {"HA_DEBUGLOG": str(debuglog), "HA_debug": "1"}
    good = ds_params(ds, bind_dn=ds.root_dn, password=password)
    bad = ds_params(ds, bind_dn=ds.root_dn, password="wrong-" + password)
    assert ldap("start", good, extra=extra).rc == SUCCESS
    assert ldap("monitor", good, interval=10000, extra=extra).rc == SUCCESS
    result = ldap("monitor", bad, interval=10000, extra=extra)
    assert result.rc == DEGRADED
    assert "bind_dn/password" in result.reason
    assert "WARNING: running, degraded" in debuglog.read_text()  # logged on every such monitor
    for text in (result.stderr, result.stdout, debuglog.read_text()):
        assert password not in text


def test_cibsecret_stored_password_is_used(ldap, ds, agent_runner):
    password = read_password_file(ds.password_file)
    rsc = "mailha-test-cibsecret"
    secrets_dir = f"/var/lib/pacemaker/lrm/secrets/{rsc}"
    os.makedirs(secrets_dir, exist_ok=True)
    try:
        # what `cibsecret set` writes on each node: the value and its md5 sign
        with open(f"{secrets_dir}/password", "w") as handle:
            handle.write(password + "\n")
        with open(f"{secrets_dir}/password.sign", "w") as handle:
            handle.write(hashlib.md5(password.encode()).hexdigest() + "\n")
        run = agent_runner("ldap", instance=rsc)
        params = ds_params(ds, bind_dn=ds.root_dn, password="lrm://")
        assert run("start", params).rc == SUCCESS
        assert run("monitor", params, interval=10000).rc == SUCCESS
        assert run("stop", params).rc == SUCCESS
    finally:
        shutil.rmtree(secrets_dir, ignore_errors=True)


def test_ssl_port_must_answer(ldap, ds):
    assert ds.secure_port
    params = ds_params(ds, ssl_port=ds.secure_port)
    assert ldap("start", params).rc == SUCCESS
    assert ldap("monitor", params, interval=10000).rc == SUCCESS
    closed = ds_params(ds, ssl_port=free_port())
    result = ldap("monitor", closed, interval=10000)
    assert result.rc == GENERIC
    assert "refused" in result.reason


def test_test_user_login_is_the_synthetic_transaction(ldap, slapd, tmp_path):
    password_file = tmp_path / "user.pw"
    password_file.write_text("probe-Pass-123")
    os.chmod(password_file, 0o600)
    params = slapd_params(slapd)
    assert ldap("start", params).rc == SUCCESS
    dn = dsinstance.add_test_user(slapd, "mailha-probe", str(password_file))
    good = dict(params, test_user_dn=dn, test_password="probe-Pass-123")
    assert ldap("monitor", good, interval=10000, check_level=20).rc == SUCCESS
    bad = dict(params, test_user_dn=dn, test_password="not-the-password")
    result = ldap("monitor", bad, interval=10000, check_level=20)
    assert result.rc == DEGRADED
    assert "test_user_dn/test_password" in result.reason
    assert "not-the-password" not in result.stderr


@pytest.mark.parametrize("code, expected", [(0, SUCCESS), (110, SUCCESS), (1, NOT_RUNNING), (100, NOT_RUNNING),
                                            (3, GENERIC)])
def test_monitor_program_exit_codes(ldap, slapd, tmp_path, code, expected):
    program = tmp_path / "check.sh"
    program.write_text(f"#!/bin/sh\n[ \"$1\" = MKT ] || exit 3\necho checked\nexit {code}\n")
    program.chmod(0o755)
    params = slapd_params(slapd, monitor_program=f"{program} MKT")
    assert ldap("start", params).rc == SUCCESS
    assert ldap("monitor", params, interval=10000).rc == expected


def test_ocf_tester_passes(slapd):
    done = ocf_tester("ldap", slapd_params(slapd))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed all tests" in done.stdout


@pytest.mark.ocf_root
def test_crm_resource_drives_the_agent(slapd):
    crm = CrmResource("ldap", slapd_params(slapd))
    assert crm("--validate").returncode == 0
    try:
        assert crm("--force-start").returncode == 0
        assert crm("--force-check").returncode == 0
        assert crm("--force-check=10").returncode == 0
        assert ldap_answers("127.0.0.1", slapd.port)
    finally:
        assert crm("--force-stop").returncode == 0
    assert crm("--force-check").returncode == NOT_RUNNING
    bad = crm("--validate", options=["--option", "server_type=openldap", "--option", "port=99999"])
    assert bad.returncode == CONFIGURED
    assert "port" in bad.stdout + bad.stderr


def test_sun_directory_server_instance_root_with_its_scripts(ldap, ds):
    from mailha.sim.sunds import make_instance_root

    root = make_instance_root(ds.config_dir)
    params = {"server_type": "sunds", "instance_root": root, "port": ds.port}
    try:
        assert ldap("monitor", params, interval=0).rc == NOT_RUNNING
        assert ldap("start", dict(params, test_user_dn="cn=probe", test_password="Sun-Marker-4410")).rc == SUCCESS
        assert ldap_answers("127.0.0.1", ds.port)
        (pid,) = [p.pid for p in find(ProcessMatch(exe_names=("ns-slapd",), args=(("-D", root),)))]
        assert_no_secrets(pid, "Sun-Marker-4410")  # started by start-slapd, a shell script
        assert ldap("start", params).rc == SUCCESS  # start-slapd exits 2: already started
        assert ldap("monitor", params, interval=10000).rc == SUCCESS
        assert ldap("stop", params).rc == SUCCESS
        assert not ldap_answers("127.0.0.1", ds.port)
        assert ldap("monitor", params, interval=0).rc == NOT_RUNNING
    finally:
        for name in ("start-slapd", "stop-slapd"):
            os.unlink(os.path.join(root, name))
