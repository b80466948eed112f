"""The action's time budget and the per-resource state file."""

import os
import time

import pytest

from mailha import files as mailha_files
from mailha.ocf import budget as ocfbudget
from mailha.ocf import state as ocfstate
from mailha.ocf.budget import Budget
from mailha.ocf.state import DEFAULT_RSCTMP, StateFile

# --- budget -------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, timeout", [("20000", 20.0), ("1500", 1.5), ("120000", 120.0), ("1", 0.001)])
def test_timeout_comes_from_crm_meta_timeout_in_milliseconds(raw, timeout):
    assert Budget.from_env({"OCF_RESKEY_CRM_meta_timeout": raw}, 7.0).timeout == timeout


@pytest.mark.parametrize("environ", [{}, None, {"OCF_RESKEY_CRM_meta_timeout": ""},
                                     {"OCF_RESKEY_CRM_meta_timeout": "20s"},
                                     {"OCF_RESKEY_CRM_meta_timeout": "garbage"},
                                     {"OCF_RESKEY_CRM_meta_timeout": "0"},
                                     {"OCF_RESKEY_CRM_meta_timeout": "-5000"},
                                     {"OCF_RESKEY_CRM_meta_timeout": "1e4"},
                                     {"OCF_RESKEY_CRM_meta_timeout": "$(id)"}])
def test_missing_or_garbage_timeout_falls_back_to_the_default(environ):
    assert Budget.from_env(environ, 7.0).timeout == 7.0


def test_huge_timeout_is_accepted_without_overflow():
    budget = Budget.from_env({"OCF_RESKEY_CRM_meta_timeout": "1" + "0" * 20}, 7.0)
    assert budget.timeout == 1e17 and budget.remaining() > 1e16 and not budget.expired()


def test_deadline_keeps_a_safety_margin():
    started = 1000.0
    # 5 % of a long timeout, at least SAFETY_MIN of a short one, never before the start
    assert Budget(100.0, started).deadline == pytest.approx(started + 100.0 * (1 - ocfbudget.SAFETY_FRACTION))
    assert Budget(2.0, started).deadline == pytest.approx(started + 2.0 - ocfbudget.SAFETY_MIN)
    assert Budget(0.2, started).deadline == started


def test_remaining_and_expired():
    fresh = Budget(20.0)
    assert 0 < fresh.remaining() <= 20.0 and not fresh.expired()
    spent = Budget(20.0, started=time.monotonic() - 60)
    assert spent.remaining() == 0.0 and spent.expired()


def test_share_and_until():
    budget = Budget(20.0, started=time.monotonic())
    left = budget.remaining()
    assert 0 < budget.share(0.5) <= left / 2
    assert budget.share(0.5, cap=0.25) == 0.25
    assert budget.until(5.0) == pytest.approx(budget.deadline - 5.0)
    spent = Budget(20.0, started=time.monotonic() - 60)
    assert spent.share(0.9) == 0.0
    assert spent.until(5.0) >= spent.deadline  # never in the past: "now" at the earliest


def test_wait_for_returns_true_as_soon_as_the_condition_holds():
    calls = []

    def third_time_lucky() -> bool:
        calls.append(1)
        return len(calls) == 3

    assert Budget(30.0).wait_for(third_time_lucky, first=0.001) is True
    assert len(calls) == 3


def test_wait_for_checks_at_once_before_sleeping(monkeypatch):
    slept = []
    monkeypatch.setattr(ocfbudget.time, "sleep", slept.append)
    assert Budget(30.0).wait_for(lambda: True) is True
    assert slept == []


def test_wait_for_returns_false_at_the_deadline():
    calls = []
    budget = Budget(0.6)  # deadline 0.1 s after the start
    assert budget.wait_for(lambda: calls.append(1) or False, first=0.01, longest=0.02) is False
    assert budget.expired()
    assert len(calls) >= 1


def test_wait_for_honours_an_earlier_deadline():
    budget = Budget(600.0)
    assert budget.wait_for(lambda: False, deadline=time.monotonic() + 0.05, first=0.01) is False
    assert not budget.expired()


def test_wait_for_an_expired_budget_still_asks_once():
    calls = []
    spent = Budget(1.0, started=time.monotonic() - 10)
    assert spent.wait_for(lambda: calls.append(1) or True) is True
    assert spent.wait_for(lambda: calls.append(1) or False) is False
    assert len(calls) == 2


def test_wait_for_backs_off_up_to_the_longest_interval(monkeypatch):
    slept = []
    monkeypatch.setattr(ocfbudget.time, "sleep", slept.append)
    answers = iter([False] * 8 + [True])
    assert Budget(600.0).wait_for(lambda: next(answers), first=0.05, longest=1.0) is True
    assert slept == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


# --- state file ---------------------------------------------------------------------------------


@pytest.fixture
def rsctmp(tmp_path):
    return {"HA_RSCTMP": str(tmp_path / "rsctmp")}


def test_state_lives_under_ha_rsctmp(rsctmp):
    state = StateFile("ldap", "dir-rsc", rsctmp)
    assert os.path.dirname(state.path) == os.path.join(rsctmp["HA_RSCTMP"], "mailha")
    assert os.path.basename(state.path).startswith("ldap-dir-rsc.")
    assert StateFile("ldap", "x", {}).path.startswith(DEFAULT_RSCTMP + "/")


def test_tick_counts_from_zero_and_persists(rsctmp):
    state = StateFile("ldap", "rsc", rsctmp)
    assert [state.tick("monitor_count") for _ in range(4)] == [0, 1, 2, 3]
    assert StateFile("ldap", "rsc", rsctmp).tick("monitor_count") == 4  # a new invocation
    assert StateFile("ldap", "rsc", rsctmp).tick("other") == 0
    assert StateFile("ldap", "rsc:1", rsctmp).tick("monitor_count") == 0  # clone instances apart


def test_a_value_holding_a_parameters_escaped_bytes_is_kept(rsctmp):
    """Python 3.6 in the C locale reads a parameter's "é" as two surrogates: the state keeps its bytes."""
    state = StateFile("ldap", "rsc", rsctmp)
    state.save({"endpoints.a": "h\udcc3\udca9st:389", "plain": "x"})
    with open(state.path, "rb") as handle:
        assert handle.read() == b"endpoints.a=h\xc3\xa9st:389\nplain=x\n"
    assert StateFile("ldap", "rsc", rsctmp).load() == {"endpoints.a": "h\u00e9st:389", "plain": "x"}


def test_save_is_atomic_and_leaves_no_temporary_file(rsctmp):
    state = StateFile("ldap", "rsc", rsctmp)
    state.save({"a": "1"})
    state.save({"a": "2", "b": "x y"})
    assert StateFile("ldap", "rsc", rsctmp).load() == {"a": "2", "b": "x y"}
    assert os.listdir(os.path.dirname(state.path)) == [os.path.basename(state.path)]


def test_one_run_reads_the_file_once_and_sees_what_the_next_run_will(rsctmp, monkeypatch):
    state = StateFile("gwpoa", "rsc", rsctmp)
    state.save({"a": "1", "bad=key": "2", "c": "multi\nline", "": "empty key"})
    reads = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: reads.append(a[0]) or real_open(*a, **k))
    assert state.load() == {"a": "1"} and state.load() == {"a": "1"}
    assert reads == []  # this run's own save is remembered
    monkeypatch.undo()
    assert StateFile("gwpoa", "rsc", rsctmp).load() == {"a": "1"}  # and it is what the file holds
    loaded = state.load()
    loaded["a"] = "changed"
    assert state.load() == {"a": "1"}  # callers get a copy


def test_a_save_that_fails_midway_keeps_the_old_state(rsctmp, monkeypatch):
    state = StateFile("ldap", "rsc", rsctmp)
    state.save({"monitor_count": "5"})

    def explode(*args, **kwargs):
        raise OSError("killed before the rename")

    monkeypatch.setattr(mailha_files.posix, "replace", explode)  # the rename of replace_text
    with pytest.raises(OSError):
        state.save({"monitor_count": "6"})
    monkeypatch.undo()
    assert state.load() == {"monitor_count": "5"}  # the new content never went into the file itself


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]", b"\xff\xfe\x00", b'"text"', b"null",
                                     b'{"monitor_count": "many"}', b'{"monitor_count": -4}',
                                     b"monitor_count=many", b"monitor_count=-4",
                                     b"monitor_count=" + b"9" * 40, b"=\n==\nmonitor_count", b"x" * 200_000],
                         ids=lambda v: repr(v)[:20])
def test_a_corrupt_state_file_is_tolerated(rsctmp, content):
    state = StateFile("ldap", "rsc", rsctmp)
    os.makedirs(os.path.dirname(state.path))
    with open(state.path, "wb") as handle:
        handle.write(content)
    assert isinstance(state.load(), dict)
    assert state.tick("monitor_count") == 0
    assert state.tick("monitor_count") == 1


def test_an_unwritable_state_directory_is_tolerated(tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    state = StateFile("ldap", "rsc", {"HA_RSCTMP": str(blocker)})
    # every monitor is then a "first" one: the safe side (the deep check runs)
    assert [state.tick("monitor_count") for _ in range(3)] == [0, 0, 0]
    assert state.load() == {}


def test_a_directory_in_place_of_the_state_file_is_tolerated(rsctmp):
    state = StateFile("ldap", "rsc", rsctmp)
    os.makedirs(state.path)
    assert state.load() == {}
    assert state.tick("n") == 0


def test_clear_forgets_and_tolerates_a_missing_file(rsctmp):
    state = StateFile("ldap", "rsc", rsctmp)
    state.clear()
    state.tick("n")
    state.clear()
    assert not os.path.exists(state.path)
    assert state.tick("n") == 0


@pytest.mark.parametrize("instance", ["../../etc/passwd", "a/b", "x\0y", "$(id)", "", "..", "/abs",
                                      "x" * 1000], ids=lambda v: repr(v)[:16])
def test_hostile_instance_names_stay_inside_the_state_directory(rsctmp, instance):
    state = StateFile("ldap", instance, rsctmp)
    base = os.path.join(rsctmp["HA_RSCTMP"], "mailha")
    assert os.path.dirname(state.path) == base
    assert os.path.basename(state.path) not in ("", ".", "..")
    assert [state.tick("n") for _ in range(2)] == [0, 1]
    assert os.listdir(base) == [os.path.basename(state.path)]


def test_a_long_non_ascii_instance_name_still_keeps_state(rsctmp):
    state = StateFile("ldap", "почта-" * 25, rsctmp)  # 150 characters, 275 bytes
    assert [state.tick("n") for _ in range(2)] == [0, 1]
