"""The run loop of :class:`mailha.ocf.agent.Agent`: actions, exit codes, exit reasons, no tracebacks.

Plus property tests feeding random and hostile text to every parameter of the sample agent and
of every real agent in :mod:`mailha.agents`.
"""

import importlib
import os
import pkgutil
import subprocess
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mailha
import mailha.agents
from mailha import install
from mailha.ocf import params as ocfparams
from mailha.ocf.agent import Context
from mailha.ocf.codes import (ArgsError, GenericError, Misconfigured, NotInstalled, NotRunning,
                              PermissionDenied, Rc, Unimplemented)
from mailha.ocf.params import (AbsPath, Address, Boolean, Choice, Command, Integer, Name, Port,
                               Seconds, Text, parse_params)
from testkit import CAPTURE_TEXT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Set

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Where the mailha under test comes from, for agents run as separate processes.
LIB = os.path.dirname(os.path.dirname(os.path.abspath(mailha.__file__)))
OCF_CODES = {0, 1, 2, 5, 6, 7}
REAL_AGENTS = sorted(m.name for m in pkgutil.iter_modules(mailha.agents.__path__)
                     if not m.name.startswith("_"))


def real_agent(name: str):
    return importlib.import_module(f"mailha.agents.{name}").AGENT


@pytest.fixture
def env(tmp_path):
    """What Pacemaker passes to every action, for the sample agent (``name`` is required)."""
    return {"OCF_RESOURCE_INSTANCE": "rsc", "HA_RSCTMP": str(tmp_path / "rsctmp"),
            "OCF_RESKEY_CRM_meta_timeout": "20000", "OCF_RESKEY_name": "inst1"}


# --- actions that need no parameters ----------------------------------------------------------


def test_meta_data_prints_the_metadata_and_nothing_else(sample_agent, ocf_run):
    agent = sample_agent()
    out = ocf_run(agent, ["sample", "meta-data"], {})  # no parameters: meta-data never needs any
    assert out.rc == Rc.SUCCESS
    assert out.stdout == agent.metadata()
    assert out.stdout.startswith('<?xml version="1.0"?>') and "<resource-agent" in out.stdout
    assert out.stderr == ""


@pytest.mark.parametrize("action", ["usage", "help", "-h", "--help", "methods"])
def test_usage_lists_the_actions(sample_agent, ocf_run, action):
    out = ocf_run(sample_agent(), ["sample", action], {})
    assert out.rc == Rc.SUCCESS
    assert out.stdout == "usage: sample {meta-data|monitor|start|stop|usage|validate-all}\n"


def test_no_action_is_an_argument_error_with_usage_on_stderr(sample_agent, ocf_run):
    out = ocf_run(sample_agent(), ["sample"], {})
    assert out.rc == Rc.ERR_ARGS == 2
    assert out.stdout == ""
    assert out.stderr.startswith("usage: sample {")


def test_action_comes_from_ocf_action_variable_when_not_on_the_command_line(sample_agent, ocf_run, env):
    # ocf-tester exports __OCF_ACTION as well as passing the action
    out = ocf_run(sample_agent(), ["sample"], {**env, "__OCF_ACTION": "monitor",
                                               "OCF_RESKEY_CRM_meta_interval": "0"})
    assert out.rc == Rc.NOT_RUNNING


@pytest.mark.parametrize("action", ["frobnicate", "$(id)", "start;reboot", "y" * 5000], ids=lambda a: a[:12])
def test_unknown_action_is_unimplemented_with_one_clean_reason(sample_agent, ocf_run, env, action):
    out = ocf_run(sample_agent(), ["sample", action], env)
    assert out.rc == Rc.ERR_UNIMPLEMENTED == 3
    assert len(out.exit_reasons) == 1
    assert out.exit_reasons[0].startswith("unknown action ")
    assert len(out.exit_reasons[0]) <= 400


def test_an_action_name_cannot_forge_an_exit_reason(sample_agent, ocf_run, env):
    out = ocf_run(sample_agent(), ["sample", "x\nocf-exit-reason:forged"], env)
    assert out.rc == Rc.ERR_UNIMPLEMENTED
    assert len(out.exit_reasons) == 1
    assert not any(line.startswith("ocf-exit-reason:forged") for line in out.stderr.splitlines())


@pytest.mark.parametrize("action", ["promote", "demote", "notify", "reload", "migrate_to", "migrate_from",
                                    "status", "recover", "reload-agent"])
def test_ocf_action_without_handler_is_unimplemented(sample_agent, ocf_run, env, action):
    out = ocf_run(sample_agent(), ["sample", action], env)
    assert out.rc == Rc.ERR_UNIMPLEMENTED
    assert out.exit_reasons == [f"action '{action}' is not implemented by sample"]


def test_unimplemented_action_does_not_parse_parameters(sample_agent, ocf_run, env):
    """ocf-tester asks for notify/reload with whatever parameters it has: the answer is 3."""
    out = ocf_run(sample_agent(), ["sample", "notify"], {**env, "OCF_RESKEY_port": "bad"})
    assert out.rc == Rc.ERR_UNIMPLEMENTED


def warnings(out) -> "List[str]":
    return [line for line in out.stderr.splitlines() if ": WARNING: " in line]


# --- validate-all and the checks ---------------------------------------------------------------


def test_validate_all_comes_for_free(sample_agent, ocf_run, env, tmp_path):
    out = ocf_run(sample_agent(), ["sample", "validate-all"], {**env, "OCF_RESKEY_root": str(tmp_path)})
    assert (out.rc, out.exit_reasons) == (Rc.SUCCESS, [])


def test_validate_all_reports_a_bad_parameter_as_misconfigured(sample_agent, ocf_run, env):
    out = ocf_run(sample_agent(), ["sample", "validate-all"], {**env, "OCF_RESKEY_port": "70000"})
    assert out.rc == Rc.ERR_CONFIGURED
    assert out.exit_reasons == [
        "parameter 'port' '70000' is above 65535: set it to a TCP port from 1 to 65535"]


def test_missing_required_parameter_is_misconfigured_for_every_action_but_stop(sample_agent, ocf_run, env):
    del env["OCF_RESKEY_name"]
    for action in ("validate-all", "start", "monitor"):
        out = ocf_run(sample_agent(), ["sample", action], env)
        assert out.rc == Rc.ERR_CONFIGURED, action
        assert out.exit_reasons == ["parameter 'name' is required: set it to letters, digits and . _ - @ +, "
                                    "a letter or digit first"]
    out = ocf_run(sample_agent(), ["sample", "stop"], env)
    assert (out.rc, out.exit_reasons) == (Rc.SUCCESS, [])
    assert warnings(out) == ["sample(rsc): WARNING: stop: parameter 'name' is required: set it to letters, digits "
                             "and . _ - @ +, a letter or digit first (ignored: taken as not set)"]


def test_cross_parameter_checks_run_for_every_action_but_stop(sample_agent, ocf_run, env):
    env.update(OCF_RESKEY_port="636", OCF_RESKEY_ssl_port="636", OCF_RESKEY_CRM_meta_interval="10000")
    for action in ("validate-all", "start", "monitor"):
        out = ocf_run(sample_agent(), ["sample", action], env)
        assert out.rc == Rc.ERR_CONFIGURED, action
        assert out.exit_reasons == ["'ssl_port' and 'port' are the same: give them different values"]
    # A failed stop gets the node fenced: a configuration edited while running must not cause it.
    out = ocf_run(sample_agent(), ["sample", "stop"], env)
    assert out.rc != Rc.ERR_CONFIGURED and out.exit_reasons == []


def test_local_checks_run_for_start_and_validate_all_only(sample_agent, ocf_run, env):
    agent = sample_agent()
    seen = []
    agent.local_check(lambda p: seen.append(p.name))
    runs = {action: ocf_run(agent, ["sample", action], {**env, "OCF_RESKEY_CRM_meta_interval": interval})
            for action, interval in (("monitor", "0"), ("monitor", "10000"), ("stop", "0"))}
    assert seen == []
    assert runs["stop"].rc == Rc.SUCCESS
    for action in ("start", "validate-all"):
        ocf_run(agent, ["sample", action], env)
    assert seen == ["inst1", "inst1"]


def test_local_check_failure_is_not_installed_for_start(sample_agent, ocf_run, env, tmp_path):
    missing = str(tmp_path / "not-mounted")
    out = ocf_run(sample_agent(), ["sample", "start"], {**env, "OCF_RESKEY_root": missing})
    assert out.rc == Rc.ERR_INSTALLED == 5
    assert out.exit_reasons == [f"{missing} does not exist on this node"]


# --- stop never fails for a parameter -------------------------------------------------------------


def seen_by_stop(agent) -> list:
    """Register a stop handler that records the parameters it was given."""
    seen = []
    agent.handler("stop")(lambda ctx: seen.append(ctx.params))
    return seen


def test_stop_takes_a_value_it_cannot_parse_as_not_set_and_warns_once(sample_agent, ocf_run, env):
    agent = sample_agent()
    seen = seen_by_stop(agent)
    out = ocf_run(agent, ["sample", "stop"], {**env, "OCF_RESKEY_port": "389tcp", "OCF_RESKEY_root": "srv/x"})
    assert (out.rc, out.exit_reasons) == (Rc.SUCCESS, [])
    (params,) = seen
    assert params.port == 389 and params.root is None  # the default, or nothing
    assert params.unusable == frozenset({"port", "root"}) and not params.given("port")
    assert params.name == "inst1" and params.given("name")  # the others as usual
    assert warnings(out) == [
        "sample(rsc): WARNING: stop: parameter 'port' '389tcp' is not a whole number: set it to a TCP port "
        "from 1 to 65535 (ignored: the default '389' applies)",
        "sample(rsc): WARNING: stop: parameter 'root' 'srv/x' is not an absolute path: set it to an absolute "
        "path such as /srv/mail/dom (ignored: taken as not set)"]


def test_stop_without_the_cib_secrets_takes_the_reference_as_not_set(sample_agent, ocf_run, env, tmp_path,
                                                                     monkeypatch):
    """Pacemaker runs stop even when it cannot load the CIB secrets: the agent sees ``lrm://``."""
    monkeypatch.setattr(ocfparams, "SECRETS_DIR", str(tmp_path / "no-secrets"))
    agent = sample_agent()
    seen = seen_by_stop(agent)
    out = ocf_run(agent, ["sample", "stop"], {**env, "OCF_RESKEY_password": "lrm://"})
    assert (out.rc, out.exit_reasons) == (Rc.SUCCESS, [])
    assert seen[0].password is None and seen[0].unusable == frozenset({"password"})
    assert warnings(out) == [
        "sample(rsc): WARNING: stop: parameter 'password' is kept by cibsecret but is missing on this node: "
        "run 'cibsecret sync' (ignored: taken as not set)"]
    for action in ("start", "validate-all"):  # every other action: as strict as before
        assert ocf_run(agent, ["sample", action], {**env, "OCF_RESKEY_password": "lrm://"}).rc == Rc.ERR_INSTALLED


def test_stop_with_every_parameter_wrong_still_runs_its_handler(sample_agent, ocf_run, env):
    agent = sample_agent()
    seen = seen_by_stop(agent)
    junk = {f"OCF_RESKEY_{p.name}": "\0 $(id)" for p in agent.params}
    out = ocf_run(agent, ["sample", "stop"], {**env, **junk})
    assert (out.rc, out.exit_reasons) == (Rc.SUCCESS, [])
    assert seen[0].unusable == {p.name for p in agent.params}  # a NUL byte: no type takes it
    assert len(warnings(out)) == len(seen[0].unusable)
    assert "Traceback" not in out.text


def test_a_secret_stop_cannot_use_is_not_shown_in_its_warning(sample_agent, ocf_run, env):
    out = ocf_run(sample_agent(), ["sample", "stop"], {**env, "OCF_RESKEY_password": "Top-Secret-77\nx"})
    assert out.rc == Rc.SUCCESS
    assert warnings(out) == ["sample(rsc): WARNING: stop: parameter 'password' (secret value) contains a line "
                             "break or NUL byte: set it to text on one line (ignored: taken as not set)"]
    assert "Top-Secret" not in out.text


@pytest.mark.parametrize("action", ["start", "validate-all", "monitor"])
def test_every_other_action_refuses_a_value_it_cannot_parse(sample_agent, ocf_run, env, action):
    out = ocf_run(sample_agent(), ["sample", action], {**env, "OCF_RESKEY_port": "389tcp",
                                                       "OCF_RESKEY_CRM_meta_interval": "0"})
    assert out.rc == Rc.ERR_CONFIGURED
    assert out.exit_reasons == ["parameter 'port' '389tcp' is not a whole number: set it to a TCP port from 1 to 65535"]


# --- probes and errors of this node --------------------------------------------------------------


def test_not_installed_during_a_probe_means_not_running_without_a_reason(sample_agent, ocf_run, env,
                                                                         tmp_path):
    env.update(OCF_RESKEY_root=str(tmp_path / "unmounted"), OCF_RESKEY_CRM_meta_interval="0")
    out = ocf_run(sample_agent(), ["sample", "monitor"], env)
    assert out.rc == Rc.NOT_RUNNING
    assert out.exit_reasons == []


def test_not_installed_during_a_recurring_monitor_is_not_installed(sample_agent, ocf_run, env, tmp_path):
    env.update(OCF_RESKEY_root=str(tmp_path / "unmounted"), OCF_RESKEY_CRM_meta_interval="10000")
    out = ocf_run(sample_agent(), ["sample", "monitor"], env)
    assert out.rc == Rc.ERR_INSTALLED
    assert out.exit_reasons == [f"{tmp_path / 'unmounted'} is not mounted here"]


def test_not_running_raised_is_rc_7_without_a_reason(sample_agent, ocf_run, env):
    agent = sample_agent()

    @agent.handler("monitor")
    def monitor(ctx):
        raise NotRunning("no process")

    out = ocf_run(agent, ["sample", "monitor"], {**env, "OCF_RESKEY_CRM_meta_interval": "10000"})
    assert (out.rc, out.exit_reasons) == (Rc.NOT_RUNNING, [])


@pytest.mark.parametrize("error, rc", [(GenericError, 1), (Misconfigured, 6), (NotInstalled, 5)])
def test_ocf_errors_become_their_code_and_one_reason(sample_agent, ocf_run, env, error, rc):
    agent = sample_agent()

    @agent.handler("start")
    def start(ctx):
        raise error("it went\nwrong   here")

    out = ocf_run(agent, ["sample", "start"], env)
    assert out.rc == rc
    assert out.exit_reasons == ["it went wrong here"]


def test_handler_return_value_is_the_exit_code(sample_agent, ocf_run, env):
    agent = sample_agent()
    agent.handler("start")(lambda ctx: Rc.DEGRADED)
    agent.handler("stop")(lambda ctx: None)
    assert ocf_run(agent, ["sample", "start"], env).rc == 190
    assert ocf_run(agent, ["sample", "stop"], env).rc == 0


# --- no traceback ever ---------------------------------------------------------------------------


class Surprise(Exception):
    pass


@pytest.mark.parametrize("where", ["handler", "check", "local_check"])
def test_an_unexpected_exception_is_rc_1_with_one_line_and_no_traceback(sample_agent, ocf_run, env, where):
    agent = sample_agent()

    def boom(*_):
        raise Surprise("disk\non fire")

    if where == "handler":
        agent.handler("start")(boom)
    elif where == "check":
        agent.check(boom)
    else:
        agent.local_check(boom)
    out = ocf_run(agent, ["sample", "start"], env)
    assert out.rc == Rc.ERR_GENERIC
    assert out.exit_reasons == ["internal error in start: Surprise: disk on fire"]
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout


def test_the_traceback_goes_to_the_debug_log_only(sample_agent, ocf_run, env, tmp_path):
    agent = sample_agent()

    @agent.handler("start")
    def start(ctx):
        raise Surprise("with password hunter2-pw")

    debuglog, logfile = tmp_path / "debug.log", tmp_path / "ha.log"
    env.update(HA_DEBUGLOG=str(debuglog), HA_LOGFILE=str(logfile), OCF_RESKEY_password="hunter2-pw")
    out = ocf_run(agent, ["sample", "start"], env)
    assert out.rc == Rc.ERR_GENERIC
    assert out.exit_reasons == ["internal error in start: Surprise: with password ******"]
    assert "Traceback" not in out.stderr
    debug = debuglog.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in debug and "in start" in debug
    log = logfile.read_text(encoding="utf-8") if logfile.exists() else ""
    assert "Traceback" not in log
    assert "hunter2-pw" not in debug + log + out.stderr


def test_an_internal_error_is_logged_as_an_error(sample_agent, ocf_run, env, tmp_path):
    agent = sample_agent()
    agent.handler("start")(lambda ctx: {}["missing"])
    env.update(HA_LOGFILE=str(tmp_path / "ha.log"))
    assert ocf_run(agent, ["sample", "start"], env).rc == Rc.ERR_GENERIC
    log = (tmp_path / "ha.log").read_text(encoding="utf-8") if (tmp_path / "ha.log").exists() else ""
    assert "ERROR: start failed: internal error in start: KeyError: 'missing'" in log
    assert "Traceback" not in log


def test_with_ha_debug_the_traceback_still_stays_off_stderr(sample_agent, ocf_run, env):
    agent = sample_agent()
    agent.handler("start")(lambda ctx: {}["missing"])
    out = ocf_run(agent, ["sample", "start"], {**env, "HA_debug": "1"})
    assert out.rc == Rc.ERR_GENERIC
    assert out.exit_reasons == ["internal error in start: KeyError: 'missing'"]
    assert "Traceback" not in out.stderr


def test_keyboard_interrupt_is_rc_1_with_a_reason(sample_agent, ocf_run, env):
    agent = sample_agent()

    @agent.handler("stop")
    def stop(ctx):
        raise KeyboardInterrupt

    out = ocf_run(agent, ["sample", "stop"], env)
    assert (out.rc, out.exit_reasons) == (Rc.ERR_GENERIC, ["stop interrupted"])


# --- exit reasons and messages -------------------------------------------------------------------


def test_exit_reason_prefix_is_honoured(sample_agent, ocf_run, env):
    env.update(OCF_EXIT_REASON_PREFIX="EXITREASON>", OCF_RESKEY_count="many")
    out = ocf_run(sample_agent(), ["sample", "validate-all"], env)
    assert out.rc == Rc.ERR_CONFIGURED
    assert [line for line in out.stderr.splitlines() if line.startswith("EXITREASON>")] == [
        "EXITREASON>parameter 'count' 'many' is not a whole number: set it to a whole number from 0 to 1000"]
    assert out.exit_reasons == []


def test_secrets_are_redacted_from_exit_reasons_and_logs(sample_agent, ocf_run, env, tmp_path):
    agent = sample_agent()

    @agent.handler("start")
    def start(ctx):
        ctx.log.info("binding with %s", ctx.params.password)
        raise GenericError(f"server refused password {ctx.params.password}")

    env.update(OCF_RESKEY_password="Sup3r-Secret", HA_LOGFILE=str(tmp_path / "ha.log"))
    out = ocf_run(agent, ["sample", "start"], env)
    assert out.exit_reasons == ["server refused password ******"]
    log = (tmp_path / "ha.log").read_text(encoding="utf-8")
    assert "binding with ******" in log
    assert "Sup3r-Secret" not in log + out.stderr + out.stdout


def test_a_cibsecret_value_is_used_and_redacted(sample_agent, ocf_run, env, tmp_path, monkeypatch):
    secrets_dir = tmp_path / "secrets"
    (secrets_dir / "rsc").mkdir(parents=True)
    (secrets_dir / "rsc" / "password").write_text("From-CIBsecret-42\n")
    monkeypatch.setattr(ocfparams, "SECRETS_DIR", str(secrets_dir))
    agent = sample_agent()
    seen = []

    @agent.handler("start")
    def start(ctx):
        seen.append(ctx.params.password)
        raise GenericError(f"refused {ctx.params.password}")

    out = ocf_run(agent, ["sample", "start"], {**env, "OCF_RESKEY_password": "lrm://"})
    assert seen == ["From-CIBsecret-42"]
    assert out.exit_reasons == ["refused ******"]
    assert "From-CIBsecret-42" not in out.text
    (secrets_dir / "rsc" / "password").unlink()
    out = ocf_run(agent, ["sample", "validate-all"], {**env, "OCF_RESKEY_password": "lrm://"})
    assert out.rc == Rc.ERR_INSTALLED and "cibsecret sync" in out.exit_reasons[0]


@pytest.mark.parametrize("secret, prefix", [("tab\there  and", "refused "),
                                            ("Cut-At-The-End-1234", "x" * 385)],
                         ids=["whitespace", "truncated"])
def test_secrets_are_redacted_before_the_reason_is_squashed(sample_agent, ocf_run, env, tmp_path, secret,
                                                            prefix):
    agent = sample_agent()

    @agent.handler("start")
    def start(ctx):
        raise GenericError(prefix + ctx.params.password)

    env.update(OCF_RESKEY_password=secret, HA_LOGFILE=str(tmp_path / "ha.log"))
    out = ocf_run(agent, ["sample", "start"], env)
    assert out.rc == Rc.ERR_GENERIC
    leaked = " ".join(secret.split())[:8]
    assert leaked not in out.stderr + (tmp_path / "ha.log").read_text(encoding="utf-8")


def pacemaker_reason(stderr: str) -> str:
    """The exit reason as Pacemaker's executor reads it: what follows the last
    ``ocf-exit-reason:`` anywhere on stderr, to the end of that line, cut at 128 bytes."""
    data = stderr.encode("utf-8", "backslashreplace")
    start = data.rindex(b"ocf-exit-reason:") + len(b"ocf-exit-reason:")
    return data[start:].split(b"\n", 1)[0][:128].decode("utf-8", "replace")


def failing_start(agent, error):
    agent.handler("start")(lambda ctx: (_ for _ in ()).throw(error))
    return agent


def test_a_long_exit_reason_is_cut_to_128_bytes_on_a_character_boundary_and_logged_whole(
        sample_agent, ocf_run, env, tmp_path):
    reason = "the directory said: " + "é" * 200 + " THE END"
    env.update(HA_LOGFILE=str(tmp_path / "ha.log"))
    out = ocf_run(failing_start(sample_agent(), GenericError(reason)), ["sample", "start"], env)
    assert out.rc == Rc.ERR_GENERIC
    (shown,) = out.exit_reasons
    assert len(shown.encode()) <= 128 and shown.endswith("...")
    assert shown == "the directory said: " + "é" * 52 + "..."  # 20 + 104 + 3 bytes: no half character
    assert pacemaker_reason(out.stderr) == shown  # what Pacemaker keeps is the whole of what was written
    log = (tmp_path / "ha.log").read_text(encoding="utf-8")
    assert f"the exit reason is cut to 128 bytes; in full: {reason}" in log


def test_a_reason_that_fits_is_written_as_it_is(sample_agent, ocf_run, env, tmp_path):
    reason = "x" * 128
    env.update(HA_LOGFILE=str(tmp_path / "ha.log"))
    out = ocf_run(failing_start(sample_agent(), GenericError(reason)), ["sample", "start"], env)
    assert out.exit_reasons == [reason]
    assert "cut to 128 bytes" not in (tmp_path / "ha.log").read_text(encoding="utf-8")


def test_a_secret_is_redacted_before_the_reason_is_cut(sample_agent, ocf_run, env):
    """Cut first, the start of the secret would survive the cut and no longer match the redactor."""
    agent = sample_agent()
    agent.handler("start")(lambda ctx: (_ for _ in ()).throw(GenericError("x" * 122 + ctx.params.password)))
    out = ocf_run(agent, ["sample", "start"], {**env, "OCF_RESKEY_password": "Straddles-The-Cut-99"})
    assert out.exit_reasons == ["x" * 122 + "******"]
    assert "Str" not in out.stderr


def test_detail_goes_to_the_log_never_to_the_exit_reason(sample_agent, ocf_run, env, tmp_path):
    error = GenericError("the server refused the search: see its errors log",
                         detail="ldap_search: Server is unwilling to perform (53)")
    env.update(HA_LOGFILE=str(tmp_path / "ha.log"))
    out = ocf_run(failing_start(sample_agent(), error), ["sample", "start"], env)
    assert out.exit_reasons == ["the server refused the search: see its errors log"]
    assert "unwilling" not in "".join(out.exit_reasons)
    assert ("ERROR: start failed: the server refused the search: see its errors log (ldap_search: Server is "
            "unwilling to perform (53))") in (tmp_path / "ha.log").read_text(encoding="utf-8")


def test_a_refused_value_that_does_not_fit_goes_to_the_log_as_detail(sample_agent, ocf_run, env, tmp_path):
    env.update(HA_LOGFILE=str(tmp_path / "ha.log"), OCF_RESKEY_address="mail-server-" + "x" * 30)
    out = ocf_run(sample_agent(), ["sample", "validate-all"], env)
    assert out.rc == Rc.ERR_CONFIGURED
    assert out.exit_reasons == ["parameter 'address' is not a numeric IP address: set it to a numeric IP address "
                                "such as 192.0.2.10 or 2001:db8::10"]
    assert "(the value was 'mail-server-xxxxxxxxxxxxxxxxxxxx...')" in (tmp_path / "ha.log").read_text(encoding="utf-8")


def test_the_exit_reason_is_written_as_utf8_bytes_whatever_stderr_encodes(sample_agent, env, tmp_path):
    """Under Python 3.6 in the C locale stderr is ASCII with escapes: "é" would take 4 bytes."""
    import contextlib
    import io

    raw = io.BytesIO()
    stderr = io.TextIOWrapper(raw, encoding="ascii", errors="backslashreplace")
    with contextlib.redirect_stderr(stderr):
        rc = failing_start(sample_agent(), GenericError("é" * 100)).run(["sample", "start"], env)
        stderr.flush()
    assert rc == Rc.ERR_GENERIC
    lines = [line for line in raw.getvalue().split(b"\n") if line.startswith(b"ocf-exit-reason:")]
    assert lines == [b"ocf-exit-reason:" + "é".encode() * 62 + b"..."]


def test_a_value_cannot_plant_a_reason_pacemaker_would_take_instead(sample_agent, ocf_run, env):
    out = ocf_run(sample_agent(), ["sample", "validate-all"], {**env, "OCF_RESKEY_count": "ocf-exit-reason:ok"})
    assert out.rc == Rc.ERR_CONFIGURED
    assert len(out.exit_reasons) == 1
    assert pacemaker_reason(out.stderr) == out.exit_reasons[0]  # the real one, not what the value says
    assert out.exit_reasons[0].startswith("parameter 'count' 'ocf-exit-reason :ok' is not a whole number")


@pytest.mark.parametrize("action", ["start", "validate-all"])
def test_unknown_parameter_is_warned_about(sample_agent, ocf_run, env, action):
    env.update(OCF_RESKEY_prot="389", OCF_RESKEY_CRM_meta_notify="false")
    out = ocf_run(sample_agent(), ["sample", action], env)
    assert out.rc == Rc.SUCCESS
    assert warnings(out) == ["sample(rsc): WARNING: unknown parameter 'prot' is ignored: is it misspelt?"]


def test_monitor_does_not_warn_about_unknown_parameters(sample_agent, ocf_run, env):
    env.update(OCF_RESKEY_prot="389", OCF_RESKEY_CRM_meta_interval="10000")
    assert "prot" not in ocf_run(sample_agent(), ["sample", "monitor"], env).stderr


def test_running_by_hand_without_ocf_root_or_instance(sample_agent, ocf_run, tmp_path):
    out = ocf_run(sample_agent(), ["sample", "validate-all"], {"OCF_RESKEY_name": "x"})
    assert (out.rc, out.stderr) == (Rc.SUCCESS, "")
    agent = sample_agent()
    seen = {}
    agent.handler("start")(lambda ctx: seen.update(instance=ctx.instance))
    assert ocf_run(agent, ["sample", "start"], {"OCF_RESKEY_name": "x", "HA_RSCTMP": str(tmp_path)}).rc == 0
    assert seen == {"instance": "sample"}


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
def test_real_agent_executable_runs_by_hand_without_ocf_root(agent_name, tmp_path):
    # The tree's ocf/NAME for this interpreter (test_install: the same file but its first line)
    (executable,) = install.install(str(tmp_path / "agents"), sys.executable, names=[agent_name])
    environ = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": LIB,
               "HA_RSCTMP": str(tmp_path)}
    meta = subprocess.run([executable, "meta-data"], env=environ, **CAPTURE_TEXT, timeout=60)
    assert meta.returncode == 0 and f'<resource-agent name="{agent_name}"' in meta.stdout, meta.stderr
    bad = subprocess.run([executable, "validate-all"], env={**environ, "OCF_RESKEY_port": "$(id)"},
                         **CAPTURE_TEXT, timeout=60)
    assert bad.returncode in (Rc.ERR_CONFIGURED, Rc.SUCCESS, Rc.ERR_INSTALLED)
    assert "Traceback" not in bad.stderr
    assert bad.returncode == 0 or bad.stderr.count("ocf-exit-reason:") == 1


# --- log_level as the Veritas guide writes it ------------------------------------------------------


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
@pytest.mark.parametrize("raw", ["TRACE", "trace", "Trace", " TRACE "])
def test_real_agents_accept_the_veritas_log_level_trace(agent_name, raw):
    """Seed 004's ResLogLevel is ERROR, WARN, INFO or TRACE, upper case: each carries over."""
    (param,) = [p for p in real_agent(agent_name).params if p.name == "log_level"]
    assert parse_params([param], {"OCF_RESKEY_log_level": raw}, "rsc").log_level == "trace"
    for veritas, ours in (("ERROR", "error"), ("WARN", "warn"), ("INFO", "info")):
        assert param.type.parse(veritas) == ours


def test_log_level_trace_is_the_most_verbose_level(sample_agent, ocf_run, env, tmp_path):
    from mailha.ocf import log as ocflog

    agent = sample_agent()
    agent.params = [ocflog.level_param() if p.name == "log_level" else p for p in agent.params]
    agent.handler("start")(lambda ctx: ctx.log.debug("deep detail from start"))
    logged = {}
    for level in ("trace", "TRACE", "debug", "info"):
        logfile = tmp_path / f"{level}.log"
        out = ocf_run(agent, ["sample", "start"], {**env, "OCF_RESKEY_log_level": level,
                                                   "HA_LOGFILE": str(logfile)})
        assert (out.rc, out.exit_reasons) == (Rc.SUCCESS, [])
        logged[level] = logfile.read_text(encoding="utf-8") if logfile.exists() else ""
    assert ": debug: deep detail from start" in logged["TRACE"]
    labels = {level: [line.split(": ")[1] for line in text.splitlines()] for level, text in logged.items()}
    assert labels["trace"] == labels["TRACE"] == labels["debug"]  # as much as debug: nothing lies below it
    assert "debug" in labels["trace"] and "debug" not in labels["info"]
    assert "deep detail" not in logged["info"]
    assert ocflog.LEVELS["trace"] == min(ocflog.LEVELS.values())


# --- exit codes ----------------------------------------------------------------------------------


def test_every_ocf_exit_code_has_its_value():
    assert (Rc.SUCCESS, Rc.ERR_GENERIC, Rc.ERR_ARGS, Rc.ERR_UNIMPLEMENTED, Rc.ERR_PERM, Rc.ERR_INSTALLED,
            Rc.ERR_CONFIGURED, Rc.NOT_RUNNING, Rc.RUNNING_PROMOTED, Rc.FAILED_PROMOTED, Rc.DEGRADED,
            Rc.DEGRADED_PROMOTED) == (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191)
    assert Rc.name(190) == "DEGRADED" and Rc.name(6) == "ERR_CONFIGURED" and Rc.name(42) == "42"


@pytest.mark.parametrize("error, rc", [(GenericError, 1), (ArgsError, 2), (Unimplemented, 3),
                                       (PermissionDenied, 4), (NotInstalled, 5), (Misconfigured, 6),
                                       (NotRunning, 7)])
def test_each_error_class_carries_its_code_and_its_reason_as_given(error, rc):
    # The reason stays raw until the run loop has redacted it; one_line squashes it after.
    text = "first\nsecond\tthird" + " x" * 300
    err = error(text)
    assert err.rc == rc
    assert err.reason == text and str(err) == text


def test_each_error_keeps_its_detail_apart_from_its_reason():
    err = GenericError("the server refused the search", detail="ldap: unwilling to perform")
    assert (err.reason, err.detail, str(err)) == ("the server refused the search", "ldap: unwilling to perform",
                                                  "the server refused the search")
    assert NotInstalled("x").detail is None


@pytest.mark.parametrize("text, limit, expected, cut", [
    ("a" * 128, 128, "a" * 128, False),
    ("a" * 129, 128, "a" * 125 + "...", True),
    ("é" * 64, 128, "é" * 64, False),                    # 128 bytes exactly
    ("a" + "é" * 64, 128, "a" + "é" * 62 + "...", True),  # byte 125 would split an é: cut before it
    ("日本語" * 20, 20, "日本語日本...", True),            # 3-byte characters: 15 bytes + "..."
    ("bad \udcff byte", 128, "bad \\udcff byte", False),  # not UTF-8: written as an escape
], ids=["fits", "ascii", "exact", "two-byte", "three-byte", "surrogate"])
def test_fit_cuts_on_a_character_boundary_within_the_limit(text, limit, expected, cut):
    from mailha.ocf.codes import fit

    assert fit(text, limit) == (expected, cut)
    assert len(fit(text, limit)[0].encode("utf-8")) <= limit


FLAG_AGENT = """#!{python}
# A minimal agent declared with the framework: its "service" is a flag file.
import os
from mailha.ocf.agent import Action, Agent
from mailha.ocf.params import AbsPath, Param, Port, Text

AGENT = Agent("flag", "Flag file & <co>", "Tests the framework with ocf-tester: \\"quotes\\" & 'more'.",
              [Param("state_dir", AbsPath(), "Directory of the flag", required=True, unique=True),
               Param("port", Port(), "A port", default="389"),
               Param("password", Text(), "A secret", secret=True)],
              [Action("start", 20), Action("stop", 20), Action("monitor", 20, interval=10, depth=0),
               Action("validate-all", 5), Action("meta-data", 5)])


def flag(ctx):
    return os.path.join(ctx.params.state_dir, "up")


@AGENT.handler("start")
def start(ctx):
    open(flag(ctx), "w").close()


@AGENT.handler("stop")
def stop(ctx):
    if os.path.exists(flag(ctx)):
        os.unlink(flag(ctx))


@AGENT.handler("monitor")
def monitor(ctx):
    return 0 if os.path.exists(flag(ctx)) else 7


AGENT.main()
"""


def test_an_agent_declared_with_the_framework_passes_ocf_tester():
    # ocf-tester runs meta-data as 'nobody': everything must be world-readable, so not tmp_path
    workdir = tempfile.mkdtemp(prefix="mailha-ocftester-")
    try:
        os.chmod(workdir, 0o755)
        executable = os.path.join(workdir, "flag")
        with open(executable, "w") as handle:
            handle.write(FLAG_AGENT.replace("{python}", sys.executable))
        os.chmod(executable, 0o755)
        os.mkdir(os.path.join(workdir, "state"))
        environ = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": LIB}
        done = subprocess.run(["ocf-tester", "-n", "flagrsc", "-o", f"state_dir={workdir}/state",
                               "-o", "password=Tester-Secret-9", executable],
                              env=environ, cwd="/", **CAPTURE_TEXT, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "passed all tests" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr
        assert "Tester-Secret-9" not in done.stdout + done.stderr
    finally:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


# --- the context handlers get --------------------------------------------------------------------


def test_context_tells_probes_check_levels_and_budget(sample_agent, ocf_run, env):
    agent = sample_agent()
    seen: List[Context] = []
    agent.handler("monitor")(lambda ctx: seen.append(ctx) or Rc.SUCCESS)
    ocf_run(agent, ["sample", "monitor"], {**env, "OCF_RESKEY_CRM_meta_interval": "0",
                                           "OCF_RESKEY_CRM_meta_timeout": "4000"})
    ocf_run(agent, ["sample", "monitor"],
            {**env, "OCF_RESKEY_CRM_meta_interval": "10000", "OCF_CHECK_LEVEL": "20"})
    ocf_run(agent, ["sample", "monitor"],
            {**env, "OCF_RESKEY_CRM_meta_interval": "junk", "OCF_CHECK_LEVEL": "x"})
    probe, deep, junk = seen
    assert probe.is_probe and probe.check_level == 0 and probe.budget.timeout == 4.0
    assert not deep.is_probe and deep.check_level == 20 and deep.interval_ms == 10000
    assert not junk.is_probe and junk.check_level == 0 and junk.interval_ms is None
    assert probe.instance == "rsc" and probe.params.name == "inst1"


def test_action_timeout_is_the_default_budget(sample_agent, ocf_run, env):
    agent = sample_agent()
    seen = []
    agent.handler("start")(lambda ctx: seen.append(ctx.budget.timeout))
    del env["OCF_RESKEY_CRM_meta_timeout"]
    ocf_run(agent, ["sample", "start"], env)
    assert seen == [agent.action_timeout("start")] == [20]


# --- declarations of the real agents --------------------------------------------------------------


def test_there_is_at_least_one_real_agent():
    assert REAL_AGENTS, "mailha.agents has no agent modules"


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
def test_real_agent_declaration_has_no_mistakes(agent_name):
    agent = real_agent(agent_name)
    assert agent.name == agent_name
    assert agent.declaration_errors() == []


def test_the_sample_agent_declaration_has_no_mistakes(sample_agent):
    assert sample_agent().declaration_errors() == []


def test_declaration_errors_catch_duplicates_and_missing_handlers(sample_agent):
    agent = sample_agent()
    agent.params.append(agent.params[0])
    del agent.handlers["stop"]
    assert set(agent.declaration_errors()) == {"parameter name declared twice",
                                               "action stop is advertised but has no handler"}


# --- property tests: random and hostile text for every parameter ---------------------------------

HOSTILE = ["$(id)", "`id`", "'\"; ../../../etc/passwd", "a\nb", "\0", "x\0y", "100000000000000000000", "-1",
           "ünïcødé", "日本語", "x" * 20000, "lrm:/", "%s", "\r", " ", "0", "/"]
TEXT = st.one_of(st.text(), st.sampled_from(HOSTILE),
                 st.text(alphabet="0123456789 -+.:/%$()sm\n", max_size=12))


def _sane(param, root: str):
    """A valid-looking value for *param* that keeps a real agent away from the real system."""
    ptype = param.type
    if isinstance(ptype, (AbsPath, Command)):
        return st.just(f"{root}/missing/{param.name}")
    if isinstance(ptype, Choice):
        return st.sampled_from(ptype.values)
    if isinstance(ptype, Port):
        return st.integers(1, 65535).map(str)
    if isinstance(ptype, Integer):
        return st.integers(ptype.minimum or 0, ptype.maximum or 10).map(str)
    if isinstance(ptype, Boolean):
        return st.sampled_from(["true", "false"])
    if isinstance(ptype, Seconds):
        return st.sampled_from(["1", "5s", "500ms"])
    if isinstance(ptype, Address):
        return st.sampled_from(["127.0.0.1", "::1", "192.0.2.1"])
    if isinstance(ptype, Name):
        return st.sampled_from(["inst1", "mail.example"])
    if isinstance(ptype, Text):
        return st.sampled_from(["cn=x", "some text"])
    return st.just("x")


def _confine(param, raw: str, root: str) -> str:
    """Random paths and programs land under the test's directory, never on the real system."""
    if isinstance(param.type, (AbsPath, Command)) and raw.lstrip().startswith("/"):
        return f"{root}/missing{raw.lstrip()}"
    return raw


def _placeholder(param, raw: str) -> str:
    """A stand-in for a secret that fails (or passes) parsing the same way."""
    try:
        param.type.parse(raw)
    except ValueError:
        return "\n"
    except Exception:  # noqa: BLE001 - a crash is for the property test to report
        return raw
    return "Placeholder-Secret-0"


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory(prefix="mailha-prop-") as root:
        yield root


@st.composite
def _values(draw, agent, root: str, junk=TEXT) -> dict:
    """Random text for up to three parameters, sane values or nothing for the others (so that the
    examples also reach the checks and the handlers, not only the parser)."""
    hostile = draw(st.sets(st.sampled_from([p.name for p in agent.params]), max_size=3))
    values = {}
    for param in agent.params:
        if param.name in hostile:
            values[param.name] = draw(junk)
        elif draw(st.booleans()):
            values[param.name] = draw(_sane(param, root))
    return values


def _first_bad_parameter(agent, given: dict) -> "Optional[str]":
    """The parameter parse_params must complain about, in declaration order, if any."""
    for param in agent.params:
        raw = given.get(param.name, "")
        if raw.startswith("lrm://"):
            return None  # a cibsecret reference: tested separately
        if raw == "":
            if param.required:
                return param.name
            continue
        try:
            param.type.parse(raw)
        except ValueError:
            return param.name
    return None


def check_contract(run, agent, action: str, values: dict, root: str, interval: str = "0") -> None:
    environ = {"OCF_RESOURCE_INSTANCE": "prop", "HA_RSCTMP": f"{root}/rsctmp",
               "OCF_RESKEY_CRM_meta_timeout": "10000", "OCF_RESKEY_CRM_meta_interval": interval}
    params = {p.name: p for p in agent.params}
    given = {name: _confine(params[name], raw, root) for name, raw in values.items()}
    environ.update({f"OCF_RESKEY_{name}": raw for name, raw in given.items()})
    out = run(agent, ["agent", action], environ)
    assert out.rc in OCF_CODES, out
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    if out.rc in (Rc.ERR_GENERIC, Rc.ERR_CONFIGURED, Rc.ERR_INSTALLED):
        assert len(out.exit_reasons) == 1, out.stderr
        assert out.exit_reasons[0].strip()
        assert "internal error" not in out.exit_reasons[0], out.exit_reasons
    if out.rc in (Rc.SUCCESS, Rc.NOT_RUNNING):
        assert out.exit_reasons == []
    culprit = _first_bad_parameter(agent, given)
    if culprit is not None:  # parsing comes before any check or handler, and names the parameter
        assert out.rc == Rc.ERR_CONFIGURED, out
        assert out.exit_reasons[0].startswith(f"parameter '{culprit}' "), out.exit_reasons
    secrets = {name: raw for name, raw in given.items() if params[name].secret and raw}
    if secrets:
        baseline = run(agent, ["agent", action], {**environ, **{
            f"OCF_RESKEY_{name}": _placeholder(params[name], raw) for name, raw in secrets.items()}})
        for raw in secrets.values():
            if raw not in baseline.text:  # a secret "0" may appear in any output by chance
                assert raw not in out.text, out


PROPERTY = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(data=st.data(), action=st.sampled_from(["validate-all", "monitor"]),
       interval=st.sampled_from(["0", "10000"]))
def test_sample_agent_keeps_the_contract_for_any_parameter_values(ocf_run, sample_agent, scratch, data,
                                                                  action, interval):
    agent = sample_agent()
    check_contract(ocf_run, agent, action, data.draw(_values(agent, scratch)), scratch, interval)


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
@pytest.mark.parametrize("action", ["validate-all", "monitor"])
def test_real_agents_keep_the_contract_for_any_parameter_values(ocf_run, scratch, agent_name, action):
    agent = real_agent(agent_name)

    @PROPERTY
    @given(values=_values(agent, scratch))
    def contract(values):
        check_contract(ocf_run, agent, action, values, scratch)

    contract()


def _warnings_shown(agent, given: dict) -> bool:
    """False when log_level=error hides the warnings (an unusable log_level is the default, info)."""
    level = next(p for p in agent.params if p.name == "log_level")
    try:
        return level.type.parse(given["log_level"]) != "error"
    except (KeyError, ValueError):
        return True


def _secrets(agent, given: dict) -> "List[str]":
    secret = {p.name for p in agent.params if p.secret}
    return [raw for name, raw in given.items() if raw and name in secret]


def _named_in_warnings(agent, given: dict, out) -> None:
    """Each parameter stop could not use is named in a warning (unless a secret's value, which
    the redactor replaces everywhere, is part of the words that name it)."""
    for name in _unusable(agent, given):
        words = f": WARNING: stop: parameter '{name}' "
        if not any(secret in words for secret in _secrets(agent, given)):
            assert any(words in line for line in warnings(out)), (name, out)


def _unusable(agent, given: dict) -> "Set[str]":
    """The parameters stop cannot use: values that do not parse, cibsecret references (none
    resolves in these tests), required ones missing."""
    names = set()
    for param in agent.params:
        raw = given.get(param.name, "")
        if raw.startswith("lrm://") or (raw == "" and param.required):
            names.add(param.name)
        elif raw:
            try:
                param.type.parse(raw)
            except ValueError:
                names.add(param.name)
    return names


@PROPERTY
@given(data=st.data())
def test_the_sample_agent_stops_with_any_parameter_values(ocf_run, sample_agent, scratch, data):
    agent = sample_agent()
    values = data.draw(_values(agent, scratch, st.one_of(TEXT, st.just("lrm://"))))
    environ = {"OCF_RESOURCE_INSTANCE": "prop", "HA_RSCTMP": f"{scratch}/rsctmp",
               **{f"OCF_RESKEY_{name}": raw for name, raw in values.items()}}
    out = ocf_run(agent, ["x", "stop"], environ)
    assert (out.rc, out.exit_reasons) == (Rc.SUCCESS, []), out
    assert "Traceback" not in out.text
    if _warnings_shown(agent, values):
        if not any(secret in ": WARNING: stop: " for secret in _secrets(agent, values)):
            assert len(warnings(out)) == len(_unusable(agent, values))  # one each
        _named_in_warnings(agent, values, out)


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
def test_real_agents_stop_with_any_parameter_values_when_nothing_runs(ocf_run, scratch, agent_name, monkeypatch):
    """A failed stop gets the node fenced, and Pacemaker runs stop even without the CIB secrets:
    whatever the parameters say, a stop with nothing running is 0, without an exit reason or a
    traceback, and each parameter it could not use is named in a warning.  Nothing runs by
    construction: the process table these runs see is empty, so nothing can be signalled."""
    from mailha import proc

    monkeypatch.setattr(proc, "_pids", lambda: [])
    monkeypatch.setattr(proc, "read_process", lambda pid, **kw: None)
    monkeypatch.setattr(os, "kill", lambda pid, sig: pytest.fail(f"stop signalled pid {pid} ({sig})"))
    monkeypatch.setattr(ocfparams, "SECRETS_DIR", os.path.join(scratch, "no-secrets"))
    agent = real_agent(agent_name)
    params = {p.name: p for p in agent.params}

    @PROPERTY
    @given(values=_values(agent, scratch, st.one_of(TEXT, st.just("lrm://"))))
    def stop(values):
        given = {name: _confine(params[name], raw, scratch) for name, raw in values.items()}
        environ = {"OCF_RESOURCE_INSTANCE": "prop", "HA_RSCTMP": f"{scratch}/rsctmp",
                   "OCF_RESKEY_CRM_meta_timeout": "10000",
                   **{f"OCF_RESKEY_{name}": raw for name, raw in given.items()}}
        out = ocf_run(agent, ["x", "stop"], environ)
        assert "Traceback" not in out.text
        assert (out.rc, out.exit_reasons) == (Rc.SUCCESS, []), out
        if _warnings_shown(agent, given):
            _named_in_warnings(agent, given, out)

    stop()


# --- leaving without the interpreter's teardown ---------------------------------------------------

TEARDOWN_AGENT = """#!{python}
import atexit, sys
from mailha.ocf.agent import Action, Agent

AGENT = Agent("quick", "Leaves at once", "Exits without teardown.", [],
              [Action("monitor", 20, interval=10), Action("meta-data", 5)])
atexit.register(lambda: sys.stderr.write("TEARDOWN RAN\\\\n"))


@AGENT.handler("monitor")
def monitor(ctx):
    sys.stdout.write("x" * 100000)  # more than a pipe holds: flushed before the exit
    return 7


AGENT.main()
"""


def test_an_agent_leaves_without_teardown_once_its_output_is_flushed(tmp_path):
    executable = tmp_path / "quick"
    executable.write_text(TEARDOWN_AGENT.replace("{python}", sys.executable))
    executable.chmod(0o755)
    done = subprocess.run([str(executable), "monitor"], **CAPTURE_TEXT, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": LIB, "HA_RSCTMP": str(tmp_path)})
    assert done.returncode == 7
    assert done.stdout == "x" * 100000
    assert "TEARDOWN RAN" not in done.stderr  # os._exit: no atexit, no module clean-up
