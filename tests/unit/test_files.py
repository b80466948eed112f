"""Bounded input: every small file an agent reads is a regular file, read up to a limit.

A FIFO, a device, a directory or a huge file in place of a startup file, gwha.conf, dse.ldif, a
state file or a pid file must give a clear error at once: never a hang in ``open()`` (a FIFO waits
for a writer), never an agent that grows without limit (``/dev/zero``).
"""

import errno
import os
import subprocess
import sys
import threading

import pytest

from mailha import files, proc
from mailha.directory import dse
from mailha.files import FileRefused, read_bytes, read_bytes_and_stat, read_text
from mailha.groupwise import gwha
from mailha.groupwise.startup import StartupFile
from mailha.ocf.state import StateFile
from testkit import CAPTURE_TEXT

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Optional

DSE = "dn: cn=config\nnsslapd-port: 389\nnsslapd-localuser: dirsrv\n\ndn: cn=monitor\ncn: monitor\n"


def promptly(call, fifo: "Optional[str]" = None):
    """Run *call* in a thread and return ``(value, error)``; fail if it is still running after a
    bound far beyond what reading a small file takes (then it blocks, in ``open()`` of *fifo*)."""
    result: Dict[str, object] = {}

    def target() -> None:
        try:
            result["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            result["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(15)
    if thread.is_alive():
        if fifo:  # a writer releases the blocked open(), so that the thread ends
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            thread.join(15)
        pytest.fail(f"{call} still blocks: it must not wait on {fifo or 'its file'}")
    return result.get("value"), result.get("error")


@pytest.fixture
def fifo(tmp_path):
    def make(name: str) -> str:
        path = str(tmp_path / name)
        os.mkfifo(path)
        return path
    return make


# --- the module ---------------------------------------------------------------------------------


def test_a_regular_file_is_read_whole_up_to_its_limit(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_bytes(str(path), 100) == b"x" * 100
    data, st = read_bytes_and_stat(path, 100)
    assert data == b"x" * 100 and st.st_size == 100 and st.st_ino == os.stat(path).st_ino
    assert read_text(str(path), 100) == "x" * 100
    (tmp_path / "link").symlink_to(path)  # configuration files are often symlinks
    assert read_bytes(str(tmp_path / "link"), 100) == b"x" * 100


def test_one_byte_over_the_limit_is_refused_with_its_size(tmp_path):
    path = tmp_path / "gwha.conf"
    path.write_bytes(b"x" * 1025)
    with pytest.raises(FileRefused) as caught:
        read_bytes(str(path), 1024, "gwha.conf")
    err = caught.value
    assert isinstance(err, OSError) and err.errno == errno.EFBIG and err.filename == str(path)
    assert err.strerror == "1025 bytes, more than the 1 KiB a gwha.conf can be: is it the right file?"
    assert str(err) == f"gwha.conf {path} is {err.strerror}"


def test_a_file_that_says_it_is_small_is_still_read_only_to_its_limit():
    # /proc files claim a size of 0: the bound is on what is read, not on what stat says.
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(FileRefused) as caught:
        read_bytes("/proc/self/status", 16, "status file")
    assert caught.value.strerror == "more than the 16 bytes a status file can be: is it the right file?"


def load_in_child(path: str) -> str:
    """``StartupFile.load(path)`` in a child process held to 1 GiB of memory: an unbounded read
    fails the test there instead of taking the machine's memory.  Returns what it printed: the
    error, and the paths it passed to ``os.open``."""
    code = ("import os, sys\n"
            "from mailha.groupwise.startup import StartupFile\n"
            "opened, real_open = [], os.open\n"
            "os.open = lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k)\n"
            "try:\n"
            "    StartupFile.load(sys.argv[1])\n"
            "except OSError as err:\n"
            "    print(type(err).__name__, err)\n"
            "print('opened', opened)\n")

    def limit_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run([sys.executable, "-c", code, path], preexec_fn=limit_memory, **CAPTURE_TEXT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_huge_sparse_file_is_refused_by_its_size_without_reading_it(tmp_path):
    path = tmp_path / "domain.mta"
    with open(path, "wb") as handle:
        handle.truncate(12 << 30)  # sparse: costs nothing on disk
    assert load_in_child(str(path)).splitlines()[0] == (
        f"FileRefused startup file {path} is 12 GiB, more than the 1 MiB a startup file can be: "
        "is it the right file?")


def test_dev_zero_as_a_startup_file_is_refused_before_any_read():
    error, opened = load_in_child("/dev/zero").splitlines()
    assert error == "FileRefused startup file /dev/zero is a character device, not a regular file"
    # Never even opened: opening a device can have effects (/dev/watchdog arms the watchdog).
    assert "/dev/zero" not in opened


def test_a_directory_is_refused_clearly(tmp_path):
    with pytest.raises(FileRefused) as caught:
        StartupFile.load(str(tmp_path))
    assert caught.value.errno == errno.EISDIR
    assert caught.value.strerror == "a directory, not a regular file"
    assert str(caught.value) == f"startup file {tmp_path} is a directory, not a regular file"


def test_a_socket_is_refused_clearly(tmp_path):
    import socket

    path = str(tmp_path / "gwha.conf")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(path)
        with pytest.raises(FileRefused, match="is a socket, not a regular file"):
            gwha.load_gwha_conf(path)


def test_a_missing_file_is_the_usual_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_bytes(str(tmp_path / "missing"), 10)


def test_sizes_read_as_people_write_them():
    assert [files.size_text(n) for n in (0, 1023, 1024, 1536, 10 << 20, (12 << 30) + 5, 3 << 40)] == [
        "0 bytes", "1023 bytes", "1 KiB", "1.5 KiB", "10 MiB", "12 GiB", "3 TiB"]


# --- a FIFO in place of each file the agents read -------------------------------------------------


def test_a_fifo_as_a_startup_file_fails_at_once(fifo, tmp_path):
    path = fifo("dom1.mta")
    for call in (lambda: StartupFile.load(path), lambda: StartupFile.load_cached(path, str(tmp_path / "cache"))):
        value, err = promptly(call, path)
        assert value is None and isinstance(err, OSError)
        assert str(err) == f"startup file {path} is a FIFO, not a regular file"


def test_a_fifo_as_gwha_conf_fails_at_once(fifo):
    path = fifo("gwha.conf")
    value, err = promptly(lambda: gwha.load_gwha_conf(path), path)
    assert value is None and isinstance(err, OSError)
    assert err.strerror == "a FIFO, not a regular file"


@pytest.mark.parametrize("call", [dse.read_config, lambda p: dse.set_config(p, {"nsslapd-listenhost": "192.0.2.1"})],
                         ids=["read_config", "set_config"])
def test_a_fifo_as_dse_ldif_fails_at_once(fifo, call):
    path = fifo("dse.ldif")
    value, err = promptly(lambda: call(path), path)
    assert value is None and isinstance(err, OSError)
    assert str(err) == f"dse.ldif {path} is a FIFO, not a regular file"


def test_a_fifo_as_a_pid_file_is_no_pid(fifo):
    path = fifo("slapd.pid")
    assert promptly(lambda: proc.read_pid(path), path) == (None, None)


def test_a_fifo_as_the_state_file_is_lost_state(tmp_path):
    state = StateFile("gwia", "rsc", {"HA_RSCTMP": str(tmp_path)})
    os.makedirs(os.path.dirname(state.path))
    os.mkfifo(state.path)
    assert promptly(state.load, state.path) == ({}, None)


# --- limits of the callers ------------------------------------------------------------------------


def test_a_big_dse_ldif_is_read(tmp_path):
    """dse.ldif grows to a few MiB with schema, indexes and replication agreements."""
    path = tmp_path / "dse.ldif"
    path.write_text(DSE + "\n".join(f"dn: cn=index{i},cn=config\ncn: index{i}\n" for i in range(100_000)))
    assert os.path.getsize(path) > 3 << 20
    assert dse.read_config(str(path))["nsslapd-port"] == "389"


def test_dse_ldif_past_its_limit_is_refused(tmp_path):
    path = tmp_path / "dse.ldif"
    path.write_text(DSE)
    os.truncate(path, dse.MAX_SIZE + 1)
    with pytest.raises(FileRefused, match=r"is 67108865 bytes, more than the 64 MiB a dse.ldif can be: is it the right file\?"):
        dse.read_config(str(path))
    with pytest.raises(FileRefused):
        dse.set_config(str(path), {"nsslapd-listenhost": "192.0.2.1"})


def test_set_config_still_reads_and_edits_a_normal_dse_ldif(tmp_path):
    path = tmp_path / "dse.ldif"
    path.write_text(DSE)
    backup = dse.set_config(str(path), {"nsslapd-listenhost": "192.0.2.1"})
    assert backup and open(backup).read() == DSE
    assert dse.read_config(str(path))["nsslapd-listenhost"] == "192.0.2.1"
    assert dse.set_config(str(path), {"nsslapd-listenhost": "192.0.2.1"}) is None  # already so


def test_an_oversized_state_file_is_lost_state(tmp_path):
    state = StateFile("gwia", "rsc", {"HA_RSCTMP": str(tmp_path)})
    os.makedirs(os.path.dirname(state.path))
    with open(state.path, "w") as handle:
        handle.write("monitor.count=3\n" + "x" * (64 << 10))
    assert state.load() == {}


def test_an_oversized_pid_file_is_no_pid(tmp_path):
    path = tmp_path / "x.pid"
    path.write_bytes(b"321\n" + b"\n" * 8192)
    assert proc.read_pid(str(path)) is None
    path.write_bytes(b"321\n" + b"\n" * 100)  # a pid and some slack is still a pid file
    assert proc.read_pid(str(path)) == 321


def test_rewrite_never_replaces_an_existing_backup_and_skips_an_unchanged_file(tmp_path):
    from mailha.files import rewrite

    target, backup = tmp_path / "dispatcher.cnf", tmp_path / "dispatcher.cnf.pre-ha"
    target.write_bytes(b"old\n")
    backup.write_bytes(b"first original\n")
    with pytest.raises(FileExistsError):
        rewrite(str(target), b"new\n", str(backup))
    assert target.read_bytes() == b"old\n" and backup.read_bytes() == b"first original\n"
    inode = target.stat().st_ino
    assert rewrite(str(target), b"old\n") is False and target.stat().st_ino == inode  # nothing written
    assert rewrite(str(target), b"new\n") is True and target.read_bytes() == b"new\n"
    assert not [p.name for p in tmp_path.iterdir() if "mailha-tmp" in p.name]  # no temporary left
