"""The thin executables in ocf/: even without their library they answer in OCF terms."""

import os
import subprocess
import sys

import pytest
from testkit import CAPTURE_TEXT

from mailha import install

OCF = os.path.join(os.path.dirname(__file__), "..", "..", "ocf")
AGENTS = sorted(os.listdir(OCF))
MARK = "ocf-exit-reason:"


@pytest.mark.parametrize("agent", AGENTS)
def test_an_unloadable_library_is_not_installed_with_a_reason_and_no_traceback(agent, tmp_path):
    # The library's directory empty, as when an upgrade has half-replaced it.
    empty = tmp_path / "empty"
    empty.mkdir()
    (executable,) = install.install(str(tmp_path / "agents"), sys.executable, [str(empty)], [agent])
    done = subprocess.run([executable, "monitor"], **CAPTURE_TEXT, timeout=30, cwd=str(tmp_path))
    assert done.returncode == 5
    assert "Traceback" not in done.stderr
    reasons = [line[len(MARK):] for line in done.stderr.splitlines() if line.startswith(MARK)]
    assert len(reasons) == 1 and reasons[0].startswith("the mailha library cannot be loaded: reinstall")
    assert len(reasons[0].encode()) <= 128


@pytest.mark.parametrize("agent", AGENTS)
def test_the_executable_starts_the_system_python_without_site(agent):
    with open(os.path.join(OCF, agent), encoding="utf-8") as handle:
        assert handle.readline() == "#!/usr/bin/python3 -IS\n"
