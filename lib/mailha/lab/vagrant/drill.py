"""The power-off drill on the VMs: the directory's node is destroyed (the plug pulled) while the
host, on the client network, binds to the directory's VIP every 100 ms (the namespace lab's
probe and measure, :mod:`mailha.lab.drill`)."""

from __future__ import annotations

from mailha.lab import drill as ns_drill
from mailha.lab import services
from mailha.lab.vagrant import cluster, nodes
from mailha.lab.vagrant.layout import VLab
from mailha.lab.vagrant.lifecycle import timed

#: Software-emulated VMs detect, fence and start more slowly than namespaces.
PROBE_MAX_SECONDS = 300.0


def power_off(vlab: VLab) -> dict:
    """One drill: deploy if need be, restore if need be, power off the group's node; the
    client's outage, and the seconds the preparation took."""
    prepare_s: dict = {}
    with timed(prepare_s, "deploy"):
        directory = cluster.deploy_directory(vlab, cluster.write_password(vlab.path("dir-admin.pw")))
    with timed(prepare_s, "restore"):
        prepare_s["restored"] = not cluster.healthy(vlab)
        if prepare_s["restored"]:
            cluster.restore(vlab)
    node = cluster.status(vlab).group_node(services.GROUP)
    target = ns_drill.Target(services.GROUP, directory.host, directory.port, "ldap")
    probe = ns_drill.start_probe(target, [], PROBE_MAX_SECONDS)
    outage = ns_drill.probe_outage(probe, lambda: nodes.power_off(vlab, node), PROBE_MAX_SECONDS)
    viewer = next(n for n in vlab.node_names() if n != node)
    now = cluster.try_status(vlab, viewer)
    to = now.group_node(services.GROUP) if now else None
    starts = cluster.start_times(vlab, to, viewer) if to else {}
    return {"scenario": "power-off", "from": node, "to": to, **outage, "start_s": starts, "prepare_s": prepare_s}
