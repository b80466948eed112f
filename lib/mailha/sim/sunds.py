"""A Sun/Netscape/iPlanet Directory Server 5.x instance root, emulated on 389-ds.

Directory Server 5.x keeps an instance in ``serverRoot/slapd-ID`` with the scripts
``start-slapd`` and ``stop-slapd`` (no options; exit codes below) that run
``./ns-slapd -D <instance root> -i <instance root>/logs/pid``.  389 Directory Server is that
product's descendant and runs from the same kind of configuration, so an instance root is a 389-ds
configuration directory plus the two scripts, with the documented exit codes:

* ``start-slapd``: 0 started, 1 could not be started, 2 already started;
* ``stop-slapd``: 0 stopped, 1 could not be stopped, 2 already stopped.

Like the real scripts, they may return while the server is still starting or stopping.
"""

from __future__ import annotations

import os
import pwd

START_SLAPD = """#!/bin/sh
# start-slapd (emulated Sun DS 5.x): 0 started, 1 could not be started, 2 already started
root=$(cd "$(dirname "$0")" && pwd)
pid=$(cat "$root/logs/pid" 2>/dev/null)
if [ -n "$pid" ] && [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
    exit 2
fi
cd "$root" && {ns_slapd} -D "$root" -i "$root/logs/pid" || exit 1
exit 0
"""

STOP_SLAPD = """#!/bin/sh
# stop-slapd (emulated Sun DS 5.x): 0 stopped, 1 could not be stopped, 2 already stopped
root=$(cd "$(dirname "$0")" && pwd)
pid=$(cat "$root/logs/pid" 2>/dev/null) || exit 2
alive() {{ [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; }}
alive || exit 2
kill "$pid" 2>/dev/null || exit 1
tries=0
while alive; do
    tries=$((tries + 1))
    [ $tries -gt 100 ] && exit 1
    sleep 0.1
done
exit 0
"""


def make_instance_root(config_dir: str, ns_slapd: str = "/usr/sbin/ns-slapd", user: str = "dirsrv") -> str:
    """Turn a 389-ds configuration directory into a Sun DS 5.x style instance root; return it."""
    logs = os.path.join(config_dir, "logs")
    os.makedirs(logs, exist_ok=True)
    account = pwd.getpwnam(user)
    os.chown(logs, account.pw_uid, account.pw_gid)
    for name, text in (("start-slapd", START_SLAPD), ("stop-slapd", STOP_SLAPD)):
        path = os.path.join(config_dir, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text.format(ns_slapd=ns_slapd))
        os.chmod(path, 0o755)
    return config_dir
