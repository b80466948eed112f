"""A clean Debian root for the package tests: debootstrap from the mirror apt uses, cached.

The base root (``/var/cache/mailha-test/debian-CODENAME``) is built when it is missing or was
built from another recipe (:data:`BASE_PACKAGES` changed), then never written again: each test
works in an overlay on top of it (:class:`Overlay`), every command in private mount and PID
namespaces (``unshare``), so no mount and no process of a test outlives its command, even when
the test is killed.  Downloaded .debs are kept in ``/var/cache/mailha-test/apt-archives``: with a
warm cache the tests need no network.

By hand: ``python3 tests/packaging/debroot.py`` builds the base root (``--rebuild`` anew).
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import subprocess
import sys
import tempfile

CACHE = os.environ.get("MAILHA_TEST_CACHE", "/var/cache/mailha-test")
ARCHIVES = os.path.join(CACHE, "apt-archives")
#: What the tests run in the root besides mailha itself (mailha's own dependencies are left
#: out: installing the .deb must bring them).
BASE_PACKAGES = ("pcs", "pacemaker-cli-utils", "man-db")
RECIPE = "minbase " + " ".join(BASE_PACKAGES) + "\n"
STAMP = ".mailha-test-root"
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class RootError(Exception):
    """The root could not be built or a command could not run in it; the text says why."""


def host_codename() -> str:
    with open("/etc/os-release", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key == "VERSION_CODENAME" and value:
                return value.strip('"')
    raise RootError("no VERSION_CODENAME in /etc/os-release: not a Debian host")


def _deb822_stanzas(text: str) -> list[dict[str, str]]:
    stanzas, current = [], {}
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current:
                stanzas.append(current)
            current = {}
        elif not line.startswith("#") and ":" in line and not line[:1].isspace():
            key, _, value = line.partition(":")
            current[key.strip().lower()] = value.strip()
    return stanzas


def host_mirror(codename: str) -> str:
    """The mirror apt on this host uses for *codename*'s main component."""
    candidates: list[tuple[str, list[str], list[str]]] = []  # (uri, suites, components)
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path, encoding="utf-8") as f:
            for stanza in _deb822_stanzas(f.read()):
                if "deb" in stanza.get("types", "").split() and stanza.get("enabled", "yes") != "no":
                    for uri in stanza.get("uris", "").split():
                        candidates.append((uri, stanza.get("suites", "").split(),
                                           stanza.get("components", "").split()))
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            words = [w for w in line.split("#", 1)[0].split() if not w.startswith("[")]
            if len(words) >= 4 and words[0] == "deb":
                candidates.append((words[1], [words[2]], words[3:]))
    for uri, suites, components in candidates:
        if codename in suites and "main" in components:
            return uri
    raise RootError(f"no apt source for {codename} main in /etc/apt/sources.list*")


def base_root(codename: str | None = None) -> str:
    return os.path.join(CACHE, "debian-" + (codename or host_codename()))


def ensure_base(codename: str | None = None, rebuild: bool = False) -> str:
    """The cached base root, built first if missing, stale or *rebuild*; returns its path."""
    codename = codename or host_codename()
    root = base_root(codename)
    os.makedirs(ARCHIVES, exist_ok=True)
    with open(os.path.join(CACHE, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; others wait for it
        if not rebuild and _read(os.path.join(root, STAMP)) == RECIPE:
            return root
        _build(codename, root)
    return root


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(4096)
    except OSError:
        return None


def _build(codename: str, root: str) -> None:
    mirror = host_mirror(codename)
    new = root + ".new"
    shutil.rmtree(new, ignore_errors=True)
    # debootstrap mounts /proc and /sys in the target: a private mount namespace drops them.
    _check(["unshare", "--mount", "--fork", "debootstrap", "--variant=minbase", codename, new, mirror],
           f"debootstrap {codename} from {mirror}", timeout=1800)
    with open(os.path.join(new, "etc/apt/sources.list"), "w", encoding="utf-8") as f:
        f.write(f"deb {mirror} {codename} main\n")
    # Nothing started in the root: its packages' services are not what is tested.
    policy = os.path.join(new, "usr/sbin/policy-rc.d")
    with open(policy, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(policy, 0o755)
    shutil.copyfile("/etc/resolv.conf", os.path.join(new, "etc/resolv.conf"))
    _check(_in_root(new, ["sh", "-c", "apt-get update -q && apt-get install -y -q --no-install-recommends "
                                      + " ".join(BASE_PACKAGES)]),
           "apt-get install " + " ".join(BASE_PACKAGES), timeout=1800)
    with open(os.path.join(new, STAMP), "w", encoding="utf-8") as f:
        f.write(RECIPE)
    shutil.rmtree(root, ignore_errors=True)
    os.rename(new, root)


def _check(argv: list[str], what: str, timeout: float) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RootError(f"{what} failed ({done.returncode}): {(done.stdout + done.stderr)[-3000:]}")


# Mounts for one command, in its own namespaces: $1 lower (or ""), $2 upper, $3 work, $4 the
# root, then the command.  Without a lower layer the root is the directory itself (building).
_SETUP = r"""
set -e
root=$4
if [ -n "$1" ]; then mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$root"; fi
mount -t proc proc "$root/proc"
# A pty of its own for what wants one (apt's log); the root's /dev has only static nodes.
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
mount --bind "$root/dev/pts/ptmx" "$root/dev/ptmx"
mount --bind "$ARCHIVES" "$root/var/cache/apt/archives"
shift 4
exec chroot "$root" /usr/bin/env -i PATH="$CHROOT_PATH" LC_ALL=C.UTF-8 HOME=/root TERM=dumb \
    DEBIAN_FRONTEND=noninteractive MANWIDTH="${MANWIDTH:-80}" "$@"
"""


def _in_root(root: str, argv: list[str], lower: str = "", upper: str = "", work: str = "") -> list[str]:
    return ["env", f"ARCHIVES={ARCHIVES}", f"CHROOT_PATH={PATH}",
            "unshare", "--mount", "--pid", "--fork", "sh", "-c", _SETUP, "sh",
            lower, upper, work, root] + list(argv)


class Overlay:
    """A throw-away copy-on-write view of the base root: what a command changes stays here."""

    def __init__(self, base: str, scratch: str) -> None:
        self.base = base
        self.upper = os.path.join(scratch, "upper")
        self.work = os.path.join(scratch, "work")
        self.merged = os.path.join(scratch, "merged")
        for path in (self.upper, self.work, self.merged):
            os.makedirs(path, exist_ok=True)

    def put(self, path: str, source: str) -> str:
        """Copy the host file *source* to *path* in the root (through the upper layer)."""
        target = os.path.join(self.upper, path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)
        return path

    def run(self, argv: list[str], timeout: float = 300, env: dict[str, str] | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run *argv* in the root (as root, a clean environment plus *env*)."""
        extra = ["env"] + [f"{k}={v}" for k, v in (env or {}).items()] if env else []
        return subprocess.run(_in_root(self.merged, extra + list(argv), self.base, self.upper, self.work),
                              capture_output=True, text=True, timeout=timeout, input=input, check=False)

    def install(self, debs: list[str], timeout: float = 900) -> subprocess.CompletedProcess:
        """``apt-get install`` these .deb files, dependencies from the mirror (or the cache).  Stale
        package lists (the mirror moved on) are refreshed in the overlay and the install retried."""
        paths = [self.put(f"/tmp/debs/{os.path.basename(d)}", d) for d in debs]
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + paths
        done = self.run(install, timeout=timeout)
        if done.returncode != 0 and "Unable to fetch" in done.stdout + done.stderr:
            self.run(["apt-get", "update", "-q"], timeout=timeout)
            done = self.run(install, timeout=timeout)
        return done


def new_overlay(base: str) -> tuple[Overlay, str]:
    scratch = tempfile.mkdtemp(prefix="mailha-root.", dir=CACHE)
    return Overlay(base, scratch), scratch


if __name__ == "__main__":
    print(ensure_base(rebuild="--rebuild" in sys.argv[1:]))
