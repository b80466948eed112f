"""OCF_TRACE_RA and ``crm resource trace``: a trace file like the shell agents', but redacted.

ocf-shellfuncs turns ``OCF_TRACE_RA=1`` (or ``trace_ra=1`` on an operation, which ``crm resource
trace`` sets) into ``set -x`` written to ``$trace_dir/<type>/<instance>.<action>.<date>``, every
password included.  The mailha trace goes to the same place and holds the action, the
parameters, every log line at debug level, the exit reason and the rc, and never a secret.
"""

import io
import os
import re
import stat
import subprocess
import sys

import pytest

import mailha
from mailha.ocf import params as ocfparams
from mailha.ocf.agent import Action, Agent
from mailha.ocf.codes import GenericError, Rc
from mailha.ocf.params import Param, Port, Text
from testkit import CAPTURE_TEXT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List

SECRET = "Tr4ce-S3cret!"
LIB = os.path.dirname(os.path.dirname(os.path.abspath(mailha.__file__)))
STAMP = r"\d{4}-\d\d-\d\d\.\d\d:\d\d:\d\d"  # date +%F.%T, as ocf_default_trace_dest names them


def tracing_agent() -> "Agent":
    agent = Agent("tr", "Traced agent", "Logs at every level.", [
        Param("home", Text(), "Home"),
        Param("port", Port(), "Port", default="389"),
        Param("password", Text(), "Password", secret=True),
    ], [Action("start", 20), Action("stop", 20), Action("monitor", 20, interval=10), Action("meta-data", 5)])

    @agent.handler("start")
    def start(ctx) -> None:
        ctx.log.debug("binding with password %s to port %d", ctx.params.password, ctx.params.port)
        ctx.log.info("started on port %d", ctx.params.port)
        raise GenericError(f"the server refused {ctx.params.password}: check the password")

    @agent.handler("monitor")
    def monitor(ctx) -> int:
        ctx.log.debug("monitor sees %s", ctx.params.password)
        return Rc.NOT_RUNNING

    @agent.handler("stop")
    def stop(ctx) -> None:
        raise RuntimeError(f"unexpected {ctx.params.password}")

    return agent


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch):
    """At a terminal the trace goes to the screen, as the shell agents' does: not here."""
    monkeypatch.setattr(sys, "stdin", io.StringIO())


@pytest.fixture
def env(tmp_path):
    return {"OCF_RESOURCE_INSTANCE": "rsc", "HA_RSCTMP": str(tmp_path / "rsctmp"), "HA_LOGFACILITY": "none",
            "OCF_RESKEY_CRM_meta_timeout": "20000", "OCF_RESKEY_password": SECRET, "OCF_TRACE_RA": "1",
            "OCF_RESKEY_trace_dir": str(tmp_path / "traces")}


def trace_files(directory) -> "List[str]":
    return sorted(os.path.join(d, f) for d, _, files in os.walk(directory) for f in files)


def only_trace(directory) -> str:
    files = trace_files(directory)
    assert len(files) == 1, files
    with open(files[0], encoding="utf-8") as handle:
        return handle.read()


def test_the_trace_has_what_the_action_did_and_never_the_secret(ocf_run, env, tmp_path):
    out = ocf_run(tracing_agent(), ["tr", "start"], {**env, "OCF_RESKEY_port": "1389"})
    assert out.rc == Rc.ERR_GENERIC and SECRET not in out.text
    [path] = trace_files(tmp_path / "traces")
    assert re.fullmatch(rf"{tmp_path}/traces/tr/rsc\.start\.{STAMP}", path), path
    text = only_trace(tmp_path / "traces")
    lines = text.splitlines()
    assert lines[0].startswith("# mailha trace: tr start of rsc, pid ")
    assert "param password=******" in lines and "param port=1389" in lines
    assert "param CRM_meta_timeout=20000" in lines and "env OCF_TRACE_RA=1" in lines
    # Debug lines too, though the resource logs at info (stderr shows no debug).
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{3} debug: binding with password \*{6} to port 1389$", text, re.M)
    assert "debug: binding" not in out.stderr
    assert re.search(r"^\S+ info: started on port 1389$", text, re.M)
    assert "exit reason: the server refused ******: check the password" in lines
    assert re.search(r"^# rc 1 after \d+\.\d{3}s$", lines[-1])
    assert SECRET not in text


def test_the_trace_file_is_for_root_only_and_closed_when_the_agent_returns(ocf_run, env, tmp_path):
    ocf_run(tracing_agent(), ["tr", "monitor"], env)
    [path] = trace_files(tmp_path / "traces")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "traces" / "tr").st_mode) == 0o700
    open_files = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                  if os.path.exists(f"/proc/self/fd/{fd}")}
    assert os.path.realpath(path) not in open_files


def test_crm_resource_trace_parameters_trace_and_are_no_unknown_parameters(ocf_run, env, tmp_path):
    """`crm resource trace` puts trace_ra=1 (and trace_dir) on the operation."""
    del env["OCF_TRACE_RA"]
    env["OCF_RESKEY_trace_ra"] = "1"
    agent = tracing_agent()
    agent.handlers["start"] = lambda ctx: None
    for action in ("start", "validate-all"):
        out = ocf_run(agent, ["tr", action], env)
        assert out.rc == Rc.SUCCESS
        assert "unknown parameter" not in out.stderr, out.stderr
    assert len(trace_files(tmp_path / "traces")) == 2
    misspelt = ocf_run(agent, ["tr", "validate-all"], {**env, "OCF_RESKEY_trace_ar": "1"})
    assert "unknown parameter 'trace_ar'" in misspelt.stderr  # the exemption is for those two only


def test_an_undeclared_parameter_shows_no_value(ocf_run, env, tmp_path):
    """A password in a misspelt parameter is not known to be one: the trace keeps it out."""
    ocf_run(tracing_agent(), ["tr", "monitor"], {**env, "OCF_RESKEY_pasword": "Typo-Pa55"})
    text = only_trace(tmp_path / "traces")
    assert "param pasword=(not a parameter of this agent: value not shown)" in text
    assert "Typo-Pa55" not in text


def test_a_value_read_with_cibsecret_is_redacted(ocf_run, env, tmp_path, monkeypatch):
    monkeypatch.setattr(ocfparams, "SECRETS_DIR", str(tmp_path / "secrets"))
    os.makedirs(tmp_path / "secrets" / "rsc")
    (tmp_path / "secrets" / "rsc" / "password").write_text("From-Cibsecret-9\n")
    out = ocf_run(tracing_agent(), ["tr", "monitor"], {**env, "OCF_RESKEY_password": "lrm://"})
    assert out.rc == Rc.NOT_RUNNING
    text = only_trace(tmp_path / "traces")
    assert "debug: monitor sees ******" in text and "From-Cibsecret-9" not in text


def test_an_internal_error_leaves_its_traceback_in_the_trace_redacted(ocf_run, env, tmp_path):
    out = ocf_run(tracing_agent(), ["tr", "stop"], env)
    assert out.rc == Rc.ERR_GENERIC and "Traceback" not in out.stderr
    text = only_trace(tmp_path / "traces")
    assert "debug: Traceback (most recent call last):" in text
    assert "RuntimeError: unexpected ******" in text and SECRET not in text
    assert "exit reason: internal error in stop: RuntimeError: unexpected ******" in text


def test_the_default_place_is_ha_varlib_trace_ra_type(ocf_run, env, tmp_path):
    del env["OCF_RESKEY_trace_dir"]
    env.update(HA_VARLIB=str(tmp_path / "varlib"), OCF_RESOURCE_TYPE="trtype")
    ocf_run(tracing_agent(), ["tr", "monitor"], env)
    [path] = trace_files(tmp_path / "varlib")
    assert re.fullmatch(rf"{tmp_path}/varlib/trace_ra/trtype/rsc\.monitor\.{STAMP}", path), path


def test_ocf_trace_file_names_the_file(ocf_run, env, tmp_path):
    target = tmp_path / "one" / "file.trace"
    target.parent.mkdir()
    ocf_run(tracing_agent(), ["tr", "monitor"], {**env, "OCF_TRACE_FILE": str(target)})
    assert "debug: monitor sees ******" in target.read_text(encoding="utf-8")
    assert trace_files(tmp_path / "traces") == []


def test_an_untrusted_action_name_stays_inside_the_trace_dir(ocf_run, env, tmp_path):
    out = ocf_run(tracing_agent(), ["tr", "../../../escape\nx"], env)
    assert out.rc == Rc.ERR_UNIMPLEMENTED
    [path] = trace_files(tmp_path)  # nothing else was written anywhere under tmp_path
    assert os.path.dirname(path) == str(tmp_path / "traces" / "tr")
    assert re.fullmatch(rf"rsc\._\.\._\.\._escape_x\.{STAMP}", os.path.basename(path)), path


def test_a_trace_that_cannot_be_written_is_a_warning_not_a_failure(ocf_run, env, tmp_path):
    (tmp_path / "traces").write_text("a file where the directory should be")
    out = ocf_run(tracing_agent(), ["tr", "monitor"], env)
    assert out.rc == Rc.NOT_RUNNING
    assert "OCF_TRACE_RA is set but no trace can be written" in out.stderr


def test_no_trace_unless_asked_and_none_after_a_traced_run(ocf_run, env, tmp_path):
    quiet = {k: v for k, v in env.items() if k != "OCF_TRACE_RA"}
    assert ocf_run(tracing_agent(), ["tr", "monitor"], quiet).rc == Rc.NOT_RUNNING
    assert trace_files(tmp_path / "traces") == []
    ocf_run(tracing_agent(), ["tr", "monitor"], env)
    before = only_trace(tmp_path / "traces")
    ocf_run(tracing_agent(), ["tr", "monitor"], {**quiet, "OCF_RESKEY_port": "7"})
    assert only_trace(tmp_path / "traces") == before
    assert ocf_run(tracing_agent(), ["tr", "monitor"], {**env, "OCF_TRACE_RA": "0"}).rc == Rc.NOT_RUNNING
    assert len(trace_files(tmp_path / "traces")) == 1


AGENT_SCRIPT = """
import os, signal
from mailha.ocf.agent import Action, Agent
from mailha.ocf.params import Param, Text

agent = Agent("tr", "t", "t", [Param("password", Text(), "Password", secret=True)],
              [Action("start", 20), Action("meta-data", 5)])

@agent.handler("start")
def start(ctx):
    ctx.log.debug("about to hang, holding %s", ctx.params.password)
    if os.environ.get("DIE"):  # what Pacemaker does to an agent past its timeout
        os.kill(os.getpid(), signal.SIGKILL)

agent.main()
"""


def run_script(tmp_path, env: "Dict[str, str]", redirect: str = "") -> subprocess.CompletedProcess:
    """The agent as its own process, as Pacemaker runs it (stdin not a terminal)."""
    script = tmp_path / "agent.py"
    script.write_text(AGENT_SCRIPT)
    argv = [sys.executable, str(script), "start"]
    if redirect:  # the caller opens a descriptor for the trace, as OCF_TRACE_FILE=3..9 means
        argv = ["/bin/sh", "-c", f'"$@" {redirect}', "sh", *argv]
    return subprocess.run(argv, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": LIB, **env},
                          stdin=subprocess.DEVNULL, **CAPTURE_TEXT, timeout=60)


def test_the_executable_flushes_the_trace_before_it_exits(tmp_path, env):
    done = run_script(tmp_path, env)
    assert done.returncode == Rc.SUCCESS, done.stderr
    lines = only_trace(tmp_path / "traces").splitlines()
    assert any(line.endswith("debug: about to hang, holding ******") for line in lines)
    assert lines[-1].startswith("# rc 0 after ")
    assert SECRET not in "\n".join(lines)


def test_an_agent_killed_at_its_timeout_leaves_the_trace_up_to_the_hang(tmp_path, env):
    done = run_script(tmp_path, {**env, "DIE": "1"})
    assert done.returncode == -9
    text = only_trace(tmp_path / "traces")
    assert text.rstrip("\n").endswith("debug: about to hang, holding ******")  # written as it happened


def test_a_descriptor_in_ocf_trace_file_gets_the_trace(tmp_path, env):
    target = tmp_path / "fd9.trace"
    done = run_script(tmp_path, {**env, "OCF_TRACE_FILE": "9", "TARGET": str(target)}, '9>>"$TARGET"')
    assert done.returncode == Rc.SUCCESS, done.stderr
    text = target.read_text(encoding="utf-8")
    assert "debug: about to hang, holding ******" in text and text.splitlines()[-1].startswith("# rc 0")
    assert trace_files(tmp_path / "traces") == []
