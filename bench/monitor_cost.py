#!/usr/bin/python3
"""Monitor cost: ocf:mailha:ldap against ocf:heartbeat:slapd on one running OpenLDAP instance.

Creates an OpenLDAP instance (mailha.tools.dsinstance) on a free loopback port, checks that both
agents' ``monitor`` report it running, then runs the two monitors in turn, A B A B ..., each as a
whole process, and reports each one's wall and CPU time (median, min, max) and the ratio A/B,
pair by pair, so that a comparison holds while the machine's speed drifts.  Goal (issue 2 §5):
median wall ratio mailha/heartbeat at most 1.0.

Until the mailha agent is installed, the heartbeat agent is paired against itself (a ratio near
1.0 shows the harness is fair) and its own figure is measured.

Run as root from the repository:  PYTHONPATH=lib python3 bench/monitor_cost.py [--runs 30]
The instance is removed on exit, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from mailha.tools import dsinstance

MAILHA_AGENT = "/usr/lib/ocf/resource.d/mailha/ldap"
HEARTBEAT_AGENT = "/usr/lib/ocf/resource.d/heartbeat/slapd"
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
#: What Pacemaker's executor gives every agent, and nothing from the caller's shell.
BASE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


# The agents' environments, in one place: adjust here when an agent's parameters change.
def mailha_env(inst: dsinstance.SlapdInstance, rsc_tmp: str) -> dict[str, str]:
    # PYTHONPATH passes through so an uninstalled tree (--mailha-agent ocf/ldap) can be measured.
    pythonpath = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    return {
        **BASE_ENV,
        **pythonpath,
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_RESOURCE_INSTANCE": "bench",
        "HA_RSCTMP": rsc_tmp,  # the cadence state file; keeps /run/resource-agents clean
        "OCF_RESKEY_server_type": "openldap",
        "OCF_RESKEY_config_dir": inst.config_dir,
        "OCF_RESKEY_pidfile": inst.pidfile,
        "OCF_RESKEY_port": str(inst.port),
        "OCF_RESKEY_listen_address": inst.listen_host,
        "OCF_RESKEY_second_level_monitor": "1",  # the LDAP search on every monitor
        "OCF_RESKEY_CRM_meta_interval": "10000",
    }


def heartbeat_env(inst: dsinstance.SlapdInstance, rsc_tmp: str) -> dict[str, str]:
    return {
        **BASE_ENV,
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_RESOURCE_INSTANCE": "bench",
        "HA_RSCTMP": rsc_tmp,
        "OCF_RESKEY_config": inst.config_dir,
        "OCF_RESKEY_pidfile": inst.pidfile,
        "OCF_RESKEY_services": inst.services,
        "OCF_RESKEY_user": inst.user,
        "OCF_RESKEY_group": inst.group,
        "OCF_RESKEY_CRM_meta_interval": "10000",
    }


@dataclass
class Side:
    label: str
    argv: list[str]
    env: dict[str, str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)

    def run_once(self) -> tuple[float, float, int]:
        """One whole-process run: wall seconds, user+sys seconds (its reaped children too), rc."""
        start = time.perf_counter()
        proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
        return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def write_results(prefix: str, text: str, data: dict) -> None:
    """The report as PREFIX.txt and the figures as PREFIX.json."""
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    with open(prefix + ".txt", "w", encoding="utf-8") as f:
        f.write(text + "\n")
    with open(prefix + ".json", "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.machine()


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def measure(a: Side, b: Side, runs: int, warmup: int, deadline: float) -> list[float]:
    """Alternate A and B; return the A/B wall ratio of each pair.  Bounded by count and time."""
    ratios = []
    for i in range(warmup + runs):
        if time.monotonic() > deadline:
            print(f"time bound reached after {len(ratios)} pairs", file=sys.stderr)
            break
        pair = []
        for side in (a, b):
            wall, cpu, rc = side.run_once()
            if i >= warmup:
                side.wall.append(wall)
                side.cpu.append(cpu)
                side.codes.append(rc)
            pair.append(wall)
        if i >= warmup:
            ratios.append(pair[0] / pair[1])
    return ratios


def check_running(side: Side) -> None:
    res = subprocess.run(side.argv, env=side.env, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        sys.exit(f"{side.label} monitor returned {res.returncode}, not 0 (running); "
                 f"nothing to compare.\n{res.stderr.strip()}")


def report(a: Side, b: Side, ratios: list[float], note: str) -> tuple[str, dict]:
    rows = [f"machine: {cpu_model()}, {os.cpu_count()} cpus, {platform.system()} "
            f"{platform.release()}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            f"A = {a.label}: {' '.join(a.argv)}", f"B = {b.label}: {' '.join(b.argv)}"]
    if note:
        rows.append(f"note: {note}")
    rows.append(f"pairs counted: {len(ratios)}")
    rows.append(f"{'':24}{'median':>10}{'min':>10}{'max':>10}")
    figures = {}
    for name, values in (("A wall ms", [x * 1e3 for x in a.wall]),
                         ("B wall ms", [x * 1e3 for x in b.wall]),
                         ("A cpu ms", [x * 1e3 for x in a.cpu]),
                         ("B cpu ms", [x * 1e3 for x in b.cpu]),
                         ("A/B wall ratio", ratios)):
        s = spread(values)
        figures[name] = s
        rows.append(f"{name:24}{s['median']:10.3f}{s['min']:10.3f}{s['max']:10.3f}")
    of_medians = figures["A wall ms"]["median"] / figures["B wall ms"]["median"]
    figures["ratio of the wall medians"] = of_medians
    rows.append(f"{'ratio of wall medians':24}{of_medians:10.3f}")
    bad = [rc for rc in a.codes + b.codes if rc != 0]
    if bad:
        rows.append(f"warning: {len(bad)} monitor runs did not return 0: {sorted(set(bad))}")
    return "\n".join(rows), {"a": a.label, "b": b.label, "note": note, "figures": figures,
                             "samples": {"a_wall": a.wall, "b_wall": b.wall, "ratios": ratios}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="counted pairs (1-500)")
    parser.add_argument("--warmup", type=int, default=3, help="pairs run first, not counted")
    parser.add_argument("--max-seconds", type=float, default=300, help="bound on the timing")
    parser.add_argument("--mailha-agent", default=MAILHA_AGENT,
                        help=f"the mailha ldap agent to measure (default {MAILHA_AGENT})")
    parser.add_argument("--self-check", action="store_true",
                        help="pair the heartbeat agent against itself even if mailha's exists")
    parser.add_argument("--output", default=os.path.join(RESULTS_DIR, "monitor_cost"),
                        help="results file prefix (.txt and .json are written)")
    args = parser.parse_args()
    if not 1 <= args.runs <= 500 or not 0 <= args.warmup <= 50:
        parser.error("--runs must be 1-500 and --warmup 0-50")
    if os.geteuid() != 0:
        sys.exit("run as root: the OpenLDAP instance runs as openldap and the agents need root")

    # SIGTERM/SIGHUP end the run like Ctrl-C, so the finally below removes the instance.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    parent = dsinstance.server_tempdir("mailha-bench-")
    rsc_tmp = tempfile.mkdtemp(prefix="mailha-bench-rsctmp-")
    inst = None
    try:
        inst = dsinstance.create_openldap(dsinstance.unique_name("bench"),
                                          dsinstance.free_port(), os.path.join(parent, "ldap"),
                                          start=True)
        heartbeat = Side("ocf:heartbeat:slapd", [HEARTBEAT_AGENT, "monitor"],
                         heartbeat_env(inst, rsc_tmp))
        note = ""
        if os.access(args.mailha_agent, os.X_OK) and not args.self_check:
            a = Side("ocf:mailha:ldap", [args.mailha_agent, "monitor"], mailha_env(inst, rsc_tmp))
        else:
            note = ("harness check: heartbeat paired against itself"
                    + ("" if args.self_check else f" ({args.mailha_agent} is not installed)"))
            a = Side("ocf:heartbeat:slapd (A)", heartbeat.argv, heartbeat.env)
        check_running(a)
        check_running(heartbeat)
        ratios = measure(a, heartbeat, args.runs, args.warmup,
                         time.monotonic() + args.max_seconds)
        if not ratios:
            sys.exit("no pair was measured")
        text, data = report(a, heartbeat, ratios, note)
        print(text)
        write_results(args.output, text, data)
        print(f"written: {args.output}.txt, {args.output}.json")
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if inst is not None:
            dsinstance.remove_openldap(inst)
        shutil.rmtree(parent, ignore_errors=True)
        shutil.rmtree(rsc_tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
