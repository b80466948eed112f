"""Small helpers every test directory shares (importable because tests/conftest.py puts this
directory on sys.path)."""

import os
import socket
import subprocess
import time
from typing import Callable, List, Optional

import pytest

from mailha.tools.ports import free_port as kernel_pick
from mailha.ocf.budget import wait_until

#: ``subprocess.run(..., **CAPTURE_TEXT)``: capture_output=True, text=True (which Python 3.6
#: lacks), in UTF-8 whatever the locale: Python 3.6 in the C locale (CI's, Pacemaker's) would
#: use ASCII.
CAPTURE_TEXT = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "encoding": "utf-8",
                "errors": "surrogateescape"}

OCF_ROOT = "/usr/lib/ocf"
#: Where the packages install the agents.
INSTALLED_AGENT_DIR = os.path.join(OCF_ROOT, "resource.d", "mailha")
#: The agents under test: the installed ones, or those of $MAILHA_AGENT_DIR (the Python 3.6 tier
#: installs them into its own environment, tests/python36-env, and runs the agent tests again).
AGENT_DIR = os.environ.get("MAILHA_AGENT_DIR") or INSTALLED_AGENT_DIR


def wait_for(predicate: "Callable[[], object]", timeout: float = 20.0, what: str = "condition") -> object:
    """Poll ``predicate`` until it is truthy and return its value; fail after ``timeout`` seconds."""
    seen: List[object] = []
    if not wait_until(lambda: seen.append(predicate()) or seen[-1], time.monotonic() + timeout,
                      first=0.05, longest=0.05):
        pytest.fail(f"timed out after {timeout} s waiting for {what}")
    return seen[-1]


def free_port(address: str = "127.0.0.1", fallback: "Optional[str]" = None) -> int:
    """A free TCP port on *address* (on *fallback* when *address* is not on this node)."""
    try:
        return kernel_pick(address)
    except OSError:
        if fallback is None:
            raise
        return kernel_pick(fallback)


def accepts(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> bool:
    """Whether something accepts a TCP connection on *host*:*port* (the tests' own check,
    independent of the probes under test)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket listening on *host* (``socket.create_server`` is Python 3.8 and later)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen()
    return sock
