"""python3 -m mailha.lab.vagrant up|down|status|deploy|drill|report  (root; ./run vagrant-tests drives it)."""

from __future__ import annotations

import argparse
import glob
import json
import os
import signal
import sys

from mailha.lab.preflight import LabError
from mailha.lab.vagrant import cluster, drill, lifecycle
from mailha.lab.vagrant.layout import CACHE_DIR, RUN_DIR, VLab


def vlab_from(args: argparse.Namespace) -> VLab:
    vagrant_dir = os.path.abspath(args.vagrant_dir)
    recorded = lifecycle.host.read_state(VLab(run_dir=args.run_dir)) or {}
    count = args.nodes or recorded.get("nodes") or lifecycle.default_nodes()
    return VLab(nodes=count, run_dir=args.run_dir, cache_dir=args.cache_dir, vagrant_dir=vagrant_dir,
                token_ms=args.token)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM ends a step the way an error does: an up removes what it made.  Once: a second
    SIGTERM must not cut that tear-down short (SIGKILL still can)."""
    signal.signal(signal.SIGTERM, lambda *_: None)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m mailha.lab.vagrant",
                                description="The mailha cluster on Vagrant VMs (libvirt, software emulation).")
    p.add_argument("--vagrant-dir", default="vagrant", help="the source tree's vagrant/ (default: ./vagrant)")
    p.add_argument("--run-dir", default=RUN_DIR)
    p.add_argument("--cache-dir", default=CACHE_DIR, help="where the built box is kept")
    p.add_argument("--nodes", type=int, choices=range(2, 9), metavar="N",
                   help="VMs (default 3, 2 when the host lacks the memory)")
    p.add_argument("--token", type=int, default=VLab.token_ms, help="corosync token in ms")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="box, VMs, packages, cluster with fencing")
    up.add_argument("debs", nargs="*", help="the mailha .debs to install (default build/packages/*.deb)")
    sub.add_parser("down", help="remove every VM, network, volume and process of the lab")
    sub.add_parser("status", help="the recorded state and crm_mon's view")
    dep = sub.add_parser("deploy", help="a topology from crm-templates/ (directory.pcs, groupwise.pcs or "
                                        "messaging.pcs)")
    dep.add_argument("--topology", choices=("directory", "groupwise", "messaging"), default="directory")
    sub.add_parser("report", help="corosync's token warnings and memberships, each VM's host memory")
    d = sub.add_parser("drill", help="power off the directory's node; seconds until LDAP answers on the VIP")
    d.add_argument("--runs", type=int, default=1)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    vlab = vlab_from(args)
    try:
        if args.cmd == "up":
            debs = args.debs or sorted(glob.glob("build/packages/mailha*_all.deb"))
            print(json.dumps(lifecycle.up(vlab, debs)))
        elif args.cmd == "down":
            print(json.dumps(lifecycle.down(vlab)))
        elif args.cmd == "status":
            print(json.dumps(lifecycle.host.read_state(vlab), indent=1))
            if lifecycle.liveness(vlab) == "live":
                st = cluster.status(vlab)
                print(json.dumps({"online": st.online_nodes(), "groups": st.groups, "dc": st.dc}))
        elif args.cmd == "deploy" and args.topology == "groupwise":
            print(json.dumps(cluster.deploy_groupwise(vlab).__dict__))
        elif args.cmd == "deploy" and args.topology == "messaging":
            ms = cluster.deploy_messaging(vlab, cluster.write_password(vlab.path("dir-admin.pw")))
            print(json.dumps(ms.__dict__))
        elif args.cmd == "deploy":
            directory = cluster.deploy_directory(vlab, cluster.write_password(vlab.path("dir-admin.pw")))
            print(json.dumps(directory.__dict__))
        elif args.cmd == "report":
            print(json.dumps({"corosync": cluster.membership_report(vlab), "vm_rss_mib": lifecycle.host.vm_memory()}))
        elif args.cmd == "drill":
            for _ in range(args.runs):
                result = drill.power_off(vlab)
                print(json.dumps(result), flush=True)
                if not result.get("recovered"):
                    raise LabError(f"the directory did not answer on its VIP again within {drill.PROBE_MAX_SECONDS:.0f} s "
                                   f"of the power-off of {result.get('from')}")
    except LabError as exc:
        print(f"mailha.lab.vagrant: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
