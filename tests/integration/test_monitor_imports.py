"""What a monitor imports beyond the interpreter's own start (``python3 -IS -c pass``).

Pacemaker starts one agent process per monitor, on every node, every few seconds; the check
itself is cheap, the imports are not.  Each agent's monitor runs here against a running
service, at the first level (processes) and with its second level (protocol probes), and the
modules it loaded beyond a bare ``-IS`` interpreter must be exactly those pinned below, for the
interpreter that runs the agents under test (the distribution's, or Python 3.6 in the 3.6
tier).  Each level runs twice: the first monitor takes the full path (the agent imported, every
parameter checked) and records its answer; the second is answered by the fast path
(:mod:`mailha.service.fastpath`), which must import only what its checks need.  A new import on
either path fails here: take it off the path, or pin it with a reason.
"""

import os
import subprocess

from admintest import adminlab_fixture  # noqa: F401
from gwtest import gwlab_fixture  # noqa: F401
from mstest import mslab_fixture  # noqa: F401
from testkit import CAPTURE_TEXT

# Runs the agent file as its interpreter would (compiled and executed as __main__) and reports,
# when the agent ends with posix._exit (os._exit), the modules loaded beyond what the bare
# interpreter had.  The harness itself loads nothing: posix is already there (os is not).
HARNESS = r"""
import posix, sys
bare = set(sys.modules)
out, agent = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[2:]
real_exit = posix._exit
def report(rc=0):
    found = " ".join(sorted(set(sys.modules) - bare))
    fd = posix.open(out, posix.O_WRONLY | posix.O_CREAT | posix.O_TRUNC, 0o644)
    posix.write(fd, found.encode())
    posix.close(fd)
    real_exit(rc)
posix._exit = report  # how both the fast path and Agent.main leave
with open(agent, "rb") as handle:
    code = compile(handle.read(), agent, "exec")
exec(code, {"__name__": "__main__", "__file__": agent})
"""

def interpreter(agent: str) -> str:
    with open(agent, encoding="utf-8") as handle:
        first = handle.readline()
    assert first.startswith("#!") and first.rstrip().endswith(" -IS"), first
    return first[2:].split()[0]


def version(python: str) -> str:
    done = subprocess.run([python, "-IS", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          timeout=30, **CAPTURE_TEXT)
    return done.stdout.strip()


def imports(agent: str, env: "dict", out: str) -> "set":
    done = subprocess.run([interpreter(agent), "-IS", "-c", HARNESS, out, agent, "monitor"], env=env,
                          timeout=60, **CAPTURE_TEXT)
    assert done.returncode == 0, done.stderr
    with open(out, encoding="utf-8") as handle:
        return set(handle.read().split())


#: Modules the bare interpreter has already loaded, which a monitor's imports never show.
PRELOADED = {"3.6": set(), "3.11": {"time"}}
#: What the fast path loads to answer a first-level monitor: the record, the /proc check.  Not
#: os: its C layer (posix) is there already, and os would load posixpath and _collections_abc.
FAST = {"_stat", "errno", "stat", "time", "mailha", "mailha.cadence", "mailha.files", "mailha.ocf",
        "mailha.ocf.state", "mailha.proc", "mailha.service", "mailha.service.fastpath"}
OS = {"_collections_abc", "genericpath", "os", "os.path", "posixpath"}
#: What every full monitor loads: the framework, the lifecycle, the /proc scan, the record.
FRAMEWORK = FAST | OS | {
    "mailha.agents", "mailha.monitor", "mailha.ocf.agent", "mailha.ocf.budget", "mailha.ocf.codes", "mailha.ocf.log",
    "mailha.ocf.params", "mailha.service.lifecycle", "mailha.service.model",
}
GROUPWISE = FRAMEWORK | {"mailha.groupwise", "mailha.groupwise.agentlib", "mailha.groupwise.paths",
                         "mailha.service.storage"}
PROBING = {"_socket", "mailha.probes", "mailha.probes._common", "mailha.service.probing"}
#: What the fast path adds for the second level: the probes, and no OCF error (none is raised).
FAST_PROBING = PROBING | {"mailha.ocf.budget", "mailha.service.model"}
LDAP_PROBES = {"mailha.ber", "mailha.probes.ldap"}
GWPOA_PROBES = {"mailha.probes.http", "mailha.probes.tcp"}
GWIA_PROBES = {"mailha.ber", "mailha.probes.http", "mailha.probes.imap", "mailha.probes.ldap", "mailha.probes.pop3",
               "mailha.probes.smtp", "mailha.probes.tcp"}
MSGSRV = FRAMEWORK | {"_socket", "mailha.agents.msgsrv", "mailha.msgsrv", "mailha.msgsrv.layout",
                      "mailha.msgsrv.services"}
ADMINSRV = FRAMEWORK | {"_socket", "mailha.adminsrv", "mailha.adminsrv.conf", "mailha.adminsrv.layout",
                        "mailha.agents.adminsrv"}
PINNED = {
    ("ldap", "first", "full"): FRAMEWORK | {"_socket", "mailha.agents.ldap", "mailha.directory",
                                            "mailha.directory.paths"},
    ("ldap", "second", "full"): FRAMEWORK | PROBING | LDAP_PROBES | {"mailha.agents.ldap", "mailha.directory",
                                                                     "mailha.directory.paths"},
    ("gwpoa", "first", "full"): GROUPWISE | {"mailha.agents.gwpoa"},
    ("gwpoa", "second", "full"): GROUPWISE | PROBING | GWPOA_PROBES | {"mailha.agents.gwpoa"},
    ("gwia", "first", "full"): GROUPWISE | {"mailha.agents.gwia"},
    ("gwia", "second", "full"): GROUPWISE | PROBING | GWIA_PROBES | {"mailha.agents.gwia"},
    # The services resource: IMAP, POP3 and HTTP on the virtual IP, no child process.
    ("msgsrv", "first", "full"): MSGSRV,
    ("msgsrv", "second", "full"): MSGSRV | PROBING | {"mailha.probes.http", "mailha.probes.imap",
                                                      "mailha.probes.pop3"},
    ("adminsrv", "first", "full"): ADMINSRV,
    # The admin user's HTTP Basic credentials: binascii.
    ("adminsrv", "second", "full"): ADMINSRV | PROBING | {"binascii", "mailha.probes.http"},
    ("ldap", "first", "fast"): FAST,
    ("ldap", "second", "fast"): FAST | FAST_PROBING | LDAP_PROBES,
    ("gwpoa", "first", "fast"): FAST,
    ("gwpoa", "second", "fast"): FAST | FAST_PROBING | GWPOA_PROBES,
    ("gwia", "first", "fast"): FAST,
    ("gwia", "second", "fast"): FAST | FAST_PROBING | GWIA_PROBES,
    ("msgsrv", "first", "fast"): FAST,
    ("msgsrv", "second", "fast"): FAST | FAST_PROBING | {"mailha.probes.http", "mailha.probes.imap",
                                                         "mailha.probes.pop3"},
    ("adminsrv", "first", "fast"): FAST,
    # An authenticated probe is never answered by the fast path (its record keeps no password).
    ("adminsrv", "second", "fast"): ADMINSRV | PROBING | {"binascii", "mailha.probes.http"},
}
#: second_level_monitor: never, every monitor, every third.  With a cadence the first monitor
#: (count 0) probes; the next (count 1) only counts, which writes the state file.
LEVELS = {"first": "0", "second": "1", "cadence": "3"}


def expected(agent: str, level: str, path: str, python_version: str) -> "set":
    assert python_version in PRELOADED, f"pin the modules for Python {python_version}"
    if level == "cadence":
        pinned = PINNED[agent, "second", "full"] if path == "full" else FAST
    else:
        pinned = PINNED[agent, level, path]
    return set(pinned) - PRELOADED[python_version]


def check(runner, params: "dict", tmp_path) -> None:
    name = os.path.basename(runner.path)
    python_version = version(interpreter(runner.path))
    for level, second in LEVELS.items():
        env = runner.env(dict(params, second_level_monitor=second), interval=10000)
        # The first monitor with these parameters takes the full path, the next the fast one.
        for path in ("full", "fast"):
            loaded = imports(runner.path, env, str(tmp_path / f"{level}.{path}.modules"))
            wanted = expected(name, level, path, python_version)
            assert loaded == wanted, (f"{name} {level}-level monitor, {path} path, on Python {python_version}: "
                                      f"new {sorted(loaded - wanted)}, gone {sorted(wanted - loaded)}")


def test_ldap_monitor_imports(agent_runner, openldap_factory, tmp_path):
    inst = openldap_factory()
    params = {"server_type": "openldap", "config_dir": inst.config_dir, "pidfile": inst.pidfile,
              "port": inst.port, "listen_address": "127.0.0.1"}
    check(agent_runner("ldap"), params, tmp_path)


def test_gwpoa_monitor_imports(agent_runner, gwlab, tmp_path):
    po = gwlab.post_office()
    runner = agent_runner("gwpoa")
    assert runner("start", po.params).rc == 0
    check(runner, po.params, tmp_path)


def test_gwia_monitor_imports(agent_runner, gwlab, tmp_path):
    dom = gwlab.domain()
    runner = agent_runner("gwia")
    assert runner("start", dom.params).rc == 0
    check(runner, dom.params, tmp_path)


def test_msgsrv_monitor_imports(agent_runner, mslab, tmp_path):
    ms = mslab.instance()
    runner = agent_runner("msgsrv")
    assert runner("start", ms.core()).rc == 0
    assert runner("start", ms.clients()).rc == 0
    check(runner, ms.clients(), tmp_path)


def test_adminsrv_monitor_imports(agent_runner, adminlab, tmp_path):
    admin = adminlab.server()
    runner = agent_runner("adminsrv")
    assert runner("start", admin.params()).rc == 0
    check(runner, admin.params(), tmp_path)
