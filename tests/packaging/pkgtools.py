"""What the package tests share: this tree's layout, its library split, the build."""

from __future__ import annotations

import ast
import os
import subprocess

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, "packaging", "build")
LIB = os.path.join(TOP, "lib", "mailha")
AGENTS = sorted(name for name in os.listdir(os.path.join(TOP, "ocf")) if not name.startswith("."))
AGENT_DIR = "/usr/lib/ocf/resource.d/mailha"


def version() -> str:
    """mailha.__version__ of this tree (read, not imported: the test's mailha may be another)."""
    with open(os.path.join(LIB, "__init__.py"), encoding="utf-8") as f:
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__version__":
                return node.value.value
    raise AssertionError("no __version__ in lib/mailha/__init__.py")


def lab_modules() -> tuple[str, ...]:
    """``mailha.cli.LAB_MODULES`` of this tree: what only mailha-lab may carry."""
    with open(os.path.join(LIB, "cli.py"), encoding="utf-8") as f:
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "LAB_MODULES":
                return tuple(ast.literal_eval(node.value))
    raise AssertionError("no LAB_MODULES in lib/mailha/cli.py")


def is_lab_path(relpath: str) -> bool:
    """Whether *relpath* (below lib/, e.g. ``mailha/lab/cli.py``, or its byte-code
    ``mailha/__pycache__/demo.cpython-36.pyc``) belongs to mailha-lab."""
    head, _, name = relpath.rpartition("/__pycache__/")
    if head:
        relpath = head + "/" + name.split(".", 1)[0] + ".py"
    module = relpath[:-3].replace("/", ".") if relpath.endswith(".py") else relpath.replace("/", ".")
    module = module[:-len(".__init__")] if module.endswith(".__init__") else module
    return any(module == lab or module.startswith(lab + ".") for lab in lab_modules())


def tree_modules() -> tuple[set[str], set[str]]:
    """The tree's library files below lib/ (``mailha/...py``): (runtime, lab)."""
    runtime, lab = set(), set()
    for dirpath, dirnames, filenames in os.walk(LIB):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, name), os.path.dirname(LIB))
                (lab if is_lab_path(rel) else runtime).add(rel)
    return runtime, lab


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the package tests need root (dpkg-buildpackage, overlay mounts, chroot): run ./run tests")


def build(kind: str, out: str, *rpmbuild_args: str) -> dict[str, str]:
    """Build with packaging/build; returns file name -> path of what it made."""
    done = subprocess.run([BUILD, kind, out, *rpmbuild_args], capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, f"packaging/build {kind} failed:\n{done.stdout}\n{done.stderr}"
    return {name: os.path.join(out, name) for name in os.listdir(out)}
