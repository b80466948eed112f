"""OCF 1.1 reload on the GroupWise topology: a new monitor cadence reaches a running GWIA as a
``reload-agent``, with no restart of the GWIA or its MTA.

Pacemaker 2.1 reads the agent's OCF 1.1 metadata at every start and records, with the start, the
parameters whose change forces a restart (every one not marked reloadable) and their digest.
Changing ``second_level_monitor`` (the cadence parameter, not the operation interval) then
schedules ``reload-agent``, which Pacemaker's history records as a new start entry, and its log
as "Result of reload-agent operation".  The same change without that digest in the history (an
agent without reload-agent, as before) is a restart: ``crm_simulate`` on a copy of the live CIB
shows both, before the real change.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from mailha.lab import gwservices as gws

pytestmark = pytest.mark.cluster

PACEMAKER_LOG = "/var/log/pacemaker/pacemaker.log"
SET_ROLE = "crm_resource --resource %s --meta --set-parameter target-role --parameter-value %s"
#: Rewrites a saved CIB as an agent without reload-agent would have left it: no restart digest.
STRIP_RELOAD = ("import sys, xml.etree.ElementTree as ET\n"
                "tree = ET.parse(sys.argv[1])\n"
                "for op in tree.iter('lrm_rsc_op'):\n"
                "    if op.get('operation_key', '').startswith(sys.argv[2] + '_'):\n"
                "        op.attrib.pop('op-restart-digest', None); op.attrib.pop('op-force-restart', None)\n"
                "tree.write(sys.argv[1])\n")


def last_op(harness, node: str) -> ET.Element:
    """The GWIA resource's ``<rsc>_last_0`` history entry on *node*, from the live CIB."""
    out = harness.hosts[node].run("cibadmin --query --scope status")
    assert out.rc == 0, out.stderr
    path = (f"./node_state[@uname='{node}']/lrm/lrm_resources/lrm_resource[@id='{gws.GWIA_RSC}']"
            f"/lrm_rsc_op[@id='{gws.GWIA_RSC}_last_0']")
    op = ET.fromstring(out.stdout).find(path)
    assert op is not None, f"no history of {gws.GWIA_RSC} on {node}"
    return op


def log_count(harness, node: str, text: str) -> int:
    out = harness.hosts[node].run("grep -c -F %s %s", text, PACEMAKER_LOG)
    return int(out.stdout.strip() or 0)


def planned(harness, node: str, change: str, strip_reload: bool = False) -> str:
    """crm_simulate's transition for `pcs resource update GWIA <change>` on a copy of the live CIB."""
    host = harness.hosts[node]
    tmp = host.run("mktemp -d").stdout.strip()
    try:
        cib = f"{tmp}/cib.xml"
        assert host.run("cibadmin --query > %s", cib).rc == 0
        if strip_reload:
            assert host.run("/usr/bin/python3 -c %s %s %s", STRIP_RELOAD, cib, gws.GWIA_RSC).rc == 0
        out = host.run("pcs -f %s resource update %s %s", cib, gws.GWIA_RSC, change)
        assert out.rc == 0, out.stderr
        out = host.run("crm_simulate --xml-file %s --simulate", cib)
        assert out.rc == 0, out.stderr
        return out.stdout[out.stdout.index("Transition Summary:"):out.stdout.index("Revised Cluster Status:")]
    finally:
        host.run("rm -rf %s", tmp)


def action(plan: str, verb: str, node: str) -> bool:
    """Whether crm_simulate's *plan* runs *verb* (stop, start, reload-agent) of the GWIA on *node*."""
    return re.search(rf"Resource action:\s+{re.escape(gws.GWIA_RSC)}\s+{verb} on {node}\b", plan) is not None


def started_with_reload_metadata(harness, node: str) -> None:
    """Make the recorded start one of this agent version: Pacemaker refreshes metadata only at a
    start, and a lab kept up from before OCF 1.1 metadata has a history without restart digest."""
    if last_op(harness, node).get("op-restart-digest"):
        return
    host = harness.hosts[node]
    assert host.run(SET_ROLE, gws.GWIA_RSC, "Stopped").rc == 0
    harness.wait_for("the GWIA to stop", lambda: not harness.status().running_on(gws.GWIA_RSC))
    assert host.run(SET_ROLE, gws.GWIA_RSC, "Started").rc == 0
    harness.wait_for("the GWIA to start", lambda: harness.status().group_node(gws.GWIA_GROUP) == node)
    assert last_op(harness, node).get("op-restart-digest"), "the agent's metadata offers no reload-agent"


def test_a_new_monitor_cadence_is_reloaded_without_restarting_the_gwia(harness, gw_healthy):
    gw = gw_healthy
    active = harness.status().group_node(gws.GWIA_GROUP)
    assert active
    host = harness.hosts[active]
    started_with_reload_metadata(harness, active)
    gwia_pid = harness.agent_pid(active, gws.GWIA_BINARY, gw.gwia_startup)
    mta_pid = harness.agent_pid(active, gws.MTA_BINARY, gw.mta_startup)
    assert gwia_pid and mta_pid

    # The decision first, on copies of the live CIB: a reload now; a restart without reload-agent.
    plan = planned(harness, active, "second_level_monitor=3")
    assert action(plan, "reload-agent", active) and not action(plan, "stop", active), plan
    old = planned(harness, active, "second_level_monitor=3", strip_reload=True)
    assert action(old, "stop", active) and action(old, "start", active), old
    assert not action(old, "reload-agent", active), old

    reloaded = f"Result of reload-agent operation for {gws.GWIA_RSC} on {active}: ok"
    stopped = f"Result of stop operation for {gws.GWIA_RSC} on {active}"
    reloads, stops = log_count(harness, active, reloaded), log_count(harness, active, stopped)
    before = last_op(harness, active)
    out = host.run("pcs resource update %s second_level_monitor=3", gws.GWIA_RSC)
    assert out.rc == 0, out.stderr
    try:
        harness.wait_for("Pacemaker to run reload-agent",
                         lambda: log_count(harness, active, reloaded) > reloads)
        assert host.run("crm_resource --wait --timeout 120s").rc == 0
        after = last_op(harness, active)
        # Recorded as a start (Pacemaker's way for a successful reload), newer, with the new
        # parameters' digest; no stop in between, and the same processes serve.
        assert after.get("operation") == "start" and after.get("rc-code") == "0"
        assert int(after.get("call-id")) > int(before.get("call-id"))
        assert after.get("op-digest") != before.get("op-digest")
        assert after.get("op-restart-digest") == before.get("op-restart-digest")
        assert log_count(harness, active, stopped) == stops
        assert harness.agent_pid(active, gws.GWIA_BINARY, gw.gwia_startup) == gwia_pid
        assert harness.agent_pid(active, gws.MTA_BINARY, gw.mta_startup) == mta_pid
        st = harness.status()
        assert st.group_node(gws.GWIA_GROUP) == active and st.failures == [] and st.fence_events == []
    finally:
        # Back to the default cadence: a reload again, waited for so the next test starts idle.
        host.run("pcs resource update %s second_level_monitor=", gws.GWIA_RSC)
        host.run("crm_resource --wait --timeout 120s")
    assert harness.agent_pid(active, gws.GWIA_BINARY, gw.gwia_startup) == gwia_pid
