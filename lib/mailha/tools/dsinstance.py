"""Real directory server instances for tests, the lab, the benchmark and the demo.

Builds and removes 389 Directory Server instances (``dscreate from-file``) and self-contained
OpenLDAP ``slapd`` instances (``slapadd -n0`` into a private ``slapd.d``) on a machine without
systemd, and starts and stops them the way an agent would: the daemon directly, a pid file,
signals by PID.

Why the 389-ds side takes detours (see also product facts section 3.3):

* Debian's dscreate/dsctl call ``systemctl`` as root whatever the INF says.  A tiny shim put first
  on ``PATH`` for dscreate maps ``start``/``stop``/``is-active`` to ``ns-slapd`` and its pid file.
* lib389 finds an instance only by ``/etc/dirsrv/slapd-NAME/dse.ldif``.  For an instance under a
  ``root`` (shared storage), every data directory is placed under the root through the INF's
  advanced ``*_dir`` keys, while the config directory is built in /etc/dirsrv and moved under the
  root afterwards, with its paths rewritten in ``dse.ldif``.  Such an instance is then started by
  ``ns-slapd -D <root>/etc/dirsrv/slapd-NAME -i <pidfile>`` on any node; dsctl does not know it.
* ``db_home_dir`` (the database environment's region files) stays node-local in
  ``/dev/shm/slapd-NAME``, the distribution's default: it is a cache that each node rebuilds, and
  bdb sizes it from the machine's memory (about 1.7 GB here), more than a small shared disk holds.
  dscreate moves it into the db directory when ``systemd-detect-virt -c`` says "container" (as it
  does on this VM), so a second shim answers "none".

Passwords are read from files and handed to the tools through files (``-y``, ``-T``, a 0600 INF),
never on a command line.  A password file holds the password alone, without a trailing newline,
because the LDAP tools' ``-y`` use the file's whole content.

This module is tooling, not an agent: it runs as root and may take seconds.
"""

from __future__ import annotations

import base64
import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .. import proc
from ..directory.paths import DIRSRV_USER, NS_SLAPD, OPENLDAP_USER, SLAPD
from ..ocf.budget import wait_until
from .ports import free_port

DSCREATE = "/usr/sbin/dscreate"
SLAPADD = "/usr/sbin/slapadd"
SLAPPASSWD = "/usr/sbin/slappasswd"
LDAPADD = "/usr/bin/ldapadd"
LDAPMODIFY = "/usr/bin/ldapmodify"
OPENLDAP_MODULE_PATH = "/usr/lib/ldap"
OPENLDAP_SCHEMA_DIR = "/etc/ldap/schema"
OPENLDAP_SCHEMAS = ("core", "cosine", "nis", "inetorgperson")
#: root over ldapi (SASL EXTERNAL) manages cn=config, as on a Debian install
ROOT_PEERCRED = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"

#: Generous bounds for a loaded 2-core machine; measured typical values are in docs/benchmarks.md.
CREATE_TIMEOUT = 180.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_PASSWORD_FILE_NAME = "mailha-rootdn.pw"


class InstanceError(RuntimeError):
    """An instance could not be created, started, stopped or removed; the message says why."""


# --------------------------------------------------------------------------- processes


def _server_pid(binary: str, marker: str, pidfile: str) -> int | None:
    """PID of the server running *binary* with *marker* (its config directory) in its command
    line: a stale pid file or a reused pid never matches (the agents' own discovery)."""
    found = proc.find(proc.ProcessMatch(exe_names=(binary,), cmdline_contains=(marker,), pidfile=pidfile))
    return found[0].pid if found else None


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    return wait_until(condition, time.monotonic() + timeout)


def _port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop_server(binary: str, marker: str, pidfile: str, timeout: float) -> None:
    """SIGTERM, then SIGKILL what is left, by PID, with the agents' own escalation."""
    match = proc.ProcessMatch(exe_names=(binary,), cmdline_contains=(marker,), pidfile=pidfile)
    found = proc.find(match, every=True)
    if not found:
        return
    result = proc.stop(found, time.monotonic() + timeout)
    if not result.stopped:
        raise InstanceError(f"{binary} did not stop: {result.describe()}")


def _run(args: list[str], *, what: str, timeout: float, env: dict[str, str] | None = None,
         stdin: str | None = None, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    try:
        res = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout,
                             env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InstanceError(f"{what}: {args[0]} did not finish within {timeout:.0f} s") from exc
    except FileNotFoundError as exc:
        raise InstanceError(f"{what}: {args[0]} is not installed") from exc
    if res.returncode not in ok:
        tail = (res.stderr.strip() or res.stdout.strip()).splitlines()[-8:]
        raise InstanceError(f"{what}: {os.path.basename(args[0])} exited {res.returncode}: "
                            + " | ".join(tail))
    return res


# --------------------------------------------------------------------------- files


def _makedirs(path: str, created: list[str], mode: int = 0o755, owner: str | None = None) -> None:
    """mkdir -p that records each directory it made (for removal) and sets mode and owner."""
    missing = []
    p = os.path.abspath(path)
    while not os.path.isdir(p):
        missing.append(p)
        p = os.path.dirname(p)
    for d in reversed(missing):
        os.mkdir(d)
        os.chmod(d, mode)  # explicit: a umask must not hide the tree from the daemon's user
        created.append(d)
    if owner:
        pw = pwd.getpwnam(owner)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _chown_tree(path: str, owner: str) -> None:
    pw = pwd.getpwnam(owner)
    os.lchown(path, pw.pw_uid, pw.pw_gid)
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), pw.pw_uid, pw.pw_gid)


def _check_traversable(path: str, user: str) -> None:
    """Fail early, naming the directory, when ``user`` (the daemon) could not reach ``path``:
    pytest's and mkdtemp's directories are 0700, and the daemon's own error is obscure."""
    pw = pwd.getpwnam(user)
    p = os.path.abspath(path)
    while True:
        if os.path.isdir(p):
            st = os.stat(p)
            if not (st.st_mode & 0o001 or (st.st_uid == pw.pw_uid and st.st_mode & 0o100)
                    or (st.st_gid == pw.pw_gid and st.st_mode & 0o010)):
                raise InstanceError(f"{p} is not searchable by {user}, which runs the server: "
                                    "make it 0755 (or choose another root)")
        if p == "/":
            return
        p = os.path.dirname(p)


def _launch_daemon(args: list[str], timeout: float) -> tuple[int, str]:
    """Run a self-daemonizing server; (exit code, what it printed before detaching).

    Output goes to a file, not a pipe: the detached daemon could hold a pipe open forever."""
    with tempfile.TemporaryFile(mode="w+") as out:
        rc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                            timeout=timeout, check=False).returncode
        out.seek(0)
        return rc, " | ".join(out.read().strip().splitlines()[-4:])


def _remove_paths(paths: list[str], created_dirs: list[str]) -> None:
    """Delete ``paths`` (trees or files) and then every dir of ``created_dirs`` left empty."""
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
    # Directories made on the way (root, root/etc, ...) go too, deepest first, if now empty.
    for d in sorted(set(created_dirs), key=len, reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(d)


def _write_secret(path: str, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content)


def read_password_file(path: str) -> str:
    """The password in ``path``: its whole content, which must be one line with no newline."""
    try:
        with open(path, encoding="utf-8") as f:
            content = f.read()
    except OSError as exc:
        raise InstanceError(f"cannot read password file {path}: {exc.strerror}") from exc
    if "\n" in content or "\r" in content:
        raise InstanceError(f"password file {path} must hold the password alone, without a "
                            "newline (ldapsearch -y uses the whole file)")
    if len(content) < 8:
        raise InstanceError(f"password in {path} is shorter than 8 characters "
                            "(389-ds refuses it)")
    return content


def _password(password_file: str | None, store_at: str) -> tuple[str, str]:
    """(password, file holding it): the given file, or a new random one stored 0600."""
    if password_file:
        return read_password_file(password_file), password_file
    password = secrets.token_urlsafe(18)
    _write_secret(store_at, password)
    return password, store_at


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name):
        raise InstanceError(f"instance name {name!r}: use letters, digits, '-' and '_' "
                            "(at most 64, starting with a letter or digit)")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


# --------------------------------------------------------------------------- 389-ds


@dataclass
class DsInstance:
    """A 389 Directory Server instance made by :func:`create_389ds`."""

    name: str
    port: int
    secure_port: int | None
    config_dir: str
    db_dir: str
    log_dir: str
    run_dir: str
    pidfile: str
    root_dn: str
    password_file: str
    suffix: str
    root: str | None = None
    listen_host: str | None = None
    lock_dir: str = ""
    ldapi_socket: str = ""
    #: Everything :func:`remove_389ds` deletes: the instance's own paths and the dirs made for it.
    owned_paths: list[str] = field(default_factory=list, repr=False)
    created_dirs: list[str] = field(default_factory=list, repr=False)

    @property
    def host(self) -> str:
        """The address clients use: the listen host, or loopback when it listens everywhere."""
        wildcard = self.listen_host in ("0.0.0.0", "::")
        return "127.0.0.1" if wildcard or not self.listen_host else self.listen_host

    @property
    def ldap_url(self) -> str:
        return f"ldap://{_url_host(self.host)}:{self.port}/"

    @property
    def ldaps_url(self) -> str | None:
        return f"ldaps://{_url_host(self.host)}:{self.secure_port}/" if self.secure_port else None

    @property
    def command(self) -> list[str]:
        """How any node starts this instance (it daemonizes)."""
        return [NS_SLAPD, "-D", self.config_dir, "-i", self.pidfile]

    def pid(self) -> int | None:
        """PID of the running server, or None (a stale pid file gives None)."""
        return _server_pid(NS_SLAPD, self.config_dir, self.pidfile)

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start ns-slapd and return once the LDAP port accepts connections."""
        if self.is_running():
            return
        # /run is a tmpfs: after a reboot, or on another node, the run and lock dirs are gone.
        for d in (self.run_dir, os.path.dirname(self.lock_dir), self.lock_dir):
            if not os.path.isdir(d):
                _makedirs(d, [], mode=0o770, owner=DIRSRV_USER)
        rc, _ = _launch_daemon(self.command, timeout)
        if rc != 0 or not _wait_for(self._answers, timeout):
            raise InstanceError(f"389-ds instance {self.name} did not start within {timeout:.0f} s "
                                f"(ns-slapd exit {rc}); last errors: "
                                + " | ".join(_tail(os.path.join(self.log_dir, "errors"), 4)))

    def _answers(self) -> bool:
        return self.is_running() and _port_accepts(self.host, self.port)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the server (SIGKILL after ``timeout``); ns-slapd leaves its pid file behind."""
        _stop_server(NS_SLAPD, self.config_dir, self.pidfile, timeout)


def _tail(path: str, n: int) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip() for line in f.readlines()[-n:]]
    except OSError:
        return ["(no log)"]


_SYSTEMCTL_SHIM = r"""#!/bin/sh
# systemctl stand-in for dscreate on a machine without systemd (written by mailha.tools.dsinstance).
cfg="$MAILHA_DS_CONFIG_DIR"; pidf="$MAILHA_DS_PIDFILE"
alive() {
    p=$(head -n 1 "$pidf" 2>/dev/null)
    [ -n "$p" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "ns-slapd -D $cfg "
}
gone() {  # not just "not alive": an exiting process shows an empty cmdline for a while
    [ -r "/proc/$p/status" ] || return 0
    awk '/^State:/ {s = $2} /^Threads:/ {t = $2} END {exit !(s ~ /^[ZX]/ && t <= 1)}' \
        "/proc/$p/status" 2>/dev/null
}
while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
case "$1" in
start)
    alive && exit 0
    /usr/sbin/ns-slapd -D "$cfg" -i "$pidf" >/dev/null 2>&1 || exit 1
    i=0; while [ $i -lt 1200 ]; do alive && exit 0; sleep 0.05; i=$((i + 1)); done
    exit 1 ;;
stop)
    alive || exit 0
    kill -TERM "$p"
    i=0; while [ $i -lt 1200 ]; do gone && exit 0; sleep 0.05; i=$((i + 1)); done
    kill -KILL "$p"
    i=0; while [ $i -lt 200 ]; do gone && exit 0; sleep 0.05; i=$((i + 1)); done
    exit 1 ;;
is-active)
    alive && exit 0; exit 3 ;;
*)
    exit 0 ;;  # enable, disable, daemon-reload: nothing to do without systemd
esac
"""


_DETECT_VIRT_SHIM = """#!/bin/sh
# systemd-detect-virt stand-in for dscreate (mailha.tools.dsinstance): keep db_home_dir in /dev/shm.
echo none
exit 1
"""


def _write_shims(bindir: str) -> None:
    os.mkdir(bindir)
    for name, text in (("systemctl", _SYSTEMCTL_SHIM), ("systemd-detect-virt", _DETECT_VIRT_SHIM)):
        with open(os.path.join(bindir, name), "w", encoding="ascii") as f:
            f.write(text)
        os.chmod(os.path.join(bindir, name), 0o755)


def _ds_layout(name: str, root: str | None) -> dict[str, str]:
    r = os.path.abspath(root) if root else ""
    lib = f"{r}/var/lib/dirsrv/slapd-{name}"
    return {
        "config_dir": f"{r}/etc/dirsrv/slapd-{name}",
        "inst_lib": lib,
        "db_dir": f"{lib}/db",
        "backup_dir": f"{lib}/bak",
        "ldif_dir": f"{lib}/ldif",
        "log_dir": f"{r}/var/log/dirsrv/slapd-{name}",
        "lock_dir": f"{r}/run/lock/dirsrv/slapd-{name}",
        "run_dir": f"{r}/run/dirsrv",
        "pidfile": f"{r}/run/dirsrv/slapd-{name}.pid",
        "ldapi": f"{r}/run/slapd-{name}.socket",
        "db_home_dir": f"/dev/shm/slapd-{name}",  # node-local on purpose, see the module doc
    }


def _ds_inf(inst: DsInstance, password: str, layout: dict[str, str]) -> str:
    lines = [
        "[general]", "config_version = 2", "full_machine_name = localhost",
        "strict_host_checking = False", "selinux = False", "systemd = False", "start = False", "",
        "[slapd]", f"instance_name = {inst.name}", f"root_password = {password}",
        f"port = {inst.port}",
        f"self_sign_cert = {'True' if inst.secure_port else 'False'}",
    ]
    if inst.secure_port:
        lines.append(f"secure_port = {inst.secure_port}")
    for key in ("db_dir", "backup_dir", "ldif_dir", "log_dir", "lock_dir", "run_dir", "ldapi"):
        lines.append(f"{key} = {layout[key]}")
    lines += [f"db_home_dir = {layout['db_home_dir']}", "",
              "[backend-userroot]", f"suffix = {inst.suffix}", "create_suffix_entry = True", ""]
    return "\n".join(lines)


def _edit_dse(config_dir: str, old_config_dir: str, config_attrs: dict[str, str]) -> None:
    """Rewrite the config dir's path and set ``cn=config`` attributes in every dse.ldif copy.

    LDIF folds long lines; paths can straddle a fold, so the file is unfolded first (389-ds
    reads unfolded lines fine)."""
    for fname in os.listdir(config_dir):
        if not fname.startswith("dse.ldif"):
            continue
        path = os.path.join(config_dir, fname)
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("\n ", "")
        text = text.replace(old_config_dir + "/", config_dir + "/")
        text = re.sub(re.escape(old_config_dir) + r"$", config_dir, text, flags=re.M)
        entries = text.split("\n\n")
        for i, entry in enumerate(entries):
            if entry.lstrip("\n").lower().startswith("dn: cn=config\n"):
                for attr, value in config_attrs.items():
                    pattern = re.compile(rf"^{re.escape(attr)}:.*$", re.M | re.I)
                    if pattern.search(entry):
                        entry = pattern.sub(f"{attr}: {value}", entry)
                    else:
                        entry = entry.rstrip("\n") + f"\n{attr}: {value}"
                entries[i] = entry
        # Truncate in place: keeps the file's dirsrv ownership and 0600 mode.
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n\n".join(entries))


def _move_tree(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except OSError:  # another file system (e.g. the shared one): copy keeping owners and modes
        _run(["cp", "-a", src, dst], what="moving the config dir", timeout=120)
        shutil.rmtree(src)


def create_389ds(name: str, port: int, root: str | None = None, suffix: str = "dc=example,dc=com",
                 password_file: str | None = None, listen_host: str | None = None,
                 secure_port: int | None = None, start: bool = False) -> DsInstance:
    """Create a 389-ds instance with dscreate; it is left stopped unless ``start``.

    With ``root``, every directory of the instance lives under it (``<root>/etc/dirsrv/slapd-NAME``,
    ``<root>/var/lib/dirsrv/slapd-NAME/db``, ``<root>/run/dirsrv``, ...) except the node-local
    database environment in ``/dev/shm/slapd-NAME``.  ``root`` and its parents must be
    searchable by the dirsrv user.  A failed creation is cleaned up before the error is raised."""
    _check_name(name)
    layout = _ds_layout(name, root)
    default_cfg = _ds_layout(name, None)["config_dir"]
    for taken in {default_cfg, layout["config_dir"], layout["db_home_dir"]}:
        if os.path.exists(taken):
            raise InstanceError(f"389-ds instance {name!r} already exists ({taken})")
    if len(layout["ldapi"]) > 100:  # sun_path holds 108 bytes
        raise InstanceError(f"root {root!r} is too long for the ldapi socket path")

    inst = DsInstance(
        name=name, port=port, secure_port=secure_port, config_dir=layout["config_dir"],
        db_dir=layout["db_dir"], log_dir=layout["log_dir"], run_dir=layout["run_dir"],
        pidfile=layout["pidfile"], root_dn="cn=Directory Manager", password_file="",
        suffix=suffix, root=os.path.abspath(root) if root else None, listen_host=listen_host,
        lock_dir=layout["lock_dir"], ldapi_socket=layout["ldapi"])
    owned = [default_cfg, layout["config_dir"], layout["inst_lib"], layout["log_dir"],
             layout["lock_dir"], layout["pidfile"], layout["ldapi"], layout["db_home_dir"],
             # SNMP counters and their semaphore: removed by a clean shutdown only
             f"{layout['run_dir']}/slapd-{name}.stats", f"/dev/shm/sem.slapd-{name}.stats",
             f"/etc/tmpfiles.d/dirsrv-{name}.conf"]
    if root:  # the run dir is the instance's own under a root (shared /run/dirsrv otherwise)
        owned.append(layout["run_dir"])
    inst.owned_paths = list(dict.fromkeys(owned))
    workdir = tempfile.mkdtemp(prefix=f"mailha-dscreate-{name}-")
    try:
        # Parents of the instance dirs must be traversable by dirsrv: dscreate makes them 0770
        # root:root otherwise, and ns-slapd then cannot reach its run dir.
        for key in ("config_dir", "inst_lib", "log_dir", "lock_dir", "run_dir"):
            _makedirs(os.path.dirname(layout[key]), inst.created_dirs)
        _check_traversable(os.path.dirname(layout["run_dir"]), DIRSRV_USER)
        stash = os.path.join(workdir, "rootdn.pw")
        password, inst.password_file = _password(password_file, stash)
        inf = os.path.join(workdir, "instance.inf")
        _write_secret(inf, _ds_inf(inst, password, layout))
        _write_shims(os.path.join(workdir, "bin"))
        env = dict(os.environ, PATH=f"{workdir}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}",
                   MAILHA_DS_CONFIG_DIR=default_cfg, MAILHA_DS_PIDFILE=layout["pidfile"])
        try:
            _run([DSCREATE, "from-file", inf], what=f"creating 389-ds instance {name}",
                 timeout=CREATE_TIMEOUT, env=env)
        except InstanceError as exc:  # the server's own words say more than dscreate's
            errors = _tail(os.path.join(layout["log_dir"], "errors"), 3)
            raise InstanceError(f"{exc}; server errors log: {' | '.join(errors)}") from exc
        # dscreate stops the server at its end (start = False); make sure before moving files.
        _stop_server(NS_SLAPD, default_cfg, layout["pidfile"], STOP_TIMEOUT)
        if layout["config_dir"] != default_cfg:
            _makedirs(os.path.dirname(layout["config_dir"]), inst.created_dirs)
            _move_tree(default_cfg, layout["config_dir"])
            # From now on /etc/dirsrv/slapd-NAME is not ours: another instance may take the name.
            inst.owned_paths.remove(default_cfg)
        attrs = {}
        if listen_host:
            attrs["nsslapd-listenhost"] = listen_host
            if secure_port:
                attrs["nsslapd-securelistenhost"] = listen_host
        _edit_dse(layout["config_dir"], default_cfg, attrs)
        if not password_file:
            kept = os.path.join(layout["config_dir"], _PASSWORD_FILE_NAME)
            shutil.move(stash, kept)
            inst.password_file = kept
        if start:
            inst.start()
    except BaseException:
        with contextlib.suppress(Exception):
            remove_389ds(inst)
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return inst


def remove_389ds(inst: DsInstance, timeout: float = STOP_TIMEOUT) -> None:
    """Stop the instance (by PID) and delete everything :func:`create_389ds` made for it.

    The distribution's shared self-signed CA (/etc/dirsrv/ssca, made by dscreate for TLS) stays:
    other instances' certificates chain to it."""
    # A half-built instance may still run from /etc/dirsrv (before its move under the root).
    default_cfg = _ds_layout(inst.name, None)["config_dir"]
    configs = {inst.config_dir} | ({default_cfg} if default_cfg in inst.owned_paths else set())
    for cfg in configs:
        _stop_server(NS_SLAPD, cfg, inst.pidfile, timeout)
    _remove_paths(inst.owned_paths, inst.created_dirs)


# --------------------------------------------------------------------------- OpenLDAP


@dataclass
class SlapdInstance:
    """A self-contained OpenLDAP instance made by :func:`create_openldap`, all under ``root``."""

    name: str
    port: int
    root: str
    config_dir: str
    db_dir: str
    run_dir: str
    pidfile: str
    argsfile: str
    root_dn: str
    password_file: str
    suffix: str
    listen_host: str = "127.0.0.1"
    monitor_db: bool = True
    user: str = OPENLDAP_USER
    group: str = OPENLDAP_USER
    owned_paths: list[str] = field(default_factory=list, repr=False)
    created_dirs: list[str] = field(default_factory=list, repr=False)

    @property
    def host(self) -> str:
        return self.listen_host if self.listen_host not in ("", "0.0.0.0", "::") else "127.0.0.1"

    @property
    def ldap_url(self) -> str:
        return f"ldap://{_url_host(self.host)}:{self.port}/"

    @property
    def services(self) -> str:
        """The ``-h`` URL list slapd listens on (the heartbeat agent's ``services``)."""
        return f"ldap://{_url_host(self.listen_host)}:{self.port}/"

    @property
    def command(self) -> list[str]:
        return [SLAPD, "-h", self.services, "-F", self.config_dir,
                "-u", self.user, "-g", self.group]

    def pid(self) -> int | None:
        return _server_pid(SLAPD, self.config_dir, self.pidfile)

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start slapd (it daemonizes and writes olcPidFile) and wait until the port answers."""
        if self.is_running():
            return
        if not os.path.isdir(self.run_dir):
            _makedirs(self.run_dir, [], owner=self.user)
        rc, printed = _launch_daemon(self.command, timeout)
        if rc != 0 or not _wait_for(self._answers, timeout):
            raise InstanceError(f"slapd instance {self.name} did not start within {timeout:.0f} s "
                                f"(exit {rc}): {printed}")

    def _answers(self) -> bool:
        return self.is_running() and _port_accepts(self.host, self.port)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        _stop_server(SLAPD, self.config_dir, self.pidfile, timeout)


def _suffix_entry(suffix: str) -> str:
    attr, _, value = suffix.split(",")[0].partition("=")
    attr = attr.strip().lower()
    if attr == "dc":
        return (f"dn: {suffix}\nobjectClass: dcObject\nobjectClass: organization\n"
                f"dc: {value}\no: {value}\n")
    if attr == "o":
        return f"dn: {suffix}\nobjectClass: organization\no: {value}\n"
    raise InstanceError(f"suffix {suffix!r}: the first RDN must be dc= or o=")


def _slapd_config_ldif(inst: SlapdInstance, password_hash: str) -> str:
    schemas = "\n".join(f"include: file://{OPENLDAP_SCHEMA_DIR}/{s}.ldif" for s in OPENLDAP_SCHEMAS)
    backends = ["mdb", "monitor"] if inst.monitor_db else ["mdb"]
    modules = "\n".join(f"olcModuleLoad: back_{name}" for name in backends)
    ldif = f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {inst.pidfile}
olcArgsFile: {inst.argsfile}

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {OPENLDAP_MODULE_PATH}
{modules}

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by dn.exact={ROOT_PEERCRED} manage by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {inst.db_dir}
olcSuffix: {inst.suffix}
olcRootDN: {inst.root_dn}
olcRootPW: {password_hash}
olcDbMaxSize: 67108864
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read
"""
    if inst.monitor_db:
        # Like the slapd-monitor(5) example: no anonymous access, so agents must not assume it.
        ldif += f"""
dn: olcDatabase={{2}}monitor,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{2}}monitor
olcAccess: {{0}}to dn.subtree="cn=Monitor" by dn.exact="{inst.root_dn}" read by users read by * none
"""
    return ldif


def create_openldap(name: str, port: int, root: str, suffix: str = "dc=example,dc=com",
                    password_file: str | None = None, monitor_db: bool = True,
                    listen_host: str = "127.0.0.1", start: bool = False) -> SlapdInstance:
    """Create an OpenLDAP instance under ``root``: ``slapd.d``, ``db``, ``run``; left stopped
    unless ``start``.  The suffix entry and ``ou=people`` are loaded, so a base search of every
    suffix succeeds (what ``ocf:heartbeat:slapd`` monitors)."""
    _check_name(name)
    root = os.path.abspath(root)
    inst = SlapdInstance(
        name=name, port=port, root=root, config_dir=f"{root}/slapd.d", db_dir=f"{root}/db",
        run_dir=f"{root}/run", pidfile=f"{root}/run/slapd.pid", argsfile=f"{root}/run/slapd.args",
        root_dn=f"cn=admin,{suffix}", password_file="", suffix=suffix, listen_host=listen_host,
        monitor_db=monitor_db)
    if os.path.exists(inst.config_dir):
        raise InstanceError(f"OpenLDAP instance {name!r} already exists ({inst.config_dir})")
    entries = (_suffix_entry(suffix)
               + f"\ndn: ou=people,{suffix}\nobjectClass: organizationalUnit\nou: people\n")
    inst.owned_paths = [inst.config_dir, inst.db_dir, inst.run_dir, f"{root}/{_PASSWORD_FILE_NAME}"]
    workdir = tempfile.mkdtemp(prefix=f"mailha-slapadd-{name}-")
    try:
        _makedirs(root, inst.created_dirs)
        _check_traversable(root, OPENLDAP_USER)
        for d in (inst.config_dir, inst.db_dir, inst.run_dir):
            _makedirs(d, inst.created_dirs, mode=0o750)
        _, inst.password_file = _password(password_file, f"{root}/{_PASSWORD_FILE_NAME}")
        hashed = _run([SLAPPASSWD, "-T", inst.password_file], what="hashing the root password",
                      timeout=30).stdout.strip()
        config = os.path.join(workdir, "config.ldif")
        _write_secret(config, _slapd_config_ldif(inst, hashed))
        _run([SLAPADD, "-n0", "-F", inst.config_dir, "-l", config],
             what=f"building cn=config of {name}", timeout=60)
        data = os.path.join(workdir, "data.ldif")
        _write_secret(data, entries)
        _run([SLAPADD, "-n1", "-F", inst.config_dir, "-l", data],
             what=f"loading the suffix of {name}", timeout=60)
        for d in (inst.config_dir, inst.db_dir, inst.run_dir):
            _chown_tree(d, inst.user)
        if start:
            inst.start()
    except BaseException:
        with contextlib.suppress(Exception):
            remove_openldap(inst)
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return inst


def remove_openldap(inst: SlapdInstance, timeout: float = STOP_TIMEOUT) -> None:
    """Stop slapd (by PID) and delete what :func:`create_openldap` made (the root too, if it
    made it and it is now empty)."""
    _stop_server(SLAPD, inst.config_dir, inst.pidfile, timeout)
    _remove_paths(inst.owned_paths, inst.created_dirs)


# --------------------------------------------------------------------------- test users


def add_test_user(inst: DsInstance | SlapdInstance, uid: str, password_file: str) -> str:
    """Add (or reset the password of) ``uid=UID,ou=people,SUFFIX`` with the password in
    ``password_file``, for synthetic-transaction monitors; returns the entry's DN.

    The server must be running.  Binds as the root DN with ``ldapadd -y``; the LDIF goes on
    stdin.  389-ds hashes the clear password itself; for OpenLDAP it is hashed with slappasswd."""
    password = read_password_file(password_file)
    if not re.match(r"^[A-Za-z0-9._-]{1,64}$", uid):
        raise InstanceError(f"uid {uid!r}: use letters, digits, '.', '-' and '_'")
    if isinstance(inst, SlapdInstance):
        password = _run([SLAPPASSWD, "-T", password_file], what="hashing the test password",
                        timeout=30).stdout.strip()
    # base64 ("::") so that no character of the password can break the LDIF
    encoded = base64.b64encode(password.encode()).decode()
    people = f"ou=people,{inst.suffix}"
    dn = f"uid={uid},{people}"
    bind = ["-x", "-H", inst.ldap_url, "-D", inst.root_dn, "-y", inst.password_file]
    # ou=people may be missing (389-ds makes the suffix entry only); 68 = already exists.
    _run([LDAPADD, *bind], stdin=f"dn: {people}\nobjectClass: organizationalUnit\nou: people\n",
         what="adding ou=people", timeout=30, ok=(0, 68))
    user = (f"dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n"
            f"userPassword:: {encoded}\n")
    res = _run([LDAPADD, *bind], stdin=user, what=f"adding {dn}", timeout=30, ok=(0, 68))
    if res.returncode == 68:
        reset = f"dn: {dn}\nchangetype: modify\nreplace: userPassword\nuserPassword:: {encoded}\n"
        _run([LDAPMODIFY, *bind], stdin=reset, what=f"resetting the password of {dn}", timeout=30)
    return dn


# --------------------------------------------------------------------------- context managers


@contextlib.contextmanager
def running_389ds(name: str, port: int, **kwargs) -> Iterator[DsInstance]:
    """A started 389-ds instance, removed on exit even after an error (for fixtures and demos)."""
    inst = create_389ds(name, port, start=True, **kwargs)
    try:
        yield inst
    finally:
        remove_389ds(inst)


@contextlib.contextmanager
def running_openldap(name: str, port: int, root: str, **kwargs) -> Iterator[SlapdInstance]:
    """A started OpenLDAP instance under ``root``, removed on exit even after an error."""
    inst = create_openldap(name, port, root, start=True, **kwargs)
    try:
        yield inst
    finally:
        remove_openldap(inst)


def unique_name(prefix: str = "mh") -> str:
    """An instance name no other run uses (389-ds names are machine-wide)."""
    return f"{prefix}{secrets.token_hex(4)}"


def server_tempdir(prefix: str = "mailha-ldap-") -> str:
    """A new directory under the temp dir that the servers' users can traverse (mkdtemp makes
    0700 ones): the parent of a ``root`` for tests, the bench and demos.  The caller removes it."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


# --------------------------------------------------------------------------- state and CLI


def save_instance(inst: DsInstance | SlapdInstance, path: str) -> None:
    """Write what describes ``inst`` (no secret: only the password file's path) as JSON."""
    import dataclasses
    import json

    kind = "389ds" if isinstance(inst, DsInstance) else "openldap"
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"kind": kind, **dataclasses.asdict(inst)}, f, indent=1)


def load_instance(path: str) -> DsInstance | SlapdInstance:
    import json

    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    kind = data.pop("kind")
    return DsInstance(**data) if kind == "389ds" else SlapdInstance(**data)


def main(argv: list[str] | None = None) -> int:
    """``python3 -m mailha.tools.dsinstance``: the same operations for shell scripts and demos; the
    instance is described by a JSON state file between calls."""
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m mailha.tools.dsinstance", description=main.__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    for action in ("create-389ds", "create-openldap"):
        p = sub.add_parser(action)
        p.add_argument("name")
        p.add_argument("port", type=int)
        p.add_argument("--root", required=action == "create-openldap")
        p.add_argument("--suffix", default="dc=example,dc=com")
        p.add_argument("--password-file")
        p.add_argument("--listen-host", default=None if action == "create-389ds" else "127.0.0.1")
        if action == "create-389ds":
            p.add_argument("--secure-port", type=int)
        else:
            p.add_argument("--no-monitor-db", action="store_true")
        p.add_argument("--start", action="store_true")
    for action in ("start", "stop", "remove", "add-user"):
        p = sub.add_parser(action)
        if action == "add-user":
            p.add_argument("uid")
            p.add_argument("password_file")
    for p in sub.choices.values():
        p.add_argument("--state", required=True, help="JSON file describing the instance")
    args = parser.parse_args(argv)
    try:
        if args.action == "create-389ds":
            inst: DsInstance | SlapdInstance = create_389ds(
                args.name, args.port, root=args.root, suffix=args.suffix,
                password_file=args.password_file, listen_host=args.listen_host,
                secure_port=args.secure_port, start=args.start)
        elif args.action == "create-openldap":
            inst = create_openldap(args.name, args.port, args.root, suffix=args.suffix,
                                   password_file=args.password_file,
                                   monitor_db=not args.no_monitor_db,
                                   listen_host=args.listen_host, start=args.start)
        else:
            inst = load_instance(args.state)
            if args.action == "start":
                inst.start()
            elif args.action == "stop":
                inst.stop()
            elif args.action == "add-user":
                print(add_test_user(inst, args.uid, args.password_file))
            else:
                (remove_389ds if isinstance(inst, DsInstance) else remove_openldap)(inst)
                os.unlink(args.state)
                return 0
        save_instance(inst, args.state)
    except (InstanceError, OSError) as exc:
        print(f"mailha.tools.dsinstance: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
