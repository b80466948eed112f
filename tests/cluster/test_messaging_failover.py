"""Seed 004's Configuration 1 on a real 3-node Pacemaker cluster with fencing: one group with
the virtual IP, the shared file system, the real 389-ds, the Administration Server and the
Messaging Server's core, client services and MTA (the emulator).  Mail comes from a real
Postfix in the client namespace and is read back by IMAP, as users would.
"""

from __future__ import annotations

import pytest

from mailha.lab import msgservices as mss

pytestmark = pytest.mark.cluster

SET = "crm_resource --resource %s --meta --set-parameter %s --parameter-value %s"


def answers(harness, proto: str, host: str, port: int, banner: str = "") -> bool:
    args = ["--banner", banner] if banner else []
    return harness.client.run("/usr/bin/python3 -m mailha.lab.probe --once --proto %s --port %s %s "
                              + " ".join(["%s"] * len(args)), proto, str(port), host, *args).rc == 0


def imap_answers(harness, ms) -> bool:
    return answers(harness, "imap", ms.ip, mss.PORTS["imap"], "Messaging Server")


def running_on(harness, node: str):
    def check():
        st = harness.status()
        return st.group_node(mss.GROUP) == node and len(st.groups.get(mss.GROUP, [])) == len(mss.MEMBERS)
    return check


def recovered_on(harness, ms, node: str):
    check = running_on(harness, node)
    return lambda: check() and imap_answers(harness, ms)


def restarted_on(harness, ms, node: str, daemon: str, before: int):
    """Recovered on *node* with another *daemon* than *before*: the recovery has happened.  The
    group alone can look recovered before Pacemaker has even begun (a slow cluster): the failed
    daemon's service still answers, and every member still shows started."""
    recovered = recovered_on(harness, ms, node)
    return lambda: recovered() and harness.msg_pids(node, ms, daemon) not in ([], [before])


def failed(harness, rsc: str, op: str = "monitor"):
    def check():
        return [f for f in harness.status().failures if f.get("op_key", "").startswith(f"{rsc}_{op}")]
    return check


def failcount(harness, rsc: str, node: str) -> int:
    """Pacemaker's fail count of rsc on node (crm_mon lists only a resource's last failure)."""
    on = next(n for n in harness.powered_on() if n)
    out = harness.hosts[on].run("crm_failcount --query --resource %s --node %s", rsc, node).stdout
    value = out.rsplit("value=", 1)[-1].strip() if "value=" in out else "0"
    return int(value) if value.isdigit() else 0


def moved_from(harness, node: str):
    """The node the whole group runs on, once that is not *node*."""
    def where():
        now = harness.status().group_node(mss.GROUP)
        return now if now not in (None, node) else None
    return where


def fenced(harness, node: str):
    def done():
        return any(e.get("target") == node and e.get("status") == "success" for e in harness.status().fence_events)
    return done


def sim_control(harness, node: str, ms, *args: str) -> None:
    out = harness.hosts[node].run("/usr/bin/python3 -m mailha.sim control %s " + " ".join(["%s"] * len(args)),
                                  ms.home, *args)
    assert out.rc == 0, out.stderr


def configutil(harness, node: str, ms, name: str, value: str) -> None:
    out = harness.hosts[node].run("%s/sbin/configutil -o %s -v %s", ms.server_root, name, value)
    assert out.rc == 0, out.stderr


def test_configuration_1_is_one_group_bound_to_its_virtual_ip(harness, ms_healthy):
    ms = ms_healthy
    st = harness.status()
    node = st.group_node(mss.GROUP)
    assert node and st.groups[mss.GROUP] == list(mss.MEMBERS)
    assert st.failures == []
    # Every server answers on the virtual IP: 389-ds, the Administration Server, IMAP, POP, SMTP.
    assert answers(harness, "ldap", ms.ip, mss.PORTS["ldap"])
    assert imap_answers(harness, ms)
    assert answers(harness, "smtp", ms.ip, mss.PORTS["smtp"], "Messaging Server")
    for port in (mss.PORTS["pop"], mss.PORTS["http"], mss.PORTS["admin"], mss.PORTS["core"]):
        probe = harness.client.run("/usr/bin/python3 -c %s",
                                   f"import socket; socket.create_connection(({ms.ip!r}, {port}), 3).close()")
        assert probe.rc == 0, port
    # ... and only there (the binding the agents verify at start): nothing on the node's own address.
    listening = harness.hosts[node].run("ss -Hltn").stdout
    for port in (143, 110, 80, 25, 390, 389):
        assert f"{ms.ip}:{port} " in listening, port
        assert f"0.0.0.0:{port} " not in listening and f"*:{port} " not in listening, port
    # The group carries seed 004's RestartLimit as migration-threshold, and failure-timeout.
    meta = harness.hosts[node].run("crm_resource --resource %s --meta --get-parameter migration-threshold",
                                   mss.GROUP).stdout
    assert meta.strip().endswith(str(mss.MIGRATION_THRESHOLD))


def test_power_off_loses_no_mail_sent_by_a_real_mta(harness, ms_healthy):
    ms = ms_healthy
    to = f"{ms.user}@msg.lab.test"
    active = harness.status().group_node(mss.GROUP)
    before = harness.imap_inbox(ms)
    assert before is not None
    harness.start_client_mta(ms.ip)
    sent = harness.submit_mail(10, to)
    harness.wait_for("the first messages delivered",
                     lambda: len(set(harness.imap_inbox(ms) or []) & set(sent)) >= 3, timeout=60)
    harness.power_off(active)
    # Handed to the sending MTA while the group has no node: it must keep and retry them.
    sent += harness.submit_mail(20, to, first=11)
    harness.wait_for(f"fencing of {active}", fenced(harness, active))
    harness.wait_for("the group on another node", moved_from(harness, active), timeout=120)
    harness.wait_for("the client's queue empty", lambda: harness.client_mta_queue() == [], timeout=180)
    inbox = harness.imap_inbox(ms)
    assert inbox is not None
    missing = set(sent) - set(inbox)
    assert not missing, f"lost: {sorted(missing)}"
    log = harness.client_mta_log()
    assert "status=deferred" in log, "the sending MTA never had to retry: the failover was not exercised"
    assert "status=bounced" not in log


def test_a_hung_store_is_caught_by_stored_t_v_and_restarted_in_place(harness, ms_healthy):
    ms = ms_healthy
    active = harness.status().group_node(mss.GROUP)
    (stored,) = harness.msg_pids(active, ms, "stored")
    sim_control(harness, active, ms, "--process", "stored", "--pid", str(stored), "--fault", "hang")
    try:
        failures = harness.wait_for("the core's monitor to catch the hang", failed(harness, mss.CORE_RSC),
                                    timeout=180)
        assert "stored -t -v" in failures[0].get("exitreason", ""), failures
        harness.wait_for("the group recovered in place with a new store",
                         restarted_on(harness, ms, active, "stored", stored), timeout=180)
    finally:
        sim_control(harness, harness.status().group_node(mss.GROUP) or active, ms, "--clear")
    assert harness.status().fence_events == []


def test_a_killed_imap_server_is_restarted_and_the_third_failure_moves_the_group(harness, ms_healthy):
    ms = ms_healthy
    home = harness.status().group_node(mss.GROUP)
    for failure in range(1, mss.MIGRATION_THRESHOLD + 1):
        (imapd,) = harness.wait_for("one imapd", lambda: harness.msg_pids(home, ms, "imapd") or None)
        assert harness.hosts[home].run("kill -9 %s", str(imapd)).rc == 0
        harness.wait_for(f"failure {failure} of the services' monitor",
                         lambda: failcount(harness, mss.SVC_RSC, home) >= failure, timeout=60)
        if failure < mss.MIGRATION_THRESHOLD:
            harness.wait_for("the services restarted in place", recovered_on(harness, ms, home))
    # Seed 004's RestartLimit 2: two restarts in place, the third failure moves the group.
    moved = harness.wait_for("the group on another node", moved_from(harness, home), timeout=120)
    harness.wait_for("IMAP on the new node", recovered_on(harness, ms, moved))
    assert harness.status().fence_events == []


def test_a_watcher_that_gives_up_is_a_failure_pacemaker_recovers(harness, ms_healthy):
    ms = ms_healthy
    active = harness.status().group_node(mss.GROUP)
    (watcher,) = harness.msg_pids(active, ms, "watcher")
    configutil(harness, active, ms, "local.autorestart", "1")
    try:
        for _ in range(3):  # three crashes within 600 s: the watcher restarts two, then gives up
            (imapd,) = harness.wait_for("one imapd", lambda: harness.msg_pids(active, ms, "imapd") or None)
            harness.wait_for("imapd answering", lambda: imap_answers(harness, ms))
            assert harness.hosts[active].run("kill -9 %s", str(imapd)).rc == 0
            harness.wait_for("imapd gone", lambda: imapd not in harness.msg_pids(active, ms, "imapd"))
        harness.wait_for("the watcher giving up", lambda: watcher not in harness.msg_pids(active, ms, "watcher"))
        failures = harness.wait_for("the core's monitor reporting it", failed(harness, mss.CORE_RSC), timeout=60)
        assert "watcher" in failures[0].get("exitreason", ""), failures
    finally:
        configutil(harness, harness.status().group_node(mss.GROUP) or active, ms, "local.autorestart", "0")
    harness.wait_for("the group recovered with a new watcher", restarted_on(harness, ms, active, "watcher", watcher),
                     timeout=180)
    log = harness.hosts[active].run("cat %s/log/watcher.log", ms.home).stdout
    assert "giving up" in log


def test_planned_move_keeps_the_store(harness, ms_healthy):
    ms = ms_healthy
    active = harness.status().group_node(mss.GROUP)
    target = next(n for n in harness.nodes if n != active)
    before = harness.imap_inbox(ms)
    assert before is not None
    out = harness.hosts[active].run("crm_resource --move --resource %s --node %s", mss.GROUP, target)
    assert out.rc == 0, out.stderr
    harness.wait_for("the group on the target", recovered_on(harness, ms, target), timeout=180)
    st = harness.status()
    assert st.failures == [] and st.fence_events == []
    assert harness.imap_inbox(ms) == before
    # Nothing of the instance is left on the node it left.
    for daemon in ("stored", "watcher", "imapd", "dispatcher"):
        assert harness.msg_pids(active, ms, daemon) == [], daemon
