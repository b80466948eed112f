#!/usr/bin/python3
"""Monitor floor: what one monitor of each agent costs beside the interpreter's own start (issue 8).

Sets up one of each service on loopback: an OpenLDAP instance (mailha.tools.dsinstance), a
GroupWise post office and a domain with its GWIA under the emulator (mailha.sim, started with
the installed agents).  Then, in each round, runs every command below once as a whole process,
in turn, and takes its CPU (user+sys of the process and its reaped children, from wait4):

* the floors: ``python3 -IS -c pass``, ``python3 -c pass``, ``ocf:heartbeat:Dummy monitor``;
* each mailha agent's recurring monitor as Pacemaker runs it, at the first level (processes
  only: ``second_level_monitor=0``) and with its second level on every monitor
  (``second_level_monitor=1``: protocol probes): the executable, whose fast path
  (mailha.service.fastpath) answers from the record of the last full monitor;
* the same second-level monitor on the full path: the agent imported and run without the
  fast path, as every monitor ran before it and as a monitor runs whose record does not hold;
* ``ocf:heartbeat:slapd monitor`` on the same OpenLDAP, beside ``ocf:mailha:ldap``'s;
* an emulated Messaging Server instance (mailha.sim.msgsrv) under ``ocf:mailha:msgsrv``: its
  core's monitor at the first level, with ``stored -t -v`` (a child process, counted) every
  time, and at the default cadence (every 6th monitor: its mean is what the core costs on
  average), and its client services' (IMAP, POP, HTTP with the test user's IMAP login).

It prints each command's CPU per call (median, min, max over the rounds), its ratio to
``python3 -IS -c pass`` (the median of the per-round ratios: a round's commands run within a
second of each other, so the machine's drift cancels), and the share of one core that 50 such
resources monitored every 10 s would use (5 monitors a second).

Run as root with the packages installed:  python3 bench/monitor_floor.py [--rounds 40]
Writes bench/results/monitor_floor.{txt,json}.  Everything started is stopped on exit.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from monitor_cost import BASE_ENV, Side, cpu_model, heartbeat_env, mailha_env, write_results  # noqa: E402

from mailha.sim import install as install_emulator  # noqa: E402
from mailha.sim import layout  # noqa: E402
from mailha.tools import dsinstance  # noqa: E402
from mailha.tools.ports import free_port  # noqa: E402

PYTHON = "/usr/bin/python3"
#: Where the agents installed by the .deb find the library (mailha.install.DEBIAN_PATHS).
DIST_PACKAGES = ["/usr/lib/python3/dist-packages"]
AGENTS = "/usr/lib/ocf/resource.d/mailha"
HEARTBEAT = "/usr/lib/ocf/resource.d/heartbeat"
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "monitor_floor")
#: 50 resources, each monitored every 10 s.
PER_SECOND = 50 / 10


class GroupWise:
    """One post office and one domain with its GWIA, run by the emulator through the agents."""

    def __init__(self, base: str, rsctmp: str) -> None:
        self.root = os.path.join(base, "root")
        install_emulator(self.root)
        self.bin = os.path.join(self.root, "opt/novell/groupwise/agents/bin")
        self.rsctmp = rsctmp
        # The agents want the partition mounted, as shared storage is on a cluster.
        self.partition = part = os.path.join(base, "partition")
        os.mkdir(part)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "mailha-bench", part], check=True)
        ip = "127.0.0.1"
        po = layout.create_post_office(part, "po1", "dom1", ip=ip, ports={
            "port": free_port(ip), "mtpinport": free_port(ip), "httpport": free_port(ip)})
        dom = layout.create_domain(
            part, "dom1", ip=ip, mta_ports={"msgtranport": free_port(ip), "httpport": free_port(ip)},
            gwia_ports={k: free_port(ip) for k in ("smtpport", "popport", "imapport", "ldapport", "httpport")})
        common = {"gwha_binary": os.path.join(self.bin, "gwha"),
                  "gwha_conf": os.path.join(self.root, "etc/opt/novell/groupwise/gwha.conf")}
        self.params = {
            "gwpoa": dict(common, post_office_dir=po.directory, binary=os.path.join(self.bin, "gwpoa")),
            "gwia": dict(common, domain_dir=dom.directory, mta_binary=os.path.join(self.bin, "gwmta"),
                         gwia_binary=os.path.join(self.bin, "gwia")),
        }

    def unmount(self) -> None:
        if subprocess.run(["umount", self.partition], check=False).returncode:
            subprocess.run(["umount", "-l", self.partition], check=False)

    def env(self, agent: str, **extra: str) -> dict[str, str]:
        env = {**BASE_ENV, "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": f"bench-{agent}",
               "HA_RSCTMP": self.rsctmp, "OCF_RESKEY_CRM_meta_timeout": "60000"}
        env.update({f"OCF_RESKEY_{k}": str(v) for k, v in {**self.params[agent], **extra}.items()})
        return env

    def action(self, agent: str, action: str) -> subprocess.CompletedProcess:
        return subprocess.run([os.path.join(AGENTS, agent), action], env=self.env(agent), timeout=120,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)


class Messaging:
    """One emulated Messaging Server instance, its core and client services run by the agent."""

    USER, PASSWORD = "probe", "bench-probe-pw"

    def __init__(self, base: str, rsctmp: str) -> None:
        from mailha.msgsrv.layout import Instance
        from mailha.sim.msgsrv import builder, installer

        self.ip, self.rsctmp = "127.0.0.1", rsctmp
        keys = ("core", "imap", "pop", "http", "smtp", "lmtp", "ens", "job_controller")
        self.ports = {key: free_port(self.ip) for key in keys}
        self.inst = Instance(os.path.join(base, "msg", "SUNWmsgsr"))
        builder.create(self.inst, ip=self.ip, ports=self.ports, users={self.USER: self.PASSWORD})
        installer.install(self.inst, launchers="sbin")
        p = self.ports
        common = {"server_root": self.inst.server_root, "ip_address": self.ip, "user": "root", "group": "root"}
        self.params = {
            "msgsrv-core": dict(common, services=f"core={p['core']}"),
            "msgsrv-svc": dict(common, services=f"imap={p['imap']} pop={p['pop']} http={p['http']}",
                               test_user=self.USER, test_password=self.PASSWORD),
        }

    def env(self, resource: str) -> dict[str, str]:
        env = {**BASE_ENV, "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": f"bench-{resource}",
               "HA_RSCTMP": self.rsctmp, "OCF_RESKEY_CRM_meta_timeout": "120000"}
        env.update({f"OCF_RESKEY_{k}": str(v) for k, v in self.params[resource].items()})
        return env

    def action(self, resource: str, action: str) -> subprocess.CompletedProcess:
        return subprocess.run([os.path.join(AGENTS, "msgsrv"), action], env=self.env(resource), timeout=300,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)

    def kill_remaining(self) -> None:
        """After the agent's stops: whatever still runs from the instance, by PID."""
        from mailha.agents.msgsrv import process_match
        from mailha.msgsrv import services as catalogue
        from mailha.proc import find, stop

        left = [info for daemon in catalogue.PROCESSES for info in find(process_match(self.inst, daemon), every=True)]
        stop(left, time.monotonic() + 10)


def start_all(services: "GroupWise | Messaging", resources: tuple[str, ...], started: list[str]) -> None:
    """Start each resource with its agent, noting it in *started* for the clean-up."""
    for resource in resources:
        done = services.action(resource, "start")
        if done.returncode != 0:
            sys.exit(f"{resource} start returned {done.returncode}:\n{done.stderr}")
        started.append(resource)


def monitor(label: str, agent_path: str, env: dict[str, str], level: str, full: bool = False) -> Side:
    """A recurring monitor as Pacemaker runs it: the executable, whose fast path answers from
    the record of the last full monitor (each side is its own resource, with its own record).
    *full*: the same monitor without the fast path, i.e. the executable's last line alone."""
    name = env["OCF_RESOURCE_INSTANCE"] + ("-full-" if full else "-") + level
    env = dict(env, OCF_RESKEY_CRM_meta_interval="10000", OCF_RESKEY_second_level_monitor=level,
               OCF_RESOURCE_INSTANCE=name)
    if not full:
        return Side(label, [agent_path, "monitor"], env)
    agent = os.path.basename(agent_path)
    code = (f"import sys; sys.path += {DIST_PACKAGES!r}; sys.argv[1:] = ['monitor']; "
            f"from mailha.agents.{agent} import AGENT; AGENT.main()")
    return Side(label, [PYTHON, "-IS", "-c", code], env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="rounds counted (1-500)")
    parser.add_argument("--warmup", type=int, default=3, help="rounds run first, not counted")
    parser.add_argument("--max-seconds", type=float, default=600, help="bound on the timing")
    parser.add_argument("--output", default=RESULTS, help="results file prefix (.txt and .json)")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 500 or not 0 <= args.warmup <= 50:
        parser.error("--rounds must be 1-500 and --warmup 0-50")
    if os.geteuid() != 0:
        sys.exit("run as root: the services and the agents need it")
    base = tempfile.mkdtemp(prefix="mailha-bench-floor-")
    parent = dsinstance.server_tempdir("mailha-bench-")
    rsctmp = os.path.join(base, "rsctmp")
    inst = gw = ms = None
    started, ms_started = [], []
    try:
        inst = dsinstance.create_openldap(dsinstance.unique_name("floor"), free_port(),
                                          os.path.join(parent, "ldap"), start=True)
        gw = GroupWise(base, rsctmp)
        start_all(gw, ("gwpoa", "gwia"), started)
        ms = Messaging(base, rsctmp)
        start_all(ms, ("msgsrv-core", "msgsrv-svc"), ms_started)
        ldap_env = mailha_env(inst, rsctmp)
        sides = [
            Side("python3 -IS -c pass", [PYTHON, "-IS", "-c", "pass"], dict(BASE_ENV)),
            Side("python3 -c pass", [PYTHON, "-c", "pass"], dict(BASE_ENV)),
            Side("ocf:heartbeat:Dummy monitor", [os.path.join(HEARTBEAT, "Dummy"), "monitor"],
                 {**BASE_ENV, "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": "bench-dummy",
                  "HA_RSCTMP": rsctmp, "OCF_RESKEY_state": os.path.join(base, "dummy.state")}),
            Side("ocf:heartbeat:slapd monitor", [os.path.join(HEARTBEAT, "slapd"), "monitor"],
                 heartbeat_env(inst, rsctmp)),
        ]
        envs = {"ldap": ldap_env, "gwpoa": gw.env("gwpoa"), "gwia": gw.env("gwia")}
        second = {"ldap": "LDAP search", "gwpoa": "second level", "gwia": "second level"}
        for agent, env in envs.items():
            path = os.path.join(AGENTS, agent)
            sides.append(monitor(f"{agent} monitor, first level", path, env, "0"))
            sides.append(monitor(f"{agent} monitor, {second[agent]}", path, env, "1"))
            sides.append(monitor(f"{agent} full monitor, {second[agent]}", path, env, "1", full=True))
        msgsrv = os.path.join(AGENTS, "msgsrv")
        core = ms.env("msgsrv-core")
        sides.append(monitor("msgsrv core monitor, first level", msgsrv, core, "0"))
        sides.append(monitor("msgsrv core monitor, stored -t -v", msgsrv, core, "1"))
        sides.append(monitor("msgsrv core monitor, every 6th", msgsrv, core, "6"))
        sides.append(monitor("msgsrv imap/pop/http, IMAP login", msgsrv, ms.env("msgsrv-svc"), "1"))
        dummy = sides[2]
        subprocess.run([dummy.argv[0], "start"], env=dummy.env, timeout=60, check=True)
        for side in sides[2:]:
            done = subprocess.run(side.argv, env=side.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, timeout=60, check=False)
            if done.returncode != 0:
                sys.exit(f"{side.label} returned {done.returncode}, not 0 (running):\n{done.stderr}")
        ratios: dict[str, list[float]] = {side.label: [] for side in sides}
        deadline = time.monotonic() + args.max_seconds
        for n in range(args.warmup + args.rounds):
            if time.monotonic() > deadline:
                print(f"time bound reached after {n} rounds", file=sys.stderr)
                break
            cpu = {}
            for side in sides:
                _wall, cpu[side.label], rc = side.run_once()
                if n >= args.warmup:
                    side.cpu.append(cpu[side.label])
                    side.codes.append(rc)
            if n >= args.warmup:
                for side in sides:
                    ratios[side.label].append(cpu[side.label] / cpu[sides[0].label])
        text, data = report(sides, ratios)
    finally:
        if ms is not None:
            for resource in reversed(ms_started):
                ms.action(resource, "stop")
            ms.kill_remaining()
        if gw is not None:
            for agent in reversed(started):
                gw.action(agent, "stop")
            gw.unmount()
        if inst is not None:
            dsinstance.remove_openldap(inst)
        shutil.rmtree(parent, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
    print(text)
    write_results(args.output, text, data)
    return 0


def report(sides: list[Side], ratios: dict[str, list[float]]) -> tuple[str, dict]:
    rounds = len(sides[0].cpu)
    lines = [f"machine: {cpu_model()}, {os.cpu_count()} cpus, {platform.system()} {platform.release()}, "
             f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"{rounds} rounds, each command once per round, in turn; CPU = user+sys of the process tree",
             "",
             f"{'command':34} {'CPU ms med':>10} {'min':>6} {'max':>6} {'mean':>6} {'x -IS pass':>10} "
             f"{'% core, 50/10s':>15}"]
    rows = []
    for side in sides:
        ms = [c * 1000 for c in side.cpu]
        med, mean, ratio = statistics.median(ms), statistics.mean(ms), statistics.median(ratios[side.label])
        share = med / 1000 * PER_SECOND * 100
        failed = sum(rc != 0 for rc in side.codes)
        rows.append({"command": side.label, "argv": side.argv, "cpu_ms_median": round(med, 2),
                     "cpu_ms_min": round(min(ms), 2), "cpu_ms_max": round(max(ms), 2), "cpu_ms_mean": round(mean, 2),
                     "ratio_to_floor": round(ratio, 2), "core_pct_50_per_10s": round(share, 2), "failed": failed})
        lines.append(f"{side.label:34} {med:10.2f} {min(ms):6.2f} {max(ms):6.2f} {mean:6.2f} {ratio:10.2f} {share:15.2f}"
                     + (f"  ({failed} runs not 0)" if failed else ""))
    by_label = {side.label: side for side in sides}
    ours, theirs = by_label["ldap monitor, LDAP search"], by_label["ocf:heartbeat:slapd monitor"]
    ldap = statistics.median(a / b for a, b in zip(ours.cpu, theirs.cpu))
    lines += ["", f"ocf:mailha:ldap monitor with its LDAP search / ocf:heartbeat:slapd monitor: {ldap:.2f} "
                  "(median of the per-round ratios)"]
    return "\n".join(lines), {"rounds": rounds, "rows": rows, "ldap_over_heartbeat_slapd": round(ldap, 3)}


if __name__ == "__main__":
    sys.exit(main())
