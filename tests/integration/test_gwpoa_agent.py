"""``ocf:mailha:gwpoa`` against the GroupWise emulator: one POA per post office, many per node.

The shared machinery (launch, binding, storage, gwha) is exercised in depth by the gwia tests;
these check the POA's own listeners and that many POAs on one node stay apart.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from gwtest import gwlab_fixture, refused, silent, wait_for  # noqa: F401
from ocftools import CrmResource, ocf_tester

from mailha.sim import control

pytestmark = [pytest.mark.real_daemon, pytest.mark.agent_lifecycle]

SUCCESS, GENERIC, INSTALLED, CONFIGURED, NOT_RUNNING, DEGRADED = 0, 1, 5, 6, 7, 190


@pytest.fixture
def gwpoa(agent_runner):
    return agent_runner("gwpoa")


def poa_pids(lab, po) -> list[int]:
    return lab.agent_pids("gwpoa", po.layout.poa_startup)


def answers(ip: str, port: int) -> bool:
    return not refused(ip, port)


def test_lifecycle_probe_start_monitor_stop_is_idempotent(gwpoa, gwlab):
    po = gwlab.post_office()
    params = po.params
    assert gwpoa.probe(params).rc == NOT_RUNNING
    assert gwpoa("validate-all", params).rc == SUCCESS
    assert gwpoa("start", params).rc == SUCCESS
    for port in po.ports.values():  # client/server, MTP, HTTP: on the secondary IP alone
        assert answers(po.ip, port)
        assert refused("127.0.0.1", port)
    (pid,) = poa_pids(gwlab, po)
    assert gwpoa.monitor(params).rc == SUCCESS
    assert gwpoa.probe(params).rc == SUCCESS
    assert gwpoa("start", params).rc == SUCCESS
    assert poa_pids(gwlab, po) == [pid]
    assert gwpoa("stop", params).rc == SUCCESS
    assert poa_pids(gwlab, po) == []
    assert gwpoa("stop", params).rc == SUCCESS
    assert gwpoa.monitor(params).rc == NOT_RUNNING


def remembered(runner, kind: str) -> str | None:
    """What the agent remembers of its process between runs (the products write no pid file)."""
    path = Path(runner.rsctmp, "mailha", f"{os.path.basename(runner.path)}-{runner.instance}.state")
    lines = path.read_text().splitlines() if path.exists() else []
    return next((line.split("=", 1)[1] for line in lines if line.startswith(f"pid.{kind}=")), None)


def test_monitor_follows_a_poa_restarted_behind_its_back(gwpoa, gwlab):
    # As gwha restarts an agent: new pid, same post office. The monitor must not hold on to
    # the old pid (it only speeds up finding the process) nor to a stale one.
    po = gwlab.post_office()
    assert gwpoa("start", po.params).rc == SUCCESS
    (first,) = poa_pids(gwlab, po)
    assert remembered(gwpoa, "poa") == str(first)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not poa_pids(gwlab, po), 10, "the POA to die")
    assert gwpoa.monitor(po.params).rc == NOT_RUNNING
    assert remembered(gwpoa, "poa") == ""
    subprocess.run([str(po.params["binary"]), f"@{po.layout.poa_startup}"], cwd="/", check=True, timeout=30)
    wait_for(lambda: answers(po.ip, po.ports["port"]), 20, "the relaunched POA to answer")
    (second,) = poa_pids(gwlab, po)
    assert gwpoa.monitor(po.params).rc == SUCCESS
    assert remembered(gwpoa, "poa") == str(second)
    assert gwpoa("stop", po.params).rc == SUCCESS
    assert poa_pids(gwlab, po) == []


def test_many_post_offices_on_one_node_are_isolated(gwpoa, gwlab):
    offices = [gwlab.post_office(name) for name in ("po1", "po10", "po11", "po2", "po20", "po3")]
    for po in offices:
        assert gwpoa("start", po.params).rc == SUCCESS
    assert all(len(poa_pids(gwlab, po)) == 1 for po in offices)
    crashed, hung = offices[1], offices[4]
    os.kill(poa_pids(gwlab, crashed)[0], signal.SIGKILL)
    wait_for(lambda: not poa_pids(gwlab, crashed), 10, "po10's POA to die")
    control.write(hung.layout.directory, fault="hang")
    wait_for(lambda: silent(hung.ip, hung.ports["httpport"]), 10, "po20's POA to hang")
    results = {po.layout.name: gwpoa.monitor(po.params, timeout_ms=6000).rc for po in offices}
    assert results == {"po1": SUCCESS, "po10": NOT_RUNNING, "po11": SUCCESS, "po2": SUCCESS,
                       "po20": GENERIC, "po3": SUCCESS}
    assert gwpoa("stop", hung.params).rc == SUCCESS
    assert gwpoa("start", crashed.params).rc == SUCCESS
    for po in offices:
        if po is not hung:
            assert gwpoa.monitor(po.params).rc == SUCCESS
        assert gwpoa("stop", po.params).rc == SUCCESS
    assert gwlab.pids() == []


def test_poa_on_all_addresses_is_refused_and_set_ip_fixes_it(gwpoa, gwlab):
    po = gwlab.post_office(ip_in_file=False)
    result = gwpoa("start", po.params)
    assert result.rc == CONFIGURED
    assert "POA would listen on all addresses" in result.reason
    assert gwpoa.probe(po.params).rc == NOT_RUNNING
    params = dict(po.params, ip_address=po.ip, set_ip="true")
    assert gwpoa("start", params).rc == SUCCESS
    assert f"--ip {po.ip}\n" in Path(po.layout.poa_startup).read_text()
    assert any(".mailha-bak." in p.name for p in Path(po.layout.directory).iterdir())
    assert refused("127.0.0.1", po.ports["port"])
    assert gwpoa.monitor(params).rc == SUCCESS


def test_unmounted_partition(gwpoa, gwlab):
    po = gwlab.post_office()
    gwlab.unmount()
    assert gwpoa.probe(po.params).rc == NOT_RUNNING
    result = gwpoa("start", po.params)
    assert result.rc == INSTALLED and "post_office_dir is on / (not mounted)" in result.reason
    assert gwpoa("stop", po.params).rc == SUCCESS


def test_poa_ignoring_sigterm_is_killed_within_the_stop_timeout(gwpoa, gwlab):
    po = gwlab.post_office()
    assert gwpoa("start", po.params).rc == SUCCESS
    control.write(po.layout.directory, ignore_sigterm=True)
    result = gwpoa("stop", po.params, timeout_ms=8000, enforce_timeout=True)
    assert result.rc == SUCCESS
    assert "SIGKILL needed" in result.stderr
    assert poa_pids(gwlab, po) == []


def test_grpwise_launch_with_the_default_name_post_office_dot_domain(gwpoa, gwlab):
    po = gwlab.post_office("po1", "dom1")
    gwlab.register(po.layout)
    params = dict(po.params, launch="grpwise", domain="dom1")
    started = gwpoa("start", params)
    assert started.rc == SUCCESS, started.stderr
    assert "start po1.dom1" in started.stderr
    assert gwpoa.monitor(params).rc == SUCCESS
    assert gwpoa("stop", params).rc == SUCCESS
    assert poa_pids(gwlab, po) == []
    unnamed = gwpoa("validate-all", dict(po.params, launch="grpwise"))
    assert unnamed.rc == CONFIGURED and "grpwise_name" in unnamed.reason


def test_http_console_login_and_its_password_never_leaks(gwpoa, gwlab, tmp_path):
    po = gwlab.post_office()
    secret = "Poa-Console-5521"
    with open(po.layout.poa_startup, "a") as handle:
        handle.write(f"--httpuser admin\n--httppassword {secret}\n")
    debuglog = tmp_path / "debug.log"
    extra = {"HA_DEBUGLOG": str(debuglog), "HA_debug": "1"}
    good = dict(po.params, http_user="admin", http_password=secret)
    results = [gwpoa("start", good, extra=extra), gwpoa.monitor(good, extra=extra)]
    assert [r.rc for r in results] == [SUCCESS, SUCCESS]
    results.append(gwpoa.monitor(dict(good, http_password="Not-" + secret), extra=extra))
    assert results[-1].rc == DEGRADED
    assert "rejects http_user/http_password" in results[-1].reason
    for text in [r.stderr + r.stdout for r in results] + [debuglog.read_text()]:
        assert secret not in text


def test_ocf_tester_passes(gwlab):
    done = ocf_tester("gwpoa", gwlab.post_office().params)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed all tests" in done.stdout


@pytest.mark.ocf_root
def test_crm_resource_drives_the_agent(gwlab):
    po = gwlab.post_office()
    crm = CrmResource("gwpoa", po.params)

    assert crm("--validate").returncode == 0
    try:
        assert crm("--force-start").returncode == 0
        assert crm("--force-check=10").returncode == 0
        assert answers(po.ip, po.ports["port"])
    finally:
        assert crm("--force-stop").returncode == 0
    assert crm("--force-check").returncode == NOT_RUNNING
