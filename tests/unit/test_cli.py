"""The ``mailha`` command on a production node: the mailha package without mailha-lab."""

import importlib
import sys

import pytest

from mailha import cli


@pytest.fixture
def without_lab(monkeypatch):
    """Imports of the lab's modules fail as they do where mailha-lab is not installed."""
    for module in ("mailha.lab", "mailha.lab.cli", "mailha.sim", "mailha.sim.cli", "mailha.demo", "mailha.tools"):
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize("command", ["lab", "sim", "demo"])
def test_a_lab_command_without_mailha_lab_says_which_package_to_install(without_lab, command, capsys):
    assert cli.main([command, "status"]) == 2
    err = capsys.readouterr().err
    assert f"'{command}' needs the mailha-lab package" in err and "Traceback" not in err


def test_help_says_the_lab_commands_are_not_installed(without_lab, capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "demo, lab, sim: not installed here; they come with the mailha-lab package." in out


def test_help_with_mailha_lab_installed_says_nothing_about_it(monkeypatch, capsys):
    monkeypatch.setattr(cli, "lab_installed", lambda: True)
    assert cli.main(["--help"]) == 0
    assert "not installed" not in capsys.readouterr().out


def test_version_needs_no_lab(without_lab, capsys):
    from mailha import __version__

    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out == f"mailha {__version__}\n"


def test_a_dependency_missing_inside_the_lab_is_not_blamed_on_the_package(monkeypatch):
    def import_module(name):
        raise ModuleNotFoundError("No module named 'testinfra'", name="testinfra")

    monkeypatch.setattr(importlib, "import_module", import_module)
    with pytest.raises(ModuleNotFoundError, match="testinfra"):
        cli.main(["lab", "status"])

