"""Logging like resource-agents: HA_LOGFACILITY, HA_LOGFILE, HA_DEBUGLOG, stderr by hand, redaction."""

import os
import sys
import types

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailha.ocf import log as ocflog
from mailha.ocf.codes import GenericError
from mailha.ocf.log import REDACTED, Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Tuple


class FakeSyslog(types.ModuleType):
    """Stands in for the ``syslog`` module: records what would reach the system log."""

    LOG_PID, LOG_DAEMON, LOG_LOCAL0, LOG_LOCAL7, LOG_USER = 1, 24, 128, 184, 8

    def __init__(self) -> None:
        super().__init__("syslog")
        self.opened: List[tuple] = []
        self.lines: List[Tuple[int, str]] = []

    def openlog(self, ident, option, facility) -> None:
        self.opened.append((ident, option, facility))

    def syslog(self, priority, message) -> None:
        self.lines.append((priority, message))


@pytest.fixture
def fake_syslog(monkeypatch) -> "FakeSyslog":
    fake = FakeSyslog()
    monkeypatch.setitem(sys.modules, "syslog", fake)
    return fake


def emit_all(logger) -> None:
    logger.debug("a debug %s", "line")
    logger.info("an info line")
    logger.warning("a warning %d", 3)
    logger.error("an error")


def lines(path) -> "List[str]":
    """The log file's lines without the time stamp and pid: ``ident: label: text``."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        ident_pid, rest = line.split("]: ", 1)
        assert ident_pid.endswith(f"[{os.getpid()}")
        out.append(f"{ident_pid.rsplit(' ', 1)[1].split('[')[0]}: {rest}")
    return out


# --- destinations -------------------------------------------------------------------------------


def test_by_hand_everything_at_info_and_above_goes_to_stderr(capsys):
    emit_all(ocflog.setup("ldap", "rsc", {}))
    assert capsys.readouterr().err.splitlines() == [
        "ldap(rsc): info: an info line", "ldap(rsc): WARNING: a warning 3", "ldap(rsc): ERROR: an error"]


def test_ha_logfile_gets_the_resource_level_and_stderr_stays_quiet(tmp_path, capsys):
    logfile = tmp_path / "ha.log"
    emit_all(ocflog.setup("ldap", "rsc", {"HA_LOGFILE": str(logfile)}))
    assert lines(logfile) == ["ldap(rsc): info: an info line", "ldap(rsc): WARNING: a warning 3",
                              "ldap(rsc): ERROR: an error"]
    assert capsys.readouterr().err == ""


def test_ha_debuglog_gets_debug_too(tmp_path, capsys):
    logfile, debuglog = tmp_path / "ha.log", tmp_path / "debug.log"
    emit_all(ocflog.setup("ldap", "rsc", {"HA_LOGFILE": str(logfile), "HA_DEBUGLOG": str(debuglog)}))
    assert lines(debuglog) == ["ldap(rsc): debug: a debug line", "ldap(rsc): info: an info line",
                               "ldap(rsc): WARNING: a warning 3", "ldap(rsc): ERROR: an error"]
    assert len(lines(logfile)) == 3
    assert capsys.readouterr().err == ""


def test_ha_logfacility_goes_to_syslog_with_priorities(fake_syslog, capsys):
    emit_all(ocflog.setup("ldap", "rsc:1", {"HA_LOGFACILITY": "local7"}))
    assert fake_syslog.opened == [("ldap(rsc:1)", FakeSyslog.LOG_PID, FakeSyslog.LOG_LOCAL7)]
    assert fake_syslog.lines == [(6, "info: an info line"), (4, "WARNING: a warning 3"),
                                 (3, "ERROR: an error")]
    assert capsys.readouterr().err == ""


def test_unknown_facility_falls_back_to_daemon(fake_syslog):
    ocflog.setup("ldap", "rsc", {"HA_LOGFACILITY": "nonsense"}).error("x")
    assert fake_syslog.opened == [("ldap(rsc)", FakeSyslog.LOG_PID, FakeSyslog.LOG_DAEMON)]


def test_facility_none_means_no_syslog(fake_syslog, capsys):
    ocflog.setup("ldap", "rsc", {"HA_LOGFACILITY": "none"}).error("x")
    assert fake_syslog.lines == []
    assert capsys.readouterr().err == "ldap(rsc): ERROR: x\n"  # nothing configured: by hand


def test_one_file_for_both_logs_gets_each_line_once(tmp_path):
    same = str(tmp_path / "pacemaker.log")
    emit_all(ocflog.setup("ldap", "rsc", {"HA_LOGFILE": same, "HA_DEBUGLOG": same}))
    assert lines(tmp_path / "pacemaker.log") == [
        "ldap(rsc): debug: a debug line", "ldap(rsc): info: an info line", "ldap(rsc): WARNING: a warning 3",
        "ldap(rsc): ERROR: an error"]


def test_every_sink_at_once(tmp_path, fake_syslog, capsys):
    env = {"HA_LOGFACILITY": "daemon", "HA_LOGFILE": str(tmp_path / "a.log"),
           "HA_DEBUGLOG": str(tmp_path / "d.log")}
    ocflog.setup("ldap", "rsc", env).warning("disk %s%% full", 99)
    assert fake_syslog.lines == [(4, "WARNING: disk 99% full")]
    assert lines(tmp_path / "a.log") == lines(tmp_path / "d.log") == ["ldap(rsc): WARNING: disk 99% full"]
    assert capsys.readouterr().err == ""


def test_ha_datefmt_is_used_for_files(tmp_path):
    ocflog.setup("ldap", "rsc", {"HA_LOGFILE": str(tmp_path / "a.log"), "HA_DATEFMT": "DATE<%Y>"}).info("x")
    assert (tmp_path / "a.log").read_text(encoding="utf-8").startswith("DATE<2")


# --- levels -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, debug", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_ha_debug_lowers_the_threshold(capsys, value, debug):
    ocflog.setup("ldap", "rsc", {"HA_debug": value}).debug("deep")
    assert ("deep" in capsys.readouterr().err) == debug


@pytest.mark.parametrize("level, shown", [("error", ["ERROR"]), ("warn", ["WARNING", "ERROR"]),
                                          ("info", ["info", "WARNING", "ERROR"]),
                                          ("debug", ["debug", "info", "WARNING", "ERROR"]),
                                          ("TRACE", ["debug", "info", "WARNING", "ERROR"]),
                                          ("bogus", ["info", "WARNING", "ERROR"])])
def test_log_level_sets_the_threshold(capsys, level, shown):
    emit_all(ocflog.setup("ldap", "rsc", {}, level))
    assert [line.split(": ")[1] for line in capsys.readouterr().err.splitlines()] == shown


def test_log_level_error_still_feeds_the_debug_log(tmp_path):
    env = {"HA_LOGFILE": str(tmp_path / "a.log"), "HA_DEBUGLOG": str(tmp_path / "d.log")}
    emit_all(ocflog.setup("ldap", "rsc", env, "error"))
    assert lines(tmp_path / "a.log") == ["ldap(rsc): ERROR: an error"]
    assert len(lines(tmp_path / "d.log")) == 4


def test_agent_log_level_parameter_is_honoured(sample_agent, ocf_run, tmp_path):
    agent = sample_agent()

    @agent.handler("start")
    def start(ctx):
        ctx.log.info("info from start")
        ctx.log.error("error from start")

    env = {"OCF_RESKEY_name": "x", "HA_LOGFILE": str(tmp_path / "a.log"), "OCF_RESKEY_log_level": "error",
           "HA_RSCTMP": str(tmp_path)}
    assert ocf_run(agent, ["sample", "start"], env).rc == 0
    assert lines(tmp_path / "a.log") == ["sample(sample): ERROR: error from start"]


# --- robustness -------------------------------------------------------------------------------


def test_an_unwritable_log_never_fails_the_caller(tmp_path, capsys):
    logger = ocflog.setup("ldap", "rsc", {"HA_LOGFILE": str(tmp_path / "no" / "such" / "dir.log")})
    logger.error("still fine")
    logger.info("bad format %d", "not a number")
    assert capsys.readouterr().err == ""


def test_bad_format_arguments_still_log_something(capsys):
    ocflog.setup("ldap", "rsc", {}).error("value %d", "abc")
    assert "value %d ('abc',)" in capsys.readouterr().err


def test_a_message_with_newlines_stays_one_entry(tmp_path, capsys):
    env = {"HA_LOGFILE": str(tmp_path / "a.log")}
    ocflog.setup("ldap", "rsc", env).error("server said: %s", "bye\nocf-exit-reason:forged")
    assert len((tmp_path / "a.log").read_text(encoding="utf-8").splitlines()) == 1
    ocflog.setup("ldap", "rsc", {}).error("server said: %s", "bye\nocf-exit-reason:forged")
    assert not any(line.startswith("ocf-exit-reason:") for line in capsys.readouterr().err.splitlines())


# --- redaction ----------------------------------------------------------------------------------


def test_secrets_are_redacted_in_every_sink(tmp_path, fake_syslog, capsys):
    secrets = ["hunter2", "xxhunter2xx"]  # one secret contains the other
    env = {"HA_LOGFACILITY": "daemon", "HA_LOGFILE": str(tmp_path / "a.log"),
           "HA_DEBUGLOG": str(tmp_path / "d.log")}
    logger = ocflog.setup("ldap", "rsc", env, "debug", secrets)
    logger.stderr = True  # as when stderr is a terminal
    logger.debug("bind pw=%s", "xxhunter2xx")
    logger.error("bind pw=hunter2 and %s", "xxhunter2xx!")
    everything = ((tmp_path / "a.log").read_text(encoding="utf-8") + (tmp_path / "d.log").read_text(encoding="utf-8")
                  + capsys.readouterr().err + "".join(line for _, line in fake_syslog.lines))
    assert "hunter2" not in everything
    assert everything.count(REDACTED) == 4 * 3  # three redactions, each in four sinks
    assert f"bind pw={REDACTED} and {REDACTED}!" in everything


def test_redactor_replaces_longest_first_and_ignores_empty():
    redact = Redactor(["ab", "xaby", "", "ab"])
    assert redact.secrets == ["xaby", "ab"]
    assert redact("xaby ab abab") == f"{REDACTED} {REDACTED} {REDACTED}{REDACTED}"
    assert Redactor()("nothing") == "nothing"


@settings(max_examples=300, deadline=None, database=None)
@given(secrets=st.lists(st.text(min_size=1, max_size=12).filter(lambda s: "*" not in s),
                        min_size=1, max_size=4),
       filler=st.text(max_size=20))
def test_no_secret_survives_redaction(secrets, filler):
    text = filler.join(secrets + [s[::-1] for s in secrets] + [filler.join(secrets)])
    redacted = Redactor(secrets)(text)
    for secret in secrets:
        assert secret not in redacted


def test_exit_reason_is_redacted_like_the_log(sample_agent, ocf_run, tmp_path):
    agent = sample_agent()

    @agent.handler("start")
    def start(ctx):
        raise GenericError(f"rejected {ctx.params.password}")

    out = ocf_run(agent, ["sample", "start"], {"OCF_RESKEY_name": "x", "OCF_RESKEY_password": "pw-123456",
                                                "HA_RSCTMP": str(tmp_path)})
    assert out.exit_reasons == [f"rejected {REDACTED}"]
    assert "pw-123456" not in out.stderr
