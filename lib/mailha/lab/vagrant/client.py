"""The client of the Vagrant lab's mail drills: the host, on the lab's client network.

Its sending MTA is a real Postfix of its own (configuration, queue and log under the run
directory), with the namespace lab's client settings (mailha.lab.postfix): it takes mail on
127.0.0.1:SUBMIT_PORT, since the host's own Postfix may hold port 25, and relays all of it to a
virtual IP, retrying as Postfix does.  down() stops it by its recorded PID.
"""

from __future__ import annotations

import subprocess

from mailha.lab import postfix
from mailha.lab.preflight import LabError
from mailha.lab.vagrant import host
from mailha.lab.vagrant.layout import VLab

SUBMIT_PORT = 10025
#: The state key of its master process
STATE_KEY = "client_postfix"


def base(vlab: VLab) -> str:
    return vlab.path("client-postfix")


def start_mta(vlab: VLab, relay: str) -> int:
    """The client's Postfix relaying to *relay*, started unless it runs; its master's PID."""
    pid = postfix.master_at(base(vlab))
    if pid is not None:
        return pid
    main = postfix.main_cf(base(vlab), interfaces="127.0.0.1", hostname="client.lab.test", relay=relay,
                           sending=True)
    etc = postfix.configure_at(base(vlab), main, listen=f"127.0.0.1:{SUBMIT_PORT}")
    host.run(["postfix", "-c", etc, "start"], "starting the client's Postfix", timeout=60)
    pid = postfix.master_at(base(vlab))
    if pid is None:
        raise LabError(f"the client's Postfix started but wrote no master pid under {base(vlab)}")
    host.record(vlab, STATE_KEY, host.process_record(pid))
    return pid


def queued(vlab: VLab) -> list[dict]:
    """The messages in the client's queue."""
    def run(argv: list[str]) -> subprocess.CompletedProcess:
        return host.run(argv, "postqueue", timeout=30, check=False)
    return postfix.queued_with(run, f"{base(vlab)}/etc")


def log(vlab: VLab) -> str:
    return postfix.log_at(base(vlab))


def stop_mta(st: dict) -> None:
    """The recorded master, by PID (SIGTERM: Postfix's master ends its children)."""
    host.stop_recorded(st.get(STATE_KEY), timeout=20)
