"""The lab's recorded processes: identity by pid and start time, bounded waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from mailha.lab import procs


@pytest.fixture
def child():
    """A process of this test; ended by PID whatever happens."""
    started = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    yield started
    if started.poll() is None:
        started.kill()
    started.wait(10)


def test_a_recorded_process_is_alive_while_pid_and_start_time_match(child):
    start = procs.start_time(child.pid)
    assert start is not None and procs.is_alive(child.pid, start)
    assert not procs.is_alive(child.pid, start + 1)  # the pid, reused by another process
    assert not procs.is_alive(child.pid, None)
    assert not procs.is_alive(None, start) and not procs.is_alive(0, start)


def test_a_zombie_is_not_alive_and_has_no_start_time(child):
    start = procs.start_time(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    assert procs.wait_until_gone(child.pid, start, 10)  # a zombie (not reaped yet) counts as gone
    assert os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None  # still a zombie
    assert procs.start_time(child.pid) is None and not procs.is_alive(child.pid, start)


def test_kill_pid_signals_only_the_recorded_process(child):
    start = procs.start_time(child.pid)
    assert procs.kill_pid(child.pid, start + 1) is False  # recorded before the pid was reused
    assert child.poll() is None
    assert procs.kill_pid(child.pid, start, signal.SIGTERM) is True
    assert child.wait(10) == -signal.SIGTERM
    assert procs.kill_pid(child.pid, start) is False  # gone: nothing to signal


def test_waits_return_at_once_when_the_condition_holds_and_fail_when_it_cannot(child):
    start = procs.start_time(child.pid)
    assert procs.wait_until_gone(child.pid, start, 0) is False
    assert procs.wait_until_gone(child.pid, start + 1, 0) is True
    mine = procs.pid_namespace(os.getpid())
    assert mine and child.pid in procs.pids_in("pid", {mine})
    assert procs.wait_namespace_empty(mine, 0) is False
    assert procs.wait_namespace_empty("pid:[0]", 0) is True  # no process lives in it


# --- the lab's other waits -------------------------------------------------------------------


def test_cluster_wait_for_returns_what_the_check_found_or_says_what_it_waited_for():
    from mailha.lab import cluster
    from mailha.lab.preflight import LabError

    answers = iter([None, "", {"node1": "on"}])
    assert cluster.wait_for("the nodes", lambda: next(answers), 10, interval=0.01) == {"node1": "on"}
    with pytest.raises(LabError, match="timed out after 0s waiting for the groups"):
        cluster.wait_for("the groups", lambda: None, 0)


def test_power_finds_the_node_pid_1_that_unshare_forked(tmp_path):
    from mailha.lab import power

    parent = subprocess.Popen([sys.executable, "-c", (
        "import signal, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import signal; signal.pause()'])\n"
        "print(child.pid, flush=True)\n"
        "signal.pause()\n")], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(parent.stdout.readline())
        assert power._find_ns_init(parent.pid, 10) == child
    finally:
        for pid in (child, parent.pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        parent.wait(10)
        parent.stdout.close()
    with pytest.raises(RuntimeError, match="unshare exited before the node started"):
        power._find_ns_init(parent.pid, 10)  # reaped: gone


def test_node_init_waits_for_corosync_to_answer_and_stops_if_it_exits(monkeypatch):
    from mailha.lab import node_init

    class Corosync:
        returncode = None

        def poll(self):
            return self.returncode

    replies = iter([1, 1, 0])
    monkeypatch.setattr(node_init.subprocess, "run", lambda argv, **kwargs:
                        subprocess.CompletedProcess(argv, next(replies)))
    node_init.wait_corosync(Corosync(), {})  # answers on the third try
    exited = Corosync()
    exited.returncode = 1
    with pytest.raises(SystemExit, match="corosync exited with 1"):
        node_init.wait_corosync(exited, {})
