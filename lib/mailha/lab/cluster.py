"""Cluster-level helpers: the seed CIB, status reads and bounded waits."""

from __future__ import annotations

import subprocess
import time
from typing import Callable
from xml.sax.saxutils import quoteattr

from mailha.lab import crmmon, nodecmd, procs, state
from mailha.lab.layout import Layout
from mailha.lab.preflight import LabError
from mailha.ocf.budget import wait_until

FENCE_DEVICE = "fence-lab"


#: How long a starting controller waits for a DC before it calls an election.  Pacemaker's 20 s
#: default is for networks slower than the lab's, where all nodes start together and see each
#: other within 2 s: with it, every `up` waited 20 s for nothing.
DC_DEADTIME = "5s"


def seed_cib(layout: Layout) -> str:
    """The CIB every node starts with: fencing on, the lab fence device, stickiness, a short
    start-up wait for the DC."""
    hosts = " ".join(layout.node_names())
    return f"""<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-cluster-name" name="cluster-name" value="mailha-lab"/>
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="true"/>
        <nvpair id="opt-stonith-timeout" name="stonith-timeout" value="60s"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="{DC_DEADTIME}"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="{FENCE_DEVICE}" class="stonith" type="fence_mailha_lab">
        <instance_attributes id="{FENCE_DEVICE}-ia">
          <nvpair id="{FENCE_DEVICE}-hosts" name="pcmk_host_list" value={quoteattr(hosts)}/>
          <nvpair id="{FENCE_DEVICE}-socket" name="power_socket" value={quoteattr(layout.power_socket)}/>
        </instance_attributes>
        <operations>
          <op id="{FENCE_DEVICE}-monitor" name="monitor" interval="60s"/>
        </operations>
      </primitive>
    </resources>
    <constraints/>
    <rsc_defaults>
      <meta_attributes id="rsc-options">
        <nvpair id="rsc-options-stickiness" name="resource-stickiness" value="100"/>
      </meta_attributes>
    </rsc_defaults>
  </configuration>
  <status/>
</cib>
"""


def powered_on_nodes(layout: Layout) -> list[str]:
    st = state.read(layout) or {"nodes": {}}
    return [n for n in layout.node_names()
            if procs.is_alive(st["nodes"].get(n, {}).get("pid"), st["nodes"].get(n, {}).get("start"))]


CRM_MON = ["crm_mon", "--output-as=xml", "--inactive", "--fence-history=1"]


def status_from(run: Callable[[str, list[str]], subprocess.CompletedProcess],
                nodes: list[str]) -> crmmon.ClusterStatus:
    """crm_mon from the first of *nodes* whose cluster stack answers; *run(node, argv)* runs a
    command on a node (how depends on the lab) and raises LabError when the node is unreachable."""
    if not nodes:
        raise LabError("no lab node is powered on")
    errors = []
    for name in nodes:  # a node just powered on (e.g. by fencing) may not run pacemaker yet
        try:
            out = run(name, CRM_MON)
        except (LabError, subprocess.TimeoutExpired) as exc:
            errors.append(f"{name}: {exc}")
            continue
        if out.returncode == 0:
            return crmmon.parse(out.stdout)
        errors.append(f"{name}: {out.stderr.strip() or out.stdout.strip()[-300:]}")
    raise LabError("crm_mon failed on " + "; ".join(errors))


def recovery_commands(groups: "tuple[str, ...]", timeout: float) -> list[list[str]]:
    """Back to a clean cluster, run on one node: no move constraints on *groups*, no failures (a
    cleanup re-probes every resource: wait for that transition too), an empty fencing history."""
    return [*(["crm_resource", "--clear", "--resource", g] for g in groups),
            ["crm_resource", "--cleanup"], ["stonith_admin", "--history", "*", "--cleanup"],
            ["crm_resource", "--wait", "--timeout", f"{int(timeout)}s"]]


def status(layout: Layout, node: str | None = None) -> crmmon.ClusterStatus:
    """crm_mon as seen from node, or from the first powered-on node whose cluster stack answers."""
    return status_from(lambda name, argv: nodecmd.run(layout, name, argv, timeout=30),
                       [node] if node else powered_on_nodes(layout))


def try_status(layout: Layout, node: str | None = None) -> crmmon.ClusterStatus | None:
    try:
        return status(layout, node)
    except (LabError, subprocess.TimeoutExpired, Exception):  # noqa: B014 - any failure means "not yet"
        return None


def wait_for(what: str, check: Callable[[], object], timeout: float, interval: float = 0.5) -> object:
    """Poll check() every *interval* seconds until it returns something truthy, and return that;
    LabError after *timeout* seconds."""
    seen: list[object] = [None]

    def holds() -> bool:
        seen[0] = check()
        return bool(seen[0])

    if not wait_until(holds, time.monotonic() + timeout, first=interval, longest=interval):
        raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")
    return seen[0]


def wait_group(layout: Layout, group: str, members: int, timeout: float) -> str:
    """The node *group* runs on, once *members* of its members have started there."""
    def placed():
        st = try_status(layout)
        if st and len(st.groups.get(group, [])) == members:
            return st.group_node(group)
        return None
    return wait_for(f"group {group} started", placed, timeout)  # type: ignore[return-value]


def all_online(layout: Layout, st: crmmon.ClusterStatus | None) -> bool:
    return bool(st and st.have_quorum and st.dc
                and st.online_nodes() == sorted(layout.node_names())
                and st.running_on(FENCE_DEVICE))


def wait_ready(layout: Layout, timeout: float = 120) -> crmmon.ClusterStatus:
    """Every node online, quorum, a DC, and the fence device started."""
    def ready():
        st = try_status(layout)
        return st if all_online(layout, st) else None
    return wait_for("all lab nodes online with quorum and fencing", ready, timeout)  # type: ignore[return-value]


def cibadmin(layout: Layout, node: str, *args: str, xml: str | None = None) -> None:
    argv = ["cibadmin", *args] + (["--xml-pipe"] if xml is not None else [])
    out = nodecmd.run(layout, node, argv, input=xml, timeout=60)
    if out.returncode != 0:
        raise LabError(f"cibadmin {' '.join(args)} failed: {out.stderr.strip()}")
