"""Shared test helpers: run an installed agent the way Pacemaker runs it.

The agents run are those in ``/usr/lib/ocf/resource.d/mailha`` (the .deb's), or those in
``$MAILHA_AGENT_DIR`` when set (:data:`testkit.AGENT_DIR`).
"""

import os
import subprocess
from collections import namedtuple

import pytest
from testkit import AGENT_DIR as PROVIDER_DIR, CAPTURE_TEXT, OCF_ROOT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List, Optional

PYTHON = "/usr/bin/python3"


class AgentResult(namedtuple("AgentResult", "rc stdout stderr")):
    __slots__ = ()

    @property
    def exit_reasons(self) -> "List[str]":
        return [line.split(":", 1)[1] for line in self.stderr.splitlines() if line.startswith("ocf-exit-reason:")]

    @property
    def reason(self) -> str:
        return self.exit_reasons[-1] if self.exit_reasons else ""


class AgentRunner:
    """Runs ``/usr/lib/ocf/resource.d/mailha/NAME ACTION`` with a clean OCF environment."""

    def __init__(self, name: str, rsctmp: str, instance: str = "test") -> None:
        self.path = os.path.join(PROVIDER_DIR, name)
        self.rsctmp = rsctmp
        self.instance = instance
        self.started: List[Dict[str, object]] = []

    def env(self, params: "Dict[str, object]", interval: "Optional[int]" = None, check_level: "Optional[int]" = None,
            timeout_ms: int = 20000, extra: "Optional[Dict[str, str]]" = None) -> "Dict[str, str]":
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "OCF_ROOT": OCF_ROOT,
            "OCF_RESOURCE_INSTANCE": self.instance,
            "OCF_RESOURCE_TYPE": os.path.basename(self.path),
            "OCF_RESOURCE_PROVIDER": "mailha",
            "HA_RSCTMP": self.rsctmp,
            "OCF_RESKEY_CRM_meta_timeout": str(timeout_ms),
        }
        env.update({f"OCF_RESKEY_{k}": str(v) for k, v in params.items() if v is not None})
        if interval is not None:
            env["OCF_RESKEY_CRM_meta_interval"] = str(interval)
        if check_level is not None:
            env["OCF_CHECK_LEVEL"] = str(check_level)
        env.update(extra or {})
        return env

    def __call__(self, action: str, params: "Dict[str, object]", *, interval: "Optional[int]" = None,
                 check_level: "Optional[int]" = None, timeout_ms: int = 20000,
                 extra: "Optional[Dict[str, str]]" = None, enforce_timeout: bool = False) -> "AgentResult":
        """Run *action*.  With *enforce_timeout* the agent is held to its operation timeout as
        Pacemaker holds it (an overrun fails the test); otherwise the limit is a safety net."""
        if action == "start":
            self.started.append(dict(params))
        env = self.env(params, interval, check_level, timeout_ms, extra)
        limit = timeout_ms / 1000 if enforce_timeout else timeout_ms / 1000 + 30
        try:
            done = subprocess.run([self.path, action], env=env, **CAPTURE_TEXT,
                                  timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.path} {action} overran its {limit:g}s operation timeout")
        assert "Traceback" not in done.stderr, done.stderr
        return AgentResult(done.returncode, done.stdout, done.stderr)

    def probe(self, params: "Dict[str, object]", **kw) -> "AgentResult":
        return self("monitor", params, interval=0, **kw)

    def monitor(self, params: "Dict[str, object]", **kw) -> "AgentResult":
        return self("monitor", params, interval=kw.pop("interval", 10000), **kw)


    def stop_everything_started(self) -> None:
        """Stop whatever a test started, so no daemon outlives it (even a failed test)."""
        for params in reversed(self.started):
            self("stop", params, timeout_ms=60000)
        self.started.clear()


@pytest.fixture
def agent_runner(tmp_path):
    """Factory: ``agent_runner("ldap")`` gives an :class:`AgentRunner` for that agent.
    Everything started through it is stopped at the end of the test."""
    runners: List[AgentRunner] = []

    def make(name: str, instance: str = "test") -> "AgentRunner":
        if not os.access(os.path.join(PROVIDER_DIR, name), os.X_OK):
            pytest.fail(f"agent {name} is not installed in {PROVIDER_DIR}: run ./run tests")
        runner = AgentRunner(name, str(tmp_path / "rsctmp"), instance)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.stop_everything_started()
