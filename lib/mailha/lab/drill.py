"""`mailha lab drill SCENARIO`: client-visible downtime on a virtual IP, measured from the client namespace.

A probe (mailha.lab.probe, bounded) runs in the client namespace while the fault is injected:
an LDAP bind on the directory VIP every 100 ms, for the GroupWise scenarios (`gw-*`) an SMTP
greeting + EHLO on the GWIA's secondary IP, for the Messaging Server's (`ms-*`) an IMAP
greeting + CAPABILITY on its virtual IP. The downtime is the gap from the last success before
the fault to the first after it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from mailha.lab import cluster, faults, gwservices, msgservices, nodecmd, power, services
from mailha.lab.layout import Layout
from mailha.lab.preflight import LabError

DIRECTORY_SCENARIOS = ("kill-server", "power-off", "move", "partition")
GROUPWISE_SCENARIOS = ("gw-power-off", "gw-move", "gw-hang")
MESSAGING_SCENARIOS = ("ms-power-off", "ms-move")
SCENARIOS = DIRECTORY_SCENARIOS + GROUPWISE_SCENARIOS + MESSAGING_SCENARIOS
#: What each scenario does, for `mailha lab drill --help`.
SCENARIO_HELP = {
    "kill-server": "SIGKILL the LDAP server; Pacemaker restarts it on the same node",
    "power-off": "power off the directory's node; it is fenced and the group moves",
    "move": "planned move of the directory group (crm_resource --move)",
    "partition": "pull the directory node's network cable; the other nodes fence it",
    "gw-power-off": "power off the GWIA's node; the group starts on the next node of its list",
    "gw-move": "planned move of the GWIA group (crm_resource --move)",
    "gw-hang": "the running GWIA stops answering; the second monitor level restarts it",
    "ms-power-off": "power off the Messaging Server's node (Configuration 1); the whole group moves",
    "ms-move": "planned move of the Messaging Server group (crm_resource --move)",
}
PROBE_INTERVAL = 0.1
PROBE_MAX_SECONDS = 90.0
PROBE_SETTLE = 2.0
#: Where a drill that did not recover keeps its evidence (outside the lab root, which `down` removes).
EVIDENCE_DIR = "/var/tmp/mailha-lab-drills"


@dataclass(frozen=True)
class Target:
    """What the probe watches and which group serves it."""
    group: str
    host: str
    port: int
    proto: str


def target_of(scenario: str, directory: services.Directory | None, gw: gwservices.GroupWise | None,
              ms: msgservices.Messaging | None = None) -> Target:
    if scenario in MESSAGING_SCENARIOS:
        assert ms is not None
        return Target(msgservices.GROUP, ms.ip, msgservices.PORTS["imap"], "imap")
    if scenario in GROUPWISE_SCENARIOS:
        assert gw is not None
        return Target(gwservices.GWIA_GROUP, gw.gwia_ip, 25, "smtp")
    assert directory is not None
    return Target(services.GROUP, directory.host, directory.port, "ldap")


@dataclass
class DrillResult:
    scenario: str
    run: int
    from_node: str
    to_node: str
    downtime: float  # seconds
    failures: int  # probes that failed
    recovered: bool
    samples: int = 0  # probes sent


def start_probe(target: Target, prefix: list[str], max_seconds: float = PROBE_MAX_SECONDS) -> subprocess.Popen:
    """The bounded client probe (mailha.lab.probe) on *target*, running: *prefix* puts it where
    the clients are (the client namespace here, nothing for the Vagrant lab's host)."""
    argv = [*prefix, sys.executable, "-m", "mailha.lab.probe",
            target.host, "--proto", target.proto, "--port", str(target.port),
            "--interval", str(PROBE_INTERVAL),
            "--max-seconds", str(max_seconds), "--settle", str(PROBE_SETTLE)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": power.package_parent(), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    if proc.stdout is None or proc.stdout.readline().strip() != "probing":
        proc.kill()
        raise LabError("the client probe did not start")
    return proc


def probe_outage(probe: subprocess.Popen, inject, max_seconds: float = PROBE_MAX_SECONDS) -> dict:
    """Inject the fault while *probe* runs; the probe's Outage record (a dict) once it ends."""
    try:
        time.sleep(0.5)  # a few successful probes before the fault, so the gap has a start
        inject()
        out, _ = probe.communicate(timeout=max_seconds + 10)
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()
    return json.loads(out.strip().splitlines()[-1])


def _hang_gwia(layout: Layout, node: str, gw: gwservices.GroupWise) -> None:
    """The emulator's `hang` fault on the running GWIA only (its successor must answer)."""
    pid = gwservices.agent_pid(nodecmd.runner(layout), node, gwservices.GWIA_BINARY, gw.gwia_startup)
    if pid is None:
        raise LabError(f"no GWIA process found on {node}")
    out = nodecmd.run(layout, node, ["/usr/bin/python3", "-m", "mailha.sim", "control", gw.gwia_home,
                                     "--fault", "hang", "--pid", str(pid)])
    if out.returncode != 0:
        raise LabError(f"mailha sim control failed on {node}: {out.stderr.strip()}")


def _inject(layout: Layout, scenario: str, directory: services.Directory | None,
            gw: gwservices.GroupWise | None, node: str, group: str) -> None:
    if scenario == "kill-server":
        assert directory is not None
        faults.kill_server(layout, node, directory.pidfile)
    elif scenario in ("power-off", "gw-power-off", "ms-power-off"):
        faults.power_off(layout, node)
    elif scenario in ("move", "gw-move", "ms-move"):
        target = next(n for n in cluster.powered_on_nodes(layout) if n != node)
        faults.move(layout, target, group)
    elif scenario == "gw-hang":
        assert gw is not None
        _hang_gwia(layout, node, gw)
    elif scenario == "partition":
        faults.partition(layout, node)
    else:
        raise LabError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")


def run_once(layout: Layout, scenario: str, directory: services.Directory | None, run: int,
             gw: gwservices.GroupWise | None = None, ms: msgservices.Messaging | None = None) -> DrillResult:
    faults.restore(layout)
    target = target_of(scenario, directory, gw, ms)
    node = faults.active_node(layout, target.group)
    probe = start_probe(target, ["ip", "netns", "exec", layout.client_netns])
    outage = probe_outage(probe, lambda: _inject(layout, scenario, directory, gw, node, target.group))
    # Ask a node other than the one hit: after a partition that one sees only itself.
    viewer = next((n for n in cluster.powered_on_nodes(layout) if n != node), None)
    now = cluster.try_status(layout, viewer)
    to = (now.group_node(target.group) if now else None) or "?"
    if not outage["recovered"]:
        keep_evidence(layout, f"{scenario}-{run}", viewer)
    if scenario == "gw-hang" and gw is not None:
        nodecmd.run(layout, to if to != "?" else node, ["/usr/bin/python3", "-m", "mailha.sim", "control",
                                                        gw.gwia_home, "--clear"])
    return DrillResult(scenario, run, node, to, outage["downtime"], outage["failures"], outage["recovered"],
                       outage["samples"])


def keep_evidence(layout: Layout, name: str, viewer: str | None) -> str:
    """Copy crm_mon XML and every node's Pacemaker log out of the lab root (which `down` removes)."""
    dest = os.path.join(EVIDENCE_DIR, f"{time.strftime('%Y%m%dT%H%M%S')}-{name}")
    os.makedirs(dest, exist_ok=True)
    if viewer:
        out = nodecmd.run(layout, viewer, ["crm_mon", "--output-as=xml", "--include=all"], timeout=30)
        with open(os.path.join(dest, "crm_mon.xml"), "w", encoding="utf-8") as f:
            f.write(out.stdout)
    for node in layout.node_names():
        log = os.path.join(layout.node_dir(node), "var-log-pacemaker", "pacemaker.log")
        if os.path.exists(log):
            shutil.copyfile(log, os.path.join(dest, f"{node}-pacemaker.log"))
    print(f"{name}: not recovered; crm_mon and Pacemaker logs kept in {dest}", file=sys.stderr, flush=True)
    return dest


HEADER = (f"{'scenario':12} {'run':>3} {'from':6} {'to':6} {'downtime (s)':>12} "
          f"{'failed/sent probes':>18} recovered")
#: What the columns mean, printed under the table.
LEGEND = ("downtime: seconds from the client's last answer before the fault to its first answer after it.\n"
          f"probes: one from the client every {PROBE_INTERVAL:g} s, an LDAP bind on the directory's "
          "virtual IP, for gw-* an SMTP greeting and EHLO on the GWIA's, for ms-* an IMAP greeting "
          "and CAPABILITY on the Messaging Server's.")


def row(r: DrillResult) -> str:
    probes = f"{r.failures}/{r.samples}"
    return (f"{r.scenario:12} {r.run:>3} {r.from_node:6} {r.to_node:6} {r.downtime:>12.2f} "
            f"{probes:>18} {'yes' if r.recovered else 'NO'}")


def table(results: list[DrillResult]) -> str:
    return "\n".join([HEADER, *map(row, results)])


def drill(layout: Layout, scenarios: list[str], runs: int, kind: str) -> list[DrillResult]:
    """Deploy what the scenarios need (directory group, GroupWise groups), then run each *runs*
    times.  Prints the table as it goes: the header, then each run's row once it is measured
    (a run takes a minute or more)."""
    directory = services.deploy(layout, kind) if set(scenarios) & set(DIRECTORY_SCENARIOS) else None
    gw = gwservices.deploy(layout) if set(scenarios) & set(GROUPWISE_SCENARIOS) else None
    ms = msgservices.deploy(layout) if set(scenarios) & set(MESSAGING_SCENARIOS) else None
    results = []
    print(HEADER, flush=True)
    for scenario in scenarios:
        for run in range(1, runs + 1):
            results.append(run_once(layout, scenario, directory, run, gw, ms))
            print(row(results[-1]), flush=True)
    faults.restore(layout)
    return results
