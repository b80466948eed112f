#!/usr/bin/python3
"""How long creating, starting, stopping and removing a test directory server takes.

For sizing test suites that build real instances (mailha.tools.dsinstance): each round creates,
starts, stops and removes one 389-ds instance (default layout, with TLS) and one OpenLDAP
instance, and the median, min and max of each step are printed (seconds).

Run as root from the repository:  PYTHONPATH=lib /usr/bin/python3 bench/instance_lifecycle.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import time
from typing import Callable

from mailha.tools import dsinstance

STEPS = ("create", "start", "stop", "remove")


def timed(step: str, figures: dict[str, list[float]], action: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = action()
    figures[step].append(time.perf_counter() - start)
    return result


def round_389ds(figures: dict[str, list[float]]) -> None:
    inst = timed("create", figures, lambda: dsinstance.create_389ds(
        dsinstance.unique_name("bench"), dsinstance.free_port(),
        secure_port=dsinstance.free_port(), listen_host="127.0.0.1"))
    try:
        timed("start", figures, inst.start)
        timed("stop", figures, inst.stop)
    finally:
        timed("remove", figures, lambda: dsinstance.remove_389ds(inst))


def round_openldap(figures: dict[str, list[float]]) -> None:
    parent = dsinstance.server_tempdir("mailha-bench-")
    try:
        inst = timed("create", figures, lambda: dsinstance.create_openldap(
            dsinstance.unique_name("bench"), dsinstance.free_port(),
            os.path.join(parent, "ldap")))
        try:
            timed("start", figures, inst.start)
            timed("stop", figures, inst.stop)
        finally:
            timed("remove", figures, lambda: dsinstance.remove_openldap(inst))
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (1-20)")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1-20")
    if os.geteuid() != 0:
        sys.exit("run as root")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # finally blocks clean up
    print(f"{'server':10}{'step':8}{'median':>9}{'min':>9}{'max':>9}  (seconds, "
          f"{args.rounds} rounds, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    for server, one_round in (("389-ds", round_389ds), ("OpenLDAP", round_openldap)):
        figures: dict[str, list[float]] = {step: [] for step in STEPS}
        for _ in range(args.rounds):
            one_round(figures)
        for step in STEPS:
            v = figures[step]
            print(f"{server:10}{step:8}{statistics.median(v):9.3f}{min(v):9.3f}{max(v):9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
