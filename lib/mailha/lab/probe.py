"""What a client sees on a virtual IP, in a bounded loop: the LDAP server answering a search of
its root entry, or an SMTP greeting and EHLO (`--proto smtp`, what a sending MTA needs before it
can hand over mail), or an IMAP greeting and CAPABILITY (`--proto imap`, what a mail reader
needs before it logs in), each spoken by the agents' own probes (:mod:`mailha.probes`).

Run inside the client namespace (`ip netns exec mhlab-client python3 -m mailha.lab.probe ...`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

from mailha.probes import ProbeError, imap, ldap, smtp

PROBES = {"ldap": ldap.probe, "smtp": smtp.probe, "imap": imap.probe}
PORTS = {"ldap": 389, "smtp": 25, "imap": 143}


def answers(proto: str, host: str, port: int, timeout: float = 0.5, banner: str = "") -> bool:
    """True if the server answers *proto* within *timeout*, its greeting containing *banner*."""
    try:
        result = PROBES[proto](host, port, timeout)
    except (ProbeError, OSError, EOFError):
        return False
    return banner in result.greeting


@dataclass
class Outage:
    samples: int
    failures: int
    downtime: float    # seconds from the last success before the longest gap to the first after it
    recovered: bool    # success again after an outage, and steady for `settle` seconds


def watch(host: str, port: int, interval: float, max_seconds: float, settle: float, proto: str = "ldap") -> Outage:
    """Probe every `interval` s; stop `settle` s into steady success after an outage, or at max_seconds."""
    start = time.monotonic()
    last_ok: float | None = None
    gap_from: float | None = None    # last success before the current gap
    streak_from: float | None = None  # first success after the last gap
    longest = 0.0
    samples = failures = 0
    print("probing", flush=True)     # tells the drill the loop runs
    while time.monotonic() - start < max_seconds:
        t = time.monotonic()
        ok = answers(proto, host, port, timeout=max(0.2, min(0.5, interval * 5)))
        samples += 1
        if ok:
            if gap_from is not None:
                longest = max(longest, t - gap_from)
                gap_from, streak_from = None, t
            last_ok = t
            if streak_from is not None and t - streak_from >= settle:
                return Outage(samples, failures, round(longest, 2), True)
        else:
            failures += 1
            streak_from = None
            if gap_from is None:
                gap_from = last_ok if last_ok is not None else start
        time.sleep(max(0.0, interval - (time.monotonic() - t)))
    if gap_from is not None:
        longest = max(longest, time.monotonic() - gap_from)
    return Outage(samples, failures, round(longest, 2), False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mailha.lab.probe")
    p.add_argument("host")
    p.add_argument("--proto", choices=sorted(PROBES), default="ldap")
    p.add_argument("--port", type=int, default=None, help="default 389 (ldap), 25 (smtp) or 143 (imap)")
    p.add_argument("--banner", default="", help="smtp, imap: text the greeting must contain")
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--settle", type=float, default=2.0, help="seconds of success that end the watch")
    p.add_argument("--once", action="store_true", help="one probe; exit 0 if the server answers")
    args = p.parse_args(argv)
    port = args.port or PORTS[args.proto]
    if args.once:
        return 0 if answers(args.proto, args.host, port, timeout=3, banner=args.banner) else 1
    print(json.dumps(watch(args.host, port, args.interval, args.max_seconds, args.settle, args.proto).__dict__),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
