"""A testinfra connection into the Vagrant lab's VMs: ``testinfra.get_host("mailha-vlab://node1")``.

testinfra's ssh backend, with the lab's ssh_config (root, the management network, one shared
connection per node), and the namespace lab's way of saying a node is unreachable: a
:class:`~mailha.lab.preflight.LabError` (a fenced VM is rebooting), so the cluster tests treat
both labs alike.  Importing this module registers the scheme.
"""

from __future__ import annotations

import testinfra.backend
from testinfra.backend.ssh import SshBackend

from mailha.lab.preflight import LabError
from mailha.lab.vagrant.layout import RUN_DIR, VLab

SCHEME = "mailha-vlab"


class VagrantBackend(SshBackend):
    NAME = SCHEME

    def __init__(self, hostspec: str, *args, **kwargs) -> None:
        kwargs.setdefault("ssh_config", VLab(run_dir=RUN_DIR).ssh_config)
        super().__init__(hostspec, *args, **kwargs)

    def run(self, command: str, *args: str, **kwargs):
        try:
            return super().run(command, *args, **kwargs)
        except RuntimeError as exc:  # ssh's own failure (rc 255): the node is not reachable
            raise LabError(f"{self.host.name}: ssh failed: {exc}") from None


def register() -> None:
    testinfra.backend.BACKENDS.setdefault(SCHEME, f"{__name__}.VagrantBackend")


register()
