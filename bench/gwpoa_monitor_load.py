#!/usr/bin/python3
"""CPU that the monitors of 50 ``ocf:mailha:gwpoa`` resources use on one node (issue 4, figures).

Lays out 50 post offices on a tmpfs "partition", each with its own secondary IP on loopback
(127.89.X.n) and the product's ports (client/server 1677, MTP 7101, HTTP 7181), starts their
emulated POAs with the installed agent, then runs the monitors the way Pacemaker's executor
would with ``interval=10s``: 50 monitors per 10 s, spread evenly (one every 200 ms), each as a
whole process with a Pacemaker-like environment.  The CPU of each monitor (user+sys of the
process and its children, from ``wait4``) is summed over a fixed number of rounds and divided
by the wall time of those rounds: the share of one core the monitors use.

Variants (``OCF_RESKEY_second_level_monitor``):

* ``1``: every monitor also probes the three listeners (TCP connect to 1677 and 7101, HTTP GET
  of the console on 7181), the agent's default;
* ``6``: the probes every 6th monitor (once a minute at a 10 s interval);
* ``0``: process check only.

Before each variant's counted rounds, every resource's monitor runs once uncounted: as after a
start or a change of parameters, that one takes the full path and records its answer, and the
rounds then see what Pacemaker's monitors see in the steady state (mailha.service.fastpath).

Floors, measured the same way: ``/usr/bin/python3 -c pass``, ``/usr/bin/python3 -IS -c pass``
(how the agents start: no site, no user environment), and importing the agent module without
running an action.  The emulated POAs' own CPU is not counted.

Run as root from the repository, with the package and the agent installed:
    /usr/bin/python3 bench/gwpoa_monitor_load.py [--resources 50] [--rounds 3] [--interval 10]
Writes bench/results/gwpoa_monitor_load.{txt,json}.  Everything it starts is stopped by pid and
the partition unmounted on exit, also on Ctrl-C.
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

AGENT = "/usr/lib/ocf/resource.d/mailha/gwpoa"
PYTHON = "/usr/bin/python3"
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "gwpoa_monitor_load")
BASE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
PORTS = {"port": 1677, "mtpinport": 7101, "httpport": 7181}


def run_measured(argv: list[str], env: dict[str, str]) -> tuple[int, float, float]:
    """(exit code, wall seconds, CPU seconds user+sys of the process tree)."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.monotonic() - started, usage.ru_utime + usage.ru_stime


class Lab:
    def __init__(self, count: int) -> None:
        from mailha.sim import install, layout

        self.base = tempfile.mkdtemp(prefix="mailha-bench-gwpoa-")
        self.root = os.path.join(self.base, "root")
        install(self.root)
        self.bin = os.path.join(self.root, "opt/novell/groupwise/agents/bin")
        self.mount = os.path.join(self.base, "partition")
        os.mkdir(self.mount)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "mailha-bench", self.mount], check=True)
        self.rsctmp = os.path.join(self.base, "rsctmp")
        subnet = os.getpid() % 200 + 20
        self.offices = []
        for n in range(count):
            ip = f"127.89.{subnet}.{n + 2}"
            made = layout.create_post_office(self.mount, f"po{n}", "dom1", ip=ip, ports=PORTS)
            self.offices.append((made, ip))

    def env(self, index: int, second_level: str | None = None, interval: str = "10000") -> dict[str, str]:
        made, _ip = self.offices[index]
        env = {**BASE_ENV, "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": f"poa{index}",
               "HA_RSCTMP": self.rsctmp, "OCF_RESKEY_CRM_meta_timeout": "30000",
               "OCF_RESKEY_post_office_dir": made.directory, "OCF_RESKEY_binary": os.path.join(self.bin, "gwpoa"),
               "OCF_RESKEY_gwha_binary": os.path.join(self.bin, "gwha"),
               "OCF_RESKEY_gwha_conf": os.path.join(self.root, "etc/opt/novell/groupwise/gwha.conf"),
               "OCF_RESKEY_CRM_meta_interval": interval}
        if second_level is not None:
            env["OCF_RESKEY_second_level_monitor"] = second_level
        return env

    def action(self, index: int, action: str, **kw: str) -> int:
        env = self.env(index, **kw)
        if action != "monitor":
            env.pop("OCF_RESKEY_CRM_meta_interval")
        return subprocess.run([AGENT, action], env=env, check=False, capture_output=True, timeout=120).returncode

    def pids(self) -> list[int]:
        import psutil

        prefix = self.bin + "/"
        return [p.pid for p in psutil.process_iter(["cmdline"])
                if any(a.startswith(prefix) for a in (p.info["cmdline"] or [])[:2])]

    def cleanup(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 20
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        if subprocess.run(["umount", self.mount], check=False).returncode:
            subprocess.run(["umount", "-l", self.mount], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def paced(lab: Lab, label: str, argv_env, count: int, rounds: int, interval: float) -> dict:
    """Run *count* x *rounds* commands, one every interval/count seconds; sum their CPU."""
    step = interval / count
    cpu, walls, failures = [], [], 0
    started = time.monotonic()
    for k in range(count * rounds):
        due = started + k * step
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        argv, env, ok = argv_env(k % count)
        rc, wall, used = run_measured(argv, env)
        failures += rc not in ok
        cpu.append(used)
        walls.append(wall)
    elapsed = max(time.monotonic() - started, rounds * interval)
    return {"label": label, "runs": len(cpu), "failures": failures, "wall_s": round(elapsed, 2),
            "cpu_sum_s": round(sum(cpu), 3), "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
            "cpu_max_ms": round(max(cpu) * 1000, 1), "wall_median_ms": round(statistics.median(walls) * 1000, 1),
            "core_pct": round(100 * sum(cpu) / elapsed, 2),
            "core_pct_nominal": round(100 * statistics.mean(cpu) * count / interval, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="monitor rounds per variant")
    parser.add_argument("--interval", type=float, default=10.0, help="monitor interval (s)")
    parser.add_argument("--output", default=RESULTS)
    args = parser.parse_args()
    if os.geteuid() != 0 or not os.access(AGENT, os.X_OK):
        print(f"run as root with {AGENT} installed", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    lab = Lab(args.resources)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    rows = []
    try:
        t0 = time.monotonic()
        bad = [i for i in range(args.resources) if lab.action(i, "start") != 0]
        start_s = time.monotonic() - t0
        if bad:
            print(f"start failed for {len(bad)} POA(s), e.g. po{bad[0]}", file=sys.stderr)
            return 1
        n, r, iv = args.resources, args.rounds, args.interval
        floors = [("python3 -c pass", [PYTHON, "-c", "pass"]), ("python3 -IS -c pass", [PYTHON, "-IS", "-c", "pass"]),
                  ("python3 -c 'import mailha.agents.gwpoa'", [PYTHON, "-c", "import mailha.agents.gwpoa"])]
        for label, argv in floors:
            rows.append(paced(lab, label, lambda i, argv=argv: (argv, BASE_ENV, (0,)), n, r, iv))
        for level in ("1", "6", "0"):
            monitor = lambda i, level=level: ([AGENT, "monitor"], lab.env(i, level), (0,))  # noqa: E731
            for i in range(n):  # the first monitor after a change of parameters: the full path, not counted
                run_measured(*monitor(i)[:2])
            rows.append(paced(lab, f"gwpoa monitor, second_level_monitor={level}", monitor, n, r, iv))
            print(rows[-1], file=sys.stderr)
    finally:
        lab.cleanup()
    lines = [f"gwpoa monitor load: {n} resources, interval {iv:g} s ({n / iv:g} monitors/s), {r} rounds per row",
             (f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPU, Python {platform.python_version()}, "
              f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"),
             f"starting the {n} POAs took {start_s:.1f} s", "",
             f"{'what':48} {'runs':>5} {'fail':>4} {'CPU med ms':>10} {'CPU max ms':>10} {'% core':>7} {'% nominal':>9}"]
    for row in rows:
        lines.append(f"{row['label']:48} {row['runs']:>5} {row['failures']:>4} {row['cpu_median_ms']:>10} "
                     f"{row['cpu_max_ms']:>10} {row['core_pct']:>7} {row['core_pct_nominal']:>9}")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output + ".txt", "w") as handle:
        handle.write(text)
    with open(args.output + ".json", "w") as handle:
        json.dump({"resources": n, "interval_s": iv, "rounds": r, "start_all_s": round(start_s, 2), "rows": rows},
                  handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
