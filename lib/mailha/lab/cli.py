"""`mailha lab ...`: build, inspect, break and remove the lab cluster."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time

from mailha.lab import cluster, drill, faults, gwservices, lifecycle, msgservices, nodecmd, services, state
from mailha.lab.layout import Layout, lab_root
from mailha.lab.preflight import LabError


def _layout(nodes: int | None = None) -> Layout:
    root = lab_root()
    if nodes is None:
        st = state.read(Layout(root=root))
        nodes = st["nodes_count"] if st else 3
    return Layout(root=root, nodes=nodes)


def cmd_up(args: argparse.Namespace) -> int:
    if args.nodes < 2:
        raise LabError("a cluster needs at least 2 nodes")
    t0 = time.monotonic()
    layout = _layout(args.nodes)
    for note in lifecycle.up(layout, token_ms=args.token, keep_on_failure=args.keep_on_failure):
        print(note)
    print(f"lab up: {args.nodes} nodes ready in {time.monotonic() - t0:.1f}s "
          f"(VIP for services: {layout.vip}, client netns: {layout.client_netns})")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    for note in lifecycle.down(_layout()):
        print(note)
    print(f"lab down in {time.monotonic() - t0:.1f}s")
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not argv:
        raise LabError("nothing to run: mailha lab exec NODE -- CMD...")
    return subprocess.run(nodecmd.node_argv(_layout(), args.node, argv)).returncode


def cmd_status(args: argparse.Namespace) -> int:
    layout = _layout()
    st = state.read(layout)
    found = lifecycle.liveness(layout)
    if st is None or found.startswith("stale"):
        print("no lab is up" if st is None else f"the recorded lab is {found}; `mailha lab down` removes it")
        return 3
    print(f"{'node':8} {'power':6} {'cable':8} address")
    on = cluster.powered_on_nodes(layout)
    for node in layout.node_names():
        cable = st["nodes"].get(node, {}).get("cable", "plugged")
        print(f"{node:8} {'on' if node in on else 'off':6} {cable:8} {layout.node_address(node)}")
    if args.xml:
        out = nodecmd.run(layout, on[0], ["crm_mon", "--output-as=xml", "--inactive"]) if on else None
        print(out.stdout if out else "")
        return 0
    if on:
        print(nodecmd.run(layout, on[0], ["crm_mon", "-1", "--inactive"]).stdout, end="")
    return 0


def cmd_fail(args: argparse.Namespace) -> int:
    lifecycle.power_request(_layout(), "off", args.node)
    print(f"{args.node} powered off")
    return 0


def cmd_boot(args: argparse.Namespace) -> int:
    lifecycle.power_request(_layout(), "on", args.node)
    print(f"{args.node} powered on")
    return 0


def cmd_partition(args: argparse.Namespace) -> int:
    faults.partition(_layout(), args.node)
    print(f"{args.node} cut off from the other nodes and the client")
    return 0


def cmd_heal(args: argparse.Namespace) -> int:
    faults.heal(_layout())
    print("all cables plugged")
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    cluster.wait_ready(_layout(), timeout=args.timeout)
    print("all nodes online")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    if args.topology == "messaging":
        ms = msgservices.deploy(_layout())
        print(f"group {msgservices.GROUP} (seed 004 Configuration 1) on {ms.ip}: IMAP 143, POP 110, HTTP 80, "
              f"SMTP 25, Administration Server 390, 389-ds 389; test user {ms.user}, password in {ms.password_file}")
        return 0
    if args.topology == "groupwise":
        gw = gwservices.deploy(_layout())
        print(f"groups {', '.join(gwservices.GROUPS)}: GWIA SMTP on {gw.gwia_ip}:25, POA on {gw.poa_ip}, "
              f"Postfix on port 25 of each node's primary address")
        return 0
    d = services.deploy(_layout(), args.kind or services.default_kind())
    print(f"group {services.GROUP} ({d.kind}) answering on ldap://{d.host}:{d.port}/ "
          f"(bind DN {d.bind_dn}, password in {d.password_file})")
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    scenarios = list(drill.SCENARIOS) if args.scenario == "all" else [args.scenario]
    if args.runs < 1:
        raise LabError("--runs must be at least 1")
    results = drill.drill(_layout(), scenarios, args.runs, args.kind or services.default_kind())
    print(drill.LEGEND)  # the rows are printed as they are measured
    return 0 if all(r.recovered for r in results) else 1


def drill_description() -> str:
    about = textwrap.fill(
        "The groups a scenario needs are deployed first. Before each run the lab is restored: every node "
        "on and online, cables plugged, no moves, failures or fencing history. While the fault is "
        f"injected, a probe in the client namespace checks the service every {drill.PROBE_INTERVAL:g} s: "
        "an LDAP bind on the directory's virtual IP, for gw-* an SMTP greeting and EHLO on the "
        "GWIA's, for ms-* an IMAP greeting and CAPABILITY on the Messaging Server's. Each run prints one row: where the group ran before and after, the downtime in "
        "seconds, the failed and sent probes, and whether the service came back (exit status 1 if "
        "not).", 90)
    scenarios = "\n".join(f"  {name:13} {text}" for name, text in drill.SCENARIO_HELP.items())
    return (f"Inject a failure and measure the outage a client sees.\n\n{about}\n\n"
            f"scenarios:\n{scenarios}\n  {'all':13} every scenario above, in this order")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailha lab", description=(
        "Build, inspect, break and remove the lab: a real Pacemaker cluster in network namespaces "
        "on this machine (docs/lab.md)."))
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("up", help="start the lab cluster")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--token", type=int, default=3000, help="corosync token timeout in ms")
    p.add_argument("--keep-on-failure", action="store_true", help="leave a failed lab up to debug it")
    p.set_defaults(func=cmd_up)
    sub.add_parser("down", help="remove everything the lab made").set_defaults(func=cmd_down)
    p = sub.add_parser("status", help="who is on, who runs what")
    p.add_argument("--xml", action="store_true", help="crm_mon XML instead of text")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("exec", help="run a command in a node (or 'client')")
    p.add_argument("node")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_exec)
    for name, func, text in (("fail", cmd_fail, "power a node off"), ("boot", cmd_boot, "power a node on"),
                             ("partition", cmd_partition, "cut a node's network cable")):
        p = sub.add_parser(name, help=text)
        p.add_argument("node")
        p.set_defaults(func=func)
    sub.add_parser("heal", help="plug every cable back").set_defaults(func=cmd_heal)
    p = sub.add_parser("deploy", help="run the directory group (VIP + shared FS + LDAP server), "
                                      "with --topology groupwise the GWIA and POA groups and Postfix, "
                                      "with --topology messaging the Messaging Server group")
    p.add_argument("--topology", choices=("directory", "groupwise", "messaging"), default="directory")
    p.add_argument("--kind", choices=services.KINDS,
                   help="LDAP server: 389ds (ocf:mailha:ldap) or openldap (stand-in); default 389ds if installed")
    p.set_defaults(func=cmd_deploy)
    p = sub.add_parser("drill", help="measure client-visible downtime for a failure scenario",
                       description=drill_description(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", choices=[*drill.SCENARIOS, "all"], metavar="SCENARIO",
                   help="the failure to inject (listed above), or all")
    p.add_argument("--runs", type=int, default=1, metavar="N",
                   help="run each scenario N times, each from a restored lab, one row per run (default 1)")
    p.add_argument("--kind", choices=services.KINDS,
                   help="LDAP server: 389ds (ocf:mailha:ldap) or openldap (stand-in); default 389ds if installed")
    p.set_defaults(func=cmd_drill)
    p = sub.add_parser("wait", help="wait until every node is online")
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(func=cmd_wait)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LabError as exc:
        print(f"mailha lab: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
