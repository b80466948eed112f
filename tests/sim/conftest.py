"""Fixtures for the GroupWise emulator tests (the kit itself is in gwsim.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from gwsim import Sim

from mailha.sim import install


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    root = tmp_path / "root"
    install(str(root))
    s = Sim(root)
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def gwia_home(tmp_path: Path) -> Path:
    home = tmp_path / "gw/dom1/wpgate/gwia"
    home.mkdir(parents=True)
    return home
