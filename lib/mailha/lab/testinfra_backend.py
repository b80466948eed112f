"""A testinfra connection into lab nodes: ``testinfra.get_host("mailha-lab://node1")``.

Commands run in every namespace of the node (nsenter into its PID 1, looked up
afresh for each command since nodes reboot); ``mailha-lab://client`` runs in the
client network namespace. Importing this module registers the scheme.
Test modules take their hosts from a fixture, so the same tests run over
``ssh://`` against real machines.
"""

from __future__ import annotations

import testinfra.backend
from testinfra.backend import base

from mailha.lab import nodecmd
from mailha.lab.layout import Layout, lab_root

SCHEME = "mailha-lab"


class LabBackend(base.BaseBackend):
    NAME = SCHEME

    def __init__(self, hostname: str, *args, **kwargs) -> None:
        self.node = hostname
        self.layout = Layout(root=lab_root())
        super().__init__(hostname, *args, **kwargs)

    @classmethod
    def get_hosts(cls, host: str, **kwargs) -> list[str]:
        return [host]

    def run(self, command: str, *args: str, **kwargs) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        prefix = nodecmd.node_argv(self.layout, self.node, ["/bin/sh", "-c"])
        return self.run_local(" ".join(["%s"] * (len(prefix) + 1)), *prefix, cmd)


def register() -> None:
    testinfra.backend.BACKENDS.setdefault(SCHEME, f"{__name__}.LabBackend")


register()
