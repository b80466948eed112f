"""The man pages the packages ship: ocf_mailha_NAME(7) from each agent's metadata, mailha(8)."""

import importlib
import os
import subprocess

import pytest

from mailha import cli
from mailha.tools import manpages
from testkit import CAPTURE_TEXT

OCF_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "ocf")
AGENTS = sorted(name for name in os.listdir(OCF_DIR) if not name.startswith("."))
HEADINGS = ("NAME", "SYNOPSIS", "DESCRIPTION", "SUPPORTED PARAMETERS", "SUPPORTED ACTIONS",
            "EXAMPLE CRM SHELL", "EXAMPLE PCS", "SEE ALSO")


def render(page: str, tmp_path) -> str:
    """The page as ``man`` shows it; fails on any groff or man warning."""
    path = tmp_path / "page.man"
    path.write_text(page)
    done = subprocess.run(["man", "--warnings", "-l", str(path)], **CAPTURE_TEXT,
                          env={"PATH": "/usr/bin:/bin", "MANWIDTH": "80", "LC_ALL": "C"}, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def agent(name: str):
    return importlib.import_module(f"mailha.agents.{name}").AGENT


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", AGENTS)
def test_agent_page_renders_without_warnings_and_has_every_parameter_and_action(name, tmp_path):
    declared = agent(name)
    text = render(manpages.agent_page(declared.metadata("1.1"), "mailha 9.9", "2026-01-02"), tmp_path)
    for heading in HEADINGS:
        assert f"\n{heading}\n" in text
    assert text.startswith(f"OCF_MAILHA_{name.upper()}(7)")
    assert f"ocf_mailha_{name} - " in text
    params = "\n" + text.split("\nSUPPORTED PARAMETERS\n")[1].split("\nSUPPORTED ACTIONS\n")[0]
    for param in declared.params:
        assert f"\n       {param.name}\n" in params, param.name
    actions = "\n" + text.split("\nSUPPORTED ACTIONS\n")[1].split("\nEXAMPLE CRM SHELL\n")[0]
    for action in [a.name for a in declared.actions] + ["reload-agent"] * bool(declared.reloadable_params()):
        assert f"\n       {action}\n" in actions, action
    assert f"primitive p_{name} ocf:mailha:{name}" in text
    assert f"pcs resource create p_{name} ocf:mailha:{name}" in text
    assert f"/usr/share/doc/mailha/agents/{name}.md" in one_line(text)


@pytest.mark.parametrize("name", AGENTS)
def test_examples_name_every_required_parameter(name, tmp_path):
    declared = agent(name)
    text = render(manpages.agent_page(declared.metadata("1.1"), "mailha 9.9", "2026-01-02"), tmp_path)
    crm = text.split("\nEXAMPLE CRM SHELL\n")[1].split("\nEXAMPLE PCS\n")[0]
    pcs = text.split("\nEXAMPLE PCS\n")[1].split("\nSEE ALSO\n")[0]
    for param in (p for p in declared.params if p.required):
        assert f"{param.name}=" in crm and f"{param.name}=" in pcs
    # crmsh takes no timeouts from the metadata: the example gives the advised ones
    for action in (a for a in declared.actions if a.name in ("start", "stop", "monitor")):
        assert f"op {action.name} timeout=" in crm


METADATA = """<?xml version="1.0"?>
<resource-agent name="toy" version="1.0">
  <version>1.1</version>
  <longdesc lang="en">.TH injected
'quoted first. A back\\slash, \\fBnot bold\\fR and -minus.

Second paragraph.</longdesc>
  <shortdesc lang="en">A toy - for tests</shortdesc>
  <parameters>
    <parameter name="host" required="1" unique-group="where">
      <longdesc lang="en">Host name.</longdesc><shortdesc lang="en">Host</shortdesc>
      <content type="string"/>
    </parameter>
    <parameter name="port" required="0" unique-group="where">
      <longdesc lang="en">Port.</longdesc><shortdesc lang="en">Port</shortdesc>
      <content type="integer" default="389"/>
    </parameter>
    <parameter name="mode" required="0" unique-group="mode" unique="1" reloadable="1">
      <longdesc lang="en">Mode.</longdesc><shortdesc lang="en">Mode</shortdesc>
      <content type="select" default="fast"><option value="fast"/><option value="slow"/></content>
    </parameter>
    <parameter name="old" required="0">
      <deprecated><replaced-with name="mode"/><desc lang="en">Deprecated: set mode instead.</desc></deprecated>
      <longdesc lang="en">Old.</longdesc><shortdesc lang="en">Old</shortdesc>
      <content type="string"/>
    </parameter>
  </parameters>
  <actions>
    <action name="start" timeout="60s"/>
    <action name="monitor" timeout="20s" interval="10s" depth="0"/>
    <action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
"""


def test_descriptions_are_text_never_troff_requests(tmp_path):
    text = render(manpages.agent_page(METADATA, "mailha 9.9", "2026-01-02", provider="test"), tmp_path)
    description = one_line(text.split("\nDESCRIPTION\n")[1].split("\nSUPPORTED PARAMETERS\n")[0])
    assert ".TH injected 'quoted first." in description
    assert "A back\\slash, \\fBnot bold\\fR and -minus." in description
    assert "Second paragraph." in description
    assert "ocf_test_toy - A toy - for tests" in text


def test_parameter_attributes_say_what_the_metadata_says(tmp_path):
    text = one_line(render(manpages.agent_page(METADATA, "mailha 9.9", "2026-01-02"), tmp_path))
    assert "Host name. (unique with the other parameters of group where, required, string, no default)" in text
    assert '(unique with the other parameters of group where, optional, integer, default "389")' in text
    assert '(unique, optional, one of: fast, slow, default "fast", reloadable)' in text
    assert "Old. Deprecated: set mode instead. (optional, string, no default, deprecated)" in text
    assert "Suggested minimum timeout: 20s. Suggested interval: 10s." in text
    assert 'pcs resource create p_toy ocf:mailha:toy \\ host="string" \\ op monitor' in text


def test_metadata_that_is_not_xml_is_refused():
    with pytest.raises(manpages.ManpageError):
        manpages.agent_page("<resource-agent", "mailha 9.9", "2026-01-02")
    with pytest.raises(manpages.ManpageError):
        manpages.agent_page("<other/>", "mailha 9.9", "2026-01-02")


def test_command_page_lists_every_command_and_what_needs_mailha_lab(tmp_path):
    text = render(manpages.command_page("mailha 9.9", "2026-01-02", AGENTS), tmp_path)
    assert text.startswith("MAILHA(8)")
    commands = text.split("\nCOMMANDS\n")[1].split("\nEXIT STATUS\n")[0]
    entries = {block.split()[0]: one_line(block) for block in commands.split("\n\n") if block.strip()}
    assert set(entries) == set(cli.COMMANDS) | {"version", "--help"}
    for name in cli.COMMANDS:
        assert ("(in the mailha-lab package)" in entries[name]) == cli.needs_lab(name)
    for name in AGENTS:
        assert f"ocf_mailha_{name}(7)" in text


def test_the_build_writes_a_page_per_agent_executable_and_mailha_8(tmp_path):
    executables = [os.path.join(OCF_DIR, name) for name in AGENTS]
    assert manpages.main(["--out", str(tmp_path), "--date", "2026-01-02", *executables]) == 0
    assert sorted(os.listdir(tmp_path)) == sorted([f"ocf_mailha_{n}.7" for n in AGENTS] + ["mailha.8"])
    for name in AGENTS:  # the page of the executable's own meta-data: what pcs describes
        page = (tmp_path / f"ocf_mailha_{name}.7").read_text(encoding="utf-8")
        assert page == manpages.agent_page(agent(name).metadata("1.1"), f"mailha {_version()}", "2026-01-02")


def test_the_build_fails_for_an_agent_whose_meta_data_fails(tmp_path):
    broken = tmp_path / "broken"
    broken.write_text("import sys\nsys.exit(1)\n")
    assert manpages.main(["--out", str(tmp_path / "out"), str(broken)]) == 1


def test_the_page_date_is_source_date_epoch():
    assert manpages.build_date({"SOURCE_DATE_EPOCH": "1767225600"}) == "2026-01-01"


def _version() -> str:
    from mailha import __version__

    return __version__
