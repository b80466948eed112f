"""Can this machine host the lab? Clear errors naming what is missing."""

from __future__ import annotations

import os
import shutil

from mailha.lab import state
from mailha.lab.layout import NETNS_PREFIX, Layout

#: command -> Debian package that provides it
COMMANDS = {
    "corosync": "corosync",
    "corosync-cmapctl": "corosync",
    "pacemakerd": "pacemaker",
    "crm_mon": "pacemaker-cli-utils",
    "cibadmin": "pacemaker-cli-utils",
    "crm_resource": "pacemaker-cli-utils",
    "crm_attribute": "pacemaker-cli-utils",
    "stonith_admin": "pacemaker-cli-utils",
    "ip": "iproute2",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "losetup": "mount",
    "mount": "mount",
    "mkfs.ext4": "e2fsprogs",
    "hostname": "hostname",
    "modprobe": "kmod",          # ocf:heartbeat:Filesystem refuses to run without it
    "fuser": "psmisc",           # ocf:heartbeat:Filesystem, ditto
}
#: file -> Debian package that provides it
FILES = {
    "/usr/lib/ocf/resource.d/heartbeat/IPaddr2": "resource-agents",
    "/usr/lib/ocf/resource.d/heartbeat/Filesystem": "resource-agents",
}


class LabError(Exception):
    """A problem the user can fix; printed without a traceback."""


def missing_packages() -> dict[str, str]:
    """Missing command or file -> Debian package to install."""
    missing = {c: p for c, p in COMMANDS.items() if shutil.which(c) is None}
    missing.update({f: p for f, p in FILES.items() if not os.path.exists(f)})
    return missing


def leftover_netns() -> list[str]:
    try:
        return sorted(n for n in os.listdir("/run/netns") if n.startswith(NETNS_PREFIX))
    except FileNotFoundError:
        return []


def check_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root: it creates network namespaces, loop devices and mounts")


def check_can_host(layout: Layout) -> None:
    check_root()
    missing = missing_packages()
    if missing:
        packages = sorted(set(missing.values()))
        detail = ", ".join(f"{what} ({pkg})" for what, pkg in sorted(missing.items()))
        raise LabError(f"missing: {detail}; install with: apt-get install {' '.join(packages)}")
    if not os.path.exists("/dev/loop-control"):
        raise LabError("no /dev/loop-control: this kernel or container has no loop devices")
    if state.read(layout) is not None:
        raise LabError(f"a lab is already up (recorded in {layout.state_file}); run `mailha lab down` first")
    leftovers = leftover_netns()
    if leftovers:
        raise LabError(f"lab namespaces left from an earlier run: {', '.join(leftovers)}; "
                       "run `mailha lab down` first")
