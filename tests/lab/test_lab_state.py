"""The lab's record: when it describes a live lab, and what `down` may trust after a reboot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mailha.lab import lifecycle, procs, state
from mailha.lab.layout import Layout


@pytest.fixture
def layout(tmp_path):
    return Layout(root=str(tmp_path / "lab"))


@pytest.fixture
def other_process():
    """A live process that is not the lab's: it must never be signalled."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def record(layout: Layout, **fields) -> None:
    with state.locked(layout, create=True) as st:
        st.update(fields)


def test_no_record_means_no_lab(layout):
    assert lifecycle.liveness(layout) == "none"


def test_a_record_from_another_boot_is_stale_even_if_its_pids_are_alive(layout):
    me = {"pid": os.getpid(), "start": procs.start_time(os.getpid())}
    record(layout, boot_id="another-boot", labd=me, ready=True)
    assert lifecycle.liveness(layout) == "stale: recorded before the machine last booted"


def test_a_ready_lab_whose_power_controller_died_is_stale(layout, other_process):
    dead = {"pid": other_process.pid, "start": procs.start_time(other_process.pid)}
    other_process.kill()
    other_process.wait()
    record(layout, labd=dead, ready=True)
    assert lifecycle.liveness(layout) == "stale: its power controller (labd) is not running"


def test_a_lab_not_ready_without_labd_is_being_built_not_stale(layout):
    record(layout, labd=None, ready=False)
    assert lifecycle.liveness(layout) == "building"


def test_a_lab_with_its_power_controller_running_is_live(layout, other_process):
    record(layout, labd={"pid": other_process.pid, "start": procs.start_time(other_process.pid)}, ready=True)
    assert lifecycle.liveness(layout) == "live"


def test_new_records_carry_this_boot(layout):
    record(layout)
    st = state.read(layout)
    assert st["boot_id"] == procs.boot_id() and state.from_this_boot(st)


def test_a_record_from_another_boot_keeps_no_pid_for_down_to_signal(other_process):
    rec = {"pid": other_process.pid, "start": procs.start_time(other_process.pid)}
    st = {"boot_id": "another-boot", "labd": rec, "postfix": {"node1": rec}, "netns": ["mhlab-sw"],
          "loop": "/dev/loop7", "nodes": {"node1": dict(rec, pidns="pid:[1]", unshare_pid=rec["pid"])}}
    kept = state.without_processes(st)
    assert kept["labd"] is None and kept["postfix"] == {} and kept["nodes"] == {"node1": {}}
    assert kept["netns"] == ["mhlab-sw"] and kept["loop"] == "/dev/loop7"  # named resources stay
    assert st["labd"] == rec  # the original is not modified
