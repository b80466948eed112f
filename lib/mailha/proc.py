"""Process discovery and stop escalation for one instance of a service.

Discovery (:func:`find`) is on every monitor's path, so it reads ``/proc`` directly: importing
psutil alone costs about 35 ms on a small machine, most of a whole monitor's budget.  Stopping
(:func:`stop`) is rare and uses psutil, imported on demand.

An instance is described by a :class:`ProcessMatch`: the binary, plus the options that name the
instance, matched exactly (``args``: ``-D /srv/a`` is the instance ``/srv/a``, never ``/srv`` nor
``/srv/ab``; a relative ``@po.poa`` is resolved against the process's working directory).  The
older ``cmdline_contains`` strings match whole path components anywhere in the command line, so
``/srv`` also matches every instance below it: use ``args`` to tell one instance.

Robust to: stale pid files and reused pids (the pid must still match the binary and command
line), processes vanishing mid-scan, zombies (not running), kernel threads (never match),
processes in uninterruptible sleep (D state: running; reading their command line could block,
so it is read with a bound).
"""

# posix, not os: the same C functions, and os would cost a monitor about 1 ms more (it loads
# posixpath and _collections_abc, which a bare -IS interpreter has not).  The path functions
# that need posixpath are imported where they are used, off the recurring monitor's fast path.
import posix
import time

# Not typing.TYPE_CHECKING: importing typing (4 ms), dataclasses (15 ms) or signal (3 ms) would
# cost a monitor more than the work it does here.  Type checkers treat this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

    import psutil

SIGTERM, SIGKILL, SIGCONT = 15, 9, 18  # Linux numbers, without importing signal

PF_KTHREAD = 0x00200000  # task flag of kernel threads (include/linux/sched.h)
PF_EXITING = 0x00000004  # task flag set first thing in do_exit(): the process is dying
PID_MAX = 4194304  # the kernel's upper limit for pid_max
# Characters that continue a path component or a word; a match must not be followed or
# preceded by one of these, so "/srv/a" matches "/srv/a/x" and "-D/srv/a" but not "/srv/ab".
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
D_STATE_READ_TIMEOUT = 0.5  # seconds to wait for the command line of a D-state process


# --- pid files -----------------------------------------------------------------------------


def read_pid(path: str) -> "Optional[int]":
    """The pid in a pid file, or None when the file is missing, unreadable, empty or garbage,
    or not a small regular file (a FIFO there must not hang the monitor)."""
    from .files import KiB, read_bytes

    try:
        head = read_bytes(path, 4 * KiB, "pid file")  # one number and a line ending, in practice
    except (OSError, ValueError):  # missing, unreadable, a FIFO, a directory, a bad path
        return None
    text = head.split(b"\n", 1)[0].strip()
    if not text.isdigit() or len(text) > 7:
        return None
    pid = int(text)
    return pid if 0 < pid <= PID_MAX else None


def write_pid(path: str, pid: "Optional[int]" = None) -> None:
    """Write *pid* (default: this process) atomically: readers never see a partial file."""
    pid = posix.getpid() if pid is None else pid
    if not 0 < pid <= PID_MAX:
        raise ValueError(f"not a pid: {pid}")
    tmp = f"{path}.{posix.getpid()}.tmp"
    try:
        with open(tmp, "w") as f:
            f.write(f"{pid}\n")
        posix.replace(tmp, path)
    except BaseException:
        try:
            posix.unlink(tmp)
        except OSError:
            pass
        raise


# --- reading /proc -------------------------------------------------------------------------


class ProcInfo:
    """A process as read from ``/proc`` (immutable; compared field by field).

    Fields: ``pid``, ``ppid``, ``comm`` (the kernel's 15-character name), ``state`` (R, S, D,
    T, t, Z, I ... as in ps), ``start_ticks`` (start time since boot, in clock ticks),
    ``uid``, ``exe`` (the executable's path, or None when it cannot be read) and ``argv`` (a
    tuple; ``()`` for kernel threads; None when the command line could not be read in time, as
    for a D-state process).  ``pid`` and ``start_ticks`` together identify the process: a
    reused pid has a different start time.

    A plain class, not a namedtuple: ``collections`` would be most of what a first-level
    monitor imports.
    """

    __slots__ = ("pid", "ppid", "comm", "state", "start_ticks", "uid", "exe", "argv")

    def __init__(self, pid: int, ppid: int, comm: str, state: str, start_ticks: int, uid: int,
                 exe: "Optional[str]", argv: "Optional[Tuple[str, ...]]") -> None:
        for name, value in zip(self.__slots__, (pid, ppid, comm, state, start_ticks, uid, exe, argv)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ProcInfo is read-only: cannot set {name}")

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProcInfo) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"ProcInfo({shown})"

    @property
    def cmdline(self) -> str:
        return " ".join(self.argv) if self.argv is not None else f"[{self.comm}]"

    def is_same(self) -> bool:
        """True while this very process (same pid and start time) exists and is not a zombie,
        dying included: until it is a zombie it may still hold ports and files, which is what
        a stop waits for."""
        stat = _read_stat(self.pid)
        return stat is not None and stat[3] == self.start_ticks and stat[2] != "Z"


def still_running(pid: int, start_ticks: int) -> bool:
    """True while the process *pid* that started at *start_ticks* runs: not gone, not a zombie
    and not dying (its exit under way, it has no command line, so :func:`find` no longer
    matches it).  A pid reused by another process has another start time."""
    stat = _read_stat(pid)
    return stat is not None and stat[3] == start_ticks and stat[2] != "Z" and not stat[4] & PF_EXITING


def _read(path: str, limit: int = 1 << 20) -> bytes:
    """A whole /proc file, read with os.read: three times cheaper than open() per file,
    which counts when scanning every process on each monitor."""
    fd = posix.open(path, posix.O_RDONLY | posix.O_CLOEXEC)
    try:
        chunks = []
        size = 0
        while size < limit:
            chunk = posix.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        posix.close(fd)


def _read_stat(pid: int) -> "Optional[Tuple[str, int, str, int, int]]":
    """(comm, ppid, state, start_ticks, flags) from ``/proc/PID/stat``; None if it is gone."""
    try:
        fd = posix.open(f"/proc/{pid}/stat", posix.O_RDONLY | posix.O_CLOEXEC)
        try:
            data = posix.read(fd, 4096)  # one read: the kernel writes the line, < 1 KiB, at once
        finally:
            posix.close(fd)
    except OSError:
        return None
    # comm may contain spaces and parentheses: it ends at the LAST ")".
    open_paren, close_paren = data.find(b"("), data.rfind(b")")
    if open_paren < 0 or close_paren < open_paren:
        return None
    fields = data[close_paren + 2 :].split()
    if len(fields) < 20:
        return None
    comm = data[open_paren + 1 : close_paren].decode("utf-8", "replace")
    # fields[0] is field 3 of proc(5): state; ppid is 4, flags 9, starttime 22.
    return comm, int(fields[1]), fields[0].decode("ascii", "replace"), int(fields[19]), int(fields[6])


def _read_cmdline(pid: int) -> "Tuple[str, ...]":
    data = _read(f"/proc/{pid}/cmdline")
    if data.endswith(b"\0"):
        data = data[:-1]
    # A process that rewrote its argv into one string (setproctitle) has no NULs: keep it whole.
    return tuple(a.decode("utf-8", "surrogateescape") for a in data.split(b"\0")) if data else ()


def _read_cmdline_bounded(pid: int, timeout: float) -> "Optional[Tuple[str, ...]]":
    """Read the command line in a helper thread, giving up after *timeout* seconds.

    Reading ``/proc/PID/cmdline`` takes the target's memory-map lock; if that process is stuck
    in D state holding it, the read blocks too (the classic "ps hangs").  The read is killable,
    so an abandoned daemon thread ends when this process exits.
    """
    import threading

    result: List[Optional[Tuple[str, ...]]] = [None]

    def read() -> None:
        try:
            result[0] = _read_cmdline(pid)
        except OSError:
            pass

    reader = threading.Thread(target=read, name=f"cmdline-{pid}", daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0]


def read_process(pid: int, *, need_argv: bool = True) -> "Optional[ProcInfo]":
    """Read one process; None if it does not exist (or vanished while being read)."""
    stat = _read_stat(pid)
    if stat is None:
        return None
    comm, ppid, state, start_ticks, flags = stat
    try:
        uid = posix.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
    exe: Optional[str]
    try:
        exe = posix.readlink(f"/proc/{pid}/exe")
        if exe.endswith(" (deleted)"):  # binary replaced by an upgrade: still the same daemon
            exe = exe[: -len(" (deleted)")]
    except OSError:  # kernel thread, zombie, or not ours to see
        exe = None
    argv: Optional[Tuple[str, ...]] = ()
    if need_argv and state != "Z" and not flags & PF_KTHREAD:
        try:
            if state == "D":
                argv = _read_cmdline_bounded(pid, D_STATE_READ_TIMEOUT)
            else:
                argv = _read_cmdline(pid)
        except OSError:
            return None
    return ProcInfo(pid, ppid, comm, state, start_ticks, uid, exe, argv)


def _pids() -> "List[int]":
    return [int(name) for name in posix.listdir("/proc") if name.isdigit()]


# --- matching ------------------------------------------------------------------------------


def contains_component(text: str, needle: str) -> bool:
    """True if *needle* occurs in *text* bounded by non-word characters on both sides.

    Word characters are letters, digits, ``_``, ``.`` and ``-``: ``/srv/a`` is found in
    ``/srv/a``, ``/srv/a/slapd.d`` and ``-F/srv/a``, never in ``/srv/ab`` or ``/srv/a.old``.
    """
    if not needle:
        return True
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        before_ok = start == 0 or text[start - 1] not in _WORD or needle[0] not in _WORD
        after_ok = end == len(text) or text[end] not in _WORD or needle[-1] not in _WORD
        if before_ok and after_ok:
            return True
        start = text.find(needle, start + 1)
    return False


def _basename(path: str) -> str:
    """``os.path.basename`` of a POSIX path, without loading posixpath."""
    return path.rpartition("/")[2]


def _normpath(path: str) -> str:
    """*path* as compared: ``/srv/a/``, ``/srv//a`` and ``/srv/x/../a`` are all ``/srv/a``."""
    from posixpath import normpath

    path = normpath(path)
    return path.rstrip("/") or path  # "//x/" keeps its POSIX "//"; "/" stays "/"


def _flag_values(argv: "Tuple[str, ...]", flag: str) -> "List[str]":
    """Every value *flag* is given in ``argv[1:]``: ``@file`` for ``@``; for a short option
    ``-D /x`` or ``-D/x``; for a long one ``--home /x`` or ``--home=/x``."""
    if flag == "@":
        return [arg[1:] for arg in argv[1:] if arg[:1] == "@"]
    glued = flag + "=" if flag[:2] == "--" else flag
    cut = len(glued)
    values = []
    for i in range(1, len(argv)):
        arg = argv[i]
        if arg == flag:
            if i + 1 < len(argv):
                values.append(argv[i + 1])
        elif arg[:cut] == glued and len(arg) > cut:
            values.append(arg[cut:])
    return values


def _cwd(pid: int) -> "Optional[str]":
    """The working directory of *pid*, or None when it cannot be read (gone, not permitted).

    readlink only: the kernel names the directory without touching the storage behind it,
    which may be a hung NFS mount or an unplugged disk."""
    try:
        return posix.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


class ProcessMatch:
    """Which processes belong to one instance of a service (immutable, hashable).

    ``exe_names``: binaries, as basenames (``ns-slapd``, matched against the executable, argv[0]
    and the kernel's 15-character ``comm``) or absolute paths (``/usr/sbin/slapd``, matched
    against the executable and argv[0]).

    ``args``: ``(flag, value)`` pairs that must ALL be on the command line, exactly: for ``-D``
    (any option) the argument after it, or glued as ``-D/x`` (``--home=/x`` for a long option);
    for ``@`` an argument ``@/x``.  Values are absolute paths and compare after normalisation
    (``/srv/a/`` is ``/srv/a``), whole: ``/srv`` never matches the instance ``/srv/a``.  A
    relative value on the command line (``gwpoa @po.poa``, started in the post office) is
    resolved against the process's working directory; when that cannot be read, it does not
    match.  Flags compare case-sensitively (``-d`` is not ``-D``).

    ``cmdline_contains``: strings that must ALL appear in the command line as whole path
    components (see :func:`contains_component`); looser than ``args``, since a directory also
    matches every instance below it.  ``pidfile``: checked first.  ``user``: a name or uid the
    process must run as.
    """

    __slots__ = ("exe_names", "cmdline_contains", "pidfile", "user", "args", "_paths", "_bases", "_comms")
    exe_names: "Tuple[str, ...]"
    cmdline_contains: "Tuple[str, ...]"
    pidfile: "Optional[str]"
    user: "Optional[Union[str, int]]"
    args: "Tuple[Tuple[str, str], ...]"
    _paths: "FrozenSet[str]"
    _bases: "FrozenSet[str]"
    _comms: "FrozenSet[str]"

    def __init__(
        self,
        exe_names: "Union[Tuple[str, ...], List[str], str]",
        cmdline_contains: "Union[Tuple[str, ...], List[str], str]" = (),
        pidfile: "Optional[str]" = None,
        user: "Optional[Union[str, int]]" = None,
        args: "Union[Tuple[Tuple[str, str], ...], List[Tuple[str, str]]]" = (),
    ) -> None:
        names = (exe_names,) if isinstance(exe_names, str) else tuple(exe_names)
        needles = (cmdline_contains,) if isinstance(cmdline_contains, str) else tuple(cmdline_contains)
        if not names or not all(names):
            raise ValueError("ProcessMatch needs at least one executable name")
        pairs = []
        for pair in args:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"ProcessMatch args are (flag, value) pairs, not {pair!r}")
            flag, value = pair
            if not isinstance(flag, str) or not (flag == "@" or (flag[:1] == "-" and flag.strip("-"))):
                raise ValueError(f"ProcessMatch args: {flag!r} is not an option such as -D, --home or @")
            if not isinstance(value, str) or value[:1] != "/":
                # A relative value would match the same file name in every directory.
                raise ValueError(f"ProcessMatch args: {flag} needs an absolute path, not {value!r}")
            pairs.append((flag, _normpath(value)))
        # "/srv/a/" and "/srv/a" name the same directory.
        needles = tuple(n.rstrip("/") if len(n) > 1 else n for n in needles)
        paths = {n for n in names if "/" in n}
        from posixpath import realpath

        paths |= {realpath(n) for n in paths}  # /usr/sbin/slapd may be a symlink
        init = object.__setattr__
        init(self, "exe_names", names)
        init(self, "cmdline_contains", needles)
        init(self, "pidfile", pidfile)
        init(self, "user", user)
        init(self, "args", tuple(pairs))
        init(self, "_paths", frozenset(paths))
        init(self, "_bases", frozenset(n for n in names if "/" not in n))
        # The kernel's comm: the executable's (or script's) basename, cut to 15 characters.
        init(self, "_comms", frozenset(_basename(n)[:15] for n in names))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ProcessMatch is immutable")

    def _key(self) -> tuple:
        return (self.exe_names, self.cmdline_contains, self.pidfile, self.user, self.args)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProcessMatch) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return ("ProcessMatch(exe_names={!r}, cmdline_contains={!r}, pidfile={!r}, user={!r}, args={!r})"
                .format(*self._key()))

    def _uid(self) -> "Optional[int]":
        if self.user is None or isinstance(self.user, int):
            return self.user
        if self.user.isdigit():
            return int(self.user)
        import pwd

        try:
            return pwd.getpwnam(self.user).pw_uid
        except KeyError:
            return -1  # an unknown user owns no process

    def exe_matches(self, comm: str, exe: "Optional[str]", argv: "Optional[Tuple[str, ...]]") -> bool:
        """Is this the binary?  For a ``#!`` script the kernel runs the interpreter, with the
        script's path as argv[1] and its name as comm, so that counts too."""
        argv = argv or ()
        if self._paths:
            if exe in self._paths or (argv and argv[0] in self._paths):
                return True
            if len(argv) > 1 and argv[1] in self._paths and comm == _basename(argv[1])[:15]:
                return True
        if self._bases:
            if exe is not None and _basename(exe) in self._bases:
                return True
            if argv and _basename(argv[0]) in self._bases:
                return True
            if comm in self._comms:
                return True
        return False

    def matches(self, info: "ProcInfo", uid: "Optional[int]" = None) -> bool:
        """Does *info* belong to this instance?  Zombies and kernel threads never do."""
        if info.state == "Z" or info.argv == ():
            return False
        if uid is not None and info.uid != uid:
            return False
        if not self.exe_matches(info.comm, info.exe, info.argv):
            return False
        if info.argv is None:  # command line unreadable (D state): cannot tell the instance
            return not self.cmdline_contains and not self.args
        if not all(any(contains_component(arg, n) for arg in info.argv) for n in self.cmdline_contains):
            return False
        return self._args_match(info)

    def _args_match(self, info: "ProcInfo") -> bool:
        cwd: Optional[str] = None  # read at most once, and only for a relative value
        for flag, wanted in self.args:
            for given in _flag_values(info.argv, flag):  # type: ignore[arg-type]
                if not given:
                    continue
                if given[0] != "/":
                    if cwd is None:
                        cwd = _cwd(info.pid) or ""
                    if not cwd:  # unreadable: a relative value cannot name this instance
                        continue
                    given = f"{cwd}/{given}"
                if _normpath(given) == wanted:
                    break
            else:
                return False
        return True


def _may_match(match: "ProcessMatch", comm: str, pid: int) -> bool:
    """Cheap pre-filter before reading a command line: comm or executable might match."""
    if comm in match._comms:
        return True
    try:
        exe = posix.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    if exe.endswith(" (deleted)"):
        exe = exe[: -len(" (deleted)")]
    return exe in match._paths or _basename(exe) in match._bases


def find(match: "ProcessMatch", *, every: bool = False,
         known_pid: "Optional[int]" = None) -> "List[ProcInfo]":
    """The running processes of the instance described by *match*.

    The pid file comes first (or, for a product that writes none, *known_pid*: where the caller
    last found it): if it names a live process that matches, that process is the answer (cheap,
    for monitors) -- or, with *every*, the first of the list.  Otherwise, or with *every*, the
    process table is scanned.  A stale pid file or a reused pid never counts, and neither does
    the calling process: an agent may bear its product's name (``ocf:mailha:gwpoa`` runs as
    ``python3 .../gwpoa``, comm ``gwpoa``) and must never find, or stop, itself.
    """
    uid = match._uid()
    found: List[ProcInfo] = []
    me = posix.getpid()
    pid = read_pid(match.pidfile) if match.pidfile else known_pid
    if pid is not None and pid != me:
        info = read_process(pid)
        if info is not None and info.argv is None and info.state == "D":
            # Cannot read the command line of a D-state process: the pid file and the
            # executable vouch for it; it counts as running.
            if (uid is None or info.uid == uid) and match.exe_matches(info.comm, info.exe, ()):
                found.append(info)
        elif info is not None and match.matches(info, uid):
            found.append(info)
        if found and not every:
            return found
    seen = {p.pid for p in found}
    seen.add(me)
    for pid in _pids():
        if pid in seen:
            continue
        stat = _read_stat(pid)
        if stat is None:  # vanished since listdir
            continue
        comm, _ppid, state, _start, flags = stat
        if state == "Z" or flags & PF_KTHREAD or not _may_match(match, comm, pid):
            continue
        info = read_process(pid)
        if info is not None and match.matches(info, uid):
            found.append(info)
    return found


def children(pid: int) -> "List[ProcInfo]":
    """All live descendants of *pid*, read from /proc (ppid links)."""
    by_parent: Dict[int, List[int]] = {}
    for other in _pids():
        stat = _read_stat(other)
        if stat is not None and stat[2] != "Z":
            by_parent.setdefault(stat[1], []).append(other)
    result: List[ProcInfo] = []
    todo = list(by_parent.get(pid, ()))
    while todo and len(result) < 100_000:
        child = todo.pop()
        info = read_process(child, need_argv=False)
        if info is not None:
            result.append(info)
            todo.extend(by_parent.get(child, ()))
    return result


# --- stopping ------------------------------------------------------------------------------


class StopResult:
    """What :func:`stop` had to do.

    ``pids``: every process it was to stop (the given ones and their descendants).
    ``steps``: the escalation steps taken, in order, from ``"graceful"``, ``"term"``, ``"kill"``.
    ``termed``/``killed``: the pids that got the term signal / SIGKILL.  ``survivors``:
    ``(pid, state)`` of processes still alive at the end -- typically ``D`` (uninterruptible
    sleep, which even SIGKILL cannot end until the kernel call returns).  ``seconds``: time
    taken.  ``graceful_error``: the message of an exception the graceful action raised.
    """

    __slots__ = ("pids", "steps", "termed", "killed", "survivors", "seconds", "graceful_error")

    def __init__(
        self,
        pids: "Tuple[int, ...]" = (),
        steps: "Optional[List[str]]" = None,
        termed: "Tuple[int, ...]" = (),
        killed: "Tuple[int, ...]" = (),
        survivors: "Tuple[Tuple[int, str], ...]" = (),
        seconds: float = 0.0,
        graceful_error: "Optional[str]" = None,
    ) -> None:
        self.pids = pids
        self.steps = [] if steps is None else steps
        self.termed = termed
        self.killed = killed
        self.survivors = survivors
        self.seconds = seconds
        self.graceful_error = graceful_error

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"StopResult({fields})"

    @property
    def stopped(self) -> bool:
        return not self.survivors

    def describe(self) -> str:
        """One line for a log or an exit reason."""
        how = " then ".join(self.steps) or "nothing to do"
        text = f"stopped {len(self.pids)} process(es) by {how} in {self.seconds:.1f}s"
        if self.killed:
            text += f"; SIGKILL needed for pid(s) {', '.join(map(str, self.killed))}"
        if self.graceful_error:
            text += f"; graceful stop failed: {self.graceful_error}"
        if self.survivors:
            states = ", ".join(f"{pid} ({_STATE_NAMES.get(s, s)})" for pid, s in self.survivors)
            text = f"could not stop pid(s) {states} (after {how}, {self.seconds:.1f}s)"
        return text


_STATE_NAMES = {"D": "uninterruptible sleep, D state", "T": "stopped", "Z": "zombie"}


def _capture(processes: "Iterable[Union[ProcInfo, int]]") -> "List[psutil.Process]":
    """psutil handles for the given processes and all their descendants, taken now.

    A :class:`ProcInfo` whose pid now belongs to another process (different start time) is
    dropped: it already ended.
    """
    import psutil

    tree: Dict[int, psutil.Process] = {}
    for item in processes:
        if isinstance(item, ProcInfo):
            if not item.is_same():
                continue
            pid = item.pid
        else:
            pid = int(item)
        try:
            proc = psutil.Process(pid)
            tree.setdefault(pid, proc)
            for child in proc.children(recursive=True):
                tree.setdefault(child.pid, child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        except psutil.AccessDenied:
            tree.setdefault(pid, proc)
    return list(tree.values())


def _alive(proc: "psutil.Process") -> bool:
    import psutil

    try:
        # is_running() also compares the start time: a reused pid is not our process.
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True


def _wait_gone(procs: "List[psutil.Process]", until: float) -> "List[psutil.Process]":
    """Wait until every process in *procs* has ended or *until* passes; return the living.

    Polls with a growing interval (5 ms to 100 ms) rather than os.waitpid: the processes of a
    service are rarely our children, and a zombie counts as ended.
    """
    from .ocf.budget import wait_until

    wait_until(lambda: not any(_alive(p) for p in procs), until, first=0.005, longest=0.1)
    return [p for p in procs if _alive(p)]


def _signal(procs: "List[psutil.Process]", sig: int) -> "List[int]":
    import psutil

    sent = []
    for proc in procs:
        try:
            proc.send_signal(sig)  # psutil refuses if the pid was reused
            sent.append(proc.pid)
            if sig != SIGKILL and proc.status() == psutil.STATUS_STOPPED:
                proc.send_signal(SIGCONT)  # a stopped process only acts on it once resumed
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            pass
    return sent


def stop(
    processes: "Iterable[Union[ProcInfo, int]]",
    deadline: float,
    *,
    graceful: "Optional[Callable[[float], object]]" = None,
    term_signal: int = SIGTERM,
    kill_reserve: "Optional[float]" = None,
) -> "StopResult":
    """Stop *processes* and everything they spawned, escalating, before *deadline*.

    *processes*: every process of the instance (``find(match, every=True)``), or pids.
    *deadline* is a ``time.monotonic()`` value.  The process tree is captured before any
    signal, so children that are reparented when their parent dies are still stopped.

    1. *graceful* (e.g. the product's stop command) is called with the deadline it must respect
       (a ``time.monotonic()`` value, 60% of the way to ``deadline - kill_reserve``); then the
       processes get until that moment to exit.
       An exception from it is recorded, and escalation continues.
    2. *term_signal* to whatever remains (plus SIGCONT to stopped processes), and a wait until
       ``deadline - kill_reserve``.
    3. SIGKILL to whatever remains, and a wait for them to vanish, ending a little before
       *deadline* so that the caller's operation never times out.

    *kill_reserve* defaults to a quarter of the time available, at most 2 s.  The result tells
    what was needed; processes that survive even SIGKILL (D state) are in ``survivors``.
    Process trouble (vanished, not permitted) never raises: it shows in the result.
    """
    started = time.monotonic()
    result = StopResult()
    tree = _capture(processes)
    result.pids = tuple(p.pid for p in tree)
    if kill_reserve is None:
        kill_reserve = min(2.0, max(0.0, deadline - started) * 0.25)
    kill_at = deadline - kill_reserve
    alive = [p for p in tree if _alive(p)]

    if alive and graceful is not None:
        result.steps.append("graceful")
        graceful_until = started + max(0.0, kill_at - started) * 0.6  # leave time for TERM
        try:
            graceful(graceful_until)
        except Exception as error:  # the product's stop command failing is not our failure
            result.graceful_error = " ".join(str(error).split()) or type(error).__name__
        alive = _wait_gone(alive, graceful_until)

    if alive:
        result.steps.append("term")
        result.termed = tuple(_signal(alive, term_signal))
        alive = _wait_gone(alive, kill_at)

    if alive:
        result.steps.append("kill")
        result.killed = tuple(_signal(alive, SIGKILL))
        alive = _wait_gone(alive, deadline - kill_reserve * 0.2)

    survivors = []
    for proc in alive:
        try:
            survivors.append((proc.pid, _read_stat(proc.pid)[2]))  # type: ignore[index]
        except TypeError:  # vanished at the last moment
            continue
    result.survivors = tuple(survivors)
    result.seconds = time.monotonic() - started
    return result
