"""Durable storage of received SMTP messages: on disk before the 250 reply.

The GWIA's SMTP daemon lands incoming messages in ``<gwia home>/receive`` (the gateway
directory ``<domain>/wpgate/gwia``) before converting them; the emulator stops there, so
after a failover every accepted message is a file in that directory on the shared storage.
"""

from __future__ import annotations

import itertools
import os
import time

from ..files import fsync_directory

RECEIVE_DIR = "receive"
SUFFIX = ".eml"
_counter = itertools.count(1)


def queue_dir(home: str) -> str:
    return os.path.join(home, RECEIVE_DIR)


def store(home: str, mail_from: str, rcpt_to: list[str], data: bytes) -> str:
    """Write one message into the agent's receive directory; return its path."""
    return deliver(queue_dir(home), mail_from, rcpt_to, data)


def deliver(directory: str, mail_from: str, rcpt_to: list[str], data: bytes) -> str:
    """Write one message (envelope headers + data) into *directory*, fsync the file and the
    directory; return its path."""
    os.makedirs(directory, exist_ok=True)
    name = f"r{time.time_ns():x}-{os.getpid()}-{next(_counter)}"
    tmp = os.path.join(directory, f".{name}.tmp")
    final = os.path.join(directory, name + SUFFIX)
    envelope = f"X-Mailha-Sim-Mail-From: <{mail_from}>\r\nX-Mailha-Sim-Rcpt-To: {', '.join(f'<{r}>' for r in rcpt_to)}\r\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        os.write(fd, envelope.encode("ascii", "replace"))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, final)
    fsync_directory(directory)
    return final


def messages(home: str) -> list[str]:
    """Paths of the stored messages, oldest first."""
    return delivered(queue_dir(home))


def delivered(directory: str) -> list[str]:
    """Paths of the messages in *directory*, oldest first."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(SUFFIX))
    except FileNotFoundError:
        return []
    return [os.path.join(directory, n) for n in names]
