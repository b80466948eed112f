"""Fixtures for tests against a real Pacemaker cluster: the namespace lab, or the Vagrant lab.

MAILHA_LAB chooses: "namespace" (the default) or "vagrant".  The namespace lab is brought up
per module (and taken down after it) unless one is already up, in which case it is used and
left alone.  The Vagrant lab must be up (./run vagrant-tests brings it up and down around the
run).  Needs root and the cluster packages.
"""

from __future__ import annotations

import os

import pytest

from mailha.lab import lifecycle, preflight, services, state
from mailha.lab.layout import Layout, lab_root

#: Which lab the tests run on.
LAB = os.environ.get("MAILHA_LAB", "namespace")
#: Directory kinds the scenarios run on; MAILHA_LAB_DIRECTORY=389ds (or openldap) picks one.
#: The Vagrant lab runs the project's template, which is 389-ds.
KINDS = [k for k in services.KINDS if os.environ.get("MAILHA_LAB_DIRECTORY", k) == k
         and (LAB != "vagrant" or k == "389ds")]


@pytest.fixture(scope="module")
def lab_layout():
    """An up lab: reused if one is up, otherwise made here and removed after the module."""
    if LAB != "namespace":
        pytest.fail(f"this test needs the namespace lab (MAILHA_LAB={LAB}; one lab at a time)")
    layout = Layout(root=lab_root())
    if lifecycle.liveness(layout) == "live":
        yield state.layout_of(state.read(layout))
        return
    missing = preflight.missing_packages()
    if missing:
        pytest.fail(f"cannot host the lab, missing: {missing}")
    lifecycle.up(layout)
    try:
        yield layout
    finally:
        lifecycle.down(layout)


@pytest.fixture(scope="module")
def harness(request):
    """The cluster the tests act on, through one interface whichever lab it is."""
    if LAB == "vagrant":
        from cluster_harness import VagrantHarness
        return VagrantHarness.connect()
    if LAB != "namespace":
        pytest.fail(f"MAILHA_LAB={LAB!r}: choose namespace or vagrant")
    from cluster_harness import LabHarness
    return LabHarness(request.getfixturevalue("lab_layout"))


@pytest.fixture(scope="module", params=KINDS)
def directory(request, harness):
    """The directory group running on the cluster: the one fixture that picks the LDAP server.

    "openldap" is the stand-in (ocf:heartbeat:slapd); "389ds" is ocf:mailha:ldap with 389-ds.
    Cluster tests need root and the installed agent: without them they fail, never skip.
    """
    if os.geteuid() != 0:
        pytest.fail("cluster tests need root (namespaces, loop devices): run ./run tests as root")
    if request.param == "389ds" and (why := services.mailha_ldap_available()):
        pytest.fail(f"ocf:mailha:ldap is not usable: {why} (./run tests installs it)")
    return harness.deploy(request.param)


@pytest.fixture(scope="module")
def groupwise(harness):
    """The GroupWise topology on the cluster: gwia-grp, po-grp, Postfix on every node."""
    return harness.deploy_groupwise()


@pytest.fixture(scope="module")
def messaging(harness):
    """Seed 004's Configuration 1 on the cluster: one group, 389-ds, admin server, Messaging Server."""
    return harness.deploy_messaging()


@pytest.fixture
def ms_healthy(harness, messaging):
    """Each Messaging Server scenario starts and ends with every node on and no failures."""
    harness.restore()
    yield messaging
    harness.restore()


@pytest.fixture
def gw_healthy(harness, groupwise):
    """Each GroupWise scenario starts and ends with every node on, no failures, Postfix up."""
    harness.restore()
    yield groupwise
    harness.restore()


@pytest.fixture
def healthy(harness, directory):
    """Each scenario starts and ends with every node on, cables in, no failures."""
    harness.restore()
    yield directory
    harness.restore()
