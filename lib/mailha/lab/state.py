"""The lab's record of everything it made, so that `down` can undo it after a crash.

The record is a JSON file updated under an exclusive flock: the CLI and the
power controller (labd) both write to it. Anything is recorded *before* or
right after it is created, never later.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from typing import Any, Iterator

from mailha.lab import procs
from mailha.lab.layout import Layout


def empty_state(layout: Layout) -> dict[str, Any]:
    return {
        "version": 1,
        "boot_id": procs.boot_id(),  # PIDs below are only meaningful during this boot
        "root": layout.root,
        "nodes_count": layout.nodes,
        "netns": [],          # namespaces created (or about to be)
        "loop": None,         # loop device backing the shared image
        "fence_agent": None,  # path of the fence agent if the lab installed it
        "labd": None,         # {"pid", "start"} of the power controller
        "nodes": {},          # node -> {"pid", "start", "unshare_pid", "pidns", "power", "link"}
        "ready": False,
    }


def read(layout: Layout) -> dict[str, Any] | None:
    try:
        with open(layout.state_file, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def locked(layout: Layout, create: bool = False) -> Iterator[dict[str, Any]]:
    """Read-modify-write the state under the lock; yields the mutable dict."""
    os.makedirs(layout.root, exist_ok=True)
    with open(layout.lock_file, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read(layout)
        if state is None:
            if not create:
                raise FileNotFoundError(f"no lab recorded in {layout.state_file}")
            state = empty_state(layout)
        yield state
        tmp = layout.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, layout.state_file)


def from_this_boot(state: dict[str, Any]) -> bool:
    """Whether the record was made since the machine last booted (its PIDs can be trusted)."""
    return state.get("boot_id") == procs.boot_id()


def without_processes(state: dict[str, Any]) -> dict[str, Any]:
    """The record minus every PID: what `down` may act on when the PIDs are from another boot."""
    kept = dict(state, labd=None, postfix={})
    kept["nodes"] = {name: {} for name in state.get("nodes", {})}
    return kept


def layout_of(state: dict[str, Any]) -> Layout:
    return Layout(root=state["root"], nodes=state["nodes_count"])
