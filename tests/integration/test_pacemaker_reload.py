"""OCF 1.1 as Pacemaker's own tools read the installed agents, and the reload decision offline.

``crm_resource --show-metadata`` (what pcs, crmsh and the controller read) runs the agent with
``OCF_RA_VERSION_MINOR=1`` and gets OCF 1.1.  The scheduler decision that matters is checked on a
saved CIB with ``crm_simulate``, no cluster needed: after a start, pacemaker-controld records in
the resource history which parameters force a restart (``op-force-restart``: every parameter the
metadata does not mark reloadable) and their digest (``op-restart-digest``).  crm_simulate has no
executor, so the test writes those two attributes the way the controller does
(``controld_execd.c``, ``append_restart_list``) and lets ``crm_resource --digests`` compute the
digest; then a change of the cadence must be a reload and a change of the instance a restart.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from lxml import etree

PROVIDER_DIR = "/usr/lib/ocf/resource.d/mailha"
PCS_RNG_1_1 = "/usr/share/pcs/data/ocf-1.1.rng"
#: Per agent: a parameter that identifies the instance (a change restarts) and its two values.
IDENTITY = {"gwia": ("domain_dir", "/mnt/gwia/provo", "/mnt/gwia/other"),
            "gwpoa": ("post_office_dir", "/mnt/gwpo/po1", "/mnt/gwpo/po2"),
            "ldap": ("instance", "mail", "other")}
AGENTS = sorted(IDENTITY)
NODE = "node1"

CIB = """<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0"
     admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="opts-stonith" name="stonith-enabled" value="false"/>
      <nvpair id="opts-quorum" name="no-quorum-policy" value="ignore"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="{node}"/></nodes>
    <resources>
      <primitive id="{rsc}" class="ocf" provider="mailha" type="{agent}">
        <instance_attributes id="{rsc}-ia">
          <nvpair id="{rsc}-ia-{name}" name="{name}" value="{value}"/>
        </instance_attributes>
        <operations><op id="{rsc}-monitor-10s" name="monitor" interval="10s" timeout="20s"/></operations>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"""


def run(argv: list[str], cib: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, CIB_file=cib) if cib else None
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    if check:
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
    return done


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    for agent in AGENTS:
        if not os.access(os.path.join(PROVIDER_DIR, agent), os.X_OK):
            pytest.fail(f"{PROVIDER_DIR}/{agent} is not installed: run ./run tests")


def show_metadata(agent: str) -> etree._Element:
    return etree.fromstring(run(["crm_resource", "--show-metadata", f"ocf:mailha:{agent}"]).stdout.encode())


@pytest.mark.parametrize("agent", AGENTS)
def test_pacemaker_tools_get_ocf_1_1(agent):
    root = show_metadata(agent)
    assert root.findtext("version") == "1.1"
    rng = etree.RelaxNG(etree.parse(PCS_RNG_1_1))
    assert rng.validate(root), rng.error_log
    assert len(root.findall("actions/action[@name='reload-agent']")) == 1
    reloadable = {p.get("name") for p in root.iter("parameter") if p.get("reloadable") == "1"}
    assert reloadable == {"second_level_monitor", "monitor_program", "monitor_program_params", "log_level"}


@pytest.mark.parametrize("agent", AGENTS)
def test_pcs_and_crmsh_show_what_1_1_adds(agent):
    name = IDENTITY[agent][0]
    pcs = run(["pcs", "resource", "describe", f"ocf:mailha:{agent}"])
    assert re.search(rf"^  {name} (\(required\) )?\(unique group: {name}\):", pcs.stdout, re.M), pcs.stdout
    assert "reload-agent:" in pcs.stdout  # among the default operations
    crm = run(["crm", "ra", "info", f"ocf:mailha:{agent}"])
    assert "log_level (select, [info]): Agent log level" in crm.stdout, crm.stdout
    assert "reload-agent" in crm.stdout


def restart_list(metadata: etree._Element) -> str:
    """``op-force-restart`` as pacemaker-controld writes it for an OCF 1.1 agent with reload-agent:
    the parameters not marked reloadable, between spaces (it looks for " NAME ")."""
    names = [p.get("name") for p in metadata.iter("parameter") if p.get("reloadable") != "1"]
    return " " + " ".join(reversed(names)) + " "  # the controller prepends as it reads


def started_cib(tmp_path, agent: str, reload_history: bool) -> str:
    """A saved CIB where the resource was started on node1 (history from crm_simulate) and, when
    *reload_history*, the start recorded as the controller records it for this metadata."""
    name, value, _ = IDENTITY[agent]
    rsc = f"{agent}-rsc"
    fresh = tmp_path / f"{agent}-fresh.xml"
    fresh.write_text(CIB.format(node=NODE, rsc=rsc, agent=agent, name=name, value=value))
    started = str(tmp_path / f"{agent}-started.xml")
    run(["crm_simulate", "--xml-file", str(fresh), "--node-up", NODE, "--simulate", "--save-output", started])
    if reload_history:
        tree = etree.parse(started)
        [start] = tree.xpath(f"//lrm_resource[@id='{rsc}']/lrm_rsc_op[@operation='start']")
        start.set("op-force-restart", restart_list(show_metadata(agent)))
        start.set("op-restart-digest", "0" * 32)  # crm_resource computes digests only when one exists
        tree.write(started)
        digests = run(["crm_resource", "--digests", "-r", rsc, "-N", NODE, "--output-as=xml"], cib=started)
        [digest] = etree.fromstring(digests.stdout.encode()).xpath("//digest[@type='nonreloadable']/@hash")
        start.set("op-restart-digest", digest)
        tree.write(started)
    return started


def transition(cib: str) -> str:
    """crm_simulate's plan for *cib*: the transition summary and the actions it would run."""
    out = run(["crm_simulate", "--xml-file", cib, "--simulate"]).stdout
    return out[out.index("Transition Summary:"):out.index("Revised Cluster Status:")]


@pytest.mark.parametrize("agent", AGENTS)
def test_a_new_cadence_is_a_reload_and_a_new_instance_a_restart(tmp_path, agent):
    rsc = f"{agent}-rsc"
    cib = started_cib(tmp_path, agent, reload_history=True)
    assert "Resource action" not in transition(cib)  # the recorded start matches the configuration
    run(["pcs", "-f", cib, "resource", "update", rsc, "second_level_monitor=3"])
    plan = transition(cib)
    assert f"* Reload     {rsc}" in plan, plan
    assert "reload-agent on node1" in plan and " stop on " not in plan and " start on " not in plan
    assert f"monitor=10000 on {NODE}" in plan  # the recurring monitor is rescheduled with the new cadence

    name, _, other = IDENTITY[agent]
    cib = started_cib(tmp_path, agent, reload_history=True)
    run(["pcs", "-f", cib, "resource", "update", rsc, f"{name}={other}"])
    plan = transition(cib)
    assert f"* Restart    {rsc}" in plan and " stop on " in plan and "reload-agent" not in plan, plan


@pytest.mark.parametrize("agent", AGENTS)
def test_without_reload_agent_in_the_history_the_same_change_restarts(tmp_path, agent):
    """What Pacemaker did before OCF 1.1 metadata: no op-restart-digest, so a restart."""
    rsc = f"{agent}-rsc"
    cib = started_cib(tmp_path, agent, reload_history=False)
    run(["crm_resource", "-r", rsc, "--set-parameter", "second_level_monitor", "--parameter-value", "3"],
        cib=cib)
    plan = transition(cib)
    assert f"* Restart    {rsc}" in plan and "reload-agent" not in plan, plan
