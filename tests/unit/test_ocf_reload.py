"""reload-agent (OCF 1.1): what the framework does when reloadable parameters change.

Pacemaker 2.1 restarts a resource for a change of any parameter its metadata does not mark
reloadable, and runs ``reload-agent`` for the others.  The monitor's cadence and program and the
log level are read afresh by every action, so the framework's own reload-agent only validates.
"""

import importlib
import os
import pkgutil

import pytest

import mailha.agents
from mailha import monitor
from mailha.ocf.agent import Action, Agent
from mailha.ocf.codes import Misconfigured, NotInstalled, Rc
from mailha.ocf.log import level_param
from mailha.ocf.params import Integer, Param, Port, Text

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List

REAL_AGENTS = sorted(m.name for m in pkgutil.iter_modules(mailha.agents.__path__)
                     if not m.name.startswith("_"))


def reloading_agent(calls: "List[str]") -> "Agent":
    """An agent with one reloadable parameter, a cross-parameter check and a check of this node."""
    agent = Agent("rl", "Reloading agent", "Has a reloadable cadence.", [
        Param("home", Text(), "Home", required=True, unique=True),
        Param("port", Port(), "Port", default="389"),
        Param("ssl_port", Port(allow_zero=True), "SSL port", default="0"),
        Param("every", Integer(0, 1000), "Cadence", default="1", reloadable=True),
        Param("password", Text(), "Password", secret=True),
    ], [Action("start", 20), Action("stop", 20), Action("monitor", 20, interval=10),
        Action("validate-all", 9), Action("meta-data", 5)])

    @agent.check
    def ports_differ(p) -> None:
        if p.ssl_port and p.ssl_port == p.port:
            raise Misconfigured("'ssl_port' and 'port' are the same: give them different values")

    @agent.local_check
    def home_here(p) -> None:
        if not os.path.isdir(p.home):
            raise NotInstalled(f"{p.home} does not exist on this node")

    for action in ("start", "stop", "monitor"):
        agent.handler(action)(lambda ctx, action=action: calls.append(action))
    return agent


@pytest.fixture
def env(tmp_path):
    return {"OCF_RESOURCE_INSTANCE": "rsc", "HA_RSCTMP": str(tmp_path / "rsctmp"),
            "OCF_RESKEY_CRM_meta_timeout": "20000", "OCF_RESKEY_home": str(tmp_path), "OCF_RESKEY_every": "3"}


def test_the_default_reload_agent_succeeds_and_touches_no_service(ocf_run, env):
    calls: List[str] = []
    out = ocf_run(reloading_agent(calls), ["rl", "reload-agent"], env)
    assert (out.rc, out.exit_reasons, calls) == (Rc.SUCCESS, [], [])
    assert "reload-agent: every apply from the next action on" in out.stderr


def test_reload_agent_skips_the_checks_of_this_node(ocf_run, env, tmp_path):
    """Storage or binaries missing here are start's business: no failover for a new cadence."""
    env["OCF_RESKEY_home"] = str(tmp_path / "not-mounted")
    agent = reloading_agent([])
    assert ocf_run(agent, ["rl", "validate-all"], env).rc == Rc.ERR_INSTALLED
    assert ocf_run(agent, ["rl", "reload-agent"], env).rc == Rc.SUCCESS


def test_reload_agent_refuses_a_bad_value_as_validate_all_would(ocf_run, env):
    env["OCF_RESKEY_every"] = "often"
    out = ocf_run(reloading_agent([]), ["rl", "reload-agent"], env)
    assert out.rc == Rc.ERR_CONFIGURED
    assert out.exit_reasons == ["parameter 'every' 'often' is not a whole number: set it to a whole number "
                                "from 0 to 1000"]


def test_reload_agent_runs_the_cross_parameter_checks(ocf_run, env):
    out = ocf_run(reloading_agent([]), ["rl", "reload-agent"], {**env, "OCF_RESKEY_ssl_port": "389"})
    assert out.rc == Rc.ERR_CONFIGURED
    assert out.exit_reasons == ["'ssl_port' and 'port' are the same: give them different values"]


def test_reload_agent_warns_about_a_misspelt_parameter(ocf_run, env):
    """A name the metadata does not know is no restart parameter either: Pacemaker reloads."""
    out = ocf_run(reloading_agent([]), ["rl", "reload-agent"], {**env, "OCF_RESKEY_evry": "5"})
    assert out.rc == Rc.SUCCESS
    assert "unknown parameter 'evry' is ignored: is it misspelt?" in out.stderr


def test_reload_agent_never_logs_a_secret(ocf_run, env):
    out = ocf_run(reloading_agent([]), ["rl", "reload-agent"], {**env, "OCF_RESKEY_password": "Sw0rdf1sh!"})
    assert out.rc == Rc.SUCCESS and "Sw0rdf1sh!" not in out.text


def test_an_agent_may_do_its_own_reload(ocf_run, env):
    agent = reloading_agent([])
    seen = []

    @agent.handler("reload-agent")
    def reload(ctx) -> int:
        seen.append(ctx.params.every)
        return Rc.ERR_GENERIC

    assert ocf_run(agent, ["rl", "reload-agent"], env).rc == Rc.ERR_GENERIC
    assert seen == [3]


def test_without_reloadable_parameters_reload_agent_is_unimplemented(sample_agent, ocf_run, env):
    agent = sample_agent()
    assert agent.reloadable_params() == [] and agent.reload_action() is None
    out = ocf_run(agent, ["sample", "reload-agent"], {**env, "OCF_RESKEY_name": "x"})
    assert out.rc == Rc.ERR_UNIMPLEMENTED
    assert "reload-agent" not in agent.usage()


def test_usage_and_timeout_of_the_implied_reload_agent():
    agent = reloading_agent([])
    assert "reload-agent" in agent.usage()
    assert agent.reload_action().timeout == agent.action_timeout("reload-agent") == 9  # validate-all's
    assert agent.declaration_errors() == []


def test_the_shared_declarations_are_reloadable():
    """The monitor reads these on every monitor and the logger on every action: no restart."""
    assert monitor.cadence_param("x").reloadable
    assert monitor.PROGRAM_PARAM.reloadable
    assert level_param().reloadable


@pytest.mark.parametrize("agent_name", REAL_AGENTS)
def test_real_agents_reload_without_their_storage(agent_name, ocf_run, tmp_path):
    """The real agents' reload-agent is the framework's: on a node where nothing is installed
    or mounted it still succeeds, while validate-all reports what is missing."""
    agent = importlib.import_module(f"mailha.agents.{agent_name}").AGENT
    assert "reload-agent" not in agent.handlers
    required = {"gwia": {"OCF_RESKEY_domain_dir": "/nonexistent/gw/dom"},
                "gwpoa": {"OCF_RESKEY_post_office_dir": "/nonexistent/po1"},
                "ldap": {"OCF_RESKEY_instance": "nonexistent"},
                "msgsrv": {"OCF_RESKEY_server_root": "/nonexistent/SUNWmsgsr", "OCF_RESKEY_services": "core=49994",
                           "OCF_RESKEY_user": "root", "OCF_RESKEY_group": "root"},
                "adminsrv": {"OCF_RESKEY_server_root": "/nonexistent/serverroot"}}[agent_name]
    env = {"OCF_RESOURCE_INSTANCE": "rsc", "HA_RSCTMP": str(tmp_path), "OCF_RESKEY_second_level_monitor": "3",
           **required}
    assert ocf_run(agent, [agent_name, "reload-agent"], env).rc == Rc.SUCCESS
    assert ocf_run(agent, [agent_name, "validate-all"], env).rc == Rc.ERR_INSTALLED
    bad = ocf_run(agent, [agent_name, "reload-agent"], {**env, "OCF_RESKEY_second_level_monitor": "-1"})
    assert bad.rc == Rc.ERR_CONFIGURED and "second_level_monitor" in bad.exit_reasons[0]
