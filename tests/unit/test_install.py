"""The agents' executables for one way of installing (``mailha install-agents``)."""

import os
import pkgutil
import subprocess
import sys

import pytest

import mailha
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
            expected = install.script(name, "/usr/bin/python3", install.DEBIAN_PATHS)
            assert handle.read() == expected, f"ocf/{name}: regenerate it"


def test_installed_agents_run_on_the_interpreter_that_installed_them(tmp_path):
    written = install.install(str(tmp_path / "agents"), sys.executable)
    assert [os.path.basename(p) for p in written] == sorted(install.AGENTS)
    for path in written:
        assert os.stat(path).st_mode & 0o777 == 0o755
        with open(path, encoding="utf-8") as handle:
            assert handle.readline() == f"#!{sys.executable} -IS\n"
        # No PYTHONPATH can help (-I): the directories written into the file must be right.
        done = subprocess.run([path, "meta-data"], **CAPTURE_TEXT, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "/nonexistent"})
        assert done.returncode == 0, done.stderr
        assert f'<resource-agent name="{os.path.basename(path)}"' in done.stdout
    assert not [n for n in os.listdir(str(tmp_path / "agents")) if n.endswith(".new")]


def test_reinstalling_replaces_the_agents_whole(tmp_path):
    directory = str(tmp_path)
    (tmp_path / "ldap").write_text("#!/bin/sh\nexit 1\n")
    install.install(directory, "/opt/py/bin/python3", ["/opt/py/lib"], ["ldap"])
    assert (tmp_path / "ldap").read_text(encoding="utf-8") == install.script("ldap", "/opt/py/bin/python3", ["/opt/py/lib"])
    assert sorted(os.listdir(directory)) == ["ldap"]


@pytest.mark.parametrize("python", ["python3", "/opt/my python/bin/python3", "/usr/bin/python3 -I"])
def test_an_interpreter_the_kernel_would_misread_is_refused(python):
    with pytest.raises(ValueError, match="absolute path without blanks"):
        install.script("ldap", python, install.DEBIAN_PATHS)


@pytest.mark.parametrize("paths", [[], ["lib"], ["/usr/lib/python3/dist-packages", "./lib"]])
def test_the_library_directories_must_be_absolute(paths):
    with pytest.raises(ValueError, match="must be absolute paths"):
        install.script("ldap", "/usr/bin/python3", paths)


def test_the_library_directories_are_where_the_interpreter_finds_the_modules():
    import importlib.util

    found = install.library_paths(sys.executable)
    assert len(set(found)) == len(found) and all(os.path.isabs(p) for p in found)
    for name in install.MODULES:
        origin = importlib.util.find_spec(name).origin
        assert any(origin.startswith(place + os.sep) for place in found), (name, origin, found)


def test_an_interpreter_lacking_a_module_is_refused_at_install_time(tmp_path):
    bare = tmp_path / "python-without-site"  # finds the standard library only
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S \"$@\"\n")
    bare.chmod(0o755)
    with pytest.raises(ValueError, match="cannot load what the agents need: no module mailha"):
        install.install(str(tmp_path / "agents"), str(bare), names=["ldap"])
    assert not (tmp_path / "agents").exists()
    with pytest.raises(ValueError, match="cannot run"):
        install.library_paths(str(tmp_path / "no-such-python"))


def test_the_command_writes_and_names_what_it_wrote(tmp_path, capsys):
    assert install.main(["--dir", str(tmp_path), "--python", "/usr/bin/python3", "--path", "/x", "gwpoa"]) == 0
    assert '"/x"' in (tmp_path / "gwpoa").read_text(encoding="utf-8")
    assert capsys.readouterr().out == f"{tmp_path}/gwpoa\n"
    with pytest.raises(SystemExit) as caught:
        install.main(["--dir", str(tmp_path), "nosuch"])
    assert caught.value.code == 2 and "no such agent: nosuch" in capsys.readouterr().err
    assert install.main(["--dir", str(tmp_path), "--python", "relative/python"]) == 1
    assert "absolute path without blanks" in capsys.readouterr().err
