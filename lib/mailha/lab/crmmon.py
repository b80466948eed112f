"""Parse `crm_mon --output-as=xml` into the few facts the lab and the tests assert on."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


@dataclass
class NodeState:
    name: str
    online: bool
    unclean: bool
    standby: bool


@dataclass
class ResourceState:
    id: str
    agent: str
    role: str
    active: bool
    failed: bool
    nodes: list[str]


@dataclass
class ClusterStatus:
    dc: str | None
    have_quorum: bool
    nodes: dict[str, NodeState] = field(default_factory=dict)
    resources: dict[str, ResourceState] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    fence_events: list[dict[str, str]] = field(default_factory=list)

    def online_nodes(self) -> list[str]:
        return sorted(n for n, s in self.nodes.items() if s.online)

    def running_on(self, rsc: str) -> list[str]:
        r = self.resources.get(rsc)
        return list(r.nodes) if r and r.active else []

    def group_node(self, group: str) -> str | None:
        """The one node running every member of the group, or None."""
        members = self.groups.get(group, [])
        places = {tuple(self.running_on(m)) for m in members}
        if len(places) == 1:
            (place,) = places
            if len(place) == 1 and all(self.resources[m].role == "Started" for m in members):
                return place[0]
        return None


def _bool(value: str | None) -> bool:
    return value == "true"


def parse(xml_text: str) -> ClusterStatus:
    root = ET.fromstring(xml_text)
    dc_el = root.find("./summary/current_dc")
    present = dc_el is not None and _bool(dc_el.get("present"))
    status = ClusterStatus(
        dc=dc_el.get("name") if present else None,
        have_quorum=present and _bool(dc_el.get("with_quorum")),
    )
    for n in root.iterfind("./nodes/node"):
        status.nodes[n.get("name", "")] = NodeState(
            name=n.get("name", ""), online=_bool(n.get("online")),
            unclean=_bool(n.get("unclean")), standby=_bool(n.get("standby")))
    resources = root.find("./resources")
    if resources is not None:
        for g in resources.iterfind("./group"):
            status.groups[g.get("id", "")] = [r.get("id", "") for r in g.iterfind("./resource")]
        for r in resources.iter("resource"):
            status.resources[r.get("id", "")] = ResourceState(
                id=r.get("id", ""), agent=r.get("resource_agent", ""), role=r.get("role", ""),
                active=_bool(r.get("active")), failed=_bool(r.get("failed")),
                nodes=[n.get("name", "") for n in r.iterfind("./node")])
    for f in root.iterfind("./failures/failure"):
        status.failures.append(dict(f.attrib))
    for f in root.iterfind("./fence_history/fence_event"):
        status.fence_events.append(dict(f.attrib))
    return status
