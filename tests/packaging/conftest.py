"""Fixtures for the package tests: the packages built from this tree, a clean Debian root.

The tests build the packages themselves (``packaging/build``, about 10 s for the .debs and for
each RPM target) rather than reuse what ``./run`` installed: what they check is this tree, also
when pytest runs them alone after an edit.  They need root (overlay mounts, chroot), the build
tools ``./run`` installs (debhelper, dh-python, pybuild-plugin-pyproject, lintian, rpm, rpmlint,
debootstrap) and, the first time only, the network: the base root is built once with debootstrap
(about 3 minutes) and cached in /var/cache/mailha-test (see debroot.py).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import debroot  # noqa: E402
from pkgtools import build, require_root, version  # noqa: E402


@pytest.fixture(scope="session")
def debs(tmp_path_factory) -> dict[str, str]:
    """``mailha``, ``mailha-lab`` and ``changes`` -> the files built from this tree."""
    require_root()
    made = build("deb", str(tmp_path_factory.mktemp("debs")))
    v = version()
    return {"mailha": made[f"mailha_{v}_all.deb"], "mailha-lab": made[f"mailha-lab_{v}_all.deb"],
            "changes": next(p for n, p in made.items() if n.endswith(".changes"))}


@pytest.fixture(scope="session")
def base_root() -> str:
    require_root()
    return debroot.ensure_base()


def _overlay_with(base: str, debs: list[str]):
    overlay, scratch = debroot.new_overlay(base)
    done = overlay.install(debs)
    if done.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        pytest.fail(f"apt-get install {debs} in a clean root failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return overlay, scratch


@pytest.fixture(scope="module")
def production_root(base_root, debs):
    """A clean Debian root with only the ``mailha`` package installed (and what it depends on)."""
    overlay, scratch = _overlay_with(base_root, [debs["mailha"]])
    yield overlay
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture()
def fresh_root(base_root):
    """A clean Debian root for one test, nothing of mailha installed."""
    overlay, scratch = debroot.new_overlay(base_root)
    yield overlay
    shutil.rmtree(scratch, ignore_errors=True)
