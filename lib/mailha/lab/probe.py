"""What a client sees on a virtual IP, in a bounded loop: an LDAP anonymous bind, or an SMTP
greeting and EHLO (`--proto smtp`, what a sending MTA needs before it can hand over mail), or an
IMAP greeting and CAPABILITY (`--proto imap`, what a mail reader needs before it logs in).

Run inside the client namespace (`ip netns exec mhlab-client python3 -m mailha.lab.probe ...`).
Speaks just enough LDAP (BER) for a simple bind, so it works against any LDAP server.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from dataclasses import dataclass

from mailha import ber

# BindRequest, messageID 1, version 3, empty name, simple auth with empty password.
BIND_REQUEST = bytes.fromhex("300c020101600702010304008000")
UNBIND_REQUEST = bytes.fromhex("30050201024200")
BIND_RESPONSE = ber.APPLICATION | ber.CONSTRUCTED | 1


def _read_message(s: socket.socket) -> bytes:
    buf = b""
    while True:
        header = ber.read_header(buf)
        if header is not None and len(buf) >= header[2]:
            return buf[:header[2]]
        chunk = s.recv(4096)
        if not chunk or len(buf) > 65536:
            raise OSError("short LDAP reply")
        buf += chunk


def ldap_bind_ok(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if the server completes an anonymous bind with resultCode success (0)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(BIND_REQUEST)
            reply = _read_message(s)
            try:
                s.sendall(UNBIND_REQUEST)
            except OSError:
                pass
        # LDAPMessage ::= SEQUENCE { messageID, BindResponse [APPLICATION 1] { resultCode, ... } }
        op = ber.decode(reply).children()[1]
        return op.tag == BIND_RESPONSE and op.children()[0].as_int() == 0
    except (OSError, ber.BerError, IndexError):
        return False


def smtp_ok(host: str, port: int, timeout: float = 0.5, banner: str = "") -> bool:
    """True if the server greets with 220 (containing `banner`) and accepts EHLO."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            f = s.makefile("rb")
            greeting = f.readline(1024)
            if not greeting.startswith(b"220") or banner.encode() not in greeting:
                return False
            s.sendall(b"EHLO probe.lab.test\r\n")
            while True:
                line = f.readline(1024)
                if not line.startswith(b"250"):
                    return False
                if line[3:4] == b" ":
                    break
            s.sendall(b"QUIT\r\n")
            return True
    except OSError:
        return False


def imap_ok(host: str, port: int, timeout: float = 0.5, banner: str = "") -> bool:
    """True if the server greets with ``* OK`` (containing `banner`) and answers CAPABILITY:
    what a mail reader needs before it can log in."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            f = s.makefile("rb")
            greeting = f.readline(1024)
            if not greeting.startswith(b"* OK") or banner.encode() not in greeting:
                return False
            s.sendall(b"p1 CAPABILITY\r\n")
            while True:
                line = f.readline(1024)
                if not line.startswith(b"* "):
                    break
            if not line.startswith(b"p1 OK"):
                return False
            s.sendall(b"p2 LOGOUT\r\n")
            return True
    except OSError:
        return False


CHECKS = {"ldap": ldap_bind_ok, "smtp": smtp_ok, "imap": imap_ok}
PORTS = {"ldap": 389, "smtp": 25, "imap": 143}


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
        ok = CHECKS[proto](host, port, timeout=max(0.2, min(0.5, interval * 5)))
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
    p.add_argument("--proto", choices=sorted(CHECKS), default="ldap")
    p.add_argument("--port", type=int, default=None, help="default 389 (ldap), 25 (smtp) or 143 (imap)")
    p.add_argument("--banner", default="", help="smtp, imap: text the greeting must contain")
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--settle", type=float, default=2.0, help="seconds of success that end the watch")
    p.add_argument("--once", action="store_true", help="one probe; exit 0 if the bind succeeds")
    args = p.parse_args(argv)
    port = args.port or PORTS[args.proto]
    if args.once:
        if args.proto == "ldap":
            return 0 if ldap_bind_ok(args.host, port) else 1
        return 0 if CHECKS[args.proto](args.host, port, timeout=3, banner=args.banner) else 1
    print(json.dumps(watch(args.host, port, args.interval, args.max_seconds, args.settle, args.proto).__dict__),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
