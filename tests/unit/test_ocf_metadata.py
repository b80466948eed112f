"""Metadata XML: valid for ocf-tester (ra-api-1.dtd) and pcs (ocf-1.0.rng), escaped, faithful."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import mailha.agents
from mailha.ocf.agent import Action, Agent
from mailha.ocf.codes import Rc
from mailha.ocf.params import Param, Port, Seconds, Text

RA_DTD_DIR = "/usr/share/resource-agents"
PCS_RNG = "/usr/share/pcs/data/ocf-1.0.rng"
REAL_AGENTS = sorted(m.name for m in pkgutil.iter_modules(mailha.agents.__path__)
                     if not m.name.startswith("_"))
NASTY = "a & b < c > d \" e ' f &amp; ]]> <!-- x --> <![CDATA[y]]> $(id) \t ü 日本"


def xmllint_valid(document: str) -> subprocess.CompletedProcess:
    """What ocf-tester runs:
    ``agent meta-data | (cd $DATADIR/resource-agents && xmllint --noout --valid -)``."""
    return subprocess.run(["xmllint", "--noout", "--valid", "-"], input=document, cwd=RA_DTD_DIR,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def relaxng() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(PCS_RNG))


def parse(document: str) -> etree._Element:
    assert document.startswith('<?xml version="1.0"?>\n<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">\n')
    return etree.fromstring(document.encode())


def agents_to_check(sample_agent) -> list[Agent]:
    return [sample_agent()] + [importlib.import_module(f"mailha.agents.{n}").AGENT for n in REAL_AGENTS]


def test_metadata_of_every_agent_passes_the_ocf_tester_dtd(sample_agent):
    for agent in agents_to_check(sample_agent):
        done = xmllint_valid(agent.metadata())
        assert done.returncode == 0 and done.stderr == "", (agent.name, done.stderr)


def test_metadata_of_every_agent_passes_the_pcs_schema(sample_agent, relaxng):
    for agent in agents_to_check(sample_agent):
        assert relaxng.validate(parse(agent.metadata())), (agent.name, relaxng.error_log)


def test_xmllint_would_catch_a_broken_document():
    """The validation above can fail: a parameter without content breaks the DTD."""
    broken = ('<?xml version="1.0"?>\n<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">\n'
              '<resource-agent name="x"><version>1.0</version><longdesc/><shortdesc/>'
              '<parameters><parameter name="p"><longdesc/><shortdesc/></parameter></parameters>'
              '<actions/></resource-agent>')
    assert xmllint_valid(broken).returncode != 0


def test_metadata_round_trips_every_declared_field(sample_agent):
    agent = sample_agent()
    root = parse(agent.metadata())
    assert root.get("name") == "sample" and root.get("version") == agent.version
    assert root.findtext("version") == "1.0"
    assert root.findtext("shortdesc") == agent.shortdesc == "Sample agent & <friends>"
    assert root.findtext("longdesc") == agent.longdesc
    nodes = root.findall("parameters/parameter")
    assert [n.get("name") for n in nodes] == [p.name for p in agent.params]
    for node, param in zip(nodes, agent.params):
        assert node.get("required") == ("1" if param.required else "0")
        assert node.get("unique") == ("1" if param.unique else "0")
        assert node.findtext("shortdesc") == param.shortdesc
        assert node.find("longdesc").get("lang") == "en"
        assert node.findtext("longdesc").startswith(param.longdesc or param.shortdesc)
        content = node.find("content")
        assert content.get("type") == param.type.content
        assert content.get("default") == param.default
    label = root.find("parameters/parameter[@name='label']")
    assert label.find("content").get("default") == "mail & <co> \"x\" 'y'"
    assert label.findtext("longdesc") == "A \"label\" with 'quotes' & <tags>."
    types = {n.get("name"): n.find("content").get("type") for n in nodes}
    assert (types["count"], types["enabled"], types["wait"], types["mode"]) == (
        "integer", "boolean", "time", "string")


def test_actions_are_advertised_with_their_timeouts(sample_agent):
    agent = sample_agent()
    agent.actions.append(Action("stop", 0.5))
    actions = parse(agent.metadata()).findall("actions/action")
    assert [(a.get("name"), a.get("timeout"), a.get("interval"), a.get("depth")) for a in actions] == [
        ("start", "20s", None, None), ("stop", "20s", None, None), ("monitor", "20s", "10s", "0"),
        ("validate-all", "5s", None, None), ("meta-data", "5s", None, None), ("stop", "500ms", None, None)]


def test_secret_parameters_say_so_in_their_longdesc(sample_agent):
    root = parse(sample_agent().metadata())
    for node in root.findall("parameters/parameter"):
        says = "secret" in node.findtext("longdesc") and "cibsecret" in node.findtext("longdesc")
        assert says == (node.get("name") == "password"), node.get("name")


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
def test_real_agents_mark_every_secret_in_the_metadata(agent_name):
    agent = importlib.import_module(f"mailha.agents.{agent_name}").AGENT
    root = parse(agent.metadata())
    for param in agent.params:
        longdesc = root.find(f"parameters/parameter[@name='{param.name}']").findtext("longdesc")
        assert ("cibsecret" in longdesc) == param.secret, param.name


def test_nasty_descriptions_and_defaults_are_escaped(relaxng):
    agent = Agent("nasty", NASTY, NASTY, [Param("p", Text(), NASTY, NASTY, default=NASTY),
                                          Param("s", Text(), NASTY, secret=True)],
                  [Action("start", 10), Action("meta-data", 5)])
    document = agent.metadata()
    root = parse(document)
    assert root.findtext("shortdesc") == NASTY and root.findtext("longdesc") == NASTY
    param = root.find("parameters/parameter[@name='p']")
    assert param.findtext("shortdesc") == NASTY and param.findtext("longdesc") == NASTY
    assert param.find("content").get("default") == NASTY
    assert root.find("parameters/parameter[@name='s']").findtext("longdesc").startswith(NASTY)
    assert xmllint_valid(document).returncode == 0
    assert relaxng.validate(root)


XML_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\ufffe\uffff",
                                 min_codepoint=0x20) | st.sampled_from("\t\n&<>\"'"), max_size=60)


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(short=XML_TEXT.filter(bool), long=XML_TEXT, default=st.none() | XML_TEXT,
       timeout=st.integers(1, 86400) | st.sampled_from([0.5, 1.25]))
def test_any_descriptions_round_trip_and_stay_valid(short, long, default, timeout):
    agent = Agent("fuzz", short, long, [Param("p", Text(), short, long, default=default),
                                        Param("q", Seconds(), short, long, default="5s", secret=True),
                                        Param("port", Port(), short, default="1")],
                  [Action("start", timeout), Action("monitor", 20, interval=timeout), Action("meta-data", 5)])
    document = agent.metadata()
    root = parse(document)
    assert root.findtext("shortdesc") == short
    assert (root.findtext("longdesc") or "") == long
    node = root.find("parameters/parameter[@name='p']")
    assert node.find("content").get("default") == default
    assert (node.findtext("longdesc") or "") == (long or short)
    done = xmllint_valid(document)
    assert done.returncode == 0, done.stderr


def test_meta_data_failure_is_an_exit_code_not_a_traceback(ocf_run):
    agent = Agent("bad", "control \x01 character", "x", [], [Action("meta-data", 5)])
    out = ocf_run(agent, ["bad", "meta-data"], {})
    assert out.rc == Rc.ERR_GENERIC
    assert len(out.exit_reasons) == 1
