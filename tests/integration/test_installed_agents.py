"""Every installed agent, as the cluster tools see it: pcs, crmsh, the DTD, a plain user."""

from __future__ import annotations

import os
import subprocess

import pytest

PROVIDER_DIR = "/usr/lib/ocf/resource.d/mailha"

OCF_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "ocf")
AGENTS = sorted(name for name in os.listdir(OCF_DIR) if not name.startswith("."))


def test_every_agent_of_the_tree_is_installed():
    assert AGENTS, "no agent in ocf/"
    for name in AGENTS:
        assert os.access(os.path.join(PROVIDER_DIR, name), os.X_OK), f"{name}: run ./run tests"


@pytest.mark.parametrize("name", AGENTS)
def test_pcs_describes_the_agent_without_force(name):
    done = subprocess.run(["pcs", "resource", "describe", f"ocf:mailha:{name}"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--force" not in done.stderr and "Error" not in done.stderr
    assert "Resource options:" in done.stdout


@pytest.mark.parametrize("name", AGENTS)
def test_crmsh_reads_the_agent(name):
    done = subprocess.run(["crm", "ra", "info", f"ocf:mailha:{name}"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"(ocf:mailha:{name})" in done.stdout


@pytest.mark.parametrize("name", AGENTS)
def test_meta_data_as_nobody_without_ocf_root_validates_against_the_dtd(name):
    # ocf-tester's own first check: meta-data must work for an unprivileged user.
    done = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", f"{PROVIDER_DIR}/{name} meta-data"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert done.returncode == 0, done.stderr
    valid = subprocess.run(["xmllint", "--noout", "--valid", "-"], input=done.stdout, capture_output=True,
                           text=True, cwd="/usr/share/resource-agents", timeout=60)
    assert valid.returncode == 0, valid.stderr
