"""Pacemaker's own tools run against an installed agent: ocf-tester and crm_resource."""

from __future__ import annotations

import subprocess

from testkit import AGENT_DIR  # the agents under test: the installed ones, or $MAILHA_AGENT_DIR


def ocf_tester(agent: str, params: dict[str, object], name: str = "mailha-ocf-tester") -> subprocess.CompletedProcess:
    """Run resource-agents' ocf-tester on the agent with these parameters."""
    args = ["ocf-tester", "-n", name]
    for key, value in params.items():
        args += ["-o", f"{key}={value}"]
    return subprocess.run(args + [f"{AGENT_DIR}/{agent}"], capture_output=True, text=True, timeout=600, check=False)


class CrmResource:
    """``crm_resource --class ocf --provider mailha --agent AGENT ACTION --option k=v ...``: the
    agent run by Pacemaker's executor code, with no cluster needed.  Always the agent in
    ``$OCF_ROOT/resource.d/mailha`` (tests using it are marked ``ocf_root``)."""

    def __init__(self, agent: str, params: dict[str, object]) -> None:
        self.base = ["crm_resource", "--class", "ocf", "--provider", "mailha", "--agent", agent]
        self.options = [word for key, value in params.items() for word in ("--option", f"{key}={value}")]

    def __call__(self, *action: str, options: list[str] | None = None) -> subprocess.CompletedProcess:
        argv = self.base + list(action) + (self.options if options is None else options)
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
