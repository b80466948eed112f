"""cibsecret on a real cluster: the agent uses a secret kept out of the CIB, and a node that
cannot load it still stops the resource cleanly (a failed stop would get it fenced).

Pacemaker's executor replaces ``lrm://`` values with the files ``cibsecret set`` writes on each
node (/var/lib/pacemaker/lrm/secrets/RSC/PARAM and its .sign).  When a node lacks the file it
refuses every action with 6 before the agent runs, except stop, which it runs with the literal
``lrm://``: ocf:mailha:ldap's stop then treats the value as absent.  ``cibsecret set`` copies the
files over ssh, which the lab's nodes do not run; the test writes them as it would.
"""

from __future__ import annotations

import hashlib

import pytest

from mailha.lab import services

SECRETS = "/var/lib/pacemaker/lrm/secrets"


@pytest.fixture(scope="module")
def ds389(harness):
    return harness.deploy("389ds")


def put_secret(harness, node: str, rsc: str, name: str, value: str) -> None:
    host = harness.hosts[node]
    sign = hashlib.md5(value.encode()).hexdigest()
    assert host.run("mkdir -p %s/%s", SECRETS, rsc).rc == 0
    assert host.run("printf '%%s\\n' %s > %s/%s/%s", value, SECRETS, rsc, name).rc == 0
    assert host.run("printf '%%s\\n' %s > %s/%s/%s.sign", sign, SECRETS, rsc, name).rc == 0


def set_params(harness, node: str, **params: str) -> None:
    for name, value in params.items():
        out = harness.hosts[node].run("crm_resource --resource %s --set-parameter %s --parameter-value %s",
                                      services.LDAP_RSC, name, value)
        assert out.rc == 0, out.stderr


def test_a_node_without_the_secret_still_stops_the_resource_cleanly(harness, ds389):
    with open(ds389.password_file, encoding="utf-8") as handle:
        password = handle.read().strip()
    harness.restore()
    active = harness.status().group_node(services.GROUP)
    target = next(n for n in harness.nodes if n != active)
    for node in harness.nodes:
        put_secret(harness, node, services.LDAP_RSC, "password", password)
    try:
        set_params(harness, active, bind_dn=ds389.bind_dn, password="lrm://")
        harness.wait_for("the server running with the secret, its monitor passing",
                         lambda: harness.status().group_node(services.GROUP) and not harness.status().failures)
        active = harness.status().group_node(services.GROUP)
        target = next(n for n in harness.nodes if n != active)
        # The active node loses its copy (as after `cibsecret set` run while it was away).
        assert harness.hosts[active].run("rm -f %s/%s/password", SECRETS, services.LDAP_RSC).rc == 0
        out = harness.hosts[active].run("crm_resource --move --resource %s --node %s", services.GROUP, target)
        assert out.rc == 0, out.stderr
        harness.wait_for("the group on the target",
                         lambda: harness.status().group_node(services.GROUP) == target, timeout=180)
        st = harness.status()
        stop_failures = [f for f in st.failures if f.get("op_key", "").startswith(f"{services.LDAP_RSC}_stop")]
        assert stop_failures == []          # the stop without its secret succeeded
        assert st.fence_events == []        # and nobody was fenced for it
        assert set(st.online_nodes()) == set(harness.nodes)
    finally:
        harness.hosts[active].run("crm_resource --clear --resource %s", services.GROUP)
        for name in ("bind_dn", "password"):
            harness.hosts[active].run("crm_resource --resource %s --delete-parameter %s", services.LDAP_RSC, name)
        for node in harness.nodes:
            harness.hosts[node].run("rm -rf %s/%s", SECRETS, services.LDAP_RSC)
        harness.restore()
