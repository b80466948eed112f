"""The GroupWise topology of seed 000 on a real 3-node Pacemaker cluster with fencing.

gwia-grp (secondary IP + GWIA partition + ocf:mailha:gwia) and po-grp (POA IP + post office
partition + ocf:mailha:gwpoa), each with its failover list, and a real Postfix on port 25 of
every node's primary address. Assertions are on crm_mon XML and on what the client sees.
"""

from __future__ import annotations

import json
import re

import pytest

from mailha.lab import gwservices as gws

pytestmark = pytest.mark.cluster

GWIA_MEMBERS = [gws.GWIA_IP_RSC, gws.GWIA_FS_RSC, gws.GWIA_RSC]
POA_MEMBERS = [gws.POA_IP_RSC, gws.POA_FS_RSC, gws.POA_RSC]
SET_ROLE = "crm_resource --resource %s --meta --set-parameter target-role --parameter-value %s"


def smtp_answers(harness, host: str, banner: str) -> bool:
    """SMTP greeting (containing `banner`) and EHLO from the client, as a sending MTA sees it."""
    return harness.client.run("/usr/bin/python3 -m mailha.lab.probe --proto smtp --once --banner %s %s",
                              banner, host).rc == 0


def gwia_answers(harness, gw) -> bool:
    return smtp_answers(harness, gw.gwia_ip, "GroupWise Internet Agent")


def postfix_answers_everywhere(harness, nodes: list[str] | None = None) -> bool:
    return all(smtp_answers(harness, harness.node_address(n), f"{n}.lab.test ESMTP Postfix")
               for n in nodes or harness.powered_on())


def tcp_open(harness, host: str, port: int) -> bool:
    code = f"import socket; socket.create_connection(({host!r}, {port}), 3).close()"
    return harness.client.run("/usr/bin/python3 -c %s", code).rc == 0


def gwia_failed(harness, op: str):
    def check():
        st = harness.status()
        return any(f.get("op_key", "").startswith(f"{gws.GWIA_RSC}_{op}") for f in st.failures)
    return check


def recovered_on(harness, gw, node: str):
    def check():
        return harness.status().group_node(gws.GWIA_GROUP) == node and gwia_answers(harness, gw)
    return check


def groups_placed(harness) -> dict[str, str] | None:
    st = harness.status()
    where = {g: st.group_node(g) for g in gws.GROUPS}
    return where if all(where.values()) else None  # type: ignore[return-value]


def fenced(harness, node: str):
    def done():
        return any(e.get("target") == node and e.get("status") == "success"
                   for e in harness.status().fence_events)
    return done


def sim_control(harness, node: str, home: str, *args: str):
    out = harness.hosts[node].run("/usr/bin/python3 -m mailha.sim control %s " + " ".join(["%s"] * len(args)),
                                  home, *args)
    assert out.rc == 0, out.stderr


def test_groups_start_on_preferred_nodes_and_postfix_keeps_port_25(harness, gw_healthy):
    gw = gw_healthy
    first = harness.powered_on()[0]
    for group in gws.GROUPS:
        assert harness.hosts[first].run(SET_ROLE, group, "Stopped").rc == 0
    harness.wait_for("both groups to stop",
                     lambda: not any(harness.status().running_on(m) for m in GWIA_MEMBERS + POA_MEMBERS))
    assert not gwia_answers(harness, gw)
    for group in gws.GROUPS:
        assert harness.hosts[first].run(SET_ROLE, group, "Started").rc == 0
    where = harness.wait_for("both groups to start", lambda: groups_placed(harness))
    assert where == {g: gws.FAILOVER[g][0] for g in gws.GROUPS}
    st = harness.status()
    assert st.groups[gws.GWIA_GROUP] == GWIA_MEMBERS and st.groups[gws.POA_GROUP] == POA_MEMBERS
    # The client reaches the GWIA on the secondary IP and the POA's ports on its IP ...
    assert gwia_answers(harness, gw)
    for port in (1677, 7101, 7181):
        assert tcp_open(harness, gw.poa_ip, port), port
    # ... while Postfix answers on port 25 of every node's primary address, the GWIA node's too.
    assert postfix_answers_everywhere(harness)
    node = where[gws.GWIA_GROUP]
    listening = harness.hosts[node].run("ss -Hltn sport = :25").stdout
    assert f"{gw.gwia_ip}:25" in listening
    assert f"{harness.node_address(node)}:25" in listening
    assert "0.0.0.0:25" not in listening and "*:25" not in listening


def test_pacemakers_recurring_monitors_reach_the_fast_path(harness, gw_healthy):
    """The fast path (mailha.service.fastpath) answers a monitor only in the environment the
    last full monitor recorded, so Pacemaker must give every run of a recurring monitor the same
    one.  A full monitor in another environment would record it anew (a new state file); over
    three intervals of the POA's 10 s monitor the file stays the one first seen."""
    import time

    node = harness.status().group_node(gws.POA_GROUP)
    host = harness.hosts[node]
    state = f"/run/resource-agents/mailha/gwpoa-{gws.POA_RSC}.state"

    def record() -> str | None:
        out = host.run("stat -c %%i %s && grep -F monitor.fast.env= %s", state, state)
        return out.stdout if out.rc == 0 else None

    first = harness.wait_for("the POA's monitor to record its answer", record, timeout=60)
    assert "OCF_RESKEY_CRM_meta_interval\x1f10000" in first
    time.sleep(31)  # an absence (no new record) is what is checked: no condition to wait for
    assert record() == first
    assert harness.status().running_on(gws.POA_RSC) == [node]


def test_power_off_of_the_gwia_node_loses_no_message(harness, gw_healthy):
    gw = gw_healthy
    active = harness.status().group_node(gws.GWIA_GROUP)
    before = set(harness.gwia_queue(active, gw))
    sender = harness.start_smtp_sender(gw.gwia_ip, count=50, max_seconds=150)
    try:
        harness.wait_for("the first messages in the queue",
                         lambda: len(set(harness.gwia_queue(active, gw)) - before) >= 5, timeout=60)
        harness.power_off(active)
        assert harness.power_status(active) == "off"
        harness.wait_for(f"fencing of {active}", fenced(harness, active))
        expected = next(n for n in gws.FAILOVER[gws.GWIA_GROUP] if n != active)
        harness.wait_for("the GWIA group on the next node of its failover list",
                         recovered_on(harness, gw, expected))
        out, _ = sender.communicate(timeout=200)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["failed"] == {}
    assert len(report["accepted"]) == 50
    assert report["retries"] > 0, "the failover happened after the sender finished: no drill"
    queue = harness.gwia_queue(expected, gw)
    missing = set(report["accepted"]) - set(queue)
    assert not missing, f"lost: {sorted(missing)}"
    duplicates = {m for m in report["accepted"] if queue.count(m) > 1}
    assert duplicates <= set(report["ambiguous"]), f"unreported duplicates: {sorted(duplicates)}"
    # The survivors' Postfix never moved (the fenced node rebooted: its Postfix starts at its boot).
    assert postfix_answers_everywhere(harness, [n for n in harness.nodes if n != active])


def test_hung_gwia_is_caught_by_the_second_level_and_recovered(harness, gw_healthy):
    gw = gw_healthy
    active = harness.status().group_node(gws.GWIA_GROUP)
    pid = harness.agent_pid(active, gws.GWIA_BINARY, gw.gwia_startup)
    assert pid
    sim_control(harness, active, gw.gwia_home, "--fault", "hang", "--pid", str(pid))
    try:
        harness.wait_for("the SMTP service to hang", lambda: not gwia_answers(harness, gw), timeout=30)
        harness.wait_for("the monitor to catch the hang", gwia_failed(harness, "monitor"))
        harness.wait_for("the GWIA recovered", recovered_on(harness, gw, active))
    finally:
        sim_control(harness, harness.status().group_node(gws.GWIA_GROUP) or active, gw.gwia_home, "--clear")
    st = harness.status()
    assert st.fence_events == []
    assert harness.agent_pid(active, gws.GWIA_BINARY, gw.gwia_startup) not in (None, pid)


def test_mta_crash_is_noticed_and_recovered(harness, gw_healthy):
    gw = gw_healthy
    active = harness.status().group_node(gws.GWIA_GROUP)
    mta = harness.agent_pid(active, gws.MTA_BINARY, gw.mta_startup)
    assert mta
    assert harness.hosts[active].run("kill -9 %s", str(mta)).rc == 0
    harness.wait_for("the monitor to notice the MTA crash", gwia_failed(harness, "monitor"))
    # The GWIA answers all along (only its MTA died): recovered means a new MTA, and the GWIA.
    back = recovered_on(harness, gw, active)
    harness.wait_for("the MTA and GWIA recovered",
                     lambda: harness.agent_pid(active, gws.MTA_BINARY, gw.mta_startup) not in (None, mta) and back())
    assert harness.status().fence_events == []
    assert tcp_open(harness, gw.gwia_ip, 7100)  # the MTA's message transfer port is back


def _event_time(harness, node: str, directory: str, event: str) -> str:
    """HH:MM:SS of `event` in the newest emulator log of `directory` that has it."""
    out = harness.hosts[node].run("grep -h %s $(ls %s/* | sort -V) | tail -1", event, directory).stdout
    match = re.match(r"(\d\d:\d\d:\d\d) ", out)
    assert match, f"no {event!r} in {directory}"
    return match.group(1)


def test_planned_move_stops_gwia_then_mta_and_starts_elsewhere(harness, gw_healthy):
    gw = gw_healthy
    active = harness.status().group_node(gws.GWIA_GROUP)
    target = next(n for n in harness.nodes if n != active)
    # A GWIA that takes 2 s to finish its queues (seed 000: it can take minutes).
    sim_control(harness, active, gw.gwia_home, "--stop-delay", "2")
    try:
        out = harness.hosts[active].run("crm_resource --move --resource %s --node %s", gws.GWIA_GROUP, target)
        assert out.rc == 0, out.stderr
        harness.wait_for("the GWIA group on the target", recovered_on(harness, gw, target))
    finally:
        sim_control(harness, harness.status().group_node(gws.GWIA_GROUP) or active, gw.gwia_home, "--clear")
    st = harness.status()
    assert st.failures == [] and st.fence_events == []
    gwia_logs = f"{gw.gwia_home}/000.prc"
    mta_logs = f"{gw.domain_dir}/mslocal"
    gwia_done = _event_time(harness, target, gwia_logs, "Agent terminated normally")
    mta_term = _event_time(harness, target, mta_logs, "Received SIGTERM")
    assert _event_time(harness, target, gwia_logs, "Received SIGTERM") < mta_term
    assert gwia_done <= mta_term  # the MTA is asked to stop only once the GWIA has gone


def test_gwia_without_ip_is_refused_and_postfix_is_untouched(harness, gw_healthy):
    gw = gw_healthy
    active = harness.status().group_node(gws.GWIA_GROUP)
    host = harness.hosts[active]
    saved = gw.gwia_startup + ".lab-orig"
    assert host.run(SET_ROLE, gws.GWIA_RSC, "Stopped").rc == 0
    harness.wait_for("the GWIA to stop", lambda: not harness.status().running_on(gws.GWIA_RSC))
    assert host.run("cp -p %s %s && sed -i 's/^--ip /;--ip /' %s", gw.gwia_startup, saved, gw.gwia_startup).rc == 0
    try:
        assert host.run(SET_ROLE, gws.GWIA_RSC, "Started").rc == 0
        harness.wait_for("the start to be refused", gwia_failed(harness, "start"))
        st = harness.status()
        failure = next(f for f in st.failures if f["op_key"].startswith(f"{gws.GWIA_RSC}_start"))
        reason = failure.get("exitreason", "")
        assert "all addresses" in reason and "port 25" in reason, reason
        # crm_mon shows the first 128 characters of an exit reason (Pacemaker's limit); the node's
        # log has all of it, naming the Postfix master that holds port 25.
        log = harness.agent_log(active, "would listen on all addresses")
        node_smtp = f"{harness.node_address(active)}:25"
        assert re.search(r"port 25 is held by pid \d+ \(master\) on " + re.escape(node_smtp), log), log[-600:]
        assert failure.get("exitstatus") in ("not configured", "6") or failure.get("exitcode") == "6", failure
        # Right after the failed start crm_mon may still list the resource (FAILED) on the node
        # while Pacemaker's stop of it runs: nothing may run once that is done.
        harness.wait_for("the refused GWIA to be stopped", lambda: not harness.status().running_on(gws.GWIA_RSC))
        assert not gwia_answers(harness, gw)
        assert postfix_answers_everywhere(harness)
        listening = host.run("ss -Hltn sport = :25").stdout
        assert "0.0.0.0:25" not in listening
    finally:
        host.run("mv %s %s", saved, gw.gwia_startup)
        host.run("crm_resource --cleanup --resource %s", gws.GWIA_RSC)
    harness.wait_for("the GWIA back after the fix", recovered_on(harness, gw, active))
