#!/usr/bin/python3
"""Figures for the namespace lab (issue 3), measured, not asserted: run as root.

    PYTHONPATH=lib /usr/bin/python3 bench/lab_figures.py [--runs 3] [--kind 389ds] [--tests]

Prints a table: `lab up` (3 nodes ready), `lab down`, node power-off to the directory answering
again on the VIP (token 3000 ms), node power-off to the GWIA's SMTP answering again on its
secondary IP (`gw-power-off`), node power-off to the Messaging Server's IMAP answering again on
Configuration 1's virtual IP (`ms-power-off`), the other drills (`gw-move`, `gw-hang`, `ms-move`,
...), and optionally the cluster test run time. `--scenarios` picks drills (default: all).
Targets: up <= 60 s, down <= 10 s, power-off, gw-power-off and ms-power-off -> answering <= 12 s,
cluster tests <= 10 min.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from mailha.lab import drill, lifecycle, services
from mailha.lab.layout import Layout, lab_root

TARGETS = {"up": 60.0, "down": 10.0, "power-off": 12.0, "gw-power-off": 12.0, "ms-power-off": 12.0,
           "tests": 600.0}


def timed(func, *args, **kwargs) -> float:
    t0 = time.monotonic()
    func(*args, **kwargs)
    return time.monotonic() - t0


def row(name: str, values: list[float]) -> str:
    target = TARGETS.get(name)
    med = statistics.median(values)
    verdict = "" if target is None else ("ok" if med <= target else "OVER")
    return (f"{name:14} {len(values):>4} {med:>9.2f} {min(values):>8.2f} {max(values):>8.2f} "
            f"{'' if target is None else f'{target:.0f}':>7} {verdict}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--kind", choices=services.KINDS, default=None)
    p.add_argument("--scenarios", nargs="+", choices=drill.SCENARIOS, default=list(drill.SCENARIOS))
    p.add_argument("--tests", action="store_true", help="also time the cluster test run (pytest tests/cluster)")
    args = p.parse_args()
    kind = args.kind or services.default_kind()
    layout = Layout(root=lab_root())
    figures: dict[str, list[float]] = {"up": [], "down": []}
    for _ in range(args.runs):
        figures["up"].append(timed(lifecycle.up, layout))
        figures["down"].append(timed(lifecycle.down, layout))
    lifecycle.up(layout)
    try:
        for scenario in args.scenarios:
            results = drill.drill(layout, [scenario], args.runs, kind)
            figures[scenario] = [r.downtime for r in results]
            if not all(r.recovered for r in results):
                print(f"{scenario}: the service did NOT recover in some run", file=sys.stderr)
    finally:
        lifecycle.down(layout)
    if args.tests:
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/cluster"], check=False,
                       env=dict(os.environ, MAILHA_LAB_DIRECTORY=kind))
        figures["tests"] = [time.monotonic() - t0]
    print(f"\nlab figures, directory {kind}, corosync token 3000 ms, {os.cpu_count()} CPUs "
          "(seconds; drills = client-visible downtime: LDAP on the VIP, gw-* SMTP on the GWIA secondary IP)")
    print(f"{'figure':14} {'runs':>4} {'median':>9} {'min':>8} {'max':>8} {'target':>7}")
    for name, values in figures.items():
        print(row(name, values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
