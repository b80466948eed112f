"""Faults to inject into the lab, and the way back to a healthy cluster."""

from __future__ import annotations

import subprocess

from mailha.lab import cluster, gwservices, lifecycle, msgservices, network, nodecmd, postfix, services, state
from mailha.lab.layout import Layout
from mailha.lab.preflight import LabError

#: Every group the lab may run; restore() clears and waits for each one configured.
GROUPS = (services.GROUP, *gwservices.GROUPS, *msgservices.GROUPS)


def active_node(layout: Layout, group: str = services.GROUP) -> str:
    node = cluster.status(layout).group_node(group)
    if node is None:
        raise LabError(f"group {group} is not running on one node")
    return node


def kill_server(layout: Layout, node: str, pidfile: str) -> int:
    """SIGKILL the directory server on node; returns the killed PID (in the node's PID namespace)."""
    out = nodecmd.run(layout, node, ["sh", "-c", f'pid=$(cat "{pidfile}") && kill -9 "$pid" && echo "$pid"'])
    if out.returncode != 0:
        raise LabError(f"could not kill the server on {node}: {out.stderr.strip()}")
    return int(out.stdout.strip())


def power_off(layout: Layout, node: str) -> None:
    lifecycle.power_request(layout, "off", node)


def set_cable(layout: Layout, node: str, plugged: bool) -> None:
    with state.locked(layout) as st:
        st["nodes"].setdefault(node, {})["cable"] = "plugged" if plugged else "pulled"
    # A powered-off node has no carrier whatever its cable says.
    network.set_link(layout, node, up=plugged and node in cluster.powered_on_nodes(layout))


def partition(layout: Layout, node: str) -> None:
    if node not in layout.node_names():
        raise LabError(f"no such lab node: {node}")
    set_cable(layout, node, plugged=False)


def heal(layout: Layout) -> None:
    for node in layout.node_names():
        set_cable(layout, node, plugged=True)


def move(layout: Layout, to: str, group: str = services.GROUP) -> None:
    out = nodecmd.run(layout, to, ["crm_resource", "--move", "--resource", group, "--node", to])
    if out.returncode != 0:
        raise LabError(f"crm_resource --move failed: {out.stderr.strip()}")


def restore(layout: Layout, timeout: float = 180) -> None:
    """Back to health: cables in, every node on and online, no move constraint, no failures,
    an empty fencing history; with the GroupWise topology, Postfix on every node again."""
    heal(layout)
    on = cluster.powered_on_nodes(layout)
    for node in layout.node_names():
        if node not in on:
            lifecycle.power_request(layout, "on", node)
    cluster.wait_ready(layout, timeout)
    first = cluster.powered_on_nodes(layout)[0]
    for argv in cluster.recovery_commands(GROUPS, timeout):
        try:
            nodecmd.run(layout, first, argv, timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            raise LabError(f"{' '.join(argv)} timed out") from None

    def clean():
        st = cluster.try_status(layout)
        groups_ok = st and all(g not in st.groups or st.group_node(g) for g in GROUPS)
        return st and not st.failures and not st.fence_events and groups_ok
    cluster.wait_for("a clean cluster (and the groups running if configured)", clean, timeout)
    if gwservices.deployed(layout):
        postfix.ensure(layout, cluster.powered_on_nodes(layout))  # a rebooted node has none yet
