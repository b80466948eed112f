"""Faults and timing knobs: crash, hang, freeze, refuse to bind, ignore SIGTERM, slow start and stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
from gwsim import Sim, port_open, wait_for
from gwsim import banner, gwia_config, mta_config, silent_for

from mailha.sim import control


def log_text(home: Path) -> str:
    return "".join(p.read_text() for p in sorted((home / "000.prc").iterdir()))


def test_crash_injected_into_a_running_agent(sim: Sim, gwia_home: Path) -> None:
    g = gwia_config(gwia_home, sim.address())
    proc = sim.popen([sim.bin / "gwia", f"@{g.cfg}"])
    wait_for(lambda: port_open(g.ip, g.smtp), what="SMTP port")
    control.write(str(gwia_home), fault="crash", exit_code=134)
    assert proc.wait(timeout=20) == 134
    assert "Abnormal termination" in log_text(gwia_home)
    assert not port_open(g.ip, g.smtp)


def test_hang_keeps_connections_open_and_silent_until_released(sim: Sim, gwia_home: Path) -> None:
    g = gwia_config(gwia_home, sim.address())
    proc = sim.popen([sim.bin / "gwia", f"@{g.cfg}"])
    wait_for(lambda: port_open(g.ip, g.smtp), what="SMTP port")
    control.write(str(gwia_home), fault="hang")
    wait_for(lambda: "fault='hang'" in log_text(gwia_home), what="hang applied")
    assert silent_for(g.ip, g.smtp, 1.0) and silent_for(g.ip, g.http, 1.0)
    assert proc.poll() is None
    control.write(str(gwia_home), fault="none")
    wait_for(lambda: "fault='none'" in log_text(gwia_home), what="hang released")
    assert banner(g.ip, g.smtp).startswith(b"220 ")


def test_freeze_stops_accepting_and_defers_sigterm(sim: Sim, gwia_home: Path) -> None:
    g = gwia_config(gwia_home, sim.address())
    proc = sim.popen([sim.bin / "gwia", f"@{g.cfg}"])
    wait_for(lambda: port_open(g.ip, g.smtp), what="SMTP port")
    control.write(str(gwia_home), fault="freeze")
    wait_for(lambda: "Frozen" in log_text(gwia_home), what="freeze")
    assert silent_for(g.ip, g.smtp, 1.0)  # the kernel completes the handshake; nobody answers
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=1.5)
        raise AssertionError("a frozen agent ended on SIGTERM")
    except subprocess.TimeoutExpired:
        pass
    control.write(str(gwia_home), fault="none")
    assert proc.wait(timeout=20) == 0  # thawed: the pending SIGTERM is served
    assert "Thawed" in log_text(gwia_home) and "Received SIGTERM: shutting down" in log_text(gwia_home)


def test_bindfail_fault_and_a_real_port_conflict_exit_with_the_reason(sim: Sim, gwia_home: Path) -> None:
    g = gwia_config(gwia_home, sim.address())
    refused = sim.popen([sim.bin / "gwia", f"@{g.cfg}"], env={"MAILHA_SIM_FAULT": "bindfail"})
    _, err = refused.communicate(timeout=30)
    assert refused.returncode == 1 and f"Unable to bind to TCP port {g.smtp} at address {g.ip}" in err
    with socket.socket() as holder:  # another program holds the POP3 port on the address
        holder.bind((g.ip, g.pop))
        holder.listen()
        conflict = sim.popen([sim.bin / "gwia", f"@{g.cfg}"])
        _, err = conflict.communicate(timeout=30)
    assert conflict.returncode == 1 and f"POP3: Unable to bind to TCP port {g.pop}" in err and "Address already in use" in err
    assert "Unable to bind" in log_text(gwia_home)


def test_sigterm_ignored_until_the_knob_is_cleared(sim: Sim, gwia_home: Path) -> None:
    g = gwia_config(gwia_home, sim.address())
    proc = sim.popen([sim.bin / "gwia", f"@{g.cfg}"], env={"MAILHA_SIM_IGNORE_SIGTERM": "1"})
    wait_for(lambda: port_open(g.ip, g.smtp), what="SMTP port")
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "Received SIGTERM: ignored" in log_text(gwia_home), what="SIGTERM logged")
    assert proc.poll() is None and banner(g.ip, g.smtp).startswith(b"220 ")
    control.write(str(gwia_home), ignore_sigterm=False)
    wait_for(lambda: "ignore_sigterm=False" in log_text(gwia_home), what="knob cleared")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_slow_stop_closes_listeners_first_then_exits_cleanly(sim: Sim, gwia_home: Path) -> None:
    g = gwia_config(gwia_home, sim.address())
    proc = sim.popen([sim.bin / "gwia", f"@{g.cfg}"], env={"MAILHA_SIM_STOP_DELAY": "3"})
    wait_for(lambda: port_open(g.ip, g.smtp), what="SMTP port")
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "Finishing processing" in log_text(gwia_home), what="shutdown started")
    assert not port_open(g.ip, g.smtp)
    assert proc.poll() is None  # still finishing its work
    assert proc.wait(timeout=30) == 0
    assert "Agent terminated normally" in log_text(gwia_home)


# The agent, with a SIGTERM sent to itself as soon as its first listener is bound: the moment a
# caller that waits for one port sees it answer while the others are still being bound.
SIGTERM_AFTER_FIRST_BIND = """
import os, signal, sys
from mailha.sim import agent

listen = agent.Agent._listen

async def listen_then_term(self, point, callback):
    server = await listen(self, point, callback)
    if not self.servers:
        os.kill(os.getpid(), signal.SIGTERM)
    return server

agent.Agent._listen = listen_then_term
sys.exit(agent.main("gwia", sys.argv[1:]))
"""


def test_sigterm_as_soon_as_the_first_port_answers_is_a_graceful_stop(sim: Sim, gwia_home: Path) -> None:
    g = gwia_config(gwia_home, sim.address())
    proc = sim.popen([sys.executable, "-c", SIGTERM_AFTER_FIRST_BIND, f"@{g.cfg}"])
    assert proc.wait(timeout=30) == 0  # not -15: the handler was in place before the first bind
    assert "Agent terminated normally" in log_text(gwia_home)
    assert not any(port_open(g.ip, port) for port in (g.smtp, g.pop, g.imap, g.ldap, g.http))


def test_slow_start_binds_only_after_the_delay(sim: Sim, tmp_path: Path) -> None:
    domain = tmp_path / "dom3"
    domain.mkdir()
    ip = sim.address()
    cfg, mtp, http_port = mta_config(domain, ip)
    control.write(str(domain), start_delay=3)
    proc = sim.popen([sim.bin / "gwmta", f"@{cfg}"])
    log = lambda: "".join(p.read_text() for p in (domain / "mslocal").glob("*"))  # noqa: E731
    wait_for(lambda: (domain / "mslocal").is_dir() and "Initializing" in log(), what="initialising")
    before = log()
    closed = not port_open(ip, mtp)
    if "Agent is up" not in log():  # still initialising when we knocked
        assert closed and "Agent is up" not in before
    wait_for(lambda: port_open(ip, http_port), what="MTA up after its start delay")
    assert proc.poll() is None and psutil.pid_exists(proc.pid)


def test_sigterm_while_initialising_stops_the_agent_before_it_binds(sim: Sim, gwia_home: Path) -> None:
    g = gwia_config(gwia_home, sim.address())
    proc = sim.popen([sim.bin / "gwia", f"@{g.cfg}"], env={"MAILHA_SIM_START_DELAY": "30"})
    wait_for(lambda: (gwia_home / "000.prc").is_dir() and "Initializing" in log_text(gwia_home), what="initialising")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert "Stopped while initializing" in log_text(gwia_home) and "Agent is up" not in log_text(gwia_home)


def test_control_file_for_another_pid_or_node_is_ignored(tmp_path: Path) -> None:
    home = str(tmp_path)
    control.write(home, fault="hang", pid=1)
    assert control.load(home, control.Control(), pid=2).fault == "none"
    control.write(home, fault="hang", node="no-such-node")
    assert control.load(home, control.Control()).fault == "none"
    control.write(home, fault="hang", stop_delay=5)
    loaded = control.load(home, control.Control())
    assert (loaded.fault, loaded.stop_delay) == ("hang", 5.0)
    env = control.from_environment({"MAILHA_SIM_FAULT": "crash", "MAILHA_SIM_START_DELAY": "2"})
    assert (env.fault, env.start_delay) == ("crash", 2.0)
