"""Machinery of the hostile-input trials (``test_hostile_inputs.py``): running an installed
agent with one trial's parameters, the properties every run must have, snapshots of what no
agent may change, and the checks of the processes an agent starts.

One run is one action of an installed agent in a clean environment, as Pacemaker runs it, with
its own ``HA_RSCTMP`` (trials never see each other's state), ``HA_LOGFILE``, ``HA_DEBUGLOG``
(``HA_debug=1``) and an ``OCF_TRACE_RA`` trace, all in the run's own directory, and a hard
time limit: an agent that hangs (a FIFO opened for reading) is a finding, not a stuck test.
"""

from __future__ import annotations

import itertools
import os
import shlex
import stat
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from mailha.proc import ProcessMatch, find

#: Every exit code of the OCF resource agent API (OCF 1.1 with the degraded states).
OCF_CODES = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191})
REASON_MARK = "ocf-exit-reason:"
REASON_MAX = 128
#: Three at a time keep two cores busy: a run is mostly Python starting up, and waiting for it.
WORKERS = 3
#: Seconds an agent may take beyond its operation timeout before the run counts as a hang.
OVERRUN_MARGIN = 10.0


# -- one run ------------------------------------------------------------------------------------


@dataclass
class Run:
    """One action of one agent with one set of parameters, and what came of it."""

    agent: str
    action: str
    params: dict[str, object]
    label: str = ""  # what the trial changed, for the report
    interval: int | None = None
    check_level: int | None = None
    timeout_ms: int = 20000
    extra: dict[str, str] = field(default_factory=dict)
    instance: str = "hostile"
    # filled in by run():
    rc: int | None = None  # None: overran its time limit and was killed
    stdout: str = ""
    stderr: str = ""
    logs: dict[str, str] = field(default_factory=dict)  # file name -> text (log, debug log, traces)
    env: dict[str, str] = field(default_factory=dict)
    began: float = 0.0  # time.monotonic() around the run
    ended: float = 0.0

    @property
    def kind(self) -> str:
        """The action as Pacemaker would name the operation: a monitor is a probe at interval 0."""
        if self.action == "monitor":
            return "probe" if self.interval == 0 else "monitor"
        return self.action

    @property
    def reasons(self) -> list[str]:
        return [line[len(REASON_MARK):] for line in self.stderr.splitlines() if line.startswith(REASON_MARK)]

    @property
    def reason(self) -> str:
        return self.reasons[-1] if self.reasons else ""

    def texts(self) -> dict[str, str]:
        """Everything the run left that someone could read: its output, its log files, traces."""
        return {"stdout": self.stdout, "stderr": self.stderr, **self.logs}

    def describe(self) -> str:
        extra = f" OCF_CHECK_LEVEL={self.check_level}" if self.check_level is not None else ""
        return f"{self.agent} {self.kind}{extra} [{self.label or 'base'}] -> rc {self.rc}"

    def repro(self) -> str:
        """A shell command that runs the same action by hand (files named must still exist)."""
        # What the harness adds for its own bookkeeping is left out: logs go to stderr then.
        keep = {k: v for k, v in self.env.items()
                if not k.startswith(("HA_", "OCF_TRACE", "OCF_RESKEY_trace_dir", "OCF_RESOURCE_PROVIDER",
                                     "OCF_RESOURCE_TYPE", "OCF_RESKEY_CRM_meta_timeout"))}
        words = ["env", "-i"] + [f"{k}={shell_value(v)}" for k, v in sorted(keep.items())]
        return " ".join(words + [f"/usr/lib/ocf/resource.d/mailha/{self.agent}", shlex.quote(self.action)])


def shell_value(value: str) -> str:
    """*value* quoted for a shell; a long repetition is written as the printf that makes it."""
    if len(value) > 100:
        unit = value[0]
        if value == unit * len(value):
            return f'"$(printf \'{unit}%.0s\' $(seq {len(value)}))"'
        return shlex.quote(value[:60]) + f"...({len(value)} characters)"
    if any(ord(ch) < 32 or ord(ch) == 127 or 0xDC80 <= ord(ch) <= 0xDCFF for ch in value):
        return "$'" + "".join(_c_escape(ch) for ch in value) + "'"
    return shlex.quote(value)


def _c_escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 32 or code == 127:
        return f"\\x{code:02x}"
    return "\\'" if ch == "'" else ("\\\\" if ch == "\\" else ch)


class Harness:
    """Runs agents for one test: each run in its own directory under *base*."""

    def __init__(self, base: str, runner_for: Callable[[str], object]) -> None:
        self.base = base
        self._make_runner = runner_for  # agent name -> a tests/conftest.py AgentRunner
        self._runners: dict[str, object] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)  # next() is atomic: runs come from several threads
        self.count = 0
        os.makedirs(base, exist_ok=True)

    def runner_for(self, agent: str):
        with self._lock:
            if agent not in self._runners:
                self._runners[agent] = self._make_runner(agent)
            return self._runners[agent]

    def run(self, job: Run) -> Run:
        number = next(self._numbers)
        self.count = max(self.count, number)
        where = os.path.join(self.base, f"run{number:05d}")
        os.makedirs(where)
        extra = {
            "HA_LOGFILE": os.path.join(where, "agent.log"),
            "HA_DEBUGLOG": os.path.join(where, "debug.log"),
            "HA_debug": "1",
            "HA_RSCTMP": os.path.join(where, "rsctmp"),
            "OCF_TRACE_RA": "1",
            "OCF_RESKEY_trace_dir": os.path.join(where, "trace"),
            "OCF_RESOURCE_INSTANCE": job.instance,
        }
        extra.update(job.extra)
        runner = self.runner_for(job.agent)
        env = runner.env(job.params, job.interval, job.check_level, job.timeout_ms, extra)
        job.env = env
        limit = job.timeout_ms / 1000 + OVERRUN_MARGIN
        job.began = time.monotonic()
        try:
            done = subprocess.run([runner.path, job.action], env=env, capture_output=True, timeout=limit,
                                  check=False, stdin=subprocess.DEVNULL)
            job.rc = done.returncode
            job.stdout = done.stdout.decode("utf-8", "backslashreplace")
            job.stderr = done.stderr.decode("utf-8", "backslashreplace")
        except subprocess.TimeoutExpired as err:
            job.rc = None
            job.stdout = (err.stdout or b"").decode("utf-8", "backslashreplace")
            job.stderr = (err.stderr or b"").decode("utf-8", "backslashreplace")
        job.ended = time.monotonic()
        job.logs = read_tree(where)
        return job

    def run_all(self, jobs: Sequence[Run]) -> list[Run]:
        """Run *jobs* WORKERS at a time (each keeps its own state directory, so the order inside
        one batch does not matter); returns them in the order given."""
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(self.run, jobs))

    def run_apart(self, jobs: Sequence[Run], key: Callable[[Run], object]) -> list[Run]:
        """Like :meth:`run_all`, but jobs of one ``key(job)`` one after the other: starts that
        write into the files of the instance they name (Pacemaker never runs two starts of one
        resource at once, and the trials of one base all name its instance).  The longest lanes
        go first; returns the jobs in the order given."""
        lanes: dict[object, list[int]] = {}
        for index, job in enumerate(jobs):
            lanes.setdefault(key(job), []).append(index)
        done: list[Run | None] = [None] * len(jobs)

        def lane(indices: list[int]) -> None:
            for index in indices:
                done[index] = self.run(jobs[index])

        with ThreadPoolExecutor(WORKERS) as pool:
            for future in [pool.submit(lane, indices) for indices in sorted(lanes.values(), key=len, reverse=True)]:
                future.result()
        return [job for job in done if job is not None]


def read_tree(top: str, limit: int = 4 << 20) -> dict[str, str]:
    """The text of every regular file under *top* (logs, traces), keyed by relative path."""
    found = {}
    for directory, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(directory, name)
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            with open(path, "rb") as handle:
                found[os.path.relpath(path, top)] = handle.read(limit).decode("utf-8", "backslashreplace")
    return found


# -- properties of every run ---------------------------------------------------------------------


def secret_probes(secrets: Iterable[str]) -> list[str]:
    """What to look for: the first 10 characters of each secret marker, so that a cut or partly
    quoted secret is found too (markers are random: their start appears nowhere by chance)."""
    return sorted({s[:10] for s in secrets if s})


def run_problems(run: Run, secrets: Iterable[str]) -> list[str]:
    """What is wrong with *run* whatever its action: a hang, a traceback, an exit code outside
    OCF's, an exit reason Pacemaker would cut, a secret anywhere it left text.  A problem seen
    in several places (stderr, the logs, the trace) is one problem naming them all."""
    problems = []
    if run.rc is None:
        problems.append(f"overran its {run.timeout_ms / 1000:g}s operation timeout by {OVERRUN_MARGIN:g}s "
                        f"and was killed (a hang)")
    elif run.rc not in OCF_CODES:
        problems.append(f"exit code {run.rc} is not an OCF exit code")
    texts = run.texts()
    needles = [("a Python traceback", "Traceback"), ("an internal error", "internal error in ")]
    needles += [(f"a secret ({probe}...)", probe) for probe in secret_probes(secrets)]
    for what, needle in needles:
        where = [name for name, text in texts.items() if needle in text]
        if where:
            sample = texts[where[0]]
            problems.append(f"{what} in {', '.join(where)}: {excerpt(sample, needle)}")
    for reason in run.reasons:
        size = len(reason.encode("utf-8", "surrogateescape"))
        if size > REASON_MAX:
            problems.append(f"exit reason of {size} bytes (Pacemaker keeps {REASON_MAX}): {reason[:200]!r}")
    if len(run.reasons) > 1:
        problems.append(f"{len(run.reasons)} exit reason lines (Pacemaker keeps the last): {run.reasons!r}")
    return problems


def excerpt(text: str, needle: str, width: int = 160) -> str:
    at = text.find(needle)
    start = max(0, at - width // 4)
    return repr(text[start:start + width])


# -- snapshots of what no agent may change -------------------------------------------------------


def fingerprint(path: str) -> tuple | None:
    """(type and mode, uid, gid, mtime, size) of *path* itself (not followed), or None if absent."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_size)


def tree_fingerprints(top: str, skip: Iterable[str] = ()) -> dict[str, tuple | None]:
    """Fingerprints of *top* and everything below it, except the subtrees named in *skip*."""
    skipped = {os.path.normpath(s) for s in skip}
    found = {top: fingerprint(top)}
    for directory, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(directory, d) not in skipped]
        for name in dirs + files:
            path = os.path.join(directory, name)
            if path not in skipped:
                found[path] = fingerprint(path)
    return found


@dataclass
class Snapshot:
    """What no trial may change.

    * *strict*: paths and whole trees (sentinels made for the trials: a root-owned directory
      used as the parent of a pid file, another instance's startup files and configuration,
      ``/run/resource-agents`` but mailha's own state): existence, mode, owner, mtime and size.
    * *shared*: the top level of ``/tmp`` and ``/run``, which other sessions on this machine
      write to while the trials run (their files come and go): there an entry present before
      and after must keep its mode and owner, and a new entry must belong to root and carry
      none of the trials' tokens.  A chown or chmod of an existing directory is what the
      agents got wrong before (``pidfile=/run/x.pid`` chowned ``/run``).

    *instance_paths* are paths a trial's configuration names as the instance's own (pid files):
    their missing directories may be created for the server's user, which is the rule (issue 7:
    "a run directory its configuration names").  :meth:`remove_created` removes them again.
    """

    strict_paths: list[str]
    strict_trees: list[tuple[str, tuple[str, ...]]]
    shared_dirs: list[str]
    tokens: tuple[str, ...]
    instance_paths: set[str] = field(default_factory=set)
    before: dict[str, dict] = field(default_factory=dict)

    def named_by_instance(self, path: str) -> bool:
        """*path* is a directory on the way to a path the configuration names (or that path)."""
        path = os.path.normpath(path)
        return any(p == path or p.startswith(path.rstrip("/") + "/") for p in self.instance_paths)

    def take(self) -> dict[str, dict]:
        strict: dict[str, tuple | None] = {p: fingerprint(p) for p in self.strict_paths}
        for top, skip in self.strict_trees:
            strict.update(tree_fingerprints(top, skip))
        shared = {}
        for top in self.shared_dirs:
            shared[top] = fingerprint(top)
            for name in os.listdir(top) if os.path.isdir(top) else ():
                shared[os.path.join(top, name)] = fingerprint(os.path.join(top, name))
        return {"strict": strict, "shared": shared}

    def start(self) -> None:
        self.before = self.take()

    def changes(self) -> list[str]:
        after = self.take()
        found = []
        old, new = self.before["strict"], after["strict"]
        for path in sorted(set(old) | set(new)):
            if old.get(path) != new.get(path):
                found.append(f"{path}: {describe_fp(old.get(path))} -> {describe_fp(new.get(path))}")
        old, new = self.before["shared"], after["shared"]
        for path in sorted(set(old) | set(new)):
            was, now = old.get(path), new.get(path)
            if was is not None and now is not None and was[:3] != now[:3]:
                found.append(f"{path}: {describe_fp(was)} -> {describe_fp(now)}")
            elif was is None and now is not None and not self.named_by_instance(path) and (
                    now[1] != 0 or now[2] != 0 or any(t in path for t in self.tokens)):
                found.append(f"{path}: created, {describe_fp(now)}")
            elif now is None and any(t in path for t in self.tokens):
                found.append(f"{path}: removed")
        return found


    def remove_created(self) -> None:
        """Remove what the trials created, as their configurations allowed, in the shared
        directories: the machine's /tmp and /run are not the test's to leave things in."""
        import shutil

        for top in self.shared_dirs:
            for name in os.listdir(top) if os.path.isdir(top) else ():
                path = os.path.join(top, name)
                if path not in self.before["shared"] and self.named_by_instance(path):
                    shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)


def describe_fp(fp: tuple | None) -> str:
    if fp is None:
        return "absent"
    mode, uid, gid, mtime, size = fp
    return f"{stat.filemode(mode)} {uid}:{gid} mtime {mtime} size {size}"


# -- the processes an agent starts ----------------------------------------------------------------


def read_proc(pid: int, name: str) -> bytes | None:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return None


def child_problems(what: str, environ: bytes, cmdline: bytes, secrets: Iterable[str], *,
                   params_allowed: Sequence[str] = (), meta_allowed: bool = False) -> list[str]:
    """What is wrong with a process the agent started, from its environment and argv as the
    kernel shows them: an ``OCF_RESKEY_*`` (but those in *params_allowed*, the non-secret
    parameters a monitor program asked for, and with *meta_allowed* the operation's
    ``OCF_RESKEY_CRM_meta_*``, which a monitor program is given), no ``LC_ALL=C``, a secret
    anywhere."""
    problems = []
    variables = [item for item in environ.split(b"\0") if item]
    names = [item.split(b"=", 1)[0].decode("utf-8", "backslashreplace") for item in variables]
    reskeys = [n for n in names if n.startswith("OCF_RESKEY_") and n[len("OCF_RESKEY_"):] not in params_allowed
               and not (meta_allowed and n.startswith("OCF_RESKEY_CRM_meta_"))]
    if reskeys:
        problems.append(f"{what}: the agent's parameters in its environment: {', '.join(sorted(reskeys))}")
    if b"LC_ALL=C" not in variables:
        locale = [v.decode("utf-8", "backslashreplace") for v in variables if v.startswith(b"LC_ALL=")]
        problems.append(f"{what}: environment without LC_ALL=C ({locale or 'no LC_ALL'})")
    for probe in secret_probes(secrets):
        needle = probe.encode()
        if needle in environ:
            problems.append(f"{what}: a secret ({probe}...) in its environment")
        if needle in cmdline:
            problems.append(f"{what}: a secret ({probe}...) in its command line")
    return problems


def process_problems(pid: int, what: str, secrets: Iterable[str]) -> list[str]:
    environ, cmdline = read_proc(pid, "environ"), read_proc(pid, "cmdline")
    if environ is None or cmdline is None:
        return [f"{what}: pid {pid} vanished before its environment could be read"]
    return child_problems(f"{what} (pid {pid})", environ, cmdline, secrets)


def product_processes(names: Sequence[str]) -> list[int]:
    """Pids of every process running one of the product's executables (any instance, anyone's):
    what a stop that cannot identify its instance must not kill and must report.  The agents
    themselves are not the product, although gwia and gwpoa bear its names."""
    return [info.pid for info in find(ProcessMatch(exe_names=tuple(names)), every=True)
            if not any("/resource.d/" in arg for arg in info.argv or ())]


class ProductWatch:
    """Notes, every few hundredths of a second, which processes of the product run on this node:
    other sessions on this machine start and stop them at any time, and a stop that cannot
    identify its instance rightly fails while one runs (see :meth:`seen`)."""

    def __init__(self, names: Sequence[str], every: float = 0.05) -> None:
        self.names, self.every = tuple(names), every
        self.samples: list[tuple[float, tuple[int, ...]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), tuple(product_processes(self.names))))
            self._stop.wait(self.every)

    def __enter__(self) -> "ProductWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def seen(self, run: Run) -> bool:
        """Whether a process of the product ran while *run* did: seen by a sample, or named by
        the run's exit reason (a process too short-lived for the samples)."""
        window = [pids for at, pids in self.samples if run.began - self.every <= at <= run.ended + self.every]
        return any(window) or any(f"({name})" in run.reason for name in self.names)


# -- stand-in programs ----------------------------------------------------------------------------

RECORDER = """#!/bin/sh
# Stand-in for a program the agent runs: records the environment and argv it was given
# (as the kernel shows them) and {what}.
cat /proc/$$/environ > {records}/$$.environ 2>/dev/null
cat /proc/$$/cmdline > {records}/$$.cmdline 2>/dev/null
{tail}
"""


def write_recorder(path: str, records: str, *, exit_code: int, say: str = "") -> str:
    """An executable at *path* that records its environment and argv under *records* and exits
    *exit_code* at once (a product binary that fails to start, or a monitor program)."""
    what = f"exits {exit_code}"
    tail = (f"echo {shlex.quote(say)}\n" if say else "") + f"exit {exit_code}"
    with open(path, "w", encoding="ascii") as handle:
        handle.write(RECORDER.format(what=what, records=shlex.quote(records), tail=tail))
    os.chmod(path, 0o755)
    return path


def recorded(records: str) -> list[tuple[int, bytes, bytes]]:
    """(pid, environ, cmdline) of every run of the recorders writing to *records*."""
    found = []
    for name in sorted(os.listdir(records)):
        if name.endswith(".environ"):
            pid = name.split(".", 1)[0]
            with open(os.path.join(records, name), "rb") as env, \
                    open(os.path.join(records, f"{pid}.cmdline"), "rb") as argv:
                found.append((int(pid), env.read(), argv.read()))
    return found


def environ_value(environ: bytes, name: str) -> str | None:
    prefix = name.encode() + b"="
    for item in environ.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix):].decode("utf-8", "backslashreplace")
    return None
