"""Monitor depths, the second-level cadence, OCF_CHECK_LEVEL and the monitor_program hook."""

import os
import signal
import stat

import pytest

from mailha import monitor
from mailha.monitor import MonitorPlan
from mailha.ocf import log as ocflog
from mailha.ocf.agent import Action, Agent, Context
from mailha.ocf.budget import Budget
from mailha.ocf.codes import GenericError, Misconfigured, Rc
from mailha.ocf.params import Command, Integer, Param, Text, parse_params
from testkit import wait_for

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional

PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def make_ctx(tmp_path, interval: "Optional[str]" = "10000", check_level: "Optional[str]" = None,
             timeout_ms: str = "20000") -> "Context":
    """The context of one monitor invocation (each call is a new invocation, as under Pacemaker)."""
    environ = {"PATH": PATH, "OCF_RESOURCE_INSTANCE": "rsc", "HA_RSCTMP": str(tmp_path / "rsctmp"),
               "OCF_RESKEY_CRM_meta_timeout": timeout_ms}
    if interval is not None:
        environ["OCF_RESKEY_CRM_meta_interval"] = interval
    if check_level is not None:
        environ["OCF_CHECK_LEVEL"] = check_level
    agent = Agent("mon", "Monitor test", "Monitor test", [], [Action("monitor", 20)])
    return Context(agent, "monitor", environ, parse_params([], environ, "rsc"),
                   Budget.from_env(environ, 20.0), ocflog.setup("mon", "rsc", environ))


class Checks:
    """Records which levels a monitor ran, and the timeouts the deep ones were given."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.calls: List[str] = []
        self.timeouts: List[float] = []

    def running(self) -> bool:
        self.calls.append("running")
        return self.up

    def service(self, timeout: float) -> None:
        self.calls.append("service")
        self.timeouts.append(timeout)

    def transaction(self, timeout: float) -> None:
        self.calls.append("transaction")
        self.timeouts.append(timeout)

    def plan(self, every: int = 1, program=None, transaction: bool = True) -> "MonitorPlan":
        return MonitorPlan(self.running, self.service, self.transaction if transaction else None, every,
                           program)


def monitors(tmp_path, count: int, every: int, **ctx_args) -> "List[List[str]]":
    """Run *count* monitors in a row; return the levels each one ran."""
    runs = []
    for _ in range(count):
        checks = Checks()
        assert monitor.run(make_ctx(tmp_path, **ctx_args), checks.plan(every)) == Rc.SUCCESS
        runs.append(checks.calls)
    return runs


FIRST, DEEP = ["running"], ["running", "service", "transaction"]

# --- cadence ---------------------------------------------------------------------------------


def test_second_level_runs_on_monitor_0_n_2n(tmp_path):
    assert monitors(tmp_path, 7, every=3) == [DEEP, FIRST, FIRST, DEEP, FIRST, FIRST, DEEP]


def test_every_1_runs_the_second_level_every_time(tmp_path):
    assert monitors(tmp_path, 3, every=1) == [DEEP] * 3


@pytest.mark.parametrize("every", [0, -1])
def test_every_0_never_runs_the_second_level(tmp_path, every):
    assert monitors(tmp_path, 4, every=every) == [FIRST] * 4


@pytest.mark.parametrize("every", [0, 3])
def test_check_level_10_runs_the_service_check_every_time(tmp_path, every):
    assert monitors(tmp_path, 4, every=every, check_level="10") == [["running", "service"]] * 4


@pytest.mark.parametrize("every", [0, 3])
def test_check_level_20_runs_the_transaction_every_time(tmp_path, every):
    assert monitors(tmp_path, 3, every=every, check_level="20") == [DEEP] * 3


def test_a_garbage_check_level_is_level_0(tmp_path):
    assert monitors(tmp_path, 2, every=2, check_level="deep") == [DEEP, FIRST]


def test_cadence_is_per_resource(tmp_path):
    first = monitors(tmp_path / "a", 2, every=2)
    assert monitors(tmp_path / "b", 2, every=2) == first == [DEEP, FIRST]


def test_reset_makes_the_next_monitor_run_every_level(tmp_path):
    assert monitors(tmp_path, 1, every=3) == [DEEP]
    monitor.reset(make_ctx(tmp_path))
    assert monitors(tmp_path, 2, every=3) == [DEEP, FIRST]


def test_without_a_transaction_the_service_check_still_runs(tmp_path):
    checks = Checks()
    assert monitor.run(make_ctx(tmp_path), checks.plan(1, transaction=False)) == Rc.SUCCESS
    assert checks.calls == ["running", "service"]


def test_deep_checks_get_a_share_of_the_remaining_budget(tmp_path):
    checks = Checks()
    ctx = make_ctx(tmp_path, timeout_ms="10000")
    monitor.run(ctx, checks.plan(1))
    assert len(checks.timeouts) == 2
    for timeout in checks.timeouts:
        assert 0 < timeout <= 10.0 * monitor.CHECK_SHARE


# --- probes and the first level ---------------------------------------------------------------


@pytest.mark.parametrize("up, rc", [(True, Rc.SUCCESS), (False, Rc.NOT_RUNNING)])
def test_a_probe_runs_the_first_level_only(tmp_path, up, rc):
    checks = Checks(up)
    program = (str(tmp_path / "never-run"),)
    assert monitor.run(make_ctx(tmp_path, interval="0", check_level="20"), checks.plan(1, program)) == rc
    assert checks.calls == ["running"]


def test_probes_do_not_advance_the_cadence(tmp_path):
    for _ in range(3):
        monitor.run(make_ctx(tmp_path, interval="0"), Checks().plan(2))
    assert monitors(tmp_path, 2, every=2) == [DEEP, FIRST]


def test_first_level_failure_is_not_running_and_nothing_else_runs(tmp_path):
    checks = Checks(up=False)
    marker = tmp_path / "ran"
    program = write_script(tmp_path, f"/usr/bin/touch {marker}\nexit 0")
    assert monitor.run(make_ctx(tmp_path), checks.plan(1, (program,))) == Rc.NOT_RUNNING
    assert checks.calls == ["running"]
    assert not marker.exists()


# --- failures of deep checks through an agent ----------------------------------------------------


def monitored_agent(service) -> "Agent":
    agent = Agent("mon", "Monitor test", "Monitor test",
                  [Param("every", Integer(0, 100), "Cadence", default="1"),
                   Param("program", Command(), "Monitor program")],
                  [Action("monitor", 20, interval=10, depth=0)])

    @agent.handler("monitor")
    def do_monitor(ctx):
        plan = MonitorPlan(lambda: True, service, None, ctx.params.every, ctx.params.program)
        return monitor.run(ctx, plan)

    return agent


@pytest.mark.parametrize("error, rc", [
    (GenericError("no answer on 127.0.0.1:389"), Rc.ERR_GENERIC),
    (Misconfigured("the directory rejects bind_dn/password"), Rc.ERR_CONFIGURED)])
def test_a_failing_service_check_becomes_the_monitor_result(tmp_path, ocf_run, error, rc):
    def service(timeout):
        raise error

    env = {"HA_RSCTMP": str(tmp_path), "OCF_RESKEY_CRM_meta_interval": "10000"}
    out = ocf_run(monitored_agent(service), ["mon", "monitor"], env)
    assert out.rc == rc
    assert out.exit_reasons == [error.reason]
    # a probe does not run the service check: the same failure is invisible to it
    probe = {**env, "OCF_RESKEY_CRM_meta_interval": "0"}
    assert ocf_run(monitored_agent(service), ["mon", "monitor"], probe).rc == Rc.SUCCESS


def test_a_failing_service_check_stops_the_monitor_program(tmp_path, ocf_run):
    marker = tmp_path / "ran"
    program = write_script(tmp_path, f"/usr/bin/touch {marker}\nexit 0")

    def service(timeout):
        raise GenericError("no answer")

    env = {"HA_RSCTMP": str(tmp_path), "OCF_RESKEY_CRM_meta_interval": "10000", "OCF_RESKEY_program": program}
    assert ocf_run(monitored_agent(service), ["mon", "monitor"], env).rc == Rc.ERR_GENERIC
    assert not marker.exists()


# --- monitor_program ---------------------------------------------------------------------------


def write_script(tmp_path, body: str, name: str = "check.sh") -> str:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize("code, rc", [(0, Rc.SUCCESS), (110, Rc.SUCCESS), (1, Rc.NOT_RUNNING),
                                      (100, Rc.NOT_RUNNING)])
def test_monitor_program_exit_codes(tmp_path, code, rc):
    program = write_script(tmp_path, f"echo state {code}\nexit {code}")
    assert monitor.run_program(make_ctx(tmp_path), (program,)) == rc


@pytest.mark.parametrize("code", [2, 3, 7, 99, 101, 109, 111, 255])
def test_other_monitor_program_exit_codes_are_errors_with_its_last_words(tmp_path, code):
    program = write_script(tmp_path, f"echo first line\necho 'queue stuck'\nexit {code}")
    with pytest.raises(GenericError) as caught:
        monitor.run_program(make_ctx(tmp_path), (program,))
    assert caught.value.reason == f"monitor_program {program} exited {code} (state unknown): queue stuck"


def test_a_monitor_program_killed_by_a_signal_is_an_error(tmp_path):
    program = write_script(tmp_path, "kill -TERM $$")
    with pytest.raises(GenericError, match=f"exited -{signal.SIGTERM}"):
        monitor.run_program(make_ctx(tmp_path), (program,))


def test_a_missing_monitor_program_is_an_error(tmp_path):
    with pytest.raises(GenericError, match="exited 127"):
        monitor.run_program(make_ctx(tmp_path), (str(tmp_path / "no-such-program"),))


def test_monitor_program_gets_its_arguments_verbatim_and_no_shell(tmp_path):
    out, marker = tmp_path / "args", tmp_path / "pwned"
    program = write_script(tmp_path, f'for a in "$@"; do printf "%s|\\n" "$a"; done > {out}\nexit 110')
    argv = Command().parse(f"{program} MKT 'two words' '$(touch {marker})' ';' '`id`' '*' '|' '>x'")
    assert monitor.run_program(make_ctx(tmp_path), argv) == Rc.SUCCESS
    assert out.read_text(encoding="utf-8").splitlines() == ["MKT|", "two words|", f"$(touch {marker})|", ";|", "`id`|", "*|",
                                            "||", ">x|"]
    assert not marker.exists() and not (tmp_path / "x").exists()


def test_monitor_program_sees_the_resource_environment(tmp_path):
    out = tmp_path / "env"
    program = write_script(tmp_path, f'echo "$OCF_RESOURCE_INSTANCE $OCF_RESKEY_CRM_meta_interval" > {out}')
    monitor.run_program(make_ctx(tmp_path), (program,))
    assert out.read_text(encoding="utf-8") == "rsc 10000\n"


@pytest.mark.parametrize("asked", [False, True])
def test_monitor_program_gets_parameters_only_when_asked_and_never_secrets(tmp_path, asked):
    out = tmp_path / "env"
    program = write_script(tmp_path, f"env > {out}")
    declared = [Param("port", Integer(1, 65535), "Port", default="389"),
                Param("password", Text(), "Password", secret=True), monitor.PROGRAM_PARAMS_PARAM]
    environ = {"PATH": PATH, "OCF_RESOURCE_INSTANCE": "rsc", "HA_RSCTMP": str(tmp_path / "rsctmp"),
               "OCF_RESKEY_port": "1389", "OCF_RESKEY_password": "Pw-Marker-5150",
               "OCF_RESKEY_monitor_program_params": "true" if asked else "false"}
    agent = Agent("mon", "Monitor test", "Monitor test", declared, [Action("monitor", 20)])
    ctx = Context(agent, "monitor", environ, parse_params(declared, environ, "rsc"),
                  Budget.from_env(environ, 20.0), ocflog.setup("mon", "rsc", environ))
    monitor.run_program(ctx, (program,))
    seen = out.read_text(encoding="utf-8")
    assert "Pw-Marker-5150" not in seen and "OCF_RESKEY_password" not in seen
    assert ("OCF_RESKEY_port=1389" in seen) is asked
    assert "LC_ALL=C" in seen and "OCF_RESOURCE_INSTANCE=rsc" in seen


def test_monitor_program_runs_after_the_checks_on_every_recurring_monitor(tmp_path):
    count = tmp_path / "count"
    program = write_script(tmp_path, f"echo x >> {count}\nexit 0")
    for _ in range(3):
        checks = Checks()
        assert monitor.run(make_ctx(tmp_path), checks.plan(3, (program,))) == Rc.SUCCESS
    assert count.read_text(encoding="utf-8") == "x\nx\nx\n"
    checks = Checks()
    stopped = write_script(tmp_path, "exit 100", "stopped.sh")
    assert monitor.run(make_ctx(tmp_path), checks.plan(1, (stopped,))) == Rc.NOT_RUNNING
    assert checks.calls == DEEP


def _state(pid: int) -> "Optional[str]":
    """The process state letter, or None when the pid is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_a_hanging_monitor_program_is_cut_off_within_the_budget(tmp_path):
    pidfile = tmp_path / "child.pid"
    # the program leaves a child behind and hangs: both must go
    program = write_script(tmp_path, f"/bin/sleep 300 &\necho $! > {pidfile}\nexec /bin/sleep 300")
    ctx = make_ctx(tmp_path, timeout_ms="3000")  # 2.5 s after the safety margin, 2 s for the program
    child = None
    try:
        with pytest.raises(GenericError, match="gave no answer within"):
            monitor.run_program(ctx, (program,))
        assert not ctx.budget.expired()  # reported by us, before Pacemaker's timeout would hit
        child = int(pidfile.read_text(encoding="utf-8"))
        # killed (a zombie until init reaps it); SIGKILL takes effect when the kernel next runs
        # it, which was seen to be a moment after kill() returned
        wait_for(lambda: _state(child) in (None, "Z"), 10, "the program's child to die")
    finally:
        if child and _state(child) not in (None, "Z"):
            os.kill(child, signal.SIGKILL)
