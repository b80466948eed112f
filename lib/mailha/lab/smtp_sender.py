"""A bounded sending MTA for drills: N messages by SMTP, retried the way a real MTA retries.

Run in the client namespace (`ip netns exec mhlab-client python3 -m mailha.lab.smtp_sender HOST`).
Each message has its own Message-ID. A message is retried, with exponential backoff, after a
connection failure, a timeout, a 4xx reply or a dropped session; a 5xx reply is a permanent
failure, as for a real MTA. The whole run is bounded in time. Prints one JSON line:
{"accepted": [ids], "failed": {id: reason}, "retries": n, "ambiguous": [ids]}. A message is
"ambiguous" when the session broke after its data was sent but before the reply: it may be
stored twice after the retry (a duplicate, which SMTP allows; a loss it does not).
"""

from __future__ import annotations

import argparse
import json
import smtplib
import socket
import sys
import time
import uuid

RETRYABLE = (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout)


def message(msg_id: str, n: int) -> str:
    return (f"From: drill@client.lab.test\r\nTo: user@gwdom.lab.test\r\nSubject: drill message {n}\r\n"
            f"Message-ID: {msg_id}\r\n\r\nmessage {n} of a failover drill\r\n")


def send_one(host: str, port: int, msg_id: str, n: int, timeout: float) -> tuple[str, bool]:
    """('ok'|'temp'|'perm', data_sent): one SMTP transaction."""
    data_sent = False
    try:
        with smtplib.SMTP(host, port, local_hostname="client.lab.test", timeout=timeout) as smtp:
            smtp.ehlo()
            code, _ = smtp.mail("drill@client.lab.test")
            if code >= 400:
                return ("temp" if code < 500 else "perm"), False
            code, _ = smtp.rcpt("user@gwdom.lab.test")
            if code >= 400:
                return ("temp" if code < 500 else "perm"), False
            data_sent = True
            code, _ = smtp.data(message(msg_id, n))
            return ("ok" if code == 250 else "temp" if code < 500 else "perm"), data_sent
    except smtplib.SMTPDataError as exc:
        return ("temp" if exc.smtp_code < 500 else "perm"), data_sent
    except smtplib.SMTPResponseException as exc:
        return ("temp" if exc.smtp_code < 500 else "perm"), data_sent
    except RETRYABLE:
        return "temp", data_sent


def run(host: str, port: int, count: int, interval: float, max_seconds: float,
        timeout: float = 3.0, backoff_max: float = 2.0) -> dict:
    deadline = time.monotonic() + max_seconds
    accepted: list[str] = []
    failed: dict[str, str] = {}
    ambiguous: list[str] = []
    retries = 0
    for n in range(1, count + 1):
        msg_id = f"<drill-{n}-{uuid.uuid4().hex[:12]}@client.lab.test>"
        delay = 0.2
        while True:
            result, data_sent = send_one(host, port, msg_id, n, timeout)
            if result == "ok":
                accepted.append(msg_id)
                break
            if result == "perm":
                failed[msg_id] = "permanent failure (5xx)"
                break
            if data_sent:
                ambiguous.append(msg_id)
            if time.monotonic() + delay > deadline:
                failed[msg_id] = "gave up: time budget spent"
                break
            retries += 1
            time.sleep(delay)
            delay = min(backoff_max, delay * 2)
        if time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    return {"accepted": accepted, "failed": failed, "retries": retries, "ambiguous": ambiguous}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mailha.lab.smtp_sender")
    p.add_argument("host")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--interval", type=float, default=0.3, help="pause between messages")
    p.add_argument("--max-seconds", type=float, default=120)
    args = p.parse_args(argv)
    print("sending", flush=True)
    print(json.dumps(run(args.host, args.port, args.count, args.interval, args.max_seconds)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
