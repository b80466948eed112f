"""Run commands inside a lab node's namespaces (nsenter into its PID 1)."""

from __future__ import annotations

import subprocess
from typing import Callable

from mailha.lab import procs, state
from mailha.lab.layout import Layout
from mailha.lab.preflight import LabError

#: run(node, argv): a command on a lab node, however that lab reaches its nodes (a namespace
#: lab's nsenter, the Vagrant lab's ssh); what the topologies' helpers take.
NodeRunner = Callable[[str, "list[str]"], subprocess.CompletedProcess]


def node_pid(layout: Layout, node: str) -> int:
    st = state.read(layout)
    if st is None:
        raise LabError("no lab is up; run `mailha lab up`")
    rec = st["nodes"].get(node)
    if rec is None:
        raise LabError(f"no such lab node: {node}")
    if not procs.is_alive(rec.get("pid"), rec.get("start")):
        raise LabError(f"{node} is powered off")
    return rec["pid"]


def node_argv(layout: Layout, node: str, argv: list[str]) -> list[str]:
    """argv prefixed to run in every namespace of the node; "client" is the client netns."""
    if node == "client":
        return ["ip", "netns", "exec", layout.client_netns, *argv]
    return ["nsenter", "-t", str(node_pid(layout, node)), "-a", "--", *argv]


def run(layout: Layout, node: str, argv: list[str], timeout: float = 60,
        check: bool = False, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(node_argv(layout, node, argv), capture_output=True, text=True,
                          timeout=timeout, check=check, input=input)


def runner(layout: Layout) -> NodeRunner:
    """A :data:`NodeRunner` on the namespace lab's nodes."""
    return lambda node, argv: run(layout, node, argv, timeout=60)
