"""The product-neutral lifecycle (mailha.service) on a small real service: two member processes
(Python TCP servers) declared the way an agent declares its product, run through the framework.
"""

import os
import socket
import stat
import sys
import time

import pytest

from mailha import monitor
from mailha.ocf.agent import Action, Agent
from mailha.ocf.codes import Degraded, GenericError, NotInstalled, Rc
from mailha.ocf.params import AbsPath, Choice, Param, Port, Text
from mailha.ocf.state import StateFile
from mailha.proc import ProcessMatch, find
from mailha.files import check_executable
from mailha.service import lifecycle, probing, storage
from mailha.service.model import Command, Credentials, Endpoint, Member, Service
from testkit import free_port, wait_for

# A member: a TCP server that daemonizes (double fork, like a product's launcher returning once
# its daemon runs).  SIGUSR1 closes its listener and leaves it running: a member that no longer
# answers.
SERVER = r"""
import os, signal, socket, sys, time
home, port = sys.argv[2], int(sys.argv[4])
time.sleep(float(sys.argv[6]) if len(sys.argv) > 6 else 0)  # a launcher that waits for its server
if os.fork():
    sys.exit(0)
os.setsid()
if os.fork():
    os._exit(0)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(8)
signal.signal(signal.SIGUSR1, lambda *_: s.close())
devnull = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(devnull, fd)
while True:
    try:
        c, _ = s.accept(); c.close()
    except OSError:  # closed by SIGUSR1
        signal.pause()
"""


def declare(home: str, inputs: "tuple" = (), delay_a: float = 0) -> "Agent":
    """A two-member agent whose handlers are one lifecycle call each; *inputs*: files member A's
    endpoints are said to be read from; *delay_a*: seconds A's launcher takes to return."""
    agent = Agent("svc", "Test service", "Two TCP servers.",
                  [Param("home", AbsPath(), "Instance directory", required=True, unique=True),
                   Param("port_a", Port(), "Port of A", required=True),
                   Param("port_b", Port(), "Port of B", required=True),
                   Param("password", Text(), "A secret", secret=True),
                   Param("kind", Choice("tcp", "udp"), "Server kind", default="tcp"),
                   monitor.cadence_param("Connect to both"), monitor.PROGRAM_PARAM],
                  [Action("start", 20), Action("stop", 20), Action("monitor", 20, interval=10),
                   Action("validate-all", 5), Action("meta-data", 5)])

    def service(p) -> "Service":
        members = []
        for name, port in (("a", p.port_a), ("b", p.port_b)):
            where = os.path.join(p.home, name)
            match = ProcessMatch(exe_names=(sys.executable,), args=(("-D", where),))
            members.append(Member(name.upper(), match,
                                  launch=Command([sys.executable, "-c", SERVER, "-D", where, "-p", str(port),
                                                  "-s", str(delay_a if name == "a" else 0)]),
                                  endpoints=[Endpoint(f"tcp{name}", "tcp", port)], remember=name,
                                  inputs=inputs if name == "a" else ()))
        return Service(members)

    @agent.handler("start")
    def start(ctx) -> None:
        lifecycle.start(ctx, service(ctx.params))

    @agent.handler("stop")
    def stop(ctx) -> None:
        lifecycle.stop(ctx, lambda: service(ctx.params), ProcessMatch(exe_names=(sys.executable,)),
                       identity=("kind",))

    @agent.handler("monitor")
    def do_monitor(ctx) -> int:
        return lifecycle.monitor(ctx, service(ctx.params))

    return agent


@pytest.fixture
def svc(tmp_path, ocf_run):
    home = str(tmp_path / "inst")
    os.makedirs(os.path.join(home, "a"))
    os.makedirs(os.path.join(home, "b"))
    env = {"OCF_RESOURCE_INSTANCE": "svc1", "HA_RSCTMP": str(tmp_path / "rsctmp"),
           "OCF_RESKEY_home": home, "OCF_RESKEY_port_a": str(free_port()), "OCF_RESKEY_port_b": str(free_port()),
           "OCF_RESKEY_password": "s3cret-Value", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    agent = declare(home)

    def run(action: str, **extra: str):
        return ocf_run(agent, ["svc", action], dict(env, **extra))

    run.env, run.home = env, home
    yield run
    run("stop")


def members_running(home: str) -> list:
    return [find(ProcessMatch(exe_names=(sys.executable,), args=(("-D", os.path.join(home, n)),)))
            for n in ("a", "b")]


def test_start_monitor_stop_of_a_two_member_service_is_one_call_each(svc):
    assert svc("monitor", OCF_RESKEY_CRM_meta_interval="0").rc == Rc.NOT_RUNNING
    assert svc("start").rc == Rc.SUCCESS
    assert all(members_running(svc.home))
    for port in (svc.env["OCF_RESKEY_port_a"], svc.env["OCF_RESKEY_port_b"]):
        socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()  # answering when start returns
    assert svc("monitor", OCF_RESKEY_CRM_meta_interval="10000").rc == Rc.SUCCESS
    assert svc("start").rc == Rc.SUCCESS  # already running: nothing launched twice
    assert [len(found) for found in members_running(svc.home)] == [1, 1]
    assert svc("stop").rc == Rc.SUCCESS
    assert not any(members_running(svc.home))
    assert svc("monitor", OCF_RESKEY_CRM_meta_interval="10000").rc == Rc.NOT_RUNNING


def test_one_member_missing_is_a_failure_naming_it(svc):
    assert svc("start").rc == Rc.SUCCESS
    (b,) = members_running(svc.home)[1]
    os.kill(b.pid, 9)
    wait_for(lambda: not members_running(svc.home)[1], what="B gone")
    out = svc("monitor", OCF_RESKEY_CRM_meta_interval="10000")
    assert out.rc == Rc.ERR_GENERIC
    assert "the B is not running (the A is)" in out.exit_reasons[-1]


def test_members_get_no_resource_parameters_and_the_c_locale(svc):
    assert svc("start", LANG="de_DE.UTF-8", OCF_RESKEY_CRM_meta_timeout="20000").rc == Rc.SUCCESS
    for found in members_running(svc.home):
        with open(f"/proc/{found[0].pid}/environ", "rb") as handle:
            environ = dict(item.split(b"=", 1) for item in handle.read().split(b"\0") if b"=" in item)
        assert not [k for k in environ if k.startswith(b"OCF_RESKEY_")]
        assert b"s3cret-Value" not in b"".join(environ.values())
        assert environ[b"LC_ALL"] == b"C"


def test_start_refuses_a_port_held_by_another_process_before_launching_anything(svc):
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", int(svc.env["OCF_RESKEY_port_b"])))
        squatter.listen()
        out = svc("start")
    assert out.rc == Rc.ERR_GENERIC
    assert f"pid {os.getpid()}" in out.exit_reasons[-1] and "cannot start the B" in out.exit_reasons[-1]
    assert not any(members_running(svc.home))  # A was not left half-started


def test_a_slow_launcher_may_use_its_members_share_of_the_start(svc, ocf_run):
    """start-msg store waits for the store's recovery: a launcher gets all of the start's time
    but a small reserve for the members after it (before: half of it, at most two minutes)."""
    # 20 s: before, A's launcher had 10 s; now 16 s (a reserve of 4 s for B): 12 s fails
    # before and passes now with seconds to spare on a loaded machine.
    env = dict(svc.env, OCF_RESKEY_CRM_meta_timeout="20000")
    out = ocf_run(declare(svc.home, delay_a=12), ["svc", "start"], env)
    assert out.rc == Rc.SUCCESS, out.stderr
    assert all(members_running(svc.home))


def test_start_remembers_pids_and_the_cadence_reset_keeps_them(svc, tmp_path):
    assert svc("start").rc == Rc.SUCCESS
    state = StateFile("svc", "svc1", {"HA_RSCTMP": str(tmp_path / "rsctmp")}).load()
    assert state["pid.a"].isdigit() and state["pid.b"].isdigit()


def test_stop_that_cannot_identify_the_instance_kills_nothing(svc, tmp_path, ocf_run):
    assert svc("start").rc == Rc.SUCCESS
    running = [found[0] for found in members_running(svc.home)]
    # A parameter that identifies the instance is unusable (a missing required one here):
    # processes of the product run, so stop must not guess and must not claim success.
    env = {k: v for k, v in svc.env.items() if k != "OCF_RESKEY_home"}
    out = ocf_run(declare(svc.home), ["svc", "stop"], env)
    assert out.rc == Rc.ERR_GENERIC
    assert "killed nothing" in out.exit_reasons[-1]
    assert all(info.is_same() for info in running)


def test_a_junk_identity_parameter_makes_stop_kill_nothing(svc):
    # Its default could name another instance's processes: no guessing, a failed stop instead.
    assert svc("start").rc == Rc.SUCCESS
    running = [found[0] for found in members_running(svc.home)]
    out = svc("stop", OCF_RESKEY_kind="sctp")
    assert out.rc == Rc.ERR_GENERIC and "bad kind" in out.exit_reasons[-1]
    assert all(info.is_same() for info in running)
    assert svc("stop", OCF_RESKEY_password="two\nlines").rc == Rc.SUCCESS  # junk, but no identity: stops
    assert not any(members_running(svc.home))


def test_stop_that_cannot_identify_the_instance_succeeds_when_no_product_process_runs(tmp_path, ocf_run):
    agent = declare(str(tmp_path))
    # No process of the product: an executable that nothing runs.
    agent.handlers["stop"] = lambda ctx: lifecycle.stop(ctx, lambda: None,
                                                        ProcessMatch(exe_names=("/nonexistent/mailha-none",)))
    out = ocf_run(agent, ["svc", "stop"], {"HA_RSCTMP": str(tmp_path)})
    assert out.rc == Rc.SUCCESS
    assert "nothing to stop" in out.stderr


# -- pieces ------------------------------------------------------------------------------------


def test_monitor_reset_forgets_only_the_cadence(tmp_path):
    state = StateFile("svc", "r", {"HA_RSCTMP": str(tmp_path)})
    state.save({"monitor.count": "7", "pid.poa": "123", "endpoints.poa": "1:2:3|x|"})

    class Ctx:
        pass

    ctx = Ctx()
    ctx.state = state
    monitor.reset(ctx)
    again = StateFile("svc", "r", {"HA_RSCTMP": str(tmp_path)}).load()
    assert again == {"pid.poa": "123", "endpoints.poa": "1:2:3|x|"}


def test_state_put_writes_only_on_change(tmp_path):
    state = StateFile("svc", "r", {"HA_RSCTMP": str(tmp_path)})
    state.put("pid.a", "10")
    first = os.stat(state.path).st_ino
    state.put("pid.a", "10")
    assert os.stat(state.path).st_ino == first  # replaced files get a new inode: not rewritten
    state.put("pid.a", "11")
    assert StateFile("svc", "r", {"HA_RSCTMP": str(tmp_path)}).get("pid.a") == "11"


def test_product_env_drops_parameters_and_sets_the_c_locale(monkeypatch):
    from mailha.run import product_env, run_command

    env = product_env({"OCF_RESKEY_password": "x", "OCF_ROOT": "/usr/lib/ocf", "LANG": "fr_FR", "PATH": "/bin"})
    assert env == {"OCF_ROOT": "/usr/lib/ocf", "LANG": "fr_FR", "PATH": "/bin", "LC_ALL": "C"}
    # run_command's default environment is the product one, not the agent's.
    monkeypatch.setenv("OCF_RESKEY_test_password", "leak-me")
    result = run_command([sys.executable, "-c", "import os; print(sorted(os.environ))"], timeout=20)
    assert "OCF_RESKEY_test_password" not in result.output and "'LC_ALL'" in result.output


def test_make_missing_dirs_never_changes_an_existing_directory(tmp_path):
    existing = tmp_path / "run"
    existing.mkdir(mode=0o755)
    before = os.stat(existing)
    made = storage.make_missing_dirs(str(existing / "dirsrv" / "lock"), 65534, 65534)
    after = os.stat(existing)
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == \
        (before.st_uid, before.st_gid, stat.S_IMODE(before.st_mode))
    assert made == [str(existing / "dirsrv"), str(existing / "dirsrv" / "lock")]
    for path in made:
        info = os.stat(path)
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o770)
    assert storage.make_missing_dirs(str(existing), 65534, 65534) == []


def test_a_directory_is_not_an_executable(tmp_path):
    with pytest.raises(NotInstalled) as err:
        check_executable("/", "binary")
    assert err.value.reason == "binary is a directory: install it here or set the parameter naming it (/)"


def test_a_rejected_login_is_degraded_and_silence_is_a_failure(monkeypatch):
    from mailha import probes

    def rejecting(point, host, timeout, login=None):
        raise probes.ProbeError("pop3", host, point.port, "-ERR invalid password", kind=probes.AUTH)

    monkeypatch.setattr(probing, "probe", rejecting)
    creds = Credentials("probe", "pw", "test_user/test_password")
    with pytest.raises(Degraded) as err:
        probing.check("POA", [Endpoint("pop3", "pop3", 110, login=True)], "127.0.0.1", time.monotonic() + 5,
                      login=creds)
    assert "test_user/test_password" in err.value.reason and err.value.rc == Rc.DEGRADED

    port = free_port()
    monkeypatch.undo()
    with pytest.raises(GenericError) as err:
        probing.check("POA", [Endpoint("cs", "tcp", port)], "127.0.0.1", time.monotonic() + 5)
    assert "does not answer" in err.value.reason
