"""/etc/init.d/grpwise and gwha driven by gwha.conf, and the emulator's installation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from gwsim import LIB, Sim, port_open, wait_for, write
from gwsim import gwia_config, mta_config

from mailha.groupwise.gwha import GwhaAgent, render_gwha_conf
from mailha.sim import control
from mailha.sim.installer import InstallError, install


def configure(sim: Sim, tmp_path: Path) -> tuple[GwhaAgent, GwhaAgent, dict]:
    ip = sim.address()
    domain = tmp_path / "gw/dom1"
    domain.mkdir(parents=True)
    mta_cfg, mtp, mta_http = mta_config(domain, ip)
    g = gwia_config(domain / "wpgate/gwia", ip)
    mta = GwhaAgent("dom1", str(sim.bin / "gwmta"), str(mta_cfg), command=str(sim.grpwise), wait=5)
    gwia = GwhaAgent("gwia.dom1", str(sim.bin / "gwia"), str(g.cfg), command=str(sim.grpwise), wait=2)
    write(sim.gwha_conf, render_gwha_conf([mta, gwia], header="; test cluster node"))
    return mta, gwia, {"ip": ip, "mtp": mtp, "mta_http": mta_http, "gwia": g}


def pids_of(sim: Sim, agent: GwhaAgent) -> list[int]:
    from mailha.sim import procs

    return procs.agent_pids(agent)


def test_grpwise_start_status_stop_by_agent_name(sim: Sim, tmp_path: Path) -> None:
    mta, gwia, net = configure(sim, tmp_path)
    status = sim.run([sim.grpwise, "status"])
    assert status.returncode == 3
    assert status.stdout.splitlines() == ["Checking for GroupWise agent [dom1]: unused", "Checking for GroupWise agent [gwia.dom1]: unused"]

    started = sim.run([sim.grpwise, "start", "dom1"])
    assert started.returncode == 0 and "Starting GroupWise agent [dom1]: done" in started.stdout
    wait_for(lambda: port_open(net["ip"], net["mtp"]), what="MTA port")
    assert sim.run([sim.grpwise, "status", "dom1"]).stdout.split()[-1] == "running"
    assert sim.run([sim.grpwise, "status", "DOM1"]).returncode == 0  # names are case-insensitive
    assert sim.run([sim.grpwise, "start", "gwia.dom1"]).returncode == 0
    assert sim.run([sim.grpwise, "status"]).returncode == 0
    assert "already running" in sim.run([sim.grpwise, "start", "dom1"]).stdout

    control.write(str(net["gwia"].home), stop_delay=6)  # slower than the section's wait = 2
    slow = sim.run([sim.grpwise, "stop", "gwia.dom1"])
    assert slow.returncode == 1 and "failed (still running" in slow.stdout
    assert pids_of(sim, gwia)  # the script never kills: the agent finishes on its own
    wait_for(lambda: not pids_of(sim, gwia), what="GWIA finishing its slow stop")

    stopped = sim.run([sim.grpwise, "stop", "dom1"])
    assert stopped.returncode == 0 and "done" in stopped.stdout and not pids_of(sim, mta)
    unknown = sim.run([sim.grpwise, "status", "nosuch.dom"])
    assert unknown.returncode == 5 and "unknown agent" in unknown.stderr
    assert sim.run([sim.grpwise]).returncode == 2
    assert "[gwia.dom1]" in sim.run([sim.grpwise, "print"]).stdout


def test_gwha_restarts_an_agent_that_went_down_unless_suspended(sim: Sim, tmp_path: Path) -> None:
    mta, _gwia, net = configure(sim, tmp_path)
    log = tmp_path / "gwha.log"
    gwha = sim.popen([sim.bin / "gwha", "--poll", "0.3", "--log", str(log)])
    assert sim.run([sim.grpwise, "start", "dom1"]).returncode == 0
    first = wait_for(lambda: pids_of(sim, mta), what="MTA")[0]
    wait_for(lambda: "Agent [dom1] is running" in log.read_text(), what="gwha seeing the MTA")

    # The unload script's stop, without suspending gwha: gwha undoes it (seed 000 step 5).
    assert sim.run([sim.grpwise, "stop", "dom1"]).returncode == 0

    def restarted() -> int | None:
        # The MTA's daemon, listening; not its launcher, which matches too until it has detached.
        others = [p for p in pids_of(sim, mta) if p != first]
        return others[0] if len(others) == 1 and port_open(net["ip"], net["mtp"]) else None

    second = wait_for(restarted, what="gwha restarting the MTA")
    assert "Agent [dom1] is down; restarting it" in log.read_text()

    gwha.send_signal(signal.SIGUSR1)  # suspend
    wait_for(lambda: "Suspended" in log.read_text(), what="suspension")
    os.kill(second, signal.SIGKILL)
    wait_for(lambda: "Agent [dom1] is down; suspended, not restarting" in log.read_text(), what="suspended gwha noticing")
    assert pids_of(sim, mta) == []

    gwha.send_signal(signal.SIGUSR2)  # resume
    wait_for(lambda: pids_of(sim, mta), what="restart after resume")
    gwha.send_signal(signal.SIGTERM)
    assert gwha.wait(timeout=20) == 0


def test_gwha_leaves_alone_an_agent_whose_storage_is_not_here(sim: Sim, tmp_path: Path) -> None:
    mta, _gwia, _net = configure(sim, tmp_path)
    log = tmp_path / "gwha.log"
    sim.popen([sim.bin / "gwha", "--poll", "0.3", "--log", str(log)])
    assert sim.run([sim.grpwise, "start", "dom1"]).returncode == 0
    pid = wait_for(lambda: pids_of(sim, mta), what="MTA")[0]
    wait_for(lambda: "Agent [dom1] is running" in log.read_text(), what="gwha seeing the MTA")
    hidden = Path(mta.startup).with_suffix(".moved")
    os.rename(mta.startup, hidden)  # the partition moved to another node
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "not found, not restarting" in log.read_text(), what="gwha giving up")
    assert pids_of(sim, mta) == []


def test_an_agent_started_with_a_relative_startup_file_is_known_by_its_directory(sim: Sim,
                                                                                  tmp_path: Path) -> None:
    # `cd /gw/dom1 && gwmta @dom1.mta`: the agent reads ./dom1.mta, and grpwise (the library's
    # rule, as the resource agents find processes) knows it as the agent of /gw/dom1/dom1.mta.
    mta, _gwia, net = configure(sim, tmp_path)
    startup = Path(mta.startup)
    launched = sim.run([sim.bin / "gwmta", f"@{startup.name}"], cwd=startup.parent)
    assert launched.returncode == 0, launched.stderr
    wait_for(lambda: port_open(net["ip"], net["mtp"]), what="MTA port")
    assert sim.run([sim.grpwise, "status", "dom1"]).stdout.split()[-1] == "running"
    elsewhere = GwhaAgent("dom2", mta.server, str(tmp_path / "gw/dom2" / startup.name))  # same file name
    assert len(pids_of(sim, mta)) == 1 and pids_of(sim, elsewhere) == []
    stopped = sim.run([sim.grpwise, "stop", "dom1"])
    assert stopped.returncode == 0 and "done" in stopped.stdout and pids_of(sim, mta) == []


def test_the_lab_finds_an_agent_by_the_same_rule(sim: Sim, tmp_path: Path) -> None:
    # mailha lab's agent_pid runs its lookup inside a node; here "inside the node" is this machine.
    from mailha.lab import gwservices

    def here(node: str, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=sim.env)

    mta, _gwia, net = configure(sim, tmp_path)
    startup = Path(mta.startup)
    assert gwservices.agent_pid(here, "node1", mta.server, mta.startup) is None  # not running
    assert sim.run([sim.bin / "gwmta", f"@{startup.name}"], cwd=startup.parent).returncode == 0
    wait_for(lambda: port_open(net["ip"], net["mtp"]), what="MTA port")
    assert gwservices.agent_pid(here, "node1", mta.server, mta.startup) == pids_of(sim, mta)[0]
    assert gwservices.agent_pid(here, "node1", mta.server, str(tmp_path / startup.name)) is None


def test_install_cli_and_refusal_to_overwrite_a_real_product(tmp_path: Path) -> None:
    root = tmp_path / "node"
    env = dict(os.environ, PYTHONPATH=LIB)
    out = subprocess.run([sys.executable, "-m", "mailha.sim", "install", "--root", str(root)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    written = out.stdout.split()
    for name in ("gwmta", "gwpoa", "gwia", "gwha"):
        path = root / "opt/novell/groupwise/agents/bin" / name
        assert str(path) in written and os.access(path, os.X_OK)
        assert path.read_text().startswith("#!/usr/bin/python3\n")
    assert os.access(root / "etc/init.d/grpwise", os.X_OK)
    conf = root / "etc/opt/novell/groupwise/gwha.conf"
    conf.write_text("[gwha]\n; site edits\n")
    assert str(conf) not in install(str(root))  # re-install keeps an existing gwha.conf
    assert conf.read_text() == "[gwha]\n; site edits\n"

    real = root / "opt/novell/groupwise/agents/bin/gwia"
    real.write_bytes(b"\x7fELF real product")
    with pytest.raises(InstallError, match="not the mailha emulator"):
        install(str(root))
    refused = subprocess.run([sys.executable, "-m", "mailha.sim", "install", "--root", str(root)], capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 1 and "refusing to overwrite" in refused.stderr
    assert real.read_bytes() == b"\x7fELF real product"
    assert str(real) in install(str(root), force=True)


def test_the_products_own_paths_are_refused_outside_a_lab_node(monkeypatch, tmp_path: Path) -> None:
    """On any other machine an emulator at /opt/novell/groupwise would pass for GroupWise."""
    from mailha.sim import installer

    monkeypatch.setattr(installer, "LAB_NODE_MARKER", str(tmp_path / "no-marker"))
    before = os.path.lexists("/opt/novell/groupwise/agents/bin/gwpoa")
    for root in ("/", "//", "/usr/.."):
        with pytest.raises(InstallError, match="lab nodes only"):
            install(root)
    assert os.path.lexists("/opt/novell/groupwise/agents/bin/gwpoa") == before
    refused = subprocess.run([sys.executable, "-m", "mailha.sim", "install"], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=LIB), timeout=60)
    assert refused.returncode == 2 and "--root" in refused.stderr  # no default root


def test_layout_cli_builds_a_system_grpwise_can_run(sim: Sim, tmp_path: Path) -> None:
    ip = sim.address()
    base = tmp_path / "partition"
    out = sim.run([sys.executable, "-m", "mailha.sim", "layout", "--base", base, "--domain", "dom9", "--ip", ip,
                   "--po", "po9", "--root", sim.root, "--register"])
    assert out.returncode == 0, out.stderr
    from mailha.groupwise.gwha import load_gwha_conf
    from mailha.groupwise.startup import StartupFile

    names = [a.name for a in load_gwha_conf(str(sim.gwha_conf))]
    assert names == ["dom9", "gwia.dom9", "po9.dom9"]
    gwia_cfg = StartupFile.load(base / "dom9/wpgate/gwia/gwia.cfg")
    assert gwia_cfg.ip == ip and gwia_cfg.enabled("smtp") and gwia_cfg.home == str(base / "dom9/wpgate/gwia")
    # Product ports on a private loopback address; the emulator binds them only on --ip.
    for name in ("dom9", "po9.dom9"):
        assert sim.run([sim.grpwise, "start", name]).returncode == 0
    wait_for(lambda: port_open(ip, 7100) and port_open(ip, 1677), what="MTA and POA product ports")
    assert sim.run([sim.grpwise, "stop"]).returncode == 0
    assert sim.run([sim.grpwise, "status"]).returncode == 3

    unbound = sim.run([sys.executable, "-m", "mailha.sim", "layout", "--base", tmp_path / "p2", "--domain", "d2"])
    assert unbound.returncode == 0
    assert StartupFile.load(tmp_path / "p2/d2/wpgate/gwia/gwia.cfg").ip is None  # listens on all addresses


def test_control_cli_writes_and_clears_the_knobs(sim: Sim, tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    out = sim.run([sys.executable, "-m", "mailha.sim", "control", home, "--fault", "hang", "--stop-delay", "120", "--pid", "42"])
    assert out.returncode == 0 and out.stdout.strip() == str(home / "mailha-sim.json")
    assert control.load(str(home), control.Control(), pid=42) == control.Control(stop_delay=120.0, fault="hang")
    assert sim.run([sys.executable, "-m", "mailha.sim", "control", home, "--clear"]).returncode == 0
    assert not (home / "mailha-sim.json").exists()
