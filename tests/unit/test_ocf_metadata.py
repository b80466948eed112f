"""Metadata XML in both dialects, escaped and faithful.

OCF 1.0 (no version variables: ocf-tester) must pass resource-agents' ra-api-1.dtd and pcs's
ocf-1.0.rng; OCF 1.1 (``OCF_RA_VERSION_MINOR=1``: Pacemaker 2.1, crm_resource, pcs, crmsh) pcs's
ocf-1.1.rng, with reloadable, unique-group, deprecated and select.
"""

import importlib
import pkgutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import mailha.agents
from mailha.ocf import metadata
from mailha.ocf.agent import Action, Agent
from mailha.ocf.codes import Rc
from mailha.ocf.params import Choice, Integer, Param, Port, Seconds, Text
from testkit import CAPTURE_TEXT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, List

RA_DTD_DIR = "/usr/share/resource-agents"
RA_DTD = f"{RA_DTD_DIR}/ra-api-1.dtd"
PCS_RNG = "/usr/share/pcs/data/ocf-1.0.rng"
PCS_RNG_1_1 = "/usr/share/pcs/data/ocf-1.1.rng"
#: The content types the OCF 1.1 spec's ra-api.rng allows (pcs's schema is laxer: it takes "time").
SPEC_TYPES_1_1 = {"boolean", "string", "integer", "select"}
SPEC_TYPES_1_0 = {"string", "integer", "boolean", "time"}  # the DTD's
REAL_AGENTS = sorted(m.name for m in pkgutil.iter_modules(mailha.agents.__path__)
                     if not m.name.startswith("_"))
NASTY = "a & b < c > d \" e ' f &amp; ]]> <!-- x --> <![CDATA[y]]> $(id) \t ü 日本"


def xmllint_valid(document: str) -> subprocess.CompletedProcess:
    """What ocf-tester runs:
    ``agent meta-data | (cd $DATADIR/resource-agents && xmllint --noout --valid -)``."""
    return subprocess.run(["xmllint", "--noout", "--valid", "-"], input=document, cwd=RA_DTD_DIR,
                          **CAPTURE_TEXT, timeout=60)


@pytest.fixture(scope="module")
def relaxng() -> "etree.RelaxNG":
    return etree.RelaxNG(etree.parse(PCS_RNG))


@pytest.fixture(scope="module")
def relaxng_1_1() -> "etree.RelaxNG":
    return etree.RelaxNG(etree.parse(PCS_RNG_1_1))


@pytest.fixture(scope="module")
def dtd() -> "etree.DTD":
    return etree.DTD(RA_DTD)


def parse(document: str) -> "etree._Element":
    assert document.startswith('<?xml version="1.0"?>\n<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">\n')
    return etree.fromstring(document.encode())


def parse_1_1(document: str) -> "etree._Element":
    # No DOCTYPE: the document does not follow ra-api-1.dtd, and no encoding= (crmsh).
    assert document.startswith('<?xml version="1.0"?>\n<resource-agent ')
    root = etree.fromstring(document.encode())
    assert root.findtext("version") == "1.1"
    return root


def agents_to_check(sample_agent) -> "List[Agent]":
    return [sample_agent()] + [importlib.import_module(f"mailha.agents.{n}").AGENT for n in REAL_AGENTS]


def real(name: str) -> "Agent":
    return importlib.import_module(f"mailha.agents.{name}").AGENT


def ocf_1_1_agent() -> "Agent":
    """Every OCF 1.1 feature once: reloadable, a unique group of two, a lone unique, a renamed
    parameter, a choice, a duration, a secret."""
    agent = Agent("eleven", "OCF 1.1 agent", "Uses every OCF 1.1 feature.", [
        Param("home", Text(), "Home", "The instance's home.", required=True, unique=True),
        Param("host", Text(), "Host", "Listens here", unique_group="endpoint"),
        Param("port", Port(), "Port", unique_group="endpoint", default="389"),
        Param("every", Integer(0, 9), "Cadence", "Deep check every Nth monitor.", default="1",
              reloadable=True),
        Param("level", Choice("error", "info", "debug"), "Log level", default="info", reloadable=True),
        Param("old_every", Integer(0, 9), "Cadence (old name)", "The cadence, as it was called",
              replaced_with="every"),
        Param("legacy", Text(), "Unused", deprecated=True),
        Param("wait", Seconds(), "Wait", default="30s"),
        Param("password", Text(), "Password", "The password (it is long).", secret=True),
    ], [Action("start", 20), Action("stop", 20), Action("monitor", 20, interval=10, depth=0),
        Action("validate-all", 7), Action("meta-data", 5)])
    for action in ("start", "stop", "monitor"):
        agent.handler(action)(lambda ctx: None)
    return agent


def test_metadata_of_every_agent_passes_the_ocf_tester_dtd(sample_agent):
    for agent in agents_to_check(sample_agent):
        done = xmllint_valid(agent.metadata())
        assert done.returncode == 0 and done.stderr == "", (agent.name, done.stderr)


def test_metadata_of_every_agent_passes_the_pcs_schema(sample_agent, relaxng):
    for agent in agents_to_check(sample_agent):
        assert relaxng.validate(parse(agent.metadata())), (agent.name, relaxng.error_log)


# --- which dialect ------------------------------------------------------------------------------


@pytest.mark.parametrize("environ, version", [
    ({}, "1.0"),  # ocf-tester, a hand run
    ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "0"}, "1.0"),  # Pacemaker 2.0
    ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}, "1.1"),  # Pacemaker 2.1, crm_resource
    ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "2"}, "1.1"),  # newer: the newest we know
    ({"OCF_RA_VERSION_MAJOR": "2"}, "1.1"),
    ({"OCF_RA_VERSION_MAJOR": "1"}, "1.0"),
    ({"OCF_RA_VERSION_MAJOR": "one", "OCF_RA_VERSION_MINOR": "1"}, "1.0"),
    ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "x"}, "1.0"),
])
def test_the_callers_version_picks_the_dialect(environ, version):
    assert metadata.version_for(environ) == version


def test_meta_data_answers_in_the_version_the_caller_speaks(ocf_run):
    agent = ocf_1_1_agent()
    pacemaker = ocf_run(agent, ["eleven", "meta-data"],
                        {"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"})
    assert pacemaker.rc == Rc.SUCCESS and pacemaker.stdout == agent.metadata("1.1")
    assert parse_1_1(pacemaker.stdout) is not None
    tester = ocf_run(agent, ["eleven", "meta-data"], {})
    assert tester.rc == Rc.SUCCESS and tester.stdout == agent.metadata()
    assert parse(tester.stdout).findtext("version") == "1.0"


# --- both dialects, every agent, against the schemas --------------------------------------------


def test_every_agent_in_1_0_is_valid_for_the_dtd_and_pcs(sample_agent, dtd, relaxng):
    for agent in agents_to_check(sample_agent) + [ocf_1_1_agent()]:
        root = parse(agent.metadata("1.0"))
        assert dtd.validate(root), (agent.name, dtd.error_log.filter_from_errors())
        assert relaxng.validate(root), (agent.name, relaxng.error_log)
        done = xmllint_valid(agent.metadata("1.0"))
        assert done.returncode == 0 and done.stderr == "", (agent.name, done.stderr)


def test_every_agent_in_1_1_is_valid_for_pcs_and_uses_only_the_spec_types(sample_agent, relaxng_1_1):
    for agent in agents_to_check(sample_agent) + [ocf_1_1_agent()]:
        root = parse_1_1(agent.metadata("1.1"))
        assert relaxng_1_1.validate(root), (agent.name, relaxng_1_1.error_log)
        assert {c.get("type") for c in root.iter("content")} <= SPEC_TYPES_1_1, agent.name
        for content in root.iter("content"):
            # The spec's schema wants at least one option in a select.
            assert (content.get("type") == "select") == (len(content.findall("option")) > 0)


def test_1_1_is_what_the_dtd_rejects_so_1_0_callers_never_get_it(dtd, relaxng):
    """The two dialects are needed: the DTD refuses 1.1's reloadable, select and reload-agent."""
    root = etree.fromstring(real("gwia").metadata("1.1").encode())
    assert not dtd.validate(root)
    problems = str(dtd.error_log)
    assert "reloadable" in problems and "select" in problems and "reload-agent" in problems
    assert {c.get("type") for c in parse(real("gwia").metadata()).iter("content")} <= SPEC_TYPES_1_0


# --- what 1.1 says and 1.0 does not -------------------------------------------------------------


def params_of(root: "etree._Element") -> "Dict[str, etree._Element]":
    return {n.get("name"): n for n in root.findall("parameters/parameter")}


def test_reloadable_parameters_and_the_reload_agent_action_are_1_1_only():
    agent = ocf_1_1_agent()
    eleven = parse_1_1(agent.metadata("1.1"))
    reloadable = {name for name, node in params_of(eleven).items() if node.get("reloadable") == "1"}
    assert reloadable == {"every", "level"} == set(agent.reloadable_params())
    assert all(node.get("reloadable") is None
               for name, node in params_of(eleven).items() if name not in reloadable)
    reload = eleven.findall("actions/action[@name='reload-agent']")
    # One, with validate-all's timeout: the framework's reload-agent validates and returns.
    assert [(a.get("timeout"), a.get("interval")) for a in reload] == [("7s", None)]
    ten = parse(agent.metadata("1.0"))
    assert ten.find("actions/action[@name='reload-agent']") is None
    assert all(node.get("reloadable") is None for node in ten.iter("parameter"))


def test_an_agent_without_reloadable_parameters_advertises_no_reload(sample_agent):
    agent = sample_agent()
    agent.actions.append(Action("reload-agent", 5))  # declared, but there is nothing to reload
    root = parse_1_1(agent.metadata("1.1"))
    assert agent.reloadable_params() == []
    assert root.find("actions/action[@name='reload-agent']") is None
    assert all(node.get("reloadable") is None for node in root.iter("parameter"))


def test_a_declared_reload_agent_action_keeps_its_timeout():
    agent = ocf_1_1_agent()
    agent.actions.append(Action("reload-agent", 42))
    reload = parse_1_1(agent.metadata("1.1")).findall("actions/action[@name='reload-agent']")
    assert [a.get("timeout") for a in reload] == ["42s"]


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
def test_real_agents_reload_only_what_the_monitor_and_the_log_read(agent_name):
    """second_level_monitor, monitor_program and log_level are read afresh by every action, so
    changing them needs no restart; every other parameter restarts the resource."""
    root = parse_1_1(real(agent_name).metadata("1.1"))
    reloadable = {name for name, node in params_of(root).items() if node.get("reloadable") == "1"}
    assert reloadable == {"second_level_monitor", "monitor_program", "monitor_program_params", "log_level"}
    assert len(root.findall("actions/action[@name='reload-agent']")) == 1


def test_unique_becomes_a_unique_group_honestly():
    agent = ocf_1_1_agent()
    eleven = params_of(parse_1_1(agent.metadata("1.1")))
    # Alone unique: a group of its own, and the deprecated spelling for older tools.
    assert (eleven["home"].get("unique-group"), eleven["home"].get("unique")) == ("home", "1")
    # Unique together: the shared group, and no unique="1" (neither is unique alone).
    assert [(eleven[n].get("unique-group"), eleven[n].get("unique")) for n in ("host", "port")] == [
        ("endpoint", None), ("endpoint", None)]
    assert eleven["every"].get("unique-group") is None and eleven["every"].get("unique") is None
    # OCF 1.0 can only say "alone": a member of a group is not unique by itself.
    ten = params_of(parse(agent.metadata("1.0")))
    assert [ten[n].get("unique") for n in ("home", "host", "port", "every")] == ["1", "0", "0", "0"]


def test_renamed_and_deprecated_parameters_say_so_in_both_dialects():
    agent = ocf_1_1_agent()
    eleven = params_of(parse_1_1(agent.metadata("1.1")))
    old = eleven["old_every"]
    assert old[0].tag == "deprecated"  # the spec's schema wants it before the descriptions
    assert [r.get("name") for r in old.findall("deprecated/replaced-with")] == ["every"]
    assert old.find("deprecated/desc").get("lang") == "en"
    assert old.findtext("deprecated/desc") == "Deprecated: set every instead."
    assert eleven["legacy"].findtext("deprecated/desc") == "Deprecated: kept for old configurations only."
    assert eleven["legacy"].find("deprecated/replaced-with") is None
    assert all(eleven[n].find("deprecated") is None for n in ("home", "every"))
    assert eleven["old_every"].findtext("longdesc") == "The cadence, as it was called"  # as declared
    ten = params_of(parse(agent.metadata("1.0")))
    assert ten["old_every"].findtext("longdesc") == (
        "The cadence, as it was called. Deprecated: set every instead.")
    assert ten["legacy"].findtext("longdesc").endswith("Deprecated: kept for old configurations only.")
    assert ten["old_every"].find("deprecated") is None


def test_choices_are_a_select_in_1_1_and_a_string_in_1_0():
    agent = ocf_1_1_agent()
    content = params_of(parse_1_1(agent.metadata("1.1")))["level"].find("content")
    assert (content.get("type"), content.get("default")) == ("select", "info")
    assert [o.get("value") for o in content.findall("option")] == ["error", "info", "debug"]
    ten = params_of(parse(agent.metadata("1.0")))["level"].find("content")
    assert (ten.get("type"), ten.get("default"), ten.findall("option")) == ("string", "info", [])


def test_a_duration_is_a_string_in_1_1_which_has_no_time_type():
    agent = ocf_1_1_agent()
    assert params_of(parse_1_1(agent.metadata("1.1")))["wait"].find("content").get("type") == "string"
    assert params_of(parse(agent.metadata("1.0")))["wait"].find("content").get("type") == "time"


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
def test_real_agents_offer_their_choices_in_1_1(agent_name):
    agent = real(agent_name)
    nodes = params_of(parse_1_1(agent.metadata("1.1")))
    for param in agent.params:
        options = [o.get("value") for o in nodes[param.name].findall("content/option")]
        assert options == list(getattr(param.type, "values", ())), param.name


# --- declarations the metadata could not express ---------------------------------------------


def test_declaration_errors_catch_ocf_1_1_mistakes():
    assert Param("p", Text(), "P", unique=True, unique_group="g").declaration_errors() == [
        "p: unique and unique_group exclude each other (unique is a group of one)"]
    assert Param("p", Text(), "P", unique_group="Bad Group").declaration_errors() == [
        "p: unique_group 'Bad Group' must be lower_snake_case"]
    assert Param("p", Text(), "P", required=True, replaced_with="q").declaration_errors() == [
        "p: a deprecated parameter cannot be required"]
    agent = Agent("x", "x", "x", [Param("old", Text(), "Old", replaced_with="new")],
                  [Action("reload-agent", 5), Action("meta-data", 5)])
    assert set(agent.declaration_errors()) == {
        "old: replaced_with names new, which is not declared",
        "reload-agent is declared but no parameter is reloadable",
        "action reload-agent is advertised but has no handler"}
    assert ocf_1_1_agent().declaration_errors() == []


def test_the_metadata_module_is_loaded_for_meta_data_only():
    """A monitor every few seconds must not pay for lxml or the metadata code."""
    code = ("import sys\n"
            "from mailha.agents.gwia import AGENT\n"
            "env = {'OCF_RESOURCE_INSTANCE': 'gw', 'OCF_RESKEY_domain_dir': '/nonexistent/dom',\n"
            "       'OCF_RESKEY_CRM_meta_interval': '0', 'HA_RSCTMP': sys.argv[2]}\n"
            "rc = AGENT.run(['gwia', sys.argv[1]], env)\n"
            "print(rc, 'mailha.ocf.metadata' in sys.modules, 'lxml' in sys.modules)\n")
    import tempfile

    with tempfile.TemporaryDirectory() as rsctmp:
        loaded = {}
        for action in ("monitor", "reload-agent", "meta-data"):
            done = subprocess.run([sys.executable, "-c", code, action, rsctmp], **CAPTURE_TEXT, timeout=60)
            assert done.returncode == 0, done.stderr
            loaded[action] = done.stdout.split()[-3:]
    assert loaded["monitor"] == [str(int(Rc.NOT_RUNNING)), "False", "False"]
    assert loaded["reload-agent"] == ["0", "False", "False"]
    assert loaded["meta-data"][1:] == ["True", "True"]  # the check can fail: meta-data does load them


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


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_the_secret_note_is_a_sentence_of_its_own(sample_agent, version):
    """ "Password of bind_dn This value is a secret" read as one broken sentence."""
    note = metadata.SECRET_NOTE
    assert note.startswith("This value is a secret")
    agent = Agent("s", "s", "s", [
        Param("a", Text(), "Password of bind_dn", secret=True),                       # shortdesc only
        Param("b", Text(), "B", "Password of the admin.", secret=True),                 # already ends one
        Param("c", Text(), "C", "Ask the admin (or 'root')  ", secret=True),            # closer, spaces
        Param("d", Text(), "D", 'It says "done!"', secret=True),                        # ends inside quotes
    ], [Action("meta-data", 5)])
    document = agent.metadata(version)
    nodes = params_of(etree.fromstring(document.encode()))
    assert nodes["a"].findtext("longdesc") == f"Password of bind_dn. {note}"
    assert nodes["b"].findtext("longdesc") == f"Password of the admin. {note}"
    assert nodes["c"].findtext("longdesc") == f"Ask the admin (or 'root'). {note}"
    assert nodes["d"].findtext("longdesc") == f'It says "done!" {note}'
    password = params_of(etree.fromstring(sample_agent().metadata(version).encode()))["password"]
    assert password.findtext("longdesc") == f"Password. {note}"


@pytest.mark.parametrize("version", ["1.0", "1.1"])
@pytest.mark.parametrize("agent_name", REAL_AGENTS)
def test_real_agents_mark_every_secret_in_the_metadata(agent_name, version):
    agent = real(agent_name)
    nodes = params_of(etree.fromstring(agent.metadata(version).encode()))
    for param in agent.params:
        longdesc = nodes[param.name].findtext("longdesc")
        assert ("cibsecret" in longdesc) == param.secret, param.name
        if param.secret:
            before, _, _ = longdesc.partition(" This value is a secret")
            assert before.endswith((".", "!", "?")) and not before.endswith(".."), (param.name, longdesc)


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
       timeout=st.integers(1, 86400) | st.sampled_from([0.5, 1.25]), version=st.sampled_from(["1.0", "1.1"]),
       group=st.none() | st.sampled_from(["g", "other_group"]), reloadable=st.booleans())
def test_any_descriptions_round_trip_and_stay_valid(short, long, default, timeout, version, group,
                                                    reloadable):
    agent = Agent("fuzz", short, long, [Param("p", Text(), short, long, default=default, unique_group=group,
                                              reloadable=reloadable),
                                        Param("q", Seconds(), short, long, default="5s", secret=True),
                                        Param("c", Choice(short, "x"), short, long, replaced_with="p"),
                                        Param("port", Port(), short, default="1", unique_group=group)],
                  [Action("start", timeout), Action("monitor", 20, interval=timeout), Action("meta-data", 5)])
    document = agent.metadata(version)
    root = parse(document) if version == "1.0" else parse_1_1(document)
    assert root.findtext("shortdesc") == short
    assert (root.findtext("longdesc") or "") == long
    node = root.find("parameters/parameter[@name='p']")
    assert node.find("content").get("default") == default
    assert (node.findtext("longdesc") or "") == (long or short)
    if version == "1.0":
        done = xmllint_valid(document)
        assert done.returncode == 0, done.stderr
    else:
        assert _RNG_1_1.validate(root), _RNG_1_1.error_log
        options = root.findall("parameters/parameter[@name='c']/content/option")
        assert [o.get("value") for o in options] == [short, "x"]
        assert node.get("unique-group") == group and (node.get("reloadable") == "1") == reloadable


_RNG_1_1 = etree.RelaxNG(etree.parse(PCS_RNG_1_1))  # module level: hypothesis refuses function fixtures


def test_meta_data_failure_is_an_exit_code_not_a_traceback(ocf_run):
    agent = Agent("bad", "control \x01 character", "x", [], [Action("meta-data", 5)])
    out = ocf_run(agent, ["bad", "meta-data"], {})
    assert out.rc == Rc.ERR_GENERIC
    assert len(out.exit_reasons) == 1
