"""The recurring monitor's fast path (mailha.service.fastpath) on the two-member service of the
lifecycle tests: it answers "running" only where the full monitor would, and any difference
sends the monitor back to the full path."""

import os
import signal
from types import SimpleNamespace

import pytest

from mailha.cadence import COUNTER
from mailha.ocf.codes import Rc
from mailha.ocf.state import StateFile
from mailha.service import fastpath
from test_service import declare, members_running
from testkit import accepts, free_port, wait_for

RECURRING = {"OCF_RESKEY_CRM_meta_interval": "10000", "OCF_RESKEY_CRM_meta_timeout": "20000"}
MONITOR = ["svc", "monitor"]


@pytest.fixture
def svc(tmp_path, ocf_run):
    home = str(tmp_path / "inst")
    for member in ("a", "b"):
        os.makedirs(os.path.join(home, member))
    conf = os.path.join(home, "a.conf")
    with open(conf, "w") as handle:
        handle.write("port a\n")
    env = {"OCF_RESOURCE_INSTANCE": "svc1", "HA_RSCTMP": str(tmp_path / "rsctmp"), "OCF_RESKEY_home": home,
           "OCF_RESKEY_port_a": str(free_port()), "OCF_RESKEY_port_b": str(free_port()),
           "OCF_RESKEY_password": "s3cret-Value", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **RECURRING}
    agent = declare(home, inputs=(conf,))

    def run(action: str, **extra: str):
        return ocf_run(agent, ["svc", action], dict(env, **extra))

    def fast(**extra: str) -> bool:
        return fastpath.answer("svc", MONITOR, dict(env, **extra))

    run.env, run.home, run.conf, run.fast = env, home, conf, fast
    run.state = lambda: StateFile("svc", "svc1", env)
    assert run("start").rc == Rc.SUCCESS
    yield run
    run("stop")


def record(svc) -> dict:
    return {k: v for k, v in svc.state().load().items() if k.startswith(fastpath.PREFIX)}


def test_a_recurring_monitor_is_answered_from_the_last_full_ones_record(svc):
    assert not svc.fast()  # no full monitor since the start: nothing recorded
    assert svc("monitor").rc == Rc.SUCCESS
    assert record(svc)
    assert svc.fast()
    assert svc.fast()  # and again: answering changes nothing the next answer rests on


def test_the_record_keeps_no_secret(svc):
    assert svc("monitor").rc == Rc.SUCCESS
    with open(svc.state().path, encoding="utf-8") as handle:
        text = handle.read()
    assert "s3cret-Value" not in text
    assert "OCF_RESKEY_password\x1fset" in text  # only whether it is set


@pytest.mark.parametrize("change", [
    {"OCF_RESKEY_second_level_monitor": "3"},  # a reloaded parameter
    {"OCF_RESKEY_password": ""},  # a secret unset: checks such as "a needs b" may now fail
    {"OCF_CHECK_LEVEL": "20"},
    {"OCF_RESKEY_CRM_meta_timeout": "30000"},
    {"HA_debug": "1"},  # the full monitor's debug log
    {"OCF_TRACE_RA": "1"},  # a trace is the full monitor's
    {"OCF_RESKEY_CRM_meta_interval": "0"},  # a probe is always the full monitor
])
def test_another_environment_is_the_full_path(svc, change):
    assert svc("monitor").rc == Rc.SUCCESS
    assert not svc.fast(**change)
    assert svc.fast()  # the record itself still holds


def test_a_changed_secret_value_alone_keeps_the_record(svc):
    # Its value is never recorded; only a check with credentials uses it, and such a check is
    # never replayed (test_endpoints_with_credentials_are_probed_by_the_full_path_only).
    assert svc("monitor").rc == Rc.SUCCESS
    assert svc.fast(OCF_RESKEY_password="other-value")


def test_only_the_monitor_action_is_answered(svc):
    assert svc("monitor").rc == Rc.SUCCESS
    for argv in (["svc", "start"], ["svc", "stop"], ["svc", "validate-all"], ["svc"]):
        assert not fastpath.answer("svc", argv, dict(svc.env))


def test_a_member_that_died_or_was_restarted_is_the_full_path(svc):
    first_level = {"OCF_RESKEY_second_level_monitor": "0"}  # processes only: no probe to notice
    assert svc("monitor", **first_level).rc == Rc.SUCCESS and svc.fast(**first_level)
    (b,) = members_running(svc.home)[1]
    os.kill(b.pid, signal.SIGKILL)
    wait_for(lambda: not members_running(svc.home)[1], what="B gone")
    assert not svc.fast(**first_level)
    out = svc("monitor", **first_level)
    assert out.rc == Rc.ERR_GENERIC and "the B is not running" in out.exit_reasons[-1]
    assert not record(svc)  # a failure is never recorded
    assert svc("start").rc == Rc.SUCCESS  # B again, as a new process
    assert svc("monitor", **first_level).rc == Rc.SUCCESS and svc.fast(**first_level)


def test_an_edited_or_missing_input_file_is_the_full_path(svc):
    assert svc("monitor").rc == Rc.SUCCESS
    with open(svc.conf, "a") as handle:
        handle.write("port b\n")
    assert not svc.fast()
    assert svc("monitor").rc == Rc.SUCCESS and svc.fast()  # recorded again with the new file
    os.unlink(svc.conf)
    assert not svc.fast()


def test_a_member_that_stops_answering_is_found_by_the_second_level(svc):
    assert svc("monitor").rc == Rc.SUCCESS and svc.fast()
    (a,) = members_running(svc.home)[0]
    os.kill(a.pid, signal.SIGUSR1)  # closes its listener; the process runs on
    wait_for(lambda: not accepts(int(svc.env["OCF_RESKEY_port_a"])), what="A's listener closed")
    assert a.is_same()
    assert not svc.fast()
    out = svc("monitor")
    assert out.rc == Rc.ERR_GENERIC and "does not answer" in out.exit_reasons[-1]


def test_the_cadence_counts_each_monitor_once_whichever_path_answers(svc):
    cadence = {"OCF_RESKEY_second_level_monitor": "3"}
    assert svc("monitor", **cadence).rc == Rc.SUCCESS  # count 0: the second level, recorded
    state = svc.state
    assert state().count(COUNTER) == 1
    assert svc.fast(**cadence) and state().count(COUNTER) == 2
    (a,) = members_running(svc.home)[0]
    os.kill(a.pid, signal.SIGUSR1)
    wait_for(lambda: not accepts(int(svc.env["OCF_RESKEY_port_a"])), what="A's listener closed")
    # Count 2: no second level due, so the full monitor too would say running.
    assert svc.fast(**cadence) and state().count(COUNTER) == 3
    # Count 3: due; the probe fails, the fast path gives up without counting, the full monitor
    # counts once and reports the failure.
    assert not svc.fast(**cadence) and state().count(COUNTER) == 3
    out = svc("monitor", **cadence)
    assert out.rc == Rc.ERR_GENERIC and state().count(COUNTER) == 4


@pytest.mark.parametrize("extra", [
    {"OCF_RESKEY_monitor_program": "/bin/true"},  # only the full monitor runs the admin's program
    {"HA_debug": "1"},
    {"OCF_TRACE_RA": "1", "HA_VARLIB": "{tmp}"},
])
def test_what_only_the_full_monitor_does_is_never_recorded(svc, tmp_path, extra):
    extra = {k: v.format(tmp=tmp_path) for k, v in extra.items()}
    assert svc("monitor").rc == Rc.SUCCESS and record(svc)
    assert svc("monitor", **extra).rc == Rc.SUCCESS
    assert not record(svc)  # and the earlier record is forgotten
    assert not svc.fast(**extra)


def test_a_start_forgets_the_record(svc):
    assert svc("monitor").rc == Rc.SUCCESS and record(svc)
    assert svc("stop").rc == Rc.SUCCESS
    assert not svc.fast()  # the processes are gone
    assert svc("start").rc == Rc.SUCCESS
    assert not record(svc)


def test_endpoints_with_credentials_are_probed_by_the_full_path_only():
    from mailha.proc import ProcessMatch
    from mailha.service.model import Credentials, Endpoint, Member, Service

    points = [Endpoint("LDAP", "ldap", 389, auth=Credentials("cn=probe", "pw-of-probe"))]
    service = Service([Member("directory server", ProcessMatch(exe_names=("slapd",)), endpoints=points)])
    ctx = SimpleNamespace(is_probe=False, check_level=0, environ=dict(RECURRING),
                          params=SimpleNamespace(as_dict=lambda: {"second_level_monitor": 1}),
                          agent=SimpleNamespace(params=()), log=SimpleNamespace(floor=20, trace=None),
                          budget=SimpleNamespace(timeout=20.0))
    saved = fastpath._record(ctx, service, [SimpleNamespace(pid=os.getpid(), start_ticks=1)], [])
    assert saved[fastpath.PREFIX + "probes"] == fastpath.NEEDS_CREDENTIALS
    assert "pw-of-probe" not in "".join(saved.values())


def test_values_that_cannot_be_recorded_leave_no_record(svc):
    # A line break or a separator in a parameter: recorded, it would read back as another value.
    for value in ("two\nlines", "a\x1fb", "a\x1eb"):
        assert svc("monitor", OCF_RESKEY_kind_note=value).rc == Rc.SUCCESS
        assert not record(svc)
        assert not svc.fast(OCF_RESKEY_kind_note=value)


def test_state_values_may_hold_any_character_but_a_line_break(tmp_path):
    state = StateFile("svc", "r", {"HA_RSCTMP": str(tmp_path)})
    odd = "a\x1eb\x1cc\x85d\u2028e\x0bf\x0cg"  # str.splitlines() would cut each of these
    state.update("x.", {"x.one": odd, "x.two": "2"})
    assert StateFile("svc", "r", {"HA_RSCTMP": str(tmp_path)}).load() == {"x.one": odd, "x.two": "2"}
    state.update("x.", {"x.two": "2"})
    assert StateFile("svc", "r", {"HA_RSCTMP": str(tmp_path)}).load() == {"x.two": "2"}


def test_the_environment_is_read_as_os_reads_it(monkeypatch):
    # posix.environ holds bytes; a parameter's non-UTF-8 byte must come out as os.environ has it.
    monkeypatch.setenv("OCF_RESKEY_odd", "caf\udce9")  # the byte 0xe9, in any locale
    assert fastpath._environ() == dict(os.environ)


def test_a_member_with_a_product_check_is_checked_by_the_full_path_only():
    """Messaging Server's stored -t -v is a command: the fast path cannot run it, so when the
    second level is due the full monitor must."""
    from mailha.proc import ProcessMatch
    from mailha.service.model import Endpoint, Member, Service

    ctx = SimpleNamespace(is_probe=False, check_level=0, environ=dict(RECURRING),
                          params=SimpleNamespace(as_dict=lambda: {"second_level_monitor": 1}),
                          agent=SimpleNamespace(params=()), log=SimpleNamespace(floor=20, trace=None),
                          budget=SimpleNamespace(timeout=20.0))
    found = [SimpleNamespace(pid=os.getpid(), start_ticks=1)]
    plain = Service([Member("store", ProcessMatch(exe_names=("stored",)), endpoints=[Endpoint("core", "tcp", 1)])])
    assert fastpath._record(ctx, plain, found, [])[fastpath.PREFIX + "probes"] != fastpath.NEEDS_CREDENTIALS
    checked = Service([Member("store", ProcessMatch(exe_names=("stored",)), endpoints=[Endpoint("core", "tcp", 1)],
                              check=lambda timeout: None)])
    assert fastpath._record(ctx, checked, found, [])[fastpath.PREFIX + "probes"] == fastpath.NEEDS_CREDENTIALS
