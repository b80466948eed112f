"""The agents' executables for one way of installing (``mailha install-agents``)."""

import os
import pkgutil
import subprocess
import sys

import pytest

import mailha.agents
from mailha import install
from testkit import CAPTURE_TEXT

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_trees_agents_are_the_generated_ones_for_usr_bin_python3():
    """What the .deb and the .rpm install (ocf/NAME) is what install-agents writes for them."""
    modules = {m.name for m in pkgutil.iter_modules(mailha.agents.__path__) if not m.name.startswith("_")}
    assert sorted(os.listdir(os.path.join(TOP, "ocf"))) == sorted(install.AGENTS) == sorted(modules)
    for name in install.AGENTS:
        with open(os.path.join(TOP, "ocf", name), encoding="utf-8") as handle:
            assert handle.read() == install.script(name, "/usr/bin/python3"), f"ocf/{name}: regenerate it"


def test_installed_agents_run_on_the_interpreter_that_installed_them(tmp_path):
    written = install.install(str(tmp_path / "agents"), sys.executable)
    assert [os.path.basename(p) for p in written] == sorted(install.AGENTS)
    for path in written:
        assert os.stat(path).st_mode & 0o777 == 0o755
        with open(path, encoding="utf-8") as handle:
            assert handle.readline() == f"#!{sys.executable}\n"
        done = subprocess.run([path, "meta-data"], **CAPTURE_TEXT, timeout=60, env={"PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
        assert f'<resource-agent name="{os.path.basename(path)}"' in done.stdout
    assert not [n for n in os.listdir(str(tmp_path / "agents")) if n.endswith(".new")]


def test_reinstalling_replaces_the_agents_whole(tmp_path):
    directory = str(tmp_path)
    (tmp_path / "ldap").write_text("#!/bin/sh\nexit 1\n")
    install.install(directory, "/opt/py/bin/python3", ["ldap"])
    assert (tmp_path / "ldap").read_text() == install.script("ldap", "/opt/py/bin/python3")
    assert sorted(os.listdir(directory)) == ["ldap"]


@pytest.mark.parametrize("python", ["python3", "/opt/my python/bin/python3", "/usr/bin/python3 -I"])
def test_an_interpreter_the_kernel_would_misread_is_refused(python):
    with pytest.raises(ValueError, match="absolute path without blanks"):
        install.script("ldap", python)


def test_the_command_writes_and_names_what_it_wrote(tmp_path, capsys):
    assert install.main(["--dir", str(tmp_path), "--python", "/usr/bin/python3", "gwpoa"]) == 0
    assert capsys.readouterr().out == f"{tmp_path}/gwpoa\n"
    with pytest.raises(SystemExit) as caught:
        install.main(["--dir", str(tmp_path), "nosuch"])
    assert caught.value.code == 2 and "no such agent: nosuch" in capsys.readouterr().err
    assert install.main(["--dir", str(tmp_path), "--python", "relative/python"]) == 1
    assert "absolute path without blanks" in capsys.readouterr().err
