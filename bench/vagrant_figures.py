#!/usr/bin/python3
"""Figures for the Vagrant lab (issue 11), measured, not asserted: run as root from the tree.

    PYTHONPATH=lib /usr/bin/python3 bench/vagrant_figures.py [--nodes 2] [--runs 3] [--cold]

Brings the lab up once (box build or cache, host objects, `vagrant up`, `pcs cluster setup`),
deploys crm-templates/directory.pcs, runs the power-off drill --runs times (LDAP bind on the VIP
from the host, on the client network, every 100 ms), reads corosync's token warnings, the host
memory (RSS) of each VM's qemu, and tears down.  --cold removes the cached box first, so the box
is built as on a fresh machine.  The namespace lab's power-off figure comes from
bench/lab_figures.py on the same machine.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import sys
import time

from mailha.lab.vagrant import cluster, drill, host, lifecycle
from mailha.lab.vagrant.layout import CACHE_DIR, VLab


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f}, n={len(values)})"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=None)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--cold", action="store_true", help="remove the cached box first")
    args = p.parse_args()
    vagrant_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vagrant")
    vlab = VLab(nodes=args.nodes or lifecycle.default_nodes(), vagrant_dir=os.path.abspath(vagrant_dir))
    version = open("lib/mailha/__init__.py").read().split('__version__ = "')[1].split('"')[0]
    debs = [f"build/packages/mailha_{version}_all.deb", f"build/packages/mailha-lab_{version}_all.deb"]
    if args.cold:
        for box in glob.glob(os.path.join(CACHE_DIR, "*.box")):
            os.unlink(box)
        shutil.rmtree(os.path.join(CACHE_DIR, "vagrant.d", "boxes"), ignore_errors=True)
    figures: dict[str, object] = {"nodes": vlab.nodes, "token_ms": vlab.token_ms}
    try:
        figures["up"] = lifecycle.up(vlab, debs)
        # the setup_* figures are the parts of cluster_setup
        figures["up_total"] = round(sum(v for k, v in figures["up"].items()  # type: ignore[union-attr]
                                        if not k.startswith("setup_")), 1)
        figures["rss_mib"] = host.vm_memory()
        t0 = time.monotonic()
        cluster.deploy_directory(vlab, cluster.write_password(vlab.path("dir-admin.pw")))
        figures["deploy_s"] = round(time.monotonic() - t0, 1)
        drills = []
        for run in range(args.runs):
            result = drill.power_off(vlab)
            print(json.dumps(result), file=sys.stderr, flush=True)
            drills.append(result)
        figures["drills"] = drills
        good = [d["downtime"] for d in drills if d["recovered"]]
        figures["power_off_to_ldap_s"] = spread(good) if good else "never recovered"
        cluster.restore(vlab)
        figures["corosync"] = cluster.membership_report(vlab)
    finally:
        t0 = time.monotonic()
        figures["down"] = lifecycle.down(vlab)
        figures["down_s"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        lifecycle.build_box(vlab)
        figures["box_cached_s"] = round(time.monotonic() - t0, 2)
        print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
