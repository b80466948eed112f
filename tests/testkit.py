"""Small helpers every test directory shares (importable because tests/conftest.py puts this
directory on sys.path)."""

from __future__ import annotations

import time
from typing import Callable

import pytest

from mailha.tools.ports import free_port as kernel_pick
from mailha.ocf.budget import wait_until


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    """Poll ``predicate`` until it is truthy and return its value; fail after ``timeout`` seconds."""
    seen: list[object] = []
    if not wait_until(lambda: seen.append(predicate()) or seen[-1], time.monotonic() + timeout,
                      first=0.05, longest=0.05):
        pytest.fail(f"timed out after {timeout} s waiting for {what}")
    return seen[-1]


def free_port(address: str = "127.0.0.1", fallback: str | None = None) -> int:
    """A free TCP port on *address* (on *fallback* when *address* is not on this node)."""
    try:
        return kernel_pick(address)
    except OSError:
        if fallback is None:
            raise
        return kernel_pick(fallback)
