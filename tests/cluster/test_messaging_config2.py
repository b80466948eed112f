"""Seed 004's Configuration 2 on a real 3-node Pacemaker cluster: the directory (389-ds) with
the Administration Server, the MTA and the IMAP server each in a group of its own, on its own
virtual IP; the MTA and IMAP groups ordered after the directory by an optional order, never
colocated with it."""

from __future__ import annotations

import pytest

from mailha.lab import msgservices as mss

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def config2(harness):
    return harness.deploy_messaging(config=2)


@pytest.fixture
def healthy2(harness, config2):
    harness.restore()
    yield config2
    harness.restore()


def test_each_component_runs_in_its_group_and_logins_cross_to_the_directory(harness, healthy2):
    ms = healthy2
    st = harness.status()
    assert all(st.group_node(g) for g in mss.CONFIG2_GROUPS), st.groups
    # The IMAP server checks the login against 389-ds in another group, on another address.
    assert harness.imap_inbox(ms) is not None
    cib = harness.hosts[harness.powered_on()[0]].run("cibadmin --query --scope constraints").stdout
    for group in (mss.MTA_GROUP, mss.IMAP_GROUP):
        assert f'first="{mss.DIR_GROUP}"' in cib and f'then="{group}"' in cib
    assert cib.count('kind="Optional"') == 2 and "rsc_colocation" not in cib


def test_a_directory_restart_restarts_nothing_else(harness, healthy2):
    ms = healthy2
    st = harness.status()
    imap_node, mta_node = st.group_node(mss.IMAP_GROUP), st.group_node(mss.MTA_GROUP)
    stored = {node: harness.msg_pids(node, ms, "stored") for node in (imap_node,)}
    mta_stored = harness.msgsrv_pids(mta_node, ms.mta_root, "stored")
    out = harness.hosts[harness.powered_on()[0]].run("crm_resource --restart --resource %s --timeout 120s",
                                                     mss.DIR_GROUP)
    assert out.rc == 0, out.stderr
    harness.wait_for("the directory group back", lambda: harness.status().group_node(mss.DIR_GROUP))
    assert {node: harness.msg_pids(node, ms, "stored") for node in (imap_node,)} == stored
    assert harness.msgsrv_pids(mta_node, ms.mta_root, "stored") == mta_stored
    assert [f for f in harness.status().failures if not _met_the_directory_down(f)] == []
    harness.wait_for("IMAP logins through the directory again", lambda: harness.imap_inbox(ms) is not None)


def _met_the_directory_down(failure: dict) -> bool:
    """A monitor of the MTA or IMAP server that ran while the directory restarted: degraded,
    saying the login could not be checked (no recovery follows), never a failure."""
    prefixes = tuple(mss.CONFIG2[g].prefix + "-" for g in (mss.MTA_GROUP, mss.IMAP_GROUP))
    return (failure.get("op_key", "").startswith(prefixes) and "_monitor_" in failure["op_key"]
            and failure.get("exitcode") == "190" and "user directory is down" in failure.get("exitreason", ""))
