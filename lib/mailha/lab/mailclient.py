"""The drills' mail client, run in the client namespace: hand messages to the client's Postfix
(which relays them to the virtual IP, retrying) and read a mailbox back by IMAP.

    python3 -m mailha.lab.mailclient submit --count N --to USER@DOMAIN [--first K] [--port P]
    python3 -m mailha.lab.mailclient inbox HOST --user USER --password-file FILE

Each prints one JSON line: the Message-IDs submitted, or those in the INBOX (in order, so a
duplicate shows twice).  Every network wait is bounded.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import re
import smtplib
import socket
import sys
import uuid

TIMEOUT = 10.0
#: The client's Postfix listens on the client's loopback (mailha.lab.postfix): port 25 in the
#: namespace lab's client namespace, another port on the Vagrant lab's host (mailha.lab.vagrant.client).
SUBMIT_HOST = "127.0.0.1"


def submit(count: int, to: str, first: int = 1, port: int = 25) -> list[str]:
    """*count* messages handed to the local Postfix in one session; returns their Message-IDs."""
    ids = []
    with smtplib.SMTP(SUBMIT_HOST, port, local_hostname="client.lab.test", timeout=TIMEOUT) as smtp:
        for n in range(first, first + count):
            msg_id = f"<drill-{n}-{uuid.uuid4().hex[:12]}@client.lab.test>"
            smtp.sendmail("drill@client.lab.test", [to],
                          f"From: drill@client.lab.test\r\nTo: {to}\r\nSubject: drill message {n}\r\n"
                          f"Message-ID: {msg_id}\r\n\r\nmessage {n} of a failover drill\r\n")
            ids.append(msg_id)
    return ids


_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]*>)", re.IGNORECASE | re.MULTILINE)


def inbox(host: str, user: str, password: str, port: int = 143) -> list[str]:
    """The Message-IDs of *user*'s INBOX, read by IMAP as a mail reader would."""
    socket.setdefaulttimeout(TIMEOUT)  # imaplib.IMAP4 takes a timeout only from Python 3.9
    imap = imaplib.IMAP4(host, port)
    try:
        imap.login(user, password)
        typ, _ = imap.select("INBOX", readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error("SELECT INBOX failed")
        typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        found = []
        for item in data if typ == "OK" else []:
            if isinstance(item, tuple):
                match = _MESSAGE_ID.search(item[1])
                if match:
                    found.append(match.group(1).decode("ascii", "replace"))
        return found
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mailha.lab.mailclient", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("submit")
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--to", required=True)
    s.add_argument("--first", type=int, default=1, help="number of the first message (its subject)")
    s.add_argument("--port", type=int, default=25, help="the local Postfix's SMTP port")
    i = sub.add_parser("inbox")
    i.add_argument("host")
    i.add_argument("--user", required=True)
    i.add_argument("--password-file", required=True)
    i.add_argument("--port", type=int, default=143)
    args = p.parse_args(argv)
    try:
        if args.command == "submit":
            result = submit(args.count, args.to, args.first, args.port)
        else:
            with open(args.password_file, encoding="utf-8") as f:
                password = f.read(256).strip()
            result = inbox(args.host, args.user, password, args.port)
    except (OSError, smtplib.SMTPException, imaplib.IMAP4.error) as exc:
        print(f"mailha.lab.mailclient {args.command}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
