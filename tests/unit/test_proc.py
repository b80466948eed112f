"""Process discovery and stop escalation, with real child processes."""

import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from mailha import proc
from mailha.proc import ProcessMatch, ProcInfo
from testkit import wait_for

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Tuple

PYTHON = sys.executable
# A stand-in daemon: its instance directory is argv[1]; it says "ready" once its signal
# handlers are in place, so tests never race with start-up.
DAEMON = r"""
import os, signal, subprocess, sys
mode = sys.argv[2] if len(sys.argv) > 2 else "plain"
if mode in ("stubborn", "parent"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGUSR1, lambda *_: sys.exit(0))  # the "graceful stop command"
child = ""
if mode == "parent":
    worker = subprocess.Popen([sys.executable, "-c", sys.argv[3], sys.argv[1], "stubborn"],
                              stdout=subprocess.PIPE)
    worker.stdout.readline()
    child = f" {worker.pid}"
print("ready" + child, flush=True)
while True:
    signal.pause()
"""


def state_of(pid: int) -> "Optional[str]":
    info = proc.read_process(pid, need_argv=False)
    return info.state if info else None


@pytest.fixture(scope="module", autouse=True)
def subreaper():
    """Orphaned grandchildren come back to this process (not PID 1), so tests can reap them."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    yield
    libc.prctl(36, 0, 0, 0, 0)


class Daemons:
    """Starts stand-in daemons and ends every one of them (by PID) when the test ends."""

    def __init__(self) -> None:
        self.popens: List[subprocess.Popen] = []
        self.extra: List[int] = []

    def start(self, instance_dir: str, mode: str = "plain", options: "Tuple[str, ...]" = (),
              cwd: "Optional[str]" = None) -> subprocess.Popen:
        """*options* follow on the command line, as a product's (``-D /srv/a``, ``@po.poa``)."""
        args = [PYTHON, "-c", DAEMON, instance_dir, mode] + ([DAEMON] if mode == "parent" else list(options))
        child = subprocess.Popen(args, stdout=subprocess.PIPE, cwd=cwd)
        self.popens.append(child)
        ready, _, _ = select.select([child.stdout], [], [], 20)
        assert ready, "stand-in daemon did not start"
        words = child.stdout.readline().split()
        assert words and words[0] == b"ready"
        child.worker_pid = int(words[1]) if len(words) > 1 else None  # type: ignore[attr-defined]
        if child.worker_pid:
            self.extra.append(child.worker_pid)
        return child

    def cleanup(self) -> None:
        for pid in [p.pid for p in self.popens] + self.extra:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        for child in self.popens:
            child.wait(10)
            child.stdout.close()
        for pid in self.extra:  # reparented to us by the subreaper
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


@pytest.fixture
def daemons():
    started = Daemons()
    yield started
    started.cleanup()


def match_for(instance_dir, python=PYTHON, **kwargs) -> "ProcessMatch":
    return ProcessMatch(exe_names=(os.path.basename(python),), cmdline_contains=(str(instance_dir),),
                        **kwargs)


# --- pid files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content,expected",
    [(b"1234\n", 1234), (b"  42  \n", 42), (b"77", 77), (b"", None), (b"\n", None), (b"abc", None),
     (b"-5", None), (b"0", None), (b"99999999999", None), (b"12 34", None), (b"\xff\xfe", None),
     (b"5000000", None), (b"321\nextra lines\n", 321)],
)
def test_read_pid_is_tolerant(tmp_path, content, expected):
    path = tmp_path / "x.pid"
    path.write_bytes(content)
    assert proc.read_pid(str(path)) == expected


def test_read_pid_missing_or_unreadable(tmp_path):
    assert proc.read_pid(str(tmp_path / "missing.pid")) is None
    assert proc.read_pid(str(tmp_path)) is None  # a directory


def test_write_pid_round_trip_and_rejects_garbage(tmp_path):
    path = str(tmp_path / "x.pid")
    proc.write_pid(path, 4321)
    assert proc.read_pid(path) == 4321
    proc.write_pid(path)
    assert proc.read_pid(path) == os.getpid()
    with pytest.raises(ValueError):
        proc.write_pid(path, 0)
    assert os.listdir(tmp_path) == ["x.pid"]  # no temporary file left behind


# --- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,needle,expected",
    [("/srv/a", "/srv/a", True), ("/srv/a/slapd.d", "/srv/a", True), ("-F/srv/a", "/srv/a", True),
     ("--home=/srv/a", "/srv/a", True), ("/srv/ab", "/srv/a", False), ("/srv/a.old", "/srv/a", False),
     ("/srv/a-2", "/srv/a", False), ("/x/srv/a", "/srv/a", True), ("@/gw/dom/dom.mta", "@/gw/dom/dom.mta", True),
     ("@/gw/dom/dom.mta.bak", "@/gw/dom/dom.mta", False), ("slapd-a", "slapd-a", True),
     ("slapd-ab", "slapd-a", False), ("ldap://127.0.0.1:389/", "127.0.0.1", True),
     ("ldap://127.0.0.10:389/", "127.0.0.1", False), ("", "x", False), ("anything", "", True)],
)
def test_contains_component(text, needle, expected):
    assert proc.contains_component(text, needle) is expected


def test_trailing_slash_in_the_instance_dir_does_not_matter():
    assert match_for("/srv/a/").cmdline_contains == ("/srv/a",)


def test_process_match_needs_an_executable():
    with pytest.raises(ValueError):
        ProcessMatch(exe_names=())


def fake(state="S", argv=("/usr/sbin/ns-slapd", "-D", "/etc/dirsrv/slapd-a"), exe="/usr/sbin/ns-slapd", comm="ns-slapd"):
    return ProcInfo(pid=10, ppid=1, comm=comm, state=state, start_ticks=1, uid=0, exe=exe, argv=argv)


def test_matches_rules_on_fake_processes():
    match = ProcessMatch(exe_names=("ns-slapd",), cmdline_contains=("/etc/dirsrv/slapd-a",))
    assert match.matches(fake())
    assert match.matches(fake(state="D"))  # uninterruptible sleep still runs
    assert not match.matches(fake(state="Z"))
    assert not match.matches(fake(argv=(), exe=None, comm="ns-slapd"))  # kernel thread named alike
    assert not match.matches(fake(argv=None, state="D"))  # unreadable command line: cannot tell instance
    assert not match.matches(fake(argv=("/usr/sbin/ns-slapd", "-D", "/etc/dirsrv/slapd-ab")))
    by_path = ProcessMatch(exe_names=("/usr/sbin/ns-slapd",))
    assert by_path.matches(fake(exe="/usr/sbin/ns-slapd"))
    assert not by_path.matches(fake(exe="/opt/other/ns-slapd", argv=("/opt/other/ns-slapd",)))
    # A #! script: the kernel runs the interpreter with the script as argv[1].
    script = ProcessMatch(exe_names=("/opt/ds/start-slapd",))
    assert script.matches(fake(exe="/usr/bin/bash", comm="start-slapd", argv=("/bin/sh", "/opt/ds/start-slapd")))


def test_user_filter(daemons, tmp_path):
    daemons.start(str(tmp_path / "a"))
    assert proc.find(match_for(tmp_path / "a", user=os.getuid()))
    assert not proc.find(match_for(tmp_path / "a", user=os.getuid() + 12345))
    assert not proc.find(match_for(tmp_path / "a", user="no-such-user-here"))


# --- exact options (args) --------------------------------------------------------------------


def by_args(*pairs) -> "ProcessMatch":
    return ProcessMatch(exe_names=(os.path.basename(PYTHON),), args=pairs)


def with_argv(*options, pid=10):
    return ProcInfo(pid=pid, ppid=1, comm="ns-slapd", state="S", start_ticks=1, uid=0,
                    exe="/usr/sbin/ns-slapd", argv=("/usr/sbin/ns-slapd",) + options)


SLAPD_A = ProcessMatch(exe_names=("ns-slapd",), args=(("-D", "/etc/dirsrv/slapd-a"),))


@pytest.mark.parametrize(
    "options,expected",
    [(("-D", "/etc/dirsrv/slapd-a"), True), (("-D/etc/dirsrv/slapd-a",), True),
     (("-D", "/etc/dirsrv/slapd-a/"), True), (("-D", "/etc/dirsrv//slapd-a"), True),
     (("-i", "/run/a.pid", "-D", "/etc/dirsrv/slapd-a"), True),
     (("-D", "/etc/dirsrv"), False), (("-D/etc/dirsrv",), False), (("-D", "/etc/dirsrv/slapd-ab"), False),
     (("-D", "/etc/dirsrv/slapd-a/sub"), False), (("-d", "/etc/dirsrv/slapd-a"), False),
     (("/etc/dirsrv/slapd-a",), False), (("-D",), False), (("-D", ""), False), ((), False)],
)
def test_args_match_the_option_value_exactly(options, expected):
    assert SLAPD_A.matches(with_argv(*options)) is expected


def test_args_on_the_parent_directory_never_match_an_instance_below_it():
    # issue 7: config_dir set to the parent of two instances matched (and stopped) both.
    parent = ProcessMatch(exe_names=("ns-slapd",), args=(("-D", "/etc/dirsrv"),))
    assert not parent.matches(with_argv("-D", "/etc/dirsrv/slapd-a"))
    assert not parent.matches(with_argv("-D", "/etc/dirsrv/slapd-b"))
    assert parent.matches(with_argv("-D", "/etc/dirsrv/"))


def test_args_long_options_and_startup_files():
    home = ProcessMatch(exe_names=("ns-slapd",), args=(("--home", "/gw/po"),))
    assert home.matches(with_argv("--home", "/gw/po/")) and home.matches(with_argv("--home=/gw/po"))
    assert not home.matches(with_argv("--home/gw/po")) and not home.matches(with_argv("--home=/gw"))
    startup = ProcessMatch(exe_names=("ns-slapd",), args=(("@", "/gw/po/po.poa"),))
    assert startup.matches(with_argv("@/gw/po/po.poa")) and startup.matches(with_argv("@/gw/po/../po/po.poa"))
    assert not startup.matches(with_argv("@/gw/po/po.poa.bak"))
    assert not startup.matches(with_argv("/gw/po/po.poa"))
    both = ProcessMatch(exe_names=("ns-slapd",), args=(("-D", "/srv/a"), ("-f", "/srv/a/slapd.conf")))
    assert both.matches(with_argv("-f", "/srv/a/slapd.conf", "-D", "/srv/a"))
    assert not both.matches(with_argv("-D", "/srv/a"))  # every pair must be there


def test_args_find_a_groupwise_agent_run_through_its_interpreter():
    # The emulator's agents are #! scripts: the kernel shows python3 with the script as argv[1].
    gwpoa = "/opt/novell/groupwise/agents/bin/gwpoa"

    def process(binary, *options):
        return ProcInfo(10, 1, os.path.basename(binary), "S", 1, 0, "/usr/bin/python3.11",
                        ("/usr/bin/python3", binary) + options)

    po1 = ProcessMatch(exe_names=(gwpoa,), args=(("@", "/gw/po1/po1.poa"),))
    assert po1.matches(process(gwpoa, "@/gw/po1/po1.poa"))
    assert not po1.matches(process(gwpoa, "@/gw/po2/po1.poa"))
    assert not po1.matches(process("/opt/novell/groupwise/agents/bin/gwmta", "@/gw/po1/po1.poa"))


def test_args_are_part_of_identity_and_checked():
    a = ProcessMatch(exe_names=("ns-slapd",), args=[("-D", "/srv/a/")])
    assert a == ProcessMatch(exe_names=("ns-slapd",), args=(("-D", "/srv/a"),))
    assert hash(a) == hash(ProcessMatch(exe_names=("ns-slapd",), args=(("-D", "/srv/a"),)))
    assert a != ProcessMatch(exe_names=("ns-slapd",), args=(("-D", "/srv/b"),))
    assert a != ProcessMatch(exe_names=("ns-slapd",))
    assert a.args == (("-D", "/srv/a"),) and "args=(('-D', '/srv/a'),)" in repr(a)
    for bad in ((("-D", "srv/a"),), (("-D", ""),), (("D", "/srv/a"),), ("-D",), (("-D", "/a", "/b"),), (7,)):
        with pytest.raises(ValueError):
            ProcessMatch(exe_names=("ns-slapd",), args=bad)


def test_args_of_an_unreadable_command_line_never_match():
    assert not SLAPD_A.matches(ProcInfo(10, 1, "ns-slapd", "D", 1, 0, "/usr/sbin/ns-slapd", None))


def test_args_find_one_instance_among_siblings(daemons, tmp_path):
    a = daemons.start("-", options=("-D", str(tmp_path / "a")))
    b = daemons.start("-", options=("-D" + str(tmp_path / "b"),))
    assert [p.pid for p in proc.find(by_args(("-D", str(tmp_path / "a") + "/")))] == [a.pid]
    assert [p.pid for p in proc.find(by_args(("-D", str(tmp_path / "b"))))] == [b.pid]
    assert proc.find(by_args(("-D", str(tmp_path)))) == []
    assert proc.find(by_args(("-D", str(tmp_path / "a")), ("-D", str(tmp_path / "b")))) == []


def test_a_relative_startup_file_is_resolved_in_the_working_directory(daemons, tmp_path):
    for name in ("po1", "po2"):
        (tmp_path / name).mkdir()
    one = daemons.start("-", options=("@po.poa",), cwd=str(tmp_path / "po1"))
    two = daemons.start("-", options=("@./po.poa",), cwd=str(tmp_path / "po2"))
    assert [p.pid for p in proc.find(by_args(("@", str(tmp_path / "po1" / "po.poa"))))] == [one.pid]
    assert [p.pid for p in proc.find(by_args(("@", str(tmp_path / "po2" / "po.poa"))))] == [two.pid]
    assert proc.find(by_args(("@", str(tmp_path / "po.poa")))) == []


def test_a_relative_value_does_not_match_when_the_cwd_is_unreadable(daemons, tmp_path, monkeypatch):
    (tmp_path / "po").mkdir()
    child = daemons.start("-", options=("@po.poa",), cwd=str(tmp_path / "po"))
    match = by_args(("@", str(tmp_path / "po" / "po.poa")))
    assert [p.pid for p in proc.find(match)] == [child.pid]
    readlink = proc.posix.readlink

    def not_permitted(path, *args, **kwargs):
        if path == f"/proc/{child.pid}/cwd":  # what a caller gets for another user's process
            raise PermissionError(13, "Permission denied", path)
        return readlink(path, *args, **kwargs)

    monkeypatch.setattr(proc.posix, "readlink", not_permitted)  # what mailha.proc calls (os's C layer)
    assert proc.find(match) == []
    absolute = daemons.start("-", options=("@" + str(tmp_path / "po" / "po.poa"),), cwd=str(tmp_path / "po"))
    assert [p.pid for p in proc.find(match)] == [absolute.pid]  # an absolute value needs no cwd


# --- find ----------------------------------------------------------------------------------


def test_two_instances_never_see_each_other(daemons, tmp_path):
    a = daemons.start(str(tmp_path / "x" / "a"))
    ab = daemons.start(str(tmp_path / "x" / "ab"))
    assert [p.pid for p in proc.find(match_for(tmp_path / "x" / "a"))] == [a.pid]
    assert [p.pid for p in proc.find(match_for(tmp_path / "x" / "ab"))] == [ab.pid]
    assert proc.find(match_for(tmp_path / "x" / "abc")) == []


def test_pid_file_is_used_first(daemons, tmp_path):
    a = daemons.start(str(tmp_path / "a"))
    pidfile = str(tmp_path / "a.pid")
    proc.write_pid(pidfile, a.pid)
    (found,) = proc.find(match_for(tmp_path / "a", pidfile=pidfile))
    assert found.pid == a.pid and found.exe and found.argv[-2] == str(tmp_path / "a")


def test_stale_pid_file_does_not_count(daemons, tmp_path):
    gone = daemons.start(str(tmp_path / "a"))
    gone.kill()
    gone.wait(10)
    pidfile = str(tmp_path / "a.pid")
    proc.write_pid(pidfile, gone.pid)
    assert proc.find(match_for(tmp_path / "a", pidfile=pidfile)) == []
    again = daemons.start(str(tmp_path / "a"))  # restarted without rewriting its pid file
    assert [p.pid for p in proc.find(match_for(tmp_path / "a", pidfile=pidfile))] == [again.pid]


def test_reused_pid_in_pid_file_does_not_count(daemons, tmp_path):
    # The pid file names a live process of another instance (as after pid reuse).
    other = daemons.start(str(tmp_path / "ab"))
    pidfile = str(tmp_path / "a.pid")
    proc.write_pid(pidfile, other.pid)
    assert proc.find(match_for(tmp_path / "a", pidfile=pidfile)) == []
    proc.write_pid(pidfile, os.getpid())  # or a wholly unrelated process
    assert proc.find(match_for(tmp_path / "a", pidfile=pidfile)) == []
    mine = daemons.start(str(tmp_path / "a"))
    assert [p.pid for p in proc.find(match_for(tmp_path / "a", pidfile=pidfile))] == [mine.pid]


def test_a_known_pid_is_tried_before_scanning_the_process_table(daemons, tmp_path, monkeypatch):
    a = daemons.start(str(tmp_path / "a"))
    monkeypatch.setattr(proc, "_pids", lambda: pytest.fail("scanned /proc although the known pid matched"))
    assert [p.pid for p in proc.find(match_for(tmp_path / "a"), known_pid=a.pid)] == [a.pid]


def test_a_known_pid_of_another_process_falls_back_to_the_scan(daemons, tmp_path):
    other = daemons.start(str(tmp_path / "ab"))
    mine = daemons.start(str(tmp_path / "a"))
    for stale in (other.pid, os.getpid(), 4_000_000):  # another instance, unrelated, gone
        assert [p.pid for p in proc.find(match_for(tmp_path / "a"), known_pid=stale)] == [mine.pid]
    assert proc.find(match_for(tmp_path / "c"), known_pid=mine.pid) == []


def test_every_returns_all_processes_with_the_pid_file_one_first(daemons, tmp_path):
    parent = daemons.start(str(tmp_path / "a"), "parent")
    pidfile = str(tmp_path / "a.pid")
    proc.write_pid(pidfile, parent.pid)
    assert [p.pid for p in proc.find(match_for(tmp_path / "a", pidfile=pidfile))] == [parent.pid]
    every = [p.pid for p in proc.find(match_for(tmp_path / "a", pidfile=pidfile), every=True)]
    assert every[0] == parent.pid and sorted(every) == sorted([parent.pid, parent.worker_pid])


def test_zombie_is_not_running(daemons, tmp_path):
    child = daemons.start(str(tmp_path / "a"))
    os.kill(child.pid, signal.SIGKILL)
    wait_for(lambda: state_of(child.pid) == "Z", 10, "zombie")  # not reaped yet
    pidfile = str(tmp_path / "a.pid")
    proc.write_pid(pidfile, child.pid)
    assert proc.find(match_for(tmp_path / "a", pidfile=pidfile)) == []


def test_kernel_threads_never_match():
    kthreads = [pid for pid in proc._pids() if (proc._read_stat(pid) or (0, 0, 0, 0, 0))[4] & proc.PF_KTHREAD]
    assert kthreads, "no kernel thread visible in this pid namespace"
    names = {proc._read_stat(pid)[0] for pid in kthreads[:20]}
    assert proc.find(ProcessMatch(exe_names=tuple(names))) == []


def test_stopped_process_still_counts_as_running(daemons, tmp_path):
    a = daemons.start(str(tmp_path / "a"))
    os.kill(a.pid, signal.SIGSTOP)
    wait_for(lambda: state_of(a.pid) == "T", 10, "stopped state")
    assert [p.pid for p in proc.find(match_for(tmp_path / "a"))] == [a.pid]


def test_command_line_read_of_a_blocked_process_is_bounded(monkeypatch):
    gate = threading.Event()

    def blocked_read(pid):
        gate.wait(5)  # as if the target held its memory-map lock in D state
        return ("never",)

    monkeypatch.setattr(proc, "_read_cmdline", blocked_read)
    try:
        assert proc._read_cmdline_bounded(os.getpid(), 0.05) is None
    finally:
        gate.set()


def test_d_state_process_named_by_pid_file_counts(monkeypatch, tmp_path):
    # A child stands for the server (the caller itself is never found): shown in D state.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        seen = wait_for(lambda: proc.read_process(child.pid), what="the child")
        d_state = ProcInfo(seen.pid, seen.ppid, seen.comm, "D", seen.start_ticks, seen.uid, seen.exe, None)
        monkeypatch.setattr(proc, "read_process", lambda pid, need_argv=True: d_state if pid == child.pid else None)
        pidfile = str(tmp_path / "d.pid")
        proc.write_pid(pidfile, child.pid)
        assert proc.find(match_for(tmp_path / "d", pidfile=pidfile)) == [d_state]
    finally:
        child.kill()
        child.wait()


# --- stop ----------------------------------------------------------------------------------


def gone(pid: int) -> bool:
    return state_of(pid) in (None, "Z")


def test_stop_plain_process_with_term(daemons, tmp_path):
    a = daemons.start(str(tmp_path / "a"))
    found = proc.find(match_for(tmp_path / "a"))
    result = proc.stop(found, time.monotonic() + 10)
    assert result.stopped and result.steps == ["term"] and result.killed == ()
    assert gone(a.pid)
    assert "term" in result.describe()


def test_stop_escalates_to_kill_before_the_deadline(daemons, tmp_path):
    stubborn = daemons.start(str(tmp_path / "a"), "stubborn")
    deadline = time.monotonic() + 2
    result = proc.stop(proc.find(match_for(tmp_path / "a")), deadline, kill_reserve=0.5)
    assert time.monotonic() <= deadline  # the caller's operation never times out
    assert result.steps == ["term", "kill"] and result.killed == (stubborn.pid,)
    assert result.stopped and gone(stubborn.pid)
    assert "SIGKILL" in result.describe()


def test_stop_resumes_a_sigstopped_process(daemons, tmp_path):
    a = daemons.start(str(tmp_path / "a"))
    os.kill(a.pid, signal.SIGSTOP)
    wait_for(lambda: state_of(a.pid) == "T", 10, "stopped state")
    result = proc.stop(proc.find(match_for(tmp_path / "a")), time.monotonic() + 10)
    assert result.stopped and result.steps == ["term"] and gone(a.pid)


def test_stop_kills_children_too(daemons, tmp_path):
    parent = daemons.start(str(tmp_path / "a"), "parent")  # both ignore SIGTERM
    pidfile = str(tmp_path / "a.pid")
    proc.write_pid(pidfile, parent.pid)
    found = proc.find(match_for(tmp_path / "a", pidfile=pidfile))  # the parent only
    assert [p.pid for p in found] == [parent.pid]
    result = proc.stop(found, time.monotonic() + 2, kill_reserve=0.5)
    assert sorted(result.pids) == sorted([parent.pid, parent.worker_pid])
    assert set(result.killed) == {parent.pid, parent.worker_pid}
    assert result.stopped and gone(parent.pid) and gone(parent.worker_pid)


def test_stop_runs_the_graceful_action_first(daemons, tmp_path):
    a = daemons.start(str(tmp_path / "a"))
    deadline = time.monotonic() + 10
    given: List[float] = []

    def graceful(until: float) -> None:
        given.append(until)
        os.kill(a.pid, signal.SIGUSR1)  # the "stop command"

    result = proc.stop(proc.find(match_for(tmp_path / "a")), deadline, graceful=graceful)
    assert result.steps == ["graceful"] and result.termed == () and gone(a.pid)
    assert given and given[0] < deadline


def test_stop_escalates_when_the_graceful_action_fails(daemons, tmp_path):
    a = daemons.start(str(tmp_path / "a"))

    def broken(until: float) -> None:
        raise RuntimeError("stop-slapd: no such file\nsecond line")

    result = proc.stop(proc.find(match_for(tmp_path / "a")), time.monotonic() + 3, graceful=broken)
    assert result.steps == ["graceful", "term"] and result.stopped and gone(a.pid)
    assert result.graceful_error == "stop-slapd: no such file second line"


def test_stop_never_signals_a_process_that_reused_the_pid(daemons, tmp_path):
    a = daemons.start(str(tmp_path / "a"))
    (info,) = proc.find(match_for(tmp_path / "a"))
    older = ProcInfo(info.pid, info.ppid, info.comm, info.state, info.start_ticks - 1, info.uid, info.exe, info.argv)
    result = proc.stop([older], time.monotonic() + 5)
    assert result.pids == () and result.steps == [] and result.stopped
    assert state_of(a.pid) not in (None, "Z")


def test_stop_with_nothing_to_do():
    result = proc.stop([], time.monotonic() + 1)
    assert result.stopped and result.steps == [] and "nothing to do" in result.describe()


def test_survivors_are_reported_clearly():
    result = proc.StopResult(pids=(7,), steps=["term", "kill"], killed=(7,), survivors=((7, "D"),), seconds=9.5)
    assert not result.stopped
    assert result.describe() == "could not stop pid(s) 7 (uninterruptible sleep, D state) (after term then kill, 9.5s)"


# --- property: instance directories that share a prefix never match each other --------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

component = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", min_size=1, max_size=12)


@given(st.lists(component, min_size=1, max_size=4), component, st.sampled_from(["", "/slapd.d", "/dom.mta"]))
def test_prefix_sharing_instance_dirs_never_match(parts, extra, tail):
    instance = "/" + "/".join(parts)
    longer = instance + extra  # /srv/a vs /srv/ab, /srv/a.old, /srv/a-2 ...
    assert proc.contains_component(instance + tail, instance)
    assert proc.contains_component("-D" + instance + tail, instance)  # glued to an option
    assert not proc.contains_component(longer + tail, instance)


# --- a real D-state process ----------------------------------------------------------------

# glibc's posix_spawn clones with CLONE_VFORK and all signals blocked: the parent waits in
# uninterruptible (killable) sleep, state D, until the child execs -- and this child first
# opens a FIFO that has no writer, so it never does.  Only SIGKILL ends either of them.
# os.posix_spawn is Python 3.8 and later: under an older one the helper runs on the system's.
SPAWNER = PYTHON if hasattr(os, "posix_spawn") else "/usr/bin/python3"
D_STATE = r"""
import os, sys
os.posix_spawn("/bin/true", ["true"], dict(os.environ),
               file_actions=[(os.POSIX_SPAWN_OPEN, 0, sys.argv[2], os.O_RDONLY, 0)])
"""


@pytest.fixture
def d_state_process(tmp_path):
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)
    instance = str(tmp_path / "d")
    child = subprocess.Popen([SPAWNER, "-c", D_STATE, instance, str(fifo)])
    try:
        # D once posix_spawn's child exists (a D seen before may be a page-in at start-up)
        wait_for(lambda: proc.children(child.pid) and state_of(child.pid) == "D", 10, "D state")
        yield instance, child
    finally:
        spawned = [info.pid for info in proc.children(child.pid)]
        for pid in [child.pid] + spawned:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        child.wait(10)
        for pid in spawned:  # reparented to this process by the subreaper
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def test_d_state_process_counts_as_running(d_state_process, tmp_path):
    instance, child = d_state_process
    pidfile = str(tmp_path / "d.pid")
    proc.write_pid(pidfile, child.pid)
    (found,) = proc.find(match_for(instance, SPAWNER, pidfile=pidfile))
    assert found.pid == child.pid and found.state == "D"
    assert child.pid in [p.pid for p in proc.find(match_for(instance, SPAWNER))]


def test_stop_kills_a_d_state_process_that_blocks_sigterm(d_state_process):
    instance, child = d_state_process
    spawned = proc.children(child.pid)
    assert spawned, "posix_spawn's child should exist"
    deadline = time.monotonic() + 2
    result = proc.stop(proc.find(match_for(instance, SPAWNER), every=True), deadline, kill_reserve=0.5)
    assert time.monotonic() <= deadline
    assert result.steps == ["term", "kill"] and child.pid in result.killed
    assert result.stopped and gone(child.pid) and all(gone(p.pid) for p in spawned)


def test_the_caller_never_finds_itself(tmp_path):
    # The GroupWise agents are named like their products (comm "gwpoa"): a match of the product
    # alone must not find the agent process that asks, or a stop would count or kill itself.
    me = ProcessMatch(exe_names=(os.path.basename(sys.executable), sys.executable))
    assert os.getpid() not in [p.pid for p in proc.find(me, every=True)]
    pidfile = tmp_path / "self.pid"
    pidfile.write_text(f"{os.getpid()}\n")
    by_pidfile = ProcessMatch(exe_names=(sys.executable,), pidfile=str(pidfile))
    assert os.getpid() not in [p.pid for p in proc.find(by_pidfile, every=True)]


def test_still_running_is_this_very_process_alive():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        info = proc.read_process(child.pid, need_argv=False)
        assert proc.still_running(child.pid, info.start_ticks)
        assert not proc.still_running(child.pid, info.start_ticks + 1)  # the pid, reused later
        child.kill()
        # Until reaped it is a zombie, which no longer runs, though is_same() waits for it still.
        wait_for(lambda: proc.read_process(child.pid, need_argv=False).state == "Z", what="a zombie")
        assert not proc.still_running(child.pid, info.start_ticks)
    finally:
        child.kill()
        child.wait()
    assert not proc.still_running(child.pid, info.start_ticks)  # reaped: gone


def test_still_running_counts_a_dying_process_as_gone(monkeypatch):
    # The moment between SIGKILL and the zombie: the kernel has set PF_EXITING and dropped the
    # command line, so find() no longer matches; still_running must agree.
    me = proc._read_stat(os.getpid())
    dying = (me[0], me[1], "R", me[3], me[4] | proc.PF_EXITING)
    monkeypatch.setattr(proc, "_read_stat", lambda pid: dying)
    assert not proc.still_running(os.getpid(), me[3])
    monkeypatch.setattr(proc, "_read_stat", lambda pid: me)
    assert proc.still_running(os.getpid(), me[3])
