"""The directory group on a real 3-node Pacemaker cluster with fencing: the five scenarios.

Assertions are on cluster state (crm_mon XML) and on what the client namespace sees.
"""

from __future__ import annotations

import uuid

import pytest

from mailha.lab import services
from mailha.lab.preflight import LabError

pytestmark = pytest.mark.cluster

MEMBERS = [services.VIP_RSC, services.FS_RSC, services.LDAP_RSC]


def client_binds(harness, directory) -> bool:
    """An anonymous LDAP bind on the VIP from the client, as a mail server would do it."""
    return harness.client.run(
        "/usr/bin/python3 -m mailha.lab.probe --once --port %s %s", str(directory.port), directory.host
    ).rc == 0


def ldap(harness, directory, tool: str, *args: str, stdin: str = ""):
    """Run ldapadd/ldapsearch from the client, bound as the directory admin (password from a file)."""
    argv = [tool, "-x", "-H", f"ldap://{directory.host}:{directory.port}/", "-D", directory.bind_dn,
            "-y", directory.password_file, *args]
    return harness.client.run("printf '%%s' %s | " + " ".join(["%s"] * len(argv)), stdin, *argv)


def add_entry(harness, directory) -> str:
    name = f"drill-{uuid.uuid4().hex[:8]}"
    ldif = f"dn: ou={name},{directory.suffix}\nobjectClass: organizationalUnit\nou: {name}\n"
    out = ldap(harness, directory, "ldapadd", stdin=ldif)
    assert out.rc == 0, out.stderr
    return name


def entry_visible(harness, directory, name: str) -> bool:
    out = ldap(harness, directory, "ldapsearch", "-LLL", "-b", directory.suffix, f"(ou={name})", "dn")
    return out.rc == 0 and f"ou={name}," in out.stdout


def holders(harness, directory) -> dict[str, list[str]]:
    """Which powered-on nodes hold the VIP / the shared mount, seen inside each node."""
    vip, mounted = [], []
    for node in harness.powered_on():
        host = harness.hosts[node]
        try:
            if directory.host in host.run("ip -o -4 addr show").stdout:
                vip.append(node)
            if host.run("findmnt -n %s", harness.shared_mountpoint).rc == 0:
                mounted.append(node)
        except LabError:  # fenced (powered off) since the list was taken: it holds nothing now
            continue
    return {"vip": vip, "fs": mounted}


def group_on_other_node(harness, old: str):
    def moved():
        st = harness.status()
        node = st.group_node(services.GROUP)
        return node if node and node != old else None
    return moved


def fenced(harness, node: str, view: str | None = None):
    """Fencing of node succeeded, as seen from `view` (a node of the majority)."""
    def done():
        st = harness.status(view)
        return any(e.get("target") == node and e.get("status") == "success" for e in st.fence_events)
    return done


def test_group_starts_in_order_on_one_node_and_answers_on_the_vip(harness, healthy):
    directory = healthy
    node = harness.status().group_node(services.GROUP)
    set_role = "crm_resource --resource %s --meta --set-parameter target-role --parameter-value %s"
    assert harness.hosts[node].run(set_role, services.GROUP, "Stopped").rc == 0
    harness.wait_for("the group to stop",
                     lambda: not any(harness.status().running_on(m) for m in MEMBERS))
    assert not client_binds(harness, directory)
    assert harness.hosts[node].run(set_role, services.GROUP, "Started").rc == 0
    active = harness.wait_for("the group to start", lambda: harness.status().group_node(services.GROUP))
    st = harness.status()
    assert st.groups[services.GROUP] == MEMBERS
    assert all(st.running_on(m) == [active] for m in MEMBERS)
    # Start order, from the executor's own call ids on the active node: VIP, then FS, then LDAP.
    history = harness.hosts[active].run("crm_mon --output-as=xml --include=operations").stdout
    calls = services_start_calls(history, active)
    assert calls[services.VIP_RSC] < calls[services.FS_RSC] < calls[services.LDAP_RSC]
    assert holders(harness, directory) == {"vip": [active], "fs": [active]}
    listening = harness.hosts[active].run("ss -Hltn sport = :%s", str(directory.port)).stdout
    assert f"{directory.host}:{directory.port}" in listening
    assert f"0.0.0.0:{directory.port}" not in listening  # bound to the VIP only
    assert client_binds(harness, directory)


def services_start_calls(crm_mon_xml: str, node: str) -> dict[str, int]:
    import xml.etree.ElementTree as ET
    root = ET.fromstring(crm_mon_xml)
    calls = {}
    for rh in root.iterfind(f"./node_history/node[@name='{node}']/resource_history"):
        for op in rh.iterfind("./operation_history[@task='start']"):
            calls[rh.get("id")] = int(op.get("call"))
    return calls


def test_killed_server_is_recovered_in_place(harness, healthy):
    directory = healthy
    active = harness.status().group_node(services.GROUP)
    assert harness.status().fence_events == []
    killed = harness.kill_server(active, directory.pidfile)

    def recovered():
        st = harness.status()
        failed_monitor = any(f.get("op_key", "").startswith(f"{services.LDAP_RSC}_monitor")
                             for f in st.failures)
        return failed_monitor and st.group_node(services.GROUP) and client_binds(harness, directory)
    harness.wait_for("the monitor to notice and the cluster to recover the server", recovered)
    st = harness.status()
    assert st.group_node(services.GROUP) == active
    assert st.fence_events == []  # recovered in place, nobody fenced
    new_pid = harness.hosts[active].check_output("cat %s", directory.pidfile)
    assert int(new_pid) != killed


def test_power_off_fences_and_moves_the_group_with_its_data(harness, healthy):
    directory = healthy
    active = harness.status().group_node(services.GROUP)
    written = add_entry(harness, directory)
    harness.power_off(active)
    assert harness.power_status(active) == "off"
    harness.wait_for(f"fencing of {active}", fenced(harness, active))
    new = harness.wait_for("the group on another node", group_on_other_node(harness, active))
    assert holders(harness, directory)["vip"] == [new]
    assert client_binds(harness, directory)
    assert entry_visible(harness, directory, written)


def test_planned_move_stops_cleanly_and_starts_on_the_target(harness, healthy):
    directory = healthy
    active = harness.status().group_node(services.GROUP)
    target = next(n for n in harness.nodes if n != active)
    assert harness.status().fence_events == []
    written = add_entry(harness, directory)
    out = harness.hosts[active].run("crm_resource --move --resource %s --node %s", services.GROUP, target)
    assert out.rc == 0, out.stderr
    harness.wait_for("the group on the target", lambda: harness.status().group_node(services.GROUP) == target)
    st = harness.status()
    assert st.failures == []                          # clean stop on the old node
    assert st.fence_events == []  # and nobody was fenced
    assert set(st.online_nodes()) == set(harness.nodes)
    assert holders(harness, directory) == {"vip": [target], "fs": [target]}
    assert entry_visible(harness, directory, written)


def test_partitioned_active_node_is_fenced_and_never_two_copies(harness, healthy):
    directory = healthy
    active = harness.status().group_node(services.GROUP)
    harness.partition(active)
    survivors = [n for n in harness.nodes if n != active]
    seen = []

    def settled():
        now = holders(harness, directory)
        seen.append(now)
        st = harness.status(survivors[0])
        node = st.group_node(services.GROUP)
        return node in survivors and fenced(harness, active, view=survivors[0])()
    harness.wait_for("the majority to fence the isolated node and take over", settled)
    assert seen, "no sample of VIP and mount holders was taken"
    assert all(len(s["vip"]) <= 1 and len(s["fs"]) <= 1 for s in seen), seen
    st = harness.status(survivors[0])
    assert st.have_quorum
    harness.heal()
    assert client_binds(harness, directory)
