"""Shared helpers for the OCF framework tests: a small declared agent and an in-process runner.

Both are session-scoped fixtures returning plain functions, so hypothesis tests may use them
(hypothesis refuses function-scoped fixtures, which it would not reset between examples).
"""

import contextlib
import io
from typing import Callable, List, Mapping, NamedTuple, Sequence

import pytest

from mailha.ocf.agent import Action, Agent
from mailha.ocf.codes import Misconfigured, NotInstalled, Rc
from mailha.ocf.params import (AbsPath, Address, Boolean, Choice, Command, Integer, Name, Param,
                               Port, Seconds, Text)

EXIT_REASON = "ocf-exit-reason:"


class Outcome(NamedTuple):
    """What one in-process run of an agent produced."""

    rc: int
    stdout: str
    stderr: str

    @property
    def exit_reasons(self) -> "List[str]":
        return [line[len(EXIT_REASON):] for line in self.stderr.splitlines() if line.startswith(EXIT_REASON)]

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def run_agent(agent: "Agent", argv: "Sequence[str]", environ: "Mapping[str, str]") -> "Outcome":
    """Run *agent* in this process the way its executable would, capturing both streams."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = agent.run(list(argv), environ)
    return Outcome(rc, out.getvalue(), err.getvalue())


def sample_params() -> "List[Param]":
    """One parameter of every type, with defaults that need XML escaping."""
    return [
        Param("name", Name(), "Instance name", "Names the instance & its <files>.", required=True,
              unique=True),
        Param("label", Text(max_length=64), "Label", "A \"label\" with 'quotes' & <tags>.",
              default="mail & <co> \"x\" 'y'"),
        Param("count", Integer(0, 1000), "Count", default="1"),
        Param("port", Port(), "Port", default="389"),
        Param("ssl_port", Port(allow_zero=True), "SSL port", default="0"),
        Param("enabled", Boolean(), "Enabled", default="true"),
        Param("wait", Seconds(0, 600), "Wait", default="30s"),
        Param("mode", Choice("fast", "safe"), "Mode", default="safe"),
        Param("root", AbsPath(), "Root directory"),
        Param("address", Address(), "Virtual IP"),
        Param("program", Command(), "Monitor program"),
        Param("password", Text(), "Password", secret=True),
        Param("log_level", Choice("error", "warn", "info", "debug"), "Log level", default="info"),
    ]


def declare_sample_agent() -> "Agent":
    """A fresh small agent: a cross-parameter check, a local check and a monitor handler.

    ``monitor`` reports NOT_RUNNING, or raises NotInstalled when ``root`` is set but missing
    (what a real agent does when its shared storage is not mounted here)."""
    import os

    agent = Agent("sample", "Sample agent & <friends>", "A test agent: \"quotes\" & 'apostrophes' <ok>.",
                  sample_params(),
                  [Action("start", 20), Action("stop", 20), Action("monitor", 20, interval=10, depth=0),
                   Action("validate-all", 5), Action("meta-data", 5)])

    @agent.check
    def ports_differ(p) -> None:
        if p.ssl_port and p.ssl_port == p.port:
            raise Misconfigured("'ssl_port' and 'port' are the same: give them different values")

    @agent.local_check
    def root_here(p) -> None:
        if p.root and not os.path.isdir(p.root):
            raise NotInstalled(f"{p.root} does not exist on this node")

    @agent.handler("monitor")
    def monitor(ctx) -> int:
        p = ctx.params
        if p.root and not os.path.isdir(p.root):
            raise NotInstalled(f"{p.root} is not mounted here")
        return Rc.NOT_RUNNING

    @agent.handler("start")
    def start(ctx) -> None:
        return None

    @agent.handler("stop")
    def stop(ctx) -> None:
        return None

    return agent


@pytest.fixture(scope="session")
def ocf_run() -> "Callable[[Agent, Sequence[str], Mapping[str, str]], Outcome]":
    return run_agent


@pytest.fixture(scope="session")
def sample_agent() -> "Callable[[], Agent]":
    """Factory: each call declares a fresh sample agent (tests add their own handlers)."""
    return declare_sample_agent
