"""docs/library.md's example agent runs as printed."""

import os
import re
import subprocess
import sys

import pytest
from testkit import CAPTURE_TEXT

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "library.md")


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    with open(DOC, encoding="utf-8") as handle:
        blocks = re.findall(r"```python\n(.*?)```", handle.read(), re.S)
    assert blocks, "docs/library.md has no python example"
    path = tmp_path_factory.mktemp("doc") / "example_agent.py"
    path.write_text(blocks[0])
    return str(path)


def run(example: str, action: str, **env: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HA_RSCTMP": os.path.dirname(example)}
    return subprocess.run([sys.executable, example, action], env=dict(base, **env), **CAPTURE_TEXT, timeout=60)


def test_the_example_declares_an_agent_without_mistakes(example):
    import importlib.util

    spec = importlib.util.spec_from_file_location("example_agent", example)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.AGENT.declaration_errors() == []


def test_the_example_runs_as_printed(example, tmp_path):
    meta = run(example, "meta-data")
    assert meta.returncode == 0 and "<resource-agent" in meta.stdout
    config = str(tmp_path / "missing.conf")
    probe = run(example, "monitor", OCF_RESKEY_config=config, OCF_RESKEY_CRM_meta_interval="0")
    assert probe.returncode == 7, probe.stderr
    start = run(example, "start", OCF_RESKEY_config=config)
    assert start.returncode == 5 and "install exampled here" in start.stderr  # no such daemon here
    assert run(example, "stop", OCF_RESKEY_config=config).returncode == 0
