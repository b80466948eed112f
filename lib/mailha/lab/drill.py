"""`mailha lab drill SCENARIO`: client-visible downtime on the VIP, measured from the client namespace.

A probe (mailha.lab.probe: an LDAP bind every 100 ms, bounded) runs in the
client namespace while the fault is injected; the downtime is the gap from the
last successful bind before the fault to the first after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

from mailha.lab import cluster, faults, power, services
from mailha.lab.layout import Layout
from mailha.lab.preflight import LabError

SCENARIOS = ("kill-server", "power-off", "move", "partition")
PROBE_MAX_SECONDS = 90.0
PROBE_SETTLE = 2.0


@dataclass
class DrillResult:
    scenario: str
    run: int
    from_node: str
    to_node: str
    downtime: float
    failures: int
    recovered: bool


def _start_probe(layout: Layout, directory: services.Directory) -> subprocess.Popen:
    argv = ["ip", "netns", "exec", layout.client_netns, sys.executable, "-m", "mailha.lab.probe",
            directory.host, "--port", str(directory.port), "--interval", "0.1",
            "--max-seconds", str(PROBE_MAX_SECONDS), "--settle", str(PROBE_SETTLE)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": power.package_parent(), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    if proc.stdout is None or proc.stdout.readline().strip() != "probing":
        proc.kill()
        raise LabError("the client probe did not start")
    return proc


def _inject(layout: Layout, scenario: str, directory: services.Directory, node: str) -> None:
    if scenario == "kill-server":
        faults.kill_server(layout, node, directory.pidfile)
    elif scenario == "power-off":
        faults.power_off(layout, node)
    elif scenario == "move":
        target = next(n for n in cluster.powered_on_nodes(layout) if n != node)
        faults.move(layout, target)
    elif scenario == "partition":
        faults.partition(layout, node)
    else:
        raise LabError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")


def run_once(layout: Layout, scenario: str, directory: services.Directory, run: int) -> DrillResult:
    faults.restore(layout)
    node = faults.active_node(layout)
    probe = _start_probe(layout, directory)
    try:
        time.sleep(0.5)  # a few successful binds before the fault, so the gap has a start
        _inject(layout, scenario, directory, node)
        out, _ = probe.communicate(timeout=PROBE_MAX_SECONDS + 10)
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()
    outage = json.loads(out.strip().splitlines()[-1])
    # Ask a node other than the one hit: after a partition that one sees only itself.
    viewer = next((n for n in cluster.powered_on_nodes(layout) if n != node), None)
    now = cluster.try_status(layout, viewer)
    to = (now.group_node(services.GROUP) if now else None) or "?"
    return DrillResult(scenario, run, node, to, outage["downtime"], outage["failures"], outage["recovered"])


def table(results: list[DrillResult]) -> str:
    head = f"{'scenario':12} {'run':>3} {'from':6} {'to':6} {'downtime s':>10} {'failed probes':>13} recovered"
    rows = [f"{r.scenario:12} {r.run:>3} {r.from_node:6} {r.to_node:6} {r.downtime:>10.2f} "
            f"{r.failures:>13} {'yes' if r.recovered else 'NO'}" for r in results]
    return "\n".join([head, *rows])


def drill(layout: Layout, scenarios: list[str], runs: int, kind: str) -> list[DrillResult]:
    directory = services.deploy(layout, kind)
    results = []
    for scenario in scenarios:
        for run in range(1, runs + 1):
            results.append(run_once(layout, scenario, directory, run))
            print(table(results[-1:]).splitlines()[1], flush=True)
    faults.restore(layout)
    return results
